import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  currencyExponent,
  ISO4217_TABLE_VERSION,
  normalizeCurrency,
} from '../../src/domain/currency';
import { ISO4217_EXPONENTS } from '../../src/domain/iso4217-table';

const FIXTURE = join(__dirname, '..', 'fixtures', 'iso4217', 'codes-all.csv');

interface IsoRow {
  Entity: string;
  Currency: string;
  AlphabeticCode: string;
  NumericCode: string;
  MinorUnit: string;
  WithdrawalDate: string;
}

function loadFixture(): IsoRow[] {
  return parse<IsoRow>(readFileSync(FIXTURE, 'utf8'), { columns: true, bom: true });
}

describe('normalizeCurrency', () => {
  it('upper-cases and trims a current code', () => {
    expect(normalizeCurrency('usd')).toBe('USD');
    expect(normalizeCurrency('  Jpy \t')).toBe('JPY');
    expect(normalizeCurrency('KWD')).toBe('KWD');
    expect(normalizeCurrency('eUr')).toBe('EUR');
  });

  it.each([
    ['unknown code', 'ABC'],
    ['empty string', ''],
    ['blank string', '   '],
    ['withdrawn DEM', 'DEM'],
    ['withdrawn HRK (Croatia joined the euro)', 'HRK'],
    ['withdrawn ANG (replaced by XCG)', 'ANG'],
    ['withdrawn CUC', 'CUC'],
    ['gold XAU (minor unit "-")', 'XAU'],
    ['special drawing right XDR', 'XDR'],
    ['no currency XXX', 'XXX'],
    ['testing code XTS', 'XTS'],
    ['too long', 'USDD'],
    ['numeric code', '840'],
    ['inherited object property', 'constructor'],
    ['prototype accessor', '__proto__'],
  ])('rejects %s (%p)', (_label, raw) => {
    expect(normalizeCurrency(raw)).toBeUndefined();
  });
});

describe('currencyExponent', () => {
  it.each([
    ['JPY', 0],
    ['USD', 2],
    ['EUR', 2],
    ['KWD', 3],
    ['BHD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['UGX', 0],
    ['XCG', 2],
    ['ISK', 0],
  ])('returns the ISO 4217 exponent of %s as %p', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it('uses the ISO exponent for a source without overrides', () => {
    expect(currencyExponent('JPY', 'stripe')).toBe(0);
    expect(currencyExponent('USD', 'canonical')).toBe(2);
  });

  it('throws RangeError for an unknown or withdrawn code', () => {
    expect(() => currencyExponent('XAU')).toThrow(RangeError);
    expect(() => currencyExponent('DEM')).toThrow('unknown currency code DEM');
    expect(() => currencyExponent('usd')).toThrow(RangeError);
  });

  it('throws RangeError for names of inherited object properties, like normalizeCurrency rejects them', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(normalizeCurrency(name)).toBeUndefined();
      expect(() => currencyExponent(name)).toThrow(RangeError);
    }
  });
});

describe('generated ISO 4217 table', () => {
  const rows = loadFixture();
  const current = rows.filter((row) => row.WithdrawalDate.trim() === '');

  it('reads the whole fixture (447 data rows after the header)', () => {
    expect(rows).toHaveLength(447);
  });

  it('agrees with every current fixture row that has a numeric minor unit', () => {
    const expected: Record<string, number> = {};
    for (const row of current) {
      if (!/^\d$/.test(row.MinorUnit)) continue;
      const code = row.AlphabeticCode.trim();
      const exponent = Number(row.MinorUnit);
      if (code in expected) expect(expected[code]).toBe(exponent);
      expected[code] = exponent;
    }
    const sortEntries = (record: Readonly<Record<string, number>>): [string, number][] =>
      Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sortEntries(ISO4217_EXPONENTS)).toEqual(sortEntries(expected));
  });

  it('holds exactly 165 codes', () => {
    expect(Object.keys(ISO4217_EXPONENTS)).toHaveLength(165);
  });

  it('leaves out the 13 current codes whose minor unit is "-"', () => {
    const dashCodes = [
      ...new Set(current.filter((r) => r.MinorUnit === '-').map((r) => r.AlphabeticCode)),
    ].sort();
    expect(dashCodes).toEqual([
      'XAG',
      'XAU',
      'XBA',
      'XBB',
      'XBC',
      'XBD',
      'XDR',
      'XPD',
      'XPT',
      'XSU',
      'XTS',
      'XUA',
      'XXX',
    ]);
    for (const code of dashCodes) expect(ISO4217_EXPONENTS).not.toHaveProperty(code);
  });

  it('leaves out codes that are only withdrawn', () => {
    const currentCodes = new Set(current.map((r) => r.AlphabeticCode));
    const onlyWithdrawn = rows
      .filter((r) => r.WithdrawalDate.trim() !== '' && !currentCodes.has(r.AlphabeticCode))
      .map((r) => r.AlphabeticCode);
    expect(onlyWithdrawn).toEqual(expect.arrayContaining(['ANG', 'HRK', 'DEM', 'VEF']));
    for (const code of onlyWithdrawn) expect(normalizeCurrency(code)).toBeUndefined();
  });

  it('spot-checks exponents that changed or are unusual', () => {
    expect(ISO4217_EXPONENTS.JPY).toBe(0);
    expect(ISO4217_EXPONENTS.USD).toBe(2);
    expect(ISO4217_EXPONENTS.KWD).toBe(3);
    expect(ISO4217_EXPONENTS.CLF).toBe(4);
    expect(ISO4217_EXPONENTS.UGX).toBe(0);
    expect(ISO4217_EXPONENTS.XCG).toBe(2);
  });

  it('names the upstream commit it was generated from', () => {
    expect(ISO4217_TABLE_VERSION).toBe('datasets/currency-codes@1434fbe');
  });
});
