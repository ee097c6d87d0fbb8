import { STATUS_MAPS } from '../../src/domain/status';
import type { Transaction } from '../../src/domain/transaction';
import { ApiSource, type ApiAdapter, type ApiPage } from '../../src/sources/http/api-source';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import type { RawRecord } from '../../src/sources/normalize-record';
import { SideCheckAccumulator } from '../../src/sources/side-checks';
import { isStreamingSource, type ReadContext } from '../../src/sources/transaction-source';

/**
 * `ApiSource.readStreamed` (the postgres engine's read of an API side) gives what `read` gives:
 * the same rows in fetch order, in tables (of `TABLE_ROWS` here) as the pages come, the same
 * counts, findings (with the caller's side checks), progress lines and errors.
 */

const DATE = '2025-09-30';
const PAGE = 1000;

interface Item {
  readonly id: string;
  readonly amount: string;
  readonly currency: string;
  readonly status: string;
  readonly created: string;
  readonly fee: string;
  readonly net?: string;
}

/** An in-process API of `rows` items in pages of 1 000 (no HTTP); `failAt`: the page that throws. */
function fakeAdapter(rows: number, failAt?: number): ApiAdapter {
  const item = (n: number): Item => ({
    id: n % 157 === 0 && n >= 1_100 ? `ch_${n - 1_080}` : `ch_${n}`,
    amount: n % 79 === 0 ? '12.345' : `${1 + (n % 900)}.${String(n % 100).padStart(2, '0')}`,
    currency: n % 7 === 0 ? 'EUR' : 'USD',
    status: n % 301 === 0 ? 'mystery' : 'succeeded',
    created:
      n % 800 === 1 ? '2025-09-28T10:00:00Z' : `${DATE}T${String(n % 24).padStart(2, '0')}:00:00Z`,
    fee: n % 3 === 0 ? '' : '0.30',
    ...(n % 97 === 0 ? { net: '0.01' } : {}),
  });
  return {
    service: 'fake',
    location: 'https://fake.example/v1/items',
    // eslint-disable-next-line @typescript-eslint/require-await
    async *fetchPages(): AsyncGenerator<ApiPage> {
      for (let start = 0, page = 1; start < rows; start += PAGE, page++) {
        if (page === failAt) throw new Error(`page ${page} failed`);
        const items = Array.from({ length: Math.min(PAGE, rows - start) }, (_, k) =>
          item(start + k),
        );
        yield { path: `/v1/items?page=${page}`, body: items };
      }
    },
    itemsOf: (page) => page.body as Item[],
    toRecord: (value): RawRecord => {
      const raw = value as Item;
      return {
        transactionId: raw.id,
        amount: { units: 'major', value: raw.amount },
        currency: raw.currency,
        status: raw.status,
        merchantId: 'acct_1',
        createdAt: raw.created,
        fee: { units: 'major', value: raw.fee === '' ? undefined : raw.fee },
        ...(raw.net !== undefined ? { net: { units: 'major', value: raw.net } } : {}),
        fields: {
          transactionId: 'id',
          amount: 'amount',
          currency: 'currency',
          status: 'status',
          merchantId: 'account',
          createdAt: 'created',
          fee: 'fee',
          net: 'net',
        },
      };
    },
    probe: () => Promise.resolve(),
  };
}

/** Rows per streamed table here (the engine's default is `STREAMED_TABLE_ROWS`, 65 536). */
const TABLE_ROWS = 1024;

const context: ReadContext = { businessDate: DATE, timeZone: 'UTC', statusMap: STATUS_MAPS.stripe };

function source(adapter: ApiAdapter, progress?: (line: string) => void): ApiSource {
  return new ApiSource('processor', adapter, {
    http: DEFAULT_HTTP_SETTINGS,
    reporter: { warn: () => undefined, info: () => undefined },
    label: 'fake/processor',
    progress,
  });
}

const rowText = (row: Transaction): string =>
  JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));

const noSeconds = (lines: string[]): string[] => lines.map((line) => line.replace(/, \d+ s$/, ''));

describe('an API side read batch by batch (--engine postgres)', () => {
  it('yields the fetched rows in tables of the given size, with the counts, findings and progress of the whole read', async () => {
    const wholeLines: string[] = [];
    const whole = await source(fakeAdapter(2_350), (line) => wholeLines.push(line)).read(context);
    const lines: string[] = [];
    const api = source(fakeAdapter(2_350), (line) => lines.push(line));
    expect(isStreamingSource(api)).toBe(true);
    const read = api.readStreamed(context, TABLE_ROWS);
    const checks = new SideCheckAccumulator('processor', api.location, context);
    const sizes: number[] = [];
    const rows: string[] = [];
    for await (const table of read.tables) {
      checks.add(table);
      sizes.push(table.length);
      for (let row = 0; row < table.length; row++)
        rows.push(rowText(table.atWithBusinessDate(row)));
    }
    const end = read.end();
    expect(sizes).toEqual([TABLE_ROWS, TABLE_ROWS, whole.table.length - 2 * TABLE_ROWS]);
    expect(rows).toEqual(
      whole.table.toArray().map((_, row) => rowText(whole.table.atWithBusinessDate(row))),
    );
    expect(end).toEqual({
      rowCount: 2_350,
      invalidCount: whole.invalidCount,
      issues: end.issues,
      sideChecked: false,
    });
    expect(checks.finish(end, whole.table.duplicatedIds)).toEqual(whole.issues);
    expect(whole.invalidCount).toBeGreaterThan(10);
    expect(whole.table.duplicatedIds).toBeGreaterThan(0);
    expect(new Set(whole.issues.map((issue) => issue.check))).toEqual(
      new Set([
        'invalid_row',
        'unknown_status',
        'net_mismatch',
        'row_count',
        'outside_business_date',
        'duplicate_ids',
      ]),
    );
    expect(noSeconds(lines)).toEqual(noSeconds(wholeLines));
    expect(lines.at(-1)).toBe('fake/processor: 2350 rows fetched\n');
  });

  it('stops with the fetch error after the tables already yielded, as the whole read fails', async () => {
    await expect(source(fakeAdapter(3_000, 3)).read(context)).rejects.toThrow('page 3 failed');
    const read = source(fakeAdapter(3_000, 3)).readStreamed(context, TABLE_ROWS);
    const sizes: number[] = [];
    const drain = async () => {
      for await (const table of read.tables) sizes.push(table.length);
    };
    await expect(drain()).rejects.toThrow('page 3 failed');
    expect(sizes).toEqual([TABLE_ROWS]);
    expect(() => read.end()).toThrow('end() before its tables were read');
  });
});
