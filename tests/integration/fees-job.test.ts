import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/config/logger';
import type { FeeRules } from '../../src/engine/fee-rules';
import { emptyOutcomeCounts } from '../../src/engine/match-transactions';
import { runReconciliation, type RunRequest } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { createRunStore } from '../../src/store/open-store';

const DATE = '2025-09-30';
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
const silent = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };
const logger = silent as unknown as Logger;

/** A data dir with one day of Stripe rows (canonical CSV with fees) and the ledger's rows. */
function dataDir(processor: string[], ledger: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'recon-fees-job-'));
  mkdirSync(join(root, DATE));
  writeFileSync(join(root, DATE, 'stripe.csv'), [HEADER, ...processor, ''].join('\n'));
  writeFileSync(join(root, DATE, 'internal_stripe.csv'), [HEADER, ...ledger, ''].join('\n'));
  return root;
}

const row = (id: string, amount: string, fee: string): string =>
  `${id},${amount},USD,settled,m1,${DATE}T10:00:00Z,${fee},`;

function request(dir: string, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    dates: [DATE],
    processors: ['stripe'],
    timeZone: 'UTC',
    sources: { processorSource: 'csv', internalSource: 'csv', dataDir: dir },
    reportsDir: join(dir, 'reports'),
    dryRun: true,
    maxInvalidRate: '0.01',
    appVersion: 'test',
    ...extra,
  };
}

const deps = {
  store: null,
  logger,
  now: () => Date.parse('2025-10-01T01:00:00Z'),
  apis: { http: DEFAULT_HTTP_SETTINGS },
};

/** Basis net and Stripe's US card price: 2.9 % + 0.30. */
const NET_STRIPE: FeeRules = {
  ledgerAmountBasis: 'net',
  schedule: [{ currency: 'USD', paymentMethod: null, percentageBps: 290, flatMinor: 30n }],
  toleranceMinor: 0n,
};

