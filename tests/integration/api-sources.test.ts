import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DependencyUnavailableError,
  InputRejectedError,
} from '../../src/domain/errors';
import { STATUS_MAPS } from '../../src/domain/status';
import type { Transaction, TransactionSide } from '../../src/domain/transaction';
import { ApiSource, RawReplaySource, type ApiAdapter } from '../../src/sources/http/api-source';
import type { HttpSettings } from '../../src/sources/http/http-client';
import { DEFAULT_LEDGER_API_CONFIG, LedgerApiAdapter } from '../../src/sources/http/ledger-api';
import { PaypalTransactionsAdapter } from '../../src/sources/http/paypal-transactions';
import { SquarePaymentsAdapter } from '../../src/sources/http/square-payments';
import { StripeBalanceTransactionsAdapter } from '../../src/sources/http/stripe-balance-transactions';
import { SideCheckAccumulator } from '../../src/sources/side-checks';
import type { ReadContext, SourceReadResult } from '../../src/sources/transaction-source';
import {
  canonicalSamplePath,
  expectedFromCanonical,
  loadCanonicalRows,
  startFakeLedger,
  startFakePaypal,
  startFakeSquare,
  startFakeStripe,
  toLedgerEntry,
  toPaypalTransactionDetail,
  toSquarePayment,
  toStripeBalanceTransaction,
  type CanonicalRow,
  type Fault,
  type FakeServer,
} from '../helpers/fake-apis';

const DATE = '2025-09-30';
const FAST_HTTP: HttpSettings = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 500,
  maxAttempts: 4,
  retryBaseMs: 5,
  retryMaxMs: 20,
  retryAfterCapMs: 1500,
  fetchDeadlineMs: 20_000,
};
const STRIPE_KEY = 'sk_test_secret_key_123';
const SQUARE_TOKEN = 'sq0atp-secret-token';
const PAYPAL_SECRET = 'paypal-client-secret-xyz';

const warnings: object[] = [];
const reporter = { warn: (details: object) => warnings.push(details), info: () => undefined };
const servers: FakeServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  warnings.length = 0;
});

/** `count` synthetic settled USD rows spread over the business day. */
function syntheticRows(count: number, prefix: string): CanonicalRow[] {
  return Array.from({ length: count }, (_, i) => ({
    transaction_id: `${prefix}${String(i).padStart(5, '0')}`,
    amount: `${(i % 500) + 1}.${String(i % 100).padStart(2, '0')}`,
    currency: i % 7 === 0 ? 'JPY' : 'USD',
    status: 'settled',
    merchant_id: `merch_${i % 5}`,
    created_at: new Date(Date.parse(`${DATE}T00:00:00Z`) + i * 60_000).toISOString(),
    fee: '',
    description: `item ${i}`,
  })).map((row) =>
    row.currency === 'JPY'
      ? { ...row, amount: String((Number(row.transaction_id.slice(-3)) % 500) + 1) }
      : row,
  );
}

function read(
  adapter: ApiAdapter,
  side: TransactionSide = 'processor',
  options: { saveRawDir?: string; http?: Partial<HttpSettings> } = {},
): Promise<SourceReadResult> {
  const statusMap =
    side === 'internal' ? STATUS_MAPS.internal : STATUS_MAPS[adapter.service as 'stripe'];
  return new ApiSource(side, adapter, {
    http: { ...FAST_HTTP, ...options.http },
    reporter,
    saveRawDir: options.saveRawDir,
    label: `${adapter.service}/${side}`,
  }).read({ businessDate: DATE, timeZone: 'UTC', statusMap });
}

async function stripe(rows: CanonicalRow[], faults: Fault[] = []) {
  const server = await startFakeStripe({
    apiKey: STRIPE_KEY,
    transactions: rows.map(toStripeBalanceTransaction),
    faults,
  });
  servers.push(server);
  const adapter = new StripeBalanceTransactionsAdapter({
    baseUrl: server.baseUrl,
    apiKey: STRIPE_KEY,
    matchKey: 'source',
    accountLabel: 'acct_test',
  });
  return { server, adapter };
}

