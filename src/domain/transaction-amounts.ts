import { currencyExponent, type CurrencyCode } from './currency';
import type { DataQualityIssue } from './data-quality';
import { formatMinor } from './money';
import type { TransactionSide } from './transaction';

/** Where a row was read: its side, source (file path or URL) and 1-based line or item position. */
export interface RowOrigin {
  readonly side: TransactionSide;
  readonly location: string;
  readonly line: number;
}

/**
 * The one `gross − fee = net` check of every source (issue #14 "Fees"): for a row that carries
 * all three amounts (integer minor units of `currency`), `null` when they agree, else the
 * data-quality finding `net_mismatch` (warning; the row is still reconciled) whose reason names
 * the three amounts and the difference `gross − fee − net` (major units, e.g. `0.80`), and whose
 * `value` is the reported net. Rows without a fee or without a reported net are not checked.
 */
export function netMismatchIssue(
  origin: RowOrigin,
  currency: CurrencyCode,
  gross: bigint,
  fee: bigint | null,
  net: bigint | null,
): DataQualityIssue | null {
  if (fee === null || net === null) return null;
  const difference = gross - fee - net;
  if (difference === 0n) return null;
  const exponent = currencyExponent(currency);
  return {
    side: origin.side,
    location: origin.location,
    check: 'net_mismatch',
    severity: 'warning',
    line: origin.line,
    field: 'net',
    reason:
      `gross ${formatMinor(gross, exponent)} - fee ${formatMinor(fee, exponent)} ` +
      `!= net ${formatMinor(net, exponent)} ${currency} (difference ${formatMinor(difference, exponent)})`,
    value: formatMinor(net, exponent),
    count: null,
  };
}
