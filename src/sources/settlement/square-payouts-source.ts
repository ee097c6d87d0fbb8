import { isCalendarDate } from '../../domain/calendar-dates';
import { InputRejectedError } from '../../domain/errors';
import type { SettlementRead, SettlementSource } from '../../engine/settlement';
import type { SettlementChild, SettlementParent } from '../../engine/settlement-groups';
import { ContractViolationError, HttpClient } from '../http/http-client';
import { getPath, isJsonObject } from '../http/json-path';
import type { SquareApiSettings } from '../http/square-payments';
import {
  squarePayoutChildren,
  squarePayoutParent,
  type SquarePayoutEntryObject,
  type SquarePayoutObject,
} from './payout-api-groups';
import { excerptJson, readDeadline, type SettlementApiOptions } from './settlement-api';

const PAYOUTS_PATH = '/v2/payouts';
const DAY_MS = 24 * 3600 * 1000;

/**
 * Square payouts of a business date and their payout entries, as settlement groups (issue #15):
 *
 * 1. ListPayouts, `GET /v2/payouts?begin_time=…&end_time=…&sort_order=ASC&limit=100`: the payouts
 *    CREATED in the UTC calendar day of `businessDate` (Square filters on the payout's creation
 *    time; its `arrival_date` becomes the group's due date), following `cursor` until a response
 *    has none (https://developer.squareup.com/reference/square/payouts-api/list-payouts);
 * 2. for each `BATCH` payout: ListPayoutEntries, `GET /v2/payouts/{payout_id}/payout-entries`,
 *    paginated the same way (https://developer.squareup.com/reference/square/payouts-api/list-payout-entries);
 *    the children are on `net_amount_money`. A `SIMPLE` payout has no entries of its own (it
 *    shows up as an entry of a later batch payout): a parent with `itemizable: false`
 *    (→ `unattributable`), no entries fetch. `FAILED` payouts never reach the bank: left out.
 *
 * Amounts are integers in minor units (mapped by `payout-api-groups.ts`). The same HTTP client as
 * the payments adapter: Bearer token and `Square-Version` (never logged), retries on 429/5xx and
 * network errors, one deadline for the whole read. An empty page may come back as `{}`. A payout
 * or entry whose fields cannot be read is left out and listed in `invalidRows` (`line` = the
 * payout's 1-based position in the payouts fetch).
 * @throws ConfigError for a rejected token (exit 2), DependencyUnavailableError when the API
 *   cannot be reached (exit 3), ContractViolationError (exit 4) for a page whose list is not an
 *   array or a repeating cursor.
 */
export class SquarePayoutsSource implements SettlementSource {
  readonly location: string;
  private readonly baseUrl: string;

  constructor(
    private readonly settings: SquareApiSettings,
    private readonly businessDate: string,
    private readonly options: SettlementApiOptions,
  ) {
    this.baseUrl = settings.baseUrl.replace(/\/$/, '');
    this.location = `${this.baseUrl}${PAYOUTS_PATH}`;
  }

  async read(signal?: AbortSignal): Promise<SettlementRead> {
    const http = new HttpClient('square', this.options.http, this.options.observer);
    const deadline = readDeadline(this.options.http, signal);
    const startMs = Date.parse(`${this.businessDate}T00:00:00Z`);
    const parents: SettlementParent[] = [];
    const children: SettlementChild[] = [];
    const invalidRows: { line: number; reason: string }[] = [];
    let position = 0;
    const payouts = this.list(
      PAYOUTS_PATH,
      'payouts',
      {
        begin_time: new Date(startMs).toISOString(),
        end_time: new Date(startMs + DAY_MS).toISOString(),
      },
      http,
      deadline,
    );
    for await (const item of payouts) {
      position++;
      let parent: SettlementParent;
      try {
        const payout = readPayout(item, this.location);
        if (payout.status === 'FAILED') continue;
        parent = {
          ...squarePayoutParent(payout, this.location),
          itemizable: payout.type !== 'SIMPLE',
        };
      } catch (error) {
        if (!(error instanceof InputRejectedError)) throw error;
        invalidRows.push({ line: position, reason: error.message });
        continue;
      }
      parents.push(parent);
      if (!parent.itemizable) continue;
      const path = `${PAYOUTS_PATH}/${encodeURIComponent(parent.key)}/payout-entries`;
      const where = `${this.baseUrl}${path}`;
      for await (const entry of this.list(path, 'payout_entries', {}, http, deadline)) {
        try {
          children.push(...squarePayoutChildren([readEntry(entry, where)], where));
        } catch (error) {
          if (!(error instanceof InputRejectedError)) throw error;
          invalidRows.push({ line: position, reason: error.message });
        }
      }
    }
    return { location: this.location, parents, children, invalidRows };
  }

