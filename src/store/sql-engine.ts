import type { BusinessDate } from '../domain/business-date';
import { currencyExponent } from '../domain/currency';
import type { Discrepancy, OutcomeClass } from '../domain/discrepancy';
import type { CanonicalStatus, Transaction, TransactionSide } from '../domain/transaction';
import { asTable, type TransactionRows, type TransactionTable } from '../domain/transaction-table';
import { dateOfEpochDay } from '../domain/cutoff';
import {
  emptyOutcomeCounts,
  type MatchResult,
  type TimingPair,
} from '../engine/match-transactions';
import { annotateBasisMismatch } from '../engine/fees';
import type { FeeRules } from '../engine/fee-rules';
import { formatMinor } from '../domain/money';
import {
  carryOver,
  isOneSided,
  type CarriedBreak,
  type CarryResult,
} from '../engine/break-lifecycle';
import { queryCarried } from './carried-breaks';
import { CopyCsvWriter, csvField } from './copy-csv';
import type { Database, SqlExecutor } from './database';
import { CompactDiscrepancies } from './compact-discrepancies';

/**
 * The `postgres` matching engine: both sides are COPYed into UNLOGGED staging tables and
 * classified by ONE SQL statement (a full outer join on `transaction_id`) that also inserts the
 * discrepancies into `discrepancies`. It implements exactly the rules of the memory engine
 * (`engine/match-transactions.ts`); `tests/integration/sql-engine.test.ts` checks that both give
 * identical results on generated data. Plain SQL keyed on `transaction_id`, so the staging tables
 * can be distributed and co-located with Citus: see `docs/postgres-engine.md`.
 */

/** Names of the two staging tables (one pair shared by all runs, rows keyed by `run_id`). */
export const STAGING_TABLES = {
  processor: 'recon_stage_processor',
  internal: 'recon_stage_internal',
} as const;

const STAGING_COLUMNS = [
  'run_id',
  'ordinal',
  'transaction_id',
  'amount_minor',
  'currency',
  'exponent',
  'status',
  'raw_status',
  'status_key',
  'merchant_id',
  'created_at_ms',
  'fee_minor',
  'description',
  'line',
  'business_day',
  'compare_minor',
  'net_minor',
  'reference',
  'payment_method',
] as const;

/**
 * One normalized row per input row. `ordinal`: 0-based position within its side (the index in the
 * source's array; the first row of an id wins, later ones are duplicates). `exponent`: the ISO
 * 4217 exponent of `currency` (NULL for an unknown code, which then fails only if the row becomes
 * a discrepancy, as in the memory engine). `status_key`: the raw status trimmed and lower-cased
 * the way JavaScript does it, only for `unknown` statuses (compared by raw text); computed here
 * rather than with SQL `lower()`/`btrim()`, whose results depend on the database's locale.
 * `created_at_ms`: epoch milliseconds (converted exactly, for discrepancies only).
 * `business_day`: the row's business date under its side's cut-off as an epoch day (days since
 * 1970-01-01, computed in JavaScript by `TransactionTable.businessDayAt`; NULL without a cut-off):
 * a clean pair whose two days differ is `timing`, as in the memory engine.
 * `compare_minor`: with fee rules of basis `net` only, the processor row's amount compared with
 * the ledger (its net: reported, else gross − fee, else gross; `TransactionTable.netAt`); NULL
 * otherwise, when `amount_minor` is compared.
 * `net_minor`, `reference`, `payment_method`: the row's reported net, canonical reference and
 * payment method (NULL when the source gave none), so that a streamed run can build the
 * `Transaction`s of its discrepancies from staging alone (`classifyStagedInDatabase`).
 * `transaction_id` is collated "C": equality is the same bytewise equality as in JavaScript under
 * any deterministic collation, and sorting by it (the window below) is several times faster.
 * UNLOGGED: no WAL; the rows live only inside the run's transaction.
 */
function stagingTableSql(table: string): string {
  return `CREATE UNLOGGED TABLE IF NOT EXISTS ${table} (
    run_id          uuid NOT NULL,
    ordinal         integer NOT NULL,
    transaction_id  text COLLATE "C" NOT NULL,
    amount_minor    bigint NOT NULL,
    currency        text NOT NULL,
    exponent        smallint,
    status          text NOT NULL,
    raw_status      text NOT NULL,
    status_key      text,
    merchant_id     text,
    created_at_ms   bigint NOT NULL,
    fee_minor       bigint,
    description     text,
    line            integer NOT NULL,
    business_day    integer,
    compare_minor   bigint,
    net_minor       bigint,
    reference       text,
    payment_method  text
  )`;
}

/** Columns added to the staging tables after their first version (`recon db init` adds them). */
const STAGING_ADDED_COLUMNS = [
  'business_day integer',
  'compare_minor bigint',
  'net_minor bigint',
  'reference text',
  'payment_method text',
];

/** The column added last (`ensureStagingTables` looks it up to see whether both tables are current). */
const NEWEST_STAGING_COLUMN = 'payment_method';

