import { stat } from 'node:fs/promises';
import { normalizeCurrency, currencyExponent, type CurrencyCode } from '../domain/currency';
import { clipValue, type DataQualityIssue } from '../domain/data-quality';
import { InputRejectedError } from '../domain/errors';
import { parseMinorBytes, parseMinorOrRejection, type AmountRejection } from '../domain/money';
import {
  MAX_AMOUNT_MINOR,
  MAX_TRANSACTION_ID_BYTES,
  overlongIdBytes,
  overlongIdReason,
} from '../domain/input-limits';
import { parseIsoInstant } from '../domain/business-date';
import { mapStatus, type StatusMap } from '../domain/status';
import type { CanonicalStatus, TransactionSide } from '../domain/transaction';
import {
  readTransformedCsvBatches,
  recordFields,
  textFaultReason,
  type RawRecords,
  type BatchTransform,
  type BatchTransformSpec,
  type CsvFieldBatch,
  type TransformedBatch,
} from './csv-records';
import { printable, type InputEncoding } from './text-encoding';
import { ColumnBuilder, hashIdBytes, type TransactionColumns } from '../domain/transaction-columns';
import { SEGMENT_ROWS, TransactionTable } from '../domain/transaction-table';
import { addSideChecks } from './side-checks';
import type {
  ReadContext,
  SourceReadResult,
  StreamedSide,
  StreamingTransactionSource,
} from './transaction-source';

/** Columns every canonical CSV must have (by name, any order, case-insensitive). */
export const CANONICAL_REQUIRED_COLUMNS = [
  'transaction_id',
  'amount',
  'currency',
  'status',
  'merchant_id',
  'created_at',
] as const;

/** Optional canonical columns. Other columns are ignored. */
export const CANONICAL_OPTIONAL_COLUMNS = ['fee', 'description', 'reference'] as const;

type Column =
  (typeof CANONICAL_REQUIRED_COLUMNS)[number] | (typeof CANONICAL_OPTIONAL_COLUMNS)[number];

const AMOUNT_REASONS: Record<AmountRejection, string> = {
  empty: 'is empty',
  not_a_decimal: 'is not a plain decimal number (digits, optional minus and dot)',
  too_many_decimals: 'has more decimals than the currency allows',
  out_of_range: `is beyond the accepted range of ±${MAX_AMOUNT_MINOR} minor units (18 digits)`,
};

/**
 * Reads one side from a file in the project's canonical CSV format:
 * `transaction_id, amount, currency, status, merchant_id, created_at` (+ optional `fee`,
 * `description`, `reference` — an order or invoice number, a join key of the rules-file tiers), RFC 4180, in `encoding` (default UTF-8 with optional BOM; a row whose bytes are
 * not text in it is invalid, see `TextFault`). `amount`/`fee` are decimal strings in MAJOR
 * units parsed exactly to minor units with the currency's ISO 4217 exponent; `created_at` is ISO
 * 8601 with an offset or `Z`. The format is documented in the README ("Canonical CSV format").
 */
export class CanonicalCsvSource implements StreamingTransactionSource {
  constructor(
    readonly side: TransactionSide,
    readonly location: string,
    readonly encoding: InputEncoding = 'utf-8',
  ) {}

