import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import Big from 'big.js';
import type { Logger } from '../config/logger';
import type { BusinessDate } from '../domain/business-date';
import type { DataQualityIssue } from '../domain/data-quality';
import {
  describeError,
  InputRejectedError,
  ReconError,
  RunInProgressError,
  UsageError,
} from '../domain/errors';
import { STATUS_MAPS, type ProcessorName } from '../domain/status';
import {
  checkAccounting,
  MATCH_ENGINES,
  type EngineName,
  type MatchResult,
  type OutcomeCounts,
  type TimingPair,
} from '../engine/match-transactions';
import type { FxRates } from '../domain/fx-rates';
import { NO_RULES, rulesFor, type MatchRules } from '../engine/rules';
import { applyTiers, tiersAgainstCarried, type TierMatchSummary } from '../engine/tiers';
import {
  SideTotals,
  summarizeReconciliation,
  summarizeWithTotals,
  type ReconciliationSummary,
} from '../engine/summarize';
import { DEFAULT_FEE_RULES, type FeeRules } from '../engine/fee-rules';
import {
  countBasisMismatchSuspected,
  feeVarianceIssue,
  findFeeVariances,
  type FeeVariance,
} from '../engine/fees';
import {
  openBreaksPathBeside,
  prepareReports,
  repairPendingReports,
  reportPaths,
  writeReports,
  type PreparedReports,
  type ReportPaths,
} from '../reports/write-reports';
import {
  lookupByIdentity,
  type PagedRows,
  type ReportBreak,
  type ReportBreaks,
  type ReportContext,
} from '../reports/render-report';
import { checkReportsDir } from '../reports/reports-dir';
import type { ApiConfig, BreakSettings } from '../config/load-config';
import { carryOver, type CarriedBreak, type CarryResult } from '../engine/break-lifecycle';
import { calendarDayCutoffs, cutoffOf, type SourceCutoffs } from '../domain/cutoff';
import {
  BreakStore,
  readRunReportBreaks,
  type PagedBreaks,
  type RunBreaks,
  type RunReportBreaks,
  type StoredBreak,
} from '../store/break-store';
import type { SqlExecutor } from '../store/database';
import {
  readSideStreamed,
  type ReadContext,
  type SourceReadResult,
  type StreamedReadEnd,
  type TransactionSource,
} from '../sources/transaction-source';
import { SideCheckAccumulator } from '../sources/side-checks';
import type { TransactionTable } from '../domain/transaction-table';
import { SourceFactory, sourceChoiceOf, type SourceChoice } from './build-sources';
import type { RunLock } from '../store/database';
import type { DatabaseConfig } from '../store/database-config';
import { createRunStore } from '../store/open-store';
import type { RunOutcome, RunStore, StoredRun } from '../store/run-store';
import { carryOverInDatabase } from '../store/sql-engine';
import { queryCarried } from '../store/carried-breaks';
import { rewriteDiscrepancies } from '../store/run-store';
import type { RunSettlement, SettlementSource } from '../engine/settlement';
import { canonicalPayoutsSourceFor } from '../sources/settlement/canonical-payouts';
import { settlementSourceFor } from '../sources/settlement/settlement-sources';
import type { RetryObserver } from '../sources/http/http-client';
import { inputPaths } from './build-sources';
import {
  claimedCredits,
  ledgerSplitLeg,
  NO_BANK,
  reconcileSettlement,
  withGroups,
  type BankSettings,
} from './settlement-leg';
import type { CarriedPayout } from '../engine/settlement-breaks';
import { loadCarriedPayouts, readRunSettlementBreaks } from '../store/settlement-break-store';

/**
 * Repairs a crash between a run's COMMIT and the publishing of its report files (see
 * `repairPendingReports`), from what the database says: pending files of the `completed` run are
 * published; with `removeOthers` (caller holds the run lock) pending files of any other run are
 * removed. Never throws: a problem is logged (the run's own reports are still written after it).
 */
export async function repairReports(
  store: RunStore,
  paths: ReportPaths,
  log: Logger,
  removeOthers: boolean,
): Promise<void> {
  try {
    const repair = await repairPendingReports(
      paths,
      async (runId) => (await store.getRun(runId))?.status === 'completed',
      { removeOthers },
    );
    if (repair.published.length > 0)
      log.warn({ published: repair.published }, 'published the reports of a committed run');
    if (repair.removed.length > 0)
      log.info({ removed: repair.removed }, 'removed report files of runs that did not commit');
  } catch (error) {
    log.warn({ err_message: describeError(error) }, 'could not repair pending report files');
  }
}

/**
 * Where matching runs. `memory` (default): the pure in-process hash join of `engine/`.
 * `postgres`: both sides are staged with COPY and classified by one SQL join inside the run's
 * database transaction (`store/sql-engine.ts`, `docs/postgres-engine.md`); same results. It needs
 * the database, so it refuses dry runs.
 */
export type { EngineName } from '../engine/match-transactions';

