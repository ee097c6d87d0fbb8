/**
 * Write benchmark of the embedded store (PGlite persisted on disk): how long storing N
 * discrepancy rows takes, by the route the project uses (COPY) and by batched multi-row INSERTs.
 * Issue 7 target: "The embedded default (PGlite, on disk) writes 1M discrepancy rows in ≤ 10 s;
 * measure both routes".
 *
 * Usage: `npm run build && node dist/scripts/bench-pglite-write.js --rows 1000000 [--dir /tmp/x]
 *        [--routes copy,insert] [--batch 1000,2978] [--seed 42]`. Without `--dir` the data
 *        directory is a fresh temp dir, deleted at the end; with it, `<dir>/pgdata` (and
 *        `<dir>/locks`) are used and kept (a later run on the same dir adds to the table).
 *
 * What it does:
 * 1. Generates N seeded synthetic `Discrepancy` objects (every kind, at the benchmark's rates;
 *    USD, EUR, JPY, KWD; refunds; descriptions null or with commas, quotes, newlines, non-ASCII).
 * 2. Opens the store the way the app does: `createRunStore` with a `pglite` database config,
 *    which opens `PgliteDatabase` and applies `setup.sql` (`applySchema`, as `recon db init`).
 * 3. COPY route: `RunStore.startRun`, then `RunStore.completeRun` with a `RunOutcome` holding the
 *    N discrepancies (summary from `summarizeReconciliation`); times `completeRun` alone (CSV
 *    encoding + COPY through PGlite's `/dev/blob` + the run's updates, one transaction). `prep s`
 *    is the CSV encoding alone (`discrepancyRow` + `chunkCopyRows`), timed in a separate pass
 *    before; `db s` = wall − prep is the rest (Blob, PGlite, PostgreSQL).
 * 4. INSERT route, once per `--batch` size (rows per statement; at most 65535 parameters, i.e.
 *    2978 rows of 22 columns): a second run, then in ONE transaction (`withTransaction`) the same
 *    N rows as parameterized multi-row `INSERT … VALUES (…), (…)`. The values are exactly those
 *    COPY writes: the CSV that `completeRun` would COPY is captured from a `RunStore` on a stub
 *    database and decoded back (the column list and `discrepancyRow` are private to
 *    run-store.ts). `prep s` is that encoding and decoding, `db s` = wall − prep (statements,
 *    PGlite's parameter serialization, PostgreSQL). The run is then marked `failed`.
 * 5. Checks after each route that `count(*)` of the run's discrepancies is N, and that every
 *    INSERT run holds the same rows as the COPY run (order-independent hash of all columns but
 *    `id` and `run_id`). Prints wall seconds, rows/s, the process's peak RSS so far (monotonic:
 *    PGlite's WASM memory never shrinks) and the data directory's size (`du -sb`) per route, and
 *    one `SUMMARY {json}` line. Exits 1 when a check fails.
 *
 * Routes run in that order into the same table, so later ones write next to the earlier rows
 * (larger indexes, WAL); `--routes insert --batch 1000` measures one INSERT run on an empty table.
 * PGlite takes a few seconds and most of a GB of RSS just to start (reported as `open`).
 */
import { mkdtemp, lstat, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DatabaseConfig } from '../src/store/database-config';
import type { Discrepancy, DiscrepancyKind } from '../src/domain/discrepancy';
import type { CanonicalStatus, Transaction } from '../src/domain/transaction';
import { emptyOutcomeCounts, type MatchResult } from '../src/engine/match-transactions';
import { summarizeReconciliation } from '../src/engine/summarize';
import type { Database, SqlExecutor, SqlValue } from '../src/store/database';
import { createRunStore } from '../src/store/open-store';
import { RunStore, type RunOutcome } from '../src/store/run-store';
import { prng } from './seeded-random';
import { runScript, ScriptUsageError } from './script-cli';

const USAGE = `
Usage: npm run bench:pglite -- [options]

Times writing N discrepancy rows into embedded PGlite on disk, by COPY and by batched INSERTs.

Options:
  --rows N          discrepancy rows (default 1000000)
  --dir DIR         keep the data directory in DIR (default: a temp dir, deleted at the end)
  --routes R[,R]    copy, insert (default both)
  --batch N[,N...]  rows per INSERT statement (default 1000,2978)
  --seed N          seed of the generated rows (default 42)
  -h, --help        print this help
`;

