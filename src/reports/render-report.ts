import { formatInstant } from '../domain/business-date';
import { currencyExponent, ISO4217_TABLE_VERSION } from '../domain/currency';
import type { DataQualityIssue } from '../domain/data-quality';
import type { Discrepancy } from '../domain/discrepancy';
import { formatMinor, totalsToDecimalStrings } from '../domain/money';
import type { Transaction } from '../domain/transaction';
import { ageBucket, isOneSided } from '../engine/break-lifecycle';
import type { MatchResult } from '../engine/match-transactions';
import type { TierMatchSummary } from '../engine/tiers';
import { countBasisMismatchSuspected } from '../engine/fees';
import type { RunSettlement } from '../engine/settlement';
import { feeBlockJson, type ReconciliationSummary } from '../engine/summarize';
import { quotedCsvRow } from './quoted-csv';
import { JsonStream } from './json-chunks';
import { settlementReportJson } from './render-payouts';
import { escapeSpreadsheetText } from './spreadsheet-safe';

/** What a report is about. `generatedAt` is an ISO 8601 UTC timestamp supplied by the caller. */
export interface ReportContext {
  readonly runId: string;
  readonly businessDate: string;
  readonly processor: string;
  readonly timeZone: string;
  readonly generatedAt: string;
  readonly appVersion: string;
  readonly dryRun: boolean;
  readonly sources: { readonly processor: SourceStats; readonly internal: SourceStats };
}

/** Per-side input statistics shown in the report. */
export interface SourceStats {
  readonly location: string;
  readonly rows: number;
  readonly invalidRows: number;
}

/**
 * The break a discrepancy row belongs to. `breakId` is `null` for a break a dry run would open
 * (nothing is stored, so it has no id). `ageDays`: the run's business date minus `originDate`.
 */
export interface ReportBreakRef {
  readonly breakId: string | null;
  readonly status: string;
  readonly originDate: string;
  readonly ageDays: number;
}

/**
 * A break as `recon breaks list --json` shows it (amount a decimal string in major units of
 * `currency`; dates YYYY-MM-DD; `ageDays` against the run's business date). `breakId` `null`: a
 * break a dry run would open.
 */
export interface ReportBreak {
  readonly breakId: string | null;
  readonly processor: string;
  readonly transactionId: string;
  readonly kind: string;
  readonly side: string;
  readonly status: string;
  readonly originDate: string;
  readonly ageDays: number;
  readonly amount: string;
  readonly currency: string;
  readonly firstSeenRunId: string | null;
  readonly lastSeenRunId: string | null;
  readonly resolvedRunId: string | null;
  readonly resolution: string | null;
  readonly lagDays: number | null;
  readonly resolvedBy: string | null;
}

/** The `breaks` block of a run, the same as `recon run --json` prints (plus the escalation age). */
export interface ReportBreaksBlock {
  readonly new: number;
  readonly resolved: number;
  readonly reclassified: number;
  readonly pending: number;
  readonly open: number;
  readonly open_by_age: Readonly<Record<string, number>>;
  /** Open breaks older than `escalate_days` (RECON_ESCALATE_DAYS). */
  readonly older_than_escalation: number;
  readonly escalate_days: number;
}

/**
 * The break of each identity key (`breakKeyOf`), `undefined` when there is none: what the
 * renderers ask of `ReportBreaks.byIdentity` (a `ReadonlyMap` is one).
 */
export interface ReportBreakLookup {
  get(key: string): ReportBreakRef | undefined;
}

/**
 * What the reports say about breaks across days, read in the run's final transaction after its
 * breaks were synced: the block, each discrepancy's break (by identity, see `breakKeyOf`), the
 * breaks the run resolved and every open break of the processor after it.
 */
export interface ReportBreaks {
  readonly block: ReportBreaksBlock;
  /** By `breakKeyOf(transaction id, scope)`: a `Map`, or a view of compact columns. */
  readonly byIdentity: ReportBreakLookup;
  /** Resolved by the run: in memory, or read a page at a time (`PagedRows`). */
  readonly resolved: readonly ReportBreak[] | PagedRows<ReportBreak>;
  /**
   * Every open break of the processor after the run: in memory, or read a page at a time as the
   * files are written (a stored run's may be hundreds of thousands: `PagedRows`).
   */
  readonly open: readonly ReportBreak[] | PagedRows<ReportBreak>;
}

