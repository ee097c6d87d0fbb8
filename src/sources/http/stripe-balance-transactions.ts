import { ContractViolationError, type HttpClient } from './http-client';
import type { ApiAdapter, ApiPage, FetchWindow } from './api-source';
import { getPath, isJsonObject } from './json-path';
import type { RawRecord } from '../normalize-record';

/** Settings of the Stripe adapter. */
export interface StripeApiSettings {
  /** `https://api.stripe.com` (configurable for tests and proxies). */
  readonly baseUrl: string;
  /** Secret key `sk_…`; sent as a Bearer token, never logged. */
  readonly apiKey: string;
  /** Which field is the matching key: the related object (`source`, e.g. `ch_…`) or the `id`. */
  readonly matchKey: 'source' | 'id';
  /** Used as merchant_id (balance transactions carry none); default `stripe`. */
  readonly accountLabel: string;
}

const PATH = '/v1/balance_transactions';

/**
 * Stripe balance transactions for a business day:
 * `GET /v1/balance_transactions?created[gte]=…&created[lt]=…&limit=100`, cursor pagination with
 * `starting_after=<last id>` while `has_more` (https://docs.stripe.com/api/balance_transactions/list,
 * https://docs.stripe.com/api/pagination). `amount` (gross), `fee` and `net` are integers in minor
 * units (`net` = amount − fee, checked: `net_mismatch`), currency
 * lower case, `created` in Unix seconds (https://docs.stripe.com/api/balance_transactions/object).
 * Status: `refund` transactions are `refunded`; otherwise `available`/`pending`.
 */
export class StripeBalanceTransactionsAdapter implements ApiAdapter {
  readonly service = 'stripe';
  readonly location: string;

  constructor(private readonly settings: StripeApiSettings) {
    this.location = `${settings.baseUrl.replace(/\/$/, '')}${PATH}`;
  }

  async *fetchPages(
    window: FetchWindow,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<ApiPage> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const url = new URL(this.location);
      url.searchParams.set('created[gte]', String(Math.floor(window.startMs / 1000)));
      url.searchParams.set('created[lt]', String(Math.floor(window.endMs / 1000)));
      url.searchParams.set('limit', '100');
      if (cursor) url.searchParams.set('starting_after', cursor);
      const response = await http.send(
        { url, headers: { authorization: `Bearer ${this.settings.apiKey}` } },
        deadline,
      );
      const page: ApiPage = {
        path: `${PATH}${cursor ? ` after ${cursor}` : ''}`,
        body: response.json,
      };
      const items = this.itemsOf(page);
      yield page;
      if (getPath(response.json, 'has_more') !== true) return;
      const last = items[items.length - 1];
      const next = getPath(last, 'id');
      if (typeof next !== 'string' || next === '') {
        throw new ContractViolationError(
          `stripe API ${PATH}: has_more is true but the page has no last id`,
          { location: this.location },
        );
      }
      if (seen.has(next)) {
        throw new ContractViolationError(`stripe API ${PATH}: pagination repeats cursor ${next}`, {
          location: this.location,
        });
      }
      seen.add(next);
      cursor = next;
    }
  }

  /** `GET /v1/balance_transactions?limit=1`: accepted credentials answer 200. */
  async probe(http: HttpClient, deadline: AbortSignal): Promise<void> {
    const url = new URL(this.location);
    url.searchParams.set('limit', '1');
    await http.send(
      { url, headers: { authorization: `Bearer ${this.settings.apiKey}` } },
      deadline,
    );
  }

  itemsOf(page: ApiPage): readonly unknown[] {
    const data = getPath(page.body, 'data');
    const hasMore = getPath(page.body, 'has_more');
    if (!isJsonObject(page.body) || !Array.isArray(data) || typeof hasMore !== 'boolean') {
      throw new ContractViolationError(
        `stripe API ${page.path}: page is not a list object with 'data' and 'has_more'`,
        { location: this.location },
      );
    }
    if (hasMore && data.length === 0) {
      throw new ContractViolationError(
        `stripe API ${page.path}: has_more is true on an empty page`,
        { location: this.location },
      );
    }
    return data;
  }

  toRecord(item: unknown): RawRecord {
    const source = getPath(item, 'source');
    const sourceId = isJsonObject(source) ? source.id : source;
    const key =
      this.settings.matchKey === 'source' && typeof sourceId === 'string' && sourceId !== ''
        ? sourceId
        : getPath(item, 'id');
    const type = getPath(item, 'type');
    return {
      transactionId: key,
      amount: { units: 'minor', value: getPath(item, 'amount') },
      fee: { units: 'minor', value: getPath(item, 'fee') },
      net: { units: 'minor', value: getPath(item, 'net') },
      currency: getPath(item, 'currency'),
      status: type === 'refund' ? 'refunded' : getPath(item, 'status'),
      merchantId: this.settings.accountLabel,
      createdAt: getPath(item, 'created'),
      description: getPath(item, 'description'),
      fields: {
        transactionId: this.settings.matchKey === 'source' ? 'source' : 'id',
        amount: 'amount',
        currency: 'currency',
        status: 'status',
        merchantId: 'account',
        createdAt: 'created',
        fee: 'fee',
        net: 'net',
      },
    };
  }
}
