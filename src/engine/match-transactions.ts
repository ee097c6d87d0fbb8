import { dateOfEpochDay, type Cutoff } from '../domain/cutoff';
import type { Discrepancy, OutcomeClass, OutcomeCounts } from '../domain/discrepancy';
import type { Transaction } from '../domain/transaction';
import { DUPLICATE_ROW, TransactionTable, type StatusEntry } from '../domain/transaction-table';
import { DEFAULT_FEE_RULES, type FeeRules } from './fee-rules';
import { basisMismatchSuspected } from './fees';
import { rulesTheSqlEngineCannotRun, type MatchRules, type ProcessorRules } from './rules';
import { applyTiers, type TierMatchSummary } from './tiers';

export type { OutcomeCounts, TierOutcome } from '../domain/discrepancy';

/**
 * A pair that agrees in everything but its business dates: the two rows fall on different
 * business days under their sides' cut-offs (a payment the ledger books at 23:58 and the
 * processor at 00:03). Counted as `timing`, neither `matched` nor a discrepancy. Dates are
 * `YYYY-MM-DD`; `lagDays` = |internal − processor| in calendar days (≥ 1).
 */
export interface TimingPair {
  readonly transactionId: string;
  readonly processorBusinessDate: string;
  readonly internalBusinessDate: string;
  readonly lagDays: number;
}

/**
 * Result of `matchTransactions`. Every input row is in exactly one class:
 * processor rows = matched + timing + missing_in_internal + amount/currency/fee/status mismatches + processor duplicates;
 * internal rows  = matched + timing + missing_in_processor + amount/currency/fee/status mismatches + internal duplicates.
 * `checkAccounting` verifies this identity.
 */
export interface MatchResult {
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  /** `matched` counts clean pairs whose rows share a business date (or whose sides have no cut-off). */
  readonly counts: OutcomeCounts;
  /** Clean pairs whose rows' business dates differ by the cut-offs (`timingPairs.length`). */
  readonly timing: number;
  /** The timing pairs, in processor-file order. */
  readonly timingPairs: readonly TimingPair[];
  readonly duplicates: { readonly processor: number; readonly internal: number };
  /** Every discrepancy: processor-file order first, then ledger-only rows in ledger order. */
  readonly discrepancies: readonly Discrepancy[];
  /** With rules-file tiers only (`applyTiers`): clean pairs per tier, `id` (the id join) first. */
  readonly matchesByTier?: Readonly<Record<string, number>>;
  /** With rules-file tiers only: per tier, pairs, amounts and |variance| per currency. */
  readonly matches?: readonly TierMatchSummary[];
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
    fee_mismatch: 0,
  };
}

// States of a ledger row during the match: not the first of its id, first (unmatched), matched.
const UNCONSUMED = 1;
const CONSUMED = 2;
/** Processor rows whose ledger partners are loaded together before classification. */
const WARM_GROUP = 32;

/**
 * Reconciles the processor side against the internal ledger side with a hash join on
 * `transactionId`. Pure and deterministic: no I/O, no clock. Convenience form of `matchTables`
 * for rows held as objects (tests, small inputs): same result.
 */
export function matchTransactions(
  processor: readonly Transaction[],
  internal: readonly Transaction[],
  cutoffs?: { readonly processor: Cutoff; readonly internal: Cutoff },
  fees: FeeRules = DEFAULT_FEE_RULES,
): MatchResult {
  const p = TransactionTable.fromTransactions(processor);
  const i = TransactionTable.fromTransactions(internal);
  if (cutoffs) {
    p.setCutoff(cutoffs.processor);
    i.setCutoff(cutoffs.internal);
  }
  return matchTables(p, i, fees);
}

/**
 * The processor amount compared with the ledger amount of row `row`: its gross (`amountAt`), or
 * with basis `net` its net (`netAt`: reported, else gross − fee; the gross when it has no fee).
 */
function processorBasisAmount(processor: TransactionTable, row: number, net: boolean): bigint {
  return net ? (processor.netAt(row) ?? processor.amountAt(row)) : processor.amountAt(row);
}