  /** @throws InputRejectedError for a missing file, a bad header or a malformed CSV. */
  async read(context: ReadContext): Promise<SourceReadResult> {
    const what = this.side === 'processor' ? 'processor input' : 'internal ledger input';
    const table = new TransactionTable();
    const issues: DataQualityIssue[] = [];
    let headerSeen = false;
    let rowCount = 0;
    let invalidCount = 0;
    // The validator's per-file dictionary indexes → the table's (appended to as they arrive).
    const currencies: number[] = [];
    const statuses: number[] = [];
    const merchants: number[] = [];
    const maps = { currencies, statuses, merchants };
    const spec: BatchTransformSpec<ValidatorOptions> = {
      module: __filename,
      name: 'createCanonicalBatchValidator',
      options: { side: this.side, location: this.location, statusMap: context.statusMap },
      rawRecords: true,
    };
    // The file's size, to size the table's id index once the first rows show the bytes per row.
    const size = await stat(this.location).then(
      (info) => info.size,
      () => 0,
    );
    let reserved = false;
    for await (const batch of readTransformedCsvBatches<ValidatedBatch, ValidatorOptions>(
      this.location,
      what,
      spec,
      this.encoding,
    )) {
      if (batch.header) {
        // Throws the header's error, if any (the validator then skipped every row).
        mapHeader(batch.header, this.location, what);
        headerSeen = true;
      }
      rowCount += batch.rowCount;
      if (!reserved && rowCount >= RESERVE_AFTER_ROWS && batch.inputEnd) {
        reserved = true;
        table.reserveIds(Math.ceil((rowCount * size) / batch.inputEnd));
      }
      invalidCount += batch.invalidCount;
      for (const issue of batch.issues) issues.push(issue);
      for (const code of batch.newCurrencies) currencies.push(table.currencyIndex(code));
      for (const s of batch.newStatuses) statuses.push(table.statusIndex(s.status, s.raw));
      for (const merchant of batch.newMerchants) merchants.push(table.merchantIndex(merchant));
      // Adopts the columns as segments and indexes their ids while the parser thread reads on.
      for (const columns of batch.columns) table.adoptColumns(columns, maps);
    }
    if (!headerSeen) {
      throw new InputRejectedError(`${what} ${this.location} is empty: expected a header row`, {
        location: this.location,
        line: 1,
      });
    }
    return addSideChecks(
      { side: this.side, location: this.location, table, issues, rowCount, invalidCount },
      context,
    );
  }
  /**
   * The same rows, findings and errors as `read`, batch by batch (`StreamedSide`): the valid rows
   * of consecutive parser batches are gathered into tables of `STREAMED_TABLE_ROWS` rows (one set
   * of columns from the validator each, adopted without a copy; the file's last table fewer),
   * each with dictionaries of its own (so a table can be dropped once it is staged); the side
   * checks are left to the caller (`SideCheckAccumulator`). Memory: one table being filled, plus
   * the parser's batches in flight, plus the findings.
   * @throws InputRejectedError (from `tables`' iteration) as `read`.
   */
  readStreamed(context: ReadContext): StreamedSide {
    const what = this.side === 'processor' ? 'processor input' : 'internal ledger input';
    const totals = { rowCount: 0, invalidCount: 0, done: false };
    const issues: DataQualityIssue[] = [];
    const location = this.location;
    const encoding = this.encoding;
    const spec: BatchTransformSpec<ValidatorOptions> = {
      module: __filename,
      name: 'createCanonicalBatchValidator',
      options: { side: this.side, location: this.location, statusMap: context.statusMap },
      rawRecords: true,
    };
    async function* tables(): AsyncGenerator<TransactionTable> {
      let headerSeen = false;
      // The file's dictionaries (what the batches' indexes point into), in order of first use.
      const fileCurrencies: CurrencyCode[] = [];
      const fileStatuses: StatusInfo[] = [];
      const fileMerchants: string[] = [];
      let table = new TransactionTable();
      // File index → index in `table`'s dictionaries (-1: not used by `table` yet).
      let maps = {
        currencies: [] as number[],
        statuses: [] as number[],
        merchants: [] as number[],
      };
      const mapUsed = (
        used: ArrayLike<number>,
        length: number,
        map: number[],
        add: (fileIndex: number) => number,
      ): void => {
        for (let r = 0; r < length; r++) {
          const index = used[r] as number;
          if (map[index] === undefined || map[index] < 0) map[index] = add(index);
        }
      };
      for await (const batch of readTransformedCsvBatches<ValidatedBatch, ValidatorOptions>(
        location,
        what,
        spec,
        encoding,
      )) {
        if (batch.header) {
          mapHeader(batch.header, location, what);
          headerSeen = true;
        }
        totals.rowCount += batch.rowCount;
        totals.invalidCount += batch.invalidCount;
        for (const issue of batch.issues) issues.push(issue);
        for (const code of batch.newCurrencies) fileCurrencies.push(code);
        for (const status of batch.newStatuses) fileStatuses.push(status);
        for (const merchant of batch.newMerchants) fileMerchants.push(merchant);
        for (const columns of batch.columns) {
          const t = table;
          mapUsed(columns.currencies, columns.length, maps.currencies, (i) =>
            t.currencyIndex(fileCurrencies[i] as CurrencyCode),
          );
          mapUsed(columns.statuses, columns.length, maps.statuses, (i) => {
            const status = fileStatuses[i] as StatusInfo;
            return t.statusIndex(status.status, status.raw);
          });
          mapUsed(columns.merchants, columns.length, maps.merchants, (i) =>
            t.merchantIndex(fileMerchants[i] as string),
          );
          table.adoptColumns(columns, maps);
          if (table.length >= STREAMED_TABLE_ROWS) {
            yield table;
            table = new TransactionTable();
            maps = { currencies: [], statuses: [], merchants: [] };
          }
        }
      }
      if (!headerSeen) {
        throw new InputRejectedError(`${what} ${location} is empty: expected a header row`, {
          location,
          line: 1,
        });
      }
      if (table.length > 0) yield table;
      totals.done = true;
    }
    return {
      tables: tables(),
      end: () => {
        if (!totals.done) throw new Error(`${location}: end() before its tables were read`);
        return {
          rowCount: totals.rowCount,
          invalidCount: totals.invalidCount,
          issues,
          sideChecked: false,
        };
      },
    };
  }
}

/** `read` sizes its table's id index for the whole file after this many rows. */
const RESERVE_AFTER_ROWS = 4096;

/** Rows per table of `CanonicalCsvSource.readStreamed` (at least; one `TransactionTable` segment). */
export const STREAMED_TABLE_ROWS = 65_536;

/** Options of `createCanonicalBatchValidator` (structured-cloneable: sent to the parser thread). */
export interface ValidatorOptions {
  readonly side: TransactionSide;
  readonly location: string;
  readonly statusMap: StatusMap;
}

