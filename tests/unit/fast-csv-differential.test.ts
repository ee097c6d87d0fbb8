import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CsvError } from 'csv-parse';
import {
  CsvTextError,
  parseCsvChunks,
  type CsvFieldBatch,
  type CsvParserOptions,
  type TextFault,
} from '../../src/sources/csv-records';
import type { InputEncoding } from '../../src/sources/text-encoding';
import { LegacyLineNumberingParser } from '../helpers/legacy-csv-parser';

/**
 * Differential test of the CSV fast path (issue #16): the reader with the fast path, and with
 * every run handed to csv-parse, against the reader as it was before (one csv-parse parser for
 * the whole input, tests/helpers/legacy-csv-parser.ts): identical records, line numbers,
 * invalid-row findings (`TextFault`s) and errors, for any split of the input into chunks.
 */

interface Parsed {
  readonly records: { fields: string[]; line: number; faults?: TextFault[] }[];
  readonly error?: { name: string; code?: string; message: string; line?: number };
}

async function collect(batches: AsyncIterable<CsvFieldBatch>): Promise<Parsed> {
  const records: Parsed['records'] = [];
  try {
    for await (const batch of batches) {
      let at = 0;
      const first = records.length;
      for (let r = 0; r < batch.length; r++) {
        const end = at + (batch.counts[r] as number);
        records.push({ fields: batch.fields.slice(at, end), line: batch.lines[r] as number });
        at = end;
      }
      for (const fault of batch.faults) {
        const record = records[first + fault.record] as Parsed['records'][number];
        (record.faults ??= []).push({ ...fault, record: 0 });
      }
    }
    return { records };
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      return {
        records,
        error: { name: 'CsvError', code: error.code, message: error.message, line },
      };
    }
    if (error instanceof CsvTextError) {
      return { records, error: { name: 'CsvTextError', message: error.message, line: error.line } };
    }
    throw error;
  }
}

function legacy(chunks: readonly Buffer[], encoding: InputEncoding): Promise<Parsed> {
  const parser = new LegacyLineNumberingParser(encoding);
  for (const chunk of chunks) {
    if (parser.destroyed) break;
    parser.write(chunk);
  }
  if (!parser.destroyed) parser.end();
  return collect(parser as AsyncIterable<CsvFieldBatch>);
}

/** `bytes` cut at `cuts` (any numbers; taken modulo the length, sorted). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const at = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0);
  at.sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of at) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Every `size` bytes. */
function every(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks.length > 0 ? chunks : [bytes];
}

/** What the fast-path variants did, over the whole file (checked: the fast path did run). */
const stats = { plainRecords: 0, csvRuns: 0 };

const VARIANTS: readonly CsvParserOptions[] = [
  { fastPath: true, stats },
  { fastPath: true, minPlainRunBytes: 0, stats },
  { fastPath: true, minPlainRunBytes: 16, stats },
  { fastPath: false },
];

afterAll(() => {
  // Most records of the corpora went through the fast path, the rest through csv-parse.
  expect(stats.plainRecords).toBeGreaterThan(5_000);
  expect(stats.csvRuns).toBeGreaterThan(2_000);
});

/** Asserts that every variant of the reader gives what the old reader gives, for `chunks`. */
async function expectSameAsLegacy(
  chunks: readonly Buffer[],
  encoding: InputEncoding = 'utf-8',
): Promise<Parsed> {
  const expected = await legacy(chunks, encoding);
  for (const options of VARIANTS) {
    const found = await collect(parseCsvChunks(chunks, encoding, options));
    if (expected.error === undefined) {
      expect({ options, ...found }).toEqual({ options, ...expected });
    } else {
      // A rejected file is rejected as a whole: the same error; the records yielded before it
      // may stop at a different batch (the old reader raised some errors a chunk earlier).
      const shared = Math.min(found.records.length, expected.records.length);
      expect({ options, error: found.error, records: found.records.slice(0, shared) }).toEqual({
        options,
        error: expected.error,
        records: expected.records.slice(0, shared),
      });
    }
  }
  return expected;
}

const CHUNK_SIZES = [1, 2, 3, 7, 16, 61, 1000];