/**
 * Creates the staging tables when missing, in a short transaction of its own (serialized by an
 * advisory lock, so two processes creating them at once do not collide). `recon db init` creates
 * them (owned by the owner role, usable by the app role: see `roles.ts`), so a run does not need
 * CREATE on the schema; when they exist this only looks them up. Idempotent; on Citus the tables
 * already exist (created and distributed once, see the doc) and this is a no-op.
 */
export async function ensureStagingTables(db: Database): Promise<void> {
  const [present] = await db.query<{ ok: boolean }>(
    `SELECT count(*) = 2 AS ok FROM pg_attribute
      WHERE attrelid IN (to_regclass($1), to_regclass($2)) AND attname = $3
        AND NOT attisdropped`,
    [STAGING_TABLES.processor, STAGING_TABLES.internal, NEWEST_STAGING_COLUMN],
  );
  if (present?.ok === true) return;
  await db.withTransaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon_staging_ddl', 0))`);
    for (const table of [STAGING_TABLES.processor, STAGING_TABLES.internal]) {
      await tx.query(stagingTableSql(table));
      // Staging tables of an older version (schema 6 and before) lack the later columns.
      for (const column of STAGING_ADDED_COLUMNS)
        await tx.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column}`);
    }
  });
}

function exponentOf(currency: string, cache: Map<string, number | null>): number | null {
  let exponent = cache.get(currency);
  if (exponent === undefined) {
    try {
      exponent = currencyExponent(currency);
    } catch {
      exponent = null;
    }
    cache.set(currency, exponent);
  }
  return exponent;
}

/**
 * Yields COPY CSV chunks of about 1 MiB for one side, read straight from the table's columns:
 * ids and descriptions are copied as UTF-8 bytes, the fields of each currency, status and merchant
 * are encoded once per dictionary entry, numbers unquoted, text quoted only when needed
 * (`CopyCsvWriter`; backslashes are quoted too, so `\.` is never read as end-of-data). No
 * `Transaction` or string per row.
 */
function* stagingChunks(
  runId: string,
  rows: TransactionTable,
  netBasis: boolean,
  firstOrdinal = 0,
): Generator<Buffer> {
  const exponents = new Map<string, number | null>();
  // `currency,exponent` per currency; `status,raw_status,status_key` per status; merchant_id.
  const currencyFields = rows.currencies.map(
    (code) => `${csvField(code)},${exponentOf(code, exponents) ?? ''}`,
  );
  const statusFields = rows.statuses.map(
    (s) =>
      `${s.status},${csvField(s.raw)},${s.status === 'unknown' ? csvField(s.raw.trim().toLowerCase()) : ''}`,
  );
  const merchantFields = rows.merchants.map((m) => csvField(m));
  const out = new CopyCsvWriter();
  for (let ordinal = 0; ordinal < rows.length; ordinal++) {
    const id = rows.idBytesAt(ordinal);
    const description = rows.descriptionBytesAt(ordinal);
    const fee = rows.feeAt(ordinal);
    out
      .plain(runId)
      .plain(String(firstOrdinal + ordinal))
      .bytes(id, 0, id.length)
      .plain(rows.amountAt(ordinal).toString())
      .plain(currencyFields[rows.currencyIndexAt(ordinal)] as string)
      .plain(statusFields[rows.statusIndexAt(ordinal)] as string)
      .plain(merchantFields[rows.merchantIndexAt(ordinal)] as string)
      .plain(String(rows.createdAtMs(ordinal)));
    if (fee === null) out.null();
    else out.plain(fee.toString());
    if (description === null) out.null();
    else out.bytes(description, 0, description.length);
    out.plain(String(rows.lineAt(ordinal)));
    const day = rows.businessDayAt(ordinal);
    if (day === null) out.null();
    else out.plain(String(day));
    const net = netBasis ? rows.netAt(ordinal) : null;
    if (net === null) out.null();
    else out.plain(net.toString());
    const reportedNet = rows.reportedNetAt(ordinal);
    if (reportedNet === null) out.null();
    else out.plain(reportedNet.toString());
    out.plain(csvField(rows.referenceAt(ordinal))).plain(csvField(rows.paymentMethodAt(ordinal)));
    const chunk = out.endRow();
    if (chunk) yield chunk;
  }
  const rest = out.finish();
  if (rest) yield rest;
}

/** COPYs one side's rows into its staging table under `runId`. Returns the rows written. */
async function stageSide(
  tx: SqlExecutor,
  table: string,
  runId: string,
  rows: TransactionTable,
  netBasis = false,
): Promise<number> {
  const written = await tx.copyFrom(table, STAGING_COLUMNS, stagingChunks(runId, rows, netBasis));
  if (written !== rows.length) {
    throw new Error(`COPY staged ${written} rows into ${table}, expected ${rows.length}`);
  }
  return written;
}

/** The classification's CTEs `p`, `i` and `classified` (see `CLASSIFY_SQL` below). */
const CLASSIFIED_CTES = `
WITH p AS (
  SELECT s.*, row_number() OVER w - 1 AS slot
    FROM ${STAGING_TABLES.processor} s
   WHERE s.run_id = $1
  WINDOW w AS (PARTITION BY s.transaction_id ORDER BY s.ordinal)
), i AS (
  SELECT s.*, 1 - row_number() OVER w AS slot
    FROM ${STAGING_TABLES.internal} s
   WHERE s.run_id = $1
  WINDOW w AS (PARTITION BY s.transaction_id ORDER BY s.ordinal)
), classified AS (
  SELECT
    CASE
      WHEN i.ordinal IS NULL THEN CASE WHEN p.slot = 0 THEN 'missing_in_internal' ELSE 'duplicate' END
      WHEN p.ordinal IS NULL THEN CASE WHEN i.slot = 0 THEN 'missing_in_processor' ELSE 'duplicate' END
      WHEN p.currency <> i.currency THEN 'currency_mismatch'
      WHEN COALESCE(p.compare_minor, p.amount_minor) <> i.amount_minor THEN 'amount_mismatch'
      WHEN p.fee_minor <> i.fee_minor THEN 'fee_mismatch'
      WHEN p.status <> i.status THEN 'status_mismatch'
      WHEN p.status = 'unknown' AND p.status_key <> i.status_key THEN 'status_mismatch'
      WHEN p.business_day <> i.business_day THEN 'timing'
      ELSE 'matched'
    END AS kind,
    p.fee_minor AS p_fee_minor, i.fee_minor AS i_fee_minor,
    COALESCE(p.compare_minor, p.amount_minor) AS p_compare_minor,
    p.ordinal AS p_ordinal, i.ordinal AS i_ordinal, i.amount_minor AS i_amount_minor,
    p.slot AS p_slot, i.slot AS i_slot
  FROM p FULL JOIN i ON p.transaction_id = i.transaction_id AND p.slot = i.slot
`;

/**
 * The classification, in one statement. Each side gets a `slot` by `row_number()` within its id:
 * 0 for the first row (ordinal order), then 1, 2, … on the processor side and -1, -2, … on the
 * ledger side. The full outer join on (transaction_id, slot) therefore pairs exactly the first
 * rows of an id present on both sides; every later row comes out unpaired and is a `duplicate`.
 * Precedence as in the memory engine: currency, then amount, then fee (both present and
 * different: `fee_mismatch`; a NULL fee compares as unknown, i.e. not different), then canonical
 * status, then (both `unknown`) the normalized raw status; a clean pair whose rows'
 * `business_day`s differ is `timing`. The processor amount compared is `compare_minor` when
 * staged (fee rules of basis `net`), else the gross. The statement reads the staging tables only
 * and writes nothing: it returns the kind, ordinals and difference of each discrepancy and timing
 * pair, plus the matched count (the run's transaction writes the discrepancies, see
 * `RunStore.completeRunInDatabase`).
 */
const CLASSIFY_SQL = `${CLASSIFIED_CTES}), found AS (
  SELECT c.kind, c.p_ordinal, c.i_ordinal,
         CASE WHEN c.kind = 'amount_mismatch' THEN c.p_compare_minor - c.i_amount_minor
              WHEN c.kind = 'fee_mismatch' THEN c.p_fee_minor - c.i_fee_minor END
           AS difference_minor
    FROM classified c
   WHERE c.kind NOT IN ('matched', 'timing')
)
SELECT kind, p_ordinal, i_ordinal, difference_minor::text AS difference_minor, NULL AS n
  FROM found
UNION ALL
SELECT 'matched', NULL, NULL, NULL, count(*)::text FROM classified WHERE kind = 'matched'
UNION ALL
SELECT 'timing', p_ordinal, i_ordinal, NULL, NULL FROM classified WHERE kind = 'timing'`;

interface ClassifiedRow {
  kind: OutcomeClass | 'timing';
  p_ordinal: number | null;
  i_ordinal: number | null;
  difference_minor: string | null;
  n: string | null;
}

/** Sort key reproducing the memory engine's order: processor-file order, ledger-only, ledger duplicates. */
function orderKey(row: ClassifiedRow): [number, number] {
  if (row.p_ordinal !== null) return [0, row.p_ordinal];
  return [row.kind === 'duplicate' ? 2 : 1, row.i_ordinal ?? 0];
}

/**
 * Classifies `processor` against `internal` inside PostgreSQL, within the caller's transaction
 * `tx`: stages both sides, runs `CLASSIFY_SQL`, deletes the staged rows and returns the result in
 * the memory engine's shape and order, its `Discrepancy` rows built from the given tables (or
 * arrays). It touches the staging tables only, never a table of the run (`discrepancies`,
 * `reconciliation_runs`, …): on Citus, where the staging tables are distributed, `tx` is then a
 * transaction of distributed work only, and the run's own transaction (coordinator tables only)
 * follows it (see `RunStore.completeRunInDatabase` and docs/postgres-engine.md).
 * `ensureStagingTables` must have run before. `work_mem` is raised for this transaction only so
 * the hash join and window sorts stay in memory.
 * @throws Error when the staged row counts do not add up (a bug); database errors as translated
 *   by the `SqlExecutor` (see `store-errors.ts`).
 */
export async function classifyInDatabase(
  tx: SqlExecutor,
  runId: string,
  processorRows: TransactionRows,
  internalRows: TransactionRows,
  options: { workMem?: string; fees?: FeeRules } = {},
): Promise<MatchResult> {
  const processor = asTable(processorRows);
  const internal = asTable(internalRows);
  const netBasis = options.fees?.ledgerAmountBasis === 'net';
  await tx.query(`SELECT set_config('work_mem', $1, true)`, [options.workMem ?? '256MB']);
  await stageSide(tx, STAGING_TABLES.processor, runId, processor, netBasis);
  await stageSide(tx, STAGING_TABLES.internal, runId, internal);
  const rows = await tx.query<ClassifiedRow>(CLASSIFY_SQL, [runId]);
  await tx.query(`DELETE FROM ${STAGING_TABLES.processor} WHERE run_id = $1`, [runId]);
  await tx.query(`DELETE FROM ${STAGING_TABLES.internal} WHERE run_id = $1`, [runId]);

  const counts = emptyOutcomeCounts();
  const duplicates = { processor: 0, internal: 0 };
  const breaks: ClassifiedRow[] = [];
  const timingRows: { p: number; i: number }[] = [];
  for (const row of rows) {
    if (row.kind === 'matched') counts.matched = Number(row.n);
    else if (row.kind === 'timing') {
      if (row.p_ordinal === null || row.i_ordinal === null)
        throw new Error('the SQL engine returned a timing pair without both rows');
      timingRows.push({ p: row.p_ordinal, i: row.i_ordinal });
    } else breaks.push(row);
  }
  timingRows.sort((a, b) => a.p - b.p);
  const timingPairs = timingRows.map(({ p, i }): TimingPair => {
    const pd = processor.businessDayAt(p) ?? 0;
    const id = internal.businessDayAt(i) ?? 0;
    return {
      transactionId: processor.idAt(p),
      processorBusinessDate: dateOfEpochDay(pd),
      internalBusinessDate: dateOfEpochDay(id),
      lagDays: Math.abs(id - pd),
    };
  });
  breaks.sort((a, b) => {
    const [ga, oa] = orderKey(a);
    const [gb, ob] = orderKey(b);
    return ga - gb || oa - ob;
  });
  const discrepancies = breaks.map((row): Discrepancy => {
    const kind = row.kind as Discrepancy['kind'];
    const p = row.p_ordinal === null ? null : processor.atWithBusinessDate(row.p_ordinal);
    const i = row.i_ordinal === null ? null : internal.atWithBusinessDate(row.i_ordinal);
    const main = p ?? i;
    if (!main) throw new Error(`the SQL engine returned a ${kind} without a row`);
    counts[kind]++;
    if (kind === 'duplicate') duplicates[p ? 'processor' : 'internal']++;
    // The same annotation as the memory engine (one implementation: engine/fees.ts).
    return annotateBasisMismatch({
      kind,
      transactionId: main.transactionId,
      side: p && i ? 'both' : p ? 'processor' : 'internal',
      processor: p,
      internal: i,
      differenceMinor: row.difference_minor === null ? null : BigInt(row.difference_minor),
    });
  });
  return {
    processorTransactions: processor.length,
    internalTransactions: internal.length,
    counts,
    timing: timingPairs.length,
    timingPairs,
    duplicates,
    discrepancies,
  };
}

// ---------------------------------------------------------------------------------------------
// Streamed runs (issue #16, part 2): each side is COPYed into staging as it is parsed, on a
// connection of its own, and the discrepancies come back from staging with every column a
// `Discrepancy` needs, so Node never holds either side.
// ---------------------------------------------------------------------------------------------

/** Which staging table holds `side`. */
function stagingTableOf(side: TransactionSide): string {
  return side === 'processor' ? STAGING_TABLES.processor : STAGING_TABLES.internal;
}

/**
 * COPYs one side into its staging table under `runId` as its tables arrive (`tables`: the side's
 * rows in order, see `StreamedSide`), numbering the rows 0, 1, … across tables. Runs on
 * `executor` outside any transaction of the caller (on a server: a pooled connection of its own
 * for the COPY, committed when it ends; the caller deletes the rows, see
 * `RunStore.completeStreamedRunInDatabase`). `netBasis`: stage each processor row's net as
 * `compare_minor` (fee rules of basis `net`). `signal`: checked before each table; aborting it
 * ends the COPY (nothing of it is committed) with its reason. Memory: one table and one ~1 MiB
 * chunk at a time. Returns the rows staged.
 * @throws whatever `tables` throws (e.g. `InputRejectedError`), the signal's reason, database
 *   errors as translated by the executor; Error when COPY's count differs (a bug).
 */
export async function stageStreamedSide(
  executor: SqlExecutor,
  side: TransactionSide,
  runId: string,
  tables: AsyncIterable<TransactionTable>,
  options: { readonly netBasis?: boolean; readonly signal?: AbortSignal } = {},
): Promise<number> {
  let staged = 0;
  const netBasis = options.netBasis === true;
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const table of tables) {
      options.signal?.throwIfAborted();
      yield* stagingChunks(runId, table, netBasis, staged);
      staged += table.length;
    }
    options.signal?.throwIfAborted();
  }
  const table = stagingTableOf(side);
  const written = await executor.copyFrom(table, STAGING_COLUMNS, chunks());
  if (written !== staged) {
    throw new Error(`COPY staged ${written} rows into ${table}, expected ${staged}`);
  }
  return staged;
}

/**
 * Deletes the staged rows of `runId` from both staging tables (staging tables only; each DELETE
 * commits on its own).
 */
export async function deleteStagedRows(executor: SqlExecutor, runId: string): Promise<void> {
  for (const table of [STAGING_TABLES.processor, STAGING_TABLES.internal])
    await executor.query(`DELETE FROM ${table} WHERE run_id = $1`, [runId]);
}

/**
 * The run ids that have rows in the staging tables (a statement on the staging tables only).
 * Used to find rows left by a streamed run that died between its COPY and its clean-up.
 */
export async function stagedRunIds(executor: SqlExecutor): Promise<string[]> {
  const rows = await executor.query<{ run_id: string }>(
    `SELECT run_id::text AS run_id FROM ${STAGING_TABLES.processor}
     UNION SELECT run_id::text FROM ${STAGING_TABLES.internal}`,
  );
  return rows.map((row) => row.run_id);
}

/**
 * How many distinct ids occur more than once among the staged rows of `runId`, per side (the
 * `duplicate_ids` finding of a streamed side; a statement on the staging tables only). The
 * classification returns the same numbers (`StagedClassification.duplicatedIds`); this is for a
 * run rejected before it classifies.
 */
export async function countStagedDuplicatedIds(
  executor: SqlExecutor,
  runId: string,
): Promise<{ processor: number; internal: number }> {
  const count = async (table: string): Promise<number> => {
    const rows = await executor.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         SELECT 1 FROM ${table} WHERE run_id = $1 GROUP BY transaction_id HAVING count(*) > 1) d`,
      [runId],
    );
    return Number(rows[0]?.n ?? 0);
  };
  return {
    processor: await count(STAGING_TABLES.processor),
    internal: await count(STAGING_TABLES.internal),
  };
}

