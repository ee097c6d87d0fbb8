import type { BusinessDate } from '../domain/business-date';
import { currencyExponent, ISO4217_TABLE_VERSION } from '../domain/currency';
import type { DataQualityIssue } from '../domain/data-quality';
import type { Discrepancy, OutcomeCounts } from '../domain/discrepancy';
import { RunInProgressError, RunLockLostError } from '../domain/errors';
import { redactSecretsIn } from '../domain/redact';
import { formatMinor, totalsToDecimalStrings } from '../domain/money';
import type { Transaction } from '../domain/transaction';
import type { TransactionRows, TransactionTable } from '../domain/transaction-table';
import type { MatchResult } from '../engine/match-transactions';
import type { FeeRules } from '../engine/fee-rules';
import type { ReconciliationSummary } from '../engine/summarize';
import { EMPTY_BREAK_PLAN, syncBreaks, type BreakPlan } from './break-sync';
import { chunkCopyRows } from './copy-csv';
import { resolveIdPrefix, type IdTable } from './id-prefix';
import { computeRunResults } from './run-digest';
import type { RunSettlement } from '../engine/settlement';
import {
  listPayouts,
  showPayout,
  writeRunSettlement,
  type PayoutFilter,
  type StoredPayout,
  type StoredPayoutDetail,
} from './settlement-store';
import { syncSettlementBreaks } from './settlement-break-store';
import {
  classifyInDatabase,
  classifyStagedInDatabase,
  countStagedDuplicatedIds,
  deleteStagedRows,
  ensureStagingTables,
  stagedRunIds,
  stageStreamedSide,
  type StagedClassification,
} from './sql-engine';
import type { Database, RunLock, SqlExecutor, SqlValue, TransactionOptions } from './database';

/** Status of a stored run. `abandoned`: its process died while it was `running`. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'superseded' | 'abandoned';

/** What is known when a run starts. `*Source` are file paths or URLs of the two sides. */
export interface RunStart {
  readonly businessDate: BusinessDate;
  readonly processor: string;
  readonly processorSource: string;
  readonly internalSource: string;
  readonly appVersion: string;
  /**
   * The rules file the run uses (issue #14): its canonical content and SHA-256, stored on the run
   * row and in its `run_started` audit entry; absent or `null` without a rules file.
   */
  readonly rules?: { readonly canonical: string; readonly sha256: string } | null;
}

/** Everything a completed run stores, written in one transaction. */
export interface RunOutcome {
  readonly match: MatchResult;
  readonly summary: ReconciliationSummary;
  readonly issues: readonly DataQualityIssue[];
  readonly invalidRows: number;
  readonly reportCsvPath: string | null;
  readonly reportJsonPath: string | null;
  /** What the run decided about carried breaks (`carryOver`); none carried when absent. */
  readonly breaks?: BreakPlan;
  /**
   * The run's settlement leg (issue #15: groups, bank entries, bank matches), stored in the same
   * transaction (`settlement-store.ts`); absent or `null` for a run without payouts input.
   */
  readonly settlement?: RunSettlement | null;
}

/** A stored run as the CLI shows it. Money as decimal strings per currency; times ISO 8601 UTC. */
export interface StoredRun {
  readonly runId: string;
  readonly businessDate: BusinessDate;
  readonly processor: string;
  readonly status: RunStatus;
  readonly startTime: string;
  readonly endTime: string | null;
  readonly processorTransactions: number | null;
  readonly internalTransactions: number | null;
  readonly counts: OutcomeCounts | null;
  readonly discrepancyCount: number | null;
  readonly invalidRows: number | null;
  readonly discrepancyAmounts: Record<string, string>;
  readonly totalDiscrepancyAmount: string | null;
  readonly discrepancyRate: string | null;
  readonly riskLevel: string | null;
  readonly complianceStatus: string | null;
  readonly reportCsvPath: string | null;
  readonly reportJsonPath: string | null;
  readonly supersededBy: string | null;
  readonly errorMessage: string | null;
}

/** One stored discrepancy, for `recon runs show`. */
export interface StoredDiscrepancy {
  readonly kind: string;
  readonly transactionId: string;
  readonly amount: string;
  readonly currency: string;
  readonly difference: string | null;
  readonly processorStatus: string | null;
  readonly internalStatus: string | null;
  readonly merchantId: string | null;
}

/** Filters of `recon runs list`. */
export interface RunFilter {
  readonly businessDate?: BusinessDate;
  readonly processor?: string;
  readonly limit: number;
}