/** What to reconcile and how. Paths are relative to the working directory. */
export interface RunRequest {
  /** Business dates, reconciled in this order. */
  readonly dates: readonly BusinessDate[];
  readonly processors: readonly ProcessorName[];
  readonly timeZone: string;
  /** Where each side comes from (CSV, API, saved pages) and the CSV layout. */
  readonly sources: SourceChoice;
  readonly reportsDir: string;
  /** Reconcile and write local reports, but write nothing to the database. */
  readonly dryRun: boolean;
  /** Largest accepted share of invalid rows per input file, as a decimal fraction (`0.01`). */
  readonly maxInvalidRate: string;
  readonly appVersion: string;
  /** Matching engine; default `memory`. `postgres` cannot be combined with `dryRun`. */
  readonly engine?: EngineName;
  /** Matching rules (rules file, issue #14); default `NO_RULES` (id join only, as before). */
  readonly rules?: MatchRules;
  /** Reporting currency and rates for the risk thresholds (README "Reporting currency"). */
  readonly fx?: FxRates | null;
  /** Breaks across days; default `DEFAULT_BREAK_SETTINGS` (carry 90, grace 0, escalate 7 days). */
  readonly breaks?: BreakSettings;
  /**
   * Business-day cut-off of each side (RECON_CUTOFF_*): the fetch window of an API side, the
   * business date of every row (a clean pair on two business dates is `timing`) and the
   * `outside_business_date` finding. Default: every side on the calendar day in `timeZone`.
   */
  readonly cutoffs?: SourceCutoffs;
  /**
   * Fee rules per processor (issue #14 "Fees": amount basis, expected fee schedule, tolerance);
   * a processor not listed gets `DEFAULT_FEE_RULES` (basis gross, no schedule). Both engines
   * run both bases.
   */
  readonly fees?: Partial<Record<ProcessorName, FeeRules>>;
  /**
   * Bank statements for the payouts (issue #15: `--bank-file`, `RECON_BANK_DIR`, `--bank-format`,
   * `--bank-window-days`); default `NO_BANK`. Read only by runs that have a settlement source.
   */
  readonly bank?: BankSettings;
}

/**
 * The fee rules of `processor` for this run: `request.fees` when it names the processor, else the
 * rules file's (`request.rules`), else `DEFAULT_FEE_RULES` (basis gross, no schedule).
 */
export function feeRulesOf(request: RunRequest, processor: ProcessorName): FeeRules {
  return (
    request.fees?.[processor] ??
    (request.rules ? rulesFor(request.rules, processor).fees : DEFAULT_FEE_RULES)
  );
}

/** The defaults of RECON_CARRY_DAYS, RECON_GRACE_DAYS and RECON_ESCALATE_DAYS. */
export const DEFAULT_BREAK_SETTINGS: BreakSettings = {
  carryDays: 90,
  graceDays: 0,
  escalateDays: 7,
};

/**
 * @throws UsageError for `engine: 'postgres'` with `dryRun` (the SQL engine writes as it
 *   classifies).
 */
function checkEngine(request: RunRequest): void {
  if (request.engine === 'postgres' && request.dryRun) {
    throw new UsageError(
      '--engine postgres classifies inside the database and stores as it goes; it cannot be combined with --dry-run (use the memory engine for dry runs)',
    );
  }
}

/**
 * The report view of a run's breaks (`readRunReportBreaks`). For a dry run (`projected`), the
 * breaks it would open have no id: the transaction that gave them one rolled back.
 */
export function toReportBreaks(
  read: RunReportBreaks,
  runId: string,
  projected: boolean,
): ReportBreaks {
  const idOf = (breakId: string, firstSeenRunId: string | null): string | null =>
    projected && firstSeenRunId === runId ? null : breakId;
  const viewOf = (
    breaks: readonly StoredBreak[] | PagedBreaks,
  ): readonly ReportBreak[] | PagedRows<ReportBreak> =>
    Array.isArray(breaks)
      ? (breaks as readonly StoredBreak[]).map(view)
      : {
          pages: async function* () {
            for await (const page of (breaks as PagedBreaks).pages()) yield page.map(view);
          },
        };
  const view = (b: StoredBreak): ReportBreak => ({
    ...b,
    breakId: idOf(b.breakId, b.firstSeenRunId),
    firstSeenRunId: projected && b.firstSeenRunId === runId ? null : b.firstSeenRunId,
    lastSeenRunId: projected && b.lastSeenRunId === runId ? null : b.lastSeenRunId,
    resolvedRunId: projected && b.resolvedRunId === runId ? null : b.resolvedRunId,
  });
  return {
    block: read.summary,
    // A view of the compact linked breaks, each reference built when read (it dies young).
    byIdentity: lookupByIdentity((transactionId, scope) => {
      const b = read.linked.get(transactionId, scope);
      return b
        ? {
            breakId: idOf(b.breakId, b.firstSeenRunId),
            status: b.status,
            originDate: b.originDate,
            ageDays: b.ageDays,
          }
        : undefined;
    }),
    resolved: viewOf(read.resolved),
    open: viewOf(read.open),
  };
}

/**
 * The store a dry run reads its breaks from, or `null` when there is no database to read: a
 * server (`DATABASE_URL`, `DB_HOST`) always counts; embedded PGlite only when its data directory
 * already exists (a dry run never creates a database; `memory://` has nothing stored).
 */
export function dryRunStore(config: DatabaseConfig): RunStore | null {
  if (config.kind === 'pglite') {
    const dir = config.settings.dataDir;
    if (dir.startsWith('memory://') || !existsSync(dir)) return null;
  }
  return createRunStore(config);
}