/**
 * The valid rows of one batch in columnar form (what crosses from the parser thread: typed arrays
 * and two byte buffers, moved rather than copied), plus the batch's issues and counts in file order.
 *
 * `columns` hold the rows (see `TransactionColumns`) of the file so far not yet sent, in sets of
 * exactly `SEGMENT_ROWS` rows (a table adopts each as a segment, no copy), the last set of the file
 * (sent by the validator's `end`) possibly fewer; a batch may carry none. Their currency, status
 * and merchant indexes point into per-file tables to which `new…` are appended, in order, before
 * or with the batch that holds the rows. `header`: the raw header fields, in the batch that holds
 * them.
 */
export interface ValidatedBatch {
  readonly header: string[] | null;
  readonly rowCount: number;
  readonly invalidCount: number;
  readonly issues: DataQualityIssue[];
  readonly columns: TransactionColumns[];
  readonly newCurrencies: CurrencyCode[];
  readonly newStatuses: StatusInfo[];
  readonly newMerchants: string[];
  /** The file offset just after the batch's last record, when known (`CsvFieldBatch.end`). */
  readonly inputEnd?: number;
}

/**
 * Returns the per-file validator of canonical CSV batches (a `BatchTransformSpec` factory: it runs
 * on the parser thread for large files). The first record is the header; every further record is
 * validated exactly as before (same issues, same order, same transactions): a raw record
 * (`CsvFieldBatch.raw`) from its bytes when they decide (`parseRawRow`), else from its text. The
 * valid rows are sent in sets of `SEGMENT_ROWS` (see `ValidatedBatch.columns`); its `end` sends
 * the last, smaller set and must be called after the last batch.
 */
export function createCanonicalBatchValidator(
  options: ValidatorOptions,
): BatchTransform<ValidatedBatch> {
  const { side, location } = options;
  // The rows not sent yet: the first set grows from a small capacity (small files stay small).
  let columnsOut = new ColumnBuilder(4096, SEGMENT_ROWS);
  const lookups = new RowLookups(options.statusMap);
  let columns: ColumnIndexes | undefined;
  let headerNames: string[] = [];
  let headerFailed = false;
  let width = 0;
  // One reporter for the whole file (no closure per row); `line` is the current row's line.
  const rowIssues: DataQualityIssue[] = [];
  let line = 0;
  const issue: ReportIssue = (field, reason, value) => {
    rowIssues.push({
      side,
      location,
      check: 'invalid_row',
      severity: 'error',
      line,
      field,
      reason,
      value: value === null ? null : clipValue(value),
      count: null,
    });
  };

  const validate = (batch: CsvFieldBatch): TransformedBatch<ValidatedBatch> => {
    const { fields, counts } = batch;
    const issues: DataQualityIssue[] = [];
    const full: ColumnBuilder[] = [];
    const newCurrencies: CurrencyCode[] = [];
    const newStatuses: StatusInfo[] = [];
    const newMerchants: string[] = [];
    lookups.startBatch(newCurrencies, newStatuses, newMerchants);
    let header: string[] | null = null;
    let rowCount = 0;
    let invalidCount = 0;
    let next = 0;
    const { faults, raw } = batch;
    const rawAt = raw ? raw.at : undefined;
    let faultAt = 0;
    for (let r = 0; r < batch.length; r++) {
      const count = counts[r] as number;
      // Index in `fields` of the record's first field (a raw record has none there).
      const at = next;
      const rawFirst = rawAt ? (rawAt[r] as number) : -1;
      if (rawFirst < 0) next += count;
      line = batch.lines[r] as number;
      if (!columns && !headerFailed) {
        header = recordFields(batch, r, at);
        headerNames = header.map((name) => name.trim());
        try {
          columns = columnIndexes(mapHeader(header, location, ''));
        } catch {
          headerFailed = true; // the main thread reports it (same `mapHeader`)
        }
        width = count;
        continue;
      }
      if (!columns) continue;
      rowCount++;
      if (faultAt < faults.length && faults[faultAt]?.record === r) {
        // Bytes that are not text: the row is invalid, whatever its fields would say.
        for (; faultAt < faults.length && faults[faultAt]?.record === r; faultAt++) {
          const fault = faults[faultAt] as (typeof faults)[number];
          const name = headerNames[fault.field] || `column ${fault.field + 1}`;
          issue(name, textFaultReason(name, fault), fault.value);
        }
      } else if (count !== width) {
        issue(null, `row has ${count} fields, header has ${width}`, null);
      } else {
        if (columnsOut.room === 0) {
          full.push(columnsOut);
          columnsOut = new ColumnBuilder(SEGMENT_ROWS);
        }
        // A raw record's row is validated from its bytes; when that cannot decide (any doubt,
        // any invalid field), from its text, which reports the issues.
        let status: StatusLookup | null | undefined =
          raw && rawFirst >= 0
            ? parseRawRow(raw, rawFirst, columns, line, lookups, columnsOut)
            : null;
        if (status === null) {
          status =
            rawFirst < 0
              ? parseRow(fields, at, columns, line, lookups, issue, columnsOut)
              : parseRow(recordFields(batch, r, at), 0, columns, line, lookups, issue, columnsOut);
        }
        if (status && status.status === 'unknown') {
          issues.push({
            side,
            location,
            check: 'unknown_status',
            severity: 'warning',
            line,
            field: 'status',
            reason: 'status is not in the status map; compared by its raw text',
            value: clipValue(status.raw),
            count: null,
          });
        }
      }
      if (rowIssues.length > 0) {
        invalidCount++;
        for (const rowIssue of rowIssues) issues.push(rowIssue);
        rowIssues.length = 0;
      }
    }
    const value: ValidatedBatch = {
      header,
      rowCount,
      invalidCount,
      issues,
      columns: full.map((builder) => builder.toColumns()),
      newCurrencies,
      newStatuses,
      newMerchants,
      ...(batch.end === undefined ? {} : { inputEnd: batch.end }),
    };
    return { value, transfer: full.flatMap((builder) => builder.transferList()) };
  };
  const end = (): TransformedBatch<ValidatedBatch> | undefined => {
    if (columnsOut.length === 0) return undefined;
    const last = columnsOut;
    columnsOut = new ColumnBuilder(1);
    const value: ValidatedBatch = {
      header: null,
      rowCount: 0,
      invalidCount: 0,
      issues: [],
      columns: [last.toColumns()],
      newCurrencies: [],
      newStatuses: [],
      newMerchants: [],
    };
    return { value, transfer: last.transferList() };
  };
  return Object.assign(validate, { end });
}

