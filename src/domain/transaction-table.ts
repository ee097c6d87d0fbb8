import type { CurrencyCode } from './currency';
import { BusinessDayCalendar, dateOfEpochDay, type Cutoff } from './cutoff';
import type { CanonicalStatus, Transaction } from './transaction';
import {
  AMOUNT_WIDE,
  ColumnBuilder,
  FEE_WIDE,
  HAS_DESCRIPTION,
  HAS_FEE,
  HAS_NET,
  NET_WIDE,
  type DictionaryMaps,
  type TransactionColumns,
} from './transaction-columns';

/** Row state (`TransactionTable.rowState`): the first row of its id on this side. */
export const FIRST_OF_ID = 0;
/** A further row of an id already seen on the same side (a duplicate). */
export const DUPLICATE_ROW = 1;
/** The first row of an id that occurs again later on the same side. */
export const FIRST_OF_DUPLICATED_ID = 2;

/** One entry of a table's status dictionary: the canonical status of a raw status text. */
export interface StatusEntry {
  readonly status: CanonicalStatus;
  readonly raw: string;
  /** `raw` trimmed and lower-cased: how two `unknown` statuses are compared. */
  readonly key: string;
}

const SEGMENT_BITS = 16;
/** Rows per segment of a `TransactionTable` (columns of this many rows are adopted whole). */
export const SEGMENT_ROWS = 1 << SEGMENT_BITS;
const SEGMENT_MASK = SEGMENT_ROWS - 1;
/** Rows probed together by `firstRowsOf`. */
const PROBE_GROUP = 32;
/**
 * Where the warming loads of `firstRowsOf` and `warmRows` leave their (meaningless) result: a
 * write the compiler must keep, so that it cannot drop the loads as unused.
 */
const warmed = { sink: 0 };

/**
 * One side's transactions, stored in columns (see `TransactionColumns`) in segments of 65 536
 * rows, with dictionaries of currencies, statuses and merchants, plus an index of the ids built as
 * rows are appended: which rows are duplicates (`rowState`), how many ids occur more than once
 * (`duplicatedIds`) and the first row of an id (`findFirst`). About 60 bytes per row plus the id
 * and description bytes, outside the JavaScript heap: no object per row and nothing for the
 * garbage collector to trace. Rows are numbered `0 … length-1` in the order appended (file order).
 *
 * `at(i)` materializes a `Transaction` equal to the one appended.
 */
export class TransactionTable {
  /** Rows appended. */
  length = 0;
  /** Number of distinct ids that occur more than once. */
  duplicatedIds = 0;
  readonly currencies: CurrencyCode[] = [];
  readonly statuses: StatusEntry[] = [];
  readonly merchants: string[] = [];
  private readonly currencyIds = new Map<string, number>();
  private readonly statusIds = new Map<string, number>();
  private readonly merchantIds = new Map<string, number>();
  private readonly segments: ColumnBuilder[] = [];
  private rowStates = new Uint8Array(256);
  /** Open addressing, linear probing: `[hash, row + 1]` pairs (`row + 1 = 0`: empty slot). */
  private slots: Int32Array | null = new Int32Array(2 * 1024);
  private slotMask = 1023;
  private distinctIds = 0;
  private calendar: BusinessDayCalendar | null = null;
  /** Payment methods by row (index + 1 into `paymentMethods`, 0: none); allocated on first use. */
  private methodCodes: Uint16Array | null = null;
  /** Dictionary of the payment methods of rows appended with one (`Transaction.paymentMethod`). */
  readonly paymentMethods: string[] = [];
  private readonly paymentMethodIds = new Map<string, number>();

  /** A table holding `rows`, in order (their ids indexed). */
  static fromTransactions(rows: readonly Transaction[]): TransactionTable {
    const table = new TransactionTable();
    for (const row of rows) table.append(row);
    return table;
  }

