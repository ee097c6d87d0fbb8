import { ConfigError, DependencyUnavailableError } from '../../domain/errors';
import { registerSecret } from '../../domain/redact';
import { ContractViolationError, excerpt, type HttpClient } from './http-client';
import type { ApiAdapter, ApiPage, FetchWindow } from './api-source';
import { getPath, isJsonObject } from './json-path';
import type { RawRecord } from '../normalize-record';

/** Settings of the PayPal adapter. */
export interface PaypalApiSettings {
  /** `https://api-m.paypal.com` (sandbox: `https://api-m.sandbox.paypal.com`). */
  readonly baseUrl: string;
  readonly clientId: string;
  /** Never logged. */
  readonly clientSecret: string;
  /** Items per page, 1–500. */
  readonly pageSize: number;
}

const TOKEN_PATH = '/v1/oauth2/token';
const PATH = '/v1/reporting/transactions';

/** PayPal's RFC 3339 form without milliseconds: `2025-09-30T00:00:00Z`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * PayPal Transaction Search for a business day (https://developer.paypal.com/docs/api/transaction-search/v1/):
 * an OAuth2 client-credentials token (`POST /v1/oauth2/token`, cached until shortly before
 * `expires_in`), then `GET /v1/reporting/transactions?start_date=…&end_date=…&fields=all&page_size=500&page=n`
 * for n = 1…`total_pages`. Amounts are decimal strings in major units (`{"currency_code","value"}`);
 * fees are negative in PayPal and stored positive here; timestamps like
 * `2014-07-11T04:03:52+0000` are accepted. A `RESULTSET_TOO_LARGE` answer (more than 10,000
 * items) splits the window in halves and fetches each.
 */
export class PaypalTransactionsAdapter implements ApiAdapter {
  readonly service = 'paypal';
  readonly location: string;
  private token: { value: string; expiresAtMs: number } | undefined;
  private readonly base: string;

  constructor(private readonly settings: PaypalApiSettings) {
    this.base = settings.baseUrl.replace(/\/$/, '');
    this.location = `${this.base}${PATH}`;
  }

  private async accessToken(
    http: HttpClient,
    deadline: AbortSignal,
    renew: boolean,
  ): Promise<string> {
    if (!renew && this.token && Date.now() < this.token.expiresAtMs) return this.token.value;
    const basic = Buffer.from(`${this.settings.clientId}:${this.settings.clientSecret}`).toString(
      'base64',
    );
    const response = await http.send(
      {
        url: new URL(`${this.base}${TOKEN_PATH}`),
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      },
      deadline,
    );
    const value = getPath(response.json, 'access_token');
    const expiresIn = getPath(response.json, 'expires_in');
    if (typeof value !== 'string' || value === '') {
      throw new DependencyUnavailableError(
        'paypal',
        `paypal API ${TOKEN_PATH}: no access_token in the answer`,
      );
    }
    registerSecret('PayPal access token', value); // a secret recon was not configured with
    const ttlMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : 60_000;
    // Renew a minute early (or at half-life for short tokens) so a token never expires mid-fetch.
    this.token = { value, expiresAtMs: Date.now() + Math.max(ttlMs - 60_000, ttlMs / 2) };
    return value;
  }