describe('the CSV fast path against csv-parse alone', () => {
  const spectrum = join(__dirname, '../fixtures/csv-spectrum/csvs');
  const files = readdirSync(spectrum).filter((name) => name.endsWith('.csv'));

  it.each(files)(
    'csv-spectrum %s: same records, lines and errors for every chunking',
    async (name) => {
      const bytes = readFileSync(join(spectrum, name));
      const expected = await expectSameAsLegacy([bytes]);
      for (const size of CHUNK_SIZES) await expectSameAsLegacy(every(bytes, size));
      if (name === 'location_coordinates.csv') {
        expect(expected.error).toEqual({
          name: 'CsvError',
          code: 'INVALID_OPENING_QUOTE',
          message: expect.stringContaining('at line 2') as string,
          line: 2,
        });
      } else expect(expected.error).toBeUndefined();
    },
  );

  const naughty = readFileSync(join(__dirname, '../fixtures/naughty-strings/blns.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  const cell = (value: string): string =>
    /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('naughty strings as quoted fields (%s): same records and lines', async (_, eol) => {
    const text =
      `id,description,amount${eol}` +
      naughty.map((value, index) => `n${index},${cell(value)},${index}.00${eol}`).join('') +
      `${eol}last,,0`;
    const bytes = Buffer.from(text, 'utf8');
    const expected = await expectSameAsLegacy(every(bytes, 257));
    await expectSameAsLegacy(every(bytes, 4099));
    expect(expected.records.length).toBe(naughty.length + 2);
    expect(expected.error).toBeUndefined();
  });

  it('naughty strings written raw, one file each: same records, lines and errors', async () => {
    for (const value of naughty) {
      const bytes = Buffer.from(`a,b\n1,2\n3,${value}\n4,5\n${value}\n6,7\n`, 'utf8');
      await expectSameAsLegacy(every(bytes, 5));
    }
  });

  it.each<InputEncoding>(['utf-8', 'latin1', 'windows-1252'])(
    'files with bytes that are not text (%s): same faults, same header rejection',
    async (encoding) => {
      const rows = Buffer.concat([
        Buffer.from('id,description\n1,caf'),
        Buffer.from([0xe9]),
        Buffer.from('\n2,ok\n3,a'),
        Buffer.from([0x00]),
        Buffer.from('b\n4,"x'),
        Buffer.from([0x80, 0x93]),
        Buffer.from('"\n5,\u20ac\n6,'),
        Buffer.from([0xe2, 0x82]),
        Buffer.from('\n'),
      ]);
      for (const size of CHUNK_SIZES) await expectSameAsLegacy(every(rows, size), encoding);
      const badHeader = Buffer.concat([Buffer.from('id,de'), Buffer.from([0xff]), rows]);
      for (const size of [1, 4, 64]) await expectSameAsLegacy(every(badHeader, size), encoding);
    },
  );
});

/** A field: plain text, or quoted (with quotes, commas, line breaks), as bytes. */
const TEXT = ['a', 'b', 'Z', '0', ' ', 'é', '€', '😀', '\u00a0', '\ufeff'];
const SPECIAL = [',', '"', '\r', '\n', '\r\n'];
const BAD_BYTES = [0x22, 0x0d, 0x0a, 0x2c, 0xff, 0x00, 0xc3, 0x80, 0xe2, 0x82, 0xef, 0xbb, 0xbf];

const plainField = fc.array(fc.constantFrom(...TEXT), { maxLength: 6 }).map((c) => c.join(''));
const quotedField = fc
  .array(fc.constantFrom(...TEXT, ...SPECIAL), { maxLength: 8 })
  .map((c) => `"${c.join('').replace(/"/g, '""')}"`);
const field = fc.oneof({ arbitrary: plainField, weight: 6 }, { arbitrary: quotedField, weight: 1 });

const file = fc.record({
  bom: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
  mixedEol: fc.constantFrom(false, false, false, true),
  records: fc.array(
    fc.oneof(
      { arbitrary: fc.array(field, { minLength: 1, maxLength: 5 }), weight: 8 },
      { arbitrary: fc.constant([] as string[]), weight: 1 }, // an empty line
    ),
    { maxLength: 40 },
  ),
  trailingEol: fc.boolean(),
  corruptions: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...BAD_BYTES)), { maxLength: 2 }),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  encoding: fc.constantFrom<InputEncoding>('utf-8', 'utf-8', 'utf-8', 'latin1', 'windows-1252'),
});