const BUSINESS_DATE = '2025-09-30';
const DAY_START_MS = Date.UTC(2025, 8, 30);
const MAX_PARAMETERS = 65535;
const MIB = 1024 * 1024;

/** Discrepancy kinds (duplicates split by side) and their weights: the bench's rates. */
const KINDS = [
  'missing_in_internal',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'missing_in_processor',
  'duplicate_processor',
  'duplicate_internal',
] as const;
const KIND_WEIGHTS = [0.004, 0.004, 0.002, 0.003, 0.004, 0.0015, 0.0015];
const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD'] as const;
const CURRENCY_WEIGHTS = [0.6, 0.2, 0.12, 0.08];
const EXPONENTS = [2, 2, 0, 3];
const STATUSES: readonly CanonicalStatus[] = ['settled', 'pending', 'refunded', 'failed'];
const PROCESSOR_STATUS = ['succeeded', 'pending', 'refunded', 'failed'];
const INTERNAL_STATUS = ['posted', 'pending', 'reversed', 'failed'];
const STATUS_WEIGHTS = [0.85, 0.07, 0.05, 0.03];
const DESCRIPTIONS: readonly (string | null)[] = [
  null,
  null,
  null,
  'Order 100234',
  'Subscription, monthly plan',
  'Refund for "damaged" item, order 99812',
  'Invoice INV-2025-0930; net 30',
  'Café crème ×2 — Zürich',
  'Gift card top-up\nsecond line of the note',
  'Payout adjustment, ref "Q3"',
];
const MERCHANTS = Array.from({ length: 500 }, (_, i) => `acct_${String(i).padStart(4, '0')}`);

interface Args {
  rows: number;
  dir: string | null;
  routes: Set<'copy' | 'insert'>;
  batches: number[];
  seed: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    rows: 1_000_000,
    dir: null,
    routes: new Set(['copy', 'insert']),
    batches: [1000, 2978],
    seed: 42,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new ScriptUsageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--rows') args.rows = Number.parseInt(value().replace(/_/g, ''), 10);
    else if (flag === '--dir') args.dir = resolve(value());
    else if (flag === '--seed') args.seed = Number.parseInt(value(), 10);
    else if (flag === '--batch') {
      args.batches = value()
        .split(',')
        .map((size) => Number.parseInt(size, 10));
    } else if (flag === '--routes') {
      args.routes = new Set();
      for (const route of value().split(',')) {
        if (route !== 'copy' && route !== 'insert')
          throw new ScriptUsageError(`unknown route ${route}`);
        args.routes.add(route);
      }
    } else throw new ScriptUsageError(`unknown option ${flag}`);
  }
  if (!(args.rows >= 1)) throw new ScriptUsageError('--rows must be at least 1');
  if (args.batches.length === 0 || args.batches.some((size) => !(size >= 1)))
    throw new ScriptUsageError('--batch must be a list of positive row counts');
  return args;
}

function pick(weights: readonly number[], r: number): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += (weights[i] ?? 0) / total;
    if (r < acc) return i;
  }
  return weights.length - 1;
}

function transactionId(n: number): string {
  return `ch_${String(n).padStart(6, '0')}`;
}

/**
 * `rows` seeded discrepancies shaped like `matchTables` output, with a `MatchResult` around them
 * (matched pairs: 49 per discrepancy, so a 2% discrepancy rate).
 */
