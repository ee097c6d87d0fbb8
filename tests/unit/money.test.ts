import fc from 'fast-check';
import {
  parseMinorBytes,
  parseMinorOrRejection,
  addToTotals,
  formatMinor,
  formatMoney,
  parseDecimalToMinor,
  totalsToDecimalStrings,
  type CurrencyTotals,
} from '../../src/domain/money';
import { ISO4217_EXPONENTS } from '../../src/domain/iso4217-table';
import { MAX_AMOUNT_MINOR } from '../../src/domain/input-limits';

describe('parseDecimalToMinor', () => {
  describe('converts major-unit decimals to minor units for every ISO exponent', () => {
    it.each([
      ['1500', 0, 1500n],
      ['0', 0, 0n],
      ['12.34', 2, 1234n],
      ['12', 2, 1200n],
      ['12.3', 2, 1230n],
      ['0.01', 2, 1n],
      ['1.234', 3, 1234n],
      ['0.001', 3, 1n],
      ['1.2345', 4, 12345n],
      ['0.0001', 4, 1n],
      ['7', 4, 70000n],
    ])('parses %p with exponent %p as %p', (text, exponent, expected) => {
      expect(parseDecimalToMinor(text, exponent)).toEqual({ ok: true, minor: expected });
    });
  });

  it('parses refunds (negative amounts) to negative minor units', () => {
    expect(parseDecimalToMinor('-5.00', 2)).toEqual({ ok: true, minor: -500n });
    expect(parseDecimalToMinor('-0.05', 2)).toEqual({ ok: true, minor: -5n });
    expect(parseDecimalToMinor('-1500', 0)).toEqual({ ok: true, minor: -1500n });
    expect(parseDecimalToMinor('-0.001', 3)).toEqual({ ok: true, minor: -1n });
  });

  it('accepts trailing zeros beyond the exponent', () => {
    expect(parseDecimalToMinor('1.50', 1)).toEqual({ ok: true, minor: 15n });
    expect(parseDecimalToMinor('12.3400', 2)).toEqual({ ok: true, minor: 1234n });
    expect(parseDecimalToMinor('1500.000', 0)).toEqual({ ok: true, minor: 1500n });
    expect(parseDecimalToMinor('1.0', 0)).toEqual({ ok: true, minor: 1n });
  });

  it('accepts leading zeros in the whole part', () => {
    expect(parseDecimalToMinor('007.10', 2)).toEqual({ ok: true, minor: 710n });
  });

  it('rejects an empty string as empty', () => {
    expect(parseDecimalToMinor('', 2)).toEqual({ ok: false, reason: 'empty' });
  });

  it('rejects an amount with more decimals than the currency allows', () => {
    expect(parseDecimalToMinor('1.5', 0)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimalToMinor('12.345', 2)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimalToMinor('1.2341', 3)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimalToMinor('0.00001', 4)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimalToMinor('-0.001', 2)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimalToMinor('1.51', 1)).toEqual({ ok: false, reason: 'too_many_decimals' });
  });

  it.each([
    ['1e3'],
    ['1E3'],
    ['1.5e2'],
    ['1,000.00'],
    ['1.000,00'],
    ['1 000'],
    ['NaN'],
    ['Infinity'],
    ['-Infinity'],
    ['+1.00'],
    [' 1.00'],
    ['1.00 '],
    ['1. 00'],
    ['- 1'],
    ['.5'],
    ['5.'],
    ['-'],
    ['.'],
    ['--1'],
    ['-+1'],
    ['0x1A'],
    ['0b101'],
    ['1.2.3'],
    ['$12.00'],
    ['12.00\n'],
    ['١٢'], // Arabic-Indic digits are not ASCII digits
  ])('rejects %p as not a plain decimal', (text) => {
    expect(parseDecimalToMinor(text, 2)).toEqual({ ok: false, reason: 'not_a_decimal' });
  });

  it('rejects amounts beyond 18 digits of minor units as out of range, either sign', () => {
    expect(parseDecimalToMinor('9999999999999999.99', 2)).toEqual({
      ok: true,
      minor: 999999999999999999n,
    });
    expect(parseDecimalToMinor('-9999999999999999.99', 2)).toEqual({
      ok: true,
      minor: -999999999999999999n,
    });
    expect(parseDecimalToMinor('10000000000000000.00', 2)).toEqual({
      ok: false,
      reason: 'out_of_range',
    });
    expect(parseDecimalToMinor('-92233720368547758.08', 2)).toEqual({
      ok: false,
      reason: 'out_of_range',
    });
    expect(parseDecimalToMinor('-123456789012345678901234567890.1234', 4)).toEqual({
      ok: false,
      reason: 'out_of_range',
    });
    expect(parseDecimalToMinor('0000000000000000000000000001.00', 2)).toEqual({
      ok: true,
      minor: 100n,
    });
  });

  it('keeps values beyond 2^53 exact', () => {
    expect(parseDecimalToMinor('90071992547409.93', 2)).toEqual({
      ok: true,
      minor: 9007199254740993n,
    });
    expect(parseDecimalToMinor('-12345678901234.5678', 4)).toEqual({
      ok: true,
      minor: -123456789012345678n,
    });
    expect(parseDecimalToMinor('9007199254740993', 0)).toEqual({
      ok: true,
      minor: 9007199254740993n,
    });
  });
});

