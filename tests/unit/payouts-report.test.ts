import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Big from 'big.js';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import type { SettlementChild, SettlementParent } from '../../src/engine/settlement-groups';
import { matchTransactions } from '../../src/engine/match-transactions';
import { digestSettlement, type ReportSettlementJson } from '../../src/job/deliver-results';
import { summarizeReconciliation } from '../../src/engine/summarize';
import { PAYOUTS_CSV_COLUMNS, renderPayoutsCsv } from '../../src/reports/render-payouts';
import {
  renderReportJson,
  type ReportContext,
  type ReportInput,
} from '../../src/reports/render-report';
import {
  PENDING_SUFFIX,
  payoutsPathBeside,
  prepareReports,
  repairPendingReports,
  reportPaths,
  writeReports,
} from '../../src/reports/write-reports';
import { makeTransaction as tx } from './support/make-transaction';
import {
  bankCredit,
  settlementOf,
  STRIPE_NIGHT_DIGEST,
  stripeNight,
} from './support/settlement-fixture';
import { makeTempDir } from './support/temp-files';

const RUN_ID = '11111111-2222-4333-8444-555555555555';
const context: ReportContext = {
  runId: RUN_ID,
  businessDate: '2025-10-06',
  processor: 'stripe',
  timeZone: 'UTC',
  generatedAt: '2025-10-07T01:00:00.000Z',
  appVersion: 'test',
  dryRun: false,
  sources: {
    processor: { location: 'p.csv', rows: 1, invalidRows: 0 },
    internal: { location: 'i.csv', rows: 1, invalidRows: 0 },
  },
};

function input(settlement?: ReportInput['settlement']): ReportInput {
  const rows = [tx({ transactionId: 'ch_1' })];
  const match = matchTransactions(rows, rows);
  return {
    match,
    summary: summarizeReconciliation(match, rows, rows, 0),
    issues: [],
    ...(settlement === undefined ? {} : { settlement }),
  };
}

const csvOf = (chunks: Iterable<string>): string => [...chunks].join('');
/**
 * A CSV line as the writer quotes it (every non-empty cell quoted, empty cells bare), from cells or
 * from one comma-separated string of cells without commas.
 */
const row = (cells: readonly string[] | string): string =>
  `${(typeof cells === 'string' ? cells.split(',') : cells)
    .map((c) => (c === '' ? '' : `"${c}"`))
    .join(',')}\n`;

const temp = makeTempDir('payouts-report');
afterAll(() => temp.cleanup());

describe('payouts_{processor}_{date}.csv', () => {
  it('writes one row per payout with its waterfall, status, bank status, bank entry and difference (whole file)', () => {
    expect(csvOf(renderPayoutsCsv(stripeNight()))).toBe(
      [
        row([...PAYOUTS_CSV_COLUMNS]),
        row(
          'po_1,stripe_payout,USD,group_matched,2025-10-02,1000.00,-30.00,-20.00,0.00,0.00,950.00,0.00,950.00,3,0.00,payout_matched,B1,950.00,0.00',
        ),
        row(
          'po_2,stripe_payout,USD,group_sum_mismatch,2025-10-02,1000.00,-30.00,0.00,0.00,0.00,950.00,20.00,970.00,2,20.00,payout_matched,B2,950.00,0.00',
        ),
        row(
          'po_3,stripe_payout,USD,group_matched,2025-10-01,300.00,-24.00,0.00,-50.00,10.00,236.00,0.00,236.00,3,0.00,payout_missing_in_bank,,,',
        ),
        row(
          'po_m,stripe_payout,JPY,unattributable,2025-10-03,0,0,0,0,0,5000,,0,0,,payout_matched,B3,5000,0',
        ),
        row('po_9,stripe_payout,USD,parent_missing,,40.00,-1.20,0.00,0.00,0.00,0.00,,38.80,1,,,,,'),
      ].join(''),
    );
  });

  it('leaves the bank columns empty when no bank statement was read', () => {
    const settlement = settlementOf(
      [
        {
          kind: 'square_payout',
          key: 'sq_po_1',
          currency: 'EUR',
          amount: 1000n,
          dueDate: null,
          itemizable: true,
        },
      ],
      [
        {
          id: 'sq_e_1',
          parentKey: 'sq_po_1',
          category: 'charge',
          currency: 'EUR',
          gross: 1000n,
          net: 1000n,
        },
      ],
      null,
    );
    expect(csvOf(renderPayoutsCsv(settlement))).toBe(
      row([...PAYOUTS_CSV_COLUMNS]) +
        row(
          'sq_po_1,square_payout,EUR,group_matched,,10.00,0.00,0.00,0.00,0.00,10.00,0.00,10.00,1,0.00,,,,',
        ),
    );
  });

  it('makes payout ids and bank references spreadsheet-safe and shows a bank amount mismatch', () => {
    const settlement = settlementOf(
      [
        {
          kind: 'stripe_payout',
          key: '=HYPERLINK("x")',
          currency: 'USD',
          amount: 1000n,
          dueDate: '2025-10-02',
          itemizable: true,
        },
      ],
      [],
      [
        bankCredit({
          amount: 990n,
          bankReference: '-2+3',
          remittanceText: '=HYPERLINK("x")',
        }),
      ],
    );
    expect(csvOf(renderPayoutsCsv(settlement)).split('\n')[1]).toBe(
      [
        `"'=HYPERLINK(""x"")"`,
        '"stripe_payout"',
        '"USD"',
        '"group_sum_mismatch"',
        '"2025-10-02"',
        '"0.00"',
        '"0.00"',
        '"0.00"',
        '"0.00"',
        '"0.00"',
        '"10.00"',
        '"-10.00"',
        '"0.00"',
        '"0"',
        '"-10.00"',
        '"payout_amount_mismatch"',
        `"'-2+3"`,
        '"9.90"',
        '"-0.10"',
      ].join(','),
    );
  });

  it('yields the same file whatever the chunk size', () => {
    const night = stripeNight();
    expect(csvOf(renderPayoutsCsv(night, 2))).toBe(csvOf(renderPayoutsCsv(night)));
  });
});

