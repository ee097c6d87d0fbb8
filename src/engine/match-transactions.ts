import type { Discrepancy, OutcomeClass } from '../domain/discrepancy';
import type { Transaction } from '../domain/transaction';
import { DUPLICATE_ROW, forgetSideIndex, sideIndexOf } from './transaction-index';

/** Row counts per outcome class. `matched` counts matched PAIRS (one row on each side). */
export type OutcomeCounts = Record<OutcomeClass, number>;

/**
 * Result of `matchTransactions`. Every input row is in exactly one class:
 * processor rows = matched + missing_in_internal + amount/currency/status mismatches + processor duplicates;
 * internal rows  = matched + missing_in_processor + amount/currency/status mismatches + internal duplicates.
 * `checkAccounting` verifies this identity.
 */
export interface MatchResult {
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  readonly counts: OutcomeCounts;
  readonly duplicates: { readonly processor: number; readonly internal: number };
  /** Every discrepancy: processor-file order first, then ledger-only rows in ledger order. */
  readonly discrepancies: readonly Discrepancy[];
}

/** A fresh all-zero `OutcomeCounts`. */
export function emptyOutcomeCounts(): OutcomeCounts {
  return {
    matched: 0,
    missing_in_internal: 0,
    missing_in_processor: 0,
    amount_mismatch: 0,
    currency_mismatch: 0,
    status_mismatch: 0,
    duplicate: 0,
  };
}

/**
 * Compares a matched pair (same transaction id) and returns its class. Order of precedence:
 * currency (amounts in different currencies are not comparable), then amount, then status.
 * Statuses are the canonical ones; two `unknown`s are compared by their raw text.
 */
function classifyPair(p: Transaction, i: Transaction): OutcomeClass {
  if (p.currency !== i.currency) return 'currency_mismatch';
  if (p.amountMinor !== i.amountMinor) return 'amount_mismatch';
  if (p.status !== i.status) return 'status_mismatch';
  if (
    p.status === 'unknown' &&
    p.rawStatus.trim().toLowerCase() !== i.rawStatus.trim().toLowerCase()
  ) {
    return 'status_mismatch';
  }
  return 'matched';
}

// States of a ledger row during the match: not the first of its id, first (unmatched), matched.
const UNCONSUMED = 1;
const CONSUMED = 2;

/**
 * Reconciles the processor side against the internal ledger side with a hash join on
 * `transactionId`. Pure and deterministic: no I/O, no clock.
 *
 * The first row of an id on each side takes part in matching; every further row with that id on
 * the same side is reported as a `duplicate` (nothing is dropped silently).
 *
 * Each side's ids are hashed once per run: the side index (first row per id, duplicate rows) is
 * taken from `sideIndexOf`, which the sources' side checks have usually filled already; only the
 * processor rows are looked up here (one `Map.get` per processor row).
 */
export function matchTransactions(
  processor: readonly Transaction[],
  internal: readonly Transaction[],
): MatchResult {
  const counts = emptyOutcomeCounts();
  const discrepancies: Discrepancy[] = [];
  const duplicates = { processor: 0, internal: 0 };

  const processorIndex = sideIndexOf(processor, { needIds: false });
  const internalIndex = sideIndexOf(internal, { needIds: true });
  const firstInternal = internalIndex.firstById as Map<string, number>;
  const processorState = processorIndex.rowState;
  const internalRowState = internalIndex.rowState;
  // `state[i]` of ledger row i: 0 for a duplicate, UNCONSUMED (first of its id) or CONSUMED (matched).
  const state = new Uint8Array(internal.length);
  for (let index = 0; index < internal.length; index++) {
    if (internalRowState[index] !== DUPLICATE_ROW) state[index] = UNCONSUMED;
  }

  for (let index = 0; index < processor.length; index++) {
    const p = processor[index] as Transaction;
    if (processorState[index] === DUPLICATE_ROW) {
      duplicates.processor++;
      discrepancies.push(duplicateOf(p, 'processor'));
      continue;
    }
    const i = firstInternal.get(p.transactionId);
    if (i === undefined) {
      counts.missing_in_internal++;
      discrepancies.push({
        kind: 'missing_in_internal',
        transactionId: p.transactionId,
        side: 'processor',
        processor: p,
        internal: null,
        differenceMinor: null,
      });
      continue;
    }
    state[i] = CONSUMED;
    const row = internal[i] as Transaction;
    const outcome = classifyPair(p, row);
    counts[outcome]++;
    if (outcome !== 'matched') {
      discrepancies.push({
        kind: outcome,
        transactionId: p.transactionId,
        side: 'both',
        processor: p,
        internal: row,
        differenceMinor: outcome === 'amount_mismatch' ? p.amountMinor - row.amountMinor : null,
      });
    }
  }

  for (let index = 0; index < internal.length; index++) {
    if (state[index] !== UNCONSUMED) continue;
    const i = internal[index] as Transaction;
    counts.missing_in_processor++;
    discrepancies.push({
      kind: 'missing_in_processor',
      transactionId: i.transactionId,
      side: 'internal',
      processor: null,
      internal: i,
      differenceMinor: null,
    });
  }
  for (let index = 0; index < internal.length; index++) {
    if (internalRowState[index] !== DUPLICATE_ROW) continue;
    duplicates.internal++;
    discrepancies.push(duplicateOf(internal[index] as Transaction, 'internal'));
  }
  counts.duplicate = duplicates.processor + duplicates.internal;
  // The indexes' maps are not needed after the match: free them before reports and storage.
  forgetSideIndex(processor);
  forgetSideIndex(internal);

  return {
    processorTransactions: processor.length,
    internalTransactions: internal.length,
    counts,
    duplicates,
    discrepancies,
  };
}

function duplicateOf(row: Transaction, side: 'processor' | 'internal'): Discrepancy {
  return {
    kind: 'duplicate',
    transactionId: row.transactionId,
    side,
    processor: side === 'processor' ? row : null,
    internal: side === 'internal' ? row : null,
    differenceMinor: null,
  };
}

/**
 * Checks that every input row of `result` is accounted for exactly once (see `MatchResult`).
 * Returns the list of broken identities (empty when the result balances).
 */
export function checkAccounting(result: MatchResult): string[] {
  const c = result.counts;
  const pairs = c.matched + c.amount_mismatch + c.currency_mismatch + c.status_mismatch;
  const problems: string[] = [];
  const processorSum = pairs + c.missing_in_internal + result.duplicates.processor;
  const internalSum = pairs + c.missing_in_processor + result.duplicates.internal;
  if (processorSum !== result.processorTransactions) {
    problems.push(`processor rows ${result.processorTransactions} != classified ${processorSum}`);
  }
  if (internalSum !== result.internalTransactions) {
    problems.push(`internal rows ${result.internalTransactions} != classified ${internalSum}`);
  }
  const discrepancyRows = result.discrepancies.length;
  const discrepancyCount =
    pairs - c.matched + c.missing_in_internal + c.missing_in_processor + c.duplicate;
  if (discrepancyRows !== discrepancyCount) {
    problems.push(`discrepancy rows ${discrepancyRows} != counted ${discrepancyCount}`);
  }
  return problems;
}