/** The staged columns a `Transaction` is rebuilt from, with the casts that keep them exact. */
const ROW_FIELDS = [
  ['transaction_id', ''],
  ['amount_minor', '::text'],
  ['currency', ''],
  ['status', ''],
  ['raw_status', ''],
  ['merchant_id', ''],
  ['created_at_ms', '::text'],
  ['fee_minor', '::text'],
  ['net_minor', '::text'],
  ['description', ''],
  ['reference', ''],
  ['payment_method', ''],
  ['line', ''],
  ['business_day', ''],
] as const;

type RowField = (typeof ROW_FIELDS)[number][0];

const sideColumns = (alias: string, prefix: string): string =>
  ROW_FIELDS.map(([name, cast]) => `${alias}.${name}${cast} AS ${prefix}_${name}`).join(', ');

/**
 * `CLASSIFY_SQL` for a streamed run: the same classification (`CLASSIFIED_CTES`), but every
 * discrepancy and timing pair comes back with both its staged rows (joined back by ordinal), so
 * the caller builds the `Discrepancy` rows from them; plus the matched count. `p_slot` 1 /
 * `i_slot` -1 mark the second row of a duplicated id (one per duplicated id and side).
 */
const CLASSIFY_ROWS_SQL = `${CLASSIFIED_CTES}), found AS (
  SELECT c.kind, c.p_ordinal, c.i_ordinal, c.p_slot, c.i_slot,
         CASE WHEN c.kind = 'amount_mismatch' THEN c.p_compare_minor - c.i_amount_minor
              WHEN c.kind = 'fee_mismatch' THEN c.p_fee_minor - c.i_fee_minor END
           AS difference_minor
    FROM classified c
   WHERE c.kind <> 'matched'
)
SELECT f.kind, f.p_ordinal, f.i_ordinal, f.p_slot::integer AS p_slot, f.i_slot::integer AS i_slot,
       f.difference_minor::text AS difference_minor, NULL::text AS n,
       ${sideColumns('sp', 'p')},
       ${sideColumns('si', 'i')}
  FROM found f
  LEFT JOIN ${STAGING_TABLES.processor} sp ON sp.run_id = $1 AND sp.ordinal = f.p_ordinal
  LEFT JOIN ${STAGING_TABLES.internal} si ON si.run_id = $1 AND si.ordinal = f.i_ordinal
UNION ALL
SELECT 'matched', NULL, NULL, NULL, NULL, NULL, count(*)::text,
       ${ROW_FIELDS.map(() => 'NULL').join(', ')},
       ${ROW_FIELDS.map(() => 'NULL').join(', ')}
  FROM classified WHERE kind = 'matched'`;