const RUN_IDS: IdTable = { kind: 'run', table: 'reconciliation_runs' };

/** Thrown (and caught) by `projectRun` to roll its transaction back on purpose. */
const DRY_RUN_ROLLBACK = new Error('dry run: rolled back on purpose');

const DISCREPANCY_COLUMNS = [
  'run_id',
  'kind',
  'side',
  'transaction_id',
  'amount_minor',
  'amount',
  'currency',
  'merchant_id',
  'created_at',
  'processor_amount_minor',
  'processor_amount',
  'processor_currency',
  'processor_status',
  'processor_line',
  'internal_amount_minor',
  'internal_amount',
  'internal_currency',
  'internal_status',
  'internal_line',
  'difference_minor',
  'difference',
  'description',
  'processor_business_date',
  'internal_business_date',
  'tier',
  'internal_transaction_id',
  'candidates',
  'processor_reference',
  'internal_reference',
  'annotation',
] as const;

const QUALITY_COLUMNS = [
  'run_id',
  'side',
  'source',
  'check_name',
  'severity',
  'line',
  'field',
  'reason',
  'value',
  'count',
] as const;

function decimal(minor: bigint, currency: string): string {
  return formatMinor(minor, currencyExponent(currency));
}

function sideValues(row: Transaction | null): SqlValue[] {
  if (!row) return [null, null, null, null, null];
  return [
    row.amountMinor.toString(),
    decimal(row.amountMinor, row.currency),
    row.currency,
    row.rawStatus,
    row.line,
  ];
}

function discrepancyRow(runId: string, d: Discrepancy): SqlValue[] {
  const main = d.processor ?? d.internal;
  if (!main) throw new Error(`discrepancy ${d.transactionId} has no row`);
  return [
    runId,
    d.kind,
    d.side,
    d.transactionId,
    main.amountMinor.toString(),
    decimal(main.amountMinor, main.currency),
    main.currency,
    main.merchantId,
    new Date(main.createdAtMs).toISOString(),
    ...sideValues(d.processor),
    ...sideValues(d.internal),
    d.differenceMinor === null ? null : d.differenceMinor.toString(),
    d.differenceMinor === null ? null : decimal(d.differenceMinor, main.currency),
    main.description,
    d.processor?.businessDate ?? null,
    d.internal?.businessDate ?? null,
    d.tier ?? null,
    d.internal && d.internal.transactionId !== d.transactionId ? d.internal.transactionId : null,
    d.candidates ? JSON.stringify(d.candidates) : null,
    d.processor?.reference ?? null,
    d.internal?.reference ?? null,
    d.annotation ?? null,
  ];
}

/**
 * Replaces the stored discrepancies of run `runId` with `discrepancies`, inside the run's
 * transaction `tx`: the postgres engine uses it when the rules-file tiers (run in process on the
 * bounded remainder of the SQL join, `engine/tiers.ts`) changed what its SQL wrote. The rows are
 * written exactly as `completeRun` writes the memory engine's (COPY, the same columns).
 */
export async function rewriteDiscrepancies(
  tx: SqlExecutor,
  runId: string,
  discrepancies: readonly Discrepancy[],
): Promise<void> {
  await tx.query(`DELETE FROM discrepancies WHERE run_id = $1`, [runId]);
  await tx.copyFrom(
    'discrepancies',
    DISCREPANCY_COLUMNS,
    chunkCopyRows(discrepancies, (d) => discrepancyRow(runId, d)),
  );
}

function qualityRow(runId: string, issue: DataQualityIssue): SqlValue[] {
  return [
    runId,
    issue.side,
    issue.location,
    issue.check,
    issue.severity,
    issue.line,
    issue.field,
    issue.reason,
    issue.value,
    issue.count,
  ];
}

interface RunRow {
  id: string;
  run_date: string;
  processor_name: string;
  status: RunStatus;
  start_time: string;
  end_time: string | null;
  processor_transaction_count: number | null;
  internal_transaction_count: number | null;
  matched_count: number | null;
  missing_transaction_count: number | null;
  missing_in_processor_count: number | null;
  amount_mismatch_count: number | null;
  currency_mismatch_count: number | null;
  status_mismatch_count: number | null;
  duplicate_count: number | null;
  fee_mismatch_count: number | null;
  matched_with_variance_count: number | null;
  ambiguous_count: number | null;
  discrepancy_count: number | null;
  invalid_row_count: number | null;
  discrepancy_amounts: string;
  total_discrepancy_amount: string | null;
  discrepancy_rate: string | null;
  risk_level: string | null;
  compliance_status: string | null;
  report_csv_path: string | null;
  report_json_path: string | null;
  superseded_by: string | null;
  error_message: string | null;
}

