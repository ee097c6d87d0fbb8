import { Option, type Command } from 'commander';
import { BREAK_STATUSES, type BreakStatus } from '../../engine/break-lifecycle';
import {
  SETTLEMENT_BREAK_KINDS,
  settlementBreakJson,
  type StoredSettlementBreak,
} from '../../engine/settlement-breaks';
import { openDatabase } from '../../store/open-store';
import { audit } from '../../store/run-store';
import { SettlementBreakStore } from '../../store/settlement-break-store';
import type { CommandContext } from '../command-context';
import { registerManualBreakActions } from './manual-break-actions';
import { renderTable } from '../format-output';
import { parseProcessors } from '../options';

/** `recon payouts breaks` as a table (`no settlement breaks` when empty). */
export function settlementBreaksTable(list: readonly StoredSettlementBreak[]): string {
  if (list.length === 0) return 'no settlement breaks';
  return renderTable(
    ['break', 'processor', 'subject', 'kind', 'status', 'origin', 'age', 'amount', 'difference'],
    list.map((b) => [
      b.breakId.slice(0, 8),
      b.processor,
      b.subject === 'bank_credit' ? `${b.account ?? ''} ${b.subjectId}`.trim() : b.subjectId,
      b.kind,
      b.status,
      b.originDate,
      String(b.ageDays),
      `${b.amount} ${b.currency}`,
      b.difference === null ? '' : `${b.difference} ${b.currency}`,
    ]),
  );
}

/**
 * Registers `recon payouts breaks|resolve|reopen|comment` on the `payouts` command (README "Payout
 * breaks across days"): settlement breaks across days (group and bank outcomes, schema 8), with
 * the refusal rules of `recon breaks` (a bad id or a transition the lifecycle refuses: exit 2).
 */
export function registerPayoutBreaksCommands(payouts: Command, ctx: CommandContext): void {
  const withStore = async <T>(fn: (store: SettlementBreakStore) => Promise<T>): Promise<T> => {
    const db = await openDatabase(ctx.settings().config.database);
    try {
      return await fn(new SettlementBreakStore(db, audit));
    } finally {
      await db.close();
    }
  };
  payouts
    .command('breaks')
    .description(
      'list settlement breaks across days (payouts missing in the bank, groups that do not balance, unmatched bank credits), oldest first (default: open ones)',
    )
    .addOption(
      new Option('--status <status>', 'only breaks with this status')
        .choices([...BREAK_STATUSES, 'all'])
        .default('open'),
    )
    .option('--processor <name>', 'only breaks of this processor')
    .addOption(
      new Option('--kind <kind>', 'only breaks of this kind').choices(SETTLEMENT_BREAK_KINDS),
    )
    .option('--json', 'print JSON')
    .action(
      async (options: {
        status: BreakStatus | 'all';
        processor?: string;
        kind?: string;
        json?: boolean;
      }) => {
        const filter = {
          status: options.status,
          processor: options.processor ? parseProcessors([options.processor])[0] : undefined,
          kind: options.kind,
        };
        const list = await withStore((store) => store.list(filter));
        ctx.io.out(
          options.json
            ? JSON.stringify(list.map(settlementBreakJson), null, 2)
            : settlementBreaksTable(list),
        );
      },
    );
  payouts
    .command('break')
    .description('show one settlement break and its event history')
    .argument('<break-id>', 'break id or a unique prefix of at least 8 characters')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { found, events } = await withStore(async (store) => {
        const b = await store.find(id);
        return { found: b, events: await store.events(b.breakId) };
      });
      if (options.json) {
        ctx.io.out(
          JSON.stringify(
            {
              ...settlementBreakJson(found),
              events: events.map((e) => ({
                event: e.event,
                run_id: e.runId,
                actor: e.actor,
                reason: e.reason,
                details: e.details,
                at: e.at,
              })),
            },
            null,
            2,
          ),
        );
        return;
      }
      ctx.io.out(
        [
          `settlement break ${found.breakId}: ${found.kind} ${found.processor} ${found.subjectId}, ${found.status}`,
          `  origin ${found.originDate}, age ${found.ageDays} days, ${found.amount} ${found.currency}`,
          ...(found.resolution
            ? [
                `  resolution ${found.resolution}${found.resolutionReason ? `: ${found.resolutionReason}` : ''}`,
              ]
            : []),
          renderTable(
            ['at', 'event', 'actor', 'run', 'reason'],
            events.map((e) => [e.at, e.event, e.actor, e.runId ?? '', e.reason ?? '']),
          ),
        ].join('\n'),
      );
    });
  registerManualBreakActions(payouts, {
    noun: 'settlement break',
    env: ctx.env,
    out: (text: string): void => ctx.io.out(text),
    apply: (id, action, actor, text) =>
      withStore((store) => store.applyManual(id, action, actor, text)),
  });
}