/**
 * Reconciles the processor table against the internal ledger table with a hash join on the
 * transaction id. Pure and deterministic: no I/O, no clock; the tables are only read.
 *
 * The first row of an id on each side takes part in matching; every further row with that id on
 * the same side is reported as a `duplicate` (nothing is dropped silently). A matched pair is
 * classified by precedence: currency (amounts in different currencies are not comparable), then
 * amount, then fee, then canonical status; two `unknown` statuses are compared by their raw text
 * (trimmed, case-insensitive).
 *
 * Fees (`fees`, default `DEFAULT_FEE_RULES`): the ledger amount is compared with the processor's
 * gross, or with `ledgerAmountBasis: 'net'` with its net (see `processorBasisAmount`); a pair
 * whose amounts agree but whose fees differ (both sides carry one) is a `fee_mismatch`; an
 * `amount_mismatch` whose difference equals the processor fee is annotated
 * `basis_mismatch_suspected`. The fee schedule is checked apart (`findFeeVariances`).
 *
 * When both tables have a cut-off (`TransactionTable.setCutoff`), a clean pair whose two rows
 * fall on different business dates is a `timing` pair (`MatchResult.timingPairs`), not `matched`.
 * Discrepancy rows carry their `businessDate` then.
 *
 * Each side's ids were hashed once, as its rows were appended (`TransactionTable`): here only the
 * processor rows are looked up in the ledger's id index. `Transaction` objects are built only for
 * the rows of discrepancies.
 * @throws Error when the ledger table's id index was dropped.
 */