describe('formatMinor', () => {
  it.each([
    [1234n, 2, '12.34'],
    [-5n, 2, '-0.05'],
    [5n, 2, '0.05'],
    [0n, 2, '0.00'],
    [1500n, 0, '1500'],
    [-1500n, 0, '-1500'],
    [0n, 0, '0'],
    [1n, 3, '0.001'],
    [-1234n, 3, '-1.234'],
    [12345n, 4, '1.2345'],
    [1n, 4, '0.0001'],
    [9007199254740993n, 2, '90071992547409.93'],
  ])('formats %p with exponent %p as %p', (minor, exponent, expected) => {
    expect(formatMinor(minor, exponent)).toBe(expected);
  });

  it('formats Money in its currency exponent', () => {
    expect(formatMoney({ minor: 1234n, currency: 'USD' })).toBe('12.34');
    expect(formatMoney({ minor: 1234n, currency: 'JPY' })).toBe('1234');
    expect(formatMoney({ minor: 1234n, currency: 'KWD' })).toBe('1.234');
    expect(formatMoney({ minor: 1234n, currency: 'CLF' })).toBe('0.1234');
  });
});

describe('currency totals', () => {
  it('keeps one total per currency and renders them sorted by code', () => {
    const totals: CurrencyTotals = new Map();
    addToTotals(totals, 'USD', 150n);
    addToTotals(totals, 'JPY', 1500n);
    addToTotals(totals, 'USD', -50n);
    addToTotals(totals, 'EUR', 1n);
    expect([...totals.entries()]).toEqual([
      ['USD', 100n],
      ['JPY', 1500n],
      ['EUR', 1n],
    ]);
    expect(Object.entries(totalsToDecimalStrings(totals))).toEqual([
      ['EUR', '0.01'],
      ['JPY', '1500'],
      ['USD', '1.00'],
    ]);
  });
});

describe('parse/format round trip (property)', () => {
  const codes = Object.keys(ISO4217_EXPONENTS);

  it('parse(formatMinor(x, exp), exp) == x for every current currency and any amount within the limit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...codes),
        fc.bigInt({ min: -MAX_AMOUNT_MINOR, max: MAX_AMOUNT_MINOR }),
        (code, minor) => {
          const exponent = ISO4217_EXPONENTS[code] as number;
          const text = formatMinor(minor, exponent);
          expect(parseDecimalToMinor(text, exponent)).toEqual({ ok: true, minor });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips every current currency code with small values and the limits, and rejects one beyond them', () => {
    for (const code of codes) {
      const exponent = ISO4217_EXPONENTS[code] as number;
      for (const minor of [0n, 1n, -1n, 99n, -100n, MAX_AMOUNT_MINOR, -MAX_AMOUNT_MINOR]) {
        expect(parseDecimalToMinor(formatMinor(minor, exponent), exponent)).toEqual({
          ok: true,
          minor,
        });
      }
      for (const minor of [MAX_AMOUNT_MINOR + 1n, -MAX_AMOUNT_MINOR - 1n, 2n ** 63n, 2n ** 64n]) {
        expect(parseDecimalToMinor(formatMinor(minor, exponent), exponent)).toEqual({
          ok: false,
          reason: 'out_of_range',
        });
      }
    }
  });

  it('formatMinor(parse(t)) restores canonical decimal text with exactly `exponent` decimals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        fc.stringMatching(/^[1-9]\d{0,13}$/),
        fc.stringMatching(/^\d{0,4}$/),
        (exponent, negative, whole, fractionSeed) => {
          const fraction = fractionSeed.slice(0, exponent).padEnd(exponent, '0');
          const text = `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
          const parsed = parseDecimalToMinor(text, exponent);
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(formatMinor(parsed.minor, exponent)).toBe(text);
        },
      ),
    );
  });
});

describe('parseMinorBytes', () => {
  it('gives parseMinorOrRejection of the text of the bytes, for any decimal-like text', () => {
    const text = fc.oneof(
      fc.stringMatching(/^-?[0-9]{0,20}(\.[0-9]{0,6})?$/),
      fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', '+', 'e', ' ', '１', 'é') }),
      fc.string(),
    );
    fc.assert(
      fc.property(
        text,
        fc.constantFrom(0, 2, 3, 4),
        fc.string({ maxLength: 3 }),
        (t, exponent, pad) => {
          // The amount sits inside a larger buffer, as a field of a record does.
          const bytes = Buffer.from(`${pad},${t},${pad}`, 'utf8');
          const start = Buffer.byteLength(`${pad},`, 'utf8');
          const end = start + Buffer.byteLength(t, 'utf8');
          expect(parseMinorBytes(bytes, start, end, exponent)).toEqual(
            parseMinorOrRejection(t, exponent),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('parses short amounts exactly, negative zero as 0', () => {
    const at = (t: string, e: number) => parseMinorBytes(Buffer.from(t), 0, t.length, e);
    expect([at('1951.37', 2), at('-0', 2), at('-0.05', 2), at('1500', 0), at('0.001', 3)]).toEqual([
      195137n,
      0n,
      -5n,
      1500n,
      1n,
    ]);
    expect([at('', 2), at('-', 2), at('1.', 2), at('1.234', 2), at('1e5', 2)]).toEqual([
      'empty',
      'not_a_decimal',
      'not_a_decimal',
      'too_many_decimals',
      'not_a_decimal',
    ]);
  });
});
