import { Option, type Command } from 'commander';
import { parseBusinessDate } from '../../domain/business-date';
import { NotFoundError, UsageError } from '../../domain/errors';
import { SETTLEMENT_GROUP_STATUSES } from '../../engine/settlement-groups';
import { createRunStore } from '../../store/open-store';
import type { StoredPayout, StoredPayoutDetail } from '../../store/settlement-store';
import { printable } from '../../sources/text-encoding';
import type { CommandContext } from '../command-context';
import { renderTable } from '../format-output';
import { parseProcessors, toLimit } from '../options';
import { registerPayoutBreaksCommands } from './payout-breaks';

/** The bank outcomes a payout can have (`--status` takes these and the group outcomes). */
const BANK_STATUSES = [
  'payout_matched',
  'payout_amount_mismatch',
  'payout_ambiguous',
  'payout_missing_in_bank',
  'payout_pending',
] as const;

/** Every value of `recon payouts list --status`. */
export const PAYOUT_STATUS_FILTERS: readonly string[] = [
  ...SETTLEMENT_GROUP_STATUSES,
  ...BANK_STATUSES,
];

/**
 * `--status S`: a group outcome (`group_sum_mismatch`, …) or a bank outcome
 * (`payout_missing_in_bank`, …); `undefined` when absent.
 * @throws UsageError for anything else.
 */
export function parsePayoutStatus(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!PAYOUT_STATUS_FILTERS.includes(value))
    throw new UsageError(
      `--status must be one of ${PAYOUT_STATUS_FILTERS.join(', ')}, got '${value}'`,
    );
  return value;
}

/**
 * A stored payout as JSON (`recon payouts list|show --json`): snake_case, amounts as exact
 * decimal strings in major units of `currency` (null when absent), the waterfall signed.
 */
export function storedPayoutJson(payout: StoredPayout): object {
  const w = payout.waterfall;
  return {
    run_id: payout.runId,
    date: payout.businessDate,
    processor: payout.processor,
    parent_id: payout.parentId,
    kind: payout.kind,
    currency: payout.currency,
    parent_amount: payout.parentAmount,
    children_sum: payout.childrenSum,
    difference: payout.difference,
    child_count: payout.childCount,
    status: payout.status,
    due_date: payout.dueDate,
    bank_status: payout.bankStatus,
    bank_entry: payout.bankEntry,
    bank_difference: payout.bankDifference,
    waterfall: {
      charges: w.charges,
      fees: w.fees,
      refunds: w.refunds,
      disputes: w.disputes,
      adjustments: w.adjustments,
      payout: w.payout,
      unexplained_residual: w.unexplainedResidual,
    },
  };
}

/** `recon payouts list` as a table (`no payouts found` when empty). */
export function payoutsTable(payouts: readonly StoredPayout[]): string {
  if (payouts.length === 0) return 'no payouts found';
  return renderTable(
    [
      'date',
      'processor',
      'payout',
      'currency',
      'amount',
      'children',
      'difference',
      'status',
      'bank',
      'bank_entry',
    ],
    payouts.map((p) => [
      p.businessDate,
      p.processor,
      p.parentId,
      p.currency,
      p.parentAmount ?? '-',
      `${p.childrenSum} (${p.childCount})`,
      p.difference ?? '-',
      p.status,
      p.bankStatus ?? '-',
      p.bankEntry ?? '-',
    ]),
  );
}

/** `recon payouts show` as text: the payout's facts, its waterfall, children and bank entry. */
export function payoutDetailText(payout: StoredPayoutDetail): string {
  const pad = (text: string): string => text.padEnd(18);
  const facts: [string, string][] = [
    ['payout', payout.parentId],
    ['processor', payout.processor],
    ['kind', payout.kind],
    ['business date', payout.businessDate],
    ['run', payout.runId],
    ['arrival date', payout.dueDate ?? '-'],
    ['amount', payout.parentAmount === null ? '-' : `${payout.parentAmount} ${payout.currency}`],
    ['children', `${payout.childCount}, net ${payout.childrenSum} ${payout.currency}`],
    ['difference', payout.difference === null ? '-' : `${payout.difference} ${payout.currency}`],
    ['status', payout.status],
    ['bank', payout.bankStatus ?? 'no statement read'],
  ];
  const w = payout.waterfall;
  const parts = [
    facts.map(([k, v]) => `${pad(k)}${printable(v)}`).join('\n'),
    'waterfall:\n' +
      renderTable(
        ['charges', 'fees', 'refunds', 'disputes', 'adjustments', 'payout', 'unexplained_residual'],
        [
          [
            w.charges,
            w.fees,
            w.refunds,
            w.disputes,
            w.adjustments,
            w.payout,
            w.unexplainedResidual,
          ],
        ],
      ),
  ];
  if (payout.children.length > 0)
    parts.push(
      'children:\n' +
        renderTable(
          ['id', 'category', 'gross', 'net'],
          payout.children.map((c) => [c.childId, c.category, c.gross, c.net]),
        ),
    );
  const entry = payout.bankEntryDetail;
  if (entry)
    parts.push(
      'bank entry:\n' +
        [
          ['reference', entry.reference],
          ['statement', `${entry.statementId} (account ${entry.account})`],
          ['amount', `${entry.amount} ${entry.currency} ${entry.direction}`],
          ['value date', entry.valueDate ?? entry.bookingDate ?? '-'],
          ['text', entry.remittanceText ?? '-'],
        ]
          .map(([k, v]) => `${pad(k ?? '')}${printable(v ?? '')}`)
          .join('\n'),
    );
  return parts.join('\n\n');
}

