import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Logger } from '../../src/config/logger';
import type { ProcessorName } from '../../src/domain/status';
import { formatMinor } from '../../src/domain/money';
import { runReconciliation, type RunResult } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { BreakStore } from '../../src/store/break-store';
import type { Database } from '../../src/store/database';
import type { DatabaseConfig } from '../../src/store/database-config';
import { openDatabase } from '../../src/store/open-store';
import { tryFileLock } from '../../src/store/pglite-database';
import { RunStore } from '../../src/store/run-store';
import { testBackends } from '../helpers/databases';

/**
 * Breaks across days on both engines: the same multi-day sequences (late arrivals, late
 * counterparts with another amount or status, items that never match, reruns of the latest and
 * of older dates, hand resolutions) run through the job with `--engine memory` on one processor
 * and `--engine postgres` on another, in the same database, and must leave the same breaks,
 * events, counts and stored discrepancies. Both processors use statuses of the shared vocabulary
 * (`settled`, `pending`, `failed`, `refunded`, an unknown `on_hold`), which both status maps read
 * alike.
 */

const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
const ENGINES: readonly { engine: 'memory' | 'postgres'; processor: ProcessorName }[] = [
  { engine: 'memory', processor: 'stripe' },
  { engine: 'postgres', processor: 'square' },
];
const STATUSES = ['settled', 'pending', 'failed', 'refunded', 'on_hold'] as const;
const CURRENCIES = { USD: 2, JPY: 0 } as const;

/** One side's row of a transaction: the day (index) it arrives on and what it says. */
interface SideRow {
  readonly day: number;
  readonly minor: bigint;
  readonly currency: keyof typeof CURRENCIES;
  readonly status: (typeof STATUSES)[number];
}
/** A transaction of a sequence: its id and its row on each side (either may never arrive). */
interface Item {
  readonly id: string;
  readonly processor: SideRow | null;
  readonly internal: SideRow | null;
}