export function matchTables(
  processor: TransactionTable,
  internal: TransactionTable,
  fees: FeeRules = DEFAULT_FEE_RULES,
): MatchResult {
  const netBasis = fees.ledgerAmountBasis === 'net';
  const counts = emptyOutcomeCounts();
  const discrepancies: Discrepancy[] = [];
  const duplicates = { processor: 0, internal: 0 };
  const timingPairs: TimingPair[] = [];
  const dated = processor.cutoff !== null && internal.cutoff !== null;

  // Processor currency index → ledger currency index (-1: a currency the ledger never uses).
  const currencyInLedger = processor.currencies.map((code) => internal.currencies.indexOf(code));
  const processorStatuses = processor.statuses;
  const internalStatuses = internal.statuses;
  // `state[i]` of ledger row i: 0 for a duplicate, UNCONSUMED (first of its id) or CONSUMED (matched).
  const state = new Uint8Array(internal.length);
  for (let index = 0; index < internal.length; index++) {
    if (internal.rowState(index) !== DUPLICATE_ROW) state[index] = UNCONSUMED;
  }

  const partners = internal.firstRowsOf(processor);
  for (let index = 0; index < processor.length; index++) {
    if (index % WARM_GROUP === 0) {
      // Load the next group's ledger rows side by side (independent cache misses) before use.
      internal.warmRows(partners, index, Math.min(processor.length, index + WARM_GROUP));
    }
    if (processor.rowState(index) === DUPLICATE_ROW) {
      duplicates.processor++;
      discrepancies.push(duplicateOf(processor.atWithBusinessDate(index), 'processor'));
      continue;
    }
    const i = partners[index] as number;
    if (i < 0) {
      counts.missing_in_internal++;
      const p = processor.atWithBusinessDate(index);
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
    let outcome: OutcomeClass;
    if (currencyInLedger[processor.currencyIndexAt(index)] !== internal.currencyIndexAt(i)) {
      outcome = 'currency_mismatch';
    } else if (
      netBasis
        ? processorBasisAmount(processor, index, true) !== internal.amountAt(i)
        : !processor.sameAmount(index, internal, i)
    ) {
      outcome = 'amount_mismatch';
    } else if (!processor.sameFee(index, internal, i)) {
      outcome = 'fee_mismatch';
    } else {
      const ps = processorStatuses[processor.statusIndexAt(index)] as StatusEntry;
      const is = internalStatuses[internal.statusIndexAt(i)] as StatusEntry;
      outcome =
        ps.status !== is.status || (ps.status === 'unknown' && ps.key !== is.key)
          ? 'status_mismatch'
          : 'matched';
    }
    if (outcome === 'matched' && dated) {
      const pd = processor.businessDayAt(index) as number;
      const id = internal.businessDayAt(i) as number;
      if (pd !== id) {
        timingPairs.push({
          transactionId: processor.idAt(index),
          processorBusinessDate: dateOfEpochDay(pd),
          internalBusinessDate: dateOfEpochDay(id),
          lagDays: Math.abs(id - pd),
        });
        continue;
      }
    }
    counts[outcome]++;
    if (outcome !== 'matched') {
      const p = processor.atWithBusinessDate(index);
      const row = internal.atWithBusinessDate(i);
      const differenceMinor =
        outcome === 'amount_mismatch'
          ? processorBasisAmount(processor, index, netBasis) - row.amountMinor
          : outcome === 'fee_mismatch'
            ? (p.feeMinor ?? 0n) - (row.feeMinor ?? 0n)
            : null;
      discrepancies.push({
        kind: outcome,
        transactionId: p.transactionId,
        side: 'both',
        processor: p,
        internal: row,
        differenceMinor,
        ...(basisMismatchSuspected(outcome, differenceMinor, p.feeMinor)
          ? { annotation: 'basis_mismatch_suspected' as const }
          : {}),
      });
    }
  }

  for (let index = 0; index < internal.length; index++) {
    if (state[index] !== UNCONSUMED) continue;
    const i = internal.atWithBusinessDate(index);
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
    if (internal.rowState(index) !== DUPLICATE_ROW) continue;
    duplicates.internal++;
    discrepancies.push(duplicateOf(internal.atWithBusinessDate(index), 'internal'));
  }
  counts.duplicate = duplicates.processor + duplicates.internal;

  return {
    processorTransactions: processor.length,
    internalTransactions: internal.length,
    counts,
    timing: timingPairs.length,
    timingPairs,
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
  const pairs =
    c.matched +
    result.timing +
    c.amount_mismatch +
    c.currency_mismatch +
    c.status_mismatch +
    c.fee_mismatch +
    (c.matched_with_variance ?? 0);
  const problems: string[] = [];
  if (result.timing !== result.timingPairs.length) {
    problems.push(`timing ${result.timing} != timing pairs ${result.timingPairs.length}`);
  }
  let ambiguousProcessor = 0;
  for (const d of result.discrepancies)
    if (d.kind === 'ambiguous' && d.side === 'processor') ambiguousProcessor++;
  const ambiguousInternal = (c.ambiguous ?? 0) - ambiguousProcessor;
  const processorSum =
    pairs + c.missing_in_internal + result.duplicates.processor + ambiguousProcessor;
  const internalSum =
    pairs + c.missing_in_processor + result.duplicates.internal + ambiguousInternal;
  if (processorSum !== result.processorTransactions) {
    problems.push(`processor rows ${result.processorTransactions} != classified ${processorSum}`);
  }
  if (internalSum !== result.internalTransactions) {
    problems.push(`internal rows ${result.internalTransactions} != classified ${internalSum}`);
  }
  const discrepancyRows = result.discrepancies.length;
  const discrepancyCount =
    pairs -
    c.matched -
    result.timing +
    c.missing_in_internal +
    c.missing_in_processor +
    c.duplicate +
    (c.ambiguous ?? 0);
  if (discrepancyRows !== discrepancyCount) {
    problems.push(`discrepancy rows ${discrepancyRows} != counted ${discrepancyCount}`);
  }
  return problems;
}

/** Names of the matching engines (`--engine`). */
export type EngineName = 'memory' | 'postgres';

/**
 * The port both matching engines sit behind. `refusedRules` lists, as `[path in the rules file,
 * reason]`, the rules an engine cannot run (checked before any side effect; the run refuses them
 * with exit 2). The memory engine runs everything in process (`match`, then `applyRules`); the
 * postgres engine's SQL join lives in `store/sql-engine.ts` and runs inside the run's database
 * transaction, so this port only describes what it accepts.
 */
export interface MatchEngine {
  readonly name: EngineName;
  refusedRules(rules: MatchRules): Array<[string, string]>;
}

/** The memory engine: the id join (`matchTables`), then the rules-file tiers (`applyTiers`). */
export interface MemoryMatchEngine extends MatchEngine {
  readonly name: 'memory';
  /** `fees`: the processor's fee rules (default `DEFAULT_FEE_RULES`: basis gross). */
  match(processor: TransactionTable, internal: TransactionTable, fees?: FeeRules): MatchResult;
  /**
   * Runs `rules.tiers` on the rows `match` left unmatched; returns `match` itself when there are
   * none (a run without a rules file is exactly as before). `timeZone`: zone of business dates.
   */
  applyRules(
    match: MatchResult,
    rules: ProcessorRules,
    processor: TransactionTable,
    timeZone: string,
  ): MatchResult;
}

/** Both engines, by name. */
export const MATCH_ENGINES: {
  readonly memory: MemoryMatchEngine;
  readonly postgres: MatchEngine;
} = {
  memory: {
    name: 'memory',
    refusedRules: () => [],
    match: matchTables,
    applyRules: (match, rules, processor, timeZone) =>
      rules.tiers.length === 0
        ? match
        : applyTiers(match, rules, processor.volumeByCurrency(), timeZone),
  },
  postgres: { name: 'postgres', refusedRules: rulesTheSqlEngineCannotRun },
};