  /** Index of `code` in `currencies`, added when new. */
  currencyIndex(code: CurrencyCode): number {
    let index = this.currencyIds.get(code);
    if (index === undefined) {
      if (this.currencies.length > 255) throw new Error('more than 256 currencies in one table');
      index = this.currencies.length;
      this.currencies.push(code);
      this.currencyIds.set(code, index);
    }
    return index;
  }

  /** Index of the raw status `raw` (mapped to `status`) in `statuses`, added when new. */
  statusIndex(status: CanonicalStatus, raw: string): number {
    // Keyed by both: one side maps a raw text to one status, but a table built from arbitrary
    // `Transaction`s may pair the same text with several.
    const id = `${status}\u0000${raw}`;
    let index = this.statusIds.get(id);
    if (index === undefined) {
      index = this.statuses.length;
      this.statuses.push({ status, raw, key: raw.trim().toLowerCase() });
      this.statusIds.set(id, index);
    }
    return index;
  }

  /** Index of `merchantId` in `merchants`, added when new. */
  merchantIndex(merchantId: string): number {
    let index = this.merchantIds.get(merchantId);
    if (index === undefined) {
      index = this.merchants.length;
      this.merchants.push(merchantId);
      this.merchantIds.set(merchantId, index);
    }
    return index;
  }

  private tail(): ColumnBuilder {
    let segment = this.segments[this.segments.length - 1];
    if (!segment || segment.room === 0) {
      segment = new ColumnBuilder(this.segments.length === 0 ? 256 : SEGMENT_ROWS, SEGMENT_ROWS);
      this.segments.push(segment);
    }
    return segment;
  }

  /** Appends one transaction. */
  append(t: Transaction): void {
    const segment = this.tail();
    segment.push(
      t.transactionId,
      t.amountMinor,
      this.currencyIndex(t.currency),
      t.feeMinor,
      this.statusIndex(t.status, t.rawStatus),
      this.merchantIndex(t.merchantId),
      t.createdAtMs,
      t.description,
      t.line,
      t.netMinor ?? null,
      t.reference ?? null,
    );
    if (t.paymentMethod !== undefined && t.paymentMethod !== null) {
      this.setPaymentMethod(this.length, t.paymentMethod);
    }
    this.indexRows(this.length, this.length + 1);
    this.length++;
  }

  /**
   * Appends every row of `columns`, whose dictionary indexes are translated through `maps` into
   * this table's dictionaries (see `currencyIndex`, `statusIndex`, `merchantIndex`).
   */
  appendColumns(columns: TransactionColumns, maps: DictionaryMaps): void {
    let from = 0;
    while (from < columns.length) {
      const segment = this.tail();
      const to = Math.min(columns.length, from + segment.room);
      segment.copyRows(columns, from, to, maps);
      this.indexRows(this.length, this.length + to - from);
      this.length += to - from;
      from = to;
    }
  }

  /**
   * `appendColumns`, without copying when `columns` start a segment (this table's length is a
   * multiple of `SEGMENT_ROWS` and they hold at most that many rows): their arrays become the
   * segment, their dictionary indexes translated in place. Takes ownership: the caller must not
   * use `columns` (or the arrays in it) afterwards. Same table as `appendColumns`.
   */
  adoptColumns(columns: TransactionColumns, maps: DictionaryMaps): void {
    if (
      (this.length & SEGMENT_MASK) !== 0 ||
      columns.length === 0 ||
      columns.length > SEGMENT_ROWS
    ) {
      this.appendColumns(columns, maps);
      return;
    }
    const segment = ColumnBuilder.adopt(columns, SEGMENT_ROWS);
    segment.translateDictionaries(maps);
    this.segments.push(segment);
    this.indexRows(this.length, this.length + columns.length);
    this.length += columns.length;
  }

  /**
   * Sizes the id index for about `ids` distinct ids up front (a hint: it grows as needed either
   * way), so that it is not rebuilt over and over as a large side is appended.
   */
  reserveIds(ids: number): void {
    this.growRowStates(ids);
    this.reserveSlots(ids);
  }

