import { readFileSync } from 'node:fs';
import type { DatabaseConfig } from '../../src/config/load-config';
import type { DataQualityIssue } from '../../src/domain/data-quality';
import { RunInProgressError } from '../../src/domain/errors';
import { matchTransactions } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { RunStore } from '../../src/store/run-store';
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

describe.each(testBackends())('run store on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;

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

  it('applies setup.sql a second time without error and keeps schema version 5', async () => {
    await applySchema(db);
    await expect(assertSchema(db)).resolves.toBeUndefined();
    const rows = await db.query<{ value: string }>(
      `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
    );
    expect(rows).toEqual([{ value: '5' }]);
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

    const run = await store.getRun(runId);
    expect(run).toMatchObject({
      status: 'completed',
      businessDate: '2025-09-01',
      processorTransactions: 4,
      internalTransactions: 4,
      discrepancyCount: 3,
      invalidRows: 1,
      totalDiscrepancyAmount: '21.00',
      discrepancyAmounts: { USD: '21.00' },
      riskLevel: 'HIGH',
      reportCsvPath: 'r.csv',
    });
    expect(run?.counts).toEqual({
      matched: 2,
      missing_in_internal: 1,
      missing_in_processor: 1,
      amount_mismatch: 1,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
    });
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
    const rows = await db.query<{
      transaction_id: string;
      description: string | null;
      merchant_id: string;
    }>(
      `SELECT transaction_id, description, merchant_id FROM discrepancies WHERE run_id = $1 ORDER BY transaction_id`,
      [runId],
    );
    expect(rows.map((row) => row.description)).toEqual(NAUGHTY);
    expect(rows[0]?.merchant_id).toBe('m,"0');
  });

  it('answers the four queries of the original documentation', async () => {
    const a = await db.query<object>(
      'SELECT processor_name, missing_transaction_count, status FROM reconciliation_runs;',
    );
    expect(a.length).toBeGreaterThan(0);
    const b = await db.query<object>(
      'SELECT run_date, processor_name, missing_transaction_count, total_discrepancy_amount, status FROM reconciliation_runs ORDER BY start_time DESC LIMIT 10;',
    );
    expect(b.length).toBeGreaterThan(0);
    const c = await db.query<{ transaction_id: string; amount: string; merchant_id: string }>(
      'SELECT transaction_id, amount, merchant_id FROM missing_transactions LIMIT 20;',
    );
    expect(c.map((row) => row.transaction_id)).toContain('p-only');
    const d = await db.query<object>('SELECT * FROM v_recent_reconciliations LIMIT 10;');
    expect(d.length).toBeGreaterThan(0);
    await expect(
      db.query('SELECT * FROM v_high_value_missing_transactions'),
    ).resolves.toBeDefined();
    const metrics = await db.query<{ run_date: string }>(
      'SELECT run_date::text FROM v_daily_reconciliation_metrics',
    );
    expect(metrics.map((row) => row.run_date)).toContain('2025-09-01');
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
    const run = await store.getRun(runId);
    expect(run).toMatchObject({
      status: 'failed',
      errorMessage: 'disk full',
      discrepancyCount: null,
    });
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
    expect((await store.getRun(orphan))?.status).toBe('abandoned');
    expect((await store.getRun(next))?.status).toBe('running');
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
    const runs = await store.listRuns({ processor: 'stripe', limit: 2 });
    expect(runs).toHaveLength(2);
    expect(runs.every((run) => run.processor === 'stripe')).toBe(true);
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
    const list = await store.listDiscrepancies(runId, 10);
    expect(list.map((d) => [d.transactionId, d.amount])).toEqual([
      ['big', '999.99'],
      ['small', '1.00'],
    ]);
  });
});