type StagedRow = ClassifiedRow & {
  readonly p_slot: number | null;
  readonly i_slot: number | null;
} & { readonly [K in `${'p' | 'i'}_${RowField}`]: string | number | null };

function stagedText(row: StagedRow, key: `${'p' | 'i'}_${RowField}`): string | null {
  const value = row[key];
  return value === null ? null : String(value);
}

/**
 * The `Transaction` of one side of a returned row, equal to what `TransactionTable.atWithBusinessDate`
 * gives for the staged row (optional keys only when the source gave them); `null` when the row
 * has no such side.
 */
function stagedTransaction(
  row: StagedRow,
  side: 'p' | 'i',
  intern: (text: string) => string = (text) => text,
): Transaction | null {
  const id = stagedText(row, `${side}_transaction_id`);
  if (id === null) return null;
  const required = (field: RowField): string => {
    const value = stagedText(row, `${side}_${field}`);
    if (value === null) throw new Error(`staged row ${id} has no ${field}`);
    return value;
  };
  const fee = stagedText(row, `${side}_fee_minor`);
  const net = stagedText(row, `${side}_net_minor`);
  const reference = stagedText(row, `${side}_reference`);
  const method = stagedText(row, `${side}_payment_method`);
  const day = stagedText(row, `${side}_business_day`);
  const base: Transaction = {
    transactionId: id,
    amountMinor: BigInt(required('amount_minor')),
    currency: intern(required('currency')),
    feeMinor: fee === null ? null : BigInt(fee),
    status: intern(required('status')) as CanonicalStatus,
    rawStatus: intern(required('raw_status')),
    merchantId: intern(required('merchant_id')),
    createdAtMs: Number(required('created_at_ms')),
    description: stagedText(row, `${side}_description`),
    line: Number(required('line')),
    ...(reference !== null ? { reference } : {}),
  };
  const withNet = net === null ? base : { ...base, netMinor: BigInt(net) };
  const withMethod = method === null ? withNet : { ...withNet, paymentMethod: method };
  return day === null
    ? withMethod
    : { ...withMethod, businessDate: intern(dateOfEpochDay(Number(day))) };
}