function generateMatch(rows: number, seed: number): MatchResult {
  const rand = prng(seed);
  const counts = emptyOutcomeCounts();
  const duplicates = { processor: 0, internal: 0 };
  const discrepancies: Discrepancy[] = [];
  let processorLine = 1;
  let internalLine = 1;
  const row = (
    side: 'processor' | 'internal',
    id: string,
    currency: number,
    amountMinor: bigint,
    status: number,
    createdAtMs: number,
    description: string | null,
  ): Transaction => ({
    transactionId: id,
    amountMinor,
    currency: CURRENCIES[currency] ?? 'USD',
    feeMinor: side === 'processor' ? (amountMinor < 0n ? 0n : (amountMinor * 29n) / 1000n) : null,
    status: STATUSES[status] ?? 'unknown',
    rawStatus: (side === 'processor' ? PROCESSOR_STATUS : INTERNAL_STATUS)[status] ?? '',
    merchantId: MERCHANTS[Math.floor(rand() * MERCHANTS.length)] ?? 'acct_0000',
    createdAtMs,
    description,
    line: side === 'processor' ? ++processorLine : ++internalLine,
  });
  for (let n = 1; n <= rows; n++) {
    const kind = KINDS[pick(KIND_WEIGHTS, rand())] ?? 'missing_in_internal';
    const currency = pick(CURRENCY_WEIGHTS, rand());
    const status = pick(STATUS_WEIGHTS, rand());
    const majorUnits = 1 + Math.floor(rand() * 4999);
    const fraction = Math.floor(rand() * 10 ** (EXPONENTS[currency] ?? 2));
    const magnitude =
      BigInt(majorUnits) * 10n ** BigInt(EXPONENTS[currency] ?? 2) + BigInt(fraction);
    const amountMinor = STATUSES[status] === 'refunded' ? -magnitude : magnitude;
    const createdAtMs = DAY_START_MS + Math.floor(rand() * 86_400_000);
    const description = DESCRIPTIONS[Math.floor(rand() * DESCRIPTIONS.length)] ?? null;
    const id = kind.startsWith('duplicate')
      ? transactionId(1 + Math.floor(rand() * n))
      : transactionId(n);
    const p = (c = currency, a = amountMinor, s = status): Transaction =>
      row('processor', id, c, a, s, createdAtMs, description);
    const i = (c = currency, a = amountMinor, s = status): Transaction =>
      row('internal', id, c, a, s, createdAtMs + 1000 * Math.floor(rand() * 120), description);
    const pair = (outcome: DiscrepancyKind, processor: Transaction, internal: Transaction) => {
      counts[outcome]++;
      discrepancies.push({
        kind: outcome,
        transactionId: id,
        side: 'both',
        processor,
        internal,
        differenceMinor:
          outcome === 'amount_mismatch' ? processor.amountMinor - internal.amountMinor : null,
      });
    };
    switch (kind) {
      case 'missing_in_internal':
        counts.missing_in_internal++;
        discrepancies.push({
          kind,
          transactionId: id,
          side: 'processor',
          processor: p(),
          internal: null,
          differenceMinor: null,
        });
        break;
      case 'missing_in_processor':
        counts.missing_in_processor++;
        discrepancies.push({
          kind,
          transactionId: id,
          side: 'internal',
          processor: null,
          internal: i(),
          differenceMinor: null,
        });
        break;
      case 'amount_mismatch': {
        const delta = BigInt(1 + Math.floor(rand() * 500)) * (rand() < 0.5 ? -1n : 1n);
        pair(kind, p(), i(currency, amountMinor - delta));
        break;
      }
      case 'currency_mismatch':
        pair(kind, p(), i((currency + 1 + Math.floor(rand() * 3)) % CURRENCIES.length));
        break;
      case 'status_mismatch':
        pair(kind, p(currency, magnitude, 0), i(currency, magnitude, 1 + Math.floor(rand() * 3)));
        break;
      case 'duplicate_processor':
      case 'duplicate_internal': {
        const side = kind === 'duplicate_processor' ? 'processor' : 'internal';
        duplicates[side]++;
        const extra = side === 'processor' ? p() : i();
        discrepancies.push({
          kind: 'duplicate',
          transactionId: id,
          side,
          processor: side === 'processor' ? extra : null,
          internal: side === 'internal' ? extra : null,
          differenceMinor: null,
        });
        break;
      }
    }
  }
  counts.duplicate = duplicates.processor + duplicates.internal;
  counts.matched = rows * 49;
  const pairs = counts.amount_mismatch + counts.currency_mismatch + counts.status_mismatch;
  return {
    processorTransactions:
      counts.matched + pairs + counts.missing_in_internal + duplicates.processor,
    internalTransactions:
      counts.matched + pairs + counts.missing_in_processor + duplicates.internal,
    counts,
    timing: 0,
    timingPairs: [],
    duplicates,
    discrepancies,
  };
}

