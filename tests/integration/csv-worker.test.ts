import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCsvRecords as readInProcess, type CsvRecord } from '../../src/sources/csv-records';

/**
 * Files of 8 MiB or more are parsed on a worker thread, which only the compiled module can start
 * (npm test builds first). This checks that path against the in-process parser record by record.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require(resolve(__dirname, '../../dist/src/sources/csv-records.js')) as {
  readCsvRecords: (path: string, what: string) => AsyncGenerator<CsvRecord>;
};

const dir = mkdtempSync(join(tmpdir(), 'recon-csv-worker-'));

function bigCsv(rows: number, tail = ''): string {
  const parts = ['transaction_id,amount,currency,status,merchant_id,created_at,description\r\n'];
  for (let i = 0; i < rows; i++) {
    const description =
      i % 97 === 0
        ? `"multi\r\nline, ""quoted"" ${i}"`
        : i % 89 === 0
          ? `"lf\nonly ${i}"`
          : `plain ${i}`;
    parts.push(
      `tx_${i},${i % 1000}.25,USD,settled,m_${i % 13},2025-09-30T10:00:00Z,${description}\r\n`,
    );
    if (i % 5000 === 0) parts.push('\r\n'); // empty lines are skipped but counted
  }
  return parts.join('') + tail;
}

async function collect(iterable: AsyncGenerator<CsvRecord>): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

describe('CSV parsing on a worker thread (large files)', () => {
  it('yields the same records and start lines as the in-process parser', async () => {
    const path = join(dir, 'big.csv');
    writeFileSync(path, bigCsv(130_000));
    const [viaWorker, inProcess] = await Promise.all([
      collect(compiled.readCsvRecords(path, 'processor input')),
      collect(readInProcess(path, 'processor input')),
    ]);
    expect(viaWorker.length).toBe(130_001);
    expect(viaWorker).toEqual(inProcess);
    // Header on line 1, tx_0 spans lines 2-3 (quoted CRLF), an empty line 4, so tx_1 starts on line 5.
    expect(viaWorker[2]).toEqual({ fields: expect.arrayContaining(['tx_1']) as unknown, line: 5 });
  }, 60_000);

  it('rejects a malformed large file naming the line, like the in-process parser', async () => {
    const path = join(dir, 'broken.csv');
    writeFileSync(
      path,
      bigCsv(130_000, 'tx_x,1.00,USD,settled,m,2025-09-30T10:00:00Z,"never closed\r\n'),
    );
    const viaWorker = await collect(compiled.readCsvRecords(path, 'processor input')).catch(
      (e: unknown) => e,
    );
    const inProcess = await collect(readInProcess(path, 'processor input')).catch(
      (e: unknown) => e,
    );
    expect((viaWorker as Error).message).toBe((inProcess as Error).message);
    expect((viaWorker as Error).message).toMatch(
      /^processor input .*broken\.csv line (\d+): malformed CSV: a quote opened in the record that starts on line \1 is never closed$/,
    );
  }, 60_000);
});
