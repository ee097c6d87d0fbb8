import type { CurrencyCode } from './currency';

/** Which side of the reconciliation a record comes from. */
export type TransactionSide = 'processor' | 'internal';

/** Statuses after a source's status map (see `domain/status.ts`); `unknown` = not in the map. */
export type CanonicalStatus =
  'settled' | 'pending' | 'failed' | 'refunded' | 'cancelled' | 'unknown';

/**
 * One normalized transaction, from either side: the row view. Sources hold a side's rows in a
 * `TransactionTable` (columns, no object per row); `Transaction` objects are built for the rows
 * of discrepancies, for small sources as they validate, and in tests.
 *
 * - `amountMinor`: signed integer MINOR units of `currency` (refunds negative); the gross amount
 *   (the amount compared with the other side; a processor export format may be told to compare
 *   its net or fee instead, `RECON_COMPARE_AMOUNT`).
 * - `feeMinor`: fee in minor units of `currency`, positive when charged, or `null` when absent.
 * - `netMinor`: the net amount (gross − fee, what reaches the balance) in minor units of
 *   `currency` as the source REPORTS it (Stripe `net`, PayPal `Net`, Adyen `Net Credit/Debit`),
 *   or absent/`null` when the source reports none (canonical CSV, Square: derive it with
 *   `netAmountOf`). Sources check `gross − fee = net` (`netMismatchIssue`).
 * - `paymentMethod`: the payment method as the source names it (Adyen `Payment Method` `visa`,
 *   Stripe report `payment_method_type` `card`, Square `source_type` `CARD`), or absent/`null`;
 *   it chooses the expected fee schedule entry (`engine/fees.ts`).
 * - `createdAtMs`: the instant, as milliseconds since the Unix epoch (UTC).
 * - `reference`: the canonical CSV's optional `reference` column (an order or invoice number),
 *   `null`/absent when the source has none; a join key of the rules-file tiers.
 * - `line`: 1-based physical line of the record in its source file (the header is line 1).
 * - `businessDate`: the row's business date `YYYY-MM-DD` under its side's cut-off (see
 *   `domain/cutoff.ts`), computed from `createdAtMs`; set on the rows of a run's discrepancies
 *   (and stored with them), absent on rows built without a cut-off (tests, carried breaks).
 */
export interface Transaction {
  readonly transactionId: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly feeMinor: bigint | null;
  readonly netMinor?: bigint | null;
  readonly paymentMethod?: string | null;
  readonly status: CanonicalStatus;
  readonly rawStatus: string;
  readonly merchantId: string;
  readonly createdAtMs: number;
  readonly description: string | null;
  readonly line: number;
  readonly businessDate?: string;
  readonly reference?: string | null;
}

/**
 * The three amounts of a row in minor units of its currency: `gross` (= `amountMinor`), `fee`
 * (`null` when the source has none) and `net` (the reported net, else gross − fee when the fee is
 * known, else `null`).
 */
export interface TransactionAmounts {
  readonly gross: bigint;
  readonly fee: bigint | null;
  readonly net: bigint | null;
}

/** `t`'s gross, fee and net in minor units (see `TransactionAmounts`). */
export function amountsOf(t: Transaction): TransactionAmounts {
  return { gross: t.amountMinor, fee: t.feeMinor, net: netAmountOf(t) };
}

/**
 * `t`'s net amount in minor units: the net the source reported, else `amountMinor − feeMinor`,
 * else `null` (no fee and no net: the source says nothing about fees).
 */
export function netAmountOf(t: Transaction): bigint | null {
  if (t.netMinor !== undefined && t.netMinor !== null) return t.netMinor;
  return t.feeMinor === null ? null : t.amountMinor - t.feeMinor;
}