/** The outcome `completeRun` stores; the summary's volumes come from a sample of the rows. */
function runOutcome(match: MatchResult): RunOutcome {
  const sample = match.discrepancies.slice(0, 1000);
  const processor = sample.flatMap((d) => (d.processor ? [d.processor] : []));
  const internal = sample.flatMap((d) => (d.internal ? [d.internal] : []));
  return {
    match,
    summary: summarizeReconciliation(match, processor, internal, 0),
    issues: [],
    invalidRows: 0,
    reportCsvPath: null,
    reportJsonPath: null,
  };
}

/**
 * The column list and CSV chunks `RunStore.completeRun(runId, outcome)` would COPY into
 * `discrepancies`, captured from a `RunStore` on a stub database whose `copyFrom` keeps its
 * arguments and aborts. `chunks` is the unstarted (lazy, single-use) generator: nothing has been
 * encoded yet.
 */
async function captureDiscrepancyCopy(
  runId: string,
  outcome: RunOutcome,
): Promise<{ columns: readonly string[]; chunks: Iterable<string | Uint8Array> }> {
  const stop = new Error('captured');
  let captured: { columns: readonly string[]; chunks: Iterable<string | Uint8Array> } | undefined;
  const stub: Database = {
    kind: 'pglite',
    description: 'capture stub',
    query: <Row extends object>(): Promise<Row[]> => Promise.reject(stop),
    copyFrom: (table, columns, chunks) => {
      // RunStore writes discrepancies from a synchronous generator.
      if (table === 'discrepancies' && Symbol.iterator in chunks) captured ??= { columns, chunks };
      return Promise.reject(stop);
    },
    withTransaction: <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => fn(stub),
    execScript: () => Promise.resolve(),
    tryLock: () => Promise.resolve(null),
    close: () => Promise.resolve(),
  };
  const store = new RunStore(
    () => Promise.resolve(stub),
    () => Promise.resolve(null),
  );
  await store.completeRun(runId, outcome).catch((error: unknown) => {
    if (error !== stop) throw error;
  });
  if (!captured) throw new Error('completeRun did not COPY into discrepancies');
  return captured;
}

const QUOTE = 34;
const COMMA = 44;
const NEWLINE = 10;

/**
 * Decodes rows written by `chunkCopyRows` (empty unquoted field: NULL; otherwise `"…"` with
 * `""` for a quote) and appends their values to `out`, `width` per row.
 */
function decodeCopyCsv(text: string, width: number, out: SqlValue[]): void {
  let at = 0;
  while (at < text.length) {
    for (let column = 0; column < width; column++) {
      if (text.charCodeAt(at) === QUOTE) {
        let value = '';
        let start = at + 1;
        for (;;) {
          const end = text.indexOf('"', start);
          if (end < 0) throw new Error(`unterminated quoted field at offset ${at}`);
          if (text.charCodeAt(end + 1) === QUOTE) {
            value += text.slice(start, end + 1);
            start = end + 2;
          } else {
            value += text.slice(start, end);
            at = end + 1;
            break;
          }
        }
        out.push(value);
      } else out.push(null);
      if (text.charCodeAt(at) !== (column === width - 1 ? NEWLINE : COMMA))
        throw new Error(`malformed COPY CSV at offset ${at}`);
      at++;
    }
  }
}

function insertSql(columns: readonly string[], rows: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * columns.length;
    tuples.push(`(${columns.map((_, c) => `$${base + c + 1}`).join(', ')})`);
  }
  return `INSERT INTO discrepancies (${columns.join(', ')}) VALUES ${tuples.join(', ')}`;
}

/**
 * Writes the captured rows with multi-row INSERTs of `batch` rows in one transaction. Returns
 * the wall seconds and the part of them spent capturing/decoding values (`prep`).
 */