/** Collaborators of the job; the CLI and the scheduler build them from configuration. */
export interface JobDeps {
  /**
   * Where runs are stored. `null` for dry runs without a database; a dry run WITH one reads its
   * open breaks and projects the run in a transaction that rolls back (`RunStore.projectRun`).
   */
  readonly store: RunStore | null;
  readonly logger: Logger;
  /** Current time in epoch milliseconds. */
  readonly now: () => number;
  /** HTTP API settings, for API sources. */
  readonly apis: ApiConfig;
  /** Writes a progress line for long fetches (the CLI passes one when stderr is a TTY). */
  readonly progress?: (line: string) => void;
  /** Aborted on SIGTERM/SIGINT (reason: an `InterruptedError`): the run stops, rolls back and fails. */
  readonly abort?: AbortSignal;
  /**
   * The settlement source of (date, processor) other than the canonical payouts file (the API
   * settlement sources), or `null`; consulted first. Without one, or when it returns `null`, a
   * run has a settlement leg only when `{data-dir}/{date}/payouts_{processor}.csv` exists (CSV
   * processor side).
   */
  readonly settlementSources?: (
    date: BusinessDate,
    processor: ProcessorName,
  ) => SettlementSource | null;
}

/**
 * The settlement source of one run, the first of: `deps.settlementSources`' (tests, other
 * wiring); the one the processor input carries (`settlementSourceFor`: the Stripe or Square
 * payouts API for an API processor side, the Adyen settlement details report for an Adyen CSV);
 * the canonical payouts file of the date (`canonical-payouts.ts`) for a CSV processor side when
 * it exists; else `null` (no settlement leg: the run is exactly as without issue #15).
 * `observer` receives the API sources' retry lines.
 * @throws what `settlementSourceFor` throws (ConfigError for missing credentials, …).
 */
export async function settlementSourceOf(
  deps: Pick<JobDeps, 'settlementSources' | 'apis'>,
  request: Pick<RunRequest, 'sources'>,
  date: BusinessDate,
  processor: ProcessorName,
  observer: RetryObserver = { warn: () => undefined },
): Promise<SettlementSource | null> {
  const given = deps.settlementSources?.(date, processor) ?? null;
  if (given) return given;
  const { sources } = request;
  const processorFile = inputPaths(sources, date, processor).processor;
  const carried = await settlementSourceFor(processor, {
    businessDate: date,
    processorSource: sources.processorSource,
    ...(sources.processorSource === 'csv' ? { processorFile } : {}),
    ...(sources.format !== undefined ? { format: sources.format } : {}),
    ...(sources.processorEncoding !== undefined ? { encoding: sources.processorEncoding } : {}),
    apis: deps.apis,
    observer,
  });
  if (carried) return carried;
  if (sources.processorSource !== 'csv') return null;
  return canonicalPayoutsSourceFor(
    sources.dataDir,
    date,
    processor,
    processorFile,
    sources.processorEncoding,
  );
}

/** Rejects with the abort reason as soon as `signal` aborts; otherwise settles like `work`. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // Pass on whatever the work rejected with, unchanged.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}

/**
 * `recon deliver`'s repair of a stored run's report files before it delivers them (see
 * `repairReports`). Takes the run lock of the run's date and processor when it is free, so that
 * pending files of runs that never committed can be removed too; while another run holds it, only
 * the committed run's pending files are published. Never throws.
 */
export async function repairStoredRunReports(
  store: RunStore,
  run: Pick<StoredRun, 'businessDate' | 'processor' | 'reportCsvPath' | 'reportJsonPath'>,
  log: Logger,
): Promise<void> {
  if (!run.reportCsvPath || !run.reportJsonPath) return;
  let lock: RunLock | null = null;
  try {
    lock = await store.lockRun(run.businessDate, run.processor);
  } catch (error) {
    if (!(error instanceof RunInProgressError))
      log.warn({ err_message: describeError(error) }, 'run lock not taken for the report repair');
  }
  try {
    await repairReports(
      store,
      {
        csv: run.reportCsvPath,
        json: run.reportJsonPath,
        openBreaks: openBreaksPathBeside(run.reportCsvPath),
      },
      log,
      lock !== null,
    );
  } finally {
    await lock?.release();
  }
}

/** Outcome of one (business date, processor) run. `error` is set when `status` is `failed`. */
export interface RunResult {
  readonly runId: string | null;
  readonly businessDate: BusinessDate;
  readonly processor: ProcessorName;
  readonly status: 'completed' | 'failed';
  readonly dryRun: boolean;
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  readonly invalidRows: number;
  readonly counts: OutcomeCounts | null;
  /** Amount mismatches annotated `basis_mismatch_suspected` (issue #14 "Fees"); 0 when none. */
  readonly basisMismatchSuspected?: number;
  /**
   * Timing pairs: pairs of the run's own rows on two business dates by the cut-offs, plus pairs
   * completed by a carried break of an earlier date (late arrivals); 0 when none.
   */
  readonly timing?: number;
  /** The run's own timing pairs with their lags (`MatchResult.timingPairs`); empty when none. */
  readonly timingPairs?: readonly TimingPair[];
  /**
   * With rules-file tiers: clean pairs per tier (`id` first) and each tier's summary (pairs,
   * amount and |variance| per currency, minor units). Absent without tiers.
   */
  readonly tiers?: {
    readonly matchesByTier: Readonly<Record<string, number>>;
    readonly matches: readonly TierMatchSummary[];
  };
  /** The run's `breaks` block (stored runs only; `null` for dry runs and failed runs). */
  readonly breaks?: RunBreaks | null;
  readonly summary: ReconciliationSummary | null;
  readonly reports: ReportPaths | null;
  /**
   * Hash (SHA-256, hex) of the run's `run_completed` audit entry: the audit chain's head when the
   * run committed, to keep outside the database (`recon db verify-audit --expect-head`). `null`
   * for dry runs and failed runs.
   */
  readonly auditHead: string | null;
  /**
   * The run's settlement leg (issue #15: payout groups, bank leg, counts); `null` (or absent) when
   * the run has no settlement source, and for failed runs.
   */
  readonly settlement?: RunSettlement | null;
  readonly error: unknown;
}

