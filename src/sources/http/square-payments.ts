import { ContractViolationError, type HttpClient } from './http-client';
import type { ApiAdapter, ApiPage, FetchWindow } from './api-source';
import { getPath, isJsonObject } from './json-path';
import type { RawRecord } from '../normalize-record';

/** Settings of the Square adapter. */
export interface SquareApiSettings {
  /** `https://connect.squareup.com` (configurable for the sandbox and tests). */
  readonly baseUrl: string;
  /** Bearer access token; never logged. */
  readonly accessToken: string;
  /** `Square-Version` header (API version date). */
  readonly apiVersion: string;
}

const PATH = '/v2/payments';

/**
 * Square payments for a business day: `GET /v2/payments?begin_time=…&end_time=…&limit=100`,
 * following `cursor` until a response has none (https://developer.squareup.com/reference/square/payments-api/list-payments,
 * https://developer.squareup.com/docs/build-basics/common-api-patterns/pagination). `amount_money`
 * is in minor units; the fee is the sum of `processing_fee[].amount_money`; `location_id` is the
 * merchant; `source_type` (`CARD`, `WALLET`, …) the payment method; statuses
 * `COMPLETED`/`APPROVED`/`FAILED`/`CANCELED` go through the status map.
 * An empty day may come back as `{}`.
 */
export class SquarePaymentsAdapter implements ApiAdapter {
  readonly service = 'square';
  readonly location: string;

  constructor(private readonly settings: SquareApiSettings) {
    this.location = `${settings.baseUrl.replace(/\/$/, '')}${PATH}`;
  }

  async *fetchPages(
    window: FetchWindow,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<ApiPage> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    let pageNumber = 0;
    for (;;) {
      pageNumber++;
      const url = new URL(this.location);
      url.searchParams.set('begin_time', new Date(window.startMs).toISOString());
      url.searchParams.set('end_time', new Date(window.endMs).toISOString());
      url.searchParams.set('sort_order', 'ASC');
      url.searchParams.set('limit', '100');
      if (cursor) url.searchParams.set('cursor', cursor);
      const response = await http.send(
        {
          url,
          headers: {
            authorization: `Bearer ${this.settings.accessToken}`,
            'square-version': this.settings.apiVersion,
          },
        },
        deadline,
      );
      const page: ApiPage = { path: `${PATH} page ${pageNumber}`, body: response.json };
      this.itemsOf(page);
      yield page;
      const next = getPath(response.json, 'cursor');
      if (next === undefined || next === null || next === '') return;
      if (typeof next !== 'string') {
        throw new ContractViolationError(`square API ${PATH}: cursor is not a string`, {
          location: this.location,
        });
      }
      if (seen.has(next)) {
        throw new ContractViolationError(`square API ${PATH}: pagination repeats a cursor`, {
          location: this.location,
        });
      }
      seen.add(next);
      cursor = next;
    }
  }

  /** `GET /v2/payments?limit=1`: accepted credentials answer 200. */
  async probe(http: HttpClient, deadline: AbortSignal): Promise<void> {
    const url = new URL(this.location);
    url.searchParams.set('limit', '1');
    await http.send(
      {
        url,
        headers: {
          authorization: `Bearer ${this.settings.accessToken}`,
          'square-version': this.settings.apiVersion,
        },
      },
      deadline,
    );
  }

  itemsOf(page: ApiPage): readonly unknown[] {
    if (!isJsonObject(page.body)) {
      throw new ContractViolationError(`square API ${page.path}: response is not a JSON object`, {
        location: this.location,
      });
    }
    const payments = getPath(page.body, 'payments');
    const cursor = getPath(page.body, 'cursor');
    if (payments === undefined) {
      if (cursor !== undefined && cursor !== '') {
        throw new ContractViolationError(`square API ${page.path}: a cursor without 'payments'`, {
          location: this.location,
        });
      }
      return [];
    }
    if (!Array.isArray(payments)) {
      throw new ContractViolationError(`square API ${page.path}: 'payments' is not an array`, {
        location: this.location,
      });
    }
    return payments;
  }

  toRecord(item: unknown): RawRecord {
    const fees = getPath(item, 'processing_fee');
    let fee: string | undefined;
    if (Array.isArray(fees) && fees.length > 0) {
      let total = 0n;
      let ok = true;
      for (const entry of fees) {
        const amount = getPath(entry, 'amount_money.amount');
        if (typeof amount === 'number' && Number.isSafeInteger(amount)) total += BigInt(amount);
        else ok = false;
      }
      fee = ok ? total.toString() : 'invalid';
    }
    return {
      transactionId: getPath(item, 'id'),
      amount: { units: 'minor', value: getPath(item, 'amount_money.amount') },
      fee: fee === undefined ? undefined : { units: 'minor', value: fee },
      currency: getPath(item, 'amount_money.currency'),
      status: getPath(item, 'status'),
      merchantId: getPath(item, 'location_id'),
      createdAt: getPath(item, 'created_at'),
      description: getPath(item, 'note'),
      paymentMethod: getPath(item, 'source_type'),
      fields: {
        transactionId: 'id',
        amount: 'amount_money.amount',
        currency: 'amount_money.currency',
        status: 'status',
        merchantId: 'location_id',
        createdAt: 'created_at',
        fee: 'processing_fee[].amount_money.amount',
      },
    };
  }
}