describe('payouts CSV invariants', () => {
  const CATEGORIES = ['charge', 'refund', 'dispute', 'fee', 'adjustment'] as const;
  const CURRENCIES = ['USD', 'JPY', 'KWD'] as const;
  const childArb = fc.record({
    parent: fc.integer({ min: 0, max: 3 }),
    category: fc.constantFrom(...CATEGORIES),
    currency: fc.constantFrom(...CURRENCIES),
    gross: fc.bigInt({ min: -10_000_000n, max: 10_000_000n }),
    fee: fc.bigInt({ min: 0n, max: 100_000n }),
  });
  const parentArb = fc.record({
    currency: fc.constantFrom(...CURRENCIES),
    amount: fc.bigInt({ min: 1n, max: 50_000_000n }),
    itemizable: fc.boolean(),
  });

  it('has one row per group whose waterfall adds up exactly to payout + unexplained_residual, and residual = difference', () => {
    fc.assert(
      fc.property(
        fc.array(parentArb, { maxLength: 3 }),
        fc.array(childArb, { maxLength: 12 }),
        (parentSpecs, childSpecs) => {
          const parents: SettlementParent[] = parentSpecs.map((p, n) => ({
            kind: 'stripe_payout',
            key: `po_${n}`,
            currency: p.currency,
            amount: p.amount,
            dueDate: '2025-10-01',
            itemizable: p.itemizable,
          }));
          const children: SettlementChild[] = childSpecs.map((c, n) => ({
            id: `txn_${n}`,
            parentKey: `po_${c.parent}`,
            category: c.category,
            currency: c.currency,
            gross: c.gross,
            net: c.category === 'fee' ? c.gross : c.gross - c.fee,
          }));
          const settlement = settlementOf(parents, children, null);
          const table: string[][] = parse(csvOf(renderPayoutsCsv(settlement)));
          const [header, ...rows] = table;
          expect(header).toEqual([...PAYOUTS_CSV_COLUMNS]);
          expect(rows).toHaveLength(settlement.groups.length);
          const at = (cells: string[], column: (typeof PAYOUTS_CSV_COLUMNS)[number]): string =>
            cells[PAYOUTS_CSV_COLUMNS.indexOf(column)] ?? '';
          for (const cells of rows) {
            const parts = ['charges', 'fees', 'refunds', 'disputes', 'adjustments'] as const;
            const sum = parts.reduce((total, part) => total.plus(at(cells, part)), new Big(0));
            expect(sum.eq(new Big(at(cells, 'children_sum')))).toBe(true);
            if (at(cells, 'difference') === '') {
              expect(at(cells, 'unexplained_residual')).toBe('');
            } else {
              expect(at(cells, 'unexplained_residual')).toBe(at(cells, 'difference'));
              expect(sum.minus(at(cells, 'payout')).eq(new Big(at(cells, 'difference')))).toBe(
                true,
              );
            }
          }
        },
      ),
    );
  });
});