/** Field positions of the canonical columns; -1 for an absent optional column. */
interface ColumnIndexes {
  readonly transactionId: number;
  readonly amount: number;
  readonly currency: number;
  readonly status: number;
  readonly merchantId: number;
  readonly createdAt: number;
  readonly fee: number;
  readonly description: number;
  readonly reference: number;
}

function columnIndexes(columns: Map<Column, number>): ColumnIndexes {
  const at = (name: Column): number => columns.get(name) ?? -1;
  return {
    transactionId: at('transaction_id'),
    amount: at('amount'),
    currency: at('currency'),
    status: at('status'),
    merchantId: at('merchant_id'),
    createdAt: at('created_at'),
    fee: at('fee'),
    description: at('description'),
    reference: at('reference'),
  };
}

/** At most this many distinct values are cached per lookup (input is untrusted). */
const MAX_CACHED_VALUES = 1024;

/**
 * Per-file caches of the few distinct currency and status texts: a million rows carry a handful
 * of currencies and statuses, so each is checked once and its string shared by every row (less
 * work per row and less memory per transaction). Results are exactly those of
 * `normalizeCurrency`/`currencyExponent` and `mapStatus`.
 */
class RowLookups {
  private readonly currencies = new Map<string, CurrencyInfo | null>();
  private readonly statuses = new Map<string, StatusLookup>();
  /** `YYYY-MM-DD` → epoch ms of its UTC midnight, or `null` when not a valid date. */
  private readonly days = new Map<string, number | null>();
  /** The last day looked up and its midnight: most rows of a file share one day. */
  private lastDay = '';
  private lastDayStartMs: number | null = null;
  // The file's dictionaries (what the rows' indexes point into), and their entries first used
  // by the current batch. Only valid rows add entries, in the order of their first valid row.
  private readonly codeIndex = new Map<CurrencyCode, number>();
  private readonly statusIndex = new Map<string, number>();
  private readonly merchantIndex = new Map<string, number>();
  private newCurrencies: CurrencyCode[] = [];
  private newStatuses: StatusInfo[] = [];
  private newMerchants: string[] = [];

  // The same lookups keyed by a field's bytes (raw records): no string per row.
  private readonly currencyBytes = new BytesCache<CurrencyInfo | null>(MAX_CACHED_VALUES);
  private readonly statusBytes = new BytesCache<StatusLookup>(MAX_CACHED_VALUES);
  private readonly merchantBytes = new BytesCache<number>(MAX_CACHED_MERCHANTS);
  /** `instantOfBytes`' last day: its 10 bytes (`YYYY-MM-DD`) and its midnight. */
  private readonly lastDayBytes = new Uint8Array(10);
  private lastDayBytesSet = false;
  private lastDayBytesStartMs: number | null = null;

  constructor(private readonly statusMap: StatusMap) {}

  /** `currency` of the text of `bytes[start, end)`. */
  currencyOfBytes(bytes: Buffer, start: number, end: number): CurrencyInfo | null {
    const hash = hashIdBytes(bytes, start, end);
    let info = this.currencyBytes.get(bytes, start, end, hash);
    if (info === undefined) {
      info = this.currency(bytes.toString('utf8', start, end));
      this.currencyBytes.set(bytes, start, end, hash, info);
    }
    return info;
  }

  /** `status` of the text of `bytes[start, end)`. */
  statusOfBytes(bytes: Buffer, start: number, end: number): StatusLookup {
    const hash = hashIdBytes(bytes, start, end);
    let info = this.statusBytes.get(bytes, start, end, hash);
    if (info === undefined) {
      info = this.status(bytes.toString('utf8', start, end));
      this.statusBytes.set(bytes, start, end, hash, info);
    }
    return info;
  }

