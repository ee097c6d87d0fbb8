import fc from 'fast-check';
import { chunkCopyRows, CopyCsvWriter, csvField } from '../../src/store/copy-csv';
import type { SqlValue } from '../../src/store/database';

/** The row encoder written out as a string (what `chunkCopyRows` replaced): the reference. */
function encodeCopyCsvRow(values: readonly SqlValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    const value = values[i];
    if (value === null || value === undefined) continue;
    const text = String(value);
    line += `"${text.includes('"') ? text.replace(/"/g, '""') : text}"`;
  }
  return `${line}\n`;
}

const valueArbitrary: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', '"', 'a,b', 'line\nbreak', 'cr\r', '\\.', 'Ω≈ç√ 𝄞'),
  fc.integer(),
  fc.boolean(),
);

const text = (chunks: Iterable<Buffer>): string => Buffer.concat([...chunks]).toString('utf8');

describe('COPY CSV encoding', () => {
  it('chunkCopyRows writes exactly what encodeCopyCsvRow gives, row after row', () => {
    fc.assert(
      fc.property(fc.array(fc.array(valueArbitrary, { minLength: 1, maxLength: 6 })), (rows) => {
        expect(text(chunkCopyRows(rows, (row) => row))).toBe(
          rows.map((row) => encodeCopyCsvRow(row)).join(''),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('cuts chunks of about 1 MiB at row boundaries only', () => {
    const rows = Array.from({ length: 30_000 }, (_, n) => [`id_${n}`, 'x'.repeat(60), n]);
    const chunks = [...chunkCopyRows(rows, (row) => row)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
    expect(chunks[0]?.length).toBeGreaterThanOrEqual(1 << 20);
    expect(Buffer.concat(chunks).toString('utf8').split('\n')).toHaveLength(30_001);
  });

  it('quotes byte fields only when they are empty or hold a quote, comma, line break or backslash', () => {
    const field = (value: string): string => {
      const out = new CopyCsvWriter();
      const bytes = Buffer.from(`xx${value}yy`);
      out
        .bytes(bytes, 2, bytes.length - 2)
        .null()
        .plain('7');
      out.endRow();
      return (out.finish() ?? Buffer.alloc(0)).toString('utf8');
    };
    expect(field('plain')).toBe('plain,,7\n');
    expect(field('')).toBe('"",,7\n');
    expect(field('say "hi"')).toBe('"say ""hi""",,7\n');
    expect(field('a,b')).toBe('"a,b",,7\n');
    expect(field('two\r\nlines')).toBe('"two\r\nlines",,7\n');
    expect(field('\\.')).toBe('"\\.",,7\n');
    expect(field('Ω≈ç√')).toBe('Ω≈ç√,,7\n');
    // The same rules as the string form used for dictionary entries.
    for (const value of ['plain', '', 'say "hi"', 'a,b', '\\.', 'Ω≈ç√']) {
      expect(field(value)).toBe(`${csvField(value)},,7\n`);
    }
    expect(csvField(null)).toBe('');
  });
});
