import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { loadFxRates } from '../../src/config/fx-config';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/domain/errors';
import {
  convertToReporting,
  parseFxRatesCsv,
  rateOn,
  type FxRates,
} from '../../src/domain/fx-rates';

const FILE = 'rates.csv';

function parse(text: string, reporting = 'USD'): FxRates {
  return parseFxRatesCsv(text, FILE, reporting);
}

function parseError(text: string, reporting = 'USD'): string {
  try {
    parse(text, reporting);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const SAMPLE = [
  '# illustrative rates',
  'currency,rate,as_of',
  'EUR,1.0800,2025-09-01',
  'EUR,1.1700,2025-09-30',
  'EUR,1.2000,2025-10-01',
  'KWD,3.2700,2025-09-29',
  'JPY,0.0067,2025-09-30',
  '',
].join('\n');

describe('parseFxRatesCsv', () => {
  it('reads every row as an exact decimal, grouped by currency and sorted by as_of', () => {
    const rates = parse(SAMPLE);
    expect(rates.reportingCurrency).toBe('USD');
    expect(rates.source).toBe(FILE);
    expect(
      [...rates.byCurrency].map(([currency, list]) => [
        currency,
        list.map((r) => [r.rate.toString(), r.asOf, r.line]),
      ]),
    ).toEqual([
      [
        'EUR',
        [
          ['1.08', '2025-09-01', 3],
          ['1.17', '2025-09-30', 4],
          ['1.2', '2025-10-01', 5],
        ],
      ],
      ['KWD', [['3.27', '2025-09-29', 6]]],
      ['JPY', [['0.0067', '2025-09-30', 7]]],
    ]);
  });

  it('accepts CRLF line ends, surrounding spaces and lower-case codes', () => {
    const rates = parse('currency,rate,as_of\r\n eur , 1.17 ,2025-09-30\r\n');
    expect(rateOn(rates, 'EUR', '2025-09-30')).toEqual({
      currency: 'EUR',
      rate: new Big('1.17'),
      asOf: '2025-09-30',
      line: 2,
    });
  });

  it.each([
    [
      'a missing header',
      'EUR,1.1,2025-09-30\n',
      'rates.csv line 1: the header must be "currency,rate,as_of", got "EUR,1.1,2025-09-30"',
    ],
    ['an empty file', '', 'rates.csv line 1: the header must be "currency,rate,as_of", got ""'],
    [
      'an unknown currency',
      'currency,rate,as_of\nXYZ,1.1,2025-09-30\n',
      'rates.csv line 2 field currency: not an ISO 4217 currency code, got "XYZ"',
    ],
    [
      'a float-looking rate',
      'currency,rate,as_of\nEUR,1e3,2025-09-30\n',
      'rates.csv line 2 field rate: must be a positive decimal number such as 1.0825, got "1e3"',
    ],
    [
      'a zero rate',
      'currency,rate,as_of\nEUR,0.000,2025-09-30\n',
      'rates.csv line 2 field rate: must be a positive decimal number such as 1.0825, got "0.000"',
    ],
    [
      'a negative rate',
      'currency,rate,as_of\nEUR,-1.1,2025-09-30\n',
      'rates.csv line 2 field rate: must be a positive decimal number such as 1.0825, got "-1.1"',
    ],
    [
      'an impossible date',
      'currency,rate,as_of\nEUR,1.1,2025-02-30\n',
      'rates.csv line 2 field as_of: must be a date YYYY-MM-DD, got "2025-02-30"',
    ],
    [
      'a missing field',
      'currency,rate,as_of\nEUR,1.1\n',
      'rates.csv line 2: expected 3 fields (currency,rate,as_of), got 2',
    ],
    [
      'a quoted field',
      'currency,rate,as_of\n"EUR",1.1,2025-09-30\n',
      'rates.csv line 2 field currency: not an ISO 4217 currency code, got "\\"EUR\\""',
    ],
    [
      'a repeated (currency, as_of)',
      'currency,rate,as_of\nEUR,1.1,2025-09-30\nEUR,1.2,2025-09-30\n',
      'rates.csv line 3 field as_of: EUR already has a rate for 2025-09-30 (line 2)',
    ],
    [
      'a rate other than 1 for the reporting currency',
      'currency,rate,as_of\nUSD,1.01,2025-09-30\n',
      'rates.csv line 2 field rate: the reporting currency USD is worth exactly 1 of itself, got "1.01"',
    ],
  ])('rejects %s with one line naming file, line and field', (_label, text, message) => {
    expect(parseError(text)).toBe(`RECON_FX_RATES_FILE ${message}`);
  });

  it('rejects an unknown reporting currency', () => {
    expect(parseError('currency,rate,as_of\n', 'usdollar')).toBe(
      'RECON_REPORTING_CURRENCY must be an ISO 4217 currency code such as USD or EUR, got "usdollar"',
    );
  });
});

describe('rateOn', () => {
  const rates = parse(SAMPLE);

  it('applies the latest as_of on or before the business date', () => {
    expect(rateOn(rates, 'EUR', '2025-09-29')?.asOf).toBe('2025-09-01');
    expect(rateOn(rates, 'EUR', '2025-09-30')?.asOf).toBe('2025-09-30');
    expect(rateOn(rates, 'EUR', '2025-10-05')?.asOf).toBe('2025-10-01');
    expect(rateOn(rates, 'KWD', '2025-09-30')?.asOf).toBe('2025-09-29');
  });

  it('has no rate before the first as_of or for a currency not in the file', () => {
    expect(rateOn(rates, 'EUR', '2025-08-31')).toBeNull();
    expect(rateOn(rates, 'GBP', '2025-09-30')).toBeNull();
  });

  it('gives the reporting currency itself the rate 1', () => {
    expect(rateOn(rates, 'USD', '2000-01-01')).toEqual({
      currency: 'USD',
      rate: new Big(1),
      asOf: null,
      line: null,
    });
  });
});

describe('convertToReporting', () => {
  const rates = parse(SAMPLE);

  it('converts exactly, in major units of the reporting currency', () => {
    // 156.280 KWD × 3.27 = 511.0356 USD; 999 KWD × 3.27 = 3266.73 USD; 1000 JPY × 0.0067 = 6.7.
    expect(convertToReporting(rates, 'KWD', '156.280', '2025-09-30')?.toString()).toBe('511.0356');
    expect(convertToReporting(rates, 'KWD', '999', '2025-09-30')?.toString()).toBe('3266.73');
    expect(convertToReporting(rates, 'JPY', '1000', '2025-09-30')?.toString()).toBe('6.7');
    expect(convertToReporting(rates, 'USD', '12.34', '2025-09-30')?.toString()).toBe('12.34');
  });

  it('returns null without a rate for the currency on that date', () => {
    expect(convertToReporting(rates, 'GBP', '10', '2025-09-30')).toBeNull();
  });
});

describe('loadFxRates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recon-fx-'));
  const good = join(dir, 'good.csv');
  const bad = join(dir, 'bad.csv');
  writeFileSync(good, 'currency,rate,as_of\nEUR,1.17,2025-09-30\n');
  writeFileSync(bad, 'currency,rate,as_of\nEUR,1.17,2025-09-30\nKWD,3,27,2025-09-30\n');

  it('is off when neither setting is given', () => {
    expect(loadFxRates({})).toBeNull();
    expect(loadFxRates({ RECON_REPORTING_CURRENCY: '', RECON_FX_RATES_FILE: '' })).toBeNull();
  });

  it('reads the file when both are given', () => {
    const rates = loadFxRates({ RECON_REPORTING_CURRENCY: 'usd', RECON_FX_RATES_FILE: good });
    expect(rates?.reportingCurrency).toBe('USD');
    expect(rates && rateOn(rates, 'EUR', '2025-09-30')?.rate.toString()).toBe('1.17');
  });

  it.each([
    [
      { RECON_REPORTING_CURRENCY: 'USD' },
      'RECON_REPORTING_CURRENCY needs RECON_FX_RATES_FILE, a CSV file currency,rate,as_of',
    ],
    [
      { RECON_FX_RATES_FILE: good },
      'RECON_FX_RATES_FILE is set but RECON_REPORTING_CURRENCY is not',
    ],
    [
      { RECON_REPORTING_CURRENCY: 'USD', RECON_FX_RATES_FILE: bad },
      `RECON_FX_RATES_FILE ${bad} line 3: expected 3 fields (currency,rate,as_of), got 4`,
    ],
  ])('rejects %j with a ConfigError', (env, message) => {
    expect(() => loadFxRates(env)).toThrow(new ConfigError(message));
  });

  it('names a file that cannot be read', () => {
    const missing = join(dir, 'missing.csv');
    expect(() =>
      loadFxRates({ RECON_REPORTING_CURRENCY: 'USD', RECON_FX_RATES_FILE: missing }),
    ).toThrow(`RECON_FX_RATES_FILE ${missing} cannot be read: no such file`);
  });

  it('reads the bundled sample file data/fx/rates.csv', () => {
    const rates = loadFxRates({
      RECON_REPORTING_CURRENCY: 'USD',
      RECON_FX_RATES_FILE: join(__dirname, '..', '..', 'data', 'fx', 'rates.csv'),
    });
    expect(
      rates && ['EUR', 'JPY', 'KWD'].map((c) => rateOn(rates, c, '2025-09-30')?.rate.toString()),
    ).toEqual(['1.17', '0.0067', '3.27']);
  });
});

describe('loadConfig', () => {
  it('validates the rates file at start, with every other setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-fx-config-'));
    const file = join(dir, 'rates.csv');
    writeFileSync(file, 'currency,rate,as_of\nEUR,1,17,2025-09-30\n');
    expect(() =>
      loadConfig({ RECON_REPORTING_CURRENCY: 'USD', RECON_FX_RATES_FILE: file }),
    ).toThrow(
      new ConfigError(
        `RECON_FX_RATES_FILE ${file} line 2: expected 3 fields (currency,rate,as_of), got 4`,
      ),
    );
    expect(loadConfig({}).fx).toBeNull();
  });
});