  /** `merchantIndexOf` of the text of `bytes[start, end)`. */
  merchantIndexOfBytes(bytes: Buffer, start: number, end: number): number {
    const hash = hashIdBytes(bytes, start, end);
    let index = this.merchantBytes.get(bytes, start, end, hash);
    if (index === undefined) {
      index = this.merchantIndexOf(bytes.toString('utf8', start, end));
      this.merchantBytes.set(bytes, start, end, hash, index);
    }
    return index;
  }

  /**
   * `instant` of the text of `bytes[start, end)`: the same digit-by-digit fast path on the bytes
   * for the usual `YYYY-MM-DDTHH:MM:SS[.f…]Z` (all ASCII, so byte and character positions agree),
   * the text's `instant` for anything else.
   */
  instantOfBytes(bytes: Buffer, start: number, end: number): number | undefined {
    const length = end - start;
    if (
      length < 20 ||
      bytes[start + 10] !== 84 /* T */ ||
      bytes[end - 1] !== 90 /* Z */ ||
      bytes[start + 13] !== 58 /* : */ ||
      bytes[start + 16] !== 58
    ) {
      return this.instant(bytes.toString('utf8', start, end));
    }
    const hour = twoDigitBytes(bytes, start + 11);
    const minute = twoDigitBytes(bytes, start + 14);
    const second = twoDigitBytes(bytes, start + 17);
    if (hour < 0 || minute < 0 || second < 0)
      return this.instant(bytes.toString('utf8', start, end));
    let millis = 0;
    if (length !== 20) {
      if (length < 22 || length > 30 || bytes[start + 19] !== 46 /* . */)
        return this.instant(bytes.toString('utf8', start, end));
      for (let at = 20; at < length - 1; at++) {
        const digit = (bytes[start + at] as number) - 48;
        if (digit < 0 || digit > 9) return this.instant(bytes.toString('utf8', start, end));
        if (at < 23) millis = millis * 10 + digit;
      }
      for (let at = length - 1; at < 23; at++) millis *= 10;
    }
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    const day = this.lastDayBytes;
    let same = this.lastDayBytesSet;
    for (let k = 0; same && k < 10; k++) same = day[k] === bytes[start + k];
    if (!same) {
      for (let k = 0; k < 10; k++) {
        // A non-ASCII byte in the date: positions would not be characters; the text decides.
        if ((bytes[start + k] as number) >= 0x80)
          return this.instant(bytes.toString('utf8', start, end));
      }
      const text = bytes.toString('latin1', start, start + 10);
      let cached = this.days.get(text);
      if (cached === undefined) {
        cached = parseIsoInstant(`${text}T00:00:00Z`) ?? null;
        if (this.days.size < MAX_CACHED_VALUES) this.days.set(text, cached);
      }
      day.set(bytes.subarray(start, start + 10));
      this.lastDayBytesSet = true;
      this.lastDayBytesStartMs = cached;
    }
    const dayStartMs = this.lastDayBytesStartMs;
    if (dayStartMs === null) return this.instant(bytes.toString('utf8', start, end));
    return dayStartMs + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  }

  /** The normalized currency and its exponent, or `null` when `text` is not an ISO 4217 code. */
  currency(text: string): CurrencyInfo | null {
    let info = this.currencies.get(text);
    if (info === undefined) {
      const code = normalizeCurrency(text);
      info = code === undefined ? null : { code, exponent: currencyExponent(code), index: -1 };
      if (this.currencies.size < MAX_CACHED_VALUES) this.currencies.set(text, info);
    }
    return info;
  }

  /**
   * `parseIsoInstant(text)`, with a fast path for the usual `YYYY-MM-DDTHH:MM:SS[.f…]Z`: the date
   * part is checked (and converted) by `parseIsoInstant` once per distinct day, the time of day
   * is validated digit by digit with the same limits. Anything else goes to `parseIsoInstant`.
   */
  instant(text: string): number | undefined {
    const length = text.length;
    if (
      length < 20 ||
      text.charCodeAt(10) !== 84 /* T */ ||
      text.charCodeAt(length - 1) !== 90 /* Z */ ||
      text.charCodeAt(13) !== 58 /* : */ ||
      text.charCodeAt(16) !== 58
    ) {
      return parseIsoInstant(text);
    }
    const hour = twoDigits(text, 11);
    const minute = twoDigits(text, 14);
    const second = twoDigits(text, 17);
    if (hour < 0 || minute < 0 || second < 0) return parseIsoInstant(text);
    let millis = 0;
    if (length !== 20) {
      // ".f" to ".fffffffff" (1 to 9 digits); milliseconds are the first three, zero-padded.
      if (length < 22 || length > 30 || text.charCodeAt(19) !== 46 /* . */)
        return parseIsoInstant(text);
      for (let at = 20; at < length - 1; at++) {
        const digit = text.charCodeAt(at) - 48;
        if (digit < 0 || digit > 9) return parseIsoInstant(text);
        if (at < 23) millis = millis * 10 + digit;
      }
      for (let at = length - 1; at < 23; at++) millis *= 10;
    }
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    let dayStartMs: number | null;
    if (this.lastDay !== '' && text.startsWith(this.lastDay)) dayStartMs = this.lastDayStartMs;
    else {
      const day = text.slice(0, 10);
      let cached = this.days.get(day);
      if (cached === undefined) {
        cached = parseIsoInstant(`${day}T00:00:00Z`) ?? null;
        if (this.days.size < MAX_CACHED_VALUES) this.days.set(day, cached);
      }
      this.lastDay = day;
      this.lastDayStartMs = dayStartMs = cached;
    }
    if (dayStartMs === null) return parseIsoInstant(text);
    return dayStartMs + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  }

