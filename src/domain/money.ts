import Big from 'big.js';
import { currencyExponent, type CurrencyCode } from './currency';
import { MAX_AMOUNT_MINOR } from './input-limits';

/** An exact amount of money: integer minor units (cents, yen, fils) of one ISO 4217 currency. */
export interface Money {
  readonly minor: bigint;
  readonly currency: CurrencyCode;
}

/**
 * Why a decimal string was not accepted as an amount. `out_of_range`: more than
 * `MAX_AMOUNT_MINOR` (18 digits) in minor units, either sign.
 */
export type AmountRejection = 'empty' | 'not_a_decimal' | 'too_many_decimals' | 'out_of_range';

/** Result of `parseDecimalToMinor`: the minor units, or why the text was rejected. */
export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; reason: AmountRejection };

// Strict grammar of the canonical CSV: optional minus, digits, optional dot and digits.
// No exponent, no thousands separator, no leading '+', no spaces, no NaN/Infinity.
// (`/^(-?)(\d+)(?:\.(\d+))?$/`, checked character by character: this runs for every amount.)

/** At most this many digits are accumulated in a small integer (< 2^31, exact) before BigInt. */
const SMALL_DIGITS = 9;

/**
 * Parses a decimal string in MAJOR units (`"12.34"`, `"-5.00"`, `"1500"`) into integer MINOR units
 * using `exponent` digits (2 for USD: `"12.34"` → `1234n`; 0 for JPY: `"1500"` → `1500n`).
 * Exact: the digits are shifted as text, never through a float. Trailing zeros beyond the exponent
 * are accepted (`"1.50"` for an exponent of 1); any other extra decimal is rejected, and so is an
 * amount beyond ±`MAX_AMOUNT_MINOR` minor units (`out_of_range`).
 */
export function parseDecimalToMinor(text: string, exponent: number): ParsedAmount {
  const parsed = parseMinorOrRejection(text, exponent);
  return typeof parsed === 'bigint' ? { ok: true, minor: parsed } : { ok: false, reason: parsed };
}

/**
 * `parseDecimalToMinor` without a result object (it runs for every amount of every row): the
 * minor units, or the reason the text was rejected.
 */
export function parseMinorOrRejection(text: string, exponent: number): bigint | AmountRejection {
  const length = text.length;
  if (length === 0) return 'empty';
  const negative = text.charCodeAt(0) === 45; /* - */
  const wholeStart = negative ? 1 : 0;
  let dot = -1;
  for (let at = wholeStart; at < length; at++) {
    const code = text.charCodeAt(at);
    if (code >= 48 && code <= 57) continue;
    if (code === 46 /* . */ && dot === -1) {
      dot = at;
      continue;
    }
    return 'not_a_decimal';
  }
  const wholeEnd = dot === -1 ? length : dot;
  // At least one digit before the dot, and at least one after it when there is a dot.
  if (wholeEnd === wholeStart || dot === length - 1) return 'not_a_decimal';
  // Fraction digits without trailing zeros.
  let fractionEnd = length;
  if (dot !== -1)
    while (fractionEnd > dot + 1 && text.charCodeAt(fractionEnd - 1) === 48) fractionEnd--;
  const fractionDigits = dot === -1 ? 0 : fractionEnd - dot - 1;
  if (fractionDigits > exponent) return 'too_many_decimals';
  const digitCount = wholeEnd - wholeStart + exponent;
  let minor: bigint;
  if (digitCount <= SMALL_DIGITS) {
    let value = 0;
    for (let at = wholeStart; at < wholeEnd; at++) value = value * 10 + (text.charCodeAt(at) - 48);
    for (let at = dot + 1; at < dot + 1 + fractionDigits; at++)
      value = value * 10 + (text.charCodeAt(at) - 48);
    for (let pad = fractionDigits; pad < exponent; pad++) value *= 10;
    minor = BigInt(negative ? -value : value);
    // -0 is 0n either way; BigInt(-value) is exact for |value| < 2^31.
    return minor;
  }
  const whole = text.slice(wholeStart, wholeEnd);
  const fraction = dot === -1 ? '' : text.slice(dot + 1, fractionEnd);
  minor = BigInt(whole + fraction.padEnd(exponent, '0'));
  if (minor > MAX_AMOUNT_MINOR) return 'out_of_range';
  return negative ? -minor : minor;
}

