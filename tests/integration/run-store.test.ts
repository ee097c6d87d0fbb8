import { readFileSync } from 'node:fs';
import type { DatabaseConfig } from '../../src/store/database-config';
import type { DataQualityIssue } from '../../src/domain/data-quality';
import { RunInProgressError } from '../../src/domain/errors';
import { matchTransactions } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { RunStore, type StoredRun } from '../../src/store/run-store';
import { applySchema, assertSchema, setupSqlPath } from '../../src/store/schema';
import { tryFileLock } from '../../src/store/pglite-database';
import { testBackends } from '../helpers/databases';
import { tx } from '../helpers/transactions';

const NAUGHTY = [
  'comma, inside',
  'quote " inside',
  'new\nline',
  '',
  'tab\there',
  '=1+2";=1+2',
  'Ω≈ç√∫˜µ≤≥÷',
  '\\N',
  'NULL',
];

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A stored `completed` run of `outcomeFor` with the values only the database knows matched loosely. */
function completedRun(fields: Partial<StoredRun> & Pick<StoredRun, 'runId' | 'businessDate'>) {
  return {
    processor: 'stripe',
    status: 'completed',
    startTime: expect.stringMatching(ISO_UTC) as unknown,
    endTime: expect.stringMatching(ISO_UTC) as unknown,
    invalidRows: 1,
    reportCsvPath: 'r.csv',
    reportJsonPath: 'r.json',
    supersededBy: null,
    errorMessage: null,
    ...fields,
  };
}

/** A stored run that never completed: no counts, amounts or reports. */
function unfinishedRun(
  fields: Pick<StoredRun, 'runId' | 'businessDate' | 'status' | 'errorMessage'> &
    Partial<StoredRun>,
) {
  return {
    processor: 'stripe',
    startTime: expect.stringMatching(ISO_UTC) as unknown,
    endTime: expect.stringMatching(ISO_UTC) as unknown,
    processorTransactions: null,
    internalTransactions: null,
    counts: null,
    discrepancyCount: null,
    invalidRows: null,
    discrepancyAmounts: {},
    totalDiscrepancyAmount: null,
    discrepancyRate: null,
    riskLevel: null,
    complianceStatus: null,
    reportCsvPath: null,
    reportJsonPath: null,
    supersededBy: null,
    ...fields,
  };
}

function outcomeFor(processorIds: string[], internalIds: string[]) {
  const processor = processorIds.map((id, index) =>
    tx(id, { description: NAUGHTY[index % NAUGHTY.length] ?? null, merchantId: `m,"${index}` }),
  );
  const internal = internalIds.map((id) =>
    tx(id, id === 'both-amount' ? { amountMinor: 900n } : {}),
  );
  const match = matchTransactions(processor, internal);
  const summary = summarizeReconciliation(match, processor, internal, 1);
  const issues: DataQualityIssue[] = [
    {
      side: 'processor',
      location: 'p.csv',
      check: 'invalid_row',
      severity: 'error',
      line: 7,
      field: 'amount',
      reason: 'amount has more decimals than the currency allows',
      value: '1.234',
      count: null,
    },
  ];
  return {
    match,
    summary,
    issues,
    invalidRows: 1,
    reportCsvPath: 'r.csv',
    reportJsonPath: 'r.json',
  };
}

/** A `date` column as YYYY-MM-DD, whether the driver returned a string or a local-midnight Date. */
function dateText(value: unknown): string {
  if (value instanceof Date) {
    const month = String(value.getMonth() + 1).padStart(2, '0');
    const day = String(value.getDate()).padStart(2, '0');
    return `${value.getFullYear()}-${month}-${day}`;
  }
  return String(value);
}

