import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../src/domain/errors';
import { readCsvRecords, type CsvRecord } from '../../src/sources/csv-records';
import { makeTempDir } from './support/temp-files';

const SPECTRUM = join(__dirname, '..', 'fixtures', 'csv-spectrum');
const temp = makeTempDir('csv-records');
afterAll(() => temp.cleanup());

async function readAll(path: string): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of readCsvRecords(path, 'test input')) records.push(record);
  return records;
}

async function readError(path: string): Promise<InputRejectedError> {
  try {
    await readAll(path);
  } catch (error) {
    expect(error).toBeInstanceOf(InputRejectedError);
    return error as InputRejectedError;
  }
  throw new Error(`expected ${path} to be rejected`);
}

function keyedByHeader(records: CsvRecord[]): Record<string, string>[] {
  const [header, ...rows] = records;
  if (!header) return [];
  return rows.map((row) =>
    Object.fromEntries(header.fields.map((name, index) => [name, row.fields[index] ?? ''])),
  );
}

describe('readCsvRecords on the csv-spectrum corpus', () => {
  const names = readdirSync(join(SPECTRUM, 'csvs'))
    .filter((file) => file.endsWith('.csv'))
    .map((file) => file.slice(0, -'.csv'.length))
    .filter((name) => name !== 'location_coordinates')
    .sort();

  it('has the 11 exact-equality cases', () => {
    expect(names).toEqual([
      'comma_in_quotes',
      'empty',
      'empty_crlf',
      'escaped_quotes',
      'json',
      'newlines',
      'newlines_crlf',
      'quotes_and_newlines',
      'simple',
      'simple_crlf',
      'utf8',
    ]);
  });

  it.each(names)('reads %s.csv as the objects in %s.json', async (name) => {
    const expected: unknown = JSON.parse(
      readFileSync(join(SPECTRUM, 'json', `${name}.json`), 'utf8'),
    );
    const records = await readAll(join(SPECTRUM, 'csvs', `${name}.csv`));
    expect(keyedByHeader(records)).toEqual(expected);
  });

  it('rejects location_coordinates.csv (bare quotes in unquoted fields) cleanly at line 2', async () => {
    // Smoke test only (see SOURCE.md): the reader is strict RFC 4180, so the unescaped `"` in
    // 37°36'37.8"N is a malformed record, reported as an InputRejectedError, not a crash.
    const path = join(SPECTRUM, 'csvs', 'location_coordinates.csv');
    const error = await readError(path);
    expect(error.input).toEqual({ location: path, line: 2 });
    expect(error.message).toBe(`test input ${path} line 2: malformed CSV (Invalid Opening Quote)`);
  });

  it('gives the physical start line of each record in newlines.csv (LF)', async () => {
    const records = await readAll(join(SPECTRUM, 'csvs', 'newlines.csv'));
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5]);
  });

  it('gives the physical start line of each record in newlines_crlf.csv (CRLF inside quotes)', async () => {
    const records = await readAll(join(SPECTRUM, 'csvs', 'newlines_crlf.csv'));
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5]);
  });
});

describe('readCsvRecords', () => {
  it('strips a UTF-8 byte order mark from the first header field', async () => {
    const path = temp.write('bom.csv', '\uFEFFtransaction_id,amount\nt1,1.00\n');
    const records = await readAll(path);
    expect(records).toEqual([
      { fields: ['transaction_id', 'amount'], line: 1 },
      { fields: ['t1', '1.00'], line: 2 },
    ]);
  });

  it('reads CRLF line endings without leaving carriage returns in fields', async () => {
    const path = temp.write('crlf.csv', 'a,b\r\n1,2\r\n3,4\r\n');
    expect(await readAll(path)).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', '4'], line: 3 },
    ]);
  });

  it('skips empty lines but keeps physical line numbers', async () => {
    const path = temp.write('empty-lines.csv', 'a,b\n\n1,2\n\n\n3,4\n\n');
    expect(await readAll(path)).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 3 },
      { fields: ['3', '4'], line: 6 },
    ]);
  });

  it('gives the start line of multi-line quoted records (LF)', async () => {
    const path = temp.write('multi.csv', 'a,b\n1,"x\ny\nz"\n2,"one\ntwo"\n3,4');
    expect(await readAll(path)).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', 'x\ny\nz'], line: 2 },
      { fields: ['2', 'one\ntwo'], line: 5 },
      { fields: ['3', '4'], line: 7 },
    ]);
  });

  it('gives the start line of multi-line quoted records (CRLF)', async () => {
    const path = temp.write('multi-crlf.csv', 'a,b\r\n1,"x\r\ny\r\nz"\r\n3,4\r\n');
    expect((await readAll(path)).map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('yields records with a different field count as they are', async () => {
    const path = temp.write('ragged.csv', 'a,b,c\n1,2\n1,2,3,4\n');
    expect((await readAll(path)).map((r) => r.fields)).toEqual([
      ['a', 'b', 'c'],
      ['1', '2'],
      ['1', '2', '3', '4'],
    ]);
  });

  it('yields nothing for an empty file', async () => {
    expect(await readAll(temp.write('empty.csv', ''))).toEqual([]);
  });

  it('rejects a missing file with an InputRejectedError naming the path', async () => {
    const path = join(temp.dir, 'does-not-exist.csv');
    const error = await readError(path);
    expect(error.message).toContain(path);
    expect(error.message).toBe(`test input not found: expected ${path}`);
    expect(error.code).toBe('INPUT_REJECTED');
    expect(error.input).toEqual({ location: path });
  });

  it('rejects a directory with an InputRejectedError saying it is not a file', async () => {
    const error = await readError(temp.dir);
    expect(error.message).toBe(`test input ${temp.dir} is not a file`);
  });

  it('rejects an unclosed quote with an InputRejectedError naming the file and line', async () => {
    const path = temp.write('unclosed.csv', 'a,b\n1,2\n3,"never closed\n4,5\n');
    const error = await readError(path);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/ line \d+: malformed CSV/);
    expect(error.input.location).toBe(path);
    expect(typeof error.input.line).toBe('number');
  });

  it('rejects a quote inside an unquoted field, naming the line where it occurs', async () => {
    const path = temp.write('bad-quote.csv', 'a,b\n1,2\n3,x"y\n4,5\n');
    const error = await readError(path);
    expect(error.message).toBe(`test input ${path} line 3: malformed CSV (Invalid Opening Quote)`);
    expect(error.input).toEqual({ location: path, line: 3 });
  });

  it('rejects text after a closing quote, naming the line where it occurs', async () => {
    const path = temp.write('after-quote.csv', 'a,b\n1,"x"y\n');
    const error = await readError(path);
    expect(error.message).toBe(`test input ${path} line 2: malformed CSV (Invalid Closing Quote)`);
  });

  it('reads a large file streamed in several chunks with exact line numbers', async () => {
    const rows = Array.from({ length: 20000 }, (_, n) => `id_${n},"note ${n}"`);
    const path = temp.write('large.csv', `id,note\n${rows.join('\n')}\n`);
    const records = await readAll(path);
    expect(records).toHaveLength(20001);
    expect(records[20000]).toEqual({ fields: ['id_19999', 'note 19999'], line: 20001 });
  });
});