/** Most distinct texts `interner` keeps (beyond that, texts are used as they come). */
const INTERNED_TEXTS = 65_536;

/**
 * One string per distinct text (currencies, statuses, merchants, dates repeat across a run's
 * discrepancies; the driver gives each row its own copies), up to `INTERNED_TEXTS` texts.
 */
function interner(): (text: string) => string {
  const seen = new Map<string, string>();
  return (text) => {
    const known = seen.get(text);
    if (known !== undefined) return known;
    if (seen.size < INTERNED_TEXTS) seen.set(text, text);
    return text;
  };
}

/** Rows fetched per page of the classification's cursor (`classifyStagedInDatabase`). */
const CLASSIFIED_PAGE_ROWS = 1000;

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What `classifyStagedInDatabase` returns: the match result and each side's duplicated ids. */
export interface StagedClassification {
  readonly match: MatchResult;
  /** Distinct ids that occur more than once, per side (the `duplicate_ids` findings). */
  readonly duplicatedIds: { readonly processor: number; readonly internal: number };
}

/**
 * Classifies the rows staged under `runId` (`stageStreamedSide`, `staged` rows per side) inside
 * `tx`, which must touch the staging tables only (as `classifyInDatabase`): runs
 * `CLASSIFY_ROWS_SQL`, deletes the staged rows and returns the result in the memory engine's
 * shape and order, its `Discrepancy` rows and timing pairs built from the staged columns (equal
 * to those the memory engine builds from its tables), fetched through a cursor a page at a time;
 * the discrepancies are held in columns (`CompactDiscrepancies`: `match.discrepancies` is a
 * read-only array whose elements are built when read, issue #16).
 * `work_mem` is raised, nested loops are off and the cursor is planned for all its rows
 * (`cursor_tuple_fraction` 1), for this transaction only: the join back to staging must be a
 * hash join.
 * @throws Error when the result does not add up (a bug); database errors as translated.
 */
