import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bearerToken,
  parseIntParam,
  randomId,
  startHarness,
  type ErrorFaultKind,
  type Reply,
} from './harness';
import type { Fault, FakeServer, StripeBalanceTransaction, StripePayout } from './types';

export interface FakeStripeOptions {
  /** Secret key the client must send (`Authorization: Bearer <apiKey>`, or Basic `<apiKey>:`). */
  apiKey: string;
  transactions: StripeBalanceTransaction[];
  /** Payouts served by `GET /v1/payouts` (default none). */
  payouts?: StripePayout[];
  /**
   * The balance transactions of each automatic payout, by payout id, served by
   * `GET /v1/balance_transactions?payout=po_…` (the payout's own `payout` transaction included,
   * as at Stripe). Not part of `transactions`' day listing.
   */
  payoutTransactions?: Record<string, StripeBalanceTransaction[]>;
  faults?: Fault[];
}

const LIST_PATH = '/v1/balance_transactions';
const PAYOUTS_PATH = '/v1/payouts';
const SAMPLES = join(__dirname, '..', '..', 'fixtures', 'samples', 'stripe');

/** Stripe's 429 body, as in `tests/fixtures/samples/stripe/airbyte__error_429_rate_limit.json`. */
const RATE_LIMIT_BODY: unknown = JSON.parse(
  readFileSync(join(SAMPLES, 'airbyte__error_429_rate_limit.json'), 'utf8'),
);

const NO_KEY_MESSAGE =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

