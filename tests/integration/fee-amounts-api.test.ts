import { STATUS_MAPS } from '../../src/domain/status';
import { amountsOf } from '../../src/domain/transaction';
import { ApiSource, type ApiAdapter } from '../../src/sources/http/api-source';
import type { HttpSettings } from '../../src/sources/http/http-client';
import { SquarePaymentsAdapter } from '../../src/sources/http/square-payments';
import { StripeBalanceTransactionsAdapter } from '../../src/sources/http/stripe-balance-transactions';
import type { SourceReadResult } from '../../src/sources/transaction-source';
import {
  startFakeSquare,
  startFakeStripe,
  toSquarePayment,
  toStripeBalanceTransaction,
  type CanonicalRow,
  type FakeServer,
} from '../helpers/fake-apis';

const DATE = '2025-09-30';
const HTTP: HttpSettings = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 500,
  maxAttempts: 2,
  retryBaseMs: 5,
  retryMaxMs: 20,
  retryAfterCapMs: 100,
  fetchDeadlineMs: 10_000,
};
const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function row(id: string, amount: string, fee: string): CanonicalRow {
  return {
    transaction_id: id,
    amount,
    currency: 'USD',
    status: 'settled',
    merchant_id: 'loc_1',
    created_at: `${DATE}T10:00:00Z`,
    fee,
    description: '',
  };
}

function read(adapter: ApiAdapter, processor: 'stripe' | 'square'): Promise<SourceReadResult> {
  return new ApiSource('processor', adapter, {
    http: HTTP,
    reporter: { warn: () => undefined, info: () => undefined },
    label: `${processor}/processor`,
  }).read({ businessDate: DATE, timeZone: 'UTC', statusMap: STATUS_MAPS[processor] });
}

describe('fees from the processor APIs', () => {
  it('takes gross, fee and net from Stripe balance transactions and flags a net that is not gross − fee', async () => {
    const good = toStripeBalanceTransaction(row('ch_1', '100.00', '3.20'));
    const bad = { ...toStripeBalanceTransaction(row('ch_2', '100.00', '3.20')), net: 9600 };
    const server = await startFakeStripe({ apiKey: 'sk_test_x', transactions: [good, bad] });
    servers.push(server);
    const result = await read(
      new StripeBalanceTransactionsAdapter({
        baseUrl: server.baseUrl,
        apiKey: 'sk_test_x',
        matchKey: 'source',
        accountLabel: 'acct',
      }),
      'stripe',
    );
    expect(result.table.toArray().map((t) => [t.transactionId, amountsOf(t)])).toEqual([
      ['ch_1', { gross: 10000n, fee: 320n, net: 9680n }],
      ['ch_2', { gross: 10000n, fee: 320n, net: 9600n }],
    ]);
    expect(result.invalidCount).toBe(0);
    expect(result.issues.filter((i) => i.check === 'net_mismatch')).toEqual([
      {
        side: 'processor',
        location: `${server.baseUrl}/v1/balance_transactions`,
        check: 'net_mismatch',
        severity: 'warning',
        line: 2,
        field: 'net',
        reason: 'gross 100.00 - fee 3.20 != net 96.00 USD (difference 0.80)',
        value: '96.00',
        count: null,
      },
    ]);
  });

  it('derives the net of a Square payment from its amount and processing fees', async () => {
    const server = await startFakeSquare({
      accessToken: 'sq0atp-x',
      payments: [toSquarePayment(row('sq_1', '100.00', '3.20'))],
    });
    servers.push(server);
    const result = await read(
      new SquarePaymentsAdapter({
        baseUrl: server.baseUrl,
        accessToken: 'sq0atp-x',
        apiVersion: '2025-09-24',
      }),
      'square',
    );
    expect(result.table.toArray().map(amountsOf)).toEqual([
      { gross: 10000n, fee: 320n, net: 9680n },
    ]);
    expect(result.issues.filter((i) => i.check === 'net_mismatch')).toEqual([]);
  });
});
