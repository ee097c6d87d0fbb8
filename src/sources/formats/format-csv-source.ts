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
import type { ReadContext, SourceReadResult, TransactionSource } from '../transaction-source';
import type {
  AmountField,
  FormatRow,
  FormatSettings,
  ProcessorFormat,
  ReportProblem,
} from './processor-format';

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
 * `gross - fee != net` (`netMismatchIssue`) are added to the issues.
 */
export class FormatCsvSource implements TransactionSource {
  constructor(
    readonly side: TransactionSide,
    readonly location: string,
    readonly format: ProcessorFormat,
    private readonly settings: FormatSettings,
    readonly encoding: InputEncoding = 'utf-8',
  ) {}

  /** @throws InputRejectedError for a missing file, a malformed CSV or a header the format cannot use. */
  async read(context: ReadContext): Promise<SourceReadResult> {
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
    const table = new TransactionTable();
    const issues: DataQualityIssue[] = [];
    const rowIssues: DataQualityIssue[] = [];
    let line = 0;
    let rowCount = 0;
    let invalidCount = 0;
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
          rowCount++;
          if (result !== undefined && rowIssues.length === 0) checkLimits(result, problem);
          if (result !== undefined && rowIssues.length === 0) {
            table.append(this.toTransaction(result, compare, line, context, issues));
          } else if (rowIssues.length === 0) {
            problem(null, 'row rejected', null);
          }
        }
        if (rowIssues.length > 0) {
          if (result !== 'framing' && result !== 'not-a-transaction') invalidCount++;
          for (const rowIssue of rowIssues) issues.push(rowIssue);
          rowIssues.length = 0;
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
    return addSideChecks({ ...base, table, issues, rowCount, invalidCount }, context);
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
