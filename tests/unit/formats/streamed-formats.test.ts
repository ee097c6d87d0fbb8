import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCutoff } from '../../../src/domain/cutoff';
import { STATUS_MAPS, type ProcessorName } from '../../../src/domain/status';
import type { Transaction } from '../../../src/domain/transaction';
import { SideTotals, summarizeFees } from '../../../src/engine/summarize';
import { DetectingCsvSource } from '../../../src/sources/formats/format-registry';
import {
  DEFAULT_FORMAT_SETTINGS,
  type FormatSettings,
} from '../../../src/sources/formats/processor-format';
import { SideCheckAccumulator } from '../../../src/sources/side-checks';
import type { ReadContext, SourceReadResult } from '../../../src/sources/transaction-source';
import { makeTempDir } from '../support/temp-files';
import { DERIVED, SAMPLES } from './support';

/**
 * `FormatCsvSource.readStreamed` (the postgres engine's read of a processor export) gives what
 * `read` gives: the same rows in order (in tables of `TABLE_ROWS` here), the same counts
 * and, once the caller's side checks are added (`SideCheckAccumulator`), the same findings in the
 * same order; and the same errors.
 */

jest.setTimeout(180_000);
const temp = makeTempDir('streamed-formats');
afterAll(() => temp.cleanup());

function contextFor(processor: ProcessorName, businessDate: string): ReadContext {
  return {
    businessDate,
    timeZone: 'UTC',
    statusMap: STATUS_MAPS[processor],
    cutoff: parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_STRIPE'),
  };
}

function source(
  path: string,
  processor: ProcessorName,
  settings: Partial<FormatSettings> = {},
): DetectingCsvSource {
  return new DetectingCsvSource('processor', path, processor, {
    ...DEFAULT_FORMAT_SETTINGS,
    ...settings,
  });
}

/** One row as text, every field (bigints as `123n`): large files compare faster as strings. */
const rowText = (row: Transaction): string =>
  JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));

const rowsOf = (whole: SourceReadResult): string[] =>
  whole.table.toArray().map((_, row) => rowText(whole.table.atWithBusinessDate(row)));

/** A streamed read put together the way the postgres engine does (side checks, totals). */
async function streamed(side: DetectingCsvSource, context: ReadContext) {
  const read = side.readStreamed(context, TABLE_ROWS);
  const checks = new SideCheckAccumulator(side.side, side.location, context);
  const totals = new SideTotals();
  const rows: string[] = [];
  const sizes: number[] = [];
  for await (const table of read.tables) {
    checks.add(table);
    totals.add(table, true);
    sizes.push(table.length);
    for (let row = 0; row < table.length; row++) rows.push(rowText(table.atWithBusinessDate(row)));
  }
  const end = read.end();
  return { end, checks, totals, rows, sizes };
}

/**
 * Rows per streamed table in these tests (the engine's default is `STREAMED_TABLE_ROWS`, 65 536):
 * small, so that files of a few thousand rows span several tables.
 */
const TABLE_ROWS = 1024;

/** Asserts the streamed read of `path` equals its whole read; returns both. */
async function expectSameAsWhole(
  path: string,
  processor: ProcessorName,
  businessDate: string,
  settings: Partial<FormatSettings> = {},
) {
  const context = contextFor(processor, businessDate);
  const whole = await source(path, processor, settings).read(context);
  const stream = await streamed(source(path, processor, settings), context);
  expect(stream.end).toEqual({
    rowCount: whole.rowCount,
    invalidCount: whole.invalidCount,
    issues: stream.end.issues,
    sideChecked: false,
  });
  expect(stream.rows).toEqual(rowsOf(whole));
  expect(stream.checks.finish(stream.end, whole.table.duplicatedIds)).toEqual(whole.issues);
  expect(stream.totals.volume()).toEqual(whole.table.volumeByCurrency());
  expect(stream.totals.fees()).toEqual(summarizeFees(whole.table));
  for (const size of stream.sizes.slice(0, -1)) expect(size).toBe(TABLE_ROWS);
  return { whole, ...stream };
}

type Fixture = readonly [string, ProcessorName, string, Partial<FormatSettings>];