describe('the JSON report’s settlement block', () => {
  const json = (settlement: ReportInput['settlement']): Record<string, unknown> =>
    JSON.parse(JSON.stringify(renderReportJson(context, input(settlement)))) as Record<
      string,
      unknown
    >;

  it('is the run --json block plus per group its waterfall, bank leg and, for a mismatch, children; then the unmatched credits (whole block)', () => {
    const zero = { charges: '0.00', fees: '0.00', refunds: '0.00', disputes: '0.00' };
    expect(json(stripeNight()).settlement).toEqual({
      groups: [
        {
          parent_id: 'po_1',
          kind: 'stripe_payout',
          currency: 'USD',
          parent_amount: '950.00',
          children_sum: '950.00',
          difference: '0.00',
          child_count: 3,
          status: 'group_matched',
          bank_entry: 'B1',
          due_date: '2025-10-02',
          waterfall: {
            charges: '1000.00',
            fees: '-30.00',
            refunds: '-20.00',
            disputes: '0.00',
            adjustments: '0.00',
            payout: '950.00',
            unexplained_residual: '0.00',
          },
          bank: {
            status: 'payout_matched',
            matched_by: 'reference',
            entry: 'B1',
            amount: '950.00',
            difference: '0.00',
            candidates: [],
          },
          children: null,
        },
        {
          parent_id: 'po_2',
          kind: 'stripe_payout',
          currency: 'USD',
          parent_amount: '950.00',
          children_sum: '970.00',
          difference: '20.00',
          child_count: 2,
          status: 'group_sum_mismatch',
          bank_entry: 'B2',
          due_date: '2025-10-02',
          waterfall: {
            charges: '1000.00',
            fees: '-30.00',
            refunds: '0.00',
            disputes: '0.00',
            adjustments: '0.00',
            payout: '950.00',
            unexplained_residual: '20.00',
          },
          bank: {
            status: 'payout_matched',
            matched_by: 'reference',
            entry: 'B2',
            amount: '950.00',
            difference: '0.00',
            candidates: [],
          },
          children: [
            { id: 'txn_ch_3', category: 'charge', gross: '500.00', net: '485.00' },
            { id: 'txn_ch_4', category: 'charge', gross: '500.00', net: '485.00' },
          ],
        },
        {
          parent_id: 'po_3',
          kind: 'stripe_payout',
          currency: 'USD',
          parent_amount: '236.00',
          children_sum: '236.00',
          difference: '0.00',
          child_count: 3,
          status: 'group_matched',
          bank_entry: null,
          due_date: '2025-10-01',
          waterfall: {
            ...zero,
            charges: '300.00',
            fees: '-24.00',
            disputes: '-50.00',
            adjustments: '10.00',
            payout: '236.00',
            unexplained_residual: '0.00',
          },
          bank: {
            status: 'payout_missing_in_bank',
            matched_by: null,
            entry: null,
            amount: null,
            difference: null,
            candidates: [],
          },
          children: null,
        },
        {
          parent_id: 'po_m',
          kind: 'stripe_payout',
          currency: 'JPY',
          parent_amount: '5000',
          children_sum: '0',
          difference: null,
          child_count: 0,
          status: 'unattributable',
          bank_entry: 'B3',
          due_date: '2025-10-03',
          waterfall: {
            charges: '0',
            fees: '0',
            refunds: '0',
            disputes: '0',
            adjustments: '0',
            payout: '5000',
            unexplained_residual: null,
          },
          bank: {
            status: 'payout_matched',
            matched_by: 'amount_date',
            entry: 'B3',
            amount: '5000',
            difference: '0',
            candidates: [],
          },
          children: null,
        },
        {
          parent_id: 'po_9',
          kind: 'stripe_payout',
          currency: 'USD',
          parent_amount: null,
          children_sum: '38.80',
          difference: null,
          child_count: 1,
          status: 'parent_missing',
          bank_entry: null,
          due_date: null,
          waterfall: {
            ...zero,
            charges: '40.00',
            fees: '-1.20',
            adjustments: '0.00',
            payout: '0.00',
            unexplained_residual: null,
          },
          bank: null,
          children: [{ id: 'txn_ch_9', category: 'charge', gross: '40.00', net: '38.80' }],
        },
      ],
      counts: {
        group_matched: 2,
        group_sum_mismatch: 1,
        group_incomplete: 0,
        parent_missing: 1,
        unattributable: 1,
        payout_matched: 3,
        payout_missing_in_bank: 1,
        bank_credit_unmatched: 1,
        payout_amount_mismatch: 0,
        payout_ambiguous: 0,
      },
      unmatched_bank_credits: [
        {
          reference: 'B4',
          statement_id: 'S1',
          amount: '123.45',
          currency: 'USD',
          booking_date: '2025-10-02',
          value_date: '2025-10-02',
          remittance_text: 'INTEREST OCT',
          line: 7,
          xml_path: null,
        },
      ],
    });
  });

  it('is what the e-mail digest reads: every payout with its group and bank outcome, the unmatched credits', () => {
    const block = json(stripeNight()).settlement as ReportSettlementJson;
    expect(digestSettlement(block)).toEqual(STRIPE_NIGHT_DIGEST);
    const withoutBank = json({ ...stripeNight(), bank: null }).settlement as ReportSettlementJson;
    expect(digestSettlement(withoutBank)).toEqual({
      bankRead: false,
      payouts: STRIPE_NIGHT_DIGEST.payouts.map((p) => ({
        ...p,
        bankStatus: null,
        bankDifference: null,
      })),
      unmatchedCredits: [],
    });
  });

  it('says unmatched_bank_credits null and bank null when no statement was read', () => {
    const night = stripeNight();
    const block = json({ ...night, bank: null, bankEntries: [] }).settlement as {
      groups: { bank: unknown }[];
      unmatched_bank_credits: unknown;
    };
    expect(block.groups.map((g) => g.bank)).toEqual([null, null, null, null, null]);
    expect(block.unmatched_bank_credits).toBeNull();
  });

  it('is absent, and the report unchanged, for a run without a settlement', () => {
    const without = json(undefined);
    expect(json(null)).toEqual(without);
    expect(Object.keys(without)).toEqual([
      'report_metadata',
      'reconciliation_summary',
      'missing_transactions',
      'discrepancies',
      'data_quality',
      'financial_impact',
      'breaks',
      'resolved_breaks',
      'open_breaks',
    ]);
    expect(Object.keys(json(stripeNight())).at(-1)).toBe('settlement');
  });
});