/**
 * Registers `recon payouts list` and `recon payouts show`: the stored payouts (settlement groups,
 * issue #15) of completed runs, with their waterfall, children and bank entry; and the settlement
 * breaks across days (`payouts breaks|break|resolve|reopen|comment`, `payout-breaks.ts`).
 */
export function registerPayoutsCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const payouts = program
    .command('payouts')
    .description('inspect the payouts (settlement groups) of stored runs and their bank entries');
  payouts
    .command('list')
    .description('list the payouts of completed runs, newest business date first')
    .option('--processor <name>', 'only payouts of this processor')
    .option(
      '--status <status>',
      'only payouts with this group outcome (group_sum_mismatch, …) or bank outcome (payout_missing_in_bank, …)',
    )
    .option('--date <YYYY-MM-DD>', 'only payouts of runs for this business date')
    .addOption(new Option('--limit <n>', 'at most this many payouts').default('100'))
    .option('--json', 'print JSON')
    .action(
      async (options: {
        processor?: string;
        status?: string;
        date?: string;
        limit: string;
        json?: boolean;
      }) => {
        const { config } = ctx.settings();
        const filter = {
          processor: options.processor ? parseProcessors([options.processor])[0] : undefined,
          status: parsePayoutStatus(options.status),
          businessDate: options.date ? parseBusinessDate(options.date, '--date') : undefined,
          limit: toLimit(options.limit),
        };
        const store = createRunStore(config.database);
        try {
          const list = await store.listPayouts(filter);
          io.out(
            options.json ? JSON.stringify(list.map(storedPayoutJson), null, 2) : payoutsTable(list),
          );
        } finally {
          await store.close();
        }
      },
    );
  payouts
    .command('show')
    .description(
      'show one payout of the latest completed run that has it: waterfall, children, bank entry',
    )
    .argument('<payout-id>', 'the payout id (po_…, an Adyen batch, a Square payout id)')
    .option('--processor <name>', 'the processor, when two have a payout with this id')
    .option('--json', 'print JSON')
    .action(async (payoutId: string, options: { processor?: string; json?: boolean }) => {
      const { config } = ctx.settings();
      const processor = options.processor ? parseProcessors([options.processor])[0] : undefined;
      const store = createRunStore(config.database);
      try {
        const found = await store.showPayout(payoutId, processor);
        if (found.length === 0)
          throw new NotFoundError(`no completed run has a payout '${payoutId}'`);
        io.out(
          options.json
            ? JSON.stringify(
                found.map((p) => ({
                  ...storedPayoutJson(p),
                  children: p.children.map((c) => ({
                    id: c.childId,
                    category: c.category,
                    currency: c.currency,
                    gross: c.gross,
                    net: c.net,
                  })),
                  bank_entry_detail: p.bankEntryDetail
                    ? {
                        reference: p.bankEntryDetail.reference,
                        statement_id: p.bankEntryDetail.statementId,
                        account: p.bankEntryDetail.account,
                        direction: p.bankEntryDetail.direction,
                        amount: p.bankEntryDetail.amount,
                        currency: p.bankEntryDetail.currency,
                        booking_date: p.bankEntryDetail.bookingDate,
                        value_date: p.bankEntryDetail.valueDate,
                        remittance_text: p.bankEntryDetail.remittanceText,
                      }
                    : null,
                })),
                null,
                2,
              )
            : found.map(payoutDetailText).join('\n\n'),
        );
      } finally {
        await store.close();
      }
    });
  registerPayoutBreaksCommands(payouts, ctx);
}
