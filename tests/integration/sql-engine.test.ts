import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import type { DatabaseConfig } from '../../src/store/database-config';
import type { Logger } from '../../src/config/logger';
import type { CanonicalStatus, Transaction } from '../../src/domain/transaction';
import { UsageError } from '../../src/domain/errors';
import { matchTransactions, type MatchResult } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import { reconcileOne, runReconciliation, type RunRequest } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { tryFileLock } from '../../src/store/pglite-database';
import { RunStore, type RunOutcome } from '../../src/store/run-store';
import { STAGING_TABLES } from '../../src/store/sql-engine';
import { parseCutoff, type Cutoff } from '../../src/domain/cutoff';
import { TransactionTable } from '../../src/domain/transaction-table';
import { applySchema } from '../../src/store/schema';
import { PgliteDatabase } from '../../src/store/pglite-database';
import { testBackends } from '../helpers/databases';

const ROOT = resolve(__dirname, '..', '..');

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Currencies with exponents 2, 0 and 3; statuses including raw texts that are not in any map
// (`unknown`) and differ only by case or surrounding whitespace, the way JavaScript sees it
// (non-breaking space and U+2028 are whitespace for `trim`; `ẞ` lower-cases to `ß`).
const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD'] as const;
const STATUSES: readonly [CanonicalStatus, string][] = [
  ['settled', 'settled'],
  ['settled', 'succeeded'],
  ['pending', 'pending'],
  ['failed', 'failed'],
  ['refunded', 'refunded'],
  ['unknown', 'on_hold'],
  ['unknown', ' ON_HOLD\u00a0'],
  ['unknown', 'On_Hold\u2028'],
  ['unknown', 'STRAẞE'],
  ['unknown', 'straße'],
  ['unknown', 'İptal'],
  ['unknown', 'i̇ptal'],
  ['unknown', 'weird,"status"\n'],
];
const TEXTS = [null, '', 'Order 1', 'comma, "quote"', 'new\nline', '\\N', 'NULL', 'Ω≈ç√', ' '];

let line = 1;

function transaction(
  id: string,
  random: () => number,
  overrides: Partial<Transaction> = {},
): Transaction {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const [status, rawStatus] = pick(STATUSES);
  line++;
  return {
    transactionId: id,
    amountMinor: BigInt(Math.floor(random() * 2_000_001) - 200_000),
    currency: pick(CURRENCIES),
    feeMinor: random() < 0.3 ? null : BigInt(Math.floor(random() * 500)),
    status,
    rawStatus,
    merchantId: pick(['acct_1', 'acct,2', 'acct "3"', '']),
    createdAtMs: Date.parse('2025-09-30T00:00:00Z') + Math.floor(random() * 86_400_000),
    description: pick(TEXTS),
    line,
    ...overrides,
  };
}

/**
 * Two sides with every outcome class, mixed in random order: matched pairs, rows on one side
 * only, currency / amount / (canonical and raw-text) status mismatches, duplicates on both sides
 * (of matched ids, of one-sided ids and of mismatched ids), ids differing only by case or
 * whitespace (different ids: the join is exact).
 */
function generateSides(
  seed: number,
  ids: number,
): { processor: Transaction[]; internal: Transaction[] } {
  const random = prng(seed);
  const processor: Transaction[] = [];
  const internal: Transaction[] = [];
  for (let n = 0; n < ids; n++) {
    const id = random() < 0.05 ? `TX_${n % 7} ` : `tx_${seed}_${n}`;
    const p = transaction(id, random);
    const roll = random();
    if (roll < 0.45) {
      processor.push(p);
      internal.push({ ...p, line: ++line, rawStatus: random() < 0.5 ? p.rawStatus : 'settled' });
    } else if (roll < 0.55) {
      processor.push(p);
    } else if (roll < 0.65) {
      internal.push(p);
    } else if (roll < 0.72) {
      processor.push(p);
      internal.push({ ...p, line: ++line, currency: p.currency === 'USD' ? 'EUR' : 'USD' });
    } else if (roll < 0.79) {
      processor.push(p);
      internal.push({ ...p, line: ++line, amountMinor: p.amountMinor + BigInt(n % 5) - 2n });
    } else if (roll < 0.9) {
      processor.push(p);
      internal.push(transaction(id, random, { currency: p.currency, amountMinor: p.amountMinor }));
    } else {
      processor.push(p);
      internal.push(transaction(id, random));
    }
    // Extra rows of an id already seen, on either side, sometimes several.
    while (random() < 0.12) {
      const target = random() < 0.5 ? processor : internal;
      target.push(transaction(id, random, random() < 0.5 ? { amountMinor: p.amountMinor } : {}));
    }
  }
  // Shuffle each side (Fisher–Yates) so duplicates come before or after their first row's partner.
  for (const side of [processor, internal]) {
    for (let k = side.length - 1; k > 0; k--) {
      const j = Math.floor(random() * (k + 1));
      [side[k], side[j]] = [side[j] as Transaction, side[k] as Transaction];
    }
  }
  return { processor, internal };
}

