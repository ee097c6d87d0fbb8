import { clipValue, type DataQualityIssue } from '../../domain/data-quality';
import {
  amountInRange,
  amountRangeReason,
  overlongIdBytes,
  overlongIdReason,
} from '../../domain/input-limits';
import { TransactionTable } from '../../domain/transaction-table';
import { InputRejectedError } from '../../domain/errors';
import { netMismatchIssue } from '../../domain/transaction-amounts';
import { mapStatus } from '../../domain/status';
import type { Transaction, TransactionSide } from '../../domain/transaction';
import { readCsvRecordBatches, textFaultReason, type CsvRecord } from '../csv-records';
import type { InputEncoding } from '../text-encoding';
import { addSideChecks } from '../side-checks';
import { STREAMED_TABLE_ROWS } from '../canonical-csv-source';
import type {
  ReadContext,
  SourceReadResult,
  StreamedSide,
  StreamingTransactionSource,
} from '../transaction-source';
import type {
  AmountField,
  FormatRow,
  FormatSettings,
  ProcessorFormat,
  ReportProblem,
} from './processor-format';

/** What `FormatCsvSource`'s record loop has counted and found so far (see `readTables`). */
interface FormatReadTotals {
  rowCount: number;
  invalidCount: number;
  /** The source's own findings in file order (no side checks). */
  readonly issues: DataQualityIssue[];
  /** The file has been read to its end (its file-level checks are in `issues`). */
  done: boolean;
}

/** Reports each field of `record` whose bytes are not text (named from `header` when it fits). */
function reportFaults(record: CsvRecord, header: readonly string[], problem: ReportProblem): void {
  for (const fault of record.faults ?? []) {
    const known = header.length === record.fields.length ? header[fault.field] : undefined;
    const name = known || `column ${fault.field + 1}`;
    problem(name, textFaultReason(name, fault), fault.value);
  }
}

/**
 * Reports the row's values beyond the input limits (README "Validation and data quality"): an id
 * longer than `MAX_TRANSACTION_ID_BYTES`, an amount beyond ±`MAX_AMOUNT_MINOR` (gross, fee or
 * net, also when derived from two columns of the export).
 */
function checkLimits(row: FormatRow, problem: ReportProblem): void {
  const idBytes = overlongIdBytes(row.transactionId);
  if (idBytes > 0) problem(null, overlongIdReason('transaction id', idBytes), row.transactionId);
  for (const [name, value] of [
    ['gross', row.gross],
    ['fee', row.fee],
    ['net', row.net],
  ] as const) {
    if (!amountInRange(value)) problem(null, amountRangeReason(`${name} amount`), String(value));
  }
}

/**
 * Reads one side from a processor's own export (`format`), streaming the file through
 * `readCsvRecordBatches` (in `encoding`, UTF-8 by default, with or without BOM; LF or CRLF; a
 * row with bytes that are not text is invalid). Each parsed row becomes a
 * `Transaction` whose `amountMinor` is the row's `gross`, `net` or `fee` as configured for the
 * format (`settings.compareAmount`, default gross), whose `feeMinor` is the row's fee and whose
 * `netMinor` its net (both only when in the compared currency). Rejected
 * rows become `invalid_row` issues (line, column, reason, value); the format's file-level checks
 * (footer counts, Adyen batch balance) and a `net_mismatch` warning per row whose
 * `gross - fee != net` (`netMismatchIssue`) are added to the issues. `readStreamed` gives the
 * same rows in tables of `STREAMED_TABLE_ROWS` (the postgres engine stages each as it is read).
 */
export class FormatCsvSource implements StreamingTransactionSource {
  constructor(
    readonly side: TransactionSide,
    readonly location: string,
    readonly format: ProcessorFormat,
    private readonly settings: FormatSettings,
    readonly encoding: InputEncoding = 'utf-8',
  ) {}

  /** @throws InputRejectedError for a missing file, a malformed CSV or a header the format cannot use. */
  async read(context: ReadContext): Promise<SourceReadResult> {
    const totals: FormatReadTotals = { rowCount: 0, invalidCount: 0, issues: [], done: false };
    // One table for the whole file (no limit): at most one is yielded, none when no row is valid.
    let table: TransactionTable | undefined;
    for await (const read of this.readTables(context, Infinity, totals)) table = read;
    const { rowCount, invalidCount, issues } = totals;
    return addSideChecks(
      {
        side: this.side,
        location: this.location,
        table: table ?? new TransactionTable(),
        issues,
        rowCount,
        invalidCount,
      },
      context,
    );
  }

  /**
   * The same rows, findings and errors as `read`, batch by batch (`StreamedSide`): the valid rows
   * in tables of `tableRows` rows (default `STREAMED_TABLE_ROWS`; the file's last table fewer; none for a file without
   * a valid row), each with dictionaries of its own, so a table can be dropped once it is staged.
   * `end()` gives the source's own findings in `read`'s order (row findings, the format's
   * file-level checks, `non_transaction_rows`); the side checks are left to the caller
   * (`SideCheckAccumulator`, `sideChecked: false`). A format with a prescan (PayPal activity)
   * reads the file twice, the prescan before the first table. Memory: one table being filled,
   * one parser batch, the findings.
   * @throws InputRejectedError (from `tables`' iteration) as `read`; a file-level check that
   *   rejects the file (PayPal STL without a column header) throws after the last full table,
   *   before the last partial one.
   */
  readStreamed(context: ReadContext, tableRows: number = STREAMED_TABLE_ROWS): StreamedSide {
    const totals: FormatReadTotals = { rowCount: 0, invalidCount: 0, issues: [], done: false };
    const location = this.location;
    return {
      tables: this.readTables(context, tableRows, totals),
      end: () => {
        if (!totals.done) throw new Error(`${location}: end() before its tables were read`);
        const { rowCount, invalidCount, issues } = totals;
        return { rowCount, invalidCount, issues, sideChecked: false };
      },
    };
  }

