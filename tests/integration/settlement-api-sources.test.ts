import { ConfigError, InputRejectedError } from '../../src/domain/errors';
import { buildSettlementGroups, settlementGroupJson } from '../../src/engine/settlement-groups';
import type { HttpSettings } from '../../src/sources/http/http-client';
import { SquarePayoutsSource } from '../../src/sources/settlement/square-payouts-source';
import { StripePayoutsSource } from '../../src/sources/settlement/stripe-payouts-source';
import {
  startFakeSquare,
  startFakeStripe,
  type Fault,
  type FakeServer,
  type SquarePayout,
  type SquarePayoutEntry,
  type StripeBalanceTransaction,
  type StripePayout,
} from '../helpers/fake-apis';

const DATE = '2025-10-02';
const ARRIVAL = 1759363200; // 2025-10-02T00:00:00Z
const FAST_HTTP: HttpSettings = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 500,
  maxAttempts: 4,
  retryBaseMs: 5,
  retryMaxMs: 20,
  retryAfterCapMs: 1500,
  fetchDeadlineMs: 20_000,
};
const STRIPE_KEY = 'sk_test_payouts_secret_456';

const warnings: object[] = [];
const observer = { warn: (details: object) => warnings.push(details) };
const servers: FakeServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  warnings.length = 0;
});

function payout(id: string, amount: number, extra: Partial<StripePayout> = {}): StripePayout {
  return {
    id,
    object: 'payout',
    amount,
    arrival_date: ARRIVAL,
    automatic: true,
    balance_transaction: `txn_${id}`,
    created: ARRIVAL - 2 * 86400,
    currency: 'usd',
    description: 'STRIPE PAYOUT',
    method: 'standard',
    statement_descriptor: null,
    status: 'paid',
    type: 'bank_account',
    ...extra,
  };
}

function txn(
  id: string,
  type: string,
  amount: number,
  fee: number,
  created = ARRIVAL - 3 * 86400,
): StripeBalanceTransaction {
  return {
    id,
    object: 'balance_transaction',
    amount,
    available_on: ARRIVAL - 86400,
    created,
    currency: 'usd',
    description: null,
    exchange_rate: null,
    fee,
    fee_details: [],
    net: amount - fee,
    reporting_category: type,
    source: null,
    status: 'available',
    type,
  };
}

/** The payout: 950.00 = 2 × (500.00 − 15.00 fee) − 20.00 refund, and its own txn. */
const BALANCED = [
  txn('txn_ch_1', 'charge', 50000, 1500),
  txn('txn_ch_2', 'charge', 50000, 1500),
  txn('txn_re_1', 'refund', -2000, 0),
  txn('txn_po_balanced', 'payout', -95000, 0, ARRIVAL - 2 * 86400),
];

async function stripe(
  payouts: StripePayout[],
  payoutTransactions: Record<string, StripeBalanceTransaction[]>,
  faults: Fault[] = [],
) {
  const server = await startFakeStripe({
    apiKey: STRIPE_KEY,
    transactions: [],
    payouts,
    payoutTransactions,
    faults,
  });
  servers.push(server);
  const source = new StripePayoutsSource(
    { baseUrl: server.baseUrl, apiKey: STRIPE_KEY, matchKey: 'source', accountLabel: 'stripe' },
    DATE,
    { http: FAST_HTTP, observer },
  );
  return { server, source };
}

