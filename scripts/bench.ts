/**
 * Throughput benchmark of the reconciliation job on seeded synthetic data.
 *
 * Usage: `npm run bench -- --rows 1000000 [--runs 3] [--seed 42] [--no-e2e] [--no-phases]
 *        [--no-duckdb] [--regenerate] [--carry N] [--config FILE] [--unmatched P]`; `--config
 *        FILE` also times end-to-end dry runs with that rules file against the same runs without
 *        (`--unmatched 2`: 2% of each side unmatched by id, in pairs the tiers can pair); `--carry N` also times database runs on both
 *        engines with N open breaks of the day before carried in, against the same runs without; `--rows 100000,1000000` runs each size in a child bench
 *        and prints the slope (wall seconds per 1M rows per side, ours and DuckDB's). With `DATABASE_URL` (and optionally `DB_SCHEMA`) set, the database
 * phases and the end-to-end run with a PostgreSQL server are measured too (the schema must have
 * been initialised with `recon db init`); without it only the dry runs are measured.
 *
 * What it does:
 * 1. Generates (once per rows/seed; cached) `bench-data/{rows}-{seed}/processor.csv` and
 *    `internal.csv` in the canonical CSV format, rows shuffled, with every discrepancy class at a
 *    known rate (about 2% in total), a few currencies (USD, EUR, GBP, JPY, KWD), quoted
 *    descriptions with commas, quotes and embedded newlines (multi-line records), and a manifest
 *    of the expected counts and line numbers.
 * 2. Phases in-process (a fresh child process per repetition, so peak RSS is per run): parse each
 *    side (`CanonicalCsvSource.read`), match (`matchTables` + `checkAccounting`), summarize,
 *    write the reports, and store the run (`RunStore.completeRun`: COPY + updates, one
 *    transaction). Checks counts and line numbers against the manifest.
 * 3. End to end: spawns the built CLI (`bin/recon run … --json`) under `/usr/bin/time` for peak
 *    RSS, with `--dry-run` and (with `DATABASE_URL`) against the server; checks its counts.
 *
 * 4. DuckDB SQL baselines (`@duckdb/node-api`, dev dependency; see `duckdbChild`): child processes
 *    under /usr/bin/time classify the same files — the bench's baseline (all-VARCHAR `read_csv`,
 *    first row per id by `row_number()`, one full outer join) and the lean query of issue #16
 *    (explicit VARCHAR columns, `GROUP BY transaction_id` with `count(*)` and `any_value`, one
 *    full outer join); the bench checks their counts and that each (kind, transaction id, side)
 *    multiset equals our dry run's report, and prints `ours / DuckDB` for both with the issue #16
 *    targets (≤ 1.5× the bench's baseline, ≤ 2.5× the lean query; peak RSS ≤ 500 MB at 1M,
 *    ≤ 2.5 GB at 10M).
 * 5. `--plain`: the same data without quoted descriptions (no quote byte in the files, no
 *    multi-line records), in `bench-data/{rows}-{seed}-plain/`: the "plain canonical files" the
 *    lean query of issue #16 was measured on.
 *
 * Prints medians of the repetitions: wall seconds, rows/s (processor + ledger rows) and peak RSS.
 * Exits 1 when any count differs from what was generated or from DuckDB's discrepancies.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { loadConfig } from '../src/config/load-config';
import { STATUS_MAPS } from '../src/domain/status';
import type { TransactionTable } from '../src/domain/transaction-table';
import { loadRulesFile } from '../src/config/rules-file';
import {
  checkAccounting,
  MATCH_ENGINES,
  matchTables,
  type OutcomeCounts,
} from '../src/engine/match-transactions';
import { rulesFor } from '../src/engine/rules';
import { summarizeReconciliation } from '../src/engine/summarize';
import { writeReports } from '../src/reports/write-reports';
import { CanonicalCsvSource } from '../src/sources/canonical-csv-source';
import { createRunStore } from '../src/store/open-store';
import { removeCarried, seedCarried } from './bench-carry';
import { prng } from './seeded-random';
import { runScript, ScriptUsageError } from './script-cli';

const USAGE = `
Usage: npm run bench -- [options]

Times the reconciliation job on seeded synthetic data against a DuckDB SQL baseline.

Options:
  --rows N[,N...]  rows per side (default 100000; several sizes print the slope)
  --runs N         repetitions per measurement, medians reported (default 3)
  --seed N         seed of the generated data (default 42)
  --no-phases      skip the in-process phase timings
  --no-e2e         skip the end-to-end CLI runs
  --no-duckdb      skip the DuckDB baselines
  --plain          data without quoted descriptions (no quotes, no multi-line records)
  --regenerate     regenerate the cached data under bench-data/
  --carry N        also time end-to-end database runs (both engines) with N open breaks of the
                   day before carried into the run, against the same runs without (needs
                   DATABASE_URL); prints the growth (target ≤ 10%)
  --config FILE    also time end-to-end dry runs with this rules file (matching tiers),
                   interleaved with the same runs without; prints the growth (target ≤ 15%)
  --unmatched P    generate P% of each side's rows unmatched by id, in pairs that the rules
                   file's tiers can pair (same description; half of them 1 minor unit apart),
                   instead of 0.4% unpaired missing rows per side
  -h, --help       print this help

With DATABASE_URL set, the database phases and a run with PostgreSQL are measured too.
`;

const ROOT = resolve(__dirname, '..', '..');
const DATA_ROOT = join(ROOT, 'bench-data');
const BUSINESS_DATE = '2025-09-30';
/** The origin date of the breaks `--carry` seeds (the day before). */
const PREVIOUS_DATE = '2025-09-29';
const DAY_START_MS = Date.UTC(2025, 8, 30);
const GENERATOR_VERSION = 2;

/** Share of processor rows per discrepancy class (exact counts are `round(rows * rate)`). */
const RATES = {
  missing_in_internal: 0.004,
  amount_mismatch: 0.004,
  currency_mismatch: 0.002,
  status_mismatch: 0.003,
  missing_in_processor: 0.004,
  duplicate_processor: 0.0015,
  duplicate_internal: 0.0015,
} as const;

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'KWD'] as const;
const CURRENCY_WEIGHTS = [0.6, 0.2, 0.08, 0.07, 0.05];
const EXPONENTS = [2, 2, 2, 0, 3];
// Canonical statuses 0 settled, 1 pending, 2 refunded, 3 failed, in each side's vocabulary.
const PROCESSOR_STATUS = ['succeeded', 'pending', 'refunded', 'failed'];
const INTERNAL_STATUS = ['posted', 'pending', 'reversed', 'failed'];
const STATUS_WEIGHTS = [0.85, 0.07, 0.05, 0.03];
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';

