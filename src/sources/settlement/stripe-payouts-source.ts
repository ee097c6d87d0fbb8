import { InputRejectedError } from '../../domain/errors';
import type { SettlementRead, SettlementSource } from '../../engine/settlement';
import type { SettlementChild, SettlementParent } from '../../engine/settlement-groups';
import { ContractViolationError, HttpClient } from '../http/http-client';
import { getPath, isJsonObject } from '../http/json-path';
import type { StripeApiSettings } from '../http/stripe-balance-transactions';
import {
  stripePayoutChildren,
  stripePayoutParent,
  type StripeBalanceTransactionObject,
  type StripePayoutObject,
} from './payout-api-groups';
import { excerptJson, readDeadline, type SettlementApiOptions } from './settlement-api';

const PAYOUTS_PATH = '/v1/payouts';
const TRANSACTIONS_PATH = '/v1/balance_transactions';
const DAY_MS = 24 * 3600 * 1000;

/** Payout statuses whose money never reaches the bank: no group is formed for them. */
const NOT_PAID_OUT = new Set(['canceled', 'failed']);

/**
 * Stripe payouts of a business date and their balance transactions, as settlement groups
 * (issue #15):
 *
 * 1. `GET /v1/payouts?arrival_date[gte]=…&arrival_date[lt]=…&limit=100`, the UTC calendar day of
 *    `businessDate` (Stripe's `arrival_date` is midnight UTC of the expected arrival day), cursor
 *    pagination with `starting_after=<last id>` while `has_more`
 *    (https://docs.stripe.com/api/payouts/list, https://docs.stripe.com/api/pagination);
 * 2. for each automatic, standard payout: `GET /v1/balance_transactions?payout=po_…&limit=100`,
 *    paginated the same way (https://docs.stripe.com/api/balance_transactions/list: "for automatic
 *    Stripe payouts only"). Manual (`automatic: false`) and instant (`method: instant`) payouts
 *    cannot be itemized: parents with `itemizable: false` (→ `unattributable`), no children fetch.
 *    `canceled` and `failed` payouts never reach the bank: left out.
 *
 * Amounts are integers in minor units (mapped by `payout-api-groups.ts`). The same HTTP client
 * and rules as the balance transactions adapter: Bearer key (never logged, never in messages),
 * retries on 429/5xx/network errors with backoff and `Retry-After`, one deadline for the read.
 * A payout or balance transaction whose fields cannot be read is left out and listed in
 * `invalidRows` (`line` = the payout's 1-based position in the payouts fetch).
 * @throws ConfigError for rejected credentials (exit 2), DependencyUnavailableError when the API
 *   cannot be reached within its attempts or the deadline (exit 3), ContractViolationError
 *   (an `InputRejectedError`, exit 4) for a page that is not a list or a repeating cursor.
 */
export class StripePayoutsSource implements SettlementSource {
  readonly location: string;
  private readonly baseUrl: string;

  constructor(
    private readonly settings: StripeApiSettings,
    private readonly businessDate: string,
    private readonly options: SettlementApiOptions,
  ) {
    this.baseUrl = settings.baseUrl.replace(/\/$/, '');
    this.location = `${this.baseUrl}${PAYOUTS_PATH}`;
  }

  async read(signal?: AbortSignal): Promise<SettlementRead> {
    const http = new HttpClient('stripe', this.options.http, this.options.observer);
    const deadline = readDeadline(this.options.http, signal);
    const startS = Math.floor(Date.parse(`${this.businessDate}T00:00:00Z`) / 1000);
    const parents: SettlementParent[] = [];
    const children: SettlementChild[] = [];
    const invalidRows: { line: number; reason: string }[] = [];
    let position = 0;
    const payouts = this.list(
      PAYOUTS_PATH,
      {
        'arrival_date[gte]': String(startS),
        'arrival_date[lt]': String(startS + DAY_MS / 1000),
      },
      http,
      deadline,
    );
    for await (const item of payouts) {
      position++;
      const payout = item as StripePayoutObject & { status?: unknown };
      let parent: SettlementParent;
      try {
        if (!isJsonObject(item) || typeof payout.id !== 'string' || payout.id === '')
          throw new InputRejectedError(`${this.location}: a payout without an id`, {
            location: this.location,
          });
        if (typeof payout.status === 'string' && NOT_PAID_OUT.has(payout.status)) continue;
        parent = stripePayoutParent(payout, this.location);
      } catch (error) {
        if (!(error instanceof InputRejectedError)) throw error;
        invalidRows.push({ line: position, reason: error.message });
        continue;
      }
      parents.push(parent);
      if (!parent.itemizable) continue;
      const transactions = this.list(TRANSACTIONS_PATH, { payout: parent.key }, http, deadline);
      const where = `${this.baseUrl}${TRANSACTIONS_PATH}?payout=${parent.key}`;
      for await (const transaction of transactions) {
        try {
          const id = getPath(transaction, 'id');
          const category = getPath(transaction, 'reporting_category');
          if (
            typeof id !== 'string' ||
            typeof getPath(transaction, 'type') !== 'string' ||
            (category !== undefined && typeof category !== 'string')
          )
            throw new InputRejectedError(
              `${where}: a balance transaction without a text id and type (${excerptJson(transaction)})`,
              { location: where },
            );
          children.push(
            ...stripePayoutChildren(
              parent.key,
              [transaction as StripeBalanceTransactionObject],
              where,
            ),
          );
        } catch (error) {
          if (!(error instanceof InputRejectedError)) throw error;
          invalidRows.push({ line: position, reason: error.message });
        }
      }
    }
    return { location: this.location, parents, children, invalidRows };
  }

  /** The items of a Stripe list endpoint, page after page (`starting_after`, `has_more`). */
  private async *list(
    path: string,
    query: Record<string, string>,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<unknown> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (;;) {
      const url = new URL(`${this.baseUrl}${path}`);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      url.searchParams.set('limit', '100');
      if (cursor) url.searchParams.set('starting_after', cursor);
      const response = await http.send(
        { url, headers: { authorization: `Bearer ${this.settings.apiKey}` } },
        deadline,
      );
      const body = response.json;
      const data = getPath(body, 'data');
      const hasMore = getPath(body, 'has_more');
      const what = `stripe API ${path}${cursor ? ` after ${cursor}` : ''}`;
      if (!isJsonObject(body) || !Array.isArray(data) || typeof hasMore !== 'boolean') {
        throw new ContractViolationError(
          `${what}: page is not a list object with 'data' and 'has_more'`,
          { location: this.location },
        );
      }
      yield* data as unknown[];
      if (!hasMore) return;
      const next = getPath(data[data.length - 1], 'id');
      if (typeof next !== 'string' || next === '') {
        throw new ContractViolationError(`${what}: has_more is true but the page has no last id`, {
          location: this.location,
        });
      }
      if (seen.has(next)) {
        throw new ContractViolationError(`stripe API ${path}: pagination repeats cursor ${next}`, {
          location: this.location,
        });
      }
      seen.add(next);
      cursor = next;
    }
  }
}
