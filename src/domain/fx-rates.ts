import Big from 'big.js';
import { normalizeCurrency, type CurrencyCode } from './currency';
import { ConfigError } from './errors';

/**
 * One row of the rates file: `rate` units of the reporting currency per 1 unit of `currency`,
 * valid from business date `asOf` (YYYY-MM-DD) on. `line` is the 1-based line in the file. The
 * reporting currency itself has the implicit rate 1 with `asOf` and `line` null.
 */
export interface FxRate {
  readonly currency: CurrencyCode;
  readonly rate: Big;
  readonly asOf: string | null;
  readonly line: number | null;
}

/**
 * The optional reporting currency and its rates (README "Reporting currency"): used to rank
 * discrepancies of different currencies, to compare amounts at stake with the risk thresholds and
 * for the e-mail's "≈ USD" column. `byCurrency`: rows per currency, oldest `asOf` first.
 */
export interface FxRates {
  readonly reportingCurrency: CurrencyCode;
  /** Where the rates came from (the file path), for messages. */
  readonly source: string;
  readonly byCurrency: ReadonlyMap<CurrencyCode, readonly FxRate[]>;
}

const HEADER = 'currency,rate,as_of';
/** A positive plain decimal: digits, optionally a point and more digits (no sign, exponent, comma). */
const RATE = /^\d+(\.\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

/**
 * Parses a rates file: a header line `currency,rate,as_of`, then one rate per line, e.g.
 * `EUR,1.1703,2025-09-30` (1 EUR = 1.1703 units of the reporting currency from 2025-09-30 on).
 * Fields are plain (no quoting); blank lines and lines starting with `#` are ignored; CRLF is
 * accepted. Rates are exact decimals (big.js), never floats.
 * @param text the file's contents
 * @param source the file path, named in every error
 * @param reportingCurrency RECON_REPORTING_CURRENCY (ISO 4217, any case)
 * @throws ConfigError naming the file, line and field of the first bad row (exit 2)
 */
export function parseFxRatesCsv(text: string, source: string, reportingCurrency: string): FxRates {
  const reporting = normalizeCurrency(reportingCurrency);
  if (!reporting || reportingCurrency.trim() === '') {
    throw new ConfigError(
      `RECON_REPORTING_CURRENCY must be an ISO 4217 currency code such as USD or EUR, got ${JSON.stringify(reportingCurrency)}`,
    );
  }
  const fail = (line: number, field: string | null, reason: string): never => {
    throw new ConfigError(
      `RECON_FX_RATES_FILE ${source} line ${line}${field ? ` field ${field}` : ''}: ${reason}`,
    );
  };
  const lines = text.split(/\r?\n/);
  let headerSeen = false;
  const byCurrency = new Map<CurrencyCode, FxRate[]>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content.startsWith('#') || (content === '' && (headerSeen || index < lines.length - 1)))
      return;
    if (!headerSeen) {
      if (content.replace(/\s+/g, '').toLowerCase() !== HEADER) {
        fail(line, null, `the header must be "${HEADER}", got ${JSON.stringify(content)}`);
      }
      headerSeen = true;
      return;
    }
    const fields = content.split(',').map((f) => f.trim());
    if (fields.length !== 3)
      fail(line, null, `expected 3 fields (${HEADER}), got ${fields.length}`);
    const [currencyText = '', rateText = '', asOf = ''] = fields;
    const currency = normalizeCurrency(currencyText);
    if (!currency || currencyText === '')
      fail(line, 'currency', `not an ISO 4217 currency code, got ${JSON.stringify(currencyText)}`);
    const code = currency as CurrencyCode;
    if (!RATE.test(rateText) || new Big(rateText).lte(0)) {
      fail(
        line,
        'rate',
        `must be a positive decimal number such as 1.0825, got ${JSON.stringify(rateText)}`,
      );
    }
    if (!isCalendarDate(asOf))
      fail(line, 'as_of', `must be a date YYYY-MM-DD, got ${JSON.stringify(asOf)}`);
    const rate = new Big(rateText);
    if (code === reporting && !rate.eq(1)) {
      fail(
        line,
        'rate',
        `the reporting currency ${reporting} is worth exactly 1 of itself, got ${JSON.stringify(rateText)}`,
      );
    }
    const list = byCurrency.get(code) ?? [];
    const earlier = list.find((r) => r.asOf === asOf);
    if (earlier) {
      fail(line, 'as_of', `${code} already has a rate for ${asOf} (line ${earlier.line ?? '?'})`);
    }
    list.push({ currency: code, rate, asOf, line });
    byCurrency.set(code, list);
  });
  if (!headerSeen) fail(1, null, `the header must be "${HEADER}", got ""`);
  for (const list of byCurrency.values())
    list.sort((a, b) => ((a.asOf ?? '') < (b.asOf ?? '') ? -1 : 1));
  return { reportingCurrency: reporting, source, byCurrency };
}

/**
 * The rate of `currency` on `businessDate` (YYYY-MM-DD): the row with the latest `as_of` on or
 * before that date; rate 1 for the reporting currency; null when the file has none.
 */
export function rateOn(
  rates: FxRates,
  currency: CurrencyCode,
  businessDate: string,
): FxRate | null {
  if (currency === rates.reportingCurrency)
    return { currency, rate: new Big(1), asOf: null, line: null };
  let best: FxRate | null = null;
  for (const row of rates.byCurrency.get(currency) ?? []) {
    if ((row.asOf ?? '') <= businessDate) best = row;
  }
  return best;
}

/**
 * Converts `amountMajor` (an exact decimal string or Big in major units of `currency`) to major
 * units of the reporting currency at the rate of `businessDate`, exactly (no rounding). Null when
 * there is no rate for that currency and date.
 */
export function convertToReporting(
  rates: FxRates,
  currency: CurrencyCode,
  amountMajor: string | Big,
  businessDate: string,
): Big | null {
  const rate = rateOn(rates, currency, businessDate);
  return rate ? new Big(amountMajor).times(rate.rate) : null;
}