interface Manifest {
  readonly version: number;
  readonly rows: number;
  readonly seed: number;
  readonly processorRows: number;
  readonly internalRows: number;
  readonly counts: OutcomeCounts;
  readonly processorLineSum: number;
  readonly internalLineSum: number;
  readonly multiLineRecords: number;
  /** Physical start lines of every row of an id involved in a discrepancy, per side. */
  readonly lines: Record<string, { p: number[]; i: number[] }>;
  /**
   * `--unmatched`: the unmatched pairs a tier on the description can pair, with equal amounts
   * (`exact`) and 1 minor unit apart (`variance`); absent without `--unmatched`.
   */
  readonly tierPairs?: { readonly exact: number; readonly variance: number };
}

interface Args {
  rows: number;
  /** `--rows 100000,1000000`: every size, each in a child bench (slope table at the end). */
  sizes: number[];
  runs: number;
  seed: number;
  phases: boolean;
  e2e: boolean;
  regenerate: boolean;
  worker: boolean;
  duckdb: boolean;
  duckdbChild: boolean;
  /** The DuckDB child runs the lean query (`--lean`). */
  lean: boolean;
  plain: boolean;
  dir: string;
  /** `--carry N`: open breaks carried into the end-to-end database runs (0 = not measured). */
  carry: number;
  /** `--config FILE`: a rules file for the tiers' end-to-end comparison (empty: not measured). */
  config: string;
  /** `--unmatched P`: percent of each side's rows unmatched by id, pairable by tiers (0: off). */
  unmatched: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    rows: 100_000,
    sizes: [],
    runs: 3,
    seed: 42,
    phases: true,
    e2e: true,
    regenerate: false,
    worker: false,
    duckdb: true,
    duckdbChild: false,
    lean: false,
    plain: false,
    dir: '',
    carry: 0,
    config: '',
    unmatched: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new ScriptUsageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--rows') {
      args.sizes = value()
        .split(',')
        .map((size) => Number.parseInt(size.replace(/_/g, ''), 10));
      args.rows = args.sizes[0] ?? NaN;
    } else if (flag === '--runs') args.runs = Number.parseInt(value(), 10);
    else if (flag === '--seed') args.seed = Number.parseInt(value(), 10);
    else if (flag === '--no-phases') args.phases = false;
    else if (flag === '--no-e2e') args.e2e = false;
    else if (flag === '--regenerate') args.regenerate = true;
    else if (flag === '--worker') args.worker = true;
    else if (flag === '--no-duckdb') args.duckdb = false;
    else if (flag === '--duckdb-child') args.duckdbChild = true;
    else if (flag === '--lean') args.lean = true;
    else if (flag === '--plain') args.plain = true;
    else if (flag === '--dir') args.dir = value();
    else if (flag === '--carry') args.carry = Number.parseInt(value(), 10);
    else if (flag === '--config') args.config = resolve(value());
    else if (flag === '--unmatched') args.unmatched = Number(value());
    else throw new ScriptUsageError(`unknown option ${flag}`);
  }
  if (!(args.rows >= 1000)) throw new ScriptUsageError('--rows must be at least 1000');
  if (!(args.runs >= 1)) throw new ScriptUsageError('--runs must be at least 1');
  if (!(args.carry >= 0)) throw new ScriptUsageError('--carry must be a number of breaks (≥ 0)');
  if (!(args.unmatched >= 0 && args.unmatched <= 20))
    throw new ScriptUsageError('--unmatched must be a percentage from 0 to 20');
  if (args.config && !existsSync(args.config))
    throw new ScriptUsageError(`--config ${args.config}: no such file`);
  args.dir ||= join(
    DATA_ROOT,
    `${args.rows}-${args.seed}${args.plain ? '-plain' : ''}${args.unmatched ? `-u${args.unmatched}` : ''}`,
  );
  return args;
}

function pick(weights: readonly number[], r: number): number {
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] ?? 0;
    if (r < acc) return i;
  }
  return weights.length - 1;
}

/** Integer minor units → major-unit decimal string (integer arithmetic on digits only). */
function major(minor: number, exponent: number): string {
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Buffered line writer (about 1 MB per write call). */
class FileWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private size = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length > 0) writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// Kinds of a distinct transaction id.
const NORMAL = 0;
const MISSING_IN_INTERNAL = 1;
const AMOUNT = 2;
const CURRENCY = 3;
const STATUS = 4;
const MISSING_IN_PROCESSOR = 5;

function shuffle(values: Uint32Array, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = values[i] ?? 0;
    values[i] = values[j] ?? 0;
    values[j] = t;
  }
}