  private growRowStates(rows: number): void {
    if (rows <= this.rowStates.length) return;
    let n = this.rowStates.length;
    while (n < rows) n *= 2;
    const fresh = new Uint8Array(n);
    fresh.set(this.rowStates);
    this.rowStates = fresh;
  }

  /**
   * Adds rows `[from, to)` (already appended, all in one segment) to the id index and the row
   * states: one probe per row, which either finds the id's first row (a duplicate) or inserts it.
   */
  private indexRows(from: number, to: number): void {
    this.growRowStates(to);
    this.reserveSlots(this.distinctIds + (to - from));
    const slots = this.slots;
    if (!slots) throw new Error('the id index of this table was dropped');
    const mask = this.slotMask;
    const states = this.rowStates;
    const segment = this.segments[from >>> SEGMENT_BITS] as ColumnBuilder;
    const { idHash, idEnd, idBytes } = segment;
    const base = from - (from & SEGMENT_MASK);
    let touched = 0;
    for (let row = from; row < to; row++) {
      const r = row - base;
      if ((row - from) % PROBE_GROUP === 0) {
        // Load the next group's slots side by side (independent cache misses) before the
        // inserts, which depend on one another (as `firstRowsOf` does).
        const end = Math.min(to - base, r + PROBE_GROUP);
        for (let k = r; k < end; k++)
          touched ^= slots[2 * ((idHash[k] as number) & mask) + 1] as number;
      }
      const hash = idHash[r] as number;
      const start = r === 0 ? 0 : (idEnd[r - 1] as number);
      const length = (idEnd[r] as number) - start;
      let slot = hash & mask;
      for (;;) {
        const stored = slots[2 * slot + 1] as number;
        if (stored === 0) {
          slots[2 * slot] = hash;
          slots[2 * slot + 1] = row + 1;
          this.distinctIds++;
          break;
        }
        if (slots[2 * slot] === hash && this.idEquals(stored - 1, idBytes, start, length)) {
          const first = stored - 1;
          states[row] = DUPLICATE_ROW;
          if (states[first] === FIRST_OF_ID) {
            states[first] = FIRST_OF_DUPLICATED_ID;
            this.duplicatedIds++;
          }
          break;
        }
        slot = (slot + 1) & mask;
      }
    }
    warmed.sink ^= touched;
  }

  /** Whether row `row`'s id is the `length` bytes of `bytes` from `start`. */
  private idEquals(row: number, bytes: Uint8Array, start: number, length: number): boolean {
    const segment = this.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
    const s = row & SEGMENT_MASK;
    const otherStart = s === 0 ? 0 : (segment.idEnd[s - 1] as number);
    if ((segment.idEnd[s] as number) - otherStart !== length) return false;
    const otherBytes = segment.idBytes;
    for (let k = 0; k < length; k++) {
      if (bytes[start + k] !== otherBytes[otherStart + k]) return false;
    }
    return true;
  }

