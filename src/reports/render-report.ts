import { stringify } from 'csv-stringify/sync';
import { formatInstant } from '../domain/business-date';
import { currencyExponent, ISO4217_TABLE_VERSION } from '../domain/currency';
import type { DataQualityIssue } from '../domain/data-quality';
import type { Discrepancy } from '../domain/discrepancy';
import { formatMinor, totalsToDecimalStrings } from '../domain/money';
import type { Transaction } from '../domain/transaction';
import type { MatchResult } from '../engine/match-transactions';
import type { ReconciliationSummary } from '../engine/summarize';
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

/** Inputs of the report renderers: the engine's result, its summary and the findings. */
export interface ReportInput {
  readonly match: MatchResult;
  readonly summary: ReconciliationSummary;
  readonly issues: readonly DataQualityIssue[];
}

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
] as const;

function amountOf(row: Transaction | null): string {
  return row ? formatMinor(row.amountMinor, currencyExponent(row.currency)) : '';
}

function text(value: string | null | undefined): string {
  return value ? escapeSpreadsheetText(value) : '';
}

function csvCells(d: Discrepancy): string[] {
  const main = d.processor ?? d.internal;
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
  ];
}

/**
 * Renders the CSV report in chunks of up to `rowsPerChunk` lines: a header, then one row per
 * discrepancy. Every field is quoted and every input-derived text cell is spreadsheet-safe;
 * amounts are decimal strings in major units that we format from minor units.
 */
export function* renderReportCsv(input: ReportInput, rowsPerChunk = 5000): Generator<string> {
  yield stringify([[...REPORT_CSV_COLUMNS]], { quoted: true });
  const rows = input.match.discrepancies;
  for (let start = 0; start < rows.length; start += rowsPerChunk) {
    yield stringify(rows.slice(start, start + rowsPerChunk).map(csvCells), { quoted: true });
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
 * Renders the JSON report (an object ready for `JSON.stringify`): `report_metadata`,
 * `reconciliation_summary`, `missing_transactions`, `discrepancies`, `data_quality`,
 * `financial_impact`. Money is decimal strings in major units with an ISO currency; never floats.
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
      counts: match.counts,
      discrepancy_count: summary.discrepancyCount,
      processor_volume: totalsToDecimalStrings(summary.processorVolume),
      internal_volume: totalsToDecimalStrings(summary.internalVolume),
      discrepancy_amounts: totalsToDecimalStrings(summary.discrepancyAmounts),
    },
    missing_transactions: discrepancies
      .filter((d) => d.kind === 'missing_in_internal' && d.processor)
      .map((d) => ({
        transaction_id: d.transactionId,
        amount: amountOf(d.processor),
        currency: d.processor?.currency,
        merchant_id: d.processor?.merchantId,
        created_at: d.processor ? formatInstant(d.processor.createdAtMs) : null,
      })),
    discrepancies: discrepancies.map((d) => {
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
        processor: sideJson(d.processor),
        internal: sideJson(d.internal),
        ...(d.tier !== undefined ? { tier: d.tier } : {}),
        ...(d.internal && d.internal.transactionId !== d.transactionId
          ? { internal_transaction_id: d.internal.transactionId }
          : {}),
        ...(d.candidates !== undefined ? { candidates: d.candidates } : {}),
      };
    }),
    data_quality: {
      processor: context.sources.processor,
      internal: context.sources.internal,
      findings: issues.map((issue) => ({
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
  };
}