/** Writes both CSV files and the manifest into `dir`; returns the manifest. */
function generate(
  rows: number,
  seed: number,
  dir: string,
  plain: boolean,
  unmatched = 0,
): Manifest {
  const random = prng(seed);
  const n = (rate: number): number => Math.round(rows * rate);
  // `--unmatched P`: as many ledger-only rows as processor-only rows, each the partner of one
  // (see `partnerOf`), so that the rules file's tiers can pair them.
  const kMii = unmatched > 0 ? n(unmatched / 100) : n(RATES.missing_in_internal);
  const kAmt = n(RATES.amount_mismatch);
  const kCur = n(RATES.currency_mismatch);
  const kSt = n(RATES.status_mismatch);
  const kMip = unmatched > 0 ? kMii : n(RATES.missing_in_processor);
  const kDupP = n(RATES.duplicate_processor);
  const kDupI = n(RATES.duplicate_internal);
  const processorIds = rows - kDupP; // distinct ids on the processor side
  const distinct = processorIds + kMip;
  const normal = processorIds - kMii - kAmt - kCur - kSt;

  // Per distinct id: kind and attributes. Ids 0..normal-1 are NORMAL, then the other kinds.
  const kind = new Uint8Array(distinct);
  let at = normal;
  for (const [k, count] of [
    [MISSING_IN_INTERNAL, kMii],
    [AMOUNT, kAmt],
    [CURRENCY, kCur],
    [STATUS, kSt],
    [MISSING_IN_PROCESSOR, kMip],
  ] as const) {
    kind.fill(k, at, at + count);
    at += count;
  }
  const currency = new Uint8Array(distinct);
  const status = new Uint8Array(distinct);
  const amount = new Int32Array(distinct);
  const delta = new Int32Array(distinct);
  const merchant = new Uint16Array(distinct);
  const created = new Uint32Array(distinct);
  const descriptionKind = new Uint8Array(distinct);
  for (let id = 0; id < distinct; id++) {
    const c = pick(CURRENCY_WEIGHTS, random());
    const s = pick(STATUS_WEIGHTS, random());
    currency[id] = c;
    status[id] = s;
    const scale = EXPONENTS[c] === 0 ? 100 : EXPONENTS[c] === 3 ? 10_000 : 1000;
    const minor = 1 + Math.floor(random() * 500 * scale);
    amount[id] = s === 2 ? -minor : minor;
    delta[id] = 1 + Math.floor(random() * 500);
    merchant[id] = Math.floor(random() * 2000);
    created[id] = Math.floor(random() * 86_400_000);
    const d = random();
    descriptionKind[id] = d < 0.0005 ? 3 : d < 0.01 ? 2 : d < 0.1 ? 0 : 1;
  }
  const miiFrom = normal;
  const mipFrom = distinct - kMip;
  /**
   * With `--unmatched`: the processor-only id a ledger-only id stands for (the ledger booked the
   * same payment under another id, with the same description and currency; every second one 1
   * minor unit more), or -1.
   */
  const partnerOf = (id: number): number =>
    unmatched > 0 && kind[id] === MISSING_IN_PROCESSOR ? miiFrom + (id - mipFrom) : -1;
  if (unmatched > 0) for (let id = miiFrom; id < miiFrom + kMii; id++) descriptionKind[id] = 1;
  const idText = (id: number): string =>
    `ch_${(((id + 1) * 2654435761) >>> 0).toString(36).padStart(7, '0')}${id.toString(36)}`;
  const description = (id: number): string => {
    switch (descriptionKind[id]) {
      case 0:
        return '';
      case 2:
        return plain ? `Order ${id} gift card` : `Order ${id}, "gift card"`;
      case 3:
        return plain ? `Order ${id} split shipment` : `Order ${id}\nsplit shipment, see ticket`;
      default:
        return `Order ${id}`;
    }
  };
  const row = (id: number, side: 'p' | 'i'): string => {
    const k = kind[id] ?? NORMAL;
    const partner = partnerOf(id);
    const from = partner >= 0 ? partner : id;
    let c = currency[from] ?? 0;
    let s = status[from] ?? 0;
    let minor = amount[from] ?? 0;
    if (partner >= 0 && (id - mipFrom) % 2 === 1) minor += minor < 0 ? -1 : 1;
    if (side === 'i') {
      if (k === AMOUNT) minor += delta[id] ?? 1;
      else if (k === CURRENCY) c = (c + 1 + ((delta[id] ?? 0) % 4)) % CURRENCIES.length;
      else if (k === STATUS) s = s === 0 ? 1 : 0;
    }
    const exponent = EXPONENTS[c] ?? 2;
    const fee = minor > 0 && id % 10 !== 0 ? major(Math.floor((minor * 29) / 1000), exponent) : '';
    const statusText = (side === 'p' ? PROCESSOR_STATUS : INTERNAL_STATUS)[s] ?? 'pending';
    return (
      `${idText(id)},${major(minor, exponent)},${CURRENCIES[c] ?? 'USD'},${statusText},` +
      `acct_${merchant[from] ?? 0},${new Date(DAY_START_MS + (created[from] ?? 0)).toISOString()},` +
      `${fee},${csvCell(description(from))}\n`
    );
  };

  // File rows: ids (plus extra rows of duplicated NORMAL ids), shuffled.
  const dupPFrom = 0;
  const dupIFrom = kDupP;
  const processorRows = new Uint32Array(rows);
  for (let id = 0; id < processorIds; id++) processorRows[id] = id;
  for (let j = 0; j < kDupP; j++) processorRows[processorIds + j] = dupPFrom + j;
  const internalCount = normal + kAmt + kCur + kSt + kMip + kDupI;
  const internalRows = new Uint32Array(internalCount);
  let w = 0;
  for (let id = 0; id < distinct; id++)
    if (kind[id] !== MISSING_IN_INTERNAL) internalRows[w++] = id;
  for (let j = 0; j < kDupI; j++) internalRows[w++] = dupIFrom + j;
  shuffle(processorRows, random);
  shuffle(internalRows, random);

  const tracked = (id: number): boolean =>
    kind[id] !== NORMAL || id < kDupP + kDupI; /* duplicated normal ids */
  const lines: Record<string, { p: number[]; i: number[] }> = {};
  let multiLineRecords = 0;
  const writeSide = (file: string, ids: Uint32Array, side: 'p' | 'i'): number => {
    const out = new FileWriter(join(dir, file));
    out.write(`${HEADER}\n`);
    let line = 2;
    let lineSum = 0;
    for (const id of ids) {
      const text = row(id, side);
      if (tracked(id)) {
        const entry = (lines[idText(id)] ??= { p: [], i: [] });
        entry[side].push(line);
      }
      lineSum += line;
      out.write(text);
      const extra = text.split('\n').length - 2;
      if (extra > 0) multiLineRecords++;
      line += 1 + extra;
    }
    out.close();
    return lineSum;
  };
  mkdirSync(dir, { recursive: true });
  const processorLineSum = writeSide('processor.csv', processorRows, 'p');
  const internalLineSum = writeSide('internal.csv', internalRows, 'i');
  const manifest: Manifest = {
    version: GENERATOR_VERSION,
    rows,
    seed,
    processorRows: rows,
    internalRows: internalCount,
    counts: {
      matched: normal,
      missing_in_internal: kMii,
      missing_in_processor: kMip,
      amount_mismatch: kAmt,
      currency_mismatch: kCur,
      status_mismatch: kSt,
      duplicate: kDupP + kDupI,
      fee_mismatch: 0,
    },
    processorLineSum,
    internalLineSum,
    multiLineRecords,
    lines,
    ...(unmatched > 0
      ? { tierPairs: { exact: Math.ceil(kMip / 2), variance: Math.floor(kMip / 2) } }
      : {}),
  };
  const out = new FileWriter(join(dir, 'manifest.json'));
  out.write(JSON.stringify(manifest));
  out.close();
  return manifest;
}

function loadOrGenerate(args: Args): Manifest {
  const path = join(args.dir, 'manifest.json');
  if (!args.regenerate && existsSync(path)) {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (manifest.version === GENERATOR_VERSION) return manifest;
  }
  const start = performance.now();
  const manifest = generate(args.rows, args.seed, args.dir, args.plain, args.unmatched);
  console.log(
    `generated ${manifest.processorRows} processor + ${manifest.internalRows} ledger rows ` +
      `(${manifest.multiLineRecords} multi-line records) in ${seconds(start)} s → ${args.dir}`,
  );
  return manifest;
}

function seconds(startMs: number): string {
  return ((performance.now() - startMs) / 1000).toFixed(2);
}

/** Differences between expected and found counts (empty when equal). */
function compareCounts(expected: OutcomeCounts, found: OutcomeCounts | null): string[] {
  if (!found) return ['no counts'];
  return (Object.keys(expected) as (keyof OutcomeCounts)[])
    .filter((key) => expected[key] !== found[key])
    .map((key) => `${key}: expected ${expected[key]}, found ${found[key]}`);
}

interface PhaseResult {
  readonly name: string;
  readonly seconds: number;
  readonly rows: number;
  /** Peak RSS of the process so far (MB), i.e. including every earlier phase. */
  readonly peakRssMb: number;
}