/** One side's counts and findings (`SourceReadResult` without its rows). */
type SideCounts = Pick<SourceReadResult, 'location' | 'rowCount' | 'invalidCount' | 'issues'>;

function logInputsRead(log: Logger, processorSide: SideCounts, internalSide: SideCounts): void {
  log.info(
    {
      processor_rows: processorSide.rowCount,
      internal_rows: internalSide.rowCount,
      invalid_rows: processorSide.invalidCount + internalSide.invalidCount,
    },
    'inputs read',
  );
}

function checkInvalidRate(side: SideCounts, maxRate: string): void {
  if (side.rowCount === 0 || side.invalidCount === 0) return;
  const rate = new Big(side.invalidCount).div(side.rowCount);
  if (rate.gt(maxRate)) {
    const first = side.issues.find((issue) => issue.severity === 'error');
    const example = first ? `; first at line ${first.line ?? '?'}: ${first.reason}` : '';
    throw new InputRejectedError(
      `${side.location}: ${side.invalidCount} of ${side.rowCount} rows are invalid ` +
        `(${rate.times(100).toFixed(2)}% > ${new Big(maxRate).times(100).toFixed(2)}% allowed by --max-invalid-rate)${example}`,
      { location: side.location, line: first?.line ?? undefined, field: first?.field ?? undefined },
    );
  }
}

/**
 * Reconciles one processor for one business date: read both sides, validate, match, store (one
 * transaction, unless dry run), write the local reports. Never throws for a failed run: the
 * failure is recorded on the run (status `failed`, error message, data-quality findings) and
 * returned in `RunResult.error`.
 */
