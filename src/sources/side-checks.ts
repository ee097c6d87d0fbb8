import { businessDateOf, businessDayBounds } from '../domain/business-date';
import type { DataQualityIssue } from '../domain/data-quality';
import { sideIndexOf } from '../engine/transaction-index';
import type { ReadContext, SourceReadResult } from './transaction-source';

/** At most this many per-row warnings of one kind are listed; the rest are counted in a summary. */
export const MAX_LISTED_WARNINGS = 1000;

/**
 * Adds the source-level data-quality findings every source gets, whatever its format:
 * `row_count` (info), `duplicate_ids` (warning: how many ids occur more than once) and
 * `outside_business_date` (warning per row dated on another business date in `context.timeZone`,
 * plus a count). Returns a new result; the transactions are unchanged.
 */
export function addSideChecks(result: SourceReadResult, context: ReadContext): SourceReadResult {
  const base = {
    side: result.side,
    location: result.location,
    line: null,
    field: null,
    value: null,
  };
  const issues: DataQualityIssue[] = [...result.issues];
  issues.push({
    ...base,
    check: 'row_count',
    severity: 'info',
    reason: `${result.rowCount} data rows read, ${result.invalidCount} invalid`,
    count: result.rowCount,
  });

  // One hash pass over the ids, remembered for `matchTransactions` (which looks up ledger ids).
  const ledger = result.side === 'internal';
  const { duplicatedIds } = sideIndexOf(result.transactions, { needIds: ledger, keepIds: ledger });
  let outside = 0;
  const { startMs, endMs } = businessDayBounds(context.businessDate, context.timeZone);
  const rows = result.transactions;
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as (typeof rows)[number];
    if (row.createdAtMs < startMs || row.createdAtMs >= endMs) {
      outside++;
      if (outside <= MAX_LISTED_WARNINGS) {
        const day = businessDateOf(row.createdAtMs, context.timeZone);
        issues.push({
          ...base,
          check: 'outside_business_date',
          severity: 'warning',
          line: row.line,
          field: 'created_at',
          reason: `dated ${day}, not the business date ${context.businessDate} (${context.timeZone})`,
          value: new Date(row.createdAtMs).toISOString(),
          count: null,
        });
      }
    }
  }
  if (duplicatedIds > 0) {
    issues.push({
      ...base,
      check: 'duplicate_ids',
      severity: 'warning',
      reason: `${duplicatedIds} transaction id(s) occur more than once`,
      count: duplicatedIds,
    });
  }
  if (outside > 0) {
    issues.push({
      ...base,
      check: 'outside_business_date',
      severity: 'warning',
      reason: `${outside} row(s) dated outside the business date ${context.businessDate}`,
      count: outside,
    });
  }
  return { ...result, issues };
}