interface WorkerOutput {
  readonly phases: PhaseResult[];
  readonly problems: string[];
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** One in-process repetition of every phase; prints a `WorkerOutput` JSON line. */
async function worker(args: Args, manifest: Manifest): Promise<void> {
  const config = loadConfig(process.env);
  const withDb = config.database.kind === 'postgres';
  const phases: PhaseResult[] = [];
  const problems: string[] = [];
  const time = async <T>(name: string, rows: number, fn: () => Promise<T> | T): Promise<T> => {
    const start = performance.now();
    const result = await fn();
    phases.push({
      name,
      seconds: (performance.now() - start) / 1000,
      rows,
      peakRssMb: peakRssMb(),
    });
    return result;
  };
  const context = { businessDate: BUSINESS_DATE, timeZone: 'UTC' };
  const totalRows = manifest.processorRows + manifest.internalRows;
  const parseStart = performance.now();
  const processor = await time('parse processor', manifest.processorRows, () =>
    new CanonicalCsvSource('processor', join(args.dir, 'processor.csv')).read({
      ...context,
      statusMap: STATUS_MAPS.stripe,
    }),
  );
  const internal = await time('parse ledger', manifest.internalRows, () =>
    new CanonicalCsvSource('internal', join(args.dir, 'internal.csv')).read({
      ...context,
      statusMap: STATUS_MAPS.internal,
    }),
  );
  phases.push({
    name: 'parse (both sides)',
    seconds: (performance.now() - parseStart) / 1000,
    rows: totalRows,
    peakRssMb: peakRssMb(),
  });
  const match = await time('match', totalRows, () => {
    const result = matchTables(processor.table, internal.table);
    problems.push(...checkAccounting(result));
    return result;
  });
  if (args.config) {
    // The rules file's tiers on the rows the id join left unmatched (what `--config` adds).
    const own = rulesFor(loadRulesFile(args.config), 'stripe');
    const unmatched = match.counts.missing_in_internal + match.counts.missing_in_processor;
    const tiered = await time(`tiers (${unmatched} unmatched rows)`, unmatched, () =>
      MATCH_ENGINES.memory.applyRules(match, own, processor.table, 'UTC'),
    );
    problems.push(...checkAccounting(tiered).map((p) => `tiers: ${p}`));
    const expected = tieredCounts(manifest);
    if (expected)
      problems.push(...compareCounts(expected, tiered.counts).map((p) => `tiers: ${p}`));
  }
  const invalidRows = processor.invalidCount + internal.invalidCount;
  const summary = await time('summarize', totalRows, () =>
    summarizeReconciliation(match, processor.table, internal.table, invalidRows),
  );
  const issues = [...processor.issues, ...internal.issues];
  const reportContext = {
    runId: '00000000-0000-4000-8000-000000000000',
    businessDate: BUSINESS_DATE,
    processor: 'stripe',
    timeZone: 'UTC',
    generatedAt: new Date().toISOString(),
    appVersion: 'bench',
    dryRun: !withDb,
    sources: {
      processor: { location: processor.location, rows: processor.rowCount, invalidRows: 0 },
      internal: { location: internal.location, rows: internal.rowCount, invalidRows: 0 },
    },
  };
  const reportsDir = join(args.dir, 'reports-phases');
  await time('report write', match.discrepancies.length, () =>
    writeReports(reportsDir, reportContext, { match, summary, issues }),
  );
  if (withDb) {
    const store = createRunStore(config.database);
    try {
      const lock = await store.lockRun(BUSINESS_DATE, 'stripe');
      try {
        const runId = await store.startRun({
          businessDate: BUSINESS_DATE,
          processor: 'stripe',
          processorSource: processor.location,
          internalSource: internal.location,
          appVersion: 'bench',
        });
        await time('db write (COPY, one txn)', match.discrepancies.length + issues.length, () =>
          store.completeRun(runId, {
            match,
            summary,
            issues,
            invalidRows,
            reportCsvPath: null,
            reportJsonPath: null,
          }),
        );
      } finally {
        await lock.release();
      }
    } finally {
      await store.close();
    }
  }

  // Correctness: counts, invalid rows, every row's line (by sum) and the discrepancies' lines.
  problems.push(...compareCounts(manifest.counts, match.counts));
  if (processor.rowCount !== manifest.processorRows || internal.rowCount !== manifest.internalRows)
    problems.push(`row counts ${processor.rowCount}/${internal.rowCount} differ from generated`);
  if (invalidRows !== 0) problems.push(`${invalidRows} invalid rows`);
  const lineSum = (rows: TransactionTable): number => {
    let sum = 0;
    for (let row = 0; row < rows.length; row++) sum += rows.lineAt(row);
    return sum;
  };
  if (lineSum(processor.table) !== manifest.processorLineSum)
    problems.push('processor line numbers differ from generated');
  if (lineSum(internal.table) !== manifest.internalLineSum)
    problems.push('ledger line numbers differ from generated');
  let lineProblems = 0;
  for (const d of match.discrepancies) {
    const expected = manifest.lines[d.transactionId];
    for (const [row, lines] of [
      [d.processor, expected?.p],
      [d.internal, expected?.i],
    ] as const) {
      if (!row) continue;
      const want = d.kind === 'duplicate' ? Math.max(...(lines ?? [])) : lines?.[0];
      if (row.line !== want) lineProblems++;
    }
  }
  if (lineProblems > 0) problems.push(`${lineProblems} discrepancy rows with a wrong line`);
  const output: WorkerOutput = { phases, problems };
  console.log(JSON.stringify(output));
}

interface E2eResult {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly problems: string[];
}

/** Spawns the built CLI under /usr/bin/time; returns wall time, peak RSS and count problems. */
function runCli(
  args: Args,
  manifest: Manifest,
  dryRun: boolean,
  extra: readonly string[] = [],
  expected: OutcomeCounts | null = manifest.counts,
): E2eResult {
  const timeFile = join(args.dir, 'time.txt');
  const cli = [
    '-f',
    '%e %M',
    '-o',
    timeFile,
    process.execPath,
    join(ROOT, 'bin', 'recon'),
    'run',
    '--date',
    BUSINESS_DATE,
    '--processors',
    'stripe',
    '--processor-file',
    join(args.dir, 'processor.csv'),
    '--internal-file',
    join(args.dir, 'internal.csv'),
    '--json',
    ...(dryRun ? ['--dry-run'] : []),
    ...extra,
  ];
  const env = { ...process.env, LOG_LEVEL: 'warn', RECON_REPORTS_DIR: join(args.dir, 'reports') };
  const result = spawnSync('/usr/bin/time', cli, {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const problems: string[] = [];
  if (result.status !== 0)
    problems.push(`exit ${String(result.status)}: ${result.stderr.slice(0, 500)}`);
  const [wall = 'NaN', rssKb = 'NaN'] = readFileSync(timeFile, 'utf8')
    .trim()
    .split(/\s+/)
    .slice(-2);
  const json = result.stdout
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('{'));
  const parsed = json
    ? (JSON.parse(json) as {
        counts: OutcomeCounts | null;
        processor_transactions: number;
        internal_transactions: number;
      })
    : undefined;
  if (expected) problems.push(...compareCounts(expected, parsed?.counts ?? null));
  if (
    parsed &&
    (parsed.processor_transactions !== manifest.processorRows ||
      parsed.internal_transactions !== manifest.internalRows)
  )
    problems.push('transaction counts differ from generated');
  return { seconds: Number(wall), peakRssMb: Number(rssKb) / 1024, problems };
}

/** Where the DuckDB baseline writes its discrepancies (kind, transaction_id, side). */
const DUCKDB_OUTPUT = 'duckdb-discrepancies.csv';
/** Where the lean DuckDB query writes its discrepancies. */
const LEAN_OUTPUT = 'duckdb-lean-discrepancies.csv';

/** A SQL string literal. */
function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `VALUES` rows (raw status in lower case → canonical status) of a status map. */
function statusValues(map: Readonly<Record<string, string>>): string {
  return Object.entries(map)
    .map(([raw, status]) => `(${sqlText(raw)}, ${sqlText(status)})`)
    .join(', ');
}

/**
 * The DuckDB SQL baseline (child process): reads both CSV files, classifies with one full outer
 * join of the first row per id on each side (same precedence as `matchTransactions`: missing,
 * then currency, amount, status; two unknown statuses compared by raw text; every further row
 * of an id on a side is a duplicate), writes the discrepancies to CSV and prints the counts.
 * Amounts are compared as DECIMAL(18, 4): exact for every ISO 4217 exponent (0–4) below 10^14
 * major units (DECIMAL(38, 4) is exact further but its cast is ten times slower).
 */
async function duckdbChild(args: Args): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const start = performance.now();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  if (args.lean) {
    await connection.run(leanQuery(args));
    await printDuckdbCounts(connection, start);
    connection.closeSync();
    instance.closeSync();
    return;
  }
  const side = (name: string, file: string, map: Readonly<Record<string, string>>): string => `
    CREATE TABLE ${name}_raw AS SELECT * FROM read_csv(${sqlText(join(args.dir, file))},
      header = true, all_varchar = true, quote = '"', escape = '"');
    CREATE TABLE ${name}_map (k VARCHAR, s VARCHAR);
    INSERT INTO ${name}_map VALUES ${statusValues(map)};
    CREATE TABLE ${name} AS
      SELECT id, cur, amt, st, raw, row_number() OVER (PARTITION BY id ORDER BY r) AS rn FROM (
        SELECT t.rowid AS r, trim(t.transaction_id) AS id, upper(trim(t.currency)) AS cur,
          CAST(trim(t.amount) AS DECIMAL(18, 4)) AS amt, coalesce(m.s, 'unknown') AS st,
          lower(trim(t.status)) AS raw
        FROM ${name}_raw t LEFT JOIN ${name}_map m ON m.k = lower(trim(t.status)));`;
  await connection.run(
    side('p', 'processor.csv', STATUS_MAPS.stripe) +
      side('i', 'internal.csv', STATUS_MAPS.internal),
  );
  await connection.run(`
    CREATE TABLE res AS
      SELECT CASE
          WHEN i.id IS NULL THEN 'missing_in_internal'
          WHEN p.id IS NULL THEN 'missing_in_processor'
          WHEN p.cur <> i.cur THEN 'currency_mismatch'
          WHEN p.amt <> i.amt THEN 'amount_mismatch'
          WHEN p.st <> i.st OR (p.st = 'unknown' AND p.raw <> i.raw) THEN 'status_mismatch'
          ELSE 'matched' END AS kind,
        coalesce(p.id, i.id) AS transaction_id,
        CASE WHEN i.id IS NULL THEN 'processor' WHEN p.id IS NULL THEN 'internal' ELSE 'both' END
          AS side
      FROM (SELECT * FROM p WHERE rn = 1) p FULL OUTER JOIN (SELECT * FROM i WHERE rn = 1) i
        ON p.id = i.id
      UNION ALL SELECT 'duplicate', id, 'processor' FROM p WHERE rn > 1
      UNION ALL SELECT 'duplicate', id, 'internal' FROM i WHERE rn > 1;
    COPY (SELECT * FROM res WHERE kind <> 'matched')
      TO ${sqlText(join(args.dir, DUCKDB_OUTPUT))} (HEADER, DELIMITER ',');`);
  await printDuckdbCounts(connection, start);
  connection.closeSync();
  instance.closeSync();
}

/** Prints the counts per kind of table `res` and the seconds since `start` (one JSON line). */
async function printDuckdbCounts(
  connection: { runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }> },
  start: number,
): Promise<void> {
  const rows = (await connection.runAndReadAll('SELECT kind, count(*) FROM res GROUP BY kind'))
    .getRows()
    .map(([kind, count]) => [String(kind), Number(count)] as const);
  const seconds = (performance.now() - start) / 1000;
  const counts = Object.fromEntries(rows) as Partial<OutcomeCounts>;
  console.log(JSON.stringify({ seconds, counts: { ...emptyCounts(), ...counts } }));
}

