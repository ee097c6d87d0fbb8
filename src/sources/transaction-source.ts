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

/**
 * What a streamed read of one side leaves once its batches are consumed: data rows read (valid +
 * invalid), rows rejected, and the source's own findings in file order (invalid rows, unknown
 * statuses…), without the side checks of `addSideChecks` (`SideCheckAccumulator` computes those
 * batch by batch).
 */
export interface StreamedReadEnd {
  readonly rowCount: number;
  readonly invalidCount: number;
  readonly issues: DataQualityIssue[];
  /**
   * `true` when `issues` already hold the side checks and the tables already have the side's
   * cut-off (a source read whole by `streamWholeRead`); `false` when the caller adds them.
   */
  readonly sideChecked: boolean;
}

/**
 * One side read batch by batch (the postgres engine stages each batch as it is parsed, so Node
 * never holds the whole side). `tables` yields the valid rows in source order, in tables of a
 * bounded size (a source that cannot stream yields one table: `streamWholeRead`); row `r` of a table is the side's row
 * `firstOrdinal + r`, where `firstOrdinal` is the number of valid rows in the tables before it.
 * Each table is yielded once and not used by the source afterwards. `end()` may be called once
 * `tables` is exhausted. Errors as `TransactionSource.read`, thrown by `tables`' iteration.
 */
export interface StreamedSide {
  readonly tables: AsyncIterable<TransactionTable>;
  end(): StreamedReadEnd;
}

/** A source that can also read its side batch by batch (`StreamedSide`). */
export interface StreamingTransactionSource extends TransactionSource {
  /** `tableRows`: rows per yielded table (the source's default when omitted; tests use fewer). */
  readStreamed(context: ReadContext, tableRows?: number): StreamedSide;
}

/** Whether `source` can read its side batch by batch. */
export function isStreamingSource(source: TransactionSource): source is StreamingTransactionSource {
  return typeof (source as Partial<StreamingTransactionSource>).readStreamed === 'function';
}

/**
 * A whole read as a `StreamedSide` of one table, for sources that cannot read batch by batch
 * (saved API pages replayed, `RawReplaySource`; a side re-keyed by a rules file's join key): the
 * side is held whole, as with the memory engine, and its findings include the side checks
 * (`sideChecked`).
 */
export function streamWholeRead(read: () => Promise<SourceReadResult>): StreamedSide {
  let result: StreamedReadEnd | null = null;
  async function* tables(): AsyncGenerator<TransactionTable> {
    const value = await read();
    // Not the table: the caller drops it once staged.
    result = {
      rowCount: value.rowCount,
      invalidCount: value.invalidCount,
      issues: value.issues,
      sideChecked: true,
    };
    yield value.table;
  }
  return {
    tables: tables(),
    end: () => {
      if (!result) throw new Error('end() before the side was read');
      return result;
    },
  };
}

/** `source` read batch by batch: `readStreamed` when it has one, else whole (`streamWholeRead`). */
export function readSideStreamed(source: TransactionSource, context: ReadContext): StreamedSide {
  return isStreamingSource(source)
    ? source.readStreamed(context)
    : streamWholeRead(() => source.read(context));
}
