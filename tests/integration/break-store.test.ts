import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../src/store/database-config';
import type { Transaction } from '../../src/domain/transaction';
import { carryOver } from '../../src/engine/break-lifecycle';
import { matchTransactions } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import {
  BreakStore,
  readRunReportBreaks,
  type PagedBreaks,
  type StoredBreak,
} from '../../src/store/break-store';
import type { Database, SqlExecutor, TransactionOptions } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { PgliteDatabase, tryFileLock } from '../../src/store/pglite-database';
import { RunStore, type RunOutcome } from '../../src/store/run-store';
import { applySchema, SCHEMA_VERSION } from '../../src/store/schema';
import { testBackends } from '../helpers/databases';
import { tx } from '../helpers/transactions';

const ROOT = join(__dirname, '..', '..');

/** `db` with every statement run in its transactions counted. */
function countingStatements(db: Database): { db: Database; statements: () => number } {
  let statements = 0;
  const counting = (executor: SqlExecutor): SqlExecutor =>
    new Proxy(executor, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property === 'query' || property === 'copyFrom') statements++;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  const wrapped = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'withTransaction') {
        return <T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions) =>
          target.withTransaction((tx) => fn(counting(tx)), options);
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { db: wrapped, statements: () => statements };
}

describe.each(testBackends())('breaks across days on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;
  let breaks: BreakStore;

  beforeAll(async () => {
    config = await backend.config();
    db = await openDatabase(config, { initialise: true });
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    store = new RunStore(
      () => Promise.resolve(db),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
    breaks = new BreakStore(db);
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  /** One run of `date` for `processor` the way the job does it (memory engine, carry-over). */
  async function runDay(
    date: string,
    processor: Transaction[],
    internal: Transaction[],
    options: { graceDays?: number; name?: string; store?: RunStore } = {},
  ) {
    const name = options.name ?? 'stripe';
    const runStore = options.store ?? store;
    const runId = await runStore.startRun({
      businessDate: date,
      processor: name,
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });
    const carried = await breaks.loadCarried(name, date, 90);
    const raw = matchTransactions(processor, internal);
    const carry = carryOver(raw, carried, date);
    const outcome: RunOutcome = {
      match: carry.match,
      summary: summarizeReconciliation(carry.match, processor, internal, 0),
      issues: [],
      invalidRows: 0,
      reportCsvPath: null,
      reportJsonPath: null,
      breaks: {
        graceDays: options.graceDays ?? 0,
        resolved: carry.resolved,
        reclassified: carry.reclassified,
      },
    };
    await runStore.completeRun(runId, outcome);
    return { runId, carry, block: await breaks.runBreaks(runId, 7) };
  }

  const openSet = async (processor: string) =>
    (await breaks.listBreaks({ processor, status: 'all' })).map((b) => [
      b.transactionId,
      b.kind,
      b.status,
      b.originDate,
      b.resolution,
      b.lagDays,
    ]);
  const openedEvents = async () =>
    db.query<{ break_id: string; n: number }>(
      `SELECT break_id::text, count(*)::int AS n FROM break_events WHERE event = 'opened'
        GROUP BY 1 ORDER BY 1`,
    );

  it('describes a break by the first of its rows in file order, every time (duplicates of one id)', async () => {
    // Three processor rows of one id: the first is matched, the second (20.00) and third (30.00)
    // are duplicates, one identity: the break is the second row's, whatever ids the rows get.
    const amounts: string[] = [];
    for (let day = 1; day <= 8; day++) {
      const date = `2024-03-${String(day).padStart(2, '0')}`;
      const id = `dup-${day}`;
      await runDay(
        date,
        [tx(id), tx(id, { amountMinor: 2000n }), tx(id, { amountMinor: 3000n })],
        [tx(id)],
        { name: 'paypal' },
      );
      const found = (await breaks.listBreaks({ processor: 'paypal', status: 'all' })).find(
        (b) => b.transactionId === id,
      );
      amounts.push(found?.amount ?? '?');
    }
    expect(amounts).toEqual(Array(8).fill('20.00'));
  });

  it("writes a rerun's events of its breaks in a few statements, not one per break", async () => {
    // A rerun sees every break of its date again: one `seen` event each. They used to be one
    // INSERT per break (20 000 round trips, ~7 s, for a 1M-row rerun).
    const date = '2024-05-02';
    const missing = Array.from({ length: 400 }, (_, i) => tx(`seen-${String(i).padStart(3, '0')}`));
    await runDay(date, missing, [], { name: 'bulk' });
    const counted = countingStatements(db);
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    const countedStore = new RunStore(
      () => Promise.resolve(counted.db),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
    await runDay(date, missing, [], { name: 'bulk', store: countedStore });
    expect(counted.statements()).toBeLessThan(60);
    const events = await db.query<{ events: string; n: number }>(
      `SELECT string_agg(e.event, ',' ORDER BY e.occurred_at, e.id) AS events, b.transaction_id
         FROM break_events e JOIN breaks b ON b.id = e.break_id
        WHERE b.processor = 'bulk' AND b.origin_date = $1::date
        GROUP BY b.transaction_id ORDER BY b.transaction_id`,
      [date],
    );
    expect(events).toEqual(
      missing.map((t) => ({ events: 'opened,seen', transaction_id: t.transactionId })),
    );
  });

  it('resolves a late arrival and reclassifies a late counterpart with another amount, keeping ids', async () => {
    const day1 = await runDay(
      '2025-10-01',
      [tx('p-only'), tx('late-amount', { amountMinor: 5000n }), tx('both')],
      [tx('l-only'), tx('both')],
    );
    expect(day1.block).toEqual({
      new: 3,
      new_open: 3,
      resolved: 0,
      reclassified: 0,
      pending: 0,
      open: 3,
      open_by_age: { '0-1': 3, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
      older_than_escalation: 0,
      escalate_days: 7,
    });
    const before = await breaks.listBreaks({ processor: 'stripe', status: 'open' });
    const idOf = (id: string) => before.find((b) => b.transactionId === id)?.breakId;

    const day2 = await runDay(
      '2025-10-02',
      [tx('l-only'), tx('new-p')],
      [tx('p-only'), tx('late-amount', { amountMinor: 4000n })],
    );
    expect(day2.carry.timing).toBe(2);
    expect(day2.carry.match.counts).toEqual({
      matched: 0,
      missing_in_internal: 1,
      missing_in_processor: 0,
      amount_mismatch: 1,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
    });
    expect(day2.block).toEqual({
      new: 1,
      new_open: 1,
      resolved: 2,
      reclassified: 1,
      pending: 0,
      open: 2,
      open_by_age: { '0-1': 2, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
      older_than_escalation: 0,
      escalate_days: 7,
    });
    expect(await openSet('stripe')).toEqual([
      ['l-only', 'missing_in_processor', 'resolved', '2025-10-01', 'late_arrival', 1],
      ['late-amount', 'amount_mismatch', 'open', '2025-10-01', null, null],
      ['p-only', 'missing_in_internal', 'resolved', '2025-10-01', 'late_arrival', 1],
      ['new-p', 'missing_in_internal', 'open', '2025-10-02', null, null],
    ]);
    const after = await breaks.listBreaks({ processor: 'stripe', status: 'all' });
    expect(after.find((b) => b.transactionId === 'late-amount')?.breakId).toBe(idOf('late-amount'));
    const linked = await db.query<{ transaction_id: string; kind: string; linked: boolean }>(
      `SELECT d.transaction_id, d.kind, d.break_id IS NOT NULL AS linked FROM discrepancies d
        WHERE d.run_id = $1 ORDER BY d.transaction_id`,
      [day2.runId],
    );
    expect(linked).toEqual([
      { transaction_id: 'late-amount', kind: 'amount_mismatch', linked: true },
      { transaction_id: 'new-p', kind: 'missing_in_internal', linked: true },
    ]);

    // Reruns of the latest date leave the same breaks, each opened once.
    const events = await openedEvents();
    for (let i = 0; i < 3; i++) {
      const again = await runDay(
        '2025-10-02',
        [tx('l-only'), tx('new-p')],
        [tx('p-only'), tx('late-amount', { amountMinor: 4000n })],
      );
      expect(again.carry.timing).toBe(2);
      expect(await openSet('stripe')).toEqual([
        ['l-only', 'missing_in_processor', 'resolved', '2025-10-01', 'late_arrival', 1],
        ['late-amount', 'amount_mismatch', 'open', '2025-10-01', null, null],
        ['p-only', 'missing_in_internal', 'resolved', '2025-10-01', 'late_arrival', 1],
        ['new-p', 'missing_in_internal', 'open', '2025-10-02', null, null],
      ]);
      expect(await openedEvents()).toEqual(events);
    }
    expect(events.every((row) => row.n === 1)).toBe(true);

    // A break resolved by hand is never reopened by a rerun.
    const newP = after.find((b) => b.transactionId === 'new-p');
    await breaks.applyManual(
      (newP?.breakId ?? '').slice(0, 8),
      { type: 'resolve', writeOff: true },
      'ops',
      'fee refund',
    );
    await runDay(
      '2025-10-02',
      [tx('l-only'), tx('new-p')],
      [tx('p-only'), tx('late-amount', { amountMinor: 4000n })],
    );
    expect((await breaks.findBreak(newP?.breakId ?? '')).status).toBe('written_off');
    expect(await openedEvents()).toEqual(events);
    const history = await breaks.breakEvents(newP?.breakId ?? '');
    expect(history.map((e) => [e.event, e.actor, e.reason])).toEqual([
      ['opened', 'recon', null],
      ['seen', 'recon', null],
      ['seen', 'recon', null],
      ['seen', 'recon', null],
      ['written_off', 'ops', 'fee refund'],
      ['seen', 'recon', null],
    ]);
  });

  it('reopens a late-arrival resolution when a rerun no longer sees the counterpart', async () => {
    await runDay('2025-11-01', [tx('x')], [], { name: 'adyen' });
    await runDay('2025-11-02', [], [tx('x')], { name: 'adyen' });
    expect(await openSet('adyen')).toEqual([
      ['x', 'missing_in_internal', 'resolved', '2025-11-01', 'late_arrival', 1],
    ]);
    await runDay('2025-11-02', [], [], { name: 'adyen' });
    expect(await openSet('adyen')).toEqual([
      ['x', 'missing_in_internal', 'open', '2025-11-01', null, null],
    ]);
  });

  it('keeps a one-sided item pending for the grace days, then opens it', async () => {
    const d1 = await runDay('2025-12-01', [tx('g')], [], { name: 'square', graceDays: 2 });
    expect([d1.block.pending, d1.block.open, d1.block.new]).toEqual([1, 0, 1]);
    const d2 = await runDay('2025-12-02', [], [], { name: 'square', graceDays: 2 });
    expect([d2.block.pending, d2.block.open]).toEqual([1, 0]);
    const d3 = await runDay('2025-12-03', [], [], { name: 'square', graceDays: 2 });
    expect([d3.block.pending, d3.block.open, d3.block.open_by_age['2-3']]).toEqual([0, 1, 1]);
  });

  it('refuses invalid manual transitions with one line and audits every change', async () => {
    await runDay('2026-01-01', [tx('m')], [], { name: 'paypal' });
    const [open] = await breaks.listBreaks({ processor: 'paypal', status: 'open' });
    const id = open?.breakId ?? '';
    await expect(breaks.applyManual(id, { type: 'reopen' }, 'ops', 'why')).rejects.toThrow(
      `break ${id}: only resolved or written-off breaks can be reopened; it is open`,
    );
    await breaks.applyManual(id, { type: 'resolve', writeOff: false }, 'ops', 'booked by hand');
    await expect(
      breaks.applyManual(id, { type: 'resolve', writeOff: false }, 'ops', 'again'),
    ).rejects.toThrow(`break ${id}: the break is already resolved`);
    await breaks.applyManual(id, { type: 'reopen' }, 'ops', 'wrong booking');
    await breaks.applyManual(id, { type: 'comment' }, 'ops', 'asked finance');
    await expect(breaks.findBreak('1234')).rejects.toThrow(
      "break id '1234' must be a break id or a prefix of at least 8 of its characters",
    );
    await expect(breaks.findBreak('ffffffff')).rejects.toThrow('no break with id ffffffff');
    const audit = await db.query<{ event: string; to: string }>(
      `SELECT event, details->>'to' AS to FROM audit_log WHERE details->>'break_id' = $1 ORDER BY seq`,
      [id],
    );
    expect(audit).toEqual([
      { event: 'break_resolved', to: 'resolved' },
      { event: 'break_reopened', to: 'open' },
      { event: 'break_commented', to: 'open' },
    ]);
    await expect(db.query(`UPDATE break_events SET actor = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM break_events`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE break_events`)).rejects.toThrow(/append-only/);
  });

  it("reads a stored run's report breaks a page at a time exactly as in one read (texts, nulls, order, links)", async () => {
    // Texts JSON must carry exactly: quotes, backslashes, line breaks, commas, multi-byte, astral.
    const odd = ['q"uote', 'back\\slash', 'line\nbreak', 'comma,semi;', 'ünï€', '😀', ' lead'];
    const name = 'adyen';
    await runDay(
      '2025-11-01',
      [...odd.map((id) => tx(id)), tx('late'), tx('amt', { amountMinor: 1234n })],
      [tx('amt'), tx('gone-l')],
      { name },
    );
    // Day 2: a late arrival resolves a break, new breaks open (ages and origin dates differ).
    const { runId } = await runDay(
      '2025-11-03',
      [tx('fresh'), tx('amt2', { amountMinor: 99n, currency: 'JPY' })],
      [tx('late'), tx('amt2', { currency: 'JPY' })],
      { name },
    );
    await db.withTransaction(async (t) => {
      const whole = await readRunReportBreaks(t, runId, 7);
      const paged = await readRunReportBreaks(t, runId, 7, { paged: true });
      const all = async (rows: typeof paged.open): Promise<StoredBreak[]> => {
        if (Array.isArray(rows)) return [...(rows as StoredBreak[])];
        const out: StoredBreak[] = [];
        for await (const page of (rows as PagedBreaks).pages()) out.push(...page);
        return out;
      };
      expect(paged.summary).toStrictEqual(whole.summary);
      const open = await all(whole.open);
      expect(open.length).toBeGreaterThan(odd.length);
      expect(await all(paged.open)).toStrictEqual(open);
      // Read twice (the CSV and the JSON report): the same rows again.
      expect(await all(paged.open)).toStrictEqual(open);
      const resolved = await all(whole.resolved);
      expect(resolved.map((b) => b.transactionId)).toStrictEqual(['late']);
      expect(await all(paged.resolved)).toStrictEqual(resolved);
      for (const id of ['fresh', 'amt2', 'late'])
        for (const scope of ['processor', 'internal', 'both'])
          expect(paged.linked.get(id, scope)).toStrictEqual(whole.linked.get(id, scope));
      expect(paged.linked.get('fresh', 'processor')?.status).toBe('open');
      expect(paged.linked.size).toBe(whole.linked.size);
    });
  });

  it('allows at most one pending or open break per identity', async () => {
    const [open] = await breaks.listBreaks({ processor: 'paypal', status: 'open' });
    await expect(
      db.query(
        `INSERT INTO breaks (processor, transaction_id, identity_scope, origin_scope, kind, origin_kind,
            side, status, origin_date, currency, amount_minor, amount, first_seen_run_id, last_seen_run_id)
         SELECT processor, transaction_id, identity_scope, origin_scope, kind, origin_kind, side,
                'open', origin_date, currency, amount_minor, amount, first_seen_run_id, last_seen_run_id
           FROM breaks WHERE id = $1`,
        [open?.breakId ?? ''],
      ),
    ).rejects.toThrow(/ux_breaks_one_active/);
  });
});

describe('schema upgrade from version 4', () => {
  it('db init upgrades a database created by schema 4, keeping its runs and discrepancies', async () => {
    const [backend] = testBackends();
    if (!backend) throw new Error('no backend');
    const config = await backend.config();
    if (config.kind !== 'pglite') throw new Error('expected PGlite first');
    const db = await PgliteDatabase.open(config.settings);
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v4.sql'), 'utf8'));
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      await db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
         VALUES ($1, 'missing_in_internal', 'processor', 'old', 100, 1.00, 'USD')`,
        [run?.id ?? ''],
      );
      await applySchema(db);
      expect(
        await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
      ).toEqual([{ value: SCHEMA_VERSION }]);
      expect(
        await db.query(
          `SELECT transaction_id, break_id FROM discrepancies ORDER BY transaction_id`,
        ),
      ).toEqual([{ transaction_id: 'old', break_id: null }]);
      expect(await db.query(`SELECT count(*)::int AS n FROM v_open_breaks`)).toEqual([{ n: 0 }]);
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