describe('writing the payouts file', () => {
  it('writes payouts_{processor}_{date}.csv beside the reports for a run with a settlement', async () => {
    const dir = join(temp.dir, 'with');
    const paths = await writeReports(dir, context, input(stripeNight()));
    expect(paths.payouts).toBe(join(dir, 'stripe_2025-10-06', 'payouts_stripe_2025-10-06.csv'));
    expect(readFileSync(paths.payouts ?? '', 'utf8')).toBe(csvOf(renderPayoutsCsv(stripeNight())));
    expect(payoutsPathBeside(paths.csv)).toBe(paths.payouts);
    expect(readdirSync(join(dir, 'stripe_2025-10-06')).sort()).toEqual([
      'open_breaks_stripe_2025-10-06.csv',
      'payouts_stripe_2025-10-06.csv',
      'reconciliation_report_stripe_2025-10-06.csv',
      'reconciliation_report_stripe_2025-10-06.json',
    ]);
  });

  it('writes no payouts file (paths.payouts null) without a settlement, and removes an earlier run’s', async () => {
    const dir = join(temp.dir, 'rerun');
    await writeReports(dir, context, input(stripeNight()));
    const paths = await writeReports(dir, context, input(null));
    expect(paths.payouts).toBeNull();
    expect(readdirSync(join(dir, 'stripe_2025-10-06')).sort()).toEqual([
      'open_breaks_stripe_2025-10-06.csv',
      'reconciliation_report_stripe_2025-10-06.csv',
      'reconciliation_report_stripe_2025-10-06.json',
    ]);
  });

  it('keeps the payouts file pending until publish, discards it, and the repair publishes it after a crash', async () => {
    const dir = join(temp.dir, 'pending');
    const final = reportPaths(dir, 'stripe', '2025-10-06').payouts;
    const discarded = await prepareReports(dir, context, input(stripeNight()));
    expect(existsSync(`${final}${PENDING_SUFFIX}${RUN_ID}`)).toBe(true);
    expect(existsSync(final)).toBe(false);
    await discarded.discard();
    expect(readdirSync(join(dir, 'stripe_2025-10-06'))).toEqual([]);

    await prepareReports(dir, context, input(stripeNight()));
    // The process died after COMMIT: the repair publishes the committed run's payouts file too,
    // even from paths that name no payouts file (a caller that predates it).
    const all = reportPaths(dir, 'stripe', '2025-10-06');
    const older = { csv: all.csv, json: all.json, openBreaks: all.openBreaks };
    const repair = await repairPendingReports(older, () => Promise.resolve(true), {
      removeOthers: true,
    });
    expect(repair.published).toContain(final);
    expect(readFileSync(final, 'utf8')).toBe(csvOf(renderPayoutsCsv(stripeNight())));
  });

  it('removes the pending payouts file of a run that did not commit', async () => {
    const dir = join(temp.dir, 'rolled-back');
    const final = reportPaths(dir, 'stripe', '2025-10-06').payouts;
    await prepareReports(dir, context, input(stripeNight()));
    const repair = await repairPendingReports(
      reportPaths(dir, 'stripe', '2025-10-06'),
      () => Promise.resolve(false),
      { removeOthers: true },
    );
    expect(repair.removed).toContain(`${final}${PENDING_SUFFIX}${RUN_ID}`);
    expect(readdirSync(join(dir, 'stripe_2025-10-06'))).toEqual([]);
  });
});