  /**
   * The index in this file's merchant dictionary of `text` (added, and listed as new in the
   * current batch, on first use).
   */
  merchantIndexOf(text: string): number {
    let index = this.merchantIndex.get(text);
    if (index === undefined) {
      index = this.merchantIndex.size;
      this.merchantIndex.set(text, index);
      this.newMerchants.push(text);
    }
    return index;
  }

  /** The index in this file's currency dictionary of a valid row's currency (added when new). */
  currencyIndexOf(info: CurrencyInfo): number {
    if (info.index >= 0) return info.index;
    let index = this.codeIndex.get(info.code);
    if (index === undefined) {
      index = this.codeIndex.size;
      this.codeIndex.set(info.code, index);
      this.newCurrencies.push(info.code);
    }
    info.index = index;
    return index;
  }

  /** The index in this file's status dictionary of a valid row's raw status (added when new). */
  statusIndexOf(info: StatusLookup): number {
    if (info.index >= 0) return info.index;
    let index = this.statusIndex.get(info.raw);
    if (index === undefined) {
      index = this.statusIndex.size;
      this.statusIndex.set(info.raw, index);
      this.newStatuses.push({ status: info.status, raw: info.raw });
    }
    info.index = index;
    return index;
  }

  /** Where the dictionary entries first used by the next rows are listed (one batch's lists). */
  startBatch(currencies: CurrencyCode[], statuses: StatusInfo[], merchants: string[]): void {
    this.newCurrencies = currencies;
    this.newStatuses = statuses;
    this.newMerchants = merchants;
  }

  /** The mapped status of `raw`, with one shared copy of the raw text. */
  status(raw: string): StatusLookup {
    let info = this.statuses.get(raw);
    if (info === undefined) {
      info = { status: mapStatus(raw, this.statusMap), raw, index: -1 };
      if (this.statuses.size < MAX_CACHED_VALUES) this.statuses.set(raw, info);
    }
    return info;
  }
}

/** `twoDigits` of the bytes at `at`. */
function twoDigitBytes(bytes: Buffer, at: number): number {
  const tens = (bytes[at] as number) - 48;
  const ones = (bytes[at + 1] as number) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/** At most this many distinct merchant ids are cached by their bytes. */
const MAX_CACHED_MERCHANTS = 1 << 16;

/**
 * A bounded cache keyed by a field's bytes: a direct-mapped table of a power of two slots at
 * least twice `limit`, indexed by the low bits of the bytes' `hashIdBytes`; the key's bytes are
 * compared on every hit. A key whose slot is taken is simply not cached (its caller looks it up
 * by text each time).
 */
class BytesCache<T> {
  private readonly slots: ({ readonly key: Uint8Array; readonly value: T } | undefined)[];
  private readonly mask: number;

  constructor(limit: number) {
    let size = 16;
    while (size < limit * 2) size *= 2;
    this.slots = new Array<{ readonly key: Uint8Array; readonly value: T } | undefined>(size).fill(
      undefined,
    );
    this.mask = size - 1;
  }

  get(bytes: Uint8Array, start: number, end: number, hash: number): T | undefined {
    const entry = this.slots[hash & this.mask];
    if (entry === undefined) return undefined;
    const key = entry.key;
    if (key.length !== end - start) return undefined;
    for (let k = 0; k < key.length; k++) if (key[k] !== bytes[start + k]) return undefined;
    return entry.value;
  }

  set(bytes: Uint8Array, start: number, end: number, hash: number, value: T): void {
    const slot = hash & this.mask;
    if (this.slots[slot] !== undefined) return;
    // A copy (a Buffer's `slice` would be a view keeping the whole segment alive).
    const key = new Uint8Array(end - start);
    key.set(bytes.subarray(start, end));
    this.slots[slot] = { key, value };
  }
}

/** The number written by the two ASCII digits at `at`, or -1 when they are not two digits. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const ones = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

interface CurrencyInfo {
  readonly code: CurrencyCode;
  readonly exponent: number;
  /** Index in the file's currency dictionary; -1 until a valid row uses it. */
  index: number;
}

/** A dictionary entry: a raw status text and its canonical status. */
interface StatusInfo {
  readonly status: CanonicalStatus;
  readonly raw: string;
}

interface StatusLookup extends StatusInfo {
  /** Index in the file's status dictionary; -1 until a valid row uses it. */
  index: number;
}

