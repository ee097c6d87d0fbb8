import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataQualityIssue } from '../../../src/domain/data-quality';
import { STATUS_MAPS, type ProcessorName } from '../../../src/domain/status';
import { DetectingCsvSource } from '../../../src/sources/formats/format-registry';
import {
  DEFAULT_FORMAT_SETTINGS,
  type FormatSettings,
} from '../../../src/sources/formats/processor-format';
import type { SourceReadResult } from '../../../src/sources/transaction-source';

export const SAMPLES = join(__dirname, '..', '..', 'fixtures', 'samples');
export const DERIVED = join(__dirname, '..', '..', 'fixtures', 'formats');

/** The bytes of a sample as text (UTF-8). */
export function sampleText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Reads `path` as the processor side of `processor` through format detection. */
export function readProcessorFile(
  path: string,
  processor: ProcessorName,
  options: {
    businessDate?: string;
    timeZone?: string;
    settings?: Partial<FormatSettings>;
    format?: string;
  } = {},
): Promise<SourceReadResult> {
  const source = new DetectingCsvSource(
    'processor',
    path,
    processor,
    { ...DEFAULT_FORMAT_SETTINGS, ...options.settings },
    options.format,
  );
  return source.read({
    businessDate: options.businessDate ?? '2026-01-01',
    timeZone: options.timeZone ?? 'UTC',
    statusMap: STATUS_MAPS[processor],
  });
}

/** Sum of `amountMinor` per currency, as `{ USD: 5135n }`. */
export function totalsByCurrency(result: SourceReadResult): Record<string, bigint> {
  const totals: Record<string, bigint> = {};
  for (const t of result.table.toArray())
    totals[t.currency] = (totals[t.currency] ?? 0n) + t.amountMinor;
  return totals;
}

/** Sum of `feeMinor` per currency. */
export function feesByCurrency(result: SourceReadResult): Record<string, bigint> {
  const totals: Record<string, bigint> = {};
  for (const t of result.table.toArray())
    totals[t.currency] = (totals[t.currency] ?? 0n) + (t.feeMinor ?? 0n);
  return totals;
}

/** How many transactions have each canonical status. */
export function statusCounts(result: SourceReadResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of result.table.toArray()) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

export function issuesOf(
  result: SourceReadResult,
  check: DataQualityIssue['check'],
): DataQualityIssue[] {
  return result.issues.filter((issue) => issue.check === check);
}

/** Rewrites CSV text with CRLF line ends and a UTF-8 BOM. */
export function withBomAndCrlf(text: string): string {
  return `\uFEFF${text.replace(/\r?\n/g, '\r\n')}`;
}

/** The transactions without their line numbers, for comparing two layouts of one file. */
export function withoutLines(result: SourceReadResult): unknown[] {
  return result.table.toArray().map((transaction) => ({ ...transaction, line: 0 }));
}
