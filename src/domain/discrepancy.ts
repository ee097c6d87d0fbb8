import type { Transaction, TransactionSide } from './transaction';

/**
 * Classes of outcome for every input row. `matched` is the only non-discrepancy.
 * - `missing_in_internal`: the processor has the transaction, the ledger does not.
 * - `missing_in_processor`: the ledger has it, the processor does not.
 * - `amount_mismatch`: same id and currency, different amount (difference recorded).
 * - `currency_mismatch`: same id, different currency (amounts are not compared).
 * - `status_mismatch`: same id, currency and amount; statuses differ after the status maps.
 * - `duplicate`: an id seen again on the same side; each extra row is one duplicate.
 */
export const DISCREPANCY_KINDS = [
  'missing_in_internal',
  'missing_in_processor',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'duplicate',
] as const;

/** A discrepancy (break) class. */
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Every outcome class, matched first. */
export type OutcomeClass = 'matched' | DiscrepancyKind;

/**
 * One discrepancy. `processor`/`internal` are the rows involved (null when that side has none;
 * for a `duplicate`, only the extra row's side is set). `differenceMinor` is processor minus
 * internal amount in minor units, set for `amount_mismatch` only.
 */
export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly transactionId: string;
  readonly side: TransactionSide | 'both';
  readonly processor: Transaction | null;
  readonly internal: Transaction | null;
  readonly differenceMinor: bigint | null;
}