  /** The first row whose id equals row `r` of `columns` (hash `hash`), or -1. */
  private probe(hash: number, columns: TransactionColumns, r: number): number {
    const slots = this.slots as Int32Array;
    const mask = this.slotMask;
    const start = r === 0 ? 0 : (columns.idEnd[r - 1] as number);
    const length = (columns.idEnd[r] as number) - start;
    const bytes = columns.idBytes;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = slots[2 * slot + 1] as number;
      if (stored === 0) return -1;
      if (slots[2 * slot] === hash && this.idEquals(stored - 1, bytes, start, length)) {
        return stored - 1;
      }
    }
  }

  /** Grows the slot table (load factor ≤ 1/2) to hold `ids` distinct ids. */
  private reserveSlots(ids: number): void {
    const old = this.slots;
    if (!old || ids * 2 <= this.slotMask + 1) return;
    let capacity = (this.slotMask + 1) * 2;
    while (ids * 2 > capacity) capacity *= 2;
    const fresh = new Int32Array(2 * capacity);
    const mask = capacity - 1;
    for (let slot = 0; slot <= this.slotMask; slot++) {
      const stored = old[2 * slot + 1] as number;
      if (stored === 0) continue;
      const h = old[2 * slot] as number;
      let s = h & mask;
      while (fresh[2 * s + 1] !== 0) s = (s + 1) & mask;
      fresh[2 * s] = h;
      fresh[2 * s + 1] = stored;
    }
    this.slots = fresh;
    this.slotMask = mask;
  }

  /**
   * The first row of this table whose id equals the id of row `row` of `other`, or -1.
   * @throws Error after `dropIdIndex`.
   */
  findFirst(other: TransactionTable, row: number): number {
    if (!this.slots) throw new Error('the id index of this table was dropped');
    const segment = other.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
    const r = row & SEGMENT_MASK;
    return this.probe(segment.idHash[r] as number, segment, r);
  }

  /**
   * For every row of `other`, the first row of this table with the same id, or -1: `findFirst`
   * for all rows at once. Rows are probed in groups: first the group's slots, then the
   * candidates' id offsets and bytes are touched in loops of independent loads, so the CPU waits
   * for those cache misses side by side instead of one after the other (about a third faster on
   * 1M rows than probing row by row). Same results as `findFirst`.
   * @throws Error after `dropIdIndex`.
   */
  firstRowsOf(other: TransactionTable): Int32Array {
    const slots = this.slots;
    if (!slots) throw new Error('the id index of this table was dropped');
    const mask = this.slotMask;
    const found = new Int32Array(other.length);
    const candidate = new Int32Array(PROBE_GROUP);
    let touched = 0;
    for (let base = 0; base < other.length; base += PROBE_GROUP) {
      const end = Math.min(other.length, base + PROBE_GROUP);
      for (let row = base; row < end; row++) {
        const segment = other.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
        const hash = segment.idHash[row & SEGMENT_MASK] as number;
        candidate[row - base] = slots[2 * (hash & mask) + 1] as number;
      }
      for (let k = 0; k < end - base; k++) {
        const stored = candidate[k] as number;
        if (stored === 0) continue;
        const segment = this.segments[(stored - 1) >>> SEGMENT_BITS] as ColumnBuilder;
        touched ^= segment.idEnd[(stored - 1) & SEGMENT_MASK] as number;
      }
      for (let k = 0; k < end - base; k++) {
        const stored = candidate[k] as number;
        if (stored === 0) continue;
        const segment = this.segments[(stored - 1) >>> SEGMENT_BITS] as ColumnBuilder;
        const r = (stored - 1) & SEGMENT_MASK;
        touched ^= segment.idBytes[r === 0 ? 0 : (segment.idEnd[r - 1] as number)] as number;
      }
      for (let row = base; row < end; row++) {
        const segment = other.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
        const r = row & SEGMENT_MASK;
        found[row] = this.probe(segment.idHash[r] as number, segment, r);
      }
    }
    warmed.sink ^= touched;
    return found;
  }

  /**
   * Sets the cut-off of this side (`addSideChecks` does, from the run's `ReadContext`): from then
   * on every row has a business date (`businessDayAt`, `atWithBusinessDate`), computed from its
   * `created_at`. `null` removes it.
   */
  setCutoff(cutoff: Cutoff | null): void {
    this.calendar = cutoff ? new BusinessDayCalendar(cutoff) : null;
  }

  /** The cut-off set with `setCutoff`, or `null`. */
  get cutoff(): Cutoff | null {
    return this.calendar?.cutoff ?? null;
  }

  /**
   * The business date of row `row` under the table's cut-off, as an epoch day (days since
   * 1970-01-01, see `epochDayOf`); `null` when the table has no cut-off.
   */
  businessDayAt(row: number): number | null {
    return this.calendar ? this.calendar.epochDayAt(this.createdAtMs(row)) : null;
  }

  /** The business date `YYYY-MM-DD` of row `row` (`businessDayAt`), or `null` without a cut-off. */
  atBusinessDate(row: number): string | null {
    const day = this.businessDayAt(row);
    return day === null ? null : dateOfEpochDay(day);
  }

  /** `at(row)` with its `businessDate` set when the table has a cut-off. */
  atWithBusinessDate(row: number): Transaction {
    const t = this.at(row);
    const day = this.businessDayAt(row);
    return day === null ? t : { ...t, businessDate: dateOfEpochDay(day) };
  }

  /** Frees the id index (the row states stay); `findFirst` and appending then throw. */
  dropIdIndex(): void {
    this.slots = null;
  }

  /** `FIRST_OF_ID`, `DUPLICATE_ROW` or `FIRST_OF_DUPLICATED_ID` for row `row`. */
  rowState(row: number): number {
    return this.rowStates[row] as number;
  }

  private segmentOf(row: number): ColumnBuilder {
    const segment = this.segments[row >>> SEGMENT_BITS];
    if (!segment || (row & SEGMENT_MASK) >= segment.length || row < 0) {
      throw new RangeError(`row ${row} out of range (table of ${this.length})`);
    }
    return segment;
  }

  /** Amount of row `row` in minor units. */
  amountAt(row: number): bigint {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    return (segment.flags[r] as number) & AMOUNT_WIDE
      ? (segment.wideAmounts.get(r) as bigint)
      : (segment.amounts[r] as bigint);
  }

  /**
   * Whether row `row` of this table and row `otherRow` of `other` have the same amount (minor
   * units), without allocating when both fit in 64 bits.
   */
  sameAmount(row: number, other: TransactionTable, otherRow: number): boolean {
    const a = this.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
    const b = other.segments[otherRow >>> SEGMENT_BITS] as ColumnBuilder;
    const ra = row & SEGMENT_MASK;
    const rb = otherRow & SEGMENT_MASK;
    if (((a.flags[ra] as number) | (b.flags[rb] as number)) & AMOUNT_WIDE) {
      return this.amountAt(row) === other.amountAt(otherRow);
    }
    return a.amounts[ra] === b.amounts[rb];
  }

  /**
   * Whether row `row` of this table and row `otherRow` of `other` agree on the fee: true when
   * either has none, else whether both fees (minor units) are equal.
   */
  sameFee(row: number, other: TransactionTable, otherRow: number): boolean {
    const a = this.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
    const b = other.segments[otherRow >>> SEGMENT_BITS] as ColumnBuilder;
    const ra = row & SEGMENT_MASK;
    const rb = otherRow & SEGMENT_MASK;
    const fa = a.flags[ra] as number;
    const fb = b.flags[rb] as number;
    if (!(fa & HAS_FEE) || !(fb & HAS_FEE)) return true;
    if ((fa | fb) & FEE_WIDE) return this.feeAt(row) === other.feeAt(otherRow);
    return a.fees[ra] === b.fees[rb];
  }

  /**
   * Loads the currency, status, flags and amount of the rows `rows[from, to)` (entries < 0 are
   * skipped) before they are used, so that their cache misses overlap (see `firstRowsOf`).
   */
  warmRows(rows: Int32Array, from: number, to: number): void {
    let touched = 0;
    for (let k = from; k < to; k++) {
      const row = rows[k] as number;
      if (row < 0) continue;
      const segment = this.segments[row >>> SEGMENT_BITS] as ColumnBuilder;
      const r = row & SEGMENT_MASK;
      touched ^=
        ((segment.currencies[r] as number) ^
          (segment.statuses[r] as number) ^
          (segment.flags[r] as number)) +
        (segment.amounts[r] === 0n ? 1 : 0);
    }
    warmed.sink ^= touched;
  }

  /** Index into `currencies` of row `row`. */
  currencyIndexAt(row: number): number {
    return (this.segments[row >>> SEGMENT_BITS] as ColumnBuilder).currencies[
      row & SEGMENT_MASK
    ] as number;
  }

  /** Index into `statuses` of row `row`. */
  statusIndexAt(row: number): number {
    return (this.segments[row >>> SEGMENT_BITS] as ColumnBuilder).statuses[
      row & SEGMENT_MASK
    ] as number;
  }

  /** `created_at` of row `row`, epoch milliseconds (UTC). */
  createdAtMs(row: number): number {
    return (this.segments[row >>> SEGMENT_BITS] as ColumnBuilder).createdAt[
      row & SEGMENT_MASK
    ] as number;
  }

  /** Source line of row `row`. */
  lineAt(row: number): number {
    return this.segmentOf(row).lines[row & SEGMENT_MASK] as number;
  }

  /** Index into `merchants` of row `row`. */
  merchantIndexAt(row: number): number {
    return this.segmentOf(row).merchants[row & SEGMENT_MASK] as number;
  }

  /** Fee of row `row` in minor units, or `null` when absent. */
  feeAt(row: number): bigint | null {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    const flag = segment.flags[r] as number;
    if (!(flag & HAS_FEE)) return null;
    return flag & FEE_WIDE ? (segment.wideFees.get(r) as bigint) : (segment.fees[r] as bigint);
  }

  private setPaymentMethod(row: number, method: string): void {
    let id = this.paymentMethodIds.get(method);
    if (id === undefined) {
      if (this.paymentMethods.length >= 0xffff) throw new Error('more than 65535 payment methods');
      id = this.paymentMethods.length;
      this.paymentMethods.push(method);
      this.paymentMethodIds.set(method, id);
    }
    let codes = this.methodCodes;
    if (!codes || codes.length <= row) {
      let n = codes ? codes.length : 256;
      while (n <= row) n *= 2;
      const fresh = new Uint16Array(n);
      if (codes) fresh.set(codes);
      codes = this.methodCodes = fresh;
    }
    codes[row] = id + 1;
  }

  /** The payment method of row `row` as its source named it, or `null`. */
  paymentMethodAt(row: number): string | null {
    const code = this.methodCodes?.[row] ?? 0;
    return code === 0 ? null : (this.paymentMethods[code - 1] ?? null);
  }

  /** Net amount of row `row` in minor units as its source reported it, or `null` when absent. */
  reportedNetAt(row: number): bigint | null {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    const flag = segment.flags[r] as number;
    if (!(flag & HAS_NET)) return null;
    return flag & NET_WIDE ? (segment.wideNets.get(r) as bigint) : (segment.nets[r] as bigint);
  }

  /**
   * Net amount of row `row` in minor units: the reported net, else amount − fee, else `null`
   * (see `netAmountOf`).
   */
  netAt(row: number): bigint | null {
    const reported = this.reportedNetAt(row);
    if (reported !== null) return reported;
    const fee = this.feeAt(row);
    return fee === null ? null : this.amountAt(row) - fee;
  }

  /** The UTF-8 bytes of row `row`'s id (a view into the table: do not keep or modify it). */
  idBytesAt(row: number): Uint8Array {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    return segment.idBytes.subarray(r === 0 ? 0 : segment.idEnd[r - 1], segment.idEnd[r]);
  }

  /** The UTF-8 bytes of row `row`'s description, or `null` (a view, as `idBytesAt`). */
  descriptionBytesAt(row: number): Uint8Array | null {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    if (!((segment.flags[r] as number) & HAS_DESCRIPTION)) return null;
    return segment.descriptionBytes.subarray(
      r === 0 ? 0 : segment.descriptionEnd[r - 1],
      segment.descriptionEnd[r],
    );
  }

  /** The canonical `reference` of row `row`, or `null` when it has none. */
  referenceAt(row: number): string | null {
    return this.segmentOf(row).references.get(row & SEGMENT_MASK) ?? null;
  }

  /** Transaction id of row `row`. */
  idAt(row: number): string {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    const start = r === 0 ? 0 : (segment.idEnd[r - 1] as number);
    return segment.idBytes.toString('utf8', start, segment.idEnd[r]);
  }

  /**
   * Row `row` as a `Transaction` (a new object, equal to the one appended).
   * @throws RangeError for a row outside `0 … length-1`.
   */
  at(row: number): Transaction {
    const segment = this.segmentOf(row);
    const r = row & SEGMENT_MASK;
    const flag = segment.flags[r] as number;
    const status = this.statuses[segment.statuses[r] as number] as StatusEntry;
    let description: string | null = null;
    if (flag & HAS_DESCRIPTION) {
      const start = r === 0 ? 0 : (segment.descriptionEnd[r - 1] as number);
      description = segment.descriptionBytes.toString('utf8', start, segment.descriptionEnd[r]);
    }
    const transaction: Transaction = {
      transactionId: this.idAt(row),
      amountMinor: this.amountAt(row),
      currency: this.currencies[segment.currencies[r] as number] as CurrencyCode,
      feeMinor:
        flag & HAS_FEE
          ? flag & FEE_WIDE
            ? (segment.wideFees.get(r) as bigint)
            : (segment.fees[r] as bigint)
          : null,
      status: status.status,
      rawStatus: status.raw,
      merchantId: this.merchants[segment.merchants[r] as number] as string,
      createdAtMs: segment.createdAt[r] as number,
      description,
      line: segment.lines[r] as number,
      ...(segment.references.size > 0 && segment.references.has(r)
        ? { reference: segment.references.get(r) }
        : {}),
    };
    // Only rows whose source reported a net or a payment method carry those (optional) keys.
    const withNet =
      flag & HAS_NET ? { ...transaction, netMinor: this.reportedNetAt(row) } : transaction;
    const method = this.paymentMethodAt(row);
    return method === null ? withNet : { ...withNet, paymentMethod: method };
  }

  /** Every row as a `Transaction`, in order (for tests and small tables). */
  toArray(): Transaction[] {
    const rows: Transaction[] = [];
    for (let row = 0; row < this.length; row++) rows.push(this.at(row));
    return rows;
  }

  /**
   * Sum of the amounts per currency, in minor units (exact), for the currencies of at least one
   * row, in the order of their first row.
   */
  volumeByCurrency(): Map<CurrencyCode, bigint> {
    const sums = this.currencies.map(() => 0n);
    const firstRow = this.currencies.map(() => -1);
    let row = 0;
    for (const segment of this.segments) {
      const { amounts, currencies, flags } = segment;
      for (let r = 0; r < segment.length; r++, row++) {
        const c = currencies[r] as number;
        if (firstRow[c] === -1) firstRow[c] = row;
        const amount =
          (flags[r] as number) & AMOUNT_WIDE
            ? (segment.wideAmounts.get(r) as bigint)
            : (amounts[r] as bigint);
        sums[c] = (sums[c] as bigint) + amount;
      }
    }
    const used = this.currencies
      .map((code, index) => ({ code, index, first: firstRow[index] as number }))
      .filter((entry) => entry.first >= 0)
      .sort((a, b) => a.first - b.first);
    return new Map(used.map((entry) => [entry.code, sums[entry.index] as bigint]));
  }
}

/** One side's rows, as a table or as objects (tests, small inputs). */
export type TransactionRows = TransactionTable | readonly Transaction[];

/** `rows` as a table: itself, or a new table of the objects (ids indexed). */
export function asTable(rows: TransactionRows): TransactionTable {
  return rows instanceof TransactionTable ? rows : TransactionTable.fromTransactions(rows);
}