describe('Stripe payouts settlement source', () => {
  it('reads the day’s payouts and their balance transactions: balanced, a missing refund, manual, instant; failed and other days left out', async () => {
    const { server, source } = await stripe(
      [
        payout('po_balanced', 95000, { created: ARRIVAL - 2 * 86400 + 5 }),
        payout('po_no_refund', 95000),
        payout('po_manual', 12000, { automatic: false }),
        payout('po_instant', 3000, { method: 'instant' }),
        payout('po_failed', 5000, { status: 'failed' }),
        payout('po_tomorrow', 7000, { arrival_date: ARRIVAL + 86400 }),
      ],
      {
        po_balanced: BALANCED,
        po_no_refund: [
          txn('txn_ch_3', 'charge', 50000, 1500),
          txn('txn_ch_4', 'charge', 50000, 1500),
          txn('txn_po_no_refund', 'payout', -95000, 0),
        ],
      },
    );
    const read = await source.read();
    expect(read.location).toBe(`${server.baseUrl}/v1/payouts`);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: DATE,
      orphanKind: 'stripe_payout',
    });
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: 'po_balanced',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '950.00',
        children_sum: '950.00',
        difference: '0.00',
        child_count: 3,
        status: 'group_matched',
        bank_entry: null,
      },
      {
        parent_id: 'po_no_refund',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '950.00',
        children_sum: '970.00',
        difference: '20.00',
        child_count: 2,
        status: 'group_sum_mismatch',
        bank_entry: null,
      },
      {
        parent_id: 'po_manual',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '120.00',
        children_sum: '0.00',
        difference: null,
        child_count: 0,
        status: 'unattributable',
        bank_entry: null,
      },
      {
        parent_id: 'po_instant',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '30.00',
        children_sum: '0.00',
        difference: null,
        child_count: 0,
        status: 'unattributable',
        bank_entry: null,
      },
    ]);
    expect(read.children.filter((c) => c.parentKey === 'po_balanced')).toEqual([
      {
        id: 'txn_re_1',
        parentKey: 'po_balanced',
        category: 'refund',
        currency: 'USD',
        gross: -2000n,
        net: -2000n,
      },
      {
        id: 'txn_ch_2',
        parentKey: 'po_balanced',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
      {
        id: 'txn_ch_1',
        parentKey: 'po_balanced',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
    ]);
    expect(read.invalidRows).toEqual([]);
    expect(server.requests.map((r) => [r.path, r.query, r.authorization])).toEqual([
      [
        '/v1/payouts',
        { 'arrival_date[gte]': '1759363200', 'arrival_date[lt]': '1759449600', limit: '100' },
        `Bearer ${STRIPE_KEY}`,
      ],
      ['/v1/balance_transactions', { payout: 'po_balanced', limit: '100' }, `Bearer ${STRIPE_KEY}`],
      [
        '/v1/balance_transactions',
        { payout: 'po_no_refund', limit: '100' },
        `Bearer ${STRIPE_KEY}`,
      ],
    ]);
  });

  it('follows starting_after over pages of payouts and of one payout’s balance transactions', async () => {
    const payouts = Array.from({ length: 130 }, (_, i) =>
      payout(`po_${String(i).padStart(3, '0')}`, i === 129 ? 2500 : 100, {
        created: ARRIVAL - 86400 + i,
      }),
    );
    const many = Array.from({ length: 250 }, (_, i) =>
      txn(`txn_${String(i).padStart(3, '0')}`, 'charge', 10, 0, ARRIVAL - 3 * 86400 + i),
    );
    const transactions: Record<string, StripeBalanceTransaction[]> = Object.fromEntries(
      payouts.map((p) => [p.id, [txn(`txn_of_${p.id}`, 'charge', 100, 0)]]),
    );
    transactions.po_129 = [...many, txn('txn_po_129', 'payout', -2500, 0)];
    const { server, source } = await stripe(payouts, transactions);
    const read = await source.read();
    expect(read.parents).toHaveLength(130);
    expect(read.children).toHaveLength(129 + 250);
    expect(new Set(read.children.map((c) => c.id)).size).toBe(379);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: DATE,
      orphanKind: 'stripe_payout',
    });
    expect(groups.every((g) => g.status === 'group_matched')).toBe(true);
    const payoutPages = server.requests.filter((r) => r.path === '/v1/payouts');
    expect(payoutPages.map((r) => r.query.starting_after)).toEqual([undefined, 'po_030']);
    const of129 = server.requests.filter((r) => r.query.payout === 'po_129');
    expect(of129.map((r) => r.query.starting_after)).toEqual([undefined, 'txn_150', 'txn_050']);
  });

  it('retries 429 and 500 on the payouts list and on a balance transactions page, then succeeds', async () => {
    const { server, source } = await stripe(
      [payout('po_balanced', 95000)],
      { po_balanced: BALANCED },
      [
        { kind: 'status-429', onRequest: 1 },
        { kind: 'status-500', onRequest: 3 },
        { kind: 'status-429-retry-after-seconds', onRequest: 4, retryAfterSeconds: 1 },
      ],
    );
    const started = Date.now();
    const read = await source.read();
    expect(read.children).toHaveLength(3);
    expect(server.requests.map((r) => r.path)).toEqual([
      '/v1/payouts',
      '/v1/payouts',
      '/v1/balance_transactions',
      '/v1/balance_transactions',
      '/v1/balance_transactions',
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(warnings).toEqual([
      expect.objectContaining({ service: 'stripe', path: '/v1/payouts', attempt: 1 }),
      expect.objectContaining({ service: 'stripe', path: '/v1/balance_transactions', attempt: 1 }),
      expect.objectContaining({ service: 'stripe', path: '/v1/balance_transactions', attempt: 2 }),
    ]);
  });

  it('fails at once on 401 without the key in the message (exit 2)', async () => {
    const { server, source } = await stripe([payout('po_balanced', 95000)], {}, [
      { kind: 'status-401', onRequest: 1 },
    ]);
    const error = await source.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^stripe API \/v1\/payouts: HTTP 401, credentials rejected: /,
    );
    expect((error as Error).message).not.toContain(STRIPE_KEY);
    expect(server.requests).toHaveLength(1);
  });

  it('rejects a payouts page without data, and a repeating cursor (exit 4)', async () => {
    const malformed = await stripe([payout('po_balanced', 95000)], {}, [
      { kind: 'malformed-page', onRequest: 1 },
    ]);
    await expect(malformed.source.read()).rejects.toThrow(
      new InputRejectedError(
        "stripe API /v1/payouts: page is not a list object with 'data' and 'has_more'",
        { location: '' },
      ),
    );
    const payouts = Array.from({ length: 150 }, (_, i) =>
      payout(`po_${i}`, 1, { automatic: false, created: i }),
    );
    const repeating = await stripe(payouts, {}, [{ kind: 'repeat-cursor', onRequest: 2 }]);
    await expect(repeating.source.read()).rejects.toThrow(
      /^stripe API \/v1\/payouts: pagination repeats cursor po_50$/,
    );
  });

  it('lists an unreadable payout and balance transaction as invalid rows and keeps the rest', async () => {
    const bad = { ...payout('po_bad', 100), amount: 1.5 };
    const { server, source } = await stripe([payout('po_balanced', 95000), bad], {
      po_balanced: [
        ...BALANCED,
        { ...txn('txn_bad', 'charge', 10, 0), net: 'ten' as unknown as number },
      ],
    });
    const read = await source.read();
    expect(read.parents.map((p) => p.key)).toEqual(['po_balanced']);
    const at = server.baseUrl;
    expect(read.invalidRows).toEqual([
      {
        line: 1,
        reason: `${at}/v1/balance_transactions?payout=po_balanced: balance transaction txn_bad net: 'ten' is not a whole number of minor units`,
      },
      {
        line: 2,
        reason: `${at}/v1/payouts: payout po_bad amount: '1.5' is not a whole number of minor units`,
      },
    ]);
  });
});

