import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanonicalCsvSource, STREAMED_TABLE_ROWS } from '../../src/sources/canonical-csv-source';
import { DetectingCsvSource } from '../../src/sources/formats/format-registry';
import { DEFAULT_FORMAT_SETTINGS } from '../../src/sources/formats/processor-format';
import { SideCheckAccumulator } from '../../src/sources/side-checks';
import type { ReadContext, TransactionSource } from '../../src/sources/transaction-source';
import { readSideStreamed } from '../../src/sources/transaction-source';
import { STATUS_MAPS } from '../../src/domain/status';
import { parseCutoff } from '../../src/domain/cutoff';
import { SideTotals, summarizeFees } from '../../src/engine/summarize';
import type { Transaction } from '../../src/domain/transaction';

const DATE = '2025-09-30';
const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'recon-streamed-side-'));

/** A canonical file of `rows` rows: invalid rows, duplicates, rows outside the day, references. */
function canonicalFile(name: string, rows: number): string {
  const lines = [
    'transaction_id,amount,currency,status,merchant_id,created_at,fee,description,reference',
  ];
  for (let n = 0; n < rows; n++) {
    const day =
      n % 700 === 3 ? '2025-09-29T23:59:00Z' : `${DATE}T${String(n % 24).padStart(2, '0')}:00:00Z`;
    const id = n % 1500 === 7 ? `ch_${n - 70_000}` : `ch_${n}`;
    const amount = n % 997 === 0 ? '1.234' : `${n % 5000}.${String(n % 100).padStart(2, '0')}`;
    const currency = n % 9 === 0 ? 'JPY' : n % 5 === 0 ? 'EUR' : 'USD';
    const money = currency === 'JPY' ? String(n % 5000) : amount;
    lines.push(
      `${id},${money},${currency},${n % 301 === 0 ? 'held' : 'succeeded'},m_${n % 17},${day},` +
        `${n % 4 === 0 ? '' : '0.30'},${n % 50 === 0 ? '"a, ""b"""' : `Order ${n}`},${n % 3 === 0 ? `INV-${n}` : ''}`,
    );
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const context: ReadContext = {
  businessDate: DATE,
  timeZone: 'UTC',
  statusMap: STATUS_MAPS.stripe,
  cutoff: parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_STRIPE'),
};

/** Everything a streamed read gives, put together the way the postgres engine does. */
async function streamed(source: TransactionSource) {
  const side = readSideStreamed(source, context);
  const checks = new SideCheckAccumulator(source.side, source.location, context);
  const totals = new SideTotals();
  const rows: Transaction[] = [];
  const sizes: number[] = [];
  for await (const table of side.tables) {
    checks.add(table);
    totals.add(table, true);
    sizes.push(table.length);
    for (let row = 0; row < table.length; row++) rows.push(table.atWithBusinessDate(row));
  }
  const end = side.end();
  return { end, checks, totals, rows, sizes };
}

describe('a side read batch by batch (the postgres engine streams it)', () => {
  it('gives the rows, findings, volumes and fees of the whole read, in tables of about 65 536 rows', async () => {
    const path = canonicalFile('processor.csv', 150_000);
    const whole = await new CanonicalCsvSource('processor', path).read(context);
    const { end, checks, totals, rows, sizes } = await streamed(
      new CanonicalCsvSource('processor', path),
    );
    // A table is handed on once it holds STREAMED_TABLE_ROWS rows (plus the rest of one batch).
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of sizes.slice(0, -1)) {
      expect(size).toBeGreaterThanOrEqual(STREAMED_TABLE_ROWS);
      expect(size).toBeLessThan(2 * STREAMED_TABLE_ROWS);
    }
    expect(end).toMatchObject({
      rowCount: whole.rowCount,
      invalidCount: whole.invalidCount,
      sideChecked: false,
    });
    expect(whole.invalidCount).toBeGreaterThan(100);
    expect(rows).toEqual(
      whole.table.toArray().map((_, row) => whole.table.atWithBusinessDate(row)),
    );
    expect(checks.finish(end, whole.table.duplicatedIds)).toEqual(whole.issues);
    expect(whole.issues.map((issue) => issue.check)).toEqual(
      expect.arrayContaining(['duplicate_ids', 'outside_business_date', 'unknown_status']),
    );
    expect(totals.volume()).toEqual(whole.table.volumeByCurrency());
    expect(totals.fees()).toEqual(summarizeFees(whole.table));
  });

  it('streams a processor export format too, its side checks left to the caller', async () => {
    const path = join(ROOT, 'tests/fixtures/samples/stripe/smashpig__settlement_report.csv');
    const source = () =>
      new DetectingCsvSource('processor', path, 'stripe', DEFAULT_FORMAT_SETTINGS);
    const whole = await source().read(context);
    const { end, checks, rows, sizes } = await streamed(source());
    expect(whole.table.length).toBeGreaterThan(0);
    expect(sizes).toEqual([whole.table.length]);
    expect(end).toEqual({
      rowCount: whole.rowCount,
      invalidCount: whole.invalidCount,
      issues: end.issues,
      sideChecked: false,
    });
    expect(checks.finish(end, whole.table.duplicatedIds)).toEqual(whole.issues);
    expect(rows).toEqual(
      whole.table.toArray().map((_, row) => whole.table.atWithBusinessDate(row)),
    );
  });

  it('rejects a file without a header from the tables, as the whole read does', async () => {
    const path = join(dir, 'empty.csv');
    writeFileSync(path, '');
    const side = readSideStreamed(new CanonicalCsvSource('internal', path), context);
    const drain = async () => {
      for await (const table of side.tables) void table;
    };
    await expect(drain()).rejects.toThrow(
      `internal ledger input ${path} is empty: expected a header row`,
    );
    await expect(new CanonicalCsvSource('internal', path).read(context)).rejects.toThrow(
      `internal ledger input ${path} is empty: expected a header row`,
    );
  });
});
