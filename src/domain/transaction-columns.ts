/**
 * Transactions in columnar form: what the parser threads send and what a `TransactionTable`
 * stores. No object per row: ids and descriptions are UTF-8 bytes in one buffer each, amounts and
 * fees `BigInt64Array`s of minor units, currency/status/merchant indexes into dictionaries held
 * beside the columns, so a million rows cost a few typed arrays instead of a million objects.
 */

/** `TransactionColumns.flags` bits. */
export const HAS_FEE = 1;
/** The amount does not fit in 64 bits: it is in `wideAmounts`. */
export const AMOUNT_WIDE = 2;
/** The fee does not fit in 64 bits: it is in `wideFees`. */
export const FEE_WIDE = 4;
/** The row has a description (no bit: `null`). */
export const HAS_DESCRIPTION = 8;
/** The row has a net amount reported by its source (no bit: `null`). */
export const HAS_NET = 16;
/** The net does not fit in 64 bits: it is in `wideNets`. */
export const NET_WIDE = 32;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Rows `0 … length-1` in columns. Row `r`:
 * - id: UTF-8 bytes `idBytes[start, idEnd[r])` where `start` is `idEnd[r-1]` (0 for row 0);
 *   `idHash[r]` = `hashIdBytes` of those bytes;
 * - description: the same with `descriptionEnd`/`descriptionBytes`, `null` without `HAS_DESCRIPTION`;
 * - `amounts[r]`, `fees[r]`, `nets[r]`: signed minor units of the row's currency (or
 *   `wideAmounts`/`wideFees`/`wideNets` by row when `flags[r]` says so; no fee without `HAS_FEE`,
 *   no net without `HAS_NET`);
 * - `currencies[r]`, `statuses[r]`, `merchants[r]`: indexes into the dictionaries of whoever built
 *   the columns (a table, or a file's validator);
 * - `createdAt[r]`: epoch milliseconds (UTC); `lines[r]`: 1-based line in the source;
 * - `references`: the optional canonical `reference` column, by row, only for rows that have one
 *   (most sources have none, so a sparse map costs nothing for them).
 */
export interface TransactionColumns {
  readonly length: number;
  readonly idHash: Int32Array;
  readonly idEnd: Uint32Array;
  readonly idBytes: Uint8Array;
  readonly descriptionEnd: Uint32Array;
  readonly descriptionBytes: Uint8Array;
  readonly amounts: BigInt64Array;
  readonly fees: BigInt64Array;
  readonly nets: BigInt64Array;
  readonly flags: Uint8Array;
  readonly wideAmounts: Map<number, bigint>;
  readonly wideFees: Map<number, bigint>;
  readonly wideNets: Map<number, bigint>;
  readonly currencies: Uint8Array;
  readonly statuses: Uint32Array;
  readonly merchants: Uint32Array;
  readonly createdAt: Float64Array;
  readonly lines: Uint32Array;
  readonly references?: ReadonlyMap<number, string>;
}

/** Dictionary translations for `ColumnBuilder.copyRows`: source index → destination index. */
export interface DictionaryMaps {
  readonly currencies: ArrayLike<number>;
  readonly statuses: ArrayLike<number>;
  readonly merchants: ArrayLike<number>;
}

/**
 * 32-bit hash of `bytes[start, end)` (FNV-1a, then MurmurHash3's finalizer so that linear
 * probing on the low bits spreads well). Equal bytes give equal hashes in every thread.
 */
export function hashIdBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) {
    h ^= bytes[k] as number;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A growable byte buffer that owns its `ArrayBuffer` (transferable to another thread). */
function allocBytes(size: number): Buffer {
  return Buffer.allocUnsafeSlow(Math.max(size, 64));
}

/**
 * Writes rows into growable columns, up to `maxRows`. Used on the parser threads (one builder per
 * batch, then `transferList` moves its memory to the main thread) and as a table's segment.
 */
export class ColumnBuilder implements TransactionColumns {
  length = 0;
  idHash: Int32Array;
  idEnd: Uint32Array;
  idBytes: Buffer;
  descriptionEnd: Uint32Array;
  descriptionBytes: Buffer;
  amounts: BigInt64Array;
  fees: BigInt64Array;
  nets: BigInt64Array;
  flags: Uint8Array;
  readonly wideAmounts = new Map<number, bigint>();
  readonly wideFees = new Map<number, bigint>();
  readonly wideNets = new Map<number, bigint>();
  readonly references = new Map<number, string>();
  currencies: Uint8Array;
  statuses: Uint32Array;
  merchants: Uint32Array;
  createdAt: Float64Array;
  lines: Uint32Array;
  private idUsed = 0;
  private descriptionUsed = 0;
  private capacity: number;

  /**
   * @param capacity rows allocated at first (grows by doubling up to `maxRows`)
   * @param maxRows rows this builder may hold at most (`push` beyond it is a bug and throws)
   */
  constructor(
    capacity: number,
    readonly maxRows: number = capacity,
  ) {
    this.capacity = Math.max(1, Math.min(capacity, maxRows));
    const n = this.capacity;
    this.idHash = new Int32Array(n);
    this.idEnd = new Uint32Array(n);
    this.idBytes = allocBytes(n * 16);
    this.descriptionEnd = new Uint32Array(n);
    this.descriptionBytes = allocBytes(n * 16);
    this.amounts = new BigInt64Array(n);
    this.fees = new BigInt64Array(n);
    this.nets = new BigInt64Array(n);
    this.flags = new Uint8Array(n);
    this.currencies = new Uint8Array(n);
    this.statuses = new Uint32Array(n);
    this.merchants = new Uint32Array(n);
    this.createdAt = new Float64Array(n);
    this.lines = new Uint32Array(n);
  }

  /**
   * A builder holding `columns` as they are (no copy: their arrays become its own), growable up
   * to `maxRows`; for columns that crossed from another thread (a `Buffer` arrives as a plain
   * `Uint8Array` and is wrapped again).
   * @throws Error when `columns` hold more than `maxRows` rows.
   */
  static adopt(columns: TransactionColumns, maxRows: number): ColumnBuilder {
    if (columns.length > maxRows) throw new Error(`column builder full (${maxRows} rows)`);
    const builder = new ColumnBuilder(1, maxRows);
    const asBuffer = (bytes: Uint8Array): Buffer =>
      Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    builder.idHash = columns.idHash;
    builder.idEnd = columns.idEnd;
    builder.idBytes = asBuffer(columns.idBytes);
    builder.descriptionEnd = columns.descriptionEnd;
    builder.descriptionBytes = asBuffer(columns.descriptionBytes);
    builder.amounts = columns.amounts;
    builder.fees = columns.fees;
    builder.nets = columns.nets;
    builder.flags = columns.flags;
    builder.currencies = columns.currencies;
    builder.statuses = columns.statuses;
    builder.merchants = columns.merchants;
    builder.createdAt = columns.createdAt;
    builder.lines = columns.lines;
    for (const [r, value] of columns.wideAmounts) builder.wideAmounts.set(r, value);
    for (const [r, value] of columns.wideFees) builder.wideFees.set(r, value);
    for (const [r, value] of columns.wideNets) builder.wideNets.set(r, value);
    if (columns.references) {
      for (const [r, value] of columns.references) builder.references.set(r, value);
    }
    const n = columns.length;
    builder.length = n;
    builder.idUsed = n === 0 ? 0 : (columns.idEnd[n - 1] as number);
    builder.descriptionUsed = n === 0 ? 0 : (columns.descriptionEnd[n - 1] as number);
    builder.capacity = Math.min(
      maxRows,
      columns.idHash.length,
      columns.idEnd.length,
      columns.descriptionEnd.length,
      columns.amounts.length,
      columns.fees.length,
      columns.nets.length,
      columns.flags.length,
      columns.currencies.length,
      columns.statuses.length,
      columns.merchants.length,
      columns.createdAt.length,
      columns.lines.length,
    );
    if (builder.capacity < n) throw new Error('adopted columns shorter than their length');
    return builder;
  }

  /** Translates the dictionary indexes of every row through `maps`, in place. */
  translateDictionaries(maps: DictionaryMaps): void {
    const { currencies, statuses, merchants } = maps;
    for (let r = 0; r < this.length; r++) {
      this.currencies[r] = currencies[this.currencies[r] as number] as number;
      this.statuses[r] = statuses[this.statuses[r] as number] as number;
      this.merchants[r] = merchants[this.merchants[r] as number] as number;
    }
  }

  /** Rows that can still be added. */
  get room(): number {
    return this.maxRows - this.length;
  }

  private ensureRows(rows: number): void {
    if (rows <= this.capacity) return;
    if (rows > this.maxRows) throw new Error(`column builder full (${this.maxRows} rows)`);
    let n = this.capacity;
    while (n < rows) n *= 2;
    n = Math.min(n, this.maxRows);
    const grow = <T extends { set(a: T): void }>(old: T, fresh: T): T => {
      fresh.set(old);
      return fresh;
    };
    this.idHash = grow(this.idHash, new Int32Array(n));
    this.idEnd = grow(this.idEnd, new Uint32Array(n));
    this.descriptionEnd = grow(this.descriptionEnd, new Uint32Array(n));
    this.amounts = grow(this.amounts, new BigInt64Array(n));
    this.fees = grow(this.fees, new BigInt64Array(n));
    this.nets = grow(this.nets, new BigInt64Array(n));
    this.flags = grow(this.flags, new Uint8Array(n));
    this.currencies = grow(this.currencies, new Uint8Array(n));
    this.statuses = grow(this.statuses, new Uint32Array(n));
    this.merchants = grow(this.merchants, new Uint32Array(n));
    this.createdAt = grow(this.createdAt, new Float64Array(n));
    this.lines = grow(this.lines, new Uint32Array(n));
    this.capacity = n;
  }

  private static grownBytes(bytes: Buffer, used: number, needed: number): Buffer {
    if (needed <= bytes.length) return bytes;
    const fresh = allocBytes(Math.max(needed, bytes.length * 2));
    bytes.copy(fresh, 0, 0, used);
    return fresh;
  }

  /**
   * Appends one row. Amounts in minor units; dictionary indexes as the caller keeps them;
   * `netMinor` the net the source reports (`null`: none).
   * @throws Error when the builder already holds `maxRows` rows (a bug in the caller).
   */
  push(
    id: string,
    amountMinor: bigint,
    currency: number,
    feeMinor: bigint | null,
    status: number,
    merchant: number,
    createdAtMs: number,
    description: string | null,
    line: number,
    netMinor: bigint | null = null,
    reference: string | null = null,
  ): void {
    const r = this.length;
    this.ensureRows(r + 1);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.idBytes = ColumnBuilder.grownBytes(this.idBytes, this.idUsed, this.idUsed + id.length * 3);
    const idStart = this.idUsed;
    this.idUsed += this.idBytes.write(id, idStart, 'utf8');
    this.idEnd[r] = this.idUsed;
    this.idHash[r] = hashIdBytes(this.idBytes, idStart, this.idUsed);
    let flag = 0;
    if (description !== null) {
      flag |= HAS_DESCRIPTION;
      this.descriptionBytes = ColumnBuilder.grownBytes(
        this.descriptionBytes,
        this.descriptionUsed,
        this.descriptionUsed + description.length * 3,
      );
      this.descriptionUsed += this.descriptionBytes.write(
        description,
        this.descriptionUsed,
        'utf8',
      );
    }
    this.descriptionEnd[r] = this.descriptionUsed;
    this.finishRow(r, flag, amountMinor, currency, feeMinor, status, merchant, createdAtMs, line);
    if (netMinor !== null) this.setNet(r, netMinor);
    if (reference !== null) this.references.set(r, reference);
  }

  /**
   * `push` of a row whose id and description are UTF-8 bytes of `source` (`[idStart, idEnd)`,
   * `[descriptionStart, descriptionEnd)`; `descriptionStart` < 0: no description), copied without
   * making strings; no net. The same row as `push` of their text.
   * @throws Error when the builder already holds `maxRows` rows (a bug in the caller).
   */
  pushBytes(
    source: Uint8Array,
    idStart: number,
    idEnd: number,
    amountMinor: bigint,
    currency: number,
    feeMinor: bigint | null,
    status: number,
    merchant: number,
    createdAtMs: number,
    descriptionStart: number,
    descriptionEnd: number,
    line: number,
    reference: string | null,
  ): void {
    const r = this.length;
    this.ensureRows(r + 1);
    const idLength = idEnd - idStart;
    this.idBytes = ColumnBuilder.grownBytes(this.idBytes, this.idUsed, this.idUsed + idLength);
    const ids = this.idBytes;
    const idAt = this.idUsed;
    for (let k = 0; k < idLength; k++) ids[idAt + k] = source[idStart + k] as number;
    this.idUsed = idAt + idLength;
    this.idEnd[r] = this.idUsed;
    this.idHash[r] = hashIdBytes(ids, idAt, this.idUsed);
    let flag = 0;
    if (descriptionStart >= 0) {
      flag = HAS_DESCRIPTION;
      const length = descriptionEnd - descriptionStart;
      const used = this.descriptionUsed;
      this.descriptionBytes = ColumnBuilder.grownBytes(this.descriptionBytes, used, used + length);
      const out = this.descriptionBytes;
      for (let k = 0; k < length; k++) out[used + k] = source[descriptionStart + k] as number;
      this.descriptionUsed = used + length;
    }
    this.descriptionEnd[r] = this.descriptionUsed;
    this.finishRow(r, flag, amountMinor, currency, feeMinor, status, merchant, createdAtMs, line);
    if (reference !== null) this.references.set(r, reference);
  }

  /** The columns of row `r` after its id and description (and `length`). */
  private finishRow(
    r: number,
    flags: number,
    amountMinor: bigint,
    currency: number,
    feeMinor: bigint | null,
    status: number,
    merchant: number,
    createdAtMs: number,
    line: number,
  ): void {
    let flag = flags;
    if (amountMinor >= INT64_MIN && amountMinor <= INT64_MAX) this.amounts[r] = amountMinor;
    else {
      flag |= AMOUNT_WIDE;
      this.wideAmounts.set(r, amountMinor);
    }
    if (feeMinor !== null) {
      flag |= HAS_FEE;
      if (feeMinor >= INT64_MIN && feeMinor <= INT64_MAX) this.fees[r] = feeMinor;
      else {
        flag |= FEE_WIDE;
        this.wideFees.set(r, feeMinor);
      }
    }
    this.flags[r] = flag;
    this.currencies[r] = currency;
    this.statuses[r] = status;
    this.merchants[r] = merchant;
    this.createdAt[r] = createdAtMs;
    this.lines[r] = line;
    this.length = r + 1;
  }

  /** Sets the net of row `r` (after `finishRow`). */
  private setNet(r: number, netMinor: bigint): void {
    let flag = (this.flags[r] as number) | HAS_NET;
    if (netMinor >= INT64_MIN && netMinor <= INT64_MAX) this.nets[r] = netMinor;
    else {
      flag |= NET_WIDE;
      this.wideNets.set(r, netMinor);
    }
    this.flags[r] = flag;
  }

  /**
   * Appends rows `[from, to)` of `source`, translating its dictionary indexes through `maps`.
   * @throws Error when they do not fit (`room`).
   */
  copyRows(source: TransactionColumns, from: number, to: number, maps: DictionaryMaps): void {
    const count = to - from;
    if (count <= 0) return;
    const at = this.length;
    this.ensureRows(at + count);
    const idFrom = from === 0 ? 0 : (source.idEnd[from - 1] as number);
    const idTo = source.idEnd[to - 1] as number;
    this.idBytes = ColumnBuilder.grownBytes(this.idBytes, this.idUsed, this.idUsed + idTo - idFrom);
    this.idBytes.set(source.idBytes.subarray(idFrom, idTo), this.idUsed);
    const descFrom = from === 0 ? 0 : (source.descriptionEnd[from - 1] as number);
    const descTo = source.descriptionEnd[to - 1] as number;
    this.descriptionBytes = ColumnBuilder.grownBytes(
      this.descriptionBytes,
      this.descriptionUsed,
      this.descriptionUsed + descTo - descFrom,
    );
    this.descriptionBytes.set(
      source.descriptionBytes.subarray(descFrom, descTo),
      this.descriptionUsed,
    );
    const idShift = this.idUsed - idFrom;
    const descShift = this.descriptionUsed - descFrom;
    const { currencies, statuses, merchants } = maps;
    for (let r = from, w = at; r < to; r++, w++) {
      this.idEnd[w] = (source.idEnd[r] as number) + idShift;
      this.descriptionEnd[w] = (source.descriptionEnd[r] as number) + descShift;
      this.currencies[w] = currencies[source.currencies[r] as number] as number;
      this.statuses[w] = statuses[source.statuses[r] as number] as number;
      this.merchants[w] = merchants[source.merchants[r] as number] as number;
    }
    this.idHash.set(source.idHash.subarray(from, to), at);
    this.amounts.set(source.amounts.subarray(from, to), at);
    this.fees.set(source.fees.subarray(from, to), at);
    this.nets.set(source.nets.subarray(from, to), at);
    this.flags.set(source.flags.subarray(from, to), at);
    this.createdAt.set(source.createdAt.subarray(from, to), at);
    this.lines.set(source.lines.subarray(from, to), at);
    for (const [r, value] of source.wideAmounts) {
      if (r >= from && r < to) this.wideAmounts.set(at + r - from, value);
    }
    for (const [r, value] of source.wideFees) {
      if (r >= from && r < to) this.wideFees.set(at + r - from, value);
    }
    for (const [r, value] of source.wideNets) {
      if (r >= from && r < to) this.wideNets.set(at + r - from, value);
    }
    if (source.references) {
      for (const [r, value] of source.references) {
        if (r >= from && r < to) this.references.set(at + r - from, value);
      }
    }
    this.idUsed += idTo - idFrom;
    this.descriptionUsed += descTo - descFrom;
    this.length = at + count;
  }

  /** The `ArrayBuffer`s to transfer (not copy) when the columns are posted to another thread. */
  transferList(): ArrayBuffer[] {
    return [
      this.idHash.buffer,
      this.idEnd.buffer,
      this.idBytes.buffer,
      this.descriptionEnd.buffer,
      this.descriptionBytes.buffer,
      this.amounts.buffer,
      this.fees.buffer,
      this.nets.buffer,
      this.flags.buffer,
      this.currencies.buffer,
      this.statuses.buffer,
      this.merchants.buffer,
      this.createdAt.buffer,
      this.lines.buffer,
    ] as ArrayBuffer[];
  }

  /** A plain snapshot of the columns (views of this builder's arrays), for `postMessage`. */
  toColumns(): TransactionColumns {
    return {
      length: this.length,
      idHash: this.idHash,
      idEnd: this.idEnd,
      idBytes: this.idBytes,
      descriptionEnd: this.descriptionEnd,
      descriptionBytes: this.descriptionBytes,
      amounts: this.amounts,
      fees: this.fees,
      nets: this.nets,
      flags: this.flags,
      wideAmounts: this.wideAmounts,
      wideFees: this.wideFees,
      wideNets: this.wideNets,
      references: this.references,
      currencies: this.currencies,
      statuses: this.statuses,
      merchants: this.merchants,
      createdAt: this.createdAt,
      lines: this.lines,
    };
  }
}