const logger = {
  child: () => logger,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

describe.each(testBackends())('postgres engine on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;
  let day = 0;

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

  const start = () =>
    store.startRun({
      businessDate: `2024-01-${String((day++ % 28) + 1).padStart(2, '0')}`,
      processor: 'stripe',
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });

  const outcomeOf = (
    match: MatchResult,
    processor: readonly Transaction[],
    internal: readonly Transaction[],
  ): RunOutcome => ({
    match,
    summary: summarizeReconciliation(match, processor, internal, 0),
    issues: [],
    invalidRows: 0,
    reportCsvPath: null,
    reportJsonPath: null,
  });

  /** Every stored discrepancy of a run, all columns but the ids, as sorted JSON texts. */
  const storedDiscrepancies = async (runId: string): Promise<string[]> =>
    (
      await db.query<{ row: string }>(
        `SELECT (to_jsonb(d) - 'id' - 'run_id')::text AS row FROM discrepancies d WHERE run_id = $1`,
        [runId],
      )
    )
      .map((r) => r.row)
      .sort();

  const storedCounts = async (runId: string): Promise<unknown> =>
    (
      await db.query(
        `SELECT processor_transaction_count, internal_transaction_count, matched_count,
                missing_transaction_count, missing_in_processor_count, amount_mismatch_count,
                currency_mismatch_count, status_mismatch_count, duplicate_count,
                discrepancy_count, discrepancy_amounts::text, discrepancy_rate::text, risk_level
           FROM reconciliation_runs WHERE id = $1`,
        [runId],
      )
    )[0];

  const stagedRows = async (): Promise<number> => {
    const rows = await db.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM ${STAGING_TABLES.processor}) +
               (SELECT count(*) FROM ${STAGING_TABLES.internal}))::int AS n`,
    );
    return rows[0]?.n ?? -1;
  };

  /**
   * Runs both engines through the store and asserts identical results, stored rows and counts.
   * With `cutoffs`, both sides' rows are dated (clean pairs on two business dates are timing).
   */
  async function assertSameAsMemory(
    processor: readonly Transaction[],
    internal: readonly Transaction[],
    cutoffs?: { processor: Cutoff; internal: Cutoff },
  ): Promise<MatchResult> {
    const memory = matchTransactions(processor, internal, cutoffs);
    const memoryRun = await start();
    await store.completeRun(memoryRun, outcomeOf(memory, processor, internal));

    const sqlRun = await start();
    const tables = {
      processor: TransactionTable.fromTransactions(processor),
      internal: TransactionTable.fromTransactions(internal),
    };
    tables.processor.setCutoff(cutoffs?.processor ?? null);
    tables.internal.setCutoff(cutoffs?.internal ?? null);
    const stored = await store.completeRunInDatabase(sqlRun, tables, (match) =>
      outcomeOf(match, processor, internal),
    );
    // Same counts, same discrepancies (kinds, ids, sides, rows, differences), same order.
    expect(stored.match).toEqual(memory);
    expect(await storedDiscrepancies(sqlRun)).toEqual(await storedDiscrepancies(memoryRun));
    expect(await storedCounts(sqlRun)).toEqual(await storedCounts(memoryRun));
    expect(await stagedRows()).toBe(0);

    // The streamed path: each side staged in tables of a few rows (duplicates of an id fall in
    // different tables), the discrepancies rebuilt from the staged columns.
    const streamedRun = await start();
    const streamed = await store.completeStreamedRunInDatabase(
      streamedRun,
      {
        processor: batchesOf(processor, cutoffs?.processor ?? null, 7),
        internal: batchesOf(internal, cutoffs?.internal ?? null, 11),
      },
      async (rows) => {
        expect(rows).toEqual({ processor: processor.length, internal: internal.length });
        expect(await stagedRows()).toBe(processor.length + internal.length);
      },
      ({ match, duplicatedIds }) => {
        expect(duplicatedIds).toEqual({
          processor: tables.processor.duplicatedIds,
          internal: tables.internal.duplicatedIds,
        });
        return outcomeOf(match, processor, internal);
      },
    );
    expect(streamed.match).toEqual(memory);
    expect(await storedDiscrepancies(streamedRun)).toEqual(await storedDiscrepancies(memoryRun));
    expect(await storedCounts(streamedRun)).toEqual(await storedCounts(memoryRun));
    expect(await stagedRows()).toBe(0);
    return memory;
  }

  /** `rows` as consecutive tables of 1 … `size` rows (varying), each with `cutoff`. */
  async function* batchesOf(
    rows: readonly Transaction[],
    cutoff: Cutoff | null,
    size: number,
  ): AsyncGenerator<TransactionTable> {
    for (let at = 0, n = 1; at < rows.length; at += n, n = (n % size) + 1) {
      const table = TransactionTable.fromTransactions(rows.slice(at, at + n));
      table.setCutoff(cutoff);
      await Promise.resolve();
      yield table;
    }
  }

  it('finds exactly the discrepancies of the memory engine on generated data with every class', async () => {
    const { processor, internal } = generateSides(42, 4000);
    const memory = await assertSameAsMemory(processor, internal);
    // The data really has every class, duplicates on both sides and unknown statuses both ways.
    for (const count of Object.values(memory.counts)) expect(count).toBeGreaterThan(20);
    expect(memory.duplicates.processor).toBeGreaterThan(20);
    expect(memory.duplicates.internal).toBeGreaterThan(20);
    const unknownPairs = memory.discrepancies.filter(
      (d) => d.kind === 'status_mismatch' && d.processor?.status === 'unknown',
    );
    expect(unknownPairs.length).toBeGreaterThan(0);
  });

  it('agrees with the memory engine on random small inputs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.nat(40), async (seed, ids) => {
        const { processor, internal } = generateSides(seed, ids);
        await assertSameAsMemory(processor, internal);
      }),
      { numRuns: 15 },
    );
  });

  it('counts the same timing pairs and stores the same business dates under cut-offs', async () => {
    const { processor, internal } = generateSides(4242, 3000);
    // Square's 17:00 PT against a UTC-midnight ledger: rows of 2025-09-30 00:00–23:59 UTC fall on
    // Square's 09-30 or 10-01, so a large share of the clean pairs is timing.
    const cutoffs = {
      processor: parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE'),
      internal: parseCutoff('UTC 00:00', 'RECON_CUTOFF_LEDGER'),
    };
    const shifted = internal.map((row, index) =>
      index % 3 === 0 ? { ...row, createdAtMs: row.createdAtMs + 7 * 3_600_000 } : row,
    );
    const memory = await assertSameAsMemory(processor, shifted, cutoffs);
    expect(memory.timing).toBeGreaterThan(50);
    expect(memory.counts.matched).toBeGreaterThan(50);
    expect(new Set(memory.timingPairs.map((t) => t.lagDays))).toEqual(new Set([1]));
    const dated = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM discrepancies
        WHERE run_id IN (SELECT id FROM reconciliation_runs ORDER BY start_time DESC LIMIT 2)
          AND ((processor_line IS NOT NULL) <> (processor_business_date IS NOT NULL)
           OR (internal_line IS NOT NULL) <> (internal_business_date IS NOT NULL))`,
    );
    expect(dated).toEqual([{ n: 0 }]);
  });

  it('agrees with the memory engine under cut-offs on random small inputs (property)', async () => {
    const zones = [
      'UTC 00:00',
      'America/Los_Angeles 17:00',
      'Europe/Amsterdam 00:00',
      'Asia/Tokyo 09:30',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.nat(40),
        fc.constantFrom(...zones),
        fc.constantFrom(...zones),
        async (seed, ids, p, i) => {
          const { processor, internal } = generateSides(seed, ids);
          await assertSameAsMemory(processor, internal, {
            processor: parseCutoff(p, 'RECON_CUTOFF_STRIPE'),
            internal: parseCutoff(i, 'RECON_CUTOFF_LEDGER'),
          });
        },
      ),
      { numRuns: 10 },
    );
  });

  it('handles empty sides', async () => {
    const { processor } = generateSides(7, 30);
    await assertSameAsMemory([], []);
    await assertSameAsMemory(processor, []);
    await assertSameAsMemory([], processor);
  });

  it('stages the processor side whole before it reads the ledger side, and never reads the ledger side when the processor side fails', async () => {
    const { processor, internal } = generateSides(11, 60);
    const events: string[] = [];
    async function* traced(
      side: string,
      tables: AsyncIterable<TransactionTable>,
      failAfter?: number,
    ): AsyncGenerator<TransactionTable> {
      let n = 0;
      for await (const table of tables) {
        if (failAfter !== undefined && n === failAfter) throw new Error(`${side} file broken`);
        events.push(`${side} ${n++}`);
        yield table;
      }
      events.push(`${side} end`);
    }
    const runId = await start();
    await store.completeStreamedRunInDatabase(
      runId,
      {
        processor: traced('processor', batchesOf(processor, null, 30)),
        internal: traced('internal', batchesOf(internal, null, 30)),
      },
      () => Promise.resolve(),
      ({ match }) => outcomeOf(match, processor, internal),
    );
    const firstLedger = events.indexOf('internal 0');
    expect(events.indexOf('processor end')).toBeLessThan(firstLedger);
    expect(firstLedger).toBeGreaterThan(0);

    events.length = 0;
    const failing = await start();
    await expect(
      store.completeStreamedRunInDatabase(
        failing,
        {
          processor: traced('processor', batchesOf(processor, null, 30), 2),
          internal: traced('internal', batchesOf(internal, null, 30)),
        },
        () => Promise.resolve(),
        ({ match }) => outcomeOf(match, processor, internal),
      ),
    ).rejects.toThrow('processor file broken');
    expect(events).toEqual(['processor 0', 'processor 1']);
    expect(await stagedRows()).toBe(0);
    await store.failRun(failing, 'test');
  });

  it('rolls everything back, staging included, when the run cannot be concluded', async () => {
    const { processor, internal } = generateSides(9, 200);
    const runId = await start();
    await expect(
      store.completeRunInDatabase(runId, { processor, internal }, () => {
        throw new Error('summary failed');
      }),
    ).rejects.toThrow('summary failed');
    expect(await db.query(`SELECT 1 FROM discrepancies WHERE run_id = $1`, [runId])).toHaveLength(
      0,
    );
    expect(await db.query(`SELECT status FROM reconciliation_runs WHERE id = $1`, [runId])).toEqual(
      [{ status: 'running' }],
    );
    expect(await stagedRows()).toBe(0);
    await store.failRun(runId, 'test');
  });

  it('writes the same reports and run through the job as the memory engine', async () => {
    const request = (engine: 'memory' | 'postgres'): RunRequest => ({
      dates: ['2025-09-30'],
      processors: ['stripe', 'paypal'],
      timeZone: 'UTC',
      sources: {
        processorSource: 'csv',
        internalSource: 'csv',
        dataDir: join(ROOT, 'data/samples'),
      },
      reportsDir: mkdtempSync(join(tmpdir(), `recon-${engine}-`)),
      dryRun: false,
      maxInvalidRate: '0.5',
      appVersion: 'test',
      engine,
    });
    const jobDeps = {
      store,
      logger,
      now: () => Date.parse('2025-10-01T01:00:00Z'),
      apis: { http: DEFAULT_HTTP_SETTINGS },
    };
    const memory = await runReconciliation(jobDeps, request('memory'));
    const postgres = await runReconciliation(jobDeps, request('postgres'));
    expect(postgres.map((r) => r.status)).toEqual(['completed', 'completed']);
    for (const [index, sql] of postgres.entries()) {
      const mem = memory[index];
      if (!mem || !sql.reports || !mem.reports) throw new Error('missing run result');
      expect(sql.counts).toEqual(mem.counts);
      expect(sql.summary).toEqual(mem.summary);
      expect(sql.counts?.matched).toBeGreaterThan(0);
      // The report files differ only by the run ids they name (the breaks the memory engine's run
      // opened are first seen by it in both).
      const text = (path: string) =>
        readFileSync(path, 'utf8')
          .replaceAll(sql.runId ?? '?', 'RUN')
          .replaceAll(mem.runId ?? '?', 'RUN');
      expect(text(sql.reports.csv)).toEqual(text(mem.reports.csv));
      expect(text(sql.reports.json)).toEqual(text(mem.reports.json));
      expect(await storedDiscrepancies(sql.runId ?? '')).toEqual(
        await storedDiscrepancies(mem.runId ?? ''),
      );
    }
  });

  it('never mixes staging tables and run tables in one transaction (the order Citus needs)', async () => {
    // Every transaction of a postgres-engine run through the job, statement by statement.
    const transactions: string[][] = [];
    const recording: Database = {
      kind: db.kind,
      description: db.description,
      query: (sql, params) => db.query(sql, params),
      copyFrom: (table, columns, chunks) => db.copyFrom(table, columns, chunks),
      execScript: (sql) => db.execScript(sql),
      tryLock: (key) => db.tryLock(key),
      close: () => Promise.resolve(),
      withTransaction: (fn, options) =>
        db.withTransaction((tx) => {
          const statements: string[] = [];
          transactions.push(statements);
          return fn({
            query: (sql, params) => {
              statements.push(sql);
              return tx.query(sql, params);
            },
            copyFrom: (table, columns, chunks) => {
              statements.push(`COPY ${table}`);
              return tx.copyFrom(table, columns, chunks);
            },
          });
        }, options),
    };
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    const recordingStore = new RunStore(
      () => Promise.resolve(recording),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
    const [result] = await runReconciliation(
      {
        store: recordingStore,
        logger,
        now: () => Date.parse('2025-10-01T01:00:00Z'),
        apis: { http: DEFAULT_HTTP_SETTINGS },
      },
      {
        dates: ['2025-09-30'],
        processors: ['stripe'],
        timeZone: 'UTC',
        sources: {
          processorSource: 'csv',
          internalSource: 'csv',
          dataDir: join(ROOT, 'data/samples'),
        },
        reportsDir: mkdtempSync(join(tmpdir(), 'recon-citus-order-')),
        dryRun: false,
        maxInvalidRate: '0.5',
        appVersion: 'test',
        engine: 'postgres',
      },
    );
    expect(result?.status).toBe('completed');
    const touches = (statements: string[], pattern: RegExp) =>
      statements.some((sql) => pattern.test(sql));
    const staging = /recon_stage_/;
    const runTables =
      /\b(discrepancies|reconciliation_runs|audit_log|breaks|break_events|data_quality_checks|deliveries)\b/;
    const kinds = transactions.map((statements) =>
      touches(statements, staging) ? 'staging' : touches(statements, runTables) ? 'run' : 'other',
    );
    // The classification ran in a transaction of its own, before the run's final transaction.
    expect(kinds.filter((kind) => kind === 'staging')).toHaveLength(1);
    expect(kinds.lastIndexOf('run')).toBeGreaterThan(kinds.indexOf('staging'));
    const mixed = transactions.filter(
      (statements) => touches(statements, staging) && touches(statements, runTables),
    );
    expect(mixed).toEqual([]);
  });

  it('leaves no report file, final or temporary, when the memory engine run cannot be stored', async () => {
    const reportsDir = mkdtempSync(join(tmpdir(), 'recon-unstored-'));
    // The store fails after the report files have had time to be prepared.
    const failing = Object.create(store) as RunStore;
    failing.completeRun = async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      throw new Error('could not extend file: No space left on device');
    };
    const [result] = await runReconciliation(
      {
        store: failing,
        logger,
        now: () => Date.parse('2025-10-01T01:00:00Z'),
        apis: { http: DEFAULT_HTTP_SETTINGS },
      },
      {
        dates: ['2025-09-30'],
        processors: ['stripe'],
        timeZone: 'UTC',
        sources: {
          processorSource: 'csv',
          internalSource: 'csv',
          dataDir: join(ROOT, 'data/samples'),
        },
        reportsDir,
        dryRun: false,
        maxInvalidRate: '0.5',
        appVersion: 'test',
      },
    );
    expect(result?.status).toBe('failed');
    expect(String(result?.error)).toContain('No space left on device');
    expect(
      readdirSync(reportsDir, { recursive: true }).filter((f) => String(f).includes('.')),
    ).toEqual([]);
  });

  it('refuses a dry run', async () => {
    const request: RunRequest = {
      dates: ['2025-09-30'],
      processors: ['stripe'],
      timeZone: 'UTC',
      sources: { processorSource: 'csv', internalSource: 'csv', dataDir: join(ROOT, 'data') },
      reportsDir: tmpdir(),
      dryRun: true,
      maxInvalidRate: '0.01',
      appVersion: 'test',
      engine: 'postgres',
    };
    const jobDeps = { store, logger, now: () => 0, apis: { http: DEFAULT_HTTP_SETTINGS } };
    await expect(runReconciliation(jobDeps, request)).rejects.toBeInstanceOf(UsageError);
    const one = await reconcileOne(jobDeps, request, '2025-09-30', 'stripe');
    expect(one.status).toBe('failed');
    expect(one.error).toBeInstanceOf(UsageError);
  });
});