function mapHeader(header: string[], location: string, what: string): Map<Column, number> {
  const wanted = new Set<string>([...CANONICAL_REQUIRED_COLUMNS, ...CANONICAL_OPTIONAL_COLUMNS]);
  const columns = new Map<Column, number>();
  const normalized = header.map((name) => name.trim().toLowerCase());
  normalized.forEach((name, index) => {
    if (!wanted.has(name)) return;
    if (columns.has(name as Column)) {
      throw new InputRejectedError(`${what} ${location} line 1: column '${name}' appears twice`, {
        location,
        line: 1,
        field: name,
      });
    }
    columns.set(name as Column, index);
  });
  const missing = CANONICAL_REQUIRED_COLUMNS.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new InputRejectedError(
      `${what} ${location} line 1: header is missing column(s) ${missing.join(', ')}; ` +
        `expected ${CANONICAL_REQUIRED_COLUMNS.join(', ')} (found: ${printable(normalized.join(', ')) || 'nothing'})`,
      { location, line: 1, field: missing[0] },
    );
  }
  return columns;
}

type ReportIssue = (field: string | null, reason: string, value: string | null) => void;

/** The trimmed value of a required field; reports it when empty. */
function requiredField(fields: string[], index: number, name: Column, issue: ReportIssue): string {
  const value = (fields[index] ?? '').trim();
  if (value === '') issue(name, `${name} is empty`, value);
  return value;
}

/**
 * Validates the record whose fields start at `fields[at]` and appends it to `out` when valid.
 * Returns the row's status entry, or `undefined` when it is invalid (its issues reported).
 */
function parseRow(
  fields: string[],
  at: number,
  columns: ColumnIndexes,
  line: number,
  lookups: RowLookups,
  issue: ReportIssue,
  out: ColumnBuilder,
): StatusLookup | undefined {
  // Required columns are always present (the header was checked); values are trimmed.
  const transactionId = requiredField(fields, at + columns.transactionId, 'transaction_id', issue);
  const amountText = requiredField(fields, at + columns.amount, 'amount', issue);
  const currencyText = requiredField(fields, at + columns.currency, 'currency', issue);
  const statusText = requiredField(fields, at + columns.status, 'status', issue);
  const merchantText = requiredField(fields, at + columns.merchantId, 'merchant_id', issue);
  const createdAtText = requiredField(fields, at + columns.createdAt, 'created_at', issue);
  let ok =
    transactionId !== '' &&
    amountText !== '' &&
    currencyText !== '' &&
    statusText !== '' &&
    merchantText !== '' &&
    createdAtText !== '';
  const idBytes = overlongIdBytes(transactionId);
  if (idBytes > 0) {
    issue('transaction_id', overlongIdReason('transaction_id', idBytes), transactionId);
    ok = false;
  }

  const currencyInfo = currencyText === '' ? undefined : lookups.currency(currencyText);
  if (currencyInfo === null) {
    issue(
      'currency',
      `currency '${clipValue(currencyText, 20)}' is not an ISO 4217 code`,
      currencyText,
    );
    ok = false;
  }
  const currency = currencyInfo ? currencyInfo.code : undefined;
  const exponent = currencyInfo ? currencyInfo.exponent : undefined;

  let amountMinor = 0n;
  if (amountText !== '' && exponent !== undefined) {
    const parsed = parseMinorOrRejection(amountText, exponent);
    if (typeof parsed === 'bigint') amountMinor = parsed;
    else {
      issue(
        'amount',
        `amount ${AMOUNT_REASONS[parsed]} (${currency} has ${exponent} decimals)`,
        amountText,
      );
      ok = false;
    }
  }

  let feeMinor: bigint | null = null;
  const feeText = columns.fee === -1 ? undefined : (fields[at + columns.fee] ?? '').trim();
  if (feeText && exponent !== undefined) {
    const parsed = parseMinorOrRejection(feeText, exponent);
    if (typeof parsed === 'bigint') feeMinor = parsed;
    else {
      issue('fee', `fee ${AMOUNT_REASONS[parsed]} (${currency} has ${exponent} decimals)`, feeText);
      ok = false;
    }
  }

  const createdAtMs = createdAtText === '' ? undefined : lookups.instant(createdAtText);
  if (createdAtText !== '' && createdAtMs === undefined) {
    issue(
      'created_at',
      'created_at is not an ISO 8601 timestamp with an offset or Z',
      createdAtText,
    );
    ok = false;
  }

  if (!ok || !currencyInfo || createdAtMs === undefined) return undefined;
  const description =
    columns.description === -1 ? undefined : (fields[at + columns.description] ?? '').trim();
  const status = lookups.status(statusText);
  const reference = columns.reference === -1 ? '' : (fields[at + columns.reference] ?? '').trim();
  out.push(
    transactionId,
    amountMinor,
    lookups.currencyIndexOf(currencyInfo),
    feeMinor,
    lookups.statusIndexOf(status),
    lookups.merchantIndexOf(merchantText),
    createdAtMs,
    description ? description : null,
    line,
    null, // net: the canonical CSV has none (gross − fee)
    reference !== '' ? reference : null,
  );
  return status;
}