/**
 * The lean DuckDB query of issue #16, as a user would write it: `read_csv` with explicit VARCHAR
 * columns, one row per id (`GROUP BY transaction_id` with `count(*)` and `any_value`), one
 * `FULL OUTER JOIN`, the same classification as the bench's baseline (statuses through the same
 * maps), the discrepancies copied to CSV (a duplicated id gives `count(*) - 1` duplicate rows).
 * `any_value` is exact here because the bench's duplicate rows are copies of the first row.
 */
function leanQuery(args: Args): string {
  const columns = HEADER.split(',')
    .map((name) => `${sqlText(name)}: 'VARCHAR'`)
    .join(', ');
  const side = (name: string, file: string): string => `
    ${name} AS (
      SELECT transaction_id AS id, count(*) AS n, any_value(currency) AS cur,
        any_value(CAST(amount AS DECIMAL(18, 4))) AS amt, any_value(lower(status)) AS raw
      FROM read_csv(${sqlText(join(args.dir, file))}, header = true, columns = {${columns}})
      GROUP BY transaction_id)`;
  return `
    CREATE TABLE res AS
      WITH ${side('p', 'processor.csv')}, ${side('i', 'internal.csv')},
        pm (k, s) AS (VALUES ${statusValues(STATUS_MAPS.stripe)}),
        im (k, s) AS (VALUES ${statusValues(STATUS_MAPS.internal)}),
        j AS (
          SELECT p.id AS pid, i.id AS iid, p.cur AS pcur, i.cur AS icur, p.amt AS pamt,
            i.amt AS iamt, p.raw AS praw, i.raw AS iraw, p.n AS pn, i.n AS i_n,
            coalesce(pm.s, 'unknown') AS pst, coalesce(im.s, 'unknown') AS ist
          FROM p FULL OUTER JOIN i ON p.id = i.id
            LEFT JOIN pm ON pm.k = p.raw LEFT JOIN im ON im.k = i.raw)
      SELECT CASE
          WHEN iid IS NULL THEN 'missing_in_internal'
          WHEN pid IS NULL THEN 'missing_in_processor'
          WHEN pcur <> icur THEN 'currency_mismatch'
          WHEN pamt <> iamt THEN 'amount_mismatch'
          WHEN pst <> ist OR (pst = 'unknown' AND praw <> iraw) THEN 'status_mismatch'
          ELSE 'matched' END AS kind,
        coalesce(pid, iid) AS transaction_id,
        CASE WHEN iid IS NULL THEN 'processor' WHEN pid IS NULL THEN 'internal' ELSE 'both' END
          AS side
      FROM j
      UNION ALL SELECT 'duplicate', pid, 'processor' FROM (SELECT pid, unnest(range(pn - 1)) FROM j WHERE pn > 1)
      UNION ALL SELECT 'duplicate', iid, 'internal' FROM (SELECT iid, unnest(range(i_n - 1)) FROM j WHERE i_n > 1);
    COPY (SELECT * FROM res WHERE kind <> 'matched')
      TO ${sqlText(join(args.dir, LEAN_OUTPUT))} (HEADER, DELIMITER ',');`;
}