/**
 * Rows read a page at a time while a report is written, never all held: each `pages()` reads
 * them from the start again and gives the same rows in the same order (e.g. a scrollable cursor
 * of the run's transaction, `readRunReportBreaks`).
 */
export interface PagedRows<T> {
  readonly pages: () => AsyncIterable<readonly T[]>;
}

/** The rows of `rows`, one by one (a page at a time when paged). */
export async function* eachRow<T>(rows: readonly T[] | PagedRows<T>): AsyncGenerator<T> {
  if (Array.isArray(rows)) {
    yield* rows as readonly T[];
    return;
  }
  for await (const page of (rows as PagedRows<T>).pages()) yield* page;
}

/** A `JsonStream` of `rows`: in memory, or a page at a time when paged. */
function rowStream<T, U>(rows: readonly T[] | PagedRows<T>, render: (item: T) => U): JsonStream<U> {
  if (Array.isArray(rows)) return mapStream(rows as readonly T[], render);
  return new JsonStream(async function* () {
    for await (const row of eachRow(rows)) yield render(row);
  });
}

/**
 * The identity key of a break within one processor: the transaction id and the scope (`processor`
 * or `internal` for a one-sided break, `both` for a two-sided one), as `syncBreaks` links them.
 */
export function breakKeyOf(transactionId: string, scope: string): string {
  return `${scope}\u0000${transactionId}`;
}

/**
 * A `ReportBreakLookup` over `find(transactionId, scope)`: the key (`breakKeyOf`) split back
 * into its two parts (the scope never holds U+0000; a transaction id may).
 */
export function lookupByIdentity(
  find: (transactionId: string, scope: string) => ReportBreakRef | undefined,
): ReportBreakLookup {
  return {
    get: (key: string): ReportBreakRef | undefined => {
      const at = key.indexOf('\u0000');
      return at < 0 ? undefined : find(key.slice(at + 1), key.slice(0, at));
    },
  };
}

function breakOf(breaks: ReportBreaks | null | undefined, d: Discrepancy): ReportBreakRef | null {
  if (!breaks) return null;
  return (
    breaks.byIdentity.get(breakKeyOf(d.transactionId, isOneSided(d.kind) ? d.side : 'both')) ?? null
  );
}

/**
 * Inputs of the report renderers: the engine's result, its summary, the findings and, when a
 * database is there (stored runs, dry runs with one), the breaks; `null`/absent: no break columns.
 * `settlement` (issue #15): the run's payout groups and bank leg; `null`/absent: no `settlement`
 * block in the JSON and no `payouts_{processor}_{date}.csv`.
 */
export interface ReportInput {
  readonly match: MatchResult;
  readonly summary: ReconciliationSummary;
  readonly issues: readonly DataQualityIssue[];
  readonly breaks?: ReportBreaks | null;
  readonly settlement?: RunSettlement | null;
  /**
   * The run used a rules file (`--config` / RECON_CONFIG, issue #14): the CSV report gains the
   * `RULES_CSV_COLUMNS`. Absent or false: the CSV keeps exactly the columns it had before.
   */
  readonly rulesFile?: boolean;
}

/**
 * Rows rendered per chunk of the CSV files (issue #16, the memory bound): small enough that a
 * chunk's row arrays and text die in V8's young generation instead of being promoted and left as
 * old-space garbage (with 5 000, a 10M-row run's report write grew the heap by ~700 MB).
 */
const CSV_CHUNK_ROWS = 500;

/** Column order of the CSV report (one row per discrepancy). */
export const REPORT_CSV_COLUMNS = [
  'kind',
  'transaction_id',
  'processor_amount',
  'processor_currency',
  'internal_amount',
  'internal_currency',
  'difference',
  'processor_status',
  'internal_status',
  'merchant_id',
  'created_at',
  'side',
  'processor_line',
  'internal_line',
  'description',
  'break_id',
  'break_status',
  'origin_date',
  'age_days',
] as const;

/**
 * Columns the CSV report adds after `REPORT_CSV_COLUMNS` for a run with a rules file: the tier
 * that paired the rows (or found the ambiguity; empty for the id join), the ledger row's own id
 * when it differs from `transaction_id` (tiers pair different ids), an ambiguous row's candidates
 * (the other side's ids, sorted, joined with `;`) and the annotation (`basis_mismatch_suspected`).
 */
