import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Logger } from '../../src/config/logger';
import { runReconciliation, type RunRequest } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { tryFileLock } from '../../src/store/pglite-database';
import { RunStore } from '../../src/store/run-store';
import { testBackends } from '../helpers/databases';

const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
const silent = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };
const logger = silent as unknown as Logger;
const row = (id: string, amount: string, at: string, status = 'succeeded') =>
  `${id},${amount},USD,${status},merch_001,${at},0.30,Order ${id}`;
const ledger = (id: string, amount: string, at: string) => row(id, amount, at, 'settled');

const work = mkdtempSync(join(tmpdir(), 'recon-dry-breaks-'));
const data = join(work, 'data');
function day(date: string, processor: string[], internal: string[]): void {
  mkdirSync(join(data, date), { recursive: true });
  writeFileSync(join(data, date, 'stripe.csv'), [HEADER, ...processor, ''].join('\n'));
  writeFileSync(join(data, date, 'internal_stripe.csv'), [HEADER, ...internal, ''].join('\n'));
}
// Day 1: two one-sided items each way and one that will come back with another amount.
day(
  '2025-10-01',
  [
    row('ch_pair', '10.00', '2025-10-01T10:00:00Z'),
    row('ch_proc_first', '20.00', '2025-10-01T11:00:00Z'),
    row('ch_amount', '30.00', '2025-10-01T12:00:00Z'),
  ],
  [
    ledger('ch_pair', '10.00', '2025-10-01T10:00:00Z'),
    ledger('ch_ledger_first', '40.00', '2025-10-01T23:58:00Z'),
  ],
);
// Day 2: the counterparts arrive (one disagrees) and a new ledger-only item.
day(
  '2025-10-02',
  [row('ch_ledger_first', '40.00', '2025-10-02T00:03:00Z')],
  [
    ledger('ch_proc_first', '20.00', '2025-10-02T01:00:00Z'),
    ledger('ch_amount', '29.00', '2025-10-02T02:00:00Z'),
    ledger('ch_never', '5.00', '2025-10-02T03:00:00Z'),
  ],
);

/** Row counts of every table of the store's schema, and the audit chain's head. */
async function snapshot(db: Database): Promise<{ tables: Record<string, number>; head: unknown }> {
  const tables = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [count] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`);
    counts[name] = count?.n ?? -1;
  }
  const [head] = await db.query<{ seq: string; entry_hash: string }>(
    `SELECT seq::text, entry_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`,
  );
  const breaks = await db.query(
    `SELECT id::text, status, kind, last_seen_run_id::text, updated_at::text FROM breaks ORDER BY id`,
  );
  const runs = await db.query(
    `SELECT id::text, status, superseded_by::text FROM reconciliation_runs ORDER BY id`,
  );
  return { tables: counts, head: { ...head, breaks, runs } };
}

describe.each(testBackends())('a dry run reads the stored breaks read-only on $name', (backend) => {
  let db: Database;
  let store: RunStore;

  beforeAll(async () => {
    const config = await backend.config();
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

  const request = (date: string, dryRun: boolean): RunRequest => ({
    dates: [date],
    processors: ['stripe'],
    timeZone: 'UTC',
    sources: { processorSource: 'csv', internalSource: 'csv', dataDir: data },
    reportsDir: join(work, backend.name, dryRun ? 'dry-run' : 'stored'),
    dryRun,
    maxInvalidRate: '0.01',
    appVersion: 'test',
  });
  const run = async (date: string, dryRun: boolean) => {
    const [result] = await runReconciliation(
      {
        store,
        logger,
        now: () => Date.parse('2025-10-03T01:00:00Z'),
        apis: { http: DEFAULT_HTTP_SETTINGS },
      },
      request(date, dryRun),
    );
    if (!result) throw new Error('no result');
    expect(result.error).toBeNull();
    return result;
  };

  it('computes carry-over, the breaks block and the report break columns, and stores nothing', async () => {
    await run('2025-10-01', false);
    const before = await snapshot(db);
    const dry = await run('2025-10-02', true);
    expect(await snapshot(db)).toEqual(before);

    expect([dry.dryRun, dry.auditHead, dry.timing, dry.counts]).toEqual([
      true,
      null,
      2,
      {
        matched: 0,
        missing_in_internal: 0,
        missing_in_processor: 1,
        amount_mismatch: 1,
        currency_mismatch: 0,
        status_mismatch: 0,
        duplicate: 0,
        fee_mismatch: 0,
      },
    ]);
    const block = {
      new: 1,
      new_open: 1,
      resolved: 2,
      reclassified: 1,
      pending: 0,
      open: 2,
      open_by_age: { '0-1': 2, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
      older_than_escalation: 0,
      escalate_days: 7,
    };
    expect(dry.breaks).toEqual(block);

    // The reports: the carried break keeps its stored id; the one the dry run would open has none.
    const stored = await db.query<{ id: string; transaction_id: string }>(
      `SELECT id::text, transaction_id FROM breaks ORDER BY transaction_id`,
    );
    const idOf = (transactionId: string) =>
      stored.find((b) => b.transaction_id === transactionId)?.id;
    const csv: string[][] = parse(readFileSync(dry.reports?.csv ?? '', 'utf8'));
    expect(csv.map((r) => [r[0], r[1], ...r.slice(-4)])).toEqual([
      ['kind', 'transaction_id', 'break_id', 'break_status', 'origin_date', 'age_days'],
      ['amount_mismatch', 'ch_amount', idOf('ch_amount'), 'open', '2025-10-01', '1'],
      ['missing_in_processor', 'ch_never', '', 'open', '2025-10-02', '0'],
    ]);
    const json = JSON.parse(readFileSync(dry.reports?.json ?? '', 'utf8')) as Record<
      string,
      unknown
    >;
    expect(json.breaks).toEqual(block);
    expect(
      (json.resolved_breaks as Record<string, unknown>[]).map((b) => [
        b.break_id,
        b.transaction_id,
        b.resolution,
        b.lag_days,
        b.resolved_run_id,
      ]),
    ).toEqual([
      [idOf('ch_ledger_first'), 'ch_ledger_first', 'late_arrival', 1, null],
      [idOf('ch_proc_first'), 'ch_proc_first', 'late_arrival', 1, null],
    ]);
    expect(
      (json.open_breaks as Record<string, unknown>[]).map((b) => [
        b.break_id,
        b.transaction_id,
        b.kind,
        b.age_days,
      ]),
    ).toEqual([
      [idOf('ch_amount'), 'ch_amount', 'amount_mismatch', 1],
      [null, 'ch_never', 'missing_in_processor', 0],
    ]);
    const open: string[][] = parse(readFileSync(dry.reports?.openBreaks ?? '', 'utf8'));
    expect(open.map((r) => [r[0], r[2], r[7], r[16]])).toEqual([
      ['break_id', 'transaction_id', 'age_days', 'age_bucket'],
      [idOf('ch_amount'), 'ch_amount', '1', '0-1'],
      ['', 'ch_never', '0', '0-1'],
    ]);

    // The real run of the same day does what the dry run showed.
    const real = await run('2025-10-02', false);
    expect([real.timing, real.counts, real.breaks]).toEqual([dry.timing, dry.counts, block]);
  }, 120_000);
});