  async *fetchPages(
    window: FetchWindow,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<ApiPage> {
    const windows: FetchWindow[] = [window];
    while (windows.length > 0) {
      const current = windows.shift() as FetchWindow;
      const split = yield* this.fetchWindow(current, http, deadline);
      if (split) {
        if (current.endMs - current.startMs <= 1000) {
          throw new DependencyUnavailableError(
            'paypal',
            `paypal API ${PATH}: RESULTSET_TOO_LARGE even for a one-second window`,
          );
        }
        const middle =
          current.startMs + Math.floor((current.endMs - current.startMs) / 2000) * 1000;
        windows.unshift(
          { startMs: current.startMs, endMs: middle },
          { startMs: middle, endMs: current.endMs },
        );
      }
    }
  }

  /** Yields the pages of one window; returns true when PayPal asks for a smaller window. */
  private async *fetchWindow(
    window: FetchWindow,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<ApiPage, boolean> {
    let totalPages: number | undefined;
    for (let page = 1; totalPages === undefined || page <= totalPages; page++) {
      const url = new URL(this.location);
      url.searchParams.set('start_date', rfc3339(window.startMs));
      url.searchParams.set('end_date', rfc3339(window.endMs));
      url.searchParams.set('fields', 'all');
      url.searchParams.set('page_size', String(this.settings.pageSize));
      url.searchParams.set('page', String(page));
      let response = await http.send(
        {
          url,
          headers: { authorization: `Bearer ${await this.accessToken(http, deadline, false)}` },
          passThrough: [400, 401],
        },
        deadline,
      );
      if (response.status === 401) {
        // The cached token may have been revoked or expired early: renew once.
        response = await http.send(
          {
            url,
            headers: { authorization: `Bearer ${await this.accessToken(http, deadline, true)}` },
            passThrough: [400],
          },
          deadline,
        );
      }
      if (response.status === 400) {
        if (getPath(response.json, 'name') === 'RESULTSET_TOO_LARGE') {
          if (page > 1) {
            throw new ContractViolationError(
              `paypal API ${PATH}: RESULTSET_TOO_LARGE on page ${page}`,
              { location: this.location },
            );
          }
          return true;
        }
        throw new DependencyUnavailableError(
          'paypal',
          `paypal API ${PATH}: HTTP 400: ${excerpt(response.text)}`,
        );
      }
      if (response.status === 401) {
        throw new ConfigError(
          `paypal API ${PATH}: HTTP 401, credentials rejected: ${excerpt(response.text)}`,
        );
      }
      const apiPage: ApiPage = {
        path: `${PATH} ${rfc3339(window.startMs)}..${rfc3339(window.endMs)} page ${page}`,
        body: response.json,
      };
      this.itemsOf(apiPage);
      const reported = getPath(response.json, 'total_pages');
      const pages = reported === undefined ? 1 : reported;
      if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 0) {
        throw new ContractViolationError(
          `paypal API ${apiPage.path}: total_pages is not a whole number`,
          { location: this.location },
        );
      }
      if (totalPages !== undefined && pages < totalPages) {
        throw new ContractViolationError(
          `paypal API ${apiPage.path}: total_pages shrank from ${totalPages} to ${pages} during the fetch`,
          { location: this.location },
        );
      }
      totalPages = pages;
      yield apiPage;
    }
    return false;
  }

  /** A fresh OAuth token: the client credentials are accepted. */
  async probe(http: HttpClient, deadline: AbortSignal): Promise<void> {
    await this.accessToken(http, deadline, true);
  }

  itemsOf(page: ApiPage): readonly unknown[] {
    const details = getPath(page.body, 'transaction_details');
    if (!isJsonObject(page.body) || !Array.isArray(details)) {
      throw new ContractViolationError(`paypal API ${page.path}: no 'transaction_details' array`, {
        location: this.location,
      });
    }
    return details;
  }

  toRecord(item: unknown): RawRecord {
    const fee = getPath(item, 'transaction_info.fee_amount.value');
    let feeValue: unknown = fee;
    if (typeof fee === 'string' && /^-?\d*(\.\d+)?$/.test(fee.trim()) && fee.trim() !== '') {
      const trimmed = fee.trim();
      feeValue = trimmed.startsWith('-')
        ? trimmed.slice(1)
        : trimmed === '0' || /^0*(\.0*)?$/.test(trimmed)
          ? trimmed
          : `-${trimmed}`;
    }
    return {
      transactionId: getPath(item, 'transaction_info.transaction_id'),
      amount: { units: 'major', value: getPath(item, 'transaction_info.transaction_amount.value') },
      fee: { units: 'major', value: feeValue },
      currency: getPath(item, 'transaction_info.transaction_amount.currency_code'),
      status: getPath(item, 'transaction_info.transaction_status'),
      merchantId: getPath(item, 'transaction_info.paypal_account_id'),
      createdAt: getPath(item, 'transaction_info.transaction_initiation_date'),
      description: getPath(item, 'transaction_info.transaction_subject'),
      fields: {
        transactionId: 'transaction_info.transaction_id',
        amount: 'transaction_info.transaction_amount.value',
        currency: 'transaction_info.transaction_amount.currency_code',
        status: 'transaction_info.transaction_status',
        merchantId: 'transaction_info.paypal_account_id',
        createdAt: 'transaction_info.transaction_initiation_date',
        fee: 'transaction_info.fee_amount.value',
      },
    };
  }
}