const SQUARE_TOKEN = 'sq0atp-payouts-secret-789';
const SQUARE_DAY = '2025-10-02T';

function sqPayout(id: string, amount: number, extra: Partial<SquarePayout> = {}): SquarePayout {
  return {
    id,
    status: 'SENT',
    location_id: 'L1',
    created_at: `${SQUARE_DAY}08:00:00Z`,
    amount_money: { amount, currency: 'USD' },
    destination: { type: 'BANK_ACCOUNT', id: 'bact:1' },
    version: 1,
    type: 'BATCH',
    arrival_date: '2025-10-03',
    end_to_end_id: `L2${id}`,
    ...extra,
  };
}

function entry(
  id: string,
  payoutId: string,
  type: string,
  gross: number,
  fee: number,
  at = `${SQUARE_DAY}01:00:00Z`,
): SquarePayoutEntry {
  return {
    id,
    payout_id: payoutId,
    effective_at: at,
    type,
    gross_amount_money: { amount: gross, currency: 'USD' },
    fee_amount_money: { amount: -fee, currency: 'USD' },
    net_amount_money: { amount: gross - fee, currency: 'USD' },
  };
}

async function square(
  payouts: SquarePayout[],
  payoutEntries: SquarePayoutEntry[],
  faults: Fault[] = [],
) {
  const server = await startFakeSquare({
    accessToken: SQUARE_TOKEN,
    payments: [],
    payouts,
    payoutEntries,
    faults,
  });
  servers.push(server);
  const source = new SquarePayoutsSource(
    { baseUrl: server.baseUrl, accessToken: SQUARE_TOKEN, apiVersion: '2025-09-24' },
    DATE,
    { http: FAST_HTTP, observer },
  );
  return { server, source };
}