describe('Stripe balance transactions source', () => {
  it('normalizes the sample day exactly like the canonical CSV rows', async () => {
    const rows = loadCanonicalRows(canonicalSamplePath('stripe'));
    const { adapter } = await stripe(rows);
    const result = await read(adapter);
    expect(result.invalidCount).toBe(0);
    const byId = new Map(result.table.toArray().map((t) => [t.transactionId, t]));
    for (const row of rows) {
      const expected = expectedFromCanonical(row);
      expect(byId.get(row.transaction_id)).toMatchObject({
        transactionId: expected.transactionId,
        amountMinor: expected.amountMinor,
        currency: expected.currency,
        createdAtMs: expected.createdAtMs,
        feeMinor: expected.feeMinor,
        status: expected.status,
        merchantId: 'acct_test',
      });
    }
  });

  it('follows starting_after over several pages and fetches every transaction once', async () => {
    const rows = syntheticRows(250, 'ch_');
    const { server, adapter } = await stripe(rows);
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(250);
    expect(new Set(result.table.toArray().map((t) => t.transactionId)).size).toBe(250);
    const lists = server.requests.filter((r) => r.path === '/v1/balance_transactions');
    expect(lists).toHaveLength(3);
    expect(lists[0]?.query).toMatchObject({
      limit: '100',
      'created[gte]': '1759190400',
      'created[lt]': '1759276800',
    });
    expect(lists[1]?.query.starting_after).toMatch(/^txn_/);
    expect(lists.every((r) => r.authorization === `Bearer ${STRIPE_KEY}`)).toBe(true);
  });

  it('retries 429 (with and without Retry-After) and 500, then succeeds', async () => {
    const rows = syntheticRows(150, 'ch_');
    const { server, adapter } = await stripe(rows, [
      { kind: 'status-429', onRequest: 1 },
      { kind: 'status-429-retry-after-seconds', onRequest: 2, retryAfterSeconds: 1 },
      { kind: 'status-500', onRequest: 4 },
    ]);
    const started = Date.now();
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(150);
    expect(server.requests.filter((r) => r.path === '/v1/balance_transactions')).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // Retry-After: 1 was honoured
    expect(warnings).toHaveLength(3);
  });

  it('honours a Retry-After given as an HTTP date', async () => {
    const { server, adapter } = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'status-429-retry-after-date', onRequest: 1, retryAfterSeconds: 1 },
    ]);
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(3);
    const [first, second] = server.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(500);
  });

  it('fails at once on 401 with a clear error that does not contain the key', async () => {
    const { server, adapter } = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'status-401', onRequest: 1 },
    ]);
    const error = await read(adapter).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^stripe API \/v1\/balance_transactions: HTTP 401, credentials rejected: /,
    );
    expect((error as Error).message).not.toContain(STRIPE_KEY);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after the last attempt of a persistent 500 (exit 3)', async () => {
    const { adapter } = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'status-500', onRequest: 1, times: 10 },
    ]);
    const error = await read(adapter).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toContain('HTTP 500');
    expect((error as Error).message).toContain('gave up after 4 attempts');
  });

  it('rejects a page without data and a repeating cursor as contract violations (exit 4)', async () => {
    const malformed = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'malformed-page', onRequest: 1 },
    ]);
    await expect(read(malformed.adapter)).rejects.toThrow(
      new InputRejectedError(
        "stripe API /v1/balance_transactions: page is not a list object with 'data' and 'has_more'",
        { location: '' },
      ),
    );
    const repeating = await stripe(syntheticRows(250, 'ch_'), [
      { kind: 'repeat-cursor', onRequest: 2 },
    ]);
    await expect(read(repeating.adapter)).rejects.toThrow(/pagination repeats cursor txn_/);
  });

  it('retries a response slower than the timeout', async () => {
    const { server, adapter } = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'slow', onRequest: 1, delayMs: 1500 },
    ]);
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(3);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('returns no rows for an empty day', async () => {
    const { adapter } = await stripe([]);
    const result = await read(adapter);
    expect(result.rowCount).toBe(0);
    expect(result.table.toArray()).toEqual([]);
  });

  it('reports progress per page when a progress writer is given (a terminal)', async () => {
    const { adapter } = await stripe(syntheticRows(150, 'ch_'));
    const lines: string[] = [];
    await new ApiSource('processor', adapter, {
      http: FAST_HTTP,
      reporter,
      label: 'stripe/processor',
      progress: (line) => lines.push(line),
    }).read({ businessDate: DATE, timeZone: 'UTC', statusMap: STATUS_MAPS.stripe });
    expect(lines.map((line) => line.replace(/, \d+ s$/, ''))).toEqual([
      'stripe/processor: 1 page(s), 100 rows',
      'stripe/processor: 2 page(s), 150 rows',
      'stripe/processor: 150 rows fetched\n',
    ]);
  });

  it('saves raw pages that replay to the same result', async () => {
    const rawDir = mkdtempSync(join(tmpdir(), 'recon-raw-'));
    const { adapter } = await stripe(syntheticRows(150, 'ch_'));
    const fetched = await read(adapter, 'processor', { saveRawDir: rawDir });
    expect(readdirSync(join(rawDir, DATE, 'stripe', 'processor'))).toEqual([
      'page-0001.json',
      'page-0002.json',
    ]);
    const replayed = await new RawReplaySource(
      'processor',
      adapter,
      rawDir,
      'stripe/processor',
    ).read({
      businessDate: DATE,
      timeZone: 'UTC',
      statusMap: STATUS_MAPS.stripe,
    });
    expect(replayed.table.toArray()).toEqual(fetched.table.toArray());
  });
});