/**
 * `parseMinorOrRejection` of the text whose UTF-8 bytes are `bytes[start, end)`, without making
 * the string for the usual short amount (it runs for the amounts of every row of a large file):
 * the same minor units or rejection as `parseMinorOrRejection(bytes.toString('utf8', start, end),
 * exponent)` for every input (tests/unit/money.test.ts compares them).
 */
export function parseMinorBytes(
  bytes: Buffer,
  start: number,
  end: number,
  exponent: number,
): bigint | AmountRejection {
  const negative = bytes[start] === 45; /* - */
  const wholeStart = negative ? start + 1 : start;
  let dot = -1;
  for (let at = wholeStart; at < end; at++) {
    const code = bytes[at] as number;
    if (code >= 48 && code <= 57) continue;
    if (code === 46 /* . */ && dot === -1) {
      dot = at;
      continue;
    }
    dot = -2;
    break;
  }
  const wholeEnd = dot === -1 ? end : dot;
  const fractionDigits = dot < 0 ? 0 : end - dot - 1;
  if (
    dot === -2 ||
    end === start ||
    wholeEnd === wholeStart ||
    dot === end - 1 ||
    fractionDigits > exponent ||
    wholeEnd - wholeStart + exponent > SMALL_DIGITS
  ) {
    // Anything but a short plain decimal: the text's own parser decides (same result).
    return parseMinorOrRejection(bytes.toString('utf8', start, end), exponent);
  }
  let value = 0;
  for (let at = wholeStart; at < wholeEnd; at++) value = value * 10 + ((bytes[at] as number) - 48);
  for (let at = dot + 1; at < dot + 1 + fractionDigits; at++)
    value = value * 10 + ((bytes[at] as number) - 48);
  for (let pad = fractionDigits; pad < exponent; pad++) value *= 10;
  return BigInt(negative ? -value : value);
}

/**
 * Formats integer minor units as a decimal string in major units with exactly `exponent`
 * decimals: `(1234n, 2)` → `"12.34"`, `(-5n, 2)` → `"-0.05"`, `(1500n, 0)` → `"1500"`.
 */
export function formatMinor(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Formats `money` in major units of its currency (ISO exponent): `{1234n, USD}` → `"12.34"`. */
export function formatMoney(money: Money): string {
  return formatMinor(money.minor, currencyExponent(money.currency));
}

/** Returns `amount` in major units of `currency` as an exact `Big` (for ratios and thresholds). */
export function toMajorBig(minor: bigint, currency: CurrencyCode): Big {
  return new Big(minor.toString()).div(new Big(10).pow(currencyExponent(currency)));
}

/** Absolute value of a bigint. */
export function absMinor(minor: bigint): bigint {
  return minor < 0n ? -minor : minor;
}

/** Per-currency totals in minor units. Amounts of different currencies are never added together. */
export type CurrencyTotals = Map<CurrencyCode, bigint>;

/** Adds `minor` to the running total of `currency` in `totals` (mutates and returns `totals`). */
export function addToTotals(
  totals: CurrencyTotals,
  currency: CurrencyCode,
  minor: bigint,
): CurrencyTotals {
  totals.set(currency, (totals.get(currency) ?? 0n) + minor);
  return totals;
}

/** Renders per-currency totals as `{ "USD": "12.34", "JPY": "1500" }`, sorted by currency code. */
export function totalsToDecimalStrings(totals: CurrencyTotals): Record<CurrencyCode, string> {
  const out: Record<CurrencyCode, string> = {};
  for (const currency of [...totals.keys()].sort()) {
    out[currency] = formatMinor(totals.get(currency) ?? 0n, currencyExponent(currency));
  }
  return out;
}
