import { ISO4217_EXPONENTS, ISO4217_TABLE_VERSION } from './iso4217-table';

export { ISO4217_TABLE_VERSION };

/** An ISO 4217 alphabetic currency code, upper case (`USD`, `JPY`, `KWD`). */
export type CurrencyCode = string;

/**
 * Per-source deviations from ISO 4217 exponents, keyed by source then currency. Processors do not
 * always follow ISO (e.g. Stripe treats some currencies specially); add overrides here, with the
 * processor's documentation URL, when a source format needs them. Empty for the canonical CSV.
 */
const SOURCE_EXPONENT_OVERRIDES: Readonly<Record<string, Readonly<Record<string, number>>>> = {};

/**
 * Normalizes and checks a currency code: trims, upper-cases, and requires a current ISO 4217 code
 * with a defined minor unit. Returns `undefined` for anything else (unknown, withdrawn, `XAU`…).
 */
export function normalizeCurrency(raw: string): CurrencyCode | undefined {
  const code = raw.trim().toUpperCase();
  return Object.hasOwn(ISO4217_EXPONENTS, code) ? code : undefined;
}

/**
 * The number of minor-unit digits of `currency` (JPY 0, USD 2, KWD 3), as used by `source`
 * (default: ISO 4217 Table A.1). Throws `RangeError` for a code that `normalizeCurrency` rejects.
 */
export function currencyExponent(currency: CurrencyCode, source?: string): number {
  const overrides =
    source && Object.hasOwn(SOURCE_EXPONENT_OVERRIDES, source)
      ? SOURCE_EXPONENT_OVERRIDES[source]
      : undefined;
  if (overrides && Object.hasOwn(overrides, currency)) return overrides[currency] as number;
  if (!Object.hasOwn(ISO4217_EXPONENTS, currency))
    throw new RangeError(`unknown currency code ${currency}`);
  return ISO4217_EXPONENTS[currency] as number;
}