describe('PayPal transaction search source', () => {
  async function paypal(
    rows: CanonicalRow[],
    options: { maxItemsPerRequest?: number; faults?: Fault[]; tokenTtlSeconds?: number } = {},
  ) {
    const server = await startFakePaypal({
      clientId: 'client-id',
      clientSecret: PAYPAL_SECRET,
      transactions: rows.map(toPaypalTransactionDetail),
      ...options,
    });
    servers.push(server);
    const adapter = new PaypalTransactionsAdapter({
      baseUrl: server.baseUrl,
      clientId: 'client-id',
      clientSecret: PAYPAL_SECRET,
      pageSize: 100,
    });
    return { server, adapter };
  }

  it('normalizes the sample day: decimal strings, negative fees, +0000 timestamps, S/V statuses', async () => {
    const rows = loadCanonicalRows(canonicalSamplePath('paypal')).filter((row) =>
      row.created_at.startsWith(DATE),
    );
    const { adapter } = await paypal(rows);
    const result = await read(adapter);
    expect(result.invalidCount).toBe(0);
    expect(result.table.toArray()).toHaveLength(rows.length);
    const refund = result.table.toArray().find((t) => t.status === 'refunded');
    expect(refund?.amountMinor).toBeLessThan(0n);
    for (const row of rows) {
      const expected = expectedFromCanonical(row);
      const got = result.table.toArray().find((t) => t.transactionId === row.transaction_id);
      expect(got).toMatchObject({
        amountMinor: expected.amountMinor,
        currency: expected.currency,
        createdAtMs: expected.createdAtMs,
        feeMinor: expected.feeMinor,
      });
    }
  });

  it('pages 1…total_pages with one cached OAuth token across reads', async () => {
    const { server, adapter } = await paypal(syntheticRows(250, 'PAYID-'));
    expect((await read(adapter)).table.toArray()).toHaveLength(250);
    expect((await read(adapter)).table.toArray()).toHaveLength(250);
    expect(server.tokenRequests()).toBe(1);
    const pages = server.requests
      .filter((r) => r.path === '/v1/reporting/transactions')
      .map((r) => r.query.page);
    expect(pages).toEqual(['1', '2', '3', '1', '2', '3']);
    const first = server.requests.find((r) => r.path === '/v1/reporting/transactions');
    expect(first?.query).toMatchObject({
      start_date: '2025-09-30T00:00:00Z',
      end_date: '2025-10-01T00:00:00Z',
      fields: 'all',
    });
  });

  it('renews an expired token once and goes on', async () => {
    const { server, adapter } = await paypal(syntheticRows(5, 'PAYID-'));
    await read(adapter);
    server.expireTokens();
    expect((await read(adapter)).table.toArray()).toHaveLength(5);
    expect(server.tokenRequests()).toBe(2);
  });

  it('splits the window when PayPal answers RESULTSET_TOO_LARGE', async () => {
    const { server, adapter } = await paypal(syntheticRows(250, 'PAYID-'), {
      maxItemsPerRequest: 100,
    });
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(250);
    expect(new Set(result.table.toArray().map((t) => t.transactionId)).size).toBe(250);
    const windows = new Set(
      server.requests
        .filter((r) => r.path === '/v1/reporting/transactions')
        .map((r) => `${r.query.start_date}..${r.query.end_date}`),
    );
    expect(windows.size).toBeGreaterThan(3);
  });

  it('rejects a total_pages that shrinks during the fetch', async () => {
    const { adapter } = await paypal(syntheticRows(250, 'PAYID-'), {
      faults: [{ kind: 'shrinking-pages', onRequest: 2 }],
    });
    await expect(read(adapter)).rejects.toThrow(/total_pages shrank from 3 to 2/);
  });

  it('reports bad client credentials as a configuration error without the secret', async () => {
    const server = await startFakePaypal({
      clientId: 'client-id',
      clientSecret: 'other',
      transactions: [],
    });
    servers.push(server);
    const adapter = new PaypalTransactionsAdapter({
      baseUrl: server.baseUrl,
      clientId: 'client-id',
      clientSecret: PAYPAL_SECRET,
      pageSize: 100,
    });
    const error = await read(adapter).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('paypal API /v1/oauth2/token: HTTP 401');
    expect((error as Error).message).not.toContain(PAYPAL_SECRET);
  });
});