function maskKey(key: string): string {
  return `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

function errorReply(kind: ErrorFaultKind, presentedKey?: string): unknown {
  switch (kind) {
    case 'status-429':
      return RATE_LIMIT_BODY;
    case 'status-500':
      return {
        error: {
          message: 'An unknown error occurred',
          type: 'api_error',
          doc_url: 'https://stripe.com/docs/error-codes',
        },
      };
    case 'status-401':
      return {
        error: {
          message:
            presentedKey === undefined
              ? NO_KEY_MESSAGE
              : `Invalid API Key provided: ${maskKey(presentedKey)}`,
          type: 'invalid_request_error',
          doc_url: 'https://stripe.com/docs/keys',
        },
      };
  }
}

function invalidRequest(message: string, param: string, status = 400, code?: string): Reply {
  return {
    status,
    body: {
      error: {
        code: code ?? (status === 404 ? 'resource_missing' : 'parameter_invalid_integer'),
        doc_url:
          status === 404
            ? 'https://stripe.com/docs/error-codes/resource-missing'
            : 'https://stripe.com/docs/error-codes/parameter-invalid-integer',
        message,
        param,
        type: 'invalid_request_error',
      },
    },
  };
}

/** The key from `Bearer <key>` or HTTP Basic `<key>:` (Stripe accepts both). */
function presentedKey(authorization: string | undefined): string | undefined {
  const bearer = bearerToken(authorization);
  if (bearer !== undefined) return bearer;
  const basic = /^Basic (\S+)$/i.exec(authorization?.trim() ?? '');
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  return decoded.split(':')[0];
}

const KNOWN_PARAMS = new Set([
  'limit',
  'starting_after',
  'ending_before',
  'created',
  'created[gt]',
  'created[gte]',
  'created[lt]',
  'created[lte]',
  'currency',
  'payout',
  'source',
  'type',
]);

const KNOWN_PAYOUT_PARAMS = new Set([
  'limit',
  'starting_after',
  'ending_before',
  'status',
  'destination',
  ...['', '[gt]', '[gte]', '[lt]', '[lte]'].flatMap((op) => [`created${op}`, `arrival_date${op}`]),
]);

/** Newest first: `created` descending, then `id` descending (a stable total order). */
function newestFirst(
  a: { created: number; id: string },
  b: { created: number; id: string },
): number {
  if (a.created !== b.created) return b.created - a.created;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Parses `{name}` / `{name}[gt|gte|lt|lte]` integer filters; a `Reply` for a bad one. */
function rangeBounds(q: Record<string, string>, name: string): Record<string, number> | Reply {
  const bounds: Record<string, number> = {};
  for (const op of ['', 'gt', 'gte', 'lt', 'lte']) {
    const param = op === '' ? name : `${name}[${op}]`;
    const text = q[param];
    if (text === undefined) continue;
    const value = parseIntParam(text);
    if (value === undefined) return invalidRequest(`Invalid integer: ${text}`, param);
    bounds[op] = value;
  }
  return bounds;
}

function inBounds(value: number, bounds: Record<string, number>): boolean {
  return (
    (bounds[''] === undefined || value === bounds['']) &&
    (bounds.gt === undefined || value > bounds.gt) &&
    (bounds.gte === undefined || value >= bounds.gte) &&
    (bounds.lt === undefined || value < bounds.lt) &&
    (bounds.lte === undefined || value <= bounds.lte)
  );
}

/**
 * One page of `sorted` (newest first) under Stripe's cursor rules: `limit` items of those
 * `keep` accepts, after `starting_after` / before `ending_before` (the cursor's position is taken
 * in `sorted`, unfiltered); a `Reply` for a bad limit, both cursors, or an unknown cursor id.
 */
function cursorPage<T extends { id: string }>(
  sorted: readonly T[],
  keep: (item: T) => boolean,
  q: Record<string, string>,
  what: string,
): { data: T[]; hasMore: boolean } | Reply {
  const limitText = q.limit;
  const limit = limitText === undefined ? 10 : parseIntParam(limitText);
  if (limit === undefined) return invalidRequest('Invalid integer: ' + limitText, 'limit');
  if (limit < 1 || limit > 100) {
    return invalidRequest(
      'This value must be greater than or equal to 1 and less than or equal to 100.',
      'limit',
    );
  }
  if (q.starting_after !== undefined && q.ending_before !== undefined) {
    return invalidRequest(
      'You may only specify one of these parameters: starting_after, ending_before.',
      'starting_after',
    );
  }
  const cursor = q.starting_after ?? q.ending_before;
  if (cursor === undefined) {
    const all = sorted.filter(keep);
    return { data: all.slice(0, limit), hasMore: all.length > limit };
  }
  const at = sorted.findIndex((t) => t.id === cursor);
  const param = q.starting_after !== undefined ? 'starting_after' : 'ending_before';
  if (at < 0) return invalidRequest(`No such ${what}: '${cursor}'`, param, 404);
  if (param === 'starting_after') {
    const rest = sorted.slice(at + 1).filter(keep);
    return { data: rest.slice(0, limit), hasMore: rest.length > limit };
  }
  const before = sorted.slice(0, at).filter(keep);
  return {
    data: before.slice(Math.max(0, before.length - limit)),
    hasMore: before.length > limit,
  };
}

const isReply = (value: object): value is Reply => 'status' in value;

/**
 * A fake of Stripe's `GET /v1/balance_transactions`
 * (https://docs.stripe.com/api/balance_transactions/list, https://docs.stripe.com/api/pagination)
 * and `GET /v1/payouts` (https://docs.stripe.com/api/payouts/list).
 *
 * - Auth: `Authorization: Bearer <apiKey>` (or Basic with the key as user name) → else 401
 *   `{"error":{"message","type":"invalid_request_error","doc_url"}}`.
 * - Query: `created` / `created[gt|gte|lt|lte]` (Unix seconds), `limit` 1–100 (default 10),
 *   `starting_after` / `ending_before` (a `txn_…` id; mutually exclusive), `currency`, `type`,
 *   `source`. An unknown parameter → 400 `Received unknown parameter: x`; a bad integer → 400
 *   with `param`; an unknown cursor id → 404 `resource_missing`.
 * - `payout=po_…`: the payout's balance transactions from `payoutTransactions` (newest first,
 *   the cursor taken in that list); an unknown payout → 404 `No such payout`; a manual payout
 *   (`automatic: false`) → 400 as at Stripe ("can only be filtered on automatic transfers").
 * - `GET /v1/payouts`: `arrival_date` / `created` (Unix seconds, `[gt|gte|lt|lte]`), `status`,
 *   `limit`, `starting_after` / `ending_before` (`po_…`), newest first (created desc, id desc);
 *   `{"object":"list","url":"/v1/payouts","has_more":bool,"data":[…]}`. Its GETs are list requests
 *   for the faults, counted in one sequence with the balance transaction GETs.
 * - Response: `{"object":"list","url":"/v1/balance_transactions","has_more":bool,"data":[…]}`,
 *   newest first (created desc, then id desc). `starting_after=X` returns the items after X in
 *   that order (X's position is taken in the unfiltered list, so X may lie outside the range).
 * - Faults: 401/429/500 bodies as above (429 = the airbyte sample: `rate_limit`);
 *   'malformed-page' → `{"object":"list","url":…,"has_more":true}` (no `data`);
 *   'repeat-cursor' → the previous successful list body again, verbatim (same `data`, same
 *   `has_more`, so the next `starting_after` does not advance); 'slow'. 'shrinking-pages' does
 *   not apply to cursor pagination and is rejected.
 */
export async function startFakeStripe(options: FakeStripeOptions): Promise<FakeServer> {
  const sorted = [...options.transactions].sort(newestFirst);
  const payouts = [...(options.payouts ?? [])].sort(newestFirst);
  const payoutTransactions = new Map(
    Object.entries(options.payoutTransactions ?? {}).map(([id, list]) => [
      id,
      [...list].sort(newestFirst),
    ]),
  );
  let previousBody: unknown;

  return startHarness(
    {
      listPath: LIST_PATH,
      isOtherListPath: (path) => path === PAYOUTS_PATH,
      faults: options.faults,
      supportedFaults: [
        'status-429',
        'status-429-retry-after-seconds',
        'status-429-retry-after-date',
        'status-500',
        'status-401',
        'malformed-page',
        'slow',
        'repeat-cursor',
      ],
      errorBody: (kind, request) => errorReply(kind, presentedKey(request.authorization)),
      commonHeaders: () => ({
        'request-id': `req_${randomId(14)}`,
        'stripe-version': '2025-04-30',
      }),
    },
    (request, context): Reply => {
      const isPayouts = request.path === PAYOUTS_PATH;
      if ((request.path !== LIST_PATH && !isPayouts) || request.method !== 'GET') {
        return {
          status: 404,
          body: {
            error: {
              message: `Unrecognized request URL (${request.method}: ${request.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
              type: 'invalid_request_error',
            },
          },
        };
      }
      const key = presentedKey(request.authorization);
      if (key !== options.apiKey) return { status: 401, body: errorReply('status-401', key) };

      const q = request.query;
      const known = isPayouts ? KNOWN_PAYOUT_PARAMS : KNOWN_PARAMS;
      for (const name of Object.keys(q)) {
        if (!known.has(name) && !name.startsWith('expand')) {
          return invalidRequest(`Received unknown parameter: ${name}`, name);
        }
      }
      const created = rangeBounds(q, 'created');
      if (isReply(created)) return created;

      let page: { data: unknown[]; hasMore: boolean } | Reply;
      const url = isPayouts ? PAYOUTS_PATH : LIST_PATH;
      if (isPayouts) {
        const arrival = rangeBounds(q, 'arrival_date');
        if (isReply(arrival)) return arrival;
        page = cursorPage(
          payouts,
          (p) =>
            inBounds(p.created, created) &&
            inBounds(p.arrival_date, arrival) &&
            (q.status === undefined || p.status === q.status),
          q,
          'payout',
        );
      } else {
        let base = sorted;
        if (q.payout !== undefined) {
          const payout = (options.payouts ?? []).find((p) => p.id === q.payout);
          if (!payout) return invalidRequest(`No such payout: '${q.payout}'`, 'payout', 404);
          if (!payout.automatic) {
            return invalidRequest(
              'Balance transaction history can only be filtered on automatic transfers, not manual.',
              'payout',
              400,
              'parameter_invalid',
            );
          }
          base = payoutTransactions.get(payout.id) ?? [];
        }
        page = cursorPage(
          base,
          (t) =>
            inBounds(t.created, created) &&
            (q.currency === undefined || t.currency === q.currency.toLowerCase()) &&
            (q.type === undefined || t.type === q.type) &&
            (q.source === undefined || t.source === q.source),
          q,
          'balance transaction',
        );
      }
      if (isReply(page)) return page;

      if (context.faults.has('malformed-page')) {
        return { status: 200, body: { object: 'list', url, has_more: true } };
      }
      if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
        return { status: 200, body: previousBody };
      }
      const body = { object: 'list', url, has_more: page.hasMore, data: page.data };
      previousBody = body;
      return { status: 200, body };
    },
  );
}