const RUN_SELECT = `
  SELECT id::text, run_date::text, processor_name, status,
         to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS start_time,
         to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS end_time,
         processor_transaction_count, internal_transaction_count, matched_count,
         missing_transaction_count, missing_in_processor_count, amount_mismatch_count,
         currency_mismatch_count, status_mismatch_count, duplicate_count, discrepancy_count,
         fee_mismatch_count, matched_with_variance_count, ambiguous_count,
         invalid_row_count, discrepancy_amounts::text AS discrepancy_amounts,
         total_discrepancy_amount::text AS total_discrepancy_amount,
         discrepancy_rate::text AS discrepancy_rate, risk_level, compliance_status,
         report_csv_path, report_json_path, superseded_by::text AS superseded_by, error_message
  FROM reconciliation_runs`;

function toStoredRun(row: RunRow): StoredRun {
  const counts: OutcomeCounts | null =
    row.matched_count === null
      ? null
      : {
          matched: row.matched_count,
          missing_in_internal: row.missing_transaction_count ?? 0,
          missing_in_processor: row.missing_in_processor_count ?? 0,
          amount_mismatch: row.amount_mismatch_count ?? 0,
          currency_mismatch: row.currency_mismatch_count ?? 0,
          status_mismatch: row.status_mismatch_count ?? 0,
          duplicate: row.duplicate_count ?? 0,
          fee_mismatch: row.fee_mismatch_count ?? 0,
          ...(row.matched_with_variance_count !== null
            ? { matched_with_variance: row.matched_with_variance_count }
            : {}),
          ...(row.ambiguous_count !== null ? { ambiguous: row.ambiguous_count } : {}),
        };
  return {
    runId: row.id,
    businessDate: row.run_date,
    processor: row.processor_name,
    status: row.status,
    startTime: row.start_time,
    endTime: row.end_time,
    processorTransactions: row.processor_transaction_count,
    internalTransactions: row.internal_transaction_count,
    counts,
    discrepancyCount: row.discrepancy_count,
    invalidRows: row.invalid_row_count,
    discrepancyAmounts: JSON.parse(row.discrepancy_amounts) as Record<string, string>,
    totalDiscrepancyAmount: row.total_discrepancy_amount,
    discrepancyRate: row.discrepancy_rate,
    riskLevel: row.risk_level,
    complianceStatus: row.compliance_status,
    reportCsvPath: row.report_csv_path,
    reportJsonPath: row.report_json_path,
    supersededBy: row.superseded_by,
    errorMessage: row.error_message,
  };
}

/**
 * Writes one entry of the hash-chained audit log (secrets redacted from `details`), in the
 * caller's transaction. Shared with the break repositories so `recon db verify-audit` covers them.
 */
export async function audit(
  db: SqlExecutor,
  event: string,
  runId: string | null,
  details: object,
): Promise<void> {
  await db.query(`INSERT INTO audit_log (run_id, event, details) VALUES ($1, $2, $3)`, [
    runId,
    event,
    JSON.stringify(redactSecretsIn(details)),
  ]);
}

/**
 * Persistence of reconciliation runs: the run lifecycle (`running` → `completed` | `failed`,
 * earlier completed runs → `superseded`), discrepancies and data-quality findings via COPY, and
 * the append-only audit log. Works on any `Database` (PostgreSQL server or PGlite).
 */
export class RunStore {
  private opened: Promise<Database> | undefined;

  /**
   * @param openDatabase opens the database (and checks or applies its schema) on first use.
   * @param tryLock takes a named lock without waiting, `null` when held elsewhere. For PGlite it
   *   must not need the database, so a second process is refused before waiting for the data dir.
   */
  constructor(
    private readonly openDatabase: () => Promise<Database>,
    private readonly tryLock: (key: string) => Promise<RunLock | null>,
  ) {}

  /** The database, opened on first call. */
  database(): Promise<Database> {
    this.opened ??= this.openDatabase();
    return this.opened;
  }

  /** Closes the database if it was opened. */
  async close(): Promise<void> {
    if (!this.opened) return;
    const db = await this.opened.catch(() => undefined);
    await db?.close();
  }

  /**
   * Takes the exclusive lock of (`businessDate`, `processor`) without waiting.
   * @throws RunInProgressError when another process holds it.
   */
  async lockRun(businessDate: BusinessDate, processor: string): Promise<RunLock> {
    const lock = await this.tryLock(`recon-run_${businessDate}_${processor}`);
    if (!lock) throw new RunInProgressError(businessDate, processor);
    return lock;
  }

