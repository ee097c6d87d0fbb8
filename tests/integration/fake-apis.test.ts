import {
  canonicalSamplePath,
  expectedFromCanonical,
  loadCanonicalRows,
  majorToMinor,
  minorToMajor,
  startFakeLedger,
  startFakePaypal,
  startFakeSquare,
  startFakeStripe,
  toLedgerEntry,
  toPaypalTransactionDetail,
  toSquarePayment,
  toStripeBalanceTransaction,
  type FakeServer,
} from '../helpers/fake-apis';

interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

/** A value at a dotted path of a JSON value (tests only; throws on a missing step). */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const step of path.split('.')) {
    if (typeof current !== 'object' || current === null) throw new Error(`no ${path}`);
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function list(value: unknown, path: string): Record<string, unknown>[] {
  const found = at(value, path);
  if (!Array.isArray(found)) throw new Error(`${path} is not an array`);
  return found as Record<string, unknown>[];
}

const DAY_START = '2025-09-30T00:00:00Z';
const DAY_END = '2025-10-01T00:00:00Z';
const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
function track<T extends FakeServer>(server: T): T {
  servers.push(server);
  return server;
}

describe('converters from canonical rows', () => {
  it('converts major-unit strings exactly with the currency exponent', () => {
    expect(majorToMinor('142.916', 'KWD')).toBe(142916n);
    expect(majorToMinor('430', 'JPY')).toBe(430n);
    expect(majorToMinor('-12.5', 'EUR')).toBe(-1250n);
    expect(majorToMinor('0.07', 'USD')).toBe(7n);
    expect(() => majorToMinor('1.234', 'USD')).toThrow(RangeError);
    expect(() => majorToMinor('1e3', 'USD')).toThrow(RangeError);
    expect(minorToMajor(-5n, 'USD')).toBe('-0.05');
    expect(minorToMajor(142916n, 'KWD')).toBe('142.916');
    expect(minorToMajor(430n, 'JPY')).toBe('430');
  });

  it('maps a Stripe refund and a pending charge per the documented rules', () => {
    const rows = loadCanonicalRows(canonicalSamplePath('internal_stripe'));
    const refund = rows.find((r) => r.status === 'refunded');
    const pending = rows.find((r) => r.status === 'pending');
    if (!refund || !pending) throw new Error('sample lacks a refund or a pending row');
    const r = toStripeBalanceTransaction(refund);
    expect(r).toMatchObject({ type: 'refund', status: 'available', source: refund.transaction_id });
    expect(r.amount).toBeLessThan(0);
    expect(r.net).toBe(r.amount - r.fee);
    expect(r.id).toMatch(/^txn_[0-9a-f]{24}$/);
    expect(toStripeBalanceTransaction(pending)).toMatchObject({
      type: 'charge',
      status: 'pending',
    });
  });

  it('gives each API the same id, minor amount, currency, instant, fee and description', () => {
    for (const name of ['stripe', 'paypal', 'square'] as const) {
      const rows = loadCanonicalRows(canonicalSamplePath(`internal_${name}`));
      expect(rows.length).toBeGreaterThan(20);
      for (const row of rows) {
        const want = expectedFromCanonical(row);
        if (name === 'stripe') {
          const t = toStripeBalanceTransaction(row);
          expect([t.source, BigInt(t.amount), t.currency.toUpperCase(), t.created * 1000]).toEqual([
            want.transactionId,
            want.amountMinor,
            want.currency,
            want.createdAtMs,
          ]);
          expect([BigInt(t.fee), t.description]).toEqual([want.feeMinor, want.description]);
        } else if (name === 'paypal') {
          const info = toPaypalTransactionDetail(row).transaction_info;
          expect(info.transaction_id).toBe(want.transactionId);
          expect(
            majorToMinor(info.transaction_amount.value, info.transaction_amount.currency_code),
          ).toBe(want.amountMinor);
          expect(Date.parse(info.transaction_initiation_date.replace(/\+0000$/, 'Z'))).toBe(
            want.createdAtMs,
          );
          expect(info.transaction_initiation_date).toMatch(
            /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/,
          );
          const fee = info.fee_amount
            ? -majorToMinor(info.fee_amount.value, info.fee_amount.currency_code)
            : null;
          expect([fee, info.transaction_subject ?? null]).toEqual([
            want.feeMinor,
            want.description,
          ]);
          expect(info.paypal_account_id).toBe(want.merchantId);
        } else {
          const p = toSquarePayment(row);
          expect([
            p.id,
            BigInt(p.amount_money.amount),
            p.amount_money.currency,
            Date.parse(p.created_at),
          ]).toEqual([want.transactionId, want.amountMinor, want.currency, want.createdAtMs]);
          const fee = p.processing_fee?.[0]?.amount_money.amount;
          expect([fee === undefined ? null : BigInt(fee), p.note ?? null]).toEqual([
            want.feeMinor,
            want.description,
          ]);
          expect(p.location_id).toBe(want.merchantId);
        }
      }
    }
  });

  it('maps PayPal fees negative and statuses to S/P/V/D', () => {
    const rows = loadCanonicalRows(canonicalSamplePath('internal_paypal'));
    const first = rows[0];
    const refund = rows.find((r) => r.status === 'refunded');
    if (!first || !refund) throw new Error('sample changed');
    expect(first).toMatchObject({ transaction_id: 'PAYID-NS0001', fee: '1.33' });
    expect(toPaypalTransactionDetail(first).transaction_info).toMatchObject({
      fee_amount: { currency_code: 'USD', value: '-1.33' },
      transaction_amount: { currency_code: 'USD', value: '35.66' },
      transaction_initiation_date: '2025-09-30T23:20:14+0000',
      transaction_status: 'S',
    });
    expect(toPaypalTransactionDetail(refund).transaction_info.transaction_status).toBe('V');
  });
});

describe('fake Stripe', () => {
  const rows = loadCanonicalRows(canonicalSamplePath('internal_stripe'));
  const transactions = rows.map(toStripeBalanceTransaction);
  const gte = String(Date.parse(DAY_START) / 1000);
  const lt = String(Date.parse(DAY_END) / 1000);
  const auth = { authorization: 'Bearer sk_test_fake' };

  it('pages newest first with starting_after and visits every item once', async () => {
    const stripe = track(await startFakeStripe({ apiKey: 'sk_test_fake', transactions }));
    const seen: string[] = [];
    let createdOrder: number[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const url = new URL('/v1/balance_transactions', stripe.baseUrl);
      url.searchParams.set('created[gte]', gte);
      url.searchParams.set('created[lt]', lt);
      url.searchParams.set('limit', '10');
      if (after) url.searchParams.set('starting_after', after);
      const page = await call(url.toString(), { headers: auth });
      expect(page.status).toBe(200);
      expect(at(page.body, 'object')).toBe('list');
      const data = list(page.body, 'data');
      seen.push(...data.map((t) => String(t.id)));
      createdOrder = [...createdOrder, ...data.map((t) => Number(t.created))];
      if (at(page.body, 'has_more') !== true) break;
      after = String(data[data.length - 1]?.id);
    }
    expect(seen).toHaveLength(transactions.length);
    expect(new Set(seen).size).toBe(transactions.length);
    expect(createdOrder).toEqual([...createdOrder].sort((a, b) => b - a));
    expect(stripe.requests).toHaveLength(3);
    expect(stripe.requests[1]?.query['starting_after']).toBe(seen[9]);
  });

  it('answers 401 with Stripe’s error body without a key, and 400 for limit 101', async () => {
    const stripe = track(await startFakeStripe({ apiKey: 'sk_test_fake', transactions }));
    const noKey = await call(`${stripe.baseUrl}/v1/balance_transactions`);
    expect(noKey.status).toBe(401);
    expect(at(noKey.body, 'error.type')).toBe('invalid_request_error');
    const tooMany = await call(`${stripe.baseUrl}/v1/balance_transactions?limit=101`, {
      headers: auth,
    });
    expect(tooMany.status).toBe(400);
    expect(at(tooMany.body, 'error.param')).toBe('limit');
  });

  it('fires 429 with Retry-After on exactly the scheduled request, then malformed', async () => {
    const stripe = track(
      await startFakeStripe({
        apiKey: 'sk_test_fake',
        transactions,
        faults: [
          { kind: 'status-429-retry-after-seconds', onRequest: 2, retryAfterSeconds: 3 },
          { kind: 'malformed-page', onRequest: 3 },
          { kind: 'status-429-retry-after-date', onRequest: 5, retryAfterSeconds: 2 },
        ],
      }),
    );
    const url = `${stripe.baseUrl}/v1/balance_transactions?limit=5`;
    expect((await call(url, { headers: auth })).status).toBe(200);
    const limited = await call(url, { headers: auth });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(at(limited.body, 'error.code')).toBe('rate_limit');
    const malformed = await call(url, { headers: auth });
    expect(malformed.status).toBe(200);
    expect(at(malformed.body, 'has_more')).toBe(true);
    expect(at(malformed.body, 'data')).toBeUndefined();
    expect((await call(url, { headers: auth })).status).toBe(200);
    const dated = await call(url, { headers: auth });
    expect(dated.status).toBe(429);
    const retryAt = Date.parse(dated.headers.get('retry-after') ?? '');
    expect(retryAt - Date.now()).toBeGreaterThan(1000);
    expect(retryAt - Date.now()).toBeLessThanOrEqual(3000);
  });
});

describe('fake PayPal', () => {
  const rows = loadCanonicalRows(canonicalSamplePath('internal_paypal'));
  const transactions = rows.map(toPaypalTransactionDetail);
  const creds = { clientId: 'client-id', clientSecret: 'secret' };

  async function token(baseUrl: string, secret = creds.clientSecret): Promise<JsonResponse> {
    return call(`${baseUrl}/v1/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${creds.clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
  }

  function search(baseUrl: string, page: number, pageSize = 10): string {
    const q = new URLSearchParams({
      start_date: '2025-09-30T00:00:00+00:00',
      end_date: '2025-10-01T00:00:00Z',
      fields: 'transaction_info',
      page_size: String(pageSize),
      page: String(page),
    });
    return `${baseUrl}/v1/reporting/transactions?${q.toString()}`;
  }

  it('issues a token, then pages until total_pages and visits every item once', async () => {
    const paypal = track(await startFakePaypal({ ...creds, transactions }));
    const issued = await token(paypal.baseUrl);
    expect(issued.status).toBe(200);
    expect(at(issued.body, 'token_type')).toBe('Bearer');
    expect(String(at(issued.body, 'access_token'))).toMatch(/^A21/);
    expect(at(issued.body, 'expires_in')).toBe(32400);
    const auth = { authorization: `Bearer ${String(at(issued.body, 'access_token'))}` };
    const seen: string[] = [];
    let totalPages = 1;
    for (let page = 1; page <= totalPages; page++) {
      const response = await call(search(paypal.baseUrl, page), { headers: auth });
      expect(response.status).toBe(200);
      totalPages = Number(at(response.body, 'total_pages'));
      expect(at(response.body, 'page')).toBe(page);
      expect(at(response.body, 'start_date')).toBe('2025-09-30T00:00:00+0000');
      seen.push(
        ...list(response.body, 'transaction_details').map((d) =>
          String(at(d, 'transaction_info.transaction_id')),
        ),
      );
    }
    // One sample row (PAYID-NS0026, 2025-10-01T00:30:00Z) lies outside the UTC day.
    const inDay = rows.filter((r) => r.created_at.startsWith('2025-09-30'));
    expect(inDay).toHaveLength(40);
    expect(totalPages).toBe(4);
    expect(seen.sort()).toEqual(inDay.map((r) => r.transaction_id).sort());
    expect(paypal.tokenRequests()).toBe(1);
  });

  it('rejects bad client credentials, a missing token and an expired token', async () => {
    const paypal = track(await startFakePaypal({ ...creds, transactions }));
    const bad = await token(paypal.baseUrl, 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({
      error: 'invalid_client',
      error_description: 'Client Authentication failed',
    });
    const none = await call(search(paypal.baseUrl, 1));
    expect(none.status).toBe(401);
    expect(at(none.body, 'name')).toBe('AUTHENTICATION_FAILURE');
    const good = await token(paypal.baseUrl);
    const auth = { authorization: `Bearer ${String(at(good.body, 'access_token'))}` };
    expect((await call(search(paypal.baseUrl, 1), { headers: auth })).status).toBe(200);
    paypal.expireTokens();
    expect((await call(search(paypal.baseUrl, 1), { headers: auth })).status).toBe(401);
    expect(paypal.tokenRequests()).toBe(2);
  });

  it('answers RESULTSET_TOO_LARGE and shrinks total_pages on the scheduled request', async () => {
    const small = track(await startFakePaypal({ ...creds, transactions, maxItemsPerRequest: 39 }));
    const auth1 = {
      authorization: `Bearer ${String(at((await token(small.baseUrl)).body, 'access_token'))}`,
    };
    const tooLarge = await call(search(small.baseUrl, 1), { headers: auth1 });
    expect(tooLarge.status).toBe(400);
    expect(at(tooLarge.body, 'name')).toBe('RESULTSET_TOO_LARGE');
    expect(at(tooLarge.body, 'maximum_items')).toBe(39);

    const paypal = track(
      await startFakePaypal({
        ...creds,
        transactions,
        faults: [{ kind: 'shrinking-pages', onRequest: 2 }],
      }),
    );
    const auth = {
      authorization: `Bearer ${String(at((await token(paypal.baseUrl)).body, 'access_token'))}`,
    };
    const first = await call(search(paypal.baseUrl, 1), { headers: auth });
    const second = await call(search(paypal.baseUrl, 2), { headers: auth });
    expect(at(first.body, 'total_pages')).toBe(4);
    expect(at(second.body, 'total_pages')).toBe(3);
  });
});

describe('fake Square', () => {
  const rows = loadCanonicalRows(canonicalSamplePath('internal_square'));
  const payments = rows.map(toSquarePayment);
  const auth = { authorization: 'Bearer EAAA-fake' };
  const base = (s: FakeServer, extra = ''): string =>
    `${s.baseUrl}/v2/payments?begin_time=${DAY_START}&end_time=${DAY_END}&limit=50${extra}`;

  it('pages with cursor, omits the cursor on the last page and returns {} for an empty day', async () => {
    const square = track(await startFakeSquare({ accessToken: 'EAAA-fake', payments }));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await call(
        base(square, cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''),
        { headers: auth },
      );
      expect(response.status).toBe(200);
      pages++;
      seen.push(...list(response.body, 'payments').map((p) => String(p.id)));
      const next = (response.body as { cursor?: unknown }).cursor;
      cursor = typeof next === 'string' ? next : undefined;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    // The sample holds sq_pay_0060 twice on purpose: the fake serves both copies, each once.
    expect(seen).toHaveLength(payments.length);
    expect(new Set(seen).size).toBe(payments.length - 1);
    expect(seen.filter((id) => id === 'sq_pay_0060')).toHaveLength(2);

    const empty = await call(
      `${square.baseUrl}/v2/payments?begin_time=2025-01-01T00:00:00Z&end_time=2025-01-02T00:00:00Z`,
      {
        headers: auth,
      },
    );
    expect(empty).toMatchObject({ status: 200, body: {} });
  });

  it('answers 401 with AUTHENTICATION_ERROR and a malformed page on the scheduled request', async () => {
    const square = track(
      await startFakeSquare({
        accessToken: 'EAAA-fake',
        payments,
        faults: [{ kind: 'malformed-page', onRequest: 3 }],
      }),
    );
    const denied = await call(base(square));
    expect(denied.status).toBe(401);
    expect(at(denied.body, 'errors')).toEqual([
      {
        category: 'AUTHENTICATION_ERROR',
        code: 'UNAUTHORIZED',
        detail: 'This request could not be authorized.',
      },
    ]);
    expect(Array.isArray(at((await call(base(square), { headers: auth })).body, 'payments'))).toBe(
      true,
    );
    const malformed = await call(base(square), { headers: auth });
    expect(malformed.status).toBe(200);
    expect(Array.isArray(at(malformed.body, 'payments'))).toBe(false);
    expect(typeof at(malformed.body, 'cursor')).toBe('string');
    expect(square.requests.map((r) => r.authorization)).toEqual([
      undefined,
      auth.authorization,
      auth.authorization,
    ]);
  });

  it('repeat-cursor returns the cursor the client just sent', async () => {
    const square = track(
      await startFakeSquare({
        accessToken: 'EAAA-fake',
        payments,
        faults: [{ kind: 'repeat-cursor', onRequest: 2 }],
      }),
    );
    const first = await call(base(square), { headers: auth });
    const cursor = String(at(first.body, 'cursor'));
    const repeated = await call(base(square, `&cursor=${cursor}`), { headers: auth });
    expect(at(repeated.body, 'cursor')).toBe(cursor);
    expect(repeated.body).toEqual(first.body);
  });
});

describe('fake ledger', () => {
  const rows = loadCanonicalRows(canonicalSamplePath('internal_square'));
  const entries = [
    ...rows.map((r) => toLedgerEntry(r, 'square')),
    ...loadCanonicalRows(canonicalSamplePath('internal_stripe')).map((r) =>
      toLedgerEntry(r, 'stripe'),
    ),
  ];
  const query = `processor=square&from=${DAY_START}&to=${DAY_END}`;

  it('cursor style: pages to next_cursor null, requires the token, fires 500 once', async () => {
    const ledger = track(
      await startFakeLedger({
        token: 't0k',
        entries,
        style: 'cursor',
        faults: [{ kind: 'status-500', onRequest: 2 }],
      }),
    );
    const url = `${ledger.baseUrl}/v1/ledger/transactions?${query}&limit=50`;
    const denied = await call(url);
    expect(denied.status).toBe(401);
    expect(at(denied.body, 'error.code')).toBe('unauthorized');
    const headers = { authorization: 'Bearer t0k' };
    const failed = await call(url, { headers });
    expect(failed.status).toBe(500);
    const seen: string[] = [];
    let cursor: string | undefined;
    let last: unknown;
    do {
      const page = await call(cursor ? `${url}&cursor=${cursor}` : url, { headers });
      expect(page.status).toBe(200);
      seen.push(...list(page.body, 'data').map((e) => String(e.transaction_id)));
      last = at(page.body, 'next_cursor');
      cursor = typeof last === 'string' ? last : undefined;
    } while (cursor !== undefined);
    expect(last).toBeNull();
    expect(seen.sort()).toEqual(rows.map((r) => r.transaction_id).sort());
  });

  it('page style: total_pages, every entry once, entries identical to the CSV row', async () => {
    const ledger = track(await startFakeLedger({ entries, style: 'page' }));
    const seen: Record<string, unknown>[] = [];
    let totalPages = 1;
    for (let page = 1; page <= totalPages; page++) {
      const response = await call(
        `${ledger.baseUrl}/v1/ledger/transactions?${query}&page=${page}&page_size=40`,
      );
      totalPages = Number(at(response.body, 'total_pages'));
      seen.push(...list(response.body, 'data'));
    }
    expect(totalPages).toBe(4);
    expect(seen).toHaveLength(rows.length);
    expect(seen.find((e) => e.transaction_id === 'sq_pay_0001')).toEqual({
      ...rows[0],
      processor: 'square',
    });
  });
});

describe('fake payouts endpoints (issue #15)', () => {
  const payout = (id: string, automatic: boolean, arrival: number) => ({
    id,
    object: 'payout' as const,
    amount: 100,
    arrival_date: arrival,
    automatic,
    balance_transaction: null,
    created: arrival - 86400,
    currency: 'usd',
    description: null,
    method: 'standard' as const,
    statement_descriptor: null,
    status: 'paid' as const,
    type: 'bank_account' as const,
  });

  it('Stripe: filters payouts on arrival_date, serves a payout’s transactions, refuses manual and unknown payouts', async () => {
    const stripe = track(
      await startFakeStripe({
        apiKey: 'sk_test_1',
        transactions: [],
        payouts: [payout('po_a', true, 1759363200), payout('po_m', false, 1759449600)],
        payoutTransactions: { po_a: [] },
      }),
    );
    const auth = { headers: { authorization: 'Bearer sk_test_1' } };
    const day = await call(
      `${stripe.baseUrl}/v1/payouts?arrival_date[gte]=1759363200&arrival_date[lt]=1759449600`,
      auth,
    );
    expect([day.status, list(day.body, 'data').map((p) => p.id), at(day.body, 'url')]).toEqual([
      200,
      ['po_a'],
      '/v1/payouts',
    ]);
    const own = await call(`${stripe.baseUrl}/v1/balance_transactions?payout=po_a`, auth);
    expect(own.body).toEqual({
      object: 'list',
      url: '/v1/balance_transactions',
      has_more: false,
      data: [],
    });
    const manual = await call(`${stripe.baseUrl}/v1/balance_transactions?payout=po_m`, auth);
    expect([manual.status, at(manual.body, 'error.message')]).toEqual([
      400,
      'Balance transaction history can only be filtered on automatic transfers, not manual.',
    ]);
    const unknown = await call(`${stripe.baseUrl}/v1/balance_transactions?payout=po_x`, auth);
    expect([unknown.status, at(unknown.body, 'error.code')]).toEqual([404, 'resource_missing']);
  });

  it('Square: pages ListPayouts by created_at and ListPayoutEntries by payout, 404 for an unknown payout', async () => {
    const money = { amount: 100, currency: 'USD' };
    const square = track(
      await startFakeSquare({
        accessToken: 'tok',
        payments: [],
        payouts: [
          {
            id: 'po_1',
            status: 'PAID',
            location_id: 'L',
            created_at: '2025-10-02T01:00:00Z',
            amount_money: money,
            type: 'BATCH',
          },
          {
            id: 'po_2',
            status: 'PAID',
            location_id: 'L',
            created_at: '2025-10-03T01:00:00Z',
            amount_money: money,
            type: 'BATCH',
          },
        ],
        payoutEntries: [
          {
            id: 'e1',
            payout_id: 'po_1',
            effective_at: '2025-10-01T01:00:00Z',
            type: 'CHARGE',
            net_amount_money: money,
          },
          {
            id: 'e2',
            payout_id: 'po_1',
            effective_at: '2025-10-01T02:00:00Z',
            type: 'CHARGE',
            net_amount_money: money,
          },
        ],
      }),
    );
    const auth = { headers: { authorization: 'Bearer tok' } };
    const day = await call(
      `${square.baseUrl}/v2/payouts?begin_time=2025-10-02T00:00:00Z&end_time=2025-10-03T00:00:00Z`,
      auth,
    );
    expect(list(day.body, 'payouts').map((p) => p.id)).toEqual(['po_1']);
    const first = await call(
      `${square.baseUrl}/v2/payouts/po_1/payout-entries?sort_order=ASC&limit=1`,
      auth,
    );
    expect(list(first.body, 'payout_entries').map((e) => e.id)).toEqual(['e1']);
    const cursor = String(at(first.body, 'cursor'));
    const second = await call(
      `${square.baseUrl}/v2/payouts/po_1/payout-entries?cursor=${cursor}`,
      auth,
    );
    expect(second.body).toEqual({ payout_entries: [expect.objectContaining({ id: 'e2' })] });
    const none = await call(`${square.baseUrl}/v2/payouts/po_2/payout-entries`, auth);
    expect([none.status, none.body]).toEqual([200, {}]);
    const unknown = await call(`${square.baseUrl}/v2/payouts/po_x/payout-entries`, auth);
    expect([unknown.status, at(unknown.body, 'errors')]).toEqual([
      404,
      [{ category: 'INVALID_REQUEST_ERROR', code: 'NOT_FOUND', detail: 'Payout po_x not found.' }],
    ]);
  });
});

describe('fault timing and shutdown', () => {
  it('close() cancels a slow response promptly and leaves nothing running', async () => {
    const ledger = await startFakeLedger({
      entries: [],
      style: 'page',
      faults: [{ kind: 'slow', onRequest: 1, delayMs: 30_000 }],
    });
    const pending = fetch(
      `${ledger.baseUrl}/v1/ledger/transactions?processor=x&from=${DAY_START}&to=${DAY_END}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await ledger.close();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ledger.requests).toHaveLength(1);
  });

  it('delays exactly the scheduled request', async () => {
    const ledger = track(
      await startFakeLedger({
        entries: [],
        style: 'cursor',
        faults: [{ kind: 'slow', onRequest: 2, delayMs: 300 }],
      }),
    );
    const url = `${ledger.baseUrl}/v1/ledger/transactions?processor=x&from=${DAY_START}&to=${DAY_END}`;
    const timed = async (): Promise<number> => {
      const t0 = Date.now();
      expect((await call(url)).status).toBe(200);
      return Date.now() - t0;
    };
    expect(await timed()).toBeLessThan(250);
    expect(await timed()).toBeGreaterThanOrEqual(290);
    expect(await timed()).toBeLessThan(250);
  });

  it('rejects a fault kind the API cannot express', async () => {
    await expect(
      startFakeStripe({
        apiKey: 'k',
        transactions: [],
        faults: [{ kind: 'shrinking-pages', onRequest: 1 }],
      }),
    ).rejects.toThrow(TypeError);
  });
});
