import type { BusinessDate } from '../domain/business-date';
import { midnightCutoff, type Cutoff } from '../domain/cutoff';
import type { DataQualityIssue } from '../domain/data-quality';
import type { StatusMap } from '../domain/status';
import type { TransactionSide } from '../domain/transaction';
import type { TransactionTable } from '../domain/transaction-table';

/** What a source needs to know to read one side of one run. */
export interface ReadContext {
  readonly businessDate: BusinessDate;
  /** IANA zone in which `businessDate` is a calendar day (RECON_TIMEZONE). */
  readonly timeZone: string;
  /** Maps this source's raw statuses to canonical ones. */
  readonly statusMap: StatusMap;
  /**
   * This side's business-day cut-off (RECON_CUTOFF_<PROCESSOR> / RECON_CUTOFF_LEDGER): it bounds
   * an API fetch, dates every row and decides the `outside_business_date` finding. Absent: the
   * calendar day in `timeZone` (`contextCutoff`).
   */
  readonly cutoff?: Cutoff;
}

/** The cut-off of a read: `context.cutoff`, or midnight to midnight in `context.timeZone`. */
export function contextCutoff(context: ReadContext): Cutoff {
  return context.cutoff ?? midnightCutoff(context.timeZone);
}

/**
 * One side's rows after validation. `table` holds the valid rows in source order (columnar, ids
 * indexed: see `TransactionTable`); `rowCount` = data rows read (valid + invalid);
 * `invalidCount` = rows rejected (each has at least one `error` issue in `issues`).
 */
export interface SourceReadResult {
  readonly side: TransactionSide;
  readonly location: string;
  readonly table: TransactionTable;
  readonly issues: DataQualityIssue[];
  readonly rowCount: number;
  readonly invalidCount: number;
}

/**
 * A port: where one side's transactions come from (a CSV file today; processor exports and HTTP
 * APIs plug in beside it). `read` throws `InputRejectedError` when the input as a whole cannot be
 * used (missing file, bad header, malformed CSV) and returns row-level problems as issues.
 */
export interface TransactionSource {
  readonly side: TransactionSide;
  /** File path or URL, used in messages and stored with the run. */
  readonly location: string;
  read(context: ReadContext): Promise<SourceReadResult>;
}
