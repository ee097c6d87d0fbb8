import type { CanonicalStatus } from './transaction';

/** Processors this version knows. `--processors` accepts exactly these names. */
export const KNOWN_PROCESSORS = ['stripe', 'paypal', 'square', 'adyen'] as const;

/** A known processor name (`stripe`, `paypal`, `square`, `adyen`). */
export type ProcessorName = (typeof KNOWN_PROCESSORS)[number];

/** True when `name` is one of `KNOWN_PROCESSORS`. */
export function isProcessorName(name: string): name is ProcessorName {
  return (KNOWN_PROCESSORS as readonly string[]).includes(name);
}

/** Raw status (lower case) → canonical status. */
export type StatusMap = Readonly<Record<string, CanonicalStatus>>;

const COMMON: StatusMap = {
  settled: 'settled',
  completed: 'settled',
  succeeded: 'settled',
  success: 'settled',
  paid: 'settled',
  pending: 'pending',
  failed: 'failed',
  refunded: 'refunded',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

/**
 * Status maps per source. Statuses are compared after mapping, so `succeeded` at Stripe equals
 * `settled` in the ledger. Sources of the processor vocabularies:
 * - Stripe balance transactions `available`/`pending`, charges `succeeded`/`failed`:
 *   https://docs.stripe.com/api/balance_transactions/object
 * - PayPal transaction status S/P/V/D (and the words used in activity exports):
 *   https://developer.paypal.com/docs/api/transaction-search/v1/
 * - Square payment status APPROVED/PENDING/COMPLETED/CANCELED/FAILED:
 *   https://developer.squareup.com/reference/square/payments-api/list-payments
 * - Adyen journal types Settled/Authorised/Refused/Refunded:
 *   https://docs.adyen.com/reporting/settlement-detail-report
 * - Stripe balance report `reporting_category` values (the row's kind; a balance report row is
 *   booked, so settled unless it gives money back): https://docs.stripe.com/reports/reporting-categories
 * - Adyen settlement details `Type` values (Chargeback, RefundedReversed, PaymentCost, …): same
 *   settlement-detail-report page. PayPal exports: Spanish `Completado`/`Pendiente`.
 */
export const STATUS_MAPS: Readonly<Record<ProcessorName | 'internal', StatusMap>> = {
  stripe: {
    ...COMMON,
    available: 'settled',
    charge: 'settled',
    payment: 'settled',
    refund: 'refunded',
    payment_refund: 'refunded',
    partial_capture_reversal: 'refunded',
    dispute: 'refunded',
    dispute_reversal: 'settled',
    fee: 'settled',
    payout: 'settled',
    payout_reversal: 'settled',
    transfer: 'settled',
    transfer_reversal: 'settled',
    adjustment: 'settled',
    other_adjustment: 'settled',
  },
  paypal: {
    ...COMMON,
    s: 'settled',
    p: 'pending',
    v: 'refunded',
    reversed: 'refunded',
    d: 'failed',
    denied: 'failed',
    completado: 'settled',
    pendiente: 'pending',
  },
  square: { ...COMMON, approved: 'pending' },
  adyen: {
    ...COMMON,
    authorised: 'pending',
    sentforsettle: 'pending',
    refused: 'failed',
    chargeback: 'refunded',
    secondchargeback: 'refunded',
    chargebackreversed: 'settled',
    refundedreversed: 'settled',
    paymentcost: 'settled',
  },
  internal: { ...COMMON, posted: 'settled', voided: 'cancelled', reversed: 'refunded' },
};

/** Maps a raw status through `map`; `unknown` when the (trimmed, lower-cased) value is not in it. */
export function mapStatus(raw: string, map: StatusMap): CanonicalStatus {
  const key = raw.trim().toLowerCase();
  // Own keys only: a status such as `constructor` must not find Object.prototype members.
  return Object.hasOwn(map, key) ? (map[key] ?? 'unknown') : 'unknown';
}
