import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { quotedCsvRows } from '../../src/reports/quoted-csv';

/** Texts a report cell may hold: empty, quotes, separators, line breaks, BOM, multi-byte. */
const cellArb = fc.oneof(
  fc.constantFrom(
    '',
    '"',
    '""',
    ',',
    '\n',
    '\r\n',
    '\r',
    ' ',
    '\uFEFF',
    "'=1",
    '=HYPERLINK("x")',
    '-1.50',
    'ü€😀',
  ),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', 'a', ' ', '\t', '\\') }),
);

describe('quotedCsvRows', () => {
  it('writes exactly what csv-stringify writes with { quoted: true }, for any rows of strings', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellArb, { maxLength: 20 }), { maxLength: 30 }), (rows) => {
        expect(quotedCsvRows(rows)).toBe(stringify(rows, { quoted: true }));
      }),
      { numRuns: 500 },
    );
  });

  it('quotes non-empty fields, doubles quotes, leaves empty fields empty and ends each row', () => {
    expect(quotedCsvRows([['a"b', '', 'x,y'], ['']])).toBe('"a""b",,"x,y"\n\n');
    expect(quotedCsvRows([])).toBe('');
  });
});