function emptyCounts(): OutcomeCounts {
  return {
    matched: 0,
    missing_in_internal: 0,
    missing_in_processor: 0,
    amount_mismatch: 0,
    currency_mismatch: 0,
    status_mismatch: 0,
    duplicate: 0,
    fee_mismatch: 0,
  };
}

interface DuckdbResult extends E2eResult {
  /** Wall seconds of the SQL work inside the child (without process and library start-up). */
  readonly innerSeconds: number;
  readonly counts: OutcomeCounts | null;
}

/** Runs a DuckDB baseline (`lean`: the lean query) in a child process under /usr/bin/time. */
function runDuckdb(args: Args, manifest: Manifest, lean: boolean): DuckdbResult {
  const timeFile = join(args.dir, 'time-duckdb.txt');
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%e %M',
      '-o',
      timeFile,
      process.execPath,
      __filename,
      '--duckdb-child',
      '--rows',
      String(args.rows),
      '--seed',
      String(args.seed),
      '--dir',
      args.dir,
      ...(lean ? ['--lean'] : []),
    ],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const problems: string[] = [];
  if (result.status !== 0)
    problems.push(`duckdb exit ${String(result.status)}: ${result.stderr.slice(0, 500)}`);
  const [wall = 'NaN', rssKb = 'NaN'] = readFileSync(timeFile, 'utf8')
    .trim()
    .split(/\s+/)
    .slice(-2);
  const json = result.stdout
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('{'));
  const parsed = json ? (JSON.parse(json) as { seconds: number; counts: OutcomeCounts }) : null;
  problems.push(...compareCounts(manifest.counts, parsed?.counts ?? null));
  return {
    seconds: Number(wall),
    peakRssMb: Number(rssKb) / 1024,
    innerSeconds: parsed?.seconds ?? NaN,
    counts: parsed?.counts ?? null,
    problems,
  };
}

/** `kind,transaction_id,side` of every discrepancy in a CSV with those columns, sorted. */
function discrepancyKeys(path: string): string[] {
  const rows = parseCsv<Record<string, string>>(readFileSync(path), { columns: true });
  return rows.map((row) => `${row.kind},${row.transaction_id},${row.side}`).sort();
}