  /**
   * Records a new `running` run and returns its id (uuid). The caller holds the run lock, so any
   * run still `running` for the same date and processor belongs to a dead process: it is marked
   * `abandoned` with an audit entry. With `options.lock` the transaction commits only while that
   * lock is held (a run whose lock is already lost abandons nobody).
   */
  async startRun(start: RunStart, options: TransactionOptions = {}): Promise<string> {
    return (await this.database()).withTransaction(async (tx) => {
      const orphans = await tx.query<{ id: string }>(
        `UPDATE reconciliation_runs
            SET status = 'abandoned', end_time = now(),
                error_message = 'abandoned: its process ended without finishing the run'
          WHERE run_date = $1 AND processor_name = $2 AND status = 'running'
          RETURNING id::text`,
        [start.businessDate, start.processor],
      );
      for (const orphan of orphans) await audit(tx, 'run_abandoned', orphan.id, {});
      const rows = await tx.query<{ id: string }>(
        `INSERT INTO reconciliation_runs
           (run_date, processor_name, status, processor_source, internal_source,
            currency_table_version, app_version, rules_sha256, rules_content)
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8)
         RETURNING id::text`,
        [
          start.businessDate,
          start.processor,
          start.processorSource,
          start.internalSource,
          ISO4217_TABLE_VERSION,
          start.appVersion,
          start.rules?.sha256 ?? null,
          start.rules?.canonical ?? null,
        ],
      );
      const runId = rows[0]?.id;
      if (!runId) throw new Error('INSERT … RETURNING id returned no row');
      await audit(tx, 'run_started', runId, {
        run_date: start.businessDate,
        processor: start.processor,
        processor_source: start.processorSource,
        internal_source: start.internalSource,
        ...(start.rules
          ? { rules: { sha256: start.rules.sha256, content: start.rules.canonical } }
          : {}),
      });
      return runId;
    }, options);
  }

  /**
   * Stores a run's results and marks it `completed` in ONE transaction: discrepancies and
   * data-quality findings (COPY), the run's breaks (`syncBreaks`), the final counts, the
   * supersession of the previous completed run for the same date and processor, and audit
   * entries. `beforeCommit` runs last inside the transaction, handed the transaction so that it
   * can read what was just stored (the job reads the run's breaks, whose ids exist only now, and
   * renders its pending report files there), so a failure in it rolls everything back. `options.lock`: commit only while the run lock is held; `options.signal`:
   * an interruption cancels the statement and rolls back (see `TransactionOptions`).
   * Returns the hash of the run's `run_completed` audit entry (the chain head at its commit).
   * @throws RunLockLostError when the lock was lost or the run is no longer `running` (another
   *   process ended it): nothing is stored.
   */
  async completeRun(
    runId: string,
    outcome: RunOutcome,
    beforeCommit?: (tx: SqlExecutor) => Promise<void>,
    options: TransactionOptions = {},
  ): Promise<string> {
    const { match } = outcome;
    return (await this.database()).withTransaction(async (tx) => {
      const written = await tx.copyFrom(
        'discrepancies',
        DISCREPANCY_COLUMNS,
        chunkCopyRows(match.discrepancies, (d) => discrepancyRow(runId, d)),
      );
      if (written !== match.discrepancies.length) {
        throw new Error(
          `COPY wrote ${written} discrepancies, expected ${match.discrepancies.length}`,
        );
      }
      const auditHead = await this.finishCompletion(tx, runId, outcome);
      if (beforeCommit) await beforeCommit(tx);
      return auditHead;
    }, options);
  }