describe('Square payouts settlement source', () => {
  it('reads the day’s payouts and their entries: balanced, a missing refund, a SIMPLE payout; failed and other days left out', async () => {
    const { server, source } = await square(
      [
        sqPayout('po_sq_balanced', 95000),
        sqPayout('po_sq_no_refund', 95000, { created_at: `${SQUARE_DAY}09:00:00Z` }),
        sqPayout('po_sq_simple', 4000, { type: 'SIMPLE', created_at: `${SQUARE_DAY}10:00:00Z` }),
        sqPayout('po_sq_failed', 5000, { status: 'FAILED' }),
        sqPayout('po_sq_yesterday', 100, { created_at: '2025-10-01T23:59:59Z' }),
      ],
      [
        entry('poe_1', 'po_sq_balanced', 'CHARGE', 50000, 1500),
        entry('poe_2', 'po_sq_balanced', 'CHARGE', 50000, 1500, `${SQUARE_DAY}02:00:00Z`),
        entry('poe_3', 'po_sq_balanced', 'REFUND', -2000, 0, `${SQUARE_DAY}03:00:00Z`),
        entry('poe_4', 'po_sq_no_refund', 'CHARGE', 50000, 1500),
        entry('poe_5', 'po_sq_no_refund', 'CHARGE', 50000, 1500, `${SQUARE_DAY}02:00:00Z`),
      ],
    );
    const read = await source.read();
    expect(read.location).toBe(`${server.baseUrl}/v2/payouts`);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: '2025-10-03',
      orphanKind: 'square_payout',
    });
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: 'po_sq_balanced',
        kind: 'square_payout',
        currency: 'USD',
        parent_amount: '950.00',
        children_sum: '950.00',
        difference: '0.00',
        child_count: 3,
        status: 'group_matched',
        bank_entry: null,
      },
      {
        parent_id: 'po_sq_no_refund',
        kind: 'square_payout',
        currency: 'USD',
        parent_amount: '950.00',
        children_sum: '970.00',
        difference: '20.00',
        child_count: 2,
        status: 'group_sum_mismatch',
        bank_entry: null,
      },
      {
        parent_id: 'po_sq_simple',
        kind: 'square_payout',
        currency: 'USD',
        parent_amount: '40.00',
        children_sum: '0.00',
        difference: null,
        child_count: 0,
        status: 'unattributable',
        bank_entry: null,
      },
    ]);
    expect(read.parents[0]).toEqual({
      kind: 'square_payout',
      key: 'po_sq_balanced',
      currency: 'USD',
      amount: 95000n,
      dueDate: '2025-10-03',
      itemizable: true,
    });
    expect(read.children.filter((c) => c.parentKey === 'po_sq_balanced')).toEqual([
      {
        id: 'poe_1',
        parentKey: 'po_sq_balanced',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
      {
        id: 'poe_2',
        parentKey: 'po_sq_balanced',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
      {
        id: 'poe_3',
        parentKey: 'po_sq_balanced',
        category: 'refund',
        currency: 'USD',
        gross: -2000n,
        net: -2000n,
      },
    ]);
    expect(read.invalidRows).toEqual([]);
    const headers = { token: `Bearer ${SQUARE_TOKEN}` };
    expect(server.requests.map((r) => [r.path, r.query, r.authorization])).toEqual([
      [
        '/v2/payouts',
        {
          begin_time: '2025-10-02T00:00:00.000Z',
          end_time: '2025-10-03T00:00:00.000Z',
          sort_order: 'ASC',
          limit: '100',
        },
        headers.token,
      ],
      [
        '/v2/payouts/po_sq_balanced/payout-entries',
        { sort_order: 'ASC', limit: '100' },
        headers.token,
      ],
      [
        '/v2/payouts/po_sq_no_refund/payout-entries',
        { sort_order: 'ASC', limit: '100' },
        headers.token,
      ],
    ]);
  });

  it('follows the cursor over pages of payouts and of one payout’s entries, retrying 429 and 500', async () => {
    const payouts = Array.from({ length: 120 }, (_, i) =>
      sqPayout(`po_${String(i).padStart(3, '0')}`, i === 119 ? 2500 : 100, {
        created_at: new Date(Date.parse(`${SQUARE_DAY}00:00:00Z`) + i * 1000).toISOString(),
      }),
    );
    const entries = payouts
      .slice(0, 119)
      .map((p) => entry(`poe_of_${p.id}`, p.id, 'CHARGE', 100, 0));
    for (let i = 0; i < 250; i++) {
      const at = new Date(Date.parse(`${SQUARE_DAY}00:00:00Z`) + i * 1000).toISOString();
      entries.push(entry(`poe_${String(i).padStart(3, '0')}`, 'po_119', 'CHARGE', 10, 0, at));
    }
    const { server, source } = await square(payouts, entries, [
      { kind: 'status-429', onRequest: 1 },
      { kind: 'status-500', onRequest: 3 },
    ]);
    const read = await source.read();
    expect(read.parents).toHaveLength(120);
    expect(read.children).toHaveLength(119 + 250);
    expect(new Set(read.children.map((c) => c.id)).size).toBe(369);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: '2025-10-03',
      orphanKind: 'square_payout',
    });
    expect(groups.every((g) => g.status === 'group_matched')).toBe(true);
    const lists = server.requests.filter((r) => r.path === '/v2/payouts');
    expect(lists.map((r) => r.query.cursor === undefined)).toEqual([true, true, false]);
    const of119 = server.requests.filter((r) => r.path === '/v2/payouts/po_119/payout-entries');
    expect(of119.map((r) => r.query.cursor === undefined)).toEqual([true, false, false]);
    expect(warnings).toEqual([
      expect.objectContaining({ service: 'square', path: '/v2/payouts', attempt: 1 }),
      expect.objectContaining({
        service: 'square',
        path: '/v2/payouts/po_000/payout-entries',
        attempt: 1,
      }),
    ]);
  });

  it('accepts an empty day answered with {} and rejects a malformed page (exit 4)', async () => {
    const empty = await square([], []);
    expect(await empty.source.read()).toEqual({
      location: `${empty.server.baseUrl}/v2/payouts`,
      parents: [],
      children: [],
      invalidRows: [],
    });
    const malformed = await square(
      [sqPayout('po_1', 100)],
      [],
      [{ kind: 'malformed-page', onRequest: 2 }],
    );
    await expect(malformed.source.read()).rejects.toThrow(
      new InputRejectedError(
        "square API /v2/payouts/po_1/payout-entries page 1: 'payout_entries' is not an array",
        { location: '' },
      ),
    );
  });

  it("reads amount_money.currency_code as in Square's ListPayouts guide", async () => {
    const guide = {
      ...sqPayout('po_guide', -88, { type: 'SIMPLE' }),
      amount_money: { amount: -88, currency_code: 'EUR' },
    } as unknown as SquarePayout;
    const { source } = await square([guide], []);
    expect((await source.read()).parents).toEqual([
      {
        kind: 'square_payout',
        key: 'po_guide',
        currency: 'EUR',
        amount: -88n,
        dueDate: '2025-10-03',
        itemizable: false,
      },
    ]);
  });

  it('fails at once on 401 without the token in the message (exit 2)', async () => {
    const { server, source } = await square(
      [sqPayout('po_1', 100)],
      [],
      [{ kind: 'status-401', onRequest: 1 }],
    );
    const error = await source.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^square API \/v2\/payouts: HTTP 401, credentials rejected: /,
    );
    expect((error as Error).message).not.toContain(SQUARE_TOKEN);
    expect(server.requests).toHaveLength(1);
  });
});