/** Differences between two sorted key lists (empty when equal as multisets). */
function compareKeys(ours: readonly string[], theirs: readonly string[]): string[] {
  const problems: string[] = [];
  let a = 0;
  let b = 0;
  while (a < ours.length || b < theirs.length) {
    const x = ours[a];
    const y = theirs[b];
    if (x === y) {
      a++;
      b++;
    } else if (y === undefined || (x !== undefined && x < y)) {
      problems.push(`only ours: ${x}`);
      a++;
    } else {
      problems.push(`only DuckDB: ${y}`);
      b++;
    }
  }
  return problems;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function rate(rows: number, secs: number): string {
  return secs > 0 ? Math.round(rows / secs).toLocaleString('en-US') : '-';
}

function printTable(title: string, rows: readonly (readonly string[])[]): void {
  const head = ['phase', 'wall s (median)', 'runs', 'rows', 'rows/s', 'peak RSS MB'];
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  console.log(`\n${title}`);
  for (const [index, r] of all.entries()) {
    console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  }
}

/** Runs the bench once per size (child processes, output passed through), then the slope. */
function benchSizes(args: Args): void {
  const rest: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rows' || argv[i] === '--dir') i++;
    else rest.push(argv[i] as string);
  }
  const summaries: {
    rows: number;
    dryRun: boolean;
    ours: number;
    duckdb: number;
    duckdbLean: number;
  }[] = [];
  for (const rows of args.sizes) {
    console.log(`\n=== ${rows} rows per side ===`);
    const result = spawnSync(process.execPath, [__filename, '--rows', String(rows), ...rest], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(result.stdout);
    if (result.status !== 0) process.exitCode = 1;
    for (const line of result.stdout.split('\n'))
      if (line.startsWith('SUMMARY ')) summaries.push(JSON.parse(line.slice(8)) as never);
  }
  console.log('\nSlope (end to end wall s; per 1M rows per side in brackets)');
  for (const s of summaries) {
    const per = (secs: number): string => ((secs * 1e6) / s.rows).toFixed(2);
    console.log(
      `${String(s.rows).padStart(9)} ${s.dryRun ? 'dry run   ' : 'PostgreSQL'}  ours ` +
        `${s.ours.toFixed(2)} s [${per(s.ours)}]  DuckDB ${s.duckdb.toFixed(2)} s ` +
        `[${per(s.duckdb)}]  ratio ${(s.ours / s.duckdb).toFixed(2)}×  lean DuckDB ` +
        `${s.duckdbLean.toFixed(2)} s [${per(s.duckdbLean)}]  ratio ` +
        `${(s.ours / s.duckdbLean).toFixed(2)}×`,
    );
  }
}

/**
 * `--carry N`: end-to-end database runs of D on both engines, each repetition once without
 * carried breaks (the seeded ones removed) and once with N open breaks of D − 1 carried
 * (interleaved, so machine load drifts into both alike); prints the medians and the growth.
 * Returns count problems.
 */
async function benchCarry(args: Args, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  const rows: string[][] = [];
  const totalRows = manifest.processorRows + manifest.internalRows;
  const summary: Record<string, unknown> = { rows: args.rows, carried: args.carry };
  for (const engine of ['memory', 'postgres'] as const) {
    const times: Record<'without' | 'with', E2eResult[]> = { without: [], with: [] };
    for (let run = 0; run < args.runs; run++) {
      for (const mode of ['without', 'with'] as const) {
        await removeCarried();
        if (mode === 'with') await seedCarried('stripe', PREVIOUS_DATE, args.carry);
        const result = runCli(args, manifest, false, ['--engine', engine]);
        times[mode].push(result);
        problems.push(
          ...result.problems.map((p) => `carry ${engine} ${mode} run ${run + 1}: ${p}`),
        );
      }
    }
    await removeCarried();
    const without = median(times.without.map((r) => r.seconds));
    const withCarry = median(times.with.map((r) => r.seconds));
    const growth = (100 * (withCarry - without)) / without;
    for (const mode of ['without', 'with'] as const) {
      rows.push([
        `--engine ${engine}, ${mode === 'with' ? `${args.carry} breaks carried` : 'nothing carried'}`,
        median(times[mode].map((r) => r.seconds)).toFixed(2),
        String(times[mode].length),
        String(totalRows),
        rate(totalRows, median(times[mode].map((r) => r.seconds))),
        median(times[mode].map((r) => r.peakRssMb)).toFixed(0),
      ]);
    }
    rows.push([`--engine ${engine}: growth`, `${growth.toFixed(1)}%`, '', '', '', '']);
    summary[engine] = {
      without,
      with: withCarry,
      growthPercent: growth,
      runsWithout: times.without.map((r) => r.seconds),
      runsWith: times.with.map((r) => r.seconds),
    };
  }
  printTable(
    `Carry-over: end to end with PostgreSQL, ${args.carry} open breaks of ${PREVIOUS_DATE} carried (target ≤ 10% growth)`,
    rows,
  );
  console.log(`CARRY ${JSON.stringify(summary)}`);
  return problems;
}

/**
 * The counts a dry run with the bench's rules file (`data/samples/rules/bench-tiers.yaml`: an
 * exact and a tolerance tier on the description) finds on `--unmatched` data: every generated
 * unmatched pair paired, half cleanly and half with a variance; `null` (not checked) on other
 * data, whose unpaired missing rows a tier may or may not pair by chance.
 */
function tieredCounts(manifest: Manifest): OutcomeCounts | null {
  const pairs = manifest.tierPairs;
  if (!pairs) return null;
  const paired = pairs.exact + pairs.variance;
  return {
    ...manifest.counts,
    matched: manifest.counts.matched + pairs.exact,
    missing_in_internal: manifest.counts.missing_in_internal - paired,
    missing_in_processor: manifest.counts.missing_in_processor - paired,
    matched_with_variance: pairs.variance,
    ambiguous: 0,
  };
}

/**
 * `--config FILE`: end-to-end dry runs (memory engine) without and with the rules file,
 * interleaved so that machine load drifts into both alike; prints the medians and the growth
 * (issue #14 target: ≤ 15%). Returns count problems.
 */
function benchRules(args: Args, manifest: Manifest): string[] {
  const problems: string[] = [];
  const totalRows = manifest.processorRows + manifest.internalRows;
  const times: Record<'without' | 'with', E2eResult[]> = { without: [], with: [] };
  for (let run = 0; run < args.runs; run++) {
    for (const mode of ['without', 'with'] as const) {
      const result =
        mode === 'with'
          ? runCli(args, manifest, true, ['--config', args.config], tieredCounts(manifest))
          : runCli(args, manifest, true);
      times[mode].push(result);
      problems.push(...result.problems.map((p) => `rules ${mode} run ${run + 1}: ${p}`));
    }
  }
  const without = median(times.without.map((r) => r.seconds));
  const withRules = median(times.with.map((r) => r.seconds));
  const growth = (100 * (withRules - without)) / without;
  const unmatched = manifest.counts.missing_in_internal + manifest.counts.missing_in_processor;
  printTable(
    `Matching tiers: end to end --dry-run, memory engine, ${unmatched} rows unmatched after the id join (${((100 * unmatched) / totalRows).toFixed(2)}% of both sides), without and with --config ${args.config} (target ≤ 15% growth)`,
    [
      ...(['without', 'with'] as const).map((mode) => [
        mode === 'with' ? 'with the rules file' : 'without a rules file',
        median(times[mode].map((r) => r.seconds)).toFixed(2),
        String(times[mode].length),
        String(totalRows),
        rate(totalRows, median(times[mode].map((r) => r.seconds))),
        median(times[mode].map((r) => r.peakRssMb)).toFixed(0),
      ]),
      ['growth', `${growth.toFixed(1)}%`, '', '', '', ''],
    ],
  );
  console.log(
    `RULES ${JSON.stringify({
      rows: args.rows,
      config: args.config,
      unmatched,
      without,
      with: withRules,
      growthPercent: growth,
      runsWithout: times.without.map((r) => r.seconds),
      runsWith: times.with.map((r) => r.seconds),
      checked: manifest.tierPairs !== undefined,
    })}`,
  );
  return problems;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.sizes.length > 1) {
    benchSizes(args);
    return;
  }
  const manifest = loadOrGenerate(args);
  if (args.worker) {
    await worker(args, manifest);
    return;
  }
  if (args.duckdbChild) {
    await duckdbChild(args);
    return;
  }
  const totalRows = manifest.processorRows + manifest.internalRows;
  const withDb = loadConfig(process.env).database.kind === 'postgres';
  const discrepancies = Object.entries(manifest.counts)
    .filter(([key]) => key !== 'matched')
    .reduce((sum, [, count]) => sum + count, 0);
  console.log(
    `rows: ${manifest.processorRows} processor + ${manifest.internalRows} ledger; ` +
      `${discrepancies} discrepancies expected (${((100 * discrepancies) / manifest.rows).toFixed(2)}%); ` +
      `database: ${withDb ? 'PostgreSQL server (DATABASE_URL)' : 'none (set DATABASE_URL for DB phases)'}; ` +
      `runs: ${args.runs}`,
  );
  const problems: string[] = [];

  if (args.phases) {
    const outputs: WorkerOutput[] = [];
    for (let run = 0; run < args.runs; run++) {
      const result = spawnSync(
        process.execPath,
        [
          __filename,
          '--worker',
          '--rows',
          String(args.rows),
          '--seed',
          String(args.seed),
          '--dir',
          args.dir,
          ...(args.config ? ['--config', args.config] : []),
        ],
        { encoding: 'utf8', maxBuffer: 1 << 26, env: process.env },
      );
      const line = result.stdout
        .split('\n')
        .reverse()
        .find((text) => text.startsWith('{'));
      if (result.status !== 0 || !line) {
        problems.push(`phase worker failed: ${result.stderr.slice(0, 1000)}`);
        break;
      }
      const output = JSON.parse(line) as WorkerOutput;
      outputs.push(output);
      problems.push(...output.problems.map((p) => `in-process run ${run + 1}: ${p}`));
    }
    if (outputs.length > 0) {
      const names = outputs[0]?.phases.map((phase) => phase.name) ?? [];
      printTable(
        'In-process phases (peak RSS = process peak so far, phases run in this order)',
        names.map((name) => {
          const runs = outputs.map((o) => o.phases.find((phase) => phase.name === name));
          const secs = median(runs.map((phase) => phase?.seconds ?? NaN));
          const rows = runs[0]?.rows ?? 0;
          return [
            name,
            secs.toFixed(3),
            String(runs.length),
            String(rows),
            rate(rows, secs),
            median(runs.map((phase) => phase?.peakRssMb ?? NaN)).toFixed(0),
          ];
        }),
      );
    }
  }

  const e2eMedians = new Map<boolean, { seconds: number; peakRssMb: number }>();
  if (args.e2e) {
    const modes = withDb ? [true, false] : [true];
    const rows: string[][] = [];
    for (const dryRun of modes) {
      const results: E2eResult[] = [];
      for (let run = 0; run < args.runs; run++) {
        const result = runCli(args, manifest, dryRun);
        results.push(result);
        problems.push(
          ...result.problems.map((p) => `e2e ${dryRun ? 'dry' : 'db'} run ${run + 1}: ${p}`),
        );
      }
      const secs = median(results.map((r) => r.seconds));
      // A failed run has no meaningful time: no ratio for that mode (the problems are listed).
      if (results.every((r) => !r.problems.some((p) => p.startsWith('exit '))))
        e2eMedians.set(dryRun, {
          seconds: secs,
          peakRssMb: median(results.map((r) => r.peakRssMb)),
        });
      rows.push([
        dryRun ? 'end to end, --dry-run' : 'end to end, PostgreSQL',
        secs.toFixed(2),
        String(results.length),
        String(totalRows),
        rate(totalRows, secs),
        median(results.map((r) => r.peakRssMb)).toFixed(0),
      ]);
    }
    printTable('End to end (built CLI: node bin/recon run … --json; /usr/bin/time)', rows);
  }

  if (args.config) problems.push(...benchRules(args, manifest));

  if (args.carry > 0) {
    if (!withDb) problems.push('--carry needs DATABASE_URL: carry-over not measured');
    else problems.push(...(await benchCarry(args, manifest)));
  }

  if (args.duckdb) {
    const baselines = [
      { lean: false, name: "DuckDB (bench's baseline)", output: DUCKDB_OUTPUT, target: 1.5 },
      { lean: true, name: 'DuckDB (lean query)', output: LEAN_OUTPUT, target: 2.5 },
    ] as const;
    const results = new Map<boolean, DuckdbResult[]>(baselines.map((b) => [b.lean, []]));
    // Interleaved, so that both baselines see the same machine load.
    for (let run = 0; run < args.runs; run++) {
      for (const { lean, name } of baselines) {
        const result = runDuckdb(args, manifest, lean);
        results.get(lean)?.push(result);
        problems.push(...result.problems.map((p) => `${name} run ${run + 1}: ${p}`));
      }
    }
    const medians = new Map(
      baselines.map(({ lean }) => {
        const runs = results.get(lean) ?? [];
        return [
          lean,
          {
            seconds: median(runs.map((r) => r.seconds)),
            rss: median(runs.map((r) => r.peakRssMb)),
            inner: median(runs.map((r) => r.innerSeconds)),
          },
        ] as const;
      }),
    );
    printTable(
      'DuckDB SQL baselines (same files; node + @duckdb/node-api; /usr/bin/time)',
      baselines.flatMap(({ lean, name }) => {
        const m = medians.get(lean);
        const n = String(results.get(lean)?.length ?? 0);
        return [
          [
            `${name}, end to end`,
            (m?.seconds ?? NaN).toFixed(2),
            n,
            String(totalRows),
            rate(totalRows, m?.seconds ?? NaN),
            (m?.rss ?? NaN).toFixed(0),
          ],
          [`${name}, SQL only`, (m?.inner ?? NaN).toFixed(2), n, String(totalRows), '', ''],
        ];
      }),
    );
    // Same discrepancies: the full multiset of (kind, id, side), ours from the dry run's report.
    const ourReport = join(
      args.dir,
      'reports',
      `stripe_${BUSINESS_DATE}`,
      `reconciliation_report_stripe_${BUSINESS_DATE}.csv`,
    );
    if (args.e2e && existsSync(ourReport)) {
      const ours = discrepancyKeys(ourReport);
      for (const { name, output } of baselines) {
        const diff = compareKeys(ours, discrepancyKeys(join(args.dir, output)));
        if (diff.length > 0)
          problems.push(
            `${diff.length} discrepancies differ from ${name}: ${diff.slice(0, 5).join('; ')}`,
          );
        else
          console.log(
            `\nsame discrepancies as ${name}: ${ours.length} (kind, transaction id, side)`,
          );
      }
    }
    const lines: string[] = [];
    const rssTarget = args.rows >= 5_000_000 ? 2560 : 500;
    for (const [dryRun, ours] of e2eMedians) {
      const ratios: Record<string, number> = {};
      for (const { lean, name, target } of baselines) {
        const duck = medians.get(lean)?.seconds ?? NaN;
        const ratio = ours.seconds / duck;
        ratios[lean ? 'lean' : 'bench'] = ratio;
        lines.push(
          `ours (${dryRun ? '--dry-run' : 'PostgreSQL'}) / ${name}: ${ratio.toFixed(2)}× ` +
            `(${ours.seconds.toFixed(2)} s / ${duck.toFixed(2)} s; target ≤ ${target}×: ` +
            `${ratio <= target ? 'met' : 'NOT met'})`,
        );
      }
      lines.push(
        `  peak RSS ${ours.peakRssMb.toFixed(0)} MB (target ≤ ${rssTarget} MB: ` +
          `${ours.peakRssMb <= rssTarget ? 'met' : 'NOT met'})`,
      );
      console.log(
        `SUMMARY ${JSON.stringify({
          rows: args.rows,
          plain: args.plain,
          dryRun,
          ours: ours.seconds,
          oursRssMb: ours.peakRssMb,
          duckdb: medians.get(false)?.seconds,
          duckdbRssMb: medians.get(false)?.rss,
          duckdbLean: medians.get(true)?.seconds,
          duckdbLeanRssMb: medians.get(true)?.rss,
          ratio: ratios.bench,
          ratioLean: ratios.lean,
        })}`,
      );
    }
    console.log(`\n${lines.join('\n')}`);
  }

  if (problems.length > 0) {
    console.log(`\nCOUNT CHECK FAILED:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(
      '\ncount check: found counts, row counts and line numbers equal the generated ones',
    );
  }
}

runScript('bench', USAGE, process.argv.slice(2), main);