export const RULES_CSV_COLUMNS = [
  'tier',
  'internal_transaction_id',
  'candidates',
  'annotation',
] as const;

/** Separator of the ids in the CSV report's `candidates` cell. */
export const CANDIDATES_SEPARATOR = ';';

function amountOf(row: Transaction | null): string {
  return row ? formatMinor(row.amountMinor, currencyExponent(row.currency)) : '';
}

function text(value: string | null | undefined): string {
  return value ? escapeSpreadsheetText(value) : '';
}

function csvCells(d: Discrepancy, breaks: ReportBreaks | null | undefined): string[] {
  const main = d.processor ?? d.internal;
  const b = breakOf(breaks, d);
  return [
    d.kind,
    text(d.transactionId),
    amountOf(d.processor),
    d.processor?.currency ?? '',
    amountOf(d.internal),
    d.internal?.currency ?? '',
    d.differenceMinor === null || !main
      ? ''
      : formatMinor(d.differenceMinor, currencyExponent(main.currency)),
    text(d.processor?.rawStatus),
    text(d.internal?.rawStatus),
    text(main?.merchantId),
    main ? formatInstant(main.createdAtMs) : '',
    d.side,
    d.processor ? String(d.processor.line) : '',
    d.internal ? String(d.internal.line) : '',
    text(main?.description),
    b?.breakId ?? '',
    b?.status ?? '',
    b?.originDate ?? '',
    b ? String(b.ageDays) : '',
  ];
}

function rulesCells(d: Discrepancy): string[] {
  return [
    text(d.tier),
    d.internal && d.internal.transactionId !== d.transactionId
      ? text(d.internal.transactionId)
      : '',
    d.candidates ? text(d.candidates.join(CANDIDATES_SEPARATOR)) : '',
    d.annotation ?? '',
  ];
}

/**
 * Renders the CSV report in chunks of up to `rowsPerChunk` lines: a header, then one row per
 * discrepancy (its break's id, status, origin date and age; empty without breaks), then, for a run
 * with a rules file (`input.rulesFile`), the `RULES_CSV_COLUMNS`. Every field is quoted and every
 * input-derived text cell is spreadsheet-safe; amounts are decimal strings in major units that we
 * format from minor units.
 */
export function* renderReportCsv(
  input: ReportInput,
  rowsPerChunk = CSV_CHUNK_ROWS,
): Generator<string> {
  const rules = input.rulesFile === true;
  yield quotedCsvRow([...REPORT_CSV_COLUMNS, ...(rules ? RULES_CSV_COLUMNS : [])]);
  const rows = input.match.discrepancies;
  const count = rows.length;
  for (let start = 0; start < count; start += rowsPerChunk) {
    // Element by element (no slice of the discrepancies), each row's text built as it comes:
    // a discrepancy and its cells die before the next is made.
    const end = Math.min(count, start + rowsPerChunk);
    let chunk = '';
    for (let i = start; i < end; i++) {
      const d = rows[i] as Discrepancy;
      chunk += quotedCsvRow(
        rules ? [...csvCells(d, input.breaks), ...rulesCells(d)] : csvCells(d, input.breaks),
      );
    }
    yield chunk;
  }
}

function sideJson(row: Transaction | null): object | null {
  if (!row) return null;
  return {
    amount: amountOf(row),
    currency: row.currency,
    fee: row.feeMinor === null ? null : formatMinor(row.feeMinor, currencyExponent(row.currency)),
    status: row.rawStatus,
    normalized_status: row.status,
    line: row.line,
    // Rules-file runs (issue #14): the row's own id (tiers pair different ids) and reference.
    ...(row.reference ? { reference: row.reference } : {}),
  };
}

/**
 * Renders the JSON report (an object ready for `JSON.stringify`, or for `jsonChunks`, which writes
 * it in pieces: its arrays of discrepancies, missing transactions, findings and breaks are
 * `JsonStream`s, each item rendered only as it is written): `report_metadata`,
 * `reconciliation_summary` (with `counts.basis_mismatch_suspected`, the per-currency `fees`
 * block and, with rules-file tiers, `counts.matches_by_tier` and `matches`: `tierMatchesJson`), `missing_transactions`, `discrepancies` (each with its break's id, status, origin date
 * and age; an `annotation` key when annotated), `data_quality`, `financial_impact`, then `breaks`
 * (the run's block, `null` without a database), `resolved_breaks` (resolved by this run, with
 * `lag_days` and `resolution`) and `open_breaks` (every open break of the processor after the
 * run), and for a run with a settlement (issue #15) `settlement` last (`settlementReportJson`:
 * the groups with their waterfall, bank leg and, when they do not balance, children; the counts;
 * the unmatched bank credits). Money is decimal strings in major units with an ISO currency;
 * never floats.
 */