const FIXTURES: readonly Fixture[] = [
  ...readdirSync(join(SAMPLES, 'stripe'))
    .filter((name) => name.endsWith('.csv'))
    .map((name) => [join(SAMPLES, 'stripe', name), 'stripe', '2026-01-30', {}] as Fixture),
  ...readdirSync(join(SAMPLES, 'paypal'))
    .filter((name) => name.endsWith('.csv'))
    .map(
      (name) =>
        [
          join(SAMPLES, 'paypal', name),
          'paypal',
          '2026-01-06',
          name.includes('_es') ? { paypalDateOrder: 'dmy' } : {},
        ] as Fixture,
    ),
  ...readdirSync(join(SAMPLES, 'adyen'))
    .filter((name) => name.endsWith('.csv'))
    .map((name) => [join(SAMPLES, 'adyen', name), 'adyen', '2026-05-20', {}] as Fixture),
  ...readdirSync(DERIVED)
    .filter((name) => name.endsWith('.csv'))
    .map((name) => [join(DERIVED, name), 'adyen', '2026-05-20', {}] as Fixture),
];

const STRIPE_HEADER =
  'balance_transaction_id,source_id,currency,gross,fee,net,created_utc,reporting_category,' +
  'description,connected_account_id,payment_method_type';

/** `cents` as a major-unit decimal text with `decimals` decimals (test data; whole cents). */
function major(cents: number, decimals: number): string {
  if (decimals === 0) return String(cents);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * A Stripe balance report of `rows` data rows on 2025-09-30 (America/Los_Angeles 17:00 cut-off):
 * three currencies, refunds, invalid rows, `net_mismatch` rows, unknown categories, duplicates of
 * an id in another table, rows outside the business day, quoted descriptions, payment methods.
 */
function stripeReport(name: string, rows: number, tail = ''): string {
  const lines = [STRIPE_HEADER];
  for (let n = 0; n < rows; n++) {
    const currency = n % 9 === 0 ? 'jpy' : n % 5 === 0 ? 'eur' : 'usd';
    const decimals = currency === 'jpy' ? 0 : 2;
    const gross = (n % 13 === 0 ? -1 : 1) * (100 + ((n * 37) % 100_000));
    const fee = n % 4 === 0 ? 0 : 30 + (n % 7);
    const net = gross - fee + (n % 1009 === 0 ? 1 : 0);
    const hour = String(n % 24).padStart(2, '0');
    const created = n % 700 === 3 ? '2025-09-28 12:00:00' : `2025-09-30 ${hour}:15:00`;
    const id = n % 157 === 0 && n >= 1_100 ? `ch_${n - 1_080}` : `ch_${n}`;
    const category =
      n % 301 === 0 ? 'mystery_category' : n % 13 === 0 ? 'refund' : n % 17 === 0 ? '' : 'charge';
    const grossText = n % 79 === 0 && decimals === 2 ? '12.345' : major(gross, decimals);
    const description = n % 50 === 0 ? `"Order ${n}, ""gift"""` : `Order ${n}`;
    lines.push(
      [
        `txn_${n}`,
        n % 211 === 0 ? '' : id,
        currency,
        grossText,
        major(fee, decimals),
        major(net, decimals),
        created,
        category,
        description,
        `acct_${n % 11}`,
        n % 3 === 0 ? 'card' : '',
      ].join(','),
    );
  }
  return temp.write(name, `${lines.join('\n')}\n${tail}`);
}

const PAYPAL_HEADER =
  'Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,To Email Address,Transaction ID';

/** A PayPal activity download of `rows` rows (day-first dates, decided by the prescan). */
function paypalActivity(name: string, rows: number): string {
  const lines = [PAYPAL_HEADER];
  for (let n = 0; n < rows; n++) {
    const currency = n % 7 === 0 ? 'EUR' : 'USD';
    const gross = (n % 11 === 0 ? -1 : 1) * (100 + ((n * 53) % 50_000));
    const fee = -(n % 5 === 0 ? 0 : 25 + (n % 9));
    const net = gross + fee + (n % 31 === 0 ? 2 : 0);
    const day = n % 600 === 5 ? '29/09/2025' : '30/09/2025';
    const time = `${String(n % 24).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:07`;
    const type = n % 11 === 0 ? 'Payment Refund' : 'Express Checkout Payment';
    const status = n % 101 === 0 ? 'Mysterious' : 'Completed';
    const grossText = n % 47 === 0 ? '12.3x' : major(gross, 2);
    lines.push(
      [
        day,
        time,
        n % 50 === 0 ? 'Europe/Berlin' : 'UTC',
        `"Buyer ${n}, Inc."`,
        type,
        status,
        currency,
        grossText,
        major(fee, 2),
        major(net, 2),
        `shop${n % 3}@example.com`,
        n % 63 === 0 && n >= 1_040 ? `PP${n - 1_020}` : `PP${n}`,
      ].join(','),
    );
  }
  return temp.write(name, `${lines.join('\r\n')}\r\n`);
}

describe('a processor export read batch by batch (--engine postgres)', () => {
  it.each(FIXTURES.map((f) => [f[0].split('/').slice(-2).join('/'), ...f] as const))(
    '%s: the rows, counts and findings of the whole read',
    async (_name, path, processor, date, settings) => {
      const { whole, sizes } = await expectSameAsWhole(path, processor, date, settings);
      expect(sizes).toEqual(whole.table.length > 0 ? [whole.table.length] : []);
    },
  );

  it('yields a Stripe balance report in tables of the given size, with the findings of the whole read', async () => {
    const path = stripeReport('stripe-large.csv', 2_400);
    const { whole, sizes, end } = await expectSameAsWhole(path, 'stripe', '2025-09-30');
    expect(sizes).toEqual([TABLE_ROWS, TABLE_ROWS, whole.table.length - 2 * TABLE_ROWS]);
    expect(end.invalidCount).toBe(27);
    expect(whole.table.duplicatedIds).toBe(8);
    const counts = new Map<string, number>();
    for (const issue of whole.issues) counts.set(issue.check, (counts.get(issue.check) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      invalid_row: 27,
      net_mismatch: 3,
      unknown_status: 8,
      row_count: 1,
      // the 4 rows of 2025-09-28 and the count
      outside_business_date: 5,
      duplicate_ids: 1,
    });
  });

  it('reads a large PayPal activity download twice (the date-order prescan) and streams the second pass', async () => {
    const path = paypalActivity('paypal-large.csv', 1_100);
    const { whole, sizes } = await expectSameAsWhole(path, 'paypal', '2025-09-30');
    expect(sizes).toEqual([TABLE_ROWS, whole.table.length - TABLE_ROWS]);
    expect(whole.invalidCount).toBe(24);
    expect(whole.table.duplicatedIds).toBe(1);
    expect(whole.issues.map((issue) => issue.check)).toEqual(
      expect.arrayContaining(['net_mismatch', 'unknown_status', 'duplicate_ids']),
    );
  });

  it('rejects a file malformed after its first tables from the tables, as the whole read does', async () => {
    const path = stripeReport('stripe-broken.csv', 2_200, 'txn_x,ch_x,usd,"1.00,0,1.00\n');
    const context = contextFor('stripe', '2025-09-30');
    const whole = source(path, 'stripe').read(context);
    await expect(whole).rejects.toThrow(/unclosed quote|Quote Not Closed|quote/i);
    const message = await whole.then(
      () => '',
      (error: Error) => error.message,
    );
    const read = source(path, 'stripe').readStreamed(context, TABLE_ROWS);
    const sizes: number[] = [];
    const drain = async () => {
      for await (const table of read.tables) sizes.push(table.length);
    };
    await expect(drain()).rejects.toThrow(message);
    expect(sizes).toEqual([TABLE_ROWS, TABLE_ROWS]);
    expect(() => read.end()).toThrow(`${path}: end() before its tables were read`);
  });

  it('rejects a settlement report whose file-level check fails at its end, as the whole read does', async () => {
    // An STL without its CH column header: `end()` of the reader rejects the file.
    const path = temp.write('stl-no-header.csv', '"RH","2026/01/07 02:00:00 -0800","A",1\n');
    const context = contextFor('paypal', '2026-01-06');
    const expected = `processor input ${path}: PayPal settlement report without a CH column header`;
    await expect(source(path, 'paypal').read(context)).rejects.toThrow(expected);
    const read = source(path, 'paypal').readStreamed(context, TABLE_ROWS);
    const drain = async () => {
      for await (const table of read.tables) void table;
    };
    await expect(drain()).rejects.toThrow(expected);
  });
});