describe('Square payments source', () => {
  async function square(rows: CanonicalRow[], faults: Fault[] = []) {
    const server = await startFakeSquare({
      accessToken: SQUARE_TOKEN,
      payments: rows.map(toSquarePayment),
      faults,
    });
    servers.push(server);
    return {
      server,
      adapter: new SquarePaymentsAdapter({
        baseUrl: server.baseUrl,
        accessToken: SQUARE_TOKEN,
        apiVersion: '2025-09-24',
      }),
    };
  }

  it('follows the cursor until it is absent and maps location and fees', async () => {
    const rows = loadCanonicalRows(canonicalSamplePath('square')).filter(
      (row) => row.transaction_id !== 'sq_pay_INVALID',
    );
    const { server, adapter } = await square(rows);
    const result = await read(adapter);
    expect(result.table.toArray()).toHaveLength(120);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.query.cursor).toBeTruthy();
    const first = rows[0] as CanonicalRow;
    expect(
      result.table.toArray().find((t) => t.transactionId === first.transaction_id),
    ).toMatchObject({
      merchantId: first.merchant_id,
      feeMinor: expectedFromCanonical(first).feeMinor,
      status: 'settled',
      rawStatus: 'COMPLETED',
    });
  });

  it('accepts an empty day answered with {}', async () => {
    const { adapter } = await square([]);
    expect((await read(adapter)).rowCount).toBe(0);
  });

  it('rejects a malformed page', async () => {
    const { adapter } = await square(syntheticRows(150, 'sq_'), [
      { kind: 'malformed-page', onRequest: 1 },
    ]);
    await expect(read(adapter)).rejects.toBeInstanceOf(InputRejectedError);
  });
});

/** A fake ledger API serving `entries` with cursor pagination, and an adapter of its defaults. */
async function cursorLedger(entries: Parameters<typeof startFakeLedger>[0]['entries']) {
  const server = await startFakeLedger({ entries, style: 'cursor' });
  servers.push(server);
  const adapter = new LedgerApiAdapter({
    baseUrl: server.baseUrl,
    processor: 'stripe',
    config: DEFAULT_LEDGER_API_CONFIG,
  });
  return { server, adapter };
}