export function renderReportJson(context: ReportContext, input: ReportInput): object {
  const { match, summary, issues } = input;
  const discrepancies = match.discrepancies;
  return {
    report_metadata: {
      generated_at: context.generatedAt,
      run_id: context.runId,
      version: context.appVersion,
      dry_run: context.dryRun,
      time_zone: context.timeZone,
      currency_table: ISO4217_TABLE_VERSION,
    },
    reconciliation_summary: {
      date: context.businessDate,
      processor: context.processor,
      processor_transactions: match.processorTransactions,
      internal_transactions: match.internalTransactions,
      invalid_rows: context.sources.processor.invalidRows + context.sources.internal.invalidRows,
      counts: {
        ...match.counts,
        basis_mismatch_suspected: countBasisMismatchSuspected(discrepancies),
        ...(match.matchesByTier ? { matches_by_tier: match.matchesByTier } : {}),
      },
      ...(match.matches ? { matches: tierMatchesJson(match.matches) } : {}),
      discrepancy_count: summary.discrepancyCount,
      processor_volume: totalsToDecimalStrings(summary.processorVolume),
      internal_volume: totalsToDecimalStrings(summary.internalVolume),
      discrepancy_amounts: totalsToDecimalStrings(summary.discrepancyAmounts),
      ...(summary.fees ? { fees: feeBlockJson(summary.fees) } : {}),
    },
    missing_transactions: new JsonStream(function* () {
      for (const d of discrepancies) {
        if (d.kind !== 'missing_in_internal' || !d.processor) continue;
        yield {
          transaction_id: d.transactionId,
          amount: amountOf(d.processor),
          currency: d.processor.currency,
          merchant_id: d.processor.merchantId,
          created_at: formatInstant(d.processor.createdAtMs),
        };
      }
    }),
    discrepancies: mapStream(discrepancies, (d) => {
      const main = d.processor ?? d.internal;
      return {
        kind: d.kind,
        transaction_id: d.transactionId,
        side: d.side,
        merchant_id: main?.merchantId ?? null,
        created_at: main ? formatInstant(main.createdAtMs) : null,
        difference:
          d.differenceMinor === null || !main
            ? null
            : formatMinor(d.differenceMinor, currencyExponent(main.currency)),
        ...(d.annotation ? { annotation: d.annotation } : {}),
        processor: sideJson(d.processor),
        internal: sideJson(d.internal),
        ...(d.tier !== undefined ? { tier: d.tier } : {}),
        ...(d.internal && d.internal.transactionId !== d.transactionId
          ? { internal_transaction_id: d.internal.transactionId }
          : {}),
        ...(d.candidates !== undefined ? { candidates: d.candidates } : {}),
        ...breakFields(breakOf(input.breaks, d)),
      };
    }),
    data_quality: {
      processor: context.sources.processor,
      internal: context.sources.internal,
      findings: mapStream(issues, (issue) => ({
        side: issue.side,
        source: issue.location,
        check: issue.check,
        severity: issue.severity,
        line: issue.line,
        field: issue.field,
        reason: issue.reason,
        value: issue.value,
        count: issue.count,
      })),
    },
    financial_impact: {
      discrepancy_rate: summary.discrepancyRate,
      risk_level: summary.riskLevel,
      compliance_status: summary.complianceStatus,
      discrepancy_amounts: totalsToDecimalStrings(summary.discrepancyAmounts),
    },
    breaks: input.breaks ? input.breaks.block : null,
    resolved_breaks: rowStream(input.breaks?.resolved ?? [], reportBreakJson),
    open_breaks: rowStream(input.breaks?.open ?? [], reportBreakJson),
    ...(input.settlement ? { settlement: settlementReportJson(input.settlement) } : {}),
  };
}

/** `items.map(render)` as a `JsonStream`: each item rendered only when it is written. */
function mapStream<T, U>(items: readonly T[], render: (item: T) => U): JsonStream<U> {
  return new JsonStream(function* () {
    for (const item of items) yield render(item);
  });
}