/** The trimmed bounds `trimmed(…)` found (module scratch: no object per field). */
let trimStart = 0;
let trimEnd = 0;

/**
 * Sets `trimStart`/`trimEnd` to `bytes[start, end)` without the ASCII white space that
 * `String.prototype.trim` removes (TAB, LF, VT, FF, CR, space). Returns false when the trimmed
 * bytes begin or end with a non-ASCII byte: `trim` might remove more there (U+00A0, U+FEFF, …),
 * so the text must decide.
 */
function trimmed(bytes: Buffer, start: number, end: number): boolean {
  let s = start;
  let e = end;
  for (
    let c = bytes[s] as number;
    s < e && (c === 32 || (c >= 9 && c <= 13));
    c = bytes[s] as number
  )
    s++;
  for (
    let c = bytes[e - 1] as number;
    e > s && (c === 32 || (c >= 9 && c <= 13));
    c = bytes[e - 1] as number
  )
    e--;
  trimStart = s;
  trimEnd = e;
  return s === e || ((bytes[s] as number) < 0x80 && (bytes[e - 1] as number) < 0x80);
}

/** `trimmed` of field `index` of the raw record whose bounds start at `bounds[first]`. */
function trimmedField(bytes: Buffer, bounds: Uint32Array, first: number, index: number): boolean {
  return trimmed(
    bytes,
    bounds[first + 2 * index] as number,
    bounds[first + 2 * index + 1] as number,
  );
}

/** `trimmedField`, and the trimmed field is not empty. */
function requiredBytes(bytes: Buffer, bounds: Uint32Array, first: number, index: number): boolean {
  return trimmedField(bytes, bounds, first, index) && trimStart !== trimEnd;
}

/**
 * `parseRow` of a raw record (fields as bytes, `RawRecords`) that is certainly valid: appends it
 * to `out` exactly as `parseRow` would and returns its status entry. Returns `null`, having done
 * nothing, when the bytes alone cannot decide: an empty or invalid field, an over-long id, white
 * space or a non-ASCII byte at either end of a field that `trim` may touch; the caller then runs
 * `parseRow` on the record's text (which reports the issues).
 */
function parseRawRow(
  raw: RawRecords,
  first: number,
  columns: ColumnIndexes,
  line: number,
  lookups: RowLookups,
  out: ColumnBuilder,
): StatusLookup | null {
  const { bytes, bounds } = raw;
  // Required fields: non-empty once trimmed.
  if (!requiredBytes(bytes, bounds, first, columns.transactionId)) return null;
  const idStart = trimStart;
  const idEnd = trimEnd;
  if (idEnd - idStart > MAX_TRANSACTION_ID_BYTES) return null;
  if (!requiredBytes(bytes, bounds, first, columns.currency)) return null;
  const currencyInfo = lookups.currencyOfBytes(bytes, trimStart, trimEnd);
  if (currencyInfo === null) return null;
  const exponent = currencyInfo.exponent;
  if (!requiredBytes(bytes, bounds, first, columns.amount)) return null;
  const amountMinor = parseMinorBytes(bytes, trimStart, trimEnd, exponent);
  if (typeof amountMinor !== 'bigint') return null;
  if (!requiredBytes(bytes, bounds, first, columns.status)) return null;
  const statusStart = trimStart;
  const statusEnd = trimEnd;
  if (!requiredBytes(bytes, bounds, first, columns.merchantId)) return null;
  const merchantStart = trimStart;
  const merchantEnd = trimEnd;
  if (!requiredBytes(bytes, bounds, first, columns.createdAt)) return null;
  const createdAtMs = lookups.instantOfBytes(bytes, trimStart, trimEnd);
  if (createdAtMs === undefined) return null;
  let feeMinor: bigint | null = null;
  if (columns.fee !== -1) {
    if (!trimmedField(bytes, bounds, first, columns.fee)) return null;
    if (trimStart !== trimEnd) {
      const fee = parseMinorBytes(bytes, trimStart, trimEnd, exponent);
      if (typeof fee !== 'bigint') return null;
      feeMinor = fee;
    }
  }
  let descriptionStart = -1;
  let descriptionEnd = -1;
  if (columns.description !== -1) {
    if (!trimmedField(bytes, bounds, first, columns.description)) return null;
    if (trimStart !== trimEnd) {
      descriptionStart = trimStart;
      descriptionEnd = trimEnd;
    }
  }
  let reference: string | null = null;
  if (columns.reference !== -1) {
    if (!trimmedField(bytes, bounds, first, columns.reference)) return null;
    if (trimStart !== trimEnd) reference = bytes.toString('utf8', trimStart, trimEnd);
  }
  const status = lookups.statusOfBytes(bytes, statusStart, statusEnd);
  out.pushBytes(
    bytes,
    idStart,
    idEnd,
    amountMinor,
    lookups.currencyIndexOf(currencyInfo),
    feeMinor,
    lookups.statusIndexOf(status),
    lookups.merchantIndexOfBytes(bytes, merchantStart, merchantEnd),
    createdAtMs,
    descriptionStart,
    descriptionEnd,
    line,
    reference,
  );
  return status;
}