const logger = {
  child: () => logger,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function csvLine(id: string, row: SideRow, date: string, ordinal: number): string {
  const amount = formatMinor(row.minor, CURRENCIES[row.currency]);
  const at = `${date}T${String(8 + (ordinal % 12)).padStart(2, '0')}:00:00Z`;
  return `${id},${amount},${row.currency},${row.status},merch_001,${at},,Order ${ordinal}`;
}

/** Writes the files of every day of `items` for `processor` under `dataDir` (both sides, even empty). */
function writeSequence(
  dataDir: string,
  processor: string,
  items: readonly Item[],
  dates: readonly string[],
): void {
  dates.forEach((date, day) => {
    const dir = join(dataDir, date);
    mkdirSync(dir, { recursive: true });
    const lines = (side: 'processor' | 'internal') =>
      items.flatMap((item, ordinal) => {
        const row = item[side];
        return row && row.day === day ? [csvLine(item.id, row, date, ordinal)] : [];
      });
    writeFileSync(join(dir, `${processor}.csv`), [HEADER, ...lines('processor')].join('\n') + '\n');
    writeFileSync(
      join(dir, `internal_${processor}.csv`),
      [HEADER, ...lines('internal')].join('\n') + '\n',
    );
  });
}

describe.each(testBackends())(
  'breaks across days, memory and postgres engines on $name',
  (backend) => {
    let config: DatabaseConfig;
    let db: Database;
    let store: RunStore;
    let breaks: BreakStore;
    const dataDir = mkdtempSync(join(tmpdir(), 'recon-breaks-engines-'));
    const reportsDir = mkdtempSync(join(tmpdir(), 'recon-breaks-engines-reports-'));

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

    /** Runs `date` for one engine through the job; the run must complete. */
    async function runDate(
      engine: 'memory' | 'postgres',
      processor: ProcessorName,
      date: string,
    ): Promise<RunResult> {
      const [result] = await runReconciliation(
        {
          store,
          logger,
          now: () => Date.parse(`${addDays(date, 1)}T01:00:00Z`),
          apis: { http: DEFAULT_HTTP_SETTINGS },
        },
        {
          dates: [date],
          processors: [processor],
          timeZone: 'UTC',
          sources: { processorSource: 'csv', internalSource: 'csv', dataDir },
          reportsDir,
          dryRun: false,
          maxInvalidRate: '0',
          appVersion: 'test',
          engine,
        },
      );
      if (!result || result.status !== 'completed') {
        throw new Error(`${engine} run of ${date} failed: ${String(result?.error)}`);
      }
      return result;
    }

    /** The breaks of `processor` with ids of transactions starting with `prefix`, without break ids. */
    async function breakState(processor: string, prefix: string): Promise<unknown[]> {
      const all = (await breaks.listBreaks({ processor, status: 'all' })).filter((b) =>
        b.transactionId.startsWith(prefix),
      );
      const state: unknown[] = [];
      for (const b of all) {
        const events = await breaks.breakEvents(b.breakId);
        state.push({
          transactionId: b.transactionId,
          kind: b.kind,
          side: b.side,
          status: b.status,
          originDate: b.originDate,
          ageDays: b.ageDays,
          amount: b.amount,
          currency: b.currency,
          processorAmount: b.processorAmount,
          internalAmount: b.internalAmount,
          resolution: b.resolution,
          lagDays: b.lagDays,
          events: events.map((e) => [e.event, e.actor, e.reason, e.details]),
        });
      }
      return state.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }

    /** A run's stored discrepancies, all columns but ids, with the transaction and kind of their break. */
    async function storedDiscrepancies(runId: string | null): Promise<string[]> {
      const rows = await db.query<{ row: string }>(
        `SELECT ((to_jsonb(d) - 'id' - 'run_id' - 'break_id')
                || jsonb_build_object('break', b.transaction_id || '/' || b.kind))::text AS row
         FROM discrepancies d LEFT JOIN breaks b ON b.id = d.break_id
        WHERE d.run_id = $1`,
        [runId ?? ''],
      );
      return rows.map((r) => r.row).sort();
    }

    /** What a run reports, the same for both engines. */
    const runView = (r: RunResult) => ({
      counts: r.counts,
      timing: r.timing,
      breaks: r.breaks,
      processorTransactions: r.processorTransactions,
      internalTransactions: r.internalTransactions,
    });

    /** The ids (and states) of the open and pending breaks of `processor` under `prefix`. */
    async function openIds(processor: string, prefix: string): Promise<string[]> {
      const open = await breaks.listBreaks({ processor, status: 'all' });
      return open
        .filter((b) => b.transactionId.startsWith(prefix))
        .filter((b) => b.status === 'open' || b.status === 'pending')
        .map((b) => `${b.breakId} ${b.transactionId} ${b.kind} ${b.status} ${b.originDate}`)
        .sort();
    }

    async function openedEventsPerBreak(processor: string, prefix: string): Promise<number[]> {
      const rows = await db.query<{ n: number }>(
        `SELECT count(e.*) FILTER (WHERE e.event = 'opened')::int AS n
         FROM breaks b LEFT JOIN break_events e ON e.break_id = b.id
        WHERE b.processor = $1 AND b.transaction_id LIKE $2 || '%'
        GROUP BY b.id`,
        [processor, prefix],
      );
      return rows.map((r) => r.n);
    }

    /**
     * Runs the same `dates` on both engines (memory first) and checks that they report the same
     * and leave the same breaks and stored discrepancies; returns the memory engine's results.
     */
    async function runBoth(dates: readonly string[], prefix: string): Promise<RunResult[]> {
      const results: RunResult[] = [];
      for (const date of dates) {
        const [memory, postgres] = [
          await runDate('memory', 'stripe', date),
          await runDate('postgres', 'square', date),
        ];
        expect(runView(postgres)).toEqual(runView(memory));
        expect(await storedDiscrepancies(postgres.runId)).toEqual(
          await storedDiscrepancies(memory.runId),
        );
        expect(await breakState('square', prefix)).toEqual(await breakState('stripe', prefix));
        results.push(memory);
      }
      return results;
    }

    it('carries, resolves, reclassifies and ages the same breaks on both engines, across reruns', async () => {
      const dates = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'];
      const row = (day: number, minor = 1000n, status: SideRow['status'] = 'settled'): SideRow => ({
        day,
        minor,
        currency: 'USD',
        status,
      });
      const items: Item[] = [
        { id: 'fx-both', processor: row(0), internal: row(0) },
        { id: 'fx-late-ledger', processor: row(0), internal: row(1) },
        { id: 'fx-late-processor', processor: row(2), internal: row(0) },
        { id: 'fx-late-amount', processor: row(0, 5000n), internal: row(1, 4000n) },
        { id: 'fx-late-status', processor: row(1, 700n, 'failed'), internal: row(0, 700n) },
        { id: 'fx-never', processor: row(0), internal: null },
        { id: 'fx-mismatch', processor: row(1, 10n), internal: row(1, 11n) },
        { id: 'fx-day3', processor: null, internal: row(3) },
      ];
      for (const { processor } of ENGINES) writeSequence(dataDir, processor, items, dates);

      const first = await runBoth(dates, 'fx-');
      expect(first.map(runView)).toEqual([
        {
          counts: counts({ matched: 1, missing_in_internal: 3, missing_in_processor: 2 }),
          timing: 0,
          breaks: block({ new: 5, open: 5, byAge: [5, 0, 0, 0, 0] }),
          processorTransactions: 4,
          internalTransactions: 3,
        },
        {
          counts: counts({ amount_mismatch: 2, status_mismatch: 1 }),
          timing: 1,
          breaks: block({ new: 1, resolved: 1, reclassified: 2, open: 5, byAge: [5, 0, 0, 0, 0] }),
          processorTransactions: 2,
          internalTransactions: 3,
        },
        {
          counts: counts({}),
          timing: 1,
          breaks: block({ resolved: 1, open: 4, byAge: [1, 3, 0, 0, 0] }),
          processorTransactions: 1,
          internalTransactions: 0,
        },
        {
          counts: counts({ missing_in_processor: 1 }),
          timing: 0,
          breaks: block({ new: 1, open: 5, byAge: [1, 4, 0, 0, 0] }),
          processorTransactions: 0,
          internalTransactions: 1,
        },
      ]);
      const summary = (await breaks.listBreaks({ processor: 'square', status: 'all' }))
        .filter((b) => b.transactionId.startsWith('fx-'))
        .map((b) => [
          b.transactionId,
          b.kind,
          b.status,
          b.originDate,
          b.ageDays,
          b.resolution,
          b.lagDays,
        ]);
      expect(summary).toEqual([
        ['fx-late-amount', 'amount_mismatch', 'open', '2026-03-01', 3, null, null],
        ['fx-late-ledger', 'missing_in_internal', 'resolved', '2026-03-01', 3, 'late_arrival', 1],
        [
          'fx-late-processor',
          'missing_in_processor',
          'resolved',
          '2026-03-01',
          3,
          'late_arrival',
          2,
        ],
        ['fx-late-status', 'status_mismatch', 'open', '2026-03-01', 3, null, null],
        ['fx-never', 'missing_in_internal', 'open', '2026-03-01', 3, null, null],
        ['fx-mismatch', 'amount_mismatch', 'open', '2026-03-02', 2, null, null],
        ['fx-day3', 'missing_in_processor', 'open', '2026-03-04', 0, null, null],
      ]);
      const firstPass = await Promise.all(
        ENGINES.map(({ processor }) => openIds(processor, 'fx-')),
      );

      // Rerunning the latest date any number of times: same open breaks, one `opened` event each.
      await runBoth([dates[3] as string, dates[3] as string, dates[3] as string], 'fx-');
      for (const [index, { processor }] of ENGINES.entries()) {
        expect(await openIds(processor, 'fx-')).toEqual(firstPass[index]);
        expect(await openedEventsPerBreak(processor, 'fx-')).toEqual([1, 1, 1, 1, 1, 1, 1]);
      }

      // Rerunning each older date and then every later one, in order, reproduces the first pass:
      // the same counts and changes on every date (`open` of an older date also counts the breaks
      // later dates opened since), and at the end the same open breaks and the same last run.
      const changes = (r: RunResult) => ({
        counts: r.counts,
        timing: r.timing,
        changed: [r.breaks?.new, r.breaks?.resolved, r.breaks?.reclassified],
      });
      for (const from of [0, 1, 2]) {
        const again = await runBoth(dates.slice(from), 'fx-');
        expect(again.map(changes)).toEqual(first.slice(from).map(changes));
        expect(runView(again[again.length - 1] as RunResult)).toEqual(
          runView(first[3] as RunResult),
        );
        for (const [index, { processor }] of ENGINES.entries()) {
          expect(await openIds(processor, 'fx-')).toEqual(firstPass[index]);
          expect(await openedEventsPerBreak(processor, 'fx-')).toEqual([1, 1, 1, 1, 1, 1, 1]);
        }
      }

      // A break resolved by hand is never reopened by a rerun, of its own date or any other.
      for (const { processor } of ENGINES) {
        const open = await breaks.listBreaks({ processor, status: 'open' });
        for (const id of ['fx-never', 'fx-late-amount']) {
          const target = open.find((b) => b.transactionId === id);
          await breaks.applyManual(
            target?.breakId ?? '',
            { type: 'resolve', writeOff: id === 'fx-never' },
            'ops',
            'checked',
          );
        }
      }
      await runBoth(dates, 'fx-');
      for (const { processor } of ENGINES) {
        const closed = (await breaks.listBreaks({ processor, status: 'all' }))
          .filter((b) => b.transactionId === 'fx-never' || b.transactionId === 'fx-late-amount')
          .map((b) => [b.transactionId, b.kind, b.status, b.resolution]);
        expect(closed).toEqual([
          ['fx-late-amount', 'amount_mismatch', 'resolved', 'manual'],
          ['fx-never', 'missing_in_internal', 'written_off', 'written_off'],
        ]);
      }
    });

    it('every input row of every day ends matched, timing-resolved, in an open break or in a resolved break, exactly one (property, both engines)', async () => {
      let sequence = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              processorDay: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
              internalDay: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
              minor: fc.bigInt({ min: -5000n, max: 5000n }),
              otherMinor: fc.option(fc.bigInt({ min: -5000n, max: 5000n }), { freq: 4, nil: null }),
              currency: fc.constantFrom<('USD' | 'JPY')[]>('USD', 'JPY'),
              status: fc.constantFrom(...STATUSES),
              otherStatus: fc.option(fc.constantFrom(...STATUSES), { freq: 4, nil: null }),
            }),
            { maxLength: 14 },
          ),
          fc.integer({ min: 0, max: 3 }),
          async (specs, rerunFrom) => {
            // Each sequence in its own year (beyond RECON_CARRY_DAYS of the others), own ids.
            sequence++;
            const start = `${2100 + sequence}-06-01`;
            const dates = [0, 1, 2, 3].map((d) => addDays(start, d));
            const prefix = `p${sequence}-`;
            const items: Item[] = specs.map((s, n) => ({
              id: `${prefix}${n}`,
              processor:
                s.processorDay === null
                  ? null
                  : { day: s.processorDay, minor: s.minor, currency: s.currency, status: s.status },
              internal:
                s.internalDay === null
                  ? null
                  : {
                      day: s.internalDay,
                      minor: s.otherMinor ?? s.minor,
                      currency: s.currency,
                      status: s.otherStatus ?? s.status,
                    },
            }));
            for (const { processor } of ENGINES) writeSequence(dataDir, processor, items, dates);
            const firstRuns = await runBoth(dates, prefix);
            const firstOpen = await Promise.all(ENGINES.map((e) => openIds(e.processor, prefix)));
            const reruns = await runBoth(dates.slice(rerunFrom), prefix);
            for (const [index, { processor }] of ENGINES.entries()) {
              expect(await openIds(processor, prefix)).toEqual(firstOpen[index]);
            }
            const finalRuns = [...firstRuns.slice(0, rerunFrom), ...reruns];
            for (const { processor } of ENGINES) {
              await assertEveryRowAccounted(processor, items, dates, finalRuns, prefix);
            }
          },
        ),
        { numRuns: 6 },
      );
    });

    /**
     * Puts every input row (transaction, side, day) in exactly one of: `matched` (paired cleanly on
     * its own day), `timing` (in a pair resolved as a late arrival), `open` (in an open or pending
     * break), `resolved` (in a break resolved otherwise), from what the database stores; checks
     * the partition against the run counts and against what each item's rows say.
     */
    async function assertEveryRowAccounted(
      processor: string,
      items: readonly Item[],
      dates: readonly string[],
      memoryRuns: readonly RunResult[],
      prefix: string,
    ): Promise<void> {
      const runIds = await Promise.all(
        dates.map(async (date) => {
          const [run] = await db.query<{ id: string }>(
            `SELECT id::text FROM reconciliation_runs
            WHERE processor_name = $1 AND run_date = $2 AND status = 'completed'`,
            [processor, date],
          );
          return run?.id ?? '';
        }),
      );
      const rows = await db.query<{
        run_id: string;
        transaction_id: string;
        p: boolean;
        i: boolean;
        status: string | null;
        resolution: string | null;
      }>(
        `SELECT d.run_id::text, d.transaction_id, d.processor_line IS NOT NULL AS p,
              d.internal_line IS NOT NULL AS i, b.status, b.resolution
         FROM discrepancies d LEFT JOIN breaks b ON b.id = d.break_id
        WHERE d.run_id = ANY (SELECT jsonb_array_elements_text($1::jsonb)::uuid)`,
        [JSON.stringify(runIds)],
      );
      const lateArrivals = await db.query<{
        transaction_id: string;
        resolved_run_id: string;
        origin_kind: string;
      }>(
        `SELECT transaction_id, resolved_run_id::text, origin_kind FROM breaks
        WHERE processor = $1 AND transaction_id LIKE $2 || '%' AND resolution = 'late_arrival'`,
        [processor, prefix],
      );
      const perDay = dates.map(() => ({ rows: 0, matched: 0, timing: 0 }));
      for (const item of items) {
        for (const side of ['processor', 'internal'] as const) {
          const row = item[side];
          if (!row) continue;
          const runId = runIds[row.day];
          const found: string[] = [];
          for (const d of rows) {
            if (d.run_id !== runId || d.transaction_id !== item.id) continue;
            if (side === 'processor' ? !d.p : !d.i) continue;
            found.push(
              d.status === 'open' || d.status === 'pending'
                ? 'open'
                : d.resolution === 'late_arrival'
                  ? 'timing'
                  : d.status === null
                    ? 'unlinked'
                    : 'resolved',
            );
          }
          const counterpartOfLate = lateArrivals.some(
            (b) =>
              b.transaction_id === item.id &&
              b.resolved_run_id === runId &&
              (b.origin_kind === 'missing_in_internal') === (side === 'internal'),
          );
          if (counterpartOfLate) found.push('timing');
          const category = found.length === 0 ? 'matched' : found.join('+');
          const day = perDay[row.day];
          if (day) {
            day.rows++;
            if (category === 'matched') day.matched++;
            if (category === 'timing' && counterpartOfLate) day.timing++;
          }
          expect([item.id, side, row.day, category]).toEqual([
            item.id,
            side,
            row.day,
            expectedCategory(item, side),
          ]);
        }
      }
      perDay.forEach((day, index) => {
        const run = memoryRuns[index];
        expect([index, day.matched, day.timing]).toEqual([
          index,
          2 * (run?.counts?.matched ?? -1),
          run?.timing ?? -1,
        ]);
      });
    }
  },
);