/**
 * The `matches` block of a run with rules-file tiers (README "Matching rules"), as `run --json`
 * and the JSON report's `reconciliation_summary` print it: per tier, in order (`id` first), the
 * pairs it made and, per currency in major units, the sum of their processor amounts and of
 * their |variance|.
 */
export function tierMatchesJson(matches: readonly TierMatchSummary[]): TierMatchesJson[] {
  return matches.map((m) => ({
    tier: m.tier,
    count: m.count,
    amount: totalsToDecimalStrings(new Map(m.amountMinor)),
    abs_variance: totalsToDecimalStrings(new Map(m.absVarianceMinor)),
  }));
}

/** One tier of the `matches` block: money as decimal strings in major units, per currency. */
export interface TierMatchesJson {
  readonly tier: string;
  readonly count: number;
  readonly amount: Readonly<Record<string, string>>;
  readonly abs_variance: Readonly<Record<string, string>>;
}

function breakFields(b: ReportBreakRef | null): object {
  return {
    break_id: b?.breakId ?? null,
    break_status: b?.status ?? null,
    origin_date: b?.originDate ?? null,
    age_days: b?.ageDays ?? null,
  };
}

/** One break as `recon breaks list --json` prints it (snake_case keys, same order). */
export function reportBreakJson(b: ReportBreak): Record<string, string | number | null> {
  return {
    break_id: b.breakId,
    processor: b.processor,
    transaction_id: b.transactionId,
    kind: b.kind,
    side: b.side,
    status: b.status,
    origin_date: b.originDate,
    age_days: b.ageDays,
    amount: b.amount,
    currency: b.currency,
    first_seen_run_id: b.firstSeenRunId,
    last_seen_run_id: b.lastSeenRunId,
    resolved_run_id: b.resolvedRunId,
    resolution: b.resolution,
    lag_days: b.lagDays,
    resolved_by: b.resolvedBy,
  };
}

/**
 * Columns of `open_breaks_{processor}_{date}.csv`: those of `recon breaks list --json`, then the
 * age bucket (`0-1`, `2-3`, `4-7`, `8-30`, `31+`).
 */
export const OPEN_BREAKS_CSV_COLUMNS = [
  'break_id',
  'processor',
  'transaction_id',
  'kind',
  'side',
  'status',
  'origin_date',
  'age_days',
  'amount',
  'currency',
  'first_seen_run_id',
  'last_seen_run_id',
  'resolved_run_id',
  'resolution',
  'lag_days',
  'resolved_by',
  'age_bucket',
] as const;

/** One row of `open_breaks_{processor}_{date}.csv` (see `OPEN_BREAKS_CSV_COLUMNS`). */
function openBreakCells(b: ReportBreak): string[] {
  const json = reportBreakJson(b);
  return OPEN_BREAKS_CSV_COLUMNS.map((column) => {
    if (column === 'age_bucket') return ageBucket(b.ageDays);
    const value = json[column];
    if (value === null || value === undefined) return '';
    // Text from input or people (ids, --by) is made spreadsheet-safe; ours (amounts) is not.
    return column === 'transaction_id' || column === 'resolved_by'
      ? escapeSpreadsheetText(String(value))
      : String(value);
  });
}

/**
 * Renders `open_breaks_{processor}_{date}.csv` in chunks of up to `rowsPerChunk` rows: a header,
 * then one row per open break of the processor after the run, oldest origin first, with its age
 * against the run's business date (the file ops work from). Quoted and spreadsheet-safe like the
 * report; header only without breaks (a dry run without a database). Paged breaks
 * (`PagedRows`) are read a page at a time as the file is written.
 */
export async function* renderOpenBreaksCsv(
  breaks: ReportBreaks | null | undefined,
  rowsPerChunk = CSV_CHUNK_ROWS,
): AsyncGenerator<string> {
  yield quotedCsvRow([...OPEN_BREAKS_CSV_COLUMNS]);
  let chunk = '';
  let rows = 0;
  for await (const b of eachRow(breaks?.open ?? [])) {
    chunk += quotedCsvRow(openBreakCells(b));
    rows += 1;
    if (rows >= rowsPerChunk) {
      yield chunk;
      chunk = '';
      rows = 0;
    }
  }
  if (rows > 0) yield chunk;
}