  /**
   * A dry run against the stored breaks: in ONE transaction that always ROLLS BACK, records the
   * run `runId` as `running`, then does exactly what `completeRun` does (discrepancies, breaks
   * synced, supersession, counts, audit entries) and calls `read` with the transaction to read
   * what the run would have changed (e.g. its breaks); returns what `read` returned. Nothing
   * outlives it: no run lock, no committed row, no audit entry (sequences may advance, as for
   * any rolled-back transaction). `options.signal` as for `completeRun`.
   * @throws RunInProgressError when a run of the same date and processor is `running` (its
   *   results would change what the projection reads); whatever the store throws otherwise.
   */
  async projectRun<T>(
    runId: string,
    start: RunStart,
    outcome: RunOutcome,
    read: (tx: SqlExecutor) => Promise<T>,
    options: Pick<TransactionOptions, 'signal'> = {},
  ): Promise<T> {
    const db = await this.database();
    const box: { value?: T } = {};
    try {
      await db.withTransaction(async (tx) => {
        const running = await tx.query<{ id: string }>(
          `SELECT id::text FROM reconciliation_runs
            WHERE run_date = $1 AND processor_name = $2 AND status = 'running'`,
          [start.businessDate, start.processor],
        );
        if (running.length > 0) throw new RunInProgressError(start.businessDate, start.processor);
        await tx.query(
          `INSERT INTO reconciliation_runs
             (id, run_date, processor_name, status, processor_source, internal_source,
              currency_table_version, app_version)
           VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)`,
          [
            runId,
            start.businessDate,
            start.processor,
            start.processorSource,
            start.internalSource,
            ISO4217_TABLE_VERSION,
            start.appVersion,
          ],
        );
        await tx.copyFrom(
          'discrepancies',
          DISCREPANCY_COLUMNS,
          chunkCopyRows(outcome.match.discrepancies, (d) => discrepancyRow(runId, d)),
        );
        await this.finishCompletion(tx, runId, outcome);
        box.value = await read(tx);
        throw DRY_RUN_ROLLBACK;
      }, options);
    } catch (error) {
      if (error !== DRY_RUN_ROLLBACK) throw error;
    }
    if (!('value' in box)) throw new Error('the dry-run projection returned nothing');
    return box.value as T;
  }

  /**
   * `completeRun` for the `postgres` engine (`sql-engine.ts`), in two transactions. The first
   * stages both sides and classifies them in SQL (`classifyInDatabase`: staging tables only, its
   * staged rows deleted before it commits). The second, the run's own, writes the discrepancies
   * (COPY, as `completeRun` does), then calls `conclude` with the match result and the
   * transaction (carry-over runs there: `carryOverInDatabase`) to get the rest of the outcome
   * (summary, findings, report paths; throwing there rolls the run back), stores it like
   * `completeRun` and runs `beforeCommit` last. No transaction mixes staging tables and run
   * tables, which is what Citus needs to keep the distributed work parallel (docs/postgres-engine.md).
   * `options` (lock, signal) apply to both. Returns the stored outcome, with the hash of its
   * `run_completed` audit entry.
   */
  async completeRunInDatabase(
    runId: string,
    sides: {
      readonly processor: TransactionRows;
      readonly internal: TransactionRows;
      /** The processor's fee rules (basis `net` compares the processor's net); default gross. */
      readonly fees?: FeeRules;
    },
    conclude: (match: MatchResult, tx: SqlExecutor) => RunOutcome | Promise<RunOutcome>,
    beforeCommit?: (outcome: RunOutcome, tx: SqlExecutor) => Promise<void>,
    options: TransactionOptions = {},
  ): Promise<RunOutcome & { readonly auditHead: string }> {
    const db = await this.database();
    await ensureStagingTables(db);
    // 1. Staging and classification, in a transaction of their own that touches the staging
    //    tables only (distributed on Citus: a parallel multi-shard COPY, join and DELETE).
    const match = await db.withTransaction(
      (tx) =>
        classifyInDatabase(tx, runId, sides.processor, sides.internal, {
          ...(sides.fees ? { fees: sides.fees } : {}),
        }),
      options,
    );
    // 2. The run's own transaction, run tables only (coordinator tables on Citus): the
    //    discrepancies (the bounded result of step 1), carry-over, run row, audit, breaks. A
    //    failure here stores nothing; step 1 left nothing behind (its staged rows are deleted).
    return db.withTransaction(async (tx) => {
      await tx.copyFrom(
        'discrepancies',
        DISCREPANCY_COLUMNS,
        chunkCopyRows(match.discrepancies, (d) => discrepancyRow(runId, d)),
      );
      const outcome = await conclude(match, tx);
      const auditHead = await this.finishCompletion(tx, runId, outcome);
      if (beforeCommit) await beforeCommit(outcome, tx);
      return { ...outcome, auditHead };
    }, options);
  }