describe('the fault of a field before a bare LF in a CRLF file', () => {
  // Found by the generated-files property below (seed 1294802168): the field's start was lost when
  // a line break that csv-parse keeps as data (a bare LF in a CRLF file) reset the field list, so
  // the finding's value became the whole byte range of the record, which differs by the blank
  // lines before it between the two readers.
  const bytes = Buffer.concat([
    Buffer.from('aa,b\r\n\r\n"', 'utf8'),
    Buffer.from([0xff]),
    Buffer.from('","",', 'utf8'),
    Buffer.from([0xbf]),
    Buffer.from('\u00e9x\na,aaa\r\n', 'utf8'),
  ]);

  it("is the field's own bytes, on both readers and for every chunking", async () => {
    const expected = [
      { record: 0, field: 0, kind: 'invalid_utf8', offset: 9, bytes: 'FF', value: '\\xFF' },
      { record: 0, field: 2, kind: 'invalid_utf8', offset: 15, bytes: 'BF', value: '\\xBF\u00e9x' },
    ];
    for (const size of CHUNK_SIZES) {
      const found = await collect(parseCsvChunks(every(bytes, size), 'utf-8', {}));
      expect(found.records[1]?.faults).toEqual(expected);
      expect((await legacy(every(bytes, size), 'utf-8')).records[1]?.faults).toEqual(expected);
    }
  });
});

describe('a UTF-8 byte order mark broken by a line break, then an unclosed quote', () => {
  // Found by the generated-files property below (seed -1212679295): EF BB CR " BF. The header
  // (line 1, the bytes EF BB) is not valid UTF-8, and the quote opened on line 2 is never
  // closed. The reader rejects the file for its first problem, the header; the reference used
  // to report the later one, because it let csv-parse's end-of-file error win over a failure it
  // had already recorded (it does not while the file is being read).
  const bytes = Buffer.from([0xef, 0xbb, 0x0d, 0x22, 0xbf]);

  it('is rejected for its header, on both readers and for every chunking', async () => {
    const expected = {
      name: 'CsvTextError',
      message:
        'the header is not valid UTF-8 (byte 0xEF at byte offset 0): is it a CSV text file? For a latin1 or windows-1252 export, use --encoding',
      line: 1,
    };
    for (const size of CHUNK_SIZES) {
      expect((await collect(parseCsvChunks(every(bytes, size), 'utf-8', {}))).error).toEqual(
        expected,
      );
      expect((await legacy(every(bytes, size), 'utf-8')).error).toEqual(expected);
    }
  });
});

describe('the CSV fast path on generated files', () => {
  it('gives the same records, lines, faults and errors as csv-parse alone', async () => {
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        const eols = ['\n', '\r\n', '\r'];
        const lines = f.records.map(
          (fields, index) =>
            fields.join(',') + (f.mixedEol && index % 3 === 2 ? eols[index % 2] : f.eol),
        );
        let bytes = Buffer.from(
          lines.join('').slice(0, f.trailingEol ? undefined : -f.eol.length || undefined),
          f.encoding === 'utf-8' ? 'utf8' : 'latin1',
        );
        if (f.bom) bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
        for (const [at, byte] of f.corruptions) {
          if (bytes.length === 0) break;
          const p = at % bytes.length;
          bytes = Buffer.concat([bytes.subarray(0, p), Buffer.from([byte]), bytes.subarray(p)]);
        }
        await expectSameAsLegacy(split(bytes, f.cuts), f.encoding);
      }),
      // A fixed seed, so that CI is deterministic: with random seeds this property found two
      // rare differences, both cases above now. FC_SEED=<n> explores other seeds.
      { numRuns: 500, seed: Number(process.env.FC_SEED ?? 20261201) },
    );
  });
});
