import type { Discrepancy, OutcomeClass } from '../domain/discrepancy';
import type { Transaction } from '../domain/transaction';

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

// Ledger row states (0: a duplicate row) and the marker of processor-only ids; see below.
const UNCONSUMED = 1;
const CONSUMED = 2;
const PROCESSOR_ONLY = -1;

/**
 * Reconciles the processor side against the internal ledger side with a hash join on
 * `transactionId`. Pure and deterministic: no I/O, no clock.
 *
 * The first row of an id on each side takes part in matching; every further row with that id on
 * the same side is reported as a `duplicate` (nothing is dropped silently).
 */
export function matchTransactions(
  processor: readonly Transaction[],
  internal: readonly Transaction[],
): MatchResult {
  const counts = emptyOutcomeCounts();
  const discrepancies: Discrepancy[] = [];
  const duplicates = { processor: 0, internal: 0 };

  // One map for both sides, one lookup per row: id → index of its first ledger row, or
  // PROCESSOR_ONLY once a processor row without a ledger row has been seen.
  // `state[i]` of ledger row i: 0 for a duplicate, UNCONSUMED (first of its id) or CONSUMED (matched).
  const byId = new Map<string, number>();
  const state = new Uint8Array(internal.length);
  const internalDuplicates: Discrepancy[] = [];
  for (let index = 0; index < internal.length; index++) {
    const row = internal[index] as Transaction;
    if (byId.get(row.transactionId) !== undefined) {
      duplicates.internal++;
      internalDuplicates.push(duplicateOf(row, 'internal'));
    } else {
      byId.set(row.transactionId, index);
      state[index] = UNCONSUMED;
    }
  }

  for (let index = 0; index < processor.length; index++) {
    const p = processor[index] as Transaction;
    const internalIndex = byId.get(p.transactionId);
    if (internalIndex === undefined) {
      byId.set(p.transactionId, PROCESSOR_ONLY);
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
    if (internalIndex === PROCESSOR_ONLY || state[internalIndex] === CONSUMED) {
      duplicates.processor++;
      discrepancies.push(duplicateOf(p, 'processor'));
      continue;
    }
    state[internalIndex] = CONSUMED;
    const i = internal[internalIndex] as Transaction;
    const outcome = classifyPair(p, i);
    counts[outcome]++;
    if (outcome !== 'matched') {
      discrepancies.push({
        kind: outcome,
        transactionId: p.transactionId,
        side: 'both',
        processor: p,
        internal: i,
        differenceMinor: outcome === 'amount_mismatch' ? p.amountMinor - i.amountMinor : null,
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
  discrepancies.push(...internalDuplicates);
  counts.duplicate = duplicates.processor + duplicates.internal;

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