export async function classifyStagedInDatabase(
  tx: SqlExecutor,
  runId: string,
  staged: { readonly processor: number; readonly internal: number },
  options: { workMem?: string } = {},
): Promise<StagedClassification> {
  await tx.query(
    `SELECT set_config('work_mem', $1, true), set_config('enable_nestloop', 'off', true),
            set_config('cursor_tuple_fraction', '1', true)`,
    [options.workMem ?? '256MB'],
  );
  const counts = emptyOutcomeCounts();
  const duplicates = { processor: 0, internal: 0 };
  const duplicatedIds = { processor: 0, internal: 0 };
  // Columnar, not one object per discrepancy (issue #16: ~1.2 KB each as objects).
  const found = new CompactDiscrepancies();
  const timingPairs: { readonly ordinal: number; readonly pair: TimingPair }[] = [];
  const intern = interner();
  const take = (row: StagedRow): void => {
    if (row.kind === 'matched') counts.matched = Number(row.n);
    else if (row.kind === 'timing') {
      const pd = stagedText(row, 'p_business_day');
      const id = stagedText(row, 'i_business_day');
      const transactionId = stagedText(row, 'p_transaction_id');
      if (row.p_ordinal === null || pd === null || id === null || transactionId === null)
        throw new Error('the SQL engine returned a timing pair without both rows');
      timingPairs.push({
        ordinal: row.p_ordinal,
        pair: {
          transactionId,
          processorBusinessDate: dateOfEpochDay(Number(pd)),
          internalBusinessDate: dateOfEpochDay(Number(id)),
          lagDays: Math.abs(Number(id) - Number(pd)),
        },
      });
    } else {
      if (row.p_slot === 1) duplicatedIds.processor++;
      if (row.i_slot === -1) duplicatedIds.internal++;
      const { kind } = row;
      const p = stagedTransaction(row, 'p', intern);
      const i = stagedTransaction(row, 'i', intern);
      const main = p ?? i;
      if (!main) throw new Error(`the SQL engine returned a ${kind} without a row`);
      counts[kind]++;
      if (kind === 'duplicate') duplicates[p ? 'processor' : 'internal']++;
      // The same annotation as the memory engine (one implementation: engine/fees.ts).
      const discrepancy = annotateBasisMismatch({
        kind,
        transactionId: main.transactionId,
        side: p && i ? 'both' : p ? 'processor' : 'internal',
        processor: p,
        internal: i,
        differenceMinor: row.difference_minor === null ? null : BigInt(row.difference_minor),
      });
      const [major, minor] = orderKey(row);
      found.add(discrepancy, major, minor);
    }
  };
  // Through a cursor, a page at a time: the returned rows (about 1 KB each as driver objects)
  // never all exist at once, only the `Discrepancy` rows built from them.
  if (!UUID_SHAPE.test(runId)) throw new Error(`not a run id: ${runId}`);
  await tx.query(
    `DECLARE recon_classified NO SCROLL CURSOR FOR ${CLASSIFY_ROWS_SQL.replaceAll('$1', `'${runId}'::uuid`)}`,
  );
  for (;;) {
    const page = await tx.query<StagedRow>(
      `FETCH FORWARD ${CLASSIFIED_PAGE_ROWS} FROM recon_classified`,
    );
    for (const row of page) take(row);
    if (page.length < CLASSIFIED_PAGE_ROWS) break;
  }
  await tx.query(`CLOSE recon_classified`);
  await deleteStagedRows(tx, runId);

  timingPairs.sort((a, b) => a.ordinal - b.ordinal);
  const discrepancies = found.finish();
  return {
    match: {
      processorTransactions: staged.processor,
      internalTransactions: staged.internal,
      counts,
      timing: timingPairs.length,
      timingPairs: timingPairs.map(({ pair }) => pair),
      duplicates,
      discrepancies,
    },
    duplicatedIds,
  };
}