describe('schema upgrade from version 5 (business dates of discrepancy rows)', () => {
  it('db init adds the business-date columns, keeping the discrepancies and the staging rows shape', async () => {
    const [backend] = testBackends();
    if (!backend) throw new Error('no backend');
    const config = await backend.config();
    if (config.kind !== 'pglite') throw new Error('expected PGlite first');
    const db = await PgliteDatabase.open(config.settings);
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v5.sql'), 'utf8'));
      // The staging tables as schema 5 created them: without business_day.
      for (const table of [STAGING_TABLES.processor, STAGING_TABLES.internal]) {
        await db.query(
          `CREATE UNLOGGED TABLE ${table} (run_id uuid NOT NULL, ordinal integer NOT NULL,
             transaction_id text COLLATE "C" NOT NULL, amount_minor bigint NOT NULL,
             currency text NOT NULL, exponent smallint, status text NOT NULL,
             raw_status text NOT NULL, status_key text, merchant_id text,
             created_at_ms bigint NOT NULL, fee_minor bigint, description text,
             line integer NOT NULL)`,
        );
      }
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      await db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
         VALUES ($1, 'missing_in_internal', 'processor', 'old', 100, 1.00, 'USD')`,
        [run?.id ?? ''],
      );
      await applySchema(db);
      expect({
        version: await db.query(
          `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
        ),
        rows: await db.query(
          `SELECT transaction_id, processor_business_date, internal_business_date FROM discrepancies`,
        ),
        staging: await db.query(
          `SELECT attrelid::regclass::text AS table, format_type(atttypid, atttypmod) AS type
             FROM pg_attribute WHERE attname = 'business_day' AND attrelid IN ($1::regclass, $2::regclass)
            ORDER BY 1`,
          [STAGING_TABLES.internal, STAGING_TABLES.processor],
        ),
      }).toEqual({
        version: [{ value: '8' }],
        rows: [
          { transaction_id: 'old', processor_business_date: null, internal_business_date: null },
        ],
        staging: [
          { table: STAGING_TABLES.internal, type: 'integer' },
          { table: STAGING_TABLES.processor, type: 'integer' },
        ],
      });
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