export async function reconcileOne(
  deps: JobDeps,
  request: RunRequest,
  businessDate: BusinessDate,
  processor: ProcessorName,
  sources: SourceFactory = new SourceFactory(
    sourceChoiceOf(request),
    deps.apis,
    deps.logger,
    deps.progress,
  ),
  claimedElsewhere: ReadonlySet<string> = new Set(),
): Promise<RunResult> {
  const base = {
    businessDate,
    processor,
    dryRun: request.dryRun,
    processorTransactions: 0,
    internalTransactions: 0,
    invalidRows: 0,
    counts: null,
    timing: 0,
    breaks: null,
    summary: null,
    reports: null,
    auditHead: null,
  };
  const store = request.dryRun ? null : deps.store;
  // A dry run with a database reads the stored breaks and stores nothing (`projectRun`).
  const reader = request.dryRun && request.engine !== 'postgres' ? deps.store : null;
  const breakSettings = request.breaks ?? DEFAULT_BREAK_SETTINGS;
  let runId: string | null = null;
  let log = deps.logger.child({ business_date: businessDate, processor });
  let processorSource: TransactionSource;
  let internalSource: TransactionSource;
  try {
    checkEngine(request);
    if (request.engine === 'postgres' && !store)
      throw new UsageError('--engine postgres needs a database');
    // The sources log through `log` as it is when they do (with run_id once the run exists).
    const runReporter = {
      info: (details: object, message: string) => log.info(details, message),
      warn: (details: object, message: string) => log.warn(details, message),
    };
    [processorSource, internalSource] = sources.sourcesFor(businessDate, processor, runReporter);
  } catch (error) {
    log.error({ err_message: describeError(error) }, 'run not started');
    return { ...base, runId: null, status: 'failed', error };
  }
  let lock: RunLock | null;
  try {
    lock = store ? await store.lockRun(businessDate, processor) : null;
  } catch (error) {
    log.error({ err_message: describeError(error) }, 'run not started');
    return { ...base, runId: null, status: 'failed', error };
  }
  const issues: DataQualityIssue[] = [];
  // Set once the run's transaction committed: from then on its pending reports are published,
  // never discarded (a failure to publish leaves them for the next run or `recon deliver`).
  let committed = false;
  const pending: { files: Promise<PreparedReports> | null } = { files: null };
  try {
    if (store)
      await repairReports(
        store,
        reportPaths(request.reportsDir, processor, businessDate),
        log,
        true,
      );
    const transactionOptions = { lock: lock ?? undefined, signal: deps.abort };
    runId = store
      ? await store.startRun(
          {
            businessDate,
            processor,
            processorSource: processorSource.location,
            internalSource: internalSource.location,
            appVersion: request.appVersion,
            rules: request.rules?.source ?? null,
          },
          transactionOptions,
        )
      : randomUUID();
    log = log.child({ run_id: runId });
    // Payouts of earlier dates still pending or missing in the bank (schema 8), offered to this
    // run's bank statement entries; read before any transaction of the run.
    const settlementDb = store ?? reader;
    const carriedPayouts: CarriedPayout[] = settlementDb
      ? await loadCarriedPayouts(
          await settlementDb.database(),
          processor,
          businessDate,
          breakSettings.carryDays,
        )
      : [];
    log.info(
      {
        dry_run: request.dryRun,
        processor_source: processorSource.location,
        internal_source: internalSource.location,
      },
      'run started',
    );

    const context = { businessDate, timeZone: request.timeZone };
    const cutoffs = request.cutoffs ?? calendarDayCutoffs(request.timeZone);
    const processorContext: ReadContext = {
      ...context,
      statusMap: STATUS_MAPS[processor],
      cutoff: cutoffOf(cutoffs, 'processor', processor),
    };
    const internalContext: ReadContext = {
      ...context,
      statusMap: STATUS_MAPS.internal,
      cutoff: cutoffOf(cutoffs, 'internal', processor),
    };
    // The N:1 ledger split (rules file `group_key`) needs both sides whole.
    const groupKey = rulesFor(request.rules ?? NO_RULES, processor).groupKey;
    // The postgres engine streams both sides into the database as they are read (issue #16,
    // part 2: `completeStreamedRunInDatabase` below); only the memory engine reads them here, and
    // a run with a ledger split (it matches in process then, with the same results).
    const streamed = store !== null && request.engine === 'postgres' && !groupKey;
    let processorSide: SideCounts = {
      location: processorSource.location,
      rowCount: 0,
      invalidCount: 0,
      issues: [],
    };
    let internalSide: SideCounts = {
      location: internalSource.location,
      rowCount: 0,
      invalidCount: 0,
      issues: [],
    };
    let tables: { processor: TransactionTable; internal: TransactionTable } | null = null;
    // Run after both sides are read (and checked), by either path; its findings follow the
    // sides' findings.
    let settlement: RunSettlement | null = null;
    const legIssues: DataQualityIssue[] = [];
    const settleLeg = async (): Promise<void> => {
      // The settlement leg (issue #15): payout groups and the bank statements, when the run has a
      // settlement source. Its findings (statement balance, …) are data-quality findings of the run.
      const settlementSource = await settlementSourceOf(deps, request, businessDate, processor, {
        warn: (details: object, message: string) => log.warn(details, message),
      });
      if (settlementSource || carriedPayouts.length > 0) {
        const leg = await untilAborted(
          reconcileSettlement(
            settlementSource,
            request.bank ?? NO_BANK,
            businessDate,
            processor,
            deps.abort,
            carriedPayouts,
            claimedElsewhere,
          ),
          deps.abort,
        );
        settlement = leg.settlement;
        for (const issue of leg.issues) legIssues.push(issue);
        log.info(
          {
            settlement_source: settlementSource?.location ?? null,
            carried_payouts: carriedPayouts.length,
            ...settlement.counts,
          },
          'settlement leg reconciled',
        );
      } else if ((request.bank?.files.length ?? 0) > 0) {
        // --bank-file without payouts to match: say so rather than ignore the statement silently.
        log.warn(
          { bank_files: request.bank?.files },
          'bank statements given, but the run has no settlement source (no payouts file): not read',
        );
      }
      // The N:1 ledger split (rules file `group_key`): ledger_split groups join the settlement.
      if (groupKey && tables) {
        const split = ledgerSplitLeg(tables.processor, tables.internal, {
          groupKey,
          amountBasis: feeRulesOf(request, processor).ledgerAmountBasis,
          businessDate,
          location: processorSide.location,
        });
        settlement = withGroups(settlement, split.groups);
        for (const issue of split.issues) legIssues.push(issue);
      }
    };
    const feeRules = feeRulesOf(request, processor);
    if (!streamed) {
      // Both sides at once: large CSV files parse on worker threads, API fetches overlap. Both
      // are awaited, so that when both fail the processor side's error is the one reported, every
      // time (the other is logged).
      const [processorRead, internalRead] = await untilAborted(
        Promise.allSettled([
          processorSource.read(processorContext),
          internalSource.read(internalContext),
        ]),
        deps.abort,
      );
      if (processorRead.status === 'rejected') {
        if (internalRead.status === 'rejected') {
          log.error({ err_message: describeError(internalRead.reason) }, 'ledger side failed too');
        }
        throw processorRead.reason;
      }
      if (internalRead.status === 'rejected') throw internalRead.reason;
      processorSide = processorRead.value;
      internalSide = internalRead.value;
      tables = { processor: processorRead.value.table, internal: internalRead.value.table };
      // Matching looks up ledger ids only: the processor side's id index (hundreds of MB at 10M
      // rows) is not needed any more; its row states (duplicates) stay.
      tables.processor.dropIdIndex();
      // One by one: a spread passes every finding as an argument, and a million of them overflow
      // the stack.
      for (const issue of processorSide.issues) issues.push(issue);
      for (const issue of internalSide.issues) issues.push(issue);
      logInputsRead(log, processorSide, internalSide);
      checkInvalidRate(processorSide, request.maxInvalidRate);
      checkInvalidRate(internalSide, request.maxInvalidRate);
      await settleLeg();
      for (const issue of legIssues) issues.push(issue);
      // Fee schedule check: the processor rows alone, the same for both engines.
      for (const variance of findFeeVariances(tables.processor, feeRules)) {
        issues.push(feeVarianceIssue(processorSide.location, variance));
      }
    }
    let invalidRows = processorSide.invalidCount + internalSide.invalidCount;
    // A streamed run's side totals, gathered as its tables are staged (summary, tiers).
    const streamTotals = { processor: new SideTotals(), internal: new SideTotals() };
    const expected = reportPaths(request.reportsDir, processor, businessDate);
    // Open one-sided breaks of earlier dates, carried into this run: loaded here for the memory
    // engine; the postgres engine joins them in SQL inside its transaction (carryOverInDatabase).
    const breaksFrom = store ?? reader;
    const ownRules = { ...rulesFor(request.rules ?? NO_RULES, processor), fees: feeRules };
    const tiered = ownRules.tiers.length > 0;
    const carried: CarriedBreak[] =
      breaksFrom && !streamed
        ? await new BreakStore(await breaksFrom.database()).loadCarried(
            processor,
            businessDate,
            breakSettings.carryDays,
            tiered,
          )
        : [];
    let timing = 0;
    // Everything after matching, the same for both engines: check the accounting, fold in the
    // carried breaks, summarize.
    const conclude = (
      untiered: MatchResult,
      folded?: CarryResult,
      carriedIn: readonly CarriedBreak[] = carried,
    ): RunOutcome => {
      // The rules file's tiers, on the rows the id join left unmatched (engine/tiers.ts).
      const raw = tables
        ? MATCH_ENGINES.memory.applyRules(untiered, ownRules, tables.processor, request.timeZone)
        : tiered
          ? applyTiers(untiered, ownRules, streamTotals.processor.volume(), request.timeZone)
          : untiered;
      const broken = checkAccounting(raw);
      if (broken.length > 0)
        throw new ReconError('INTERNAL', `reconciliation does not balance: ${broken.join('; ')}`);
      // Carried breaks: paired by id (`carryOver`), then offered to the tiers.
      const carry =
        folded ??
        tiersAgainstCarried(
          carryOver(raw, carriedIn, businessDate, feeRules),
          carriedIn,
          ownRules,
          businessDate,
          request.timeZone,
        );
      const match = carry.match;
      // Pairs of D's own rows on two business dates, plus carried breaks completed late.
      timing = raw.timing + carry.timing;
      const fx = request.fx ? { rates: request.fx, businessDate } : undefined;
      const summary = tables
        ? summarizeReconciliation(match, tables.processor, tables.internal, invalidRows, fx)
        : summarizeWithTotals(
            match,
            {
              processorVolume: streamTotals.processor.volume(),
              internalVolume: streamTotals.internal.volume(),
              fees: streamTotals.processor.fees(),
            },
            invalidRows,
            fx,
          );
      return {
        match,
        summary,
        issues,
        invalidRows,
        reportCsvPath: store ? expected.csv : null,
        reportJsonPath: store ? expected.json : null,
        breaks: {
          graceDays: breakSettings.graceDays,
          resolved: carry.resolved,
          reclassified: carry.reclassified,
        },
        settlement,
      };
    };
    // Built when the reports are written: a streamed run knows its row counts only then.
    const reportRunId = runId;
    const reportContext = (): ReportContext => ({
      runId: reportRunId,
      businessDate,
      processor,
      timeZone: request.timeZone,
      generatedAt: new Date(deps.now()).toISOString(),
      appVersion: request.appVersion,
      dryRun: request.dryRun,
      sources: {
        processor: {
          location: processorSide.location,
          rows: processorSide.rowCount,
          invalidRows: processorSide.invalidCount,
        },
        internal: {
          location: internalSide.location,
          rows: internalSide.rowCount,
          invalidRows: internalSide.invalidCount,
        },
      },
    });
    let reports: ReportPaths | null = null;
    let breaks: RunBreaks | null = null;
    // Inside the run's final transaction, once its breaks are synced (their ids exist only now):
    // reads them and renders the report files into pending files tagged with the run id.
    const prepare = async (stored: RunOutcome, tx: SqlExecutor): Promise<void> => {
      // Open breaks are read a page at a time while the files are written (a cursor of `tx`).
      const read = await readRunReportBreaks(tx, runId ?? '', breakSettings.escalateDays, {
        paged: true,
      });
      breaks = read.summary;
      if (settlement)
        settlement = { ...settlement, breaks: await readRunSettlementBreaks(tx, runId ?? '') };
      const files = prepareReports(request.reportsDir, reportContext(), {
        match: stored.match,
        summary: stored.summary,
        issues,
        breaks: toReportBreaks(read, runId ?? '', false),
        settlement,
        rulesFile: (request.rules?.source ?? null) !== null,
      });
      files.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
      pending.files = files;
      await files;
    };
    // Commit point: the report files are rendered inside the run's final transaction, after its
    // breaks are synced and before COMMIT, as pending files, and published only after COMMIT. A
    // run that does not commit discards them (finally below); a crash between COMMIT and
    // publishing is repaired by the next run or `recon deliver` (`repairReports`).
    let outcome: RunOutcome;
    let auditHead: string | null = null;
    if (store && streamed) {
      deps.abort?.throwIfAborted();
      const sqlRunId = runId;
      // Each side is read batch by batch and staged as it comes; Node keeps only what the
      // summary and the findings need (side totals, fee variances, the side checks' findings).
      const checks = {
        processor: new SideCheckAccumulator(
          'processor',
          processorSource.location,
          processorContext,
        ),
        internal: new SideCheckAccumulator('internal', internalSource.location, internalContext),
      };
      const reads = {
        processor: readSideStreamed(processorSource, processorContext),
        internal: readSideStreamed(internalSource, internalContext),
      };
      const variances: FeeVariance[] = [];
      async function* tap(
        side: 'processor' | 'internal',
        sideTables: AsyncIterable<TransactionTable>,
      ): AsyncGenerator<TransactionTable> {
        for await (const table of sideTables) {
          checks[side].add(table);
          streamTotals[side].add(table, side === 'processor');
          if (side === 'processor')
            for (const variance of findFeeVariances(table, feeRules)) variances.push(variance);
          yield table;
        }
      }
      let ends: { processor: StreamedReadEnd; internal: StreamedReadEnd } | null = null;
      // The findings in the memory engine's order: processor side, ledger side (each with its
      // side checks), then the settlement leg's, then the fee variances.
      const collectIssues = (
        duplicatedIds: { processor: number; internal: number },
        withVariances: boolean,
      ): void => {
        if (!ends) return;
        for (const side of ['processor', 'internal'] as const) {
          const end = ends[side];
          const found = end.sideChecked
            ? end.issues
            : checks[side].finish(end, duplicatedIds[side]);
          for (const issue of found) issues.push(issue);
        }
        // A run rejected for its invalid rows stops before the settlement leg and the fee check.
        if (!withVariances) return;
        for (const issue of legIssues) issues.push(issue);
        for (const variance of variances)
          issues.push(feeVarianceIssue(processorSource.location, variance));
      };
      const storedOutcome = await store.completeStreamedRunInDatabase(
        sqlRunId,
        {
          processor: tap('processor', reads.processor.tables),
          internal: tap('internal', reads.internal.tables),
          fees: feeRules,
        },
        async (_rows, countDuplicatedIds) => {
          ends = { processor: reads.processor.end(), internal: reads.internal.end() };
          processorSide = { location: processorSource.location, ...ends.processor };
          internalSide = { location: internalSource.location, ...ends.internal };
          invalidRows = processorSide.invalidCount + internalSide.invalidCount;
          logInputsRead(log, processorSide, internalSide);
          try {
            checkInvalidRate(processorSide, request.maxInvalidRate);
            checkInvalidRate(internalSide, request.maxInvalidRate);
          } catch (error) {
            collectIssues(await countDuplicatedIds(), false);
            throw error;
          }
          await settleLeg();
        },
        async ({ match: raw, duplicatedIds }, tx) => {
          collectIssues(duplicatedIds, true);
          if (!tiered)
            return conclude(
              raw,
              await carryOverInDatabase(tx, sqlRunId, raw, {
                processor,
                businessDate,
                carryDays: breakSettings.carryDays,
                fees: feeRules,
              }),
            );
          // With tiers: the SQL id join wrote its discrepancies; the tiers and the carry-over run
          // here on that bounded remainder, exactly as for the memory engine, and the run's
          // stored discrepancies are replaced by the result.
          const tieredOutcome = conclude(
            raw,
            undefined,
            await queryCarried(
              tx,
              processor,
              businessDate,
              breakSettings.carryDays,
              undefined,
              true,
            ),
          );
          await rewriteDiscrepancies(tx, sqlRunId, tieredOutcome.match.discrepancies);
          return tieredOutcome;
        },
        async (stored, tx) => {
          await prepare(stored, tx);
          // Last chance to stop: an interruption now rolls the whole run back.
          deps.abort?.throwIfAborted();
        },
        transactionOptions,
      );
      outcome = storedOutcome;
      auditHead = storedOutcome.auditHead;
      committed = true;
    } else {
      if (!tables) throw new Error('the memory engine runs on sides read whole');
      outcome = conclude(MATCH_ENGINES.memory.match(tables.processor, tables.internal, feeRules));
      if (store) {
        deps.abort?.throwIfAborted();
        const stored = outcome;
        auditHead = await store.completeRun(
          runId,
          outcome,
          async (tx) => {
            await prepare(stored, tx);
            // Last chance to stop: an interruption now rolls the whole run back.
            deps.abort?.throwIfAborted();
          },
          transactionOptions,
        );
        committed = true;
      } else {
        // A dry run: with a database, the same final transaction (breaks synced, read) rolled
        // back instead of committed; the reports are written after it, with what it read.
        const projectedId = runId;
        const read = reader
          ? await reader.projectRun(
              projectedId,
              {
                businessDate,
                processor,
                processorSource: processorSource.location,
                internalSource: internalSource.location,
                appVersion: request.appVersion,
              },
              outcome,
              async (tx) => {
                const projected = await readRunReportBreaks(
                  tx,
                  projectedId,
                  breakSettings.escalateDays,
                );
                if (settlement)
                  settlement = {
                    ...settlement,
                    breaks: await readRunSettlementBreaks(tx, projectedId),
                  };
                return projected;
              },
              { signal: deps.abort },
            )
          : null;
        breaks = read?.summary ?? null;
        reports = await writeReports(request.reportsDir, reportContext(), {
          match: outcome.match,
          summary: outcome.summary,
          issues,
          breaks: read ? toReportBreaks(read, projectedId, true) : null,
          settlement,
          rulesFile: (request.rules?.source ?? null) !== null,
        });
      }
    }
    if (committed && pending.files) {
      try {
        reports = await (await pending.files).publish();
      } catch (error) {
        log.error(
          { err_message: describeError(error) },
          'the run committed but its reports could not be published; the next run or recon deliver publishes them',
        );
      }
    }
    const { match, summary } = outcome;
    log.info(
      {
        ...match.counts,
        timing,
        discrepancies: summary.discrepancyCount,
        risk_level: summary.riskLevel,
        discrepancy_rate: summary.discrepancyRate,
      },
      'run completed',
    );
    return {
      ...base,
      runId,
      status: 'completed',
      processorTransactions: match.processorTransactions,
      internalTransactions: match.internalTransactions,
      invalidRows,
      counts: match.counts,
      basisMismatchSuspected: countBasisMismatchSuspected(match.discrepancies),
      timing,
      timingPairs: match.timingPairs,
      ...(match.matches && match.matchesByTier
        ? { tiers: { matches: match.matches, matchesByTier: match.matchesByTier } }
        : {}),
      breaks,
      summary,
      reports,
      auditHead,
      settlement,
      error: null,
    };
  } catch (caught) {
    // An interruption wins over whatever it caused (a cancelled statement, a closed stream).
    const error: unknown = deps.abort?.aborted ? deps.abort.reason : caught;
    const message = describeError(error);
    if (error instanceof ReconError && error.code !== 'INTERNAL')
      log.error({ err_code: error.code, err_message: message }, 'run failed');
    else log.error({ err: error }, 'run failed with an internal error');
    if (store && runId) {
      await store.failRun(runId, message, issues).catch((storeError: unknown) => {
        log.error(
          { err_message: describeError(storeError) },
          'could not record the failure of the run',
        );
      });
    }
    return { ...base, runId, status: 'failed', error };
  } finally {
    if (!committed && pending.files)
      await pending.files.then(
        (files) => files.discard(),
        () => undefined,
      );
    await lock?.release();
  }
}