// ---------------------------------------------------------------------------------------------
// Carry-over for the postgres engine (issue #13): open one-sided breaks of earlier dates against
// the run's stored one-sided discrepancies of the other side.
// ---------------------------------------------------------------------------------------------

/** Which breaks a run of the postgres engine carries: its processor, business date D and window. */
export interface CarryRequest {
  readonly processor: string;
  /** D, YYYY-MM-DD. */
  readonly businessDate: BusinessDate;
  /** `RECON_CARRY_DAYS`: breaks whose origin date is at most this many days before D. */
  readonly carryDays: number;
  /** The processor's fee rules (basis `net` compares the processor's net); default gross. */
  readonly fees?: FeeRules;
}

function minorDecimal(minor: bigint, currency: string): string {
  return formatMinor(minor, currencyExponent(currency));
}

/**
 * `carryOver` of `raw` with `carried`, equal to `carryOver(raw, carried, …)`, without building an
 * array of every discrepancy (issue #16, the memory bound: `carryOver` returns a new array of all
 * of them as objects when it changes any): `carryOver` gets only the one-sided discrepancies
 * whose id a carried break has (the only ones it can pair, in their order), and the run's
 * discrepancies are then taken over in columns (`CompactDiscrepancies`, in order), without the
 * row each resolved break removes (the first of its kind and id) and with the two-sided
 * discrepancy in place of the row each reclassified break completes. `other`: the kind of the
 * row that completes a carried break of the given kind.
 */
function carryOverRemainder(
  raw: MatchResult,
  carried: readonly CarriedBreak[],
  request: CarryRequest,
  other: (kind: string | undefined) => string,
): CarryResult {
  if (carried.length === 0) return carryOver(raw, carried, request.businessDate, request.fees);
  const carriedIds = new Set(carried.map((c) => c.row.transactionId));
  const candidates = raw.discrepancies.filter(
    (d) => isOneSided(d.kind) && carriedIds.has(d.transactionId),
  );
  const folded = carryOver(
    { ...raw, discrepancies: candidates },
    carried,
    request.businessDate,
    request.fees,
  );
  if (folded.resolved.length === 0 && folded.reclassified.length === 0)
    return { match: raw, timing: 0, resolved: [], reclassified: [] };
  const kindOf = new Map(carried.map((c) => [c.breakId, c.kind]));
  const key = (kind: string, id: string): string => `${kind}\u0000${id}`;
  const removed = new Set(
    folded.resolved.map((r) => key(other(kindOf.get(r.breakId)), r.transactionId)),
  );
  const replaced = new Map(
    folded.reclassified.map((r) => [key(other(r.from), r.transactionId), r.discrepancy]),
  );
  const kept = new CompactDiscrepancies();
  let position = 0;
  for (const d of raw.discrepancies) {
    const at = isOneSided(d.kind) ? key(d.kind, d.transactionId) : null;
    // Only the first row of a kind and id completes a break (later ones are D's duplicates).
    if (at !== null && removed.delete(at)) continue;
    const instead = at === null ? undefined : replaced.get(at);
    if (at !== null && instead) replaced.delete(at);
    kept.add(instead ?? d, 0, position++);
  }
  if (removed.size > 0 || replaced.size > 0)
    throw new Error('carry-over changed a discrepancy the run does not have');
  return {
    ...folded,
    match: { ...raw, counts: folded.match.counts, discrepancies: kept.finish() },
  };
}