async function insertRoute(
  db: Database,
  captured: { columns: readonly string[]; chunks: Iterable<string | Uint8Array> },
  batch: number,
): Promise<{ wall: number; prep: number; statements: number }> {
  const { columns, chunks } = captured;
  const width = columns.length;
  const statements = new Map<number, string>();
  let prep = 0;
  let count = 0;
  const insert = async (tx: SqlExecutor, values: SqlValue[]): Promise<void> => {
    const rows = values.length / width;
    let sql = statements.get(rows);
    if (sql === undefined) {
      sql = insertSql(columns, rows);
      statements.set(rows, sql);
    }
    await tx.query(sql, values);
    count++;
  };
  const start = performance.now();
  await db.withTransaction(async (tx) => {
    const iterator = chunks[Symbol.iterator]();
    let pending: SqlValue[] = [];
    const perStatement = batch * width;
    for (;;) {
      const t0 = performance.now();
      const next = iterator.next();
      if (!next.done) {
        const text =
          typeof next.value === 'string' ? next.value : Buffer.from(next.value).toString('utf8');
        decodeCopyCsv(text, width, pending);
      }
      prep += performance.now() - t0;
      let offset = 0;
      while (pending.length - offset >= perStatement || (next.done && offset < pending.length)) {
        await insert(tx, pending.slice(offset, offset + perStatement));
        offset += perStatement;
      }
      pending = pending.slice(offset);
      if (next.done) break;
    }
  });
  return { wall: (performance.now() - start) / 1000, prep: prep / 1000, statements: count };
}