function notStarted(
  businessDate: BusinessDate,
  processor: ProcessorName,
  dryRun: boolean,
): RunResult {
  return {
    runId: null,
    businessDate,
    processor,
    status: 'failed',
    dryRun,
    processorTransactions: 0,
    internalTransactions: 0,
    invalidRows: 0,
    counts: null,
    summary: null,
    reports: null,
    auditHead: null,
    error: null,
  };
}

/**
 * A statement shared by the processors of one run request (issue #15): for each processor of
 * `date` with a settlement leg, the bank credits its payouts (own and carried) claim on the
 * date's statements (`claimedCredits`), computed before the runs so that a credit another
 * processor's payout matches is not `bank_credit_unmatched` in the first one's run. Each
 * settlement source is read once: the returned `deps` hand the runs the same read. A processor
 * whose settlement leg cannot be built here claims nothing (its own run reports why).
 */
async function sharedStatementClaims(
  deps: JobDeps,
  request: RunRequest,
  date: BusinessDate,
): Promise<{ deps: JobDeps; claims: Map<ProcessorName, Set<string>> }> {
  const memo = new Map<ProcessorName, SettlementSource>();
  const claims = new Map<ProcessorName, Set<string>>();
  const bank = request.bank ?? NO_BANK;
  const store = request.dryRun && request.engine === 'postgres' ? null : deps.store;
  const carryDays = (request.breaks ?? DEFAULT_BREAK_SETTINGS).carryDays;
  for (const processor of request.processors) {
    try {
      const source = await settlementSourceOf(deps, request, date, processor);
      const carried = store
        ? await loadCarriedPayouts(await store.database(), processor, date, carryDays)
        : [];
      if (!source && carried.length === 0) continue;
      let once: SettlementSource | null = null;
      if (source) {
        const read = source.read(deps.abort);
        read.catch(() => undefined); // the run awaits it and reports a failure
        once = { location: source.location, read: () => read };
        memo.set(processor, once);
      }
      const leg = await reconcileSettlement(once, bank, date, processor, deps.abort, carried);
      claims.set(processor, claimedCredits(leg));
    } catch (error) {
      deps.logger.debug(
        { business_date: date, processor, err_message: describeError(error) },
        'shared statement: no claims of this processor (its run reports why)',
      );
    }
  }
  const given = deps.settlementSources;
  return {
    deps: {
      ...deps,
      settlementSources: (d, p) => (d === date ? memo.get(p) : undefined) ?? given?.(d, p) ?? null,
    },
    claims,
  };
}