/**
 * Folds the carried breaks into the run `runId` of the postgres engine, inside the run's
 * transaction, after `classifyInDatabase` wrote its discrepancies: the database joins the open
 * one-sided breaks of the processor (`queryCarried`, the same selection as the memory engine)
 * with the run's one-sided discrepancies of the other side on `transaction_id`, and returns only
 * those pairs; `carryOver` (the memory engine's pure function) decides each pair, so both engines
 * resolve and reclassify exactly the same breaks. The stored discrepancies are then brought in
 * line with the folded result: the row completing a late arrival is deleted, the row completing a
 * reclassified break becomes the two-sided discrepancy (both rows, processor side first, as
 * `RunStore` writes it for the memory engine). Returns `carryOver`'s result for `raw`.
 * @param raw the run's match result as `classifyInDatabase` returned it (before folding).
 */
export async function carryOverInDatabase(
  tx: SqlExecutor,
  runId: string,
  raw: MatchResult,
  request: CarryRequest,
): Promise<CarryResult> {
  const carried = await queryCarried(
    tx,
    request.processor,
    request.businessDate,
    request.carryDays,
    runId,
  );
  const kindOf = new Map(carried.map((c) => [c.breakId, c.kind]));
  const other = (kind: string | undefined): string =>
    kind === 'missing_in_internal' ? 'missing_in_processor' : 'missing_in_internal';
  const result = carryOverRemainder(raw, carried, request, other);
  if (result.resolved.length === 0 && result.reclassified.length === 0) return result;
  const gone = result.resolved.map((r) => ({
    transaction_id: r.transactionId,
    kind: other(kindOf.get(r.breakId)),
  }));
  if (gone.length > 0) {
    const deleted = await tx.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM discrepancies d
          USING jsonb_to_recordset($2::jsonb) AS x(transaction_id text, kind text)
          WHERE d.run_id = $1 AND d.transaction_id = x.transaction_id AND d.kind = x.kind
         RETURNING 1)
       SELECT count(*)::text AS n FROM gone`,
      [runId, JSON.stringify(gone)],
    );
    if (Number(deleted[0]?.n) !== gone.length) {
      throw new Error(
        `carry-over deleted ${deleted[0]?.n ?? '?'} discrepancies, expected ${gone.length}`,
      );
    }
  }
  // One UPDATE for all reclassified pairs: each completing row becomes the two-sided discrepancy.
  const reclassified = result.reclassified.map((item) => {
    const d = item.discrepancy;
    const p = d.processor;
    const i = d.internal;
    if (!p || !i) throw new Error(`reclassified discrepancy ${d.transactionId} lacks a side`);
    return {
      transaction_id: d.transactionId,
      old_kind: other(item.from),
      kind: d.kind,
      p_minor: p.amountMinor.toString(),
      p_amount: minorDecimal(p.amountMinor, p.currency),
      p_currency: p.currency,
      merchant_id: p.merchantId,
      created_at: new Date(p.createdAtMs).toISOString(),
      p_status: p.rawStatus,
      p_line: p.line,
      i_minor: i.amountMinor.toString(),
      i_amount: minorDecimal(i.amountMinor, i.currency),
      i_currency: i.currency,
      i_status: i.rawStatus,
      i_line: i.line,
      difference_minor: d.differenceMinor === null ? null : d.differenceMinor.toString(),
      difference: d.differenceMinor === null ? null : minorDecimal(d.differenceMinor, p.currency),
      description: p.description,
    };
  });
  if (reclassified.length > 0) {
    const updated = await tx.query<{ n: string }>(
      `WITH x AS (
         SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(
           transaction_id text, old_kind text, kind text, p_minor bigint, p_amount numeric,
           p_currency text, merchant_id text, created_at timestamptz, p_status text,
           p_line integer, i_minor bigint, i_amount numeric, i_currency text, i_status text,
           i_line integer, difference_minor bigint, difference numeric, description text)
       ), changed AS (
         UPDATE discrepancies d SET kind = x.kind, side = 'both',
                amount_minor = x.p_minor, amount = x.p_amount, currency = x.p_currency,
                merchant_id = x.merchant_id, created_at = x.created_at,
                processor_amount_minor = x.p_minor, processor_amount = x.p_amount,
                processor_currency = x.p_currency, processor_status = x.p_status,
                processor_line = x.p_line,
                internal_amount_minor = x.i_minor, internal_amount = x.i_amount,
                internal_currency = x.i_currency, internal_status = x.i_status,
                internal_line = x.i_line,
                difference_minor = x.difference_minor, difference = x.difference,
                description = x.description
           FROM x
          WHERE d.run_id = $1 AND d.transaction_id = x.transaction_id AND d.kind = x.old_kind
         RETURNING 1)
       SELECT count(*)::text AS n FROM changed`,
      [runId, JSON.stringify(reclassified)],
    );
    if (Number(updated[0]?.n) !== reclassified.length) {
      throw new Error(
        `carry-over reclassified ${updated[0]?.n ?? '?'} discrepancies, expected ${reclassified.length}`,
      );
    }
  }
  return result;
}