async function countRows(db: Database, runId: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM discrepancies WHERE run_id = $1`,
    [runId],
  );
  return rows[0]?.n ?? -1;
}

/** Order-independent hash of a run's discrepancy rows, every stored column but `id`, `run_id`. */
async function fingerprint(
  db: Database,
  columns: readonly string[],
  runId: string,
): Promise<string> {
  const list = columns.filter((column) => column !== 'run_id').join(', ');
  const rows = await db.query<{ h: string | null }>(
    `SELECT sum(hashtext(ROW(${list})::text)::bigint)::text AS h
       FROM discrepancies WHERE run_id = $1`,
    [runId],
  );
  return rows[0]?.h ?? '';
}

/** Apparent size of everything under `path` in bytes (`du -sb`). */
async function diskUsage(path: string): Promise<number> {
  const stat = await lstat(path);
  if (!stat.isDirectory()) return stat.size;
  let total = stat.size;
  for (const entry of await readdir(path)) total += await diskUsage(join(path, entry));
  return total;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB → MiB
}

interface RouteResult {
  route: string;
  rows: number;
  wallS: number;
  rowsPerS: number;
  prepS: number;
  dbS: number;
  stored: number;
  peakRssMb: number;
  dataDirMb: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // The columns completeRun COPYs (22): each INSERT statement must fit in 65535 parameters.
  const tiny = runOutcome(generateMatch(1, args.seed));
  const { columns } = await captureDiscrepancyCopy('00000000-0000-0000-0000-000000000000', tiny);
  const maxBatch = Math.floor(MAX_PARAMETERS / columns.length);
  if (args.batches.some((size) => size > maxBatch))
    throw new Error(`--batch: at most ${maxBatch} rows per INSERT (${columns.length} columns)`);
  const base = args.dir ?? (await mkdtemp(join(tmpdir(), 'recon-pglite-bench-')));
  const dataDir = join(base, 'pgdata');
  const config: DatabaseConfig = {
    kind: 'pglite',
    settings: { dataDir, lockDir: join(base, 'locks'), dirLockWaitMs: 0 },
  };
  const results: RouteResult[] = [];
  const problems: string[] = [];
  const store = createRunStore(config);
  try {
    let t0 = performance.now();
    const match = generateMatch(args.rows, args.seed);
    const outcome = runOutcome(match);
    const generateS = (performance.now() - t0) / 1000;
    console.log(
      `generated ${args.rows} discrepancies in ${generateS.toFixed(2)} s ` +
        `(${JSON.stringify(match.counts)})`,
    );
    t0 = performance.now();
    const db = await store.database();
    const openS = (performance.now() - t0) / 1000;
    console.log(
      `open ${db.description} + schema: ${openS.toFixed(2)} s, ` +
        `peak RSS ${peakRssMb().toFixed(0)} MB, data dir ${((await diskUsage(dataDir)) / MIB).toFixed(1)} MB`,
    );
    const record = async (
      route: string,
      runId: string,
      wall: number,
      prep: number,
    ): Promise<void> => {
      const stored = await countRows(db, runId);
      if (stored !== args.rows)
        problems.push(`${route}: run ${runId} has ${stored} discrepancies, expected ${args.rows}`);
      results.push({
        route,
        rows: args.rows,
        wallS: wall,
        rowsPerS: args.rows / wall,
        prepS: prep,
        dbS: wall - prep,
        stored,
        peakRssMb: peakRssMb(),
        dataDirMb: (await diskUsage(dataDir)) / MIB,
      });
    };
    const start = (processor: string): Promise<string> =>
      store.startRun({
        businessDate: BUSINESS_DATE,
        processor,
        processorSource: 'synthetic',
        internalSource: 'synthetic',
        appVersion: 'bench-pglite-write',
      });

    let copyRunId: string | null = null;
    if (args.routes.has('copy')) {
      const lock = await store.lockRun(BUSINESS_DATE, 'bench_copy');
      try {
        copyRunId = await start('bench_copy');
        // A separate, untimed pass of what completeRun encodes: its share of the wall time.
        const captured = await captureDiscrepancyCopy(copyRunId, outcome);
        t0 = performance.now();
        let encodedBytes = 0;
        for (const chunk of captured.chunks) encodedBytes += chunk.length;
        const encodeS = (performance.now() - t0) / 1000;
        console.log(
          `COPY CSV: ${(encodedBytes / 1e6).toFixed(1)} M chars, encoded in ${encodeS.toFixed(2)} s`,
        );
        t0 = performance.now();
        await store.completeRun(copyRunId, outcome);
        await record('copy', copyRunId, (performance.now() - t0) / 1000, encodeS);
      } finally {
        await lock.release();
      }
    }
    if (args.routes.has('insert')) {
      for (const batch of args.batches) {
        const route = `insert×${batch}`;
        const runId = await start(`bench_insert_${batch}`);
        const captured = await captureDiscrepancyCopy(runId, outcome);
        const { wall, prep } = await insertRoute(db, captured, batch);
        await record(route, runId, wall, prep);
        await store.failRun(runId, 'bench-pglite-write: INSERT route, discrepancies only');
        if (copyRunId !== null) {
          const [expected, actual] = [
            await fingerprint(db, columns, copyRunId),
            await fingerprint(db, columns, runId),
          ];
          if (expected !== actual)
            problems.push(
              `${route}: rows differ from the COPY run's (hash ${actual} ≠ ${expected})`,
            );
        }
      }
    }

    const head = [
      'route',
      'rows',
      'wall s',
      'rows/s',
      'prep s',
      'db s',
      'peak RSS MB',
      'data dir MB',
    ];
    const table = [
      head,
      ...results.map((r) => [
        r.route,
        String(r.rows),
        r.wallS.toFixed(2),
        Math.round(r.rowsPerS).toLocaleString('en-US'),
        r.prepS.toFixed(2),
        r.dbS.toFixed(2),
        r.peakRssMb.toFixed(0),
        r.dataDirMb.toFixed(1),
      ]),
    ];
    const widths = head.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
    console.log(`\nPGlite on disk (${dataDir}), discrepancies written in one transaction`);
    for (const [index, r] of table.entries()) {
      console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
      if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
    }
    console.log(
      `SUMMARY ${JSON.stringify({
        rows: args.rows,
        seed: args.seed,
        generateS: Number(generateS.toFixed(3)),
        openS: Number(openS.toFixed(3)),
        routes: results.map((r) => ({
          ...r,
          wallS: Number(r.wallS.toFixed(3)),
          rowsPerS: Math.round(r.rowsPerS),
          prepS: Number(r.prepS.toFixed(3)),
          dbS: Number(r.dbS.toFixed(3)),
          peakRssMb: Math.round(r.peakRssMb),
          dataDirMb: Number(r.dataDirMb.toFixed(1)),
        })),
        ok: problems.length === 0,
      })}`,
    );
  } finally {
    await store.close();
    if (args.dir === null) await rm(base, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.log(`\nCHECK FAILED:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

runScript('bench:pglite', USAGE, process.argv.slice(2), main);