/** What the lifecycle says a row of `item` ends as (no hand resolutions in the property). */
function expectedCategory(item: Item, side: 'processor' | 'internal'): string {
  const p = item.processor;
  const i = item.internal;
  if (!p || !i) return 'open';
  const clean = p.minor === i.minor && p.currency === i.currency && p.status === i.status;
  if (p.day === i.day) return clean ? 'matched' : 'open';
  void side;
  return clean ? 'timing' : 'open';
}

function counts(values: Partial<Record<string, number>>): Record<string, number> {
  return {
    matched: 0,
    missing_in_internal: 0,
    missing_in_processor: 0,
    amount_mismatch: 0,
    currency_mismatch: 0,
    status_mismatch: 0,
    duplicate: 0,
    fee_mismatch: 0,
    ...values,
  };
}

function block(values: {
  new?: number;
  resolved?: number;
  reclassified?: number;
  open: number;
  byAge: [number, number, number, number, number];
}): Record<string, unknown> {
  const [a, b, c, d, e] = values.byAge;
  return {
    new: values.new ?? 0,
    new_open: values.new ?? 0,
    resolved: values.resolved ?? 0,
    reclassified: values.reclassified ?? 0,
    pending: 0,
    open: values.open,
    open_by_age: { '0-1': a, '2-3': b, '4-7': c, '8-30': d, '31+': e },
    older_than_escalation: 0,
    escalate_days: 7,
  };
}
