import type { Discrepancy, DiscrepancyAnnotation, DiscrepancyKind } from '../domain/discrepancy';
import type { CanonicalStatus, Transaction, TransactionSide } from '../domain/transaction';

/**
 * A compact, columnar store of a streamed run's discrepancies (issue #16, the memory bound): the
 * rows of the two sides in typed arrays (amounts, fees, nets and differences as 64-bit integers,
 * times and lines as doubles) and arrays of shared strings, instead of one `Discrepancy` object
 * with two `Transaction` objects and their `bigint`s per discrepancy (~1.2 KB each, ~220 MB live
 * at 10M × 10M). `finish` returns a read-only array view whose elements are built when they are
 * read: each read gives a new object, equal (`toStrictEqual`, same keys in the same order) to the
 * one given to `add`, which dies young when the caller does not keep it (the reports, the COPY
 * into `discrepancies`, the summary read each element once and drop it).
 *
 * Exact for what `classifyStagedInDatabase` builds: amounts and differences within the signed
 * 64-bit range of PostgreSQL's `bigint` (anything else throws `RangeError` in `add`); the
 * optional keys of a `Transaction` (`reference`, `netMinor`, `paymentMethod`, `businessDate`) are
 * restored when present (with their value, `undefined` included), in that order after `line`; a discrepancy's `annotation`, `tier` and
 * `candidates` are restored when present.
 */
export class CompactDiscrepancies {
  private count = 0;
  private capacity = 0;
  // Per discrepancy (arrival order).
  private kinds = new Uint8Array(0);
  private sides = new Uint8Array(0);
  private processorRow = new Int32Array(0);
  private internalRow = new Int32Array(0);
  private differences = new BigInt64Array(0);
  private hasDifference = new Uint8Array(0);
  private sortMajor = new Uint8Array(0);
  private sortMinor = new Float64Array(0);
  private readonly ids: string[] = [];
  /** Rare keys of a discrepancy (annotation, tier, candidates), by arrival index. */
  private readonly extras = new Map<number, DiscrepancyExtras>();
  // Per transaction row (a discrepancy has one or two).
  private readonly rows = new TransactionColumns();
  private readonly kindCodes = new Map<string, number>();
  private readonly kindNames: DiscrepancyKind[] = [];

  /** Number of discrepancies added. */
  get length(): number {
    return this.count;
  }

  /**
   * Adds `d` under the sort key (`major`, `minor`): `finish` orders by `major`, then `minor`,
   * then arrival. `major`: 0–255; `minor`: any number.
   * @throws RangeError when an amount, fee, net or difference is outside the signed 64-bit range.
   */
  add(d: Discrepancy, major: number, minor: number): void {
    const at = this.count;
    if (at === this.capacity) this.grow();
    // Range checks first: a refused discrepancy leaves nothing behind.
    const difference = d.differenceMinor === null ? null : checkedInt64(d.differenceMinor);
    for (const t of [d.processor, d.internal]) if (t) checkedRow(t);
    this.kinds[at] = this.kindCode(d.kind);
    this.sides[at] = SIDES.indexOf(d.side);
    this.processorRow[at] = d.processor ? this.rows.add(d.processor) : -1;
    this.internalRow[at] = d.internal ? this.rows.add(d.internal, d.processor?.transactionId) : -1;
    const main = d.processor ?? d.internal;
    this.ids.push(
      main && main.transactionId === d.transactionId ? main.transactionId : d.transactionId,
    );
    if (difference !== null) {
      this.differences[at] = difference;
      this.hasDifference[at] = 1;
    }
    if (d.annotation !== undefined || d.tier !== undefined || d.candidates !== undefined) {
      this.extras.set(at, {
        ...(d.annotation !== undefined ? { annotation: d.annotation } : {}),
        ...(d.tier !== undefined ? { tier: d.tier } : {}),
        ...(d.candidates !== undefined ? { candidates: d.candidates } : {}),
      });
    }
    this.sortMajor[at] = major;
    this.sortMinor[at] = minor;
    this.count++;
  }

  /**
   * The discrepancies, ordered by their sort keys (then arrival), as a read-only array whose
   * elements are built on each read (see the class). Writing to it throws TypeError. `add` must
   * not be called after this.
   */
  finish(): readonly Discrepancy[] {
    const n = this.count;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const major = this.sortMajor;
    const minor = this.sortMinor;
    order.sort(
      (a, b) =>
        (major[a] as number) - (major[b] as number) ||
        (minor[a] as number) - (minor[b] as number) ||
        a - b,
    );
    this.sortMajor = new Uint8Array(0);
    this.sortMinor = new Float64Array(0);
    return lazyArray(n, (index) => this.at(order[index] as number));
  }