  /**
   * `completeRunInDatabase` for a streamed run (issue #16, part 2): neither side is held in Node.
   * 1. Staged rows of runs that are no longer `running` (a process that died between its COPY
   *    and its clean-up) are deleted: their ids are read from the staging tables, their status
   *    from `reconciliation_runs`, in separate statements.
   * 2. Both sides are COPYed into staging as their tables arrive (`stageStreamedSide`), the
   *    processor side first, then the ledger side (one side's parse in memory at a time), each
   *    on a pooled connection and committed when its COPY ends (no transaction of the run's is
   *    open meanwhile). When the processor side fails the ledger side is not read.
   * 3. `staged` is called with the staged row counts and a way to count each side's duplicated
   *    ids: it decides whether the run goes on (e.g. the invalid-row rate: throwing stops the run).
   * 4. One transaction on the staging tables only classifies (`classifyStagedInDatabase`) and
   *    deletes the staged rows; 5. the run's own transaction, on run tables only, is the one of
   *    `completeRunInDatabase` (discrepancies, `conclude`, run row, audit, `beforeCommit`).
   * Whatever fails after step 2 began, the run's staged rows are deleted before this returns (a
   * crash instead leaves them for step 1 of a later run). `options` (lock, signal) apply to the
   * transactions; the signal also stops the COPYs.
   */
  async completeStreamedRunInDatabase(
    runId: string,
    sides: {
      readonly processor: AsyncIterable<TransactionTable>;
      readonly internal: AsyncIterable<TransactionTable>;
      /** The processor's fee rules (basis `net` compares the processor's net); default gross. */
      readonly fees?: FeeRules;
    },
    staged: (
      rows: { readonly processor: number; readonly internal: number },
      countDuplicatedIds: () => Promise<{ processor: number; internal: number }>,
    ) => Promise<void>,
    conclude: (
      classified: StagedClassification,
      tx: SqlExecutor,
    ) => RunOutcome | Promise<RunOutcome>,
    beforeCommit?: (outcome: RunOutcome, tx: SqlExecutor) => Promise<void>,
    options: TransactionOptions = {},
  ): Promise<RunOutcome & { readonly auditHead: string }> {
    const db = await this.database();
    await ensureStagingTables(db);
    await this.deleteStaleStagedRows(db);
    let stagedRowsLeft = true;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) onAbort();
      const stage = (
        side: 'processor' | 'internal',
        tables: AsyncIterable<TransactionTable>,
      ): Promise<number> =>
        stageStreamedSide(db, side, runId, tables, {
          netBasis: side === 'processor' && sides.fees?.ledgerAmountBasis === 'net',
          signal: stop.signal,
        });
      // One side after the other (issue #16, the memory bound): only one side's parser thread,
      // batches and table exist at a time, which halves the peak of the staging; the database's
      // COPY and the classification, not the parse, are most of the wall time.
      const processor = await stage('processor', sides.processor);
      const internal = await stage('internal', sides.internal);
      const rows = { processor, internal };
      await staged(rows, () => countStagedDuplicatedIds(db, runId));
      options.signal?.throwIfAborted();
      const classified = await db.withTransaction(
        (tx) => classifyStagedInDatabase(tx, runId, rows),
        options,
      );
      stagedRowsLeft = false;
      return await db.withTransaction(async (tx) => {
        await tx.copyFrom(
          'discrepancies',
          DISCREPANCY_COLUMNS,
          chunkCopyRows(classified.match.discrepancies, (d) => discrepancyRow(runId, d)),
        );
        const outcome = await conclude(classified, tx);
        const auditHead = await this.finishCompletion(tx, runId, outcome);
        if (beforeCommit) await beforeCommit(outcome, tx);
        return { ...outcome, auditHead };
      }, options);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      // A COPY committed before the run failed: its rows must not outlive the run.
      if (stagedRowsLeft) await deleteStagedRows(db, runId);
    }
  }

  /**
   * Deletes the staged rows of every run that is no longer `running` (see
   * `completeStreamedRunInDatabase`, step 1). No statement touches both staging and run tables.
   */
  private async deleteStaleStagedRows(db: Database): Promise<void> {
    const ids = await stagedRunIds(db);
    if (ids.length === 0) return;
    const running = await db.query<{ id: string }>(
      `SELECT id::text FROM reconciliation_runs WHERE id = ANY($1::uuid[]) AND status = 'running'`,
      [`{${ids.join(',')}}`],
    );
    const live = new Set(running.map((row) => row.id));
    for (const id of ids) if (!live.has(id)) await deleteStagedRows(db, id);
  }

  /**
   * The part of completing a run after its discrepancies are written: data-quality findings,
   * supersession of the previous completed run, final counts and status, audit entries. The
   * `run_completed` entry records the stored results (`run-digest.ts`, checked by `verify-audit`);
   * returns its hash.
   */
  private async finishCompletion(
    tx: SqlExecutor,
    runId: string,
    outcome: RunOutcome,
  ): Promise<string> {
    const { match, summary } = outcome;
    await syncBreaks(tx, runId, outcome.breaks ?? EMPTY_BREAK_PLAN, audit);
    const amounts = totalsToDecimalStrings(summary.discrepancyAmounts);
    const currencies = Object.keys(amounts);
    const single = currencies.length === 1 ? currencies[0] : undefined;
    await tx.copyFrom(
      'data_quality_checks',
      QUALITY_COLUMNS,
      chunkCopyRows(outcome.issues, (i) => qualityRow(runId, i)),
    );
    const runRows = await tx.query<{ run_date: string; processor_name: string }>(
      `SELECT run_date::text, processor_name FROM reconciliation_runs WHERE id = $1`,
      [runId],
    );
    const run = runRows[0];
    if (!run) throw new Error(`run ${runId} does not exist`);
    if (outcome.settlement)
      await writeRunSettlement(tx, runId, run.processor_name, outcome.settlement);
    // Settlement breaks across days (schema 8): before the previous run of the date is superseded.
    await syncSettlementBreaks(tx, runId, outcome.settlement ?? null, audit);
    const superseded = await tx.query<{ id: string }>(
      `UPDATE reconciliation_runs SET status = 'superseded', superseded_by = $1
          WHERE run_date = $2 AND processor_name = $3 AND status = 'completed' AND id <> $1
          RETURNING id::text`,
      [runId, run.run_date, run.processor_name],
    );
    for (const old of superseded)
      await audit(tx, 'run_superseded', old.id, { superseded_by: runId });
    const c = match.counts;
    const completed = await tx.query<{ id: string }>(
      `UPDATE reconciliation_runs SET
           status = 'completed', end_time = now(),
           processor_transaction_count = $2, internal_transaction_count = $3, matched_count = $4,
           missing_transaction_count = $5, missing_in_processor_count = $6,
           amount_mismatch_count = $7, currency_mismatch_count = $8, status_mismatch_count = $9,
           duplicate_count = $10, discrepancy_count = $11, invalid_row_count = $12,
           total_discrepancy_amount = $13, total_discrepancy_currency = $14,
           discrepancy_amounts = $15, processor_volume = $16, internal_volume = $17,
           discrepancy_rate = $18, risk_level = $19, compliance_status = $20,
           report_csv_path = $21, report_json_path = $22, fee_mismatch_count = $23,
           matched_with_variance_count = $24, ambiguous_count = $25
         WHERE id = $1 AND status = 'running'
         RETURNING id::text`,
      [
        runId,
        match.processorTransactions,
        match.internalTransactions,
        c.matched,
        c.missing_in_internal,
        c.missing_in_processor,
        c.amount_mismatch,
        c.currency_mismatch,
        c.status_mismatch,
        c.duplicate,
        summary.discrepancyCount,
        outcome.invalidRows,
        currencies.length === 0 ? '0' : single ? (amounts[single] ?? null) : null,
        single ?? null,
        JSON.stringify(amounts),
        JSON.stringify(totalsToDecimalStrings(summary.processorVolume)),
        JSON.stringify(totalsToDecimalStrings(summary.internalVolume)),
        summary.discrepancyRate,
        summary.riskLevel,
        summary.complianceStatus,
        outcome.reportCsvPath,
        outcome.reportJsonPath,
        c.fee_mismatch,
        c.matched_with_variance ?? null,
        c.ambiguous ?? null,
      ],
    );
    if (completed.length !== 1) {
      // Another process ended this run (e.g. marked it abandoned after our lock was lost): its
      // results must not be committed under a status that says otherwise.
      const now = await tx.query<{ status: string }>(
        `SELECT status FROM reconciliation_runs WHERE id = $1`,
        [runId],
      );
      throw new RunLockLostError(
        `run ${runId} is no longer running (another process marked it ${now[0]?.status ?? 'missing'}); its results were rolled back`,
      );
    }
    const entry = await tx.query<{ entry_hash: string }>(
      `INSERT INTO audit_log (run_id, event, details) VALUES ($1, 'run_completed', $2)
       RETURNING entry_hash`,
      [
        runId,
        JSON.stringify({
          discrepancies: summary.discrepancyCount,
          invalid_rows: outcome.invalidRows,
          risk_level: summary.riskLevel,
          superseded: superseded.map((row) => row.id),
          results: await computeRunResults(tx, runId),
        }),
      ],
    );
    const auditHead = entry[0]?.entry_hash;
    if (!auditHead) throw new Error('INSERT INTO audit_log … RETURNING entry_hash returned no row');
    return auditHead;
  }

  /**
   * Marks a run `failed` with `message`, keeping its data-quality findings (why input was
   * rejected) but no discrepancies. One transaction. A run that is no longer `running` (another
   * process marked it `abandoned` after this one lost its lock) is left as it is.
   */
  async failRun(
    runId: string,
    message: string,
    issues: readonly DataQualityIssue[] = [],
  ): Promise<void> {
    await (
      await this.database()
    ).withTransaction(async (tx) => {
      const failed = await tx.query<{ id: string }>(
        `UPDATE reconciliation_runs SET status = 'failed', end_time = now(), error_message = $2
          WHERE id = $1 AND status = 'running'
          RETURNING id::text`,
        [runId, message],
      );
      if (failed.length === 0) return;
      if (issues.length > 0) {
        await tx.copyFrom(
          'data_quality_checks',
          QUALITY_COLUMNS,
          chunkCopyRows(issues, (i) => qualityRow(runId, i)),
        );
      }
      await audit(tx, 'run_failed', runId, { error: message });
    });
  }

  /**
   * Hash of the run's `run_completed` audit entry (the chain head when it committed), or `null`
   * for a run that never completed (or completed before schema 4 recorded results).
   */
  async auditHeadOf(runId: string): Promise<string | null> {
    const rows = await (
      await this.database()
    ).query<{ entry_hash: string }>(
      `SELECT entry_hash FROM audit_log WHERE run_id = $1 AND event = 'run_completed'
        ORDER BY seq DESC LIMIT 1`,
      [runId],
    );
    return rows[0]?.entry_hash ?? null;
  }

  /** Runs, newest first, optionally for one business date and/or processor. */
  async listRuns(filter: RunFilter): Promise<StoredRun[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.businessDate) {
      params.push(filter.businessDate);
      where.push(`run_date = $${params.length}`);
    }
    if (filter.processor) {
      params.push(filter.processor);
      where.push(`processor_name = $${params.length}`);
    }
    params.push(filter.limit);
    const rows = await (
      await this.database()
    ).query<RunRow>(
      `${RUN_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY start_time DESC, id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toStoredRun);
  }

  /** One run by id, or `null`. A malformed id is `null` too (never a database error). */
  async getRun(runId: string): Promise<StoredRun | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runId)) return null;
    const rows = await (
      await this.database()
    ).query<RunRow>(`${RUN_SELECT} WHERE id = $1`, [runId]);
    const row = rows[0];
    return row ? toStoredRun(row) : null;
  }

  /**
   * The full id of the run named by `input`: its full id or any unique prefix of at least 8
   * characters, any case (as git takes short commit hashes). See `store/id-prefix.ts`.
   * @throws UsageError when `input` is too short or not hex digits and dashes; NotFoundError when
   *   no run id starts with it; AmbiguousIdError (a UsageError) when several do, naming them.
   */
  async resolveRunId(input: string): Promise<string> {
    return resolveIdPrefix(await this.database(), RUN_IDS, input);
  }

  /** Payouts (settlement groups) of completed runs, see `listPayouts` (`settlement-store.ts`). */
  async listPayouts(filter: PayoutFilter): Promise<StoredPayout[]> {
    return listPayouts(await this.database(), filter);
  }

  /** The payout `parentId` of the latest completed run that has it, see `showPayout`. */
  async showPayout(parentId: string, processor?: string): Promise<StoredPayoutDetail[]> {
    return showPayout(await this.database(), parentId, processor);
  }

  /** A run's discrepancies, largest amount at stake first, at most `limit`. */
  async listDiscrepancies(runId: string, limit: number): Promise<StoredDiscrepancy[]> {
    const rows = await (
      await this.database()
    ).query<{
      kind: string;
      transaction_id: string;
      amount: string;
      currency: string;
      difference: string | null;
      processor_status: string | null;
      internal_status: string | null;
      merchant_id: string | null;
    }>(
      `SELECT kind, transaction_id, amount::text AS amount, currency, difference::text AS difference,
              processor_status, internal_status, merchant_id
         FROM discrepancies WHERE run_id = $1
        ORDER BY abs(COALESCE(difference, amount)) DESC, kind, transaction_id
        LIMIT $2`,
      [runId, limit],
    );
    return rows.map((row) => ({
      kind: row.kind,
      transactionId: row.transaction_id,
      amount: row.amount,
      currency: row.currency,
      difference: row.difference,
      processorStatus: row.processor_status,
      internalStatus: row.internal_status,
      merchantId: row.merchant_id,
    }));
  }
}
