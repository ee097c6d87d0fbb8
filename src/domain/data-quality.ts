import type { TransactionSide } from './transaction';

/**
 * Kinds of data-quality findings recorded per run (table `data_quality_checks`). The processor
 * export formats add: `net_mismatch` (a row whose gross − fee ≠ net), `batch_balance` (Adyen: a
 * batch's net vs its payout), `footer_count` / `footer_total` (PayPal STL footers vs the body),
 * `non_transaction_rows` (rows read for a batch check but not matched). The fee checks add
 * `fee_variance` (a processor fee outside the expected fee schedule's tolerance, `engine/fees.ts`).
 * The bank leg (issue #15, side `bank`) adds the bank statement checks of
 * `sources/bank/bank-entry.ts` (`statement_balance`, `summary_total`, `entry_currency`,
 * `unknown_type_code`) and `settlement_row` (a row a settlement source could not read as a child).
 */
export type DataQualityCheckName =
  | 'invalid_row'
  | 'row_count'
  | 'duplicate_ids'
  | 'outside_business_date'
  | 'unknown_status'
  | 'net_mismatch'
  | 'batch_balance'
  | 'footer_count'
  | 'footer_total'
  | 'non_transaction_rows'
  | 'fee_variance'
  | 'statement_balance'
  | 'summary_total'
  | 'entry_currency'
  | 'unknown_type_code'
  | 'settlement_row';

/** `error`: the row was not reconciled; `warning`: reconciled but suspicious; `info`: a metric. */
export type DataQualitySeverity = 'error' | 'warning' | 'info';

/**
 * One data-quality finding. `location` is the file path or URL of the source; `line` the 1-based
 * physical line (null for file-level findings); `field` the column concerned; `value` the
 * offending raw text (truncated to 200 characters); `count` a metric for file-level checks.
 */
export interface DataQualityIssue {
  /** `bank`: a finding on a bank statement or a settlement source (issue #15). */
  readonly side: TransactionSide | 'bank';
  readonly location: string;
  readonly check: DataQualityCheckName;
  readonly severity: DataQualitySeverity;
  readonly line: number | null;
  readonly field: string | null;
  readonly reason: string;
  readonly value: string | null;
  readonly count: number | null;
}

/**
 * Truncates untrusted raw text kept in findings, so one bad cell cannot bloat reports, and writes
 * a NUL character as `\x00` (PostgreSQL text cannot hold U+0000: a finding must be storable).
 */
export function clipValue(value: string, max = 200): string {
  const clipped = value.length > max ? `${value.slice(0, max)}…` : value;
  return clipped.includes('\0') ? clipped.replaceAll('\0', '\\x00') : clipped;
}