  private at(at: number): Discrepancy {
    const p = this.processorRow[at] as number;
    const i = this.internalRow[at] as number;
    const base: Discrepancy = {
      kind: this.kindNames[this.kinds[at] as number] as DiscrepancyKind,
      transactionId: this.ids[at] as string,
      side: SIDES[this.sides[at] as number] as TransactionSide | 'both',
      processor: p < 0 ? null : this.rows.at(p),
      internal: i < 0 ? null : this.rows.at(i),
      differenceMinor: this.hasDifference[at] === 1 ? (this.differences[at] as bigint) : null,
    };
    const extras = this.extras.get(at);
    return extras ? { ...base, ...extras } : base;
  }

  private kindCode(kind: DiscrepancyKind): number {
    let code = this.kindCodes.get(kind);
    if (code === undefined) {
      code = this.kindNames.length;
      this.kindNames.push(kind);
      this.kindCodes.set(kind, code);
    }
    return code;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.capacity * 2);
    this.kinds = resized(this.kinds, new Uint8Array(capacity));
    this.sides = resized(this.sides, new Uint8Array(capacity));
    this.processorRow = resized(this.processorRow, new Int32Array(capacity));
    this.internalRow = resized(this.internalRow, new Int32Array(capacity));
    this.differences = resized(this.differences, new BigInt64Array(capacity));
    this.hasDifference = resized(this.hasDifference, new Uint8Array(capacity));
    this.sortMajor = resized(this.sortMajor, new Uint8Array(capacity));
    this.sortMinor = resized(this.sortMinor, new Float64Array(capacity));
    this.capacity = capacity;
  }
}

interface DiscrepancyExtras {
  readonly annotation?: DiscrepancyAnnotation;
  readonly tier?: string;
  readonly candidates?: readonly string[];
}

const SIDES: readonly (TransactionSide | 'both')[] = ['processor', 'internal', 'both'];

/** Bits of `TransactionColumns.flags`. */
const HAS_FEE = 1;
const HAS_NET_KEY = 2;
const HAS_NET = 4;
const HAS_REFERENCE_KEY = 8;
const HAS_METHOD_KEY = 16;
const HAS_DATE_KEY = 32;
/** `netMinor` present with the value `undefined` (not `null`). */
const NET_UNDEFINED = 64;

/** The transaction rows of `CompactDiscrepancies`, one column per field. */
class TransactionColumns {
  private count = 0;
  private capacity = 0;
  private amounts = new BigInt64Array(0);
  private fees = new BigInt64Array(0);
  private nets = new BigInt64Array(0);
  private createdAt = new Float64Array(0);
  private lines = new Float64Array(0);
  private flags = new Uint8Array(0);
  private readonly ids: string[] = [];
  private readonly currencies: string[] = [];
  private readonly statuses: CanonicalStatus[] = [];
  private readonly rawStatuses: string[] = [];
  private readonly merchants: string[] = [];
  private readonly descriptions: (string | null)[] = [];
  /** Rare text fields, by row: reference, payment method and business date when present. */
  private readonly references = new Map<number, string | null | undefined>();
  private readonly methods = new Map<number, string | null | undefined>();
  private readonly dates = new Map<number, string>();

  /** Adds `t` (checked by `checkedRow` first) and returns its row. `sameId`: a string equal to `t`'s id to keep instead of it. */
  add(t: Transaction, sameId?: string): number {
    const at = this.count;
    if (at === this.capacity) this.grow();
    this.ids.push(sameId !== undefined && sameId === t.transactionId ? sameId : t.transactionId);
    this.amounts[at] = t.amountMinor;
    this.currencies.push(t.currency);
    let flags = 0;
    if (t.feeMinor !== null) {
      this.fees[at] = t.feeMinor;
      flags |= HAS_FEE;
    }
    this.statuses.push(t.status);
    this.rawStatuses.push(t.rawStatus);
    this.merchants.push(t.merchantId);
    this.createdAt[at] = t.createdAtMs;
    this.descriptions.push(t.description);
    this.lines[at] = t.line;
    if ('reference' in t) {
      flags |= HAS_REFERENCE_KEY;
      this.references.set(at, t.reference);
    }
    if ('netMinor' in t) {
      flags |= HAS_NET_KEY;
      if (t.netMinor !== null && t.netMinor !== undefined) {
        this.nets[at] = t.netMinor;
        flags |= HAS_NET;
      } else if (t.netMinor === undefined) flags |= NET_UNDEFINED;
    }
    if ('paymentMethod' in t) {
      flags |= HAS_METHOD_KEY;
      this.methods.set(at, t.paymentMethod);
    }
    if (t.businessDate !== undefined) {
      flags |= HAS_DATE_KEY;
      this.dates.set(at, t.businessDate);
    }
    this.flags[at] = flags;
    this.count++;
    return at;
  }

