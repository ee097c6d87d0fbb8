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
 * - `amountMinor`: signed integer MINOR units of `currency` (refunds negative); gross amount.
 * - `feeMinor`: fee in minor units of `currency`, positive when charged, or `null` when absent.
 * - `createdAtMs`: the instant, as milliseconds since the Unix epoch (UTC).
 * - `reference`: the canonical CSV's optional `reference` column (an order or invoice number),
 *   `null`/absent when the source has none; a join key of the rules-file tiers.
 * - `line`: 1-based physical line of the record in its source file (the header is line 1).
 */
export interface Transaction {
  readonly transactionId: string;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
  readonly feeMinor: bigint | null;
  readonly status: CanonicalStatus;
  readonly rawStatus: string;
  readonly merchantId: string;
  readonly createdAtMs: number;
  readonly description: string | null;
  readonly line: number;
  readonly reference?: string | null;
}
