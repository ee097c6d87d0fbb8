import type { Transaction, TransactionSide } from './transaction';

/**
 * Classes of outcome for every input row. `matched` is the only non-discrepancy.
 * - `missing_in_internal`: the processor has the transaction, the ledger does not.
 * - `missing_in_processor`: the ledger has it, the processor does not.
 * - `amount_mismatch`: same id and currency, different amount (difference recorded).
 * - `currency_mismatch`: same id, different currency (amounts are not compared).
 * - `fee_mismatch`: same id, currency and amount (on the processor's amount basis), both sides
 *   carry a fee and the fees differ (difference recorded: processor fee minus ledger fee).
 * - `status_mismatch`: same id, currency and amount; statuses differ after the status maps.
 * - `duplicate`: an id seen again on the same side; each extra row is one duplicate.
 * - `matched_with_variance`: a pair made by a `tolerance` tier of the rules file (issue #14) whose
 *   amounts differ within the tolerance (difference recorded, never hidden).
 * - `ambiguous`: a row a tier could not pair because it has several candidates or its candidate
 *   is claimed by several rows; one discrepancy per row, its candidates listed.
 */
export const DISCREPANCY_KINDS = [
  'missing_in_internal',
  'missing_in_processor',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'duplicate',
  // issue #14 "Fees" (after the original kinds, so their order in reports stays as it was)
  'fee_mismatch',
  'matched_with_variance',
  'ambiguous',
] as const;

/** A discrepancy (break) class. */
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Every outcome class, matched first. */
export type OutcomeClass = 'matched' | DiscrepancyKind;

/** Outcome classes only the rules-file tiers produce (issue #14). */
export type TierOutcome = 'matched_with_variance' | 'ambiguous';

/**
 * Row counts per outcome class. `matched` counts matched PAIRS (one row on each side), of every
 * tier. `matched_with_variance` (pairs) and `ambiguous` (rows of both sides) are present only when
 * the processor's rules have tiers, so that a run without a rules file reports exactly as before.
 */
export type OutcomeCounts = Record<Exclude<OutcomeClass, TierOutcome>, number> &
  Partial<Record<TierOutcome, number>>;

/**
 * Annotations of a discrepancy (they never change its kind):
 * - `basis_mismatch_suspected`: an `amount_mismatch` whose difference equals the processor's fee
 *   (the ledger booked gross where the fee rules' basis says net, or the reverse).
 */
export type DiscrepancyAnnotation = 'basis_mismatch_suspected';

/**
 * One discrepancy. `processor`/`internal` are the rows involved (null when that side has none;
 * for a `duplicate`, only the extra row's side is set). `differenceMinor`, in minor units, is set
 * for `amount_mismatch` (processor amount on the fee rules' basis, gross or net, minus the ledger
 * amount), `matched_with_variance` (processor minus ledger amount) and `fee_mismatch` (processor
 * fee minus ledger fee) only. `annotation`: see `DiscrepancyAnnotation` (absent: none).
 * `tier`: name of the rules-file tier that paired the rows (or found the ambiguity); absent for
 * the id join. `candidates`: for `ambiguous`, the transaction ids of the other side's candidate
 * rows, sorted.
 */
export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly transactionId: string;
  readonly side: TransactionSide | 'both';
  readonly processor: Transaction | null;
  readonly internal: Transaction | null;
  readonly differenceMinor: bigint | null;
  readonly annotation?: DiscrepancyAnnotation;
  readonly tier?: string;
  readonly candidates?: readonly string[];
}