  /** The items under `key` of a Square list endpoint, page after page (`cursor`). */
  private async *list(
    path: string,
    key: string,
    query: Record<string, string>,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<unknown> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let page = 0;
    for (;;) {
      page++;
      const url = new URL(`${this.baseUrl}${path}`);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
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
      const body = response.json;
      const what = `square API ${path} page ${page}`;
      if (!isJsonObject(body)) {
        throw new ContractViolationError(`${what}: response is not a JSON object`, {
          location: this.location,
        });
      }
      const items = getPath(body, key);
      const next = getPath(body, 'cursor');
      if (items !== undefined && !Array.isArray(items)) {
        throw new ContractViolationError(`${what}: '${key}' is not an array`, {
          location: this.location,
        });
      }
      if (items === undefined && next !== undefined && next !== '') {
        throw new ContractViolationError(`${what}: a cursor without '${key}'`, {
          location: this.location,
        });
      }
      yield* (items ?? []) as unknown[];
      if (next === undefined || next === null || next === '') return;
      if (typeof next !== 'string') {
        throw new ContractViolationError(`${what}: cursor is not a string`, {
          location: this.location,
        });
      }
      if (seen.has(next)) {
        throw new ContractViolationError(`square API ${path}: pagination repeats a cursor`, {
          location: this.location,
        });
      }
      seen.add(next);
      cursor = next;
    }
  }
}

/** A Square `Money` object's shape (the values are checked by the mappers). */
function isMoney(value: unknown): boolean {
  return isJsonObject(value);
}

function readPayout(
  item: unknown,
  location: string,
): SquarePayoutObject & { status?: string; type?: string } {
  if (
    !isJsonObject(item) ||
    typeof item.id !== 'string' ||
    item.id === '' ||
    !isMoney(item.amount_money) ||
    (item.arrival_date !== undefined &&
      (typeof item.arrival_date !== 'string' || !isCalendarDate(item.arrival_date)))
  ) {
    throw new InputRejectedError(
      `${location}: a payout without a text id, an amount_money or a YYYY-MM-DD arrival_date (${excerptJson(item)})`,
      { location },
    );
  }
  const payout = item as unknown as SquarePayoutObject & { status?: string; type?: string };
  // Square's ListPayouts guide shows `amount_money.currency_code` where the Money object (and the
  // API) has `currency`: accept either, so a payout is not lost to the documentation's spelling.
  const money = item.amount_money as Record<string, unknown>;
  if (money.currency === undefined && typeof money.currency_code === 'string')
    return {
      ...payout,
      amount_money: { amount: money.amount as number, currency: money.currency_code },
    };
  return payout;
}

function readEntry(item: unknown, location: string): SquarePayoutEntryObject {
  if (
    !isJsonObject(item) ||
    typeof item.id !== 'string' ||
    typeof item.payout_id !== 'string' ||
    typeof item.type !== 'string' ||
    !isMoney(item.net_amount_money) ||
    (item.gross_amount_money !== undefined && !isMoney(item.gross_amount_money))
  ) {
    throw new InputRejectedError(
      `${location}: a payout entry without a text id, payout_id, type or net_amount_money (${excerptJson(item)})`,
      { location },
    );
  }
  return item as unknown as SquarePayoutEntryObject;
}