describe('fees in a run (job level)', () => {
  const dir = dataDir(
    [
      row('ch_net', '100.00', '3.20'),
      row('ch_gross', '100.00', '3.20'),
      row('ch_small', '0.99', '0.35'),
      row('ch_fee', '50.00', '1.75'),
    ],
    [
      row('ch_net', '96.80', ''),
      row('ch_gross', '100.00', ''),
      row('ch_small', '0.64', ''),
      row('ch_fee', '48.25', '1.50'),
    ],
  );

  it('compares the net, checks the schedule and reports the fee block with per-processor fee rules', async () => {
    const [result] = await runReconciliation(deps, request(dir, { fees: { stripe: NET_STRIPE } }));
    expect(result?.status).toBe('completed');
    expect(result?.counts).toEqual({
      ...emptyOutcomeCounts(),
      matched: 2,
      amount_mismatch: 1,
      fee_mismatch: 1,
    });
    expect(result?.basisMismatchSuspected).toBe(1);
    expect(result?.summary?.fees).toEqual([
      {
        currency: 'USD',
        grossMinor: 25099n,
        feesMinor: 850n,
        netMinor: 24249n,
        effectiveRateBps: '338.66',
      },
    ]);
    const report = JSON.parse(readFileSync(result?.reports?.json ?? '', 'utf8')) as {
      reconciliation_summary: { counts: object; fees: object };
      discrepancies: {
        kind: string;
        transaction_id: string;
        difference: string;
        annotation?: string;
      }[];
      data_quality: { findings: { check: string; line: number; reason: string; value: string }[] };
    };
    expect(report.reconciliation_summary.counts).toEqual({
      ...emptyOutcomeCounts(),
      matched: 2,
      amount_mismatch: 1,
      fee_mismatch: 1,
      basis_mismatch_suspected: 1,
    });
    expect(report.reconciliation_summary.fees).toEqual({
      USD: { gross: '250.99', fees: '8.50', net: '242.49', effective_rate_bps: '338.66' },
    });
    expect(
      report.discrepancies.map((d) => [
        d.kind,
        d.transaction_id,
        d.difference,
        d.annotation ?? null,
      ]),
    ).toEqual([
      ['amount_mismatch', 'ch_gross', '-3.20', 'basis_mismatch_suspected'],
      ['fee_mismatch', 'ch_fee', '0.25', null],
    ]);
    expect(
      report.data_quality.findings
        .filter((f) => f.check === 'fee_variance')
        .map((f) => [f.line, f.value, f.reason]),
    ).toEqual([
      [
        4,
        '+0.02',
        'fee_variance overcharge +0.02 USD on ch_small: fee 0.35, expected 0.33 (290 bps + 0.30 of gross 0.99)',
      ],
    ]);
  });

  it('keeps today’s gross comparison without fee rules (ledger net rows become basis-suspected mismatches)', async () => {
    const [result] = await runReconciliation(deps, request(dir));
    expect(result?.counts).toEqual({
      ...emptyOutcomeCounts(),
      matched: 1,
      amount_mismatch: 3,
    });
    expect(result?.basisMismatchSuspected).toBe(3);
  });

  it('stores the basis_mismatch_suspected annotation on the discrepancy row, with both engines', async () => {
    const work = mkdtempSync(join(tmpdir(), 'recon-fees-annotation-'));
    const store = createRunStore({
      kind: 'pglite',
      settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
    });
    try {
      for (const engine of ['memory', 'postgres'] as const) {
        const [result] = await runReconciliation(
          { ...deps, store },
          request(dir, { dryRun: false, engine, fees: { stripe: NET_STRIPE } }),
        );
        expect(result?.status).toBe('completed');
        const rows = await (
          await store.database()
        ).query<{ kind: string; transaction_id: string; annotation: string | null }>(
          `SELECT kind, transaction_id, annotation FROM discrepancies WHERE run_id = $1
            ORDER BY transaction_id`,
          [result?.runId ?? ''],
        );
        expect({ engine, rows }).toEqual({
          engine,
          rows: [
            { kind: 'fee_mismatch', transaction_id: 'ch_fee', annotation: null },
            {
              kind: 'amount_mismatch',
              transaction_id: 'ch_gross',
              annotation: 'basis_mismatch_suspected',
            },
          ],
        });
      }
    } finally {
      await store.close();
    }
  });

  it('stores fee_mismatch the same way with both engines, with its count on the run row', async () => {
    const work = mkdtempSync(join(tmpdir(), 'recon-fees-store-'));
    const store = createRunStore({
      kind: 'pglite',
      settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
    });
    try {
      const stored = { ...deps, store };
      const gross = dataDir(
        [row('ch_a', '10.00', '0.59'), row('ch_b', '20.00', '0.88')],
        [row('ch_a', '10.00', '0.60'), row('ch_b', '20.00', '0.88')],
      );
      const rules: FeeRules = { ...NET_STRIPE, ledgerAmountBasis: 'gross' };
      const memory = await runReconciliation(
        stored,
        request(gross, { dryRun: false, fees: { stripe: rules } }),
      );
      const sql = await runReconciliation(
        stored,
        request(gross, { dryRun: false, engine: 'postgres', fees: { stripe: rules } }),
      );
      for (const [result] of [memory, sql]) {
        expect(result?.status).toBe('completed');
        expect(result?.counts).toEqual({ ...emptyOutcomeCounts(), matched: 1, fee_mismatch: 1 });
        const run = await store.getRun(result?.runId ?? '');
        expect(run?.counts).toEqual({ ...emptyOutcomeCounts(), matched: 1, fee_mismatch: 1 });
        const discrepancies = await store.listDiscrepancies(result?.runId ?? '', 10);
        expect(discrepancies.map((d) => [d.kind, d.transactionId, d.difference])).toEqual([
          ['fee_mismatch', 'ch_a', '-0.01'],
        ]);
      }
    } finally {
      await store.close();
    }
  });
});