/**
 * Runs every (date, processor) of `request` in order — dates outer, processors inner — each
 * independently: one failing does not stop the others. Returns one result per run. With several
 * processors and bank statements, a date's statements are shared: each run leaves out of its
 * `bank_credit_unmatched` the credits the other processors' payouts match (`sharedStatementClaims`).
 */
export async function runReconciliation(deps: JobDeps, request: RunRequest): Promise<RunResult[]> {
  checkEngine(request);
  await checkReportsDir(request.reportsDir); // before any input is read: a bad path stops it all
  const results: RunResult[] = [];
  const sources = new SourceFactory(sourceChoiceOf(request), deps.apis, deps.logger, deps.progress);
  const bank = request.bank ?? NO_BANK;
  const shared = request.processors.length > 1 && (bank.files.length > 0 || bank.dir !== null);
  for (const date of request.dates) {
    const { deps: dateDeps, claims } =
      shared && !deps.abort?.aborted
        ? await sharedStatementClaims(deps, request, date)
        : { deps, claims: new Map<ProcessorName, Set<string>>() };
    for (const processor of request.processors) {
      if (deps.abort?.aborted) {
        results.push({ ...notStarted(date, processor, request.dryRun), error: deps.abort.reason });
        continue;
      }
      const elsewhere = new Set<string>();
      for (const [other, claimed] of claims)
        if (other !== processor) for (const identity of claimed) elsewhere.add(identity);
      results.push(await reconcileOne(dateDeps, request, date, processor, sources, elsewhere));
    }
  }
  return results;
}