  /**
   * The record loop of `read` and `readStreamed` (one home): reads the file (twice for a format
   * with a prescan), yields the valid rows in order in tables of `tableRows` rows (the last one
   * fewer, not yielded when empty) and fills `totals`: data rows, rejected rows and the findings
   * in file order, then the format's file-level checks and `non_transaction_rows`, without the
   * side checks; `totals.done` once the file has been read to its end.
   * @throws InputRejectedError as `read`.
   */
  private async *readTables(
    context: ReadContext,
    tableRows: number,
    totals: FormatReadTotals,
  ): AsyncGenerator<TransactionTable> {
    const what = this.side === 'processor' ? 'processor input' : 'internal ledger input';
    const reader = this.format.createReader(this.settings, this.location);
    const compare: AmountField =
      this.settings.compareAmount[this.format.name] ?? this.settings.compareAmount['*'] ?? 'gross';
    if (reader.prescan) {
      for await (const batch of readCsvRecordBatches(this.location, what, this.encoding)) {
        for (const record of batch) if (!record.faults) reader.prescan.record(record);
      }
      reader.prescan.end();
    }
    let table = new TransactionTable();
    const issues = totals.issues;
    const rowIssues: DataQualityIssue[] = [];
    let line = 0;
    let notTransactions = 0;
    let sawRecord = false;
    const base = { side: this.side, location: this.location };
    const problem: ReportProblem = (field, reason, value) => {
      rowIssues.push({
        ...base,
        check: 'invalid_row',
        severity: 'error',
        line,
        field,
        reason,
        value: value === null ? null : clipValue(value),
        count: null,
      });
    };
    let header: readonly string[] = [];
    for await (const batch of readCsvRecordBatches(this.location, what, this.encoding)) {
      for (const record of batch) {
        if (!sawRecord) header = record.fields.map((name) => name.trim());
        sawRecord = true;
        line = record.line;
        // A record with bytes that are not text still goes through the reader (its sections and
        // footer counts stay right), but is invalid whatever the reader makes of it.
        const result = record.faults
          ? reader.record(record, () => undefined)
          : reader.record(record, problem);
        if (record.faults) reportFaults(record, header, problem);
        if (result === 'framing') {
          // An STL footer or header can still carry a problem (e.g. an unknown record type).
        } else if (result === 'not-a-transaction') {
          notTransactions++;
        } else {
          totals.rowCount++;
          if (result !== undefined && rowIssues.length === 0) checkLimits(result, problem);
          if (result !== undefined && rowIssues.length === 0) {
            table.append(this.toTransaction(result, compare, line, context, issues));
          } else if (rowIssues.length === 0) {
            problem(null, 'row rejected', null);
          }
        }
        if (rowIssues.length > 0) {
          if (result !== 'framing' && result !== 'not-a-transaction') totals.invalidCount++;
          for (const rowIssue of rowIssues) issues.push(rowIssue);
          rowIssues.length = 0;
        }
        if (table.length >= tableRows) {
          yield table;
          table = new TransactionTable();
        }
      }
    }
    if (!sawRecord) {
      throw new InputRejectedError(`${what} ${this.location} is empty: expected a header row`, {
        location: this.location,
        line: 1,
      });
    }
    for (const draft of reader.end()) issues.push({ ...base, ...draft });
    if (notTransactions > 0) {
      issues.push({
        ...base,
        check: 'non_transaction_rows',
        severity: 'info',
        line: null,
        field: null,
        reason: `${notTransactions} batch-level row(s) read for the batch checks, not matched`,
        value: null,
        count: notTransactions,
      });
    }
    totals.done = true;
    if (table.length > 0) yield table;
  }

  private toTransaction(
    row: FormatRow,
    compare: AmountField,
    line: number,
    context: ReadContext,
    issues: DataQualityIssue[],
  ): Transaction {
    // Gross and net in different currencies (Adyen conversions) cannot be compared.
    if (row.grossCurrency === row.currency) {
      const mismatch = netMismatchIssue(
        { side: this.side, location: this.location, line },
        row.currency,
        row.gross,
        row.fee,
        row.net,
      );
      if (mismatch) issues.push(mismatch);
    }
    const currency = compare === 'gross' ? row.grossCurrency : row.currency;
    const amountMinor = compare === 'gross' ? row.gross : compare === 'net' ? row.net : row.fee;
    const status = mapStatus(row.rawStatus, context.statusMap);
    if (status === 'unknown') {
      issues.push({
        side: this.side,
        location: this.location,
        check: 'unknown_status',
        severity: 'warning',
        line,
        field: 'status',
        reason: 'status is not in the status map; compared by its raw text',
        value: clipValue(row.rawStatus),
        count: null,
      });
    }
    return {
      transactionId: row.transactionId,
      amountMinor,
      currency,
      // The fee and the net are in the net currency; they are only kept when that is the
      // compared currency.
      feeMinor: currency === row.currency ? row.fee : null,
      netMinor: currency === row.currency ? row.net : null,
      status,
      rawStatus: row.rawStatus,
      merchantId: row.merchantId,
      createdAtMs: row.createdAtMs,
      description: row.description,
      line,
      ...(row.paymentMethod ? { paymentMethod: row.paymentMethod } : {}),
    };
  }
}
