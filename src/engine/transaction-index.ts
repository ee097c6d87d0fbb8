import type { Transaction } from '../domain/transaction';

/** Row state in `SideIndex.rowState`. */
export const FIRST_OF_ID = 0;
/** A further row of an id already seen on the same side (a duplicate). */
export const DUPLICATE_ROW = 1;
/** The first row of an id that occurs again later on the same side. */
export const FIRST_OF_DUPLICATED_ID = 2;

/**
 * One hash pass over one side's rows, shared by the side checks (duplicate ids) and the
 * matcher (first row per id, duplicates), so each side's ids are hashed once per run.
 *
 * - `rowState[i]`: `FIRST_OF_ID`, `DUPLICATE_ROW` or `FIRST_OF_DUPLICATED_ID` for row `i`.
 * - `duplicatedIds`: number of distinct ids that occur more than once.
 * - `firstById`: id → index of its first row; `null` when it was not kept (see `keepIds`).
 */
export interface SideIndex {
  readonly rows: number;
  readonly rowState: Uint8Array;
  readonly duplicatedIds: number;
  readonly firstById: Map<string, number> | null;
}

/**
 * Builds a `SideIndex` row by row (`add` the id of each row, in order), e.g. while a source is
 * still reading, so the hashing overlaps with parsing. `finish` returns the index of the rows
 * added so far.
 */
export class SideIndexBuilder {
  private readonly firstById = new Map<string, number>();
  private rowState = new Uint8Array(1024);
  private rows = 0;
  private duplicatedIds = 0;

  add(id: string): void {
    const index = this.rows++;
    if (index === this.rowState.length) {
      const grown = new Uint8Array(index * 2);
      grown.set(this.rowState);
      this.rowState = grown;
    }
    const first = this.firstById.get(id);
    if (first === undefined) {
      this.firstById.set(id, index);
    } else {
      this.rowState[index] = DUPLICATE_ROW;
      if (this.rowState[first] === FIRST_OF_ID) {
        this.rowState[first] = FIRST_OF_DUPLICATED_ID;
        this.duplicatedIds++;
      }
    }
  }

  /** The index of the rows added so far; without `firstById` unless `keepIds`. */
  finish(keepIds = true): SideIndex {
    return {
      rows: this.rows,
      rowState: this.rowState.subarray(0, this.rows),
      duplicatedIds: this.duplicatedIds,
      firstById: keepIds ? this.firstById : null,
    };
  }
}

/** Builds the `SideIndex` of `rows` (one `Map` operation per row). Pure. */
export function indexTransactions(rows: readonly Transaction[], keepIds = true): SideIndex {
  const builder = new SideIndexBuilder();
  for (let index = 0; index < rows.length; index++) {
    builder.add((rows[index] as Transaction).transactionId);
  }
  return builder.finish(keepIds);
}

/**
 * Indexes computed for a side's transaction array, keyed by the array itself: the source's side
 * checks index each side as it is read and `matchTransactions` reuses that work. A memo of a
 * pure function of the (read-only) array: an entry whose row count no longer matches is ignored.
 */
const indexes = new WeakMap<readonly Transaction[], SideIndex>();

/**
 * The `SideIndex` of `rows`, from the memo when it has one (with `firstById` when `needIds`),
 * else computed and remembered. `keepIds: false` remembers only the row states (less memory for
 * a side whose ids the matcher does not look up: the processor side).
 */
export function sideIndexOf(
  rows: readonly Transaction[],
  options: { readonly needIds: boolean; readonly keepIds?: boolean },
): SideIndex {
  const known = indexes.get(rows);
  if (known && known.rows === rows.length && (!options.needIds || known.firstById)) return known;
  const index = indexTransactions(rows, options.needIds || options.keepIds !== false);
  indexes.set(rows, index);
  return index;
}

/**
 * Remembers `index` as the `SideIndex` of `rows` (built by the caller with a `SideIndexBuilder`
 * over exactly these rows, in order), for `sideIndexOf`.
 */
export function rememberSideIndex(rows: readonly Transaction[], index: SideIndex): void {
  if (index.rows === rows.length) indexes.set(rows, index);
}

/** Drops the memoized index of `rows` (after its last use, to free its `Map`). */
export function forgetSideIndex(rows: readonly Transaction[]): void {
  indexes.delete(rows);
}
