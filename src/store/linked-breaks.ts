import type { BusinessDate } from '../domain/business-date';
import type { BreakStatus } from '../engine/break-lifecycle';

/**
 * The break a discrepancy of a run is linked to (`discrepancies.break_id`), keyed by its identity
 * (transaction id and scope: the side of a one-sided break, `both` otherwise). `ageDays`: the
 * run's business date minus the origin date.
 */
export interface LinkedBreak {
  readonly breakId: string;
  readonly transactionId: string;
  readonly scope: 'processor' | 'internal' | 'both';
  readonly status: BreakStatus;
  readonly originDate: BusinessDate;
  readonly ageDays: number;
  /** The run that opened it (the run itself for a new break). */
  readonly firstSeenRunId: string;
}

/** A lower-case UUID as PostgreSQL's `uuid::text` writes it. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/** Where a dash follows the byte at that index in a UUID's text. */
const DASH_AFTER = new Set([3, 5, 7, 9]);

/**
 * A run's linked breaks in columns (issue #16, the memory bound): per break, its id as 16 bytes,
 * its age as an `Int32Array` cell and indexes into tables of the distinct statuses, origin dates
 * and first-seen run ids (a run has a handful of each); the transaction ids are kept once, as the
 * keys of one map per scope. Instead of one `LinkedBreak` object per break with its own copies of
 * every string (the driver's), and the reports' map of copies beside it (~85 MB at 10M × 10M, for
 * 200 000 breaks), ~18 MB. `get` builds a new `LinkedBreak`, equal (`toStrictEqual`) to the one
 * given to `add` for that identity; of two added with one identity, the later wins (as a `Map`
 * built from them). A break id that is not a canonical lower-case UUID is kept as text (exact).
 */
export class LinkedBreaks {
  private count = 0;
  private capacity = 0;
  private ids = new Uint8Array(0);
  private ages = new Int32Array(0);
  private statusOf = new Uint32Array(0);
  private originOf = new Uint32Array(0);
  private firstSeenOf = new Uint32Array(0);
  private readonly texts = new Map<string, number>();
  private readonly textTable: string[] = [];
  /** Break ids that are not canonical UUIDs, by row. */
  private readonly oddIds = new Map<number, string>();
  /** Row by transaction id, per scope. */
  private readonly byScope = new Map<string, Map<string, number>>();

  /** Number of distinct identities held. */
  get size(): number {
    let n = 0;
    for (const rows of this.byScope.values()) n += rows.size;
    return n;
  }

  /** Adds `b` under its identity (`transactionId`, `scope`), replacing an earlier one. */
  add(b: LinkedBreak): void {
    let rows = this.byScope.get(b.scope);
    if (!rows) {
      rows = new Map();
      this.byScope.set(b.scope, rows);
    }
    const earlier = rows.get(b.transactionId);
    const at = earlier ?? this.count;
    if (earlier === undefined) {
      if (at === this.capacity) this.grow();
      this.count += 1;
    }
    this.oddIds.delete(at);
    if (CANONICAL_UUID.test(b.breakId)) writeUuid(this.ids, at * 16, b.breakId);
    else this.oddIds.set(at, b.breakId);
    this.ages[at] = b.ageDays;
    this.statusOf[at] = this.text(b.status);
    this.originOf[at] = this.text(b.originDate);
    this.firstSeenOf[at] = this.text(b.firstSeenRunId);
    rows.set(b.transactionId, at);
  }

  /** The break of identity (`transactionId`, `scope`), or `undefined`; a new object each call. */
  get(transactionId: string, scope: string): LinkedBreak | undefined {
    const at = this.byScope.get(scope)?.get(transactionId);
    if (at === undefined) return undefined;
    return {
      breakId: this.oddIds.get(at) ?? readUuid(this.ids, at * 16),
      transactionId,
      scope: scope as LinkedBreak['scope'],
      status: this.textAt(this.statusOf, at) as BreakStatus,
      originDate: this.textAt(this.originOf, at),
      ageDays: this.ages[at] ?? 0,
      firstSeenRunId: this.textAt(this.firstSeenOf, at),
    };
  }

  private text(value: string): number {
    const known = this.texts.get(value);
    if (known !== undefined) return known;
    const code = this.textTable.length;
    this.textTable.push(value);
    this.texts.set(value, code);
    return code;
  }

  private textAt(column: Uint32Array, at: number): string {
    const value = this.textTable[column[at] ?? -1];
    if (value === undefined) throw new Error(`linked break ${at}: no text`);
    return value;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.capacity * 2);
    const ids = new Uint8Array(capacity * 16);
    ids.set(this.ids);
    this.ids = ids;
    this.ages = grown(this.ages, new Int32Array(capacity));
    this.statusOf = grown(this.statusOf, new Uint32Array(capacity));
    this.originOf = grown(this.originOf, new Uint32Array(capacity));
    this.firstSeenOf = grown(this.firstSeenOf, new Uint32Array(capacity));
    this.capacity = capacity;
  }
}

function grown<T extends Int32Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function writeUuid(bytes: Uint8Array, offset: number, uuid: string): void {
  let at = offset;
  for (let i = 0; i < uuid.length; i += 2) {
    if (uuid.charCodeAt(i) === 0x2d) i += 1;
    bytes[at] = (nibble(uuid.charCodeAt(i)) << 4) | nibble(uuid.charCodeAt(i + 1));
    at += 1;
  }
}

/** The value of a lower-case hex digit's char code (the caller checked `CANONICAL_UUID`). */
function nibble(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

function readUuid(bytes: Uint8Array, offset: number): string {
  let text = '';
  for (let i = 0; i < 16; i += 1) {
    text += HEX[bytes[offset + i] ?? 0] ?? '00';
    if (DASH_AFTER.has(i)) text += '-';
  }
  return text;
}
