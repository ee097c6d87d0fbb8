import { cutoffDayBounds, formatCutoff, type Cutoff } from '../domain/cutoff';
import type { DataQualityIssue } from '../domain/data-quality';
import type { TransactionSide } from '../domain/transaction';
import type { TransactionTable } from '../domain/transaction-table';
import {
  contextCutoff,
  type ReadContext,
  type SourceReadResult,
  type StreamedReadEnd,
} from './transaction-source';

/** At most this many per-row warnings of one kind are listed; the rest are counted in a summary. */
export const MAX_LISTED_WARNINGS = 1000;

/**
 * Adds the source-level data-quality findings every source gets, whatever its format:
 * `row_count` (info), `duplicate_ids` (warning: how many ids occur more than once) and
 * `outside_business_date` (warning per row whose business date under the side's cut-off is not
 * the run's, plus a count). Sets the side's cut-off on its table (`TransactionTable.setCutoff`),
 * which dates every row from then on. Returns a new result; the rows are unchanged.
 */
export function addSideChecks(result: SourceReadResult, context: ReadContext): SourceReadResult {
  const base = {
    side: result.side,
    location: result.location,
    line: null,
    field: null,
    value: null,
  };
  const issues: DataQualityIssue[] = result.issues.slice();
  issues.push({
    ...base,
    check: 'row_count',
    severity: 'info',
    reason: `${result.rowCount} data rows read, ${result.invalidCount} invalid`,
    count: result.rowCount,
  });

  // The table indexed its ids (and counted the duplicated ones) as rows were appended.
  const { table } = result;
  const { duplicatedIds } = table;
  const cutoff = contextCutoff(context);
  table.setCutoff(cutoff);
  // How the cut-off is named in messages: the zone alone for a plain calendar day (as before).
  const cutoffName = cutoff.minutes === 0 ? cutoff.zone : `cut-off ${formatCutoff(cutoff)}`;
  let outside = 0;
  const { startMs, endMs } = cutoffDayBounds(context.businessDate, cutoff);
  for (let row = 0; row < table.length; row++) {
    const createdAtMs = table.createdAtMs(row);
    if (createdAtMs < startMs || createdAtMs >= endMs) {
      outside++;
      if (outside <= MAX_LISTED_WARNINGS) {
        const day = table.atBusinessDate(row);
        issues.push({
          ...base,
          check: 'outside_business_date',
          severity: 'warning',
          line: table.lineAt(row),
          field: 'created_at',
          reason: `dated ${day}, not the business date ${context.businessDate} (${cutoffName})`,
          value: new Date(createdAtMs).toISOString(),
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

/**
 * `addSideChecks` for a side read batch by batch (`StreamedSide`): `add` sets the side's cut-off
 * on each table and collects its `outside_business_date` warnings (the first
 * `MAX_LISTED_WARNINGS` of the side); `finish` returns the side's findings in the order
 * `addSideChecks` gives them (the source's own, `row_count`, the listed warnings,
 * `duplicate_ids`, the `outside_business_date` count). The number of duplicated ids is the
 * caller's (a streamed side has no id index: the postgres engine counts them in SQL).
 */
export class SideCheckAccumulator {
  private readonly cutoff: Cutoff;
  private readonly cutoffName: string;
  private readonly startMs: number;
  private readonly endMs: number;
  private outside = 0;
  private readonly warnings: DataQualityIssue[] = [];

  constructor(
    private readonly side: TransactionSide,
    private readonly location: string,
    private readonly context: ReadContext,
  ) {
    this.cutoff = contextCutoff(context);
    this.cutoffName =
      this.cutoff.minutes === 0 ? this.cutoff.zone : `cut-off ${formatCutoff(this.cutoff)}`;
    const bounds = cutoffDayBounds(context.businessDate, this.cutoff);
    this.startMs = bounds.startMs;
    this.endMs = bounds.endMs;
  }

  /** Dates the rows of `table` (the side's next rows) and checks them against the business date. */
  add(table: TransactionTable): void {
    table.setCutoff(this.cutoff);
    for (let row = 0; row < table.length; row++) {
      const createdAtMs = table.createdAtMs(row);
      if (createdAtMs >= this.startMs && createdAtMs < this.endMs) continue;
      this.outside++;
      if (this.outside > MAX_LISTED_WARNINGS) continue;
      this.warnings.push({
        side: this.side,
        location: this.location,
        check: 'outside_business_date',
        severity: 'warning',
        line: table.lineAt(row),
        field: 'created_at',
        reason: `dated ${table.atBusinessDate(row)}, not the business date ${this.context.businessDate} (${this.cutoffName})`,
        value: new Date(createdAtMs).toISOString(),
        count: null,
      });
    }
  }

  /** The side's findings: `end.issues` followed by the side checks (see the class). */
  finish(end: StreamedReadEnd, duplicatedIds: number): DataQualityIssue[] {
    const base = {
      side: this.side,
      location: this.location,
      line: null,
      field: null,
      value: null,
    };
    const issues = end.issues.slice();
    issues.push({
      ...base,
      check: 'row_count',
      severity: 'info',
      reason: `${end.rowCount} data rows read, ${end.invalidCount} invalid`,
      count: end.rowCount,
    });
    for (const warning of this.warnings) issues.push(warning);
    if (duplicatedIds > 0) {
      issues.push({
        ...base,
        check: 'duplicate_ids',
        severity: 'warning',
        reason: `${duplicatedIds} transaction id(s) occur more than once`,
        count: duplicatedIds,
      });
    }
    if (this.outside > 0) {
      issues.push({
        ...base,
        check: 'outside_business_date',
        severity: 'warning',
        reason: `${this.outside} row(s) dated outside the business date ${this.context.businessDate}`,
        count: this.outside,
      });
    }
    return issues;
  }
}