  /** Row `at` as a new `Transaction` (keys in `stagedTransaction`'s order). */
  at(at: number): Transaction {
    const flags = this.flags[at] as number;
    const base: Transaction = {
      transactionId: this.ids[at] as string,
      amountMinor: this.amounts[at] as bigint,
      currency: this.currencies[at] as string,
      feeMinor: flags & HAS_FEE ? (this.fees[at] as bigint) : null,
      status: this.statuses[at] as CanonicalStatus,
      rawStatus: this.rawStatuses[at] as string,
      merchantId: this.merchants[at] as string,
      createdAtMs: this.createdAt[at] as number,
      description: this.descriptions[at] ?? null,
      line: this.lines[at] as number,
    };
    if ((flags & (HAS_REFERENCE_KEY | HAS_NET_KEY | HAS_METHOD_KEY | HAS_DATE_KEY)) === 0)
      return base;
    const full: { -readonly [K in keyof Transaction]: Transaction[K] } = base;
    if (flags & HAS_REFERENCE_KEY) full.reference = this.references.get(at);
    if (flags & HAS_NET_KEY)
      full.netMinor = flags & HAS_NET ? this.nets[at] : flags & NET_UNDEFINED ? undefined : null;
    if (flags & HAS_METHOD_KEY) full.paymentMethod = this.methods.get(at);
    if (flags & HAS_DATE_KEY) full.businessDate = this.dates.get(at);
    return full;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.capacity * 2);
    this.amounts = resized(this.amounts, new BigInt64Array(capacity));
    this.fees = resized(this.fees, new BigInt64Array(capacity));
    this.nets = resized(this.nets, new BigInt64Array(capacity));
    this.createdAt = resized(this.createdAt, new Float64Array(capacity));
    this.lines = resized(this.lines, new Float64Array(capacity));
    this.flags = resized(this.flags, new Uint8Array(capacity));
    this.capacity = capacity;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkedInt64(value: bigint): bigint {
  if (value < INT64_MIN || value > INT64_MAX)
    throw new RangeError(`${value} is outside the signed 64-bit range`);
  return value;
}

/** Checks that `t`'s amounts fit the signed 64-bit columns (RangeError otherwise). */
function checkedRow(t: Transaction): void {
  checkedInt64(t.amountMinor);
  if (t.feeMinor !== null) checkedInt64(t.feeMinor);
  if (t.netMinor !== null && t.netMinor !== undefined) checkedInt64(t.netMinor);
}

function resized<T extends Uint8Array | Int32Array | Float64Array | BigInt64Array>(
  old: T,
  fresh: T,
): T {
  (fresh as unknown as { set(source: ArrayLike<number | bigint>): void }).set(old);
  return fresh;
}

const INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * A read-only array of `length` elements, element `i` being `element(i)` on each read: indexing,
 * `length`, iteration and the array methods (`forEach`, `map`, `filter`, `find`, `slice`, …)
 * work as on an array; writes throw TypeError.
 */
function lazyArray<T>(length: number, element: (index: number) => T): readonly T[] {
  const target: T[] = new Array<T>(length);
  const index = (key: string | symbol): number => {
    if (typeof key !== 'string' || !INDEX.test(key)) return -1;
    const n = Number(key);
    return n < length ? n : -1;
  };
  const readOnly = (): never => {
    throw new TypeError('the discrepancies of a streamed run are read-only');
  };
  return new Proxy(target, {
    get(object, key, receiver) {
      const at = index(key);
      return at >= 0 ? element(at) : (Reflect.get(object, key, receiver) as unknown);
    },
    has(object, key) {
      return index(key) >= 0 || Reflect.has(object, key);
    },
    getOwnPropertyDescriptor(object, key) {
      const at = index(key);
      if (at < 0) return Reflect.getOwnPropertyDescriptor(object, key);
      return { value: element(at), writable: true, enumerable: true, configurable: true };
    },
    ownKeys(object) {
      const keys: (string | symbol)[] = [];
      for (let i = 0; i < length; i++) keys.push(String(i));
      for (const key of Reflect.ownKeys(object)) if (index(key) < 0) keys.push(key);
      return keys;
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
}