describe('internal ledger API source', () => {
  it.each(['cursor', 'page'] as const)('reads the ledger with %s pagination', async (style) => {
    const rows = syntheticRows(1200, 'ch_');
    const server = await startFakeLedger({
      token: 'ledger-token',
      entries: rows.map((row) => toLedgerEntry(row, 'stripe')),
      style,
    });
    servers.push(server);
    const config =
      style === 'cursor'
        ? DEFAULT_LEDGER_API_CONFIG
        : {
            ...DEFAULT_LEDGER_API_CONFIG,
            pagination: {
              style: 'page' as const,
              page_param: 'page',
              page_size_param: 'page_size',
              page_size: 500,
              total_pages_path: 'total_pages',
            },
          };
    const adapter = new LedgerApiAdapter({
      baseUrl: server.baseUrl,
      token: 'ledger-token',
      processor: 'stripe',
      config,
    });
    const result = await read(adapter, 'internal');
    expect(result.table.toArray()).toHaveLength(1200);
    expect(server.requests).toHaveLength(3);
    expect(server.requests[0]?.query).toMatchObject({
      processor: 'stripe',
      from: '2025-09-30T00:00:00Z',
      to: '2025-10-01T00:00:00Z',
    });
  });

  it('records an invalid item with its position and JSON field, and keeps the rest', async () => {
    const rows = syntheticRows(3, 'ch_');
    const entries = rows.map((row) => toLedgerEntry(row, 'stripe'));
    const bad = entries[1];
    if (bad) bad.amount = '12.345';
    const { adapter } = await cursorLedger(entries);
    const result = await read(adapter, 'internal');
    expect(result.invalidCount).toBe(1);
    expect(result.table.toArray()).toHaveLength(2);
    expect(result.issues.find((i) => i.check === 'invalid_row')).toMatchObject({
      line: 2,
      field: 'amount',
      value: '12.345',
    });
  });

  it('rejects an item whose id holds a lone UTF-16 surrogate (no UTF-8 form) and keeps the rest', async () => {
    const rows = syntheticRows(3, 'ch_');
    const entries = rows.map((row) => toLedgerEntry(row, 'stripe'));
    const bad = entries[2];
    if (bad) bad.transaction_id = 'ch_\ud800x';
    const { adapter } = await cursorLedger(entries);
    const result = await read(adapter, 'internal');
    expect(result.invalidCount).toBe(1);
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual(
      rows.slice(0, 2).map((row) => row.transaction_id),
    );
    expect(result.issues.find((i) => i.check === 'invalid_row')).toMatchObject({
      line: 3,
      field: 'transaction_id',
      reason: 'transaction_id is not valid Unicode (lone surrogate)',
    });
  });
});

describe('API sources read batch by batch (--engine postgres)', () => {
  /** Everything a streamed read gives, with the side checks the postgres engine adds. */
  async function streamedRead(api: ApiSource, context: ReadContext) {
    const side = api.readStreamed(context);
    const checks = new SideCheckAccumulator(api.side, api.location, context);
    const rows: Transaction[] = [];
    for await (const table of side.tables) {
      checks.add(table);
      for (let row = 0; row < table.length; row++) rows.push(table.atWithBusinessDate(row));
    }
    return { end: side.end(), checks, rows };
  }

  it('fetches the ledger pages into the rows, counts and findings of the whole read', async () => {
    const entries = syntheticRows(1200, 'ch_').map((row) => toLedgerEntry(row, 'stripe'));
    const bad = entries[700];
    if (bad) bad.amount = '12.345';
    const { server, adapter } = await cursorLedger(entries);
    const context: ReadContext = {
      businessDate: DATE,
      timeZone: 'UTC',
      statusMap: STATUS_MAPS.internal,
    };
    const api = () =>
      new ApiSource('internal', adapter, { http: FAST_HTTP, reporter, label: 'stripe/internal' });
    const whole = await api().read(context);
    expect(server.requests).toHaveLength(3);
    const { end, checks, rows } = await streamedRead(api(), context);
    expect(server.requests).toHaveLength(6);
    expect(whole.invalidCount).toBe(1);
    expect(end).toEqual({
      rowCount: 1200,
      invalidCount: 1,
      issues: end.issues,
      sideChecked: false,
    });
    expect(rows).toEqual(
      whole.table.toArray().map((_, row) => whole.table.atWithBusinessDate(row)),
    );
    expect(checks.finish(end, whole.table.duplicatedIds)).toEqual(whole.issues);
  });

  it('fails a streamed fetch with the error of the whole read (persistent 500)', async () => {
    const { adapter } = await stripe(syntheticRows(3, 'ch_'), [
      { kind: 'status-500', onRequest: 1, times: 10 },
    ]);
    const api = new ApiSource('processor', adapter, {
      http: FAST_HTTP,
      reporter,
      label: 'stripe/processor',
    });
    const side = api.readStreamed({
      businessDate: DATE,
      timeZone: 'UTC',
      statusMap: STATUS_MAPS.stripe,
    });
    const drain = async () => {
      for await (const table of side.tables) void table;
    };
    const error = await drain().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toContain('gave up after 4 attempts');
  });
});