describe.each(testBackends())('run store on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;
  // Runs of the first two tests, which the documented queries below read back.
  let firstRunId = '';
  let naughtyRunId = '';

  beforeAll(async () => {
    config = await backend.config();
    db = await openDatabase(config, { initialise: true });
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    store = new RunStore(
      () => Promise.resolve(db),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  const start = (date: string, processor = 'stripe') =>
    store.startRun({
      businessDate: date,
      processor,
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });

  it('applies setup.sql a second time without error and keeps schema version 7', async () => {
    await applySchema(db);
    await expect(assertSchema(db)).resolves.toBeUndefined();
    const rows = await db.query<{ value: string }>(
      `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
    );
    expect(rows).toEqual([{ value: '8' }]);
    expect(readFileSync(setupSqlPath(), 'utf8')).toContain(
      'CREATE TABLE IF NOT EXISTS reconciliation_runs',
    );
  });

  it('stores a completed run with its discrepancies, findings and counts in one go', async () => {
    const runId = await start('2025-09-01');
    const outcome = outcomeFor(
      ['a', 'b', 'both-amount', 'p-only'],
      ['a', 'b', 'both-amount', 'i-only'],
    );
    await store.completeRun(runId, outcome);
    firstRunId = runId;

    expect(await store.getRun(runId)).toEqual(
      completedRun({
        runId,
        businessDate: '2025-09-01',
        processorTransactions: 4,
        internalTransactions: 4,
        counts: {
          matched: 2,
          missing_in_internal: 1,
          missing_in_processor: 1,
          amount_mismatch: 1,
          currency_mismatch: 0,
          status_mismatch: 0,
          duplicate: 0,
          fee_mismatch: 0,
        },
        discrepancyCount: 3,
        discrepancyAmounts: { USD: '21.00' },
        totalDiscrepancyAmount: '21.00',
        discrepancyRate: '0.600000',
        riskLevel: 'HIGH',
        complianceStatus: 'NON_COMPLIANT',
      }),
    );
    const kinds = await db.query<{ kind: string; amount_minor: string; difference: string | null }>(
      `SELECT kind, amount_minor::text, difference::text FROM discrepancies WHERE run_id = $1 ORDER BY kind`,
      [runId],
    );
    expect(kinds).toEqual([
      { kind: 'amount_mismatch', amount_minor: '1000', difference: '1.00' },
      { kind: 'missing_in_internal', amount_minor: '1000', difference: null },
      { kind: 'missing_in_processor', amount_minor: '1000', difference: null },
    ]);
    const quality = await db.query<{ source: string; line: number; field: string; reason: string }>(
      `SELECT source, line, field, reason FROM data_quality_checks WHERE run_id = $1`,
      [runId],
    );
    expect(quality).toEqual([
      {
        source: 'p.csv',
        line: 7,
        field: 'amount',
        reason: 'amount has more decimals than the currency allows',
      },
    ]);
  });

  it('round-trips awkward text through COPY exactly, keeping empty strings apart from NULL', async () => {
    const runId = await start('2025-09-02');
    const ids = NAUGHTY.map((_, index) => `naughty-${index}`);
    await store.completeRun(runId, outcomeFor(ids, []));
    naughtyRunId = runId;
    const rows = await db.query<{
      transaction_id: string;
      description: string | null;
      merchant_id: string;
    }>(
      `SELECT transaction_id, description, merchant_id FROM discrepancies WHERE run_id = $1 ORDER BY transaction_id`,
      [runId],
    );
    expect(rows).toEqual(
      NAUGHTY.map((description, index) => ({
        transaction_id: `naughty-${index}`,
        description,
        merchant_id: `m,"${index}`,
      })),
    );
  });

  it('answers the four queries of the original documentation', async () => {
    // The queries verbatim; the two runs stored above are all the database holds so far.
    const a = await db.query<object>(
      'SELECT processor_name, missing_transaction_count, status FROM reconciliation_runs;',
    );
    expect(a).toHaveLength(2);
    expect(a).toEqual(
      expect.arrayContaining([
        { processor_name: 'stripe', missing_transaction_count: 1, status: 'completed' },
        { processor_name: 'stripe', missing_transaction_count: 9, status: 'completed' },
      ]),
    );
    const b = await db.query<{
      run_date: unknown;
      processor_name: string;
      missing_transaction_count: number;
      total_discrepancy_amount: unknown;
      status: string;
    }>(
      'SELECT run_date, processor_name, missing_transaction_count, total_discrepancy_amount, status FROM reconciliation_runs ORDER BY start_time DESC LIMIT 10;',
    );
    // Drivers differ in how they return date and numeric (Date or string): compare their text.
    expect(
      b.map((row) => ({
        ...row,
        run_date: dateText(row.run_date),
        total_discrepancy_amount: String(row.total_discrepancy_amount),
      })),
    ).toEqual([
      {
        run_date: '2025-09-02',
        processor_name: 'stripe',
        missing_transaction_count: 9,
        total_discrepancy_amount: '90.00',
        status: 'completed',
      },
      {
        run_date: '2025-09-01',
        processor_name: 'stripe',
        missing_transaction_count: 1,
        total_discrepancy_amount: '21.00',
        status: 'completed',
      },
    ]);
    const c = await db.query<{ transaction_id: string; amount: unknown; merchant_id: string }>(
      'SELECT transaction_id, amount, merchant_id FROM missing_transactions LIMIT 20;',
    );
    expect(
      c
        .map((row) => ({ ...row, amount: String(row.amount) }))
        .sort((x, y) => x.transaction_id.localeCompare(y.transaction_id)),
    ).toEqual(
      [
        { transaction_id: 'p-only', amount: '10.00', merchant_id: 'm,"3' },
        ...NAUGHTY.map((_, index) => ({
          transaction_id: `naughty-${index}`,
          amount: '10.00',
          merchant_id: `m,"${index}`,
        })),
      ].sort((x, y) => x.transaction_id.localeCompare(y.transaction_id)),
    );
    const d = await db.query<{
      run_id: string;
      processor_name: string;
      status: string;
      matched_count: number;
      missing_transaction_count: number;
      discrepancy_count: number;
      risk_level: string;
    }>('SELECT * FROM v_recent_reconciliations LIMIT 10;');
    expect(
      d.map((row) => [
        row.run_id,
        row.processor_name,
        row.status,
        row.matched_count,
        row.missing_transaction_count,
        row.discrepancy_count,
        row.risk_level,
      ]),
    ).toEqual([
      [naughtyRunId, 'stripe', 'completed', 0, 9, 9, 'HIGH'],
      [firstRunId, 'stripe', 'completed', 2, 1, 3, 'HIGH'],
    ]);
    // Every missing transaction is 10.00, below the 1,000 default threshold.
    await expect(db.query('SELECT * FROM v_high_value_missing_transactions')).resolves.toEqual([]);
    const metrics = await db.query<{ run_date: string; discrepancies: string }>(
      'SELECT run_date::text, discrepancies::text FROM v_daily_reconciliation_metrics ORDER BY run_date',
    );
    expect(metrics).toEqual([
      { run_date: '2025-09-01', discrepancies: '3' },
      { run_date: '2025-09-02', discrepancies: '9' },
    ]);
  });

  it('supersedes the previous completed run of the same date and processor and keeps history', async () => {
    const first = await start('2025-09-03');
    await store.completeRun(first, outcomeFor(['x'], ['x']));
    const second = await start('2025-09-03');
    await store.completeRun(second, outcomeFor(['x'], []));
    const runs = await store.listRuns({ businessDate: '2025-09-03', limit: 10 });
    expect(runs.map((run) => [run.runId, run.status, run.supersededBy])).toEqual([
      [second, 'completed', null],
      [first, 'superseded', second],
    ]);
    const audit = await db.query<{ event: string }>(
      `SELECT event FROM audit_log WHERE run_id = $1 ORDER BY occurred_at`,
      [first],
    );
    expect(audit.map((row) => row.event)).toEqual([
      'run_started',
      'breaks_synced',
      'run_completed',
      'run_superseded',
    ]);
  });

  it('leaves no discrepancies when the commit step fails, then records the failure', async () => {
    const runId = await start('2025-09-04');
    await expect(
      store.completeRun(runId, outcomeFor(['a'], []), () => Promise.reject(new Error('disk full'))),
    ).rejects.toThrow('disk full');
    await store.failRun(runId, 'disk full', outcomeFor(['a'], []).issues);
    expect(await store.getRun(runId)).toEqual(
      unfinishedRun({
        runId,
        businessDate: '2025-09-04',
        status: 'failed',
        errorMessage: 'disk full',
      }),
    );
    const rows = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM discrepancies WHERE run_id = $1`,
      [runId],
    );
    expect(rows).toEqual([{ n: '0' }]);
    const quality = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM data_quality_checks WHERE run_id = $1`,
      [runId],
    );
    expect(quality).toEqual([{ n: '1' }]);
  });

  it('marks a run left running by a dead process as abandoned when the next run starts', async () => {
    const orphan = await start('2025-09-05');
    const next = await start('2025-09-05');
    expect(await store.getRun(orphan)).toEqual(
      unfinishedRun({
        runId: orphan,
        businessDate: '2025-09-05',
        status: 'abandoned',
        errorMessage: 'abandoned: its process ended without finishing the run',
      }),
    );
    expect(await store.getRun(next)).toEqual(
      unfinishedRun({
        runId: next,
        businessDate: '2025-09-05',
        status: 'running',
        endTime: null,
        errorMessage: null,
      }),
    );
  });

  it('refuses a second lock for the same date and processor until the first is released', async () => {
    const lock = await store.lockRun('2025-09-06', 'stripe');
    await expect(store.lockRun('2025-09-06', 'stripe')).rejects.toBeInstanceOf(RunInProgressError);
    const other = await store.lockRun('2025-09-06', 'paypal');
    await other.release();
    await lock.release();
    const again = await store.lockRun('2025-09-06', 'stripe');
    await again.release();
  });

  it('rejects UPDATE, DELETE and TRUNCATE on the audit log', async () => {
    await expect(db.query(`UPDATE audit_log SET event = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
  });

  it('lists runs by processor and returns null for an unknown or malformed run id', async () => {
    const older = await start('2025-09-08', 'adyen');
    await store.failRun(older, 'input rejected');
    const newer = await start('2025-09-09', 'adyen');
    await start('2025-09-09', 'square');
    const runs = await store.listRuns({ processor: 'adyen', limit: 10 });
    expect(runs).toEqual([
      unfinishedRun({
        runId: newer,
        businessDate: '2025-09-09',
        processor: 'adyen',
        status: 'running',
        endTime: null,
        errorMessage: null,
      }),
      unfinishedRun({
        runId: older,
        businessDate: '2025-09-08',
        processor: 'adyen',
        status: 'failed',
        errorMessage: 'input rejected',
      }),
    ]);
    const limited = await store.listRuns({ processor: 'adyen', limit: 1 });
    expect(limited.map((run) => run.runId)).toEqual([newer]);
    await expect(store.getRun('00000000-0000-0000-0000-000000000000')).resolves.toBeNull();
    await expect(store.getRun('not-a-uuid')).resolves.toBeNull();
  });

  it('lists the largest discrepancies of a run first', async () => {
    const runId = await start('2025-09-07');
    const processor = [tx('small', { amountMinor: 100n }), tx('big', { amountMinor: 99999n })];
    const match = matchTransactions(processor, []);
    await store.completeRun(runId, {
      match,
      summary: summarizeReconciliation(match, processor, [], 0),
      issues: [],
      invalidRows: 0,
      reportCsvPath: null,
      reportJsonPath: null,
    });
    const missing = (transactionId: string, amount: string) => ({
      kind: 'missing_in_internal',
      transactionId,
      amount,
      currency: 'USD',
      difference: null,
      processorStatus: 'settled',
      internalStatus: null,
      merchantId: 'merch_001',
    });
    await expect(store.listDiscrepancies(runId, 10)).resolves.toEqual([
      missing('big', '999.99'),
      missing('small', '1.00'),
    ]);
    await expect(store.listDiscrepancies(runId, 1)).resolves.toEqual([missing('big', '999.99')]);
  });
});
