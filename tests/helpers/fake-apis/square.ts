import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bearerToken,
  parseIntParam,
  parseRfc3339,
  startHarness,
  type ErrorFaultKind,
  type Reply,
} from './harness';
import type { Fault, FakeServer, SquarePayment, SquarePayout, SquarePayoutEntry } from './types';

export interface FakeSquareOptions {
  /** Access token the client must send as `Authorization: Bearer <accessToken>`. */
  accessToken: string;
  payments: SquarePayment[];
  /** Payouts served by ListPayouts, `GET /v2/payouts` (default none). */
  payouts?: SquarePayout[];
  /** Payout entries served by ListPayoutEntries, by their `payout_id` (default none). */
  payoutEntries?: SquarePayoutEntry[];
  faults?: Fault[];
}

const LIST_PATH = '/v2/payments';
const PAYOUTS_PATH = '/v2/payouts';
const ENTRIES_PATH = /^\/v2\/payouts\/([^/]+)\/payout-entries$/;
const SAMPLES = join(__dirname, '..', '..', 'fixtures', 'samples', 'square');
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Square's 429 body, as in `tests/fixtures/samples/square/square-forum__error_429_rate_limited.json`. */
const RATE_LIMIT_BODY: unknown = JSON.parse(
  readFileSync(join(SAMPLES, 'square-forum__error_429_rate_limited.json'), 'utf8'),
);

function squareError(category: string, code: string, detail: string, field?: string): unknown {
  return { errors: [{ category, code, detail, ...(field === undefined ? {} : { field }) }] };
}

function errorBody(kind: ErrorFaultKind): unknown {
  switch (kind) {
    case 'status-429':
      return RATE_LIMIT_BODY;
    case 'status-500':
      return squareError(
        'API_ERROR',
        'INTERNAL_SERVER_ERROR',
        'An internal error has occurred, and the API was unable to service your request.',
      );
    case 'status-401':
      return squareError(
        'AUTHENTICATION_ERROR',
        'UNAUTHORIZED',
        'This request could not be authorized.',
      );
  }
}

function badRequest(code: string, detail: string, field: string): Reply {
  return { status: 400, body: squareError('INVALID_REQUEST_ERROR', code, detail, field) };
}

/** What a cursor carries: the query it belongs to and the next offset. */
interface CursorState {
  b: number;
  e: number;
  s: 'ASC' | 'DESC';
  l: string | null;
  o: number;
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(text: string): CursorState | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    if (
      typeof v.b === 'number' &&
      typeof v.e === 'number' &&
      (v.s === 'ASC' || v.s === 'DESC') &&
      (typeof v.l === 'string' || v.l === null) &&
      typeof v.o === 'number'
    ) {
      return { b: v.b, e: v.e, s: v.s, l: v.l, o: v.o };
    }
  } catch {
    // fall through: not one of ours
  }
  return undefined;
}

function createdMs(payment: SquarePayment): number {
  const ms = parseRfc3339(payment.created_at);
  if (ms === undefined) throw new TypeError(`fake Square: bad created_at ${payment.created_at}`);
  return ms;
}

/** A stable order of `items` by `time` then `id`, ascending or descending. */
function sortedBy<T extends { id: string }>(
  items: readonly T[],
  time: (item: T) => number,
  order: 'ASC' | 'DESC',
): T[] {
  const direction = order === 'ASC' ? 1 : -1;
  return [...items].sort(
    (a, b) =>
      direction *
      (time(a) !== time(b) ? time(a) - time(b) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** `sort_order` and `limit` as ListPayments reads them, or a 400 `Reply`. */
function orderAndLimit(q: Record<string, string>): { sort: 'ASC' | 'DESC'; limit: number } | Reply {
  const sort = q.sort_order ?? 'DESC';
  if (sort !== 'ASC' && sort !== 'DESC') {
    return badRequest('INVALID_SORT_ORDER', `Invalid sort order: ${sort}.`, 'sort_order');
  }
  let limit = 100;
  if (q.limit !== undefined) {
    const parsed = parseIntParam(q.limit);
    if (parsed === undefined) {
      return badRequest('EXPECTED_INTEGER', 'Expected an integer value.', 'limit');
    }
    if (parsed < 1) return badRequest('VALUE_TOO_LOW', 'limit must be at least 1.', 'limit');
    limit = Math.min(parsed, 100);
  }
  return { sort, limit };
}

/**
 * One page of ListPayouts (`begin_time`/`end_time` on `created_at`, `status`, `location_id`,
 * `sort_order` default DESC) or ListPayoutEntries of `payoutId` (by `effective_at`, default
 * DESC), with the opaque cursor carrying its query (`l` = location or payout id, `s` order).
 */
function payoutsPage(
  q: Record<string, string>,
  payouts: readonly SquarePayout[],
  entries: readonly SquarePayoutEntry[],
  payoutId: string | undefined,
): { items: unknown[]; next: string | undefined; key: string } | Reply {
  const ordered = orderAndLimit(q);
  if ('status' in ordered) return ordered;
  const now = Date.now();
  let begin = now - YEAR_MS;
  let end = now;
  if (payoutId === undefined) {
    for (const [name, set] of [
      ['begin_time', (ms: number) => (begin = ms)],
      ['end_time', (ms: number) => (end = ms)],
    ] as const) {
      if (q[name] === undefined) continue;
      const ms = parseRfc3339(q[name]);
      if (ms === undefined) {
        return badRequest('INVALID_TIME', `Invalid time format for ${name}.`, name);
      }
      set(ms);
    }
    if (begin > end) {
      return badRequest(
        'INVALID_TIME_RANGE',
        'The begin_time must be before the end_time.',
        'begin_time',
      );
    }
  }
  const scope = payoutId ?? q.location_id ?? null;
  let state: CursorState = payoutId
    ? { b: 0, e: 0, s: ordered.sort, l: scope, o: 0 }
    : { b: begin, e: end, s: ordered.sort, l: scope, o: 0 };
  if (q.cursor !== undefined) {
    const decoded = decodeCursor(q.cursor);
    const conflicts =
      decoded !== undefined &&
      ((payoutId !== undefined && decoded.l !== payoutId) ||
        (q.sort_order !== undefined && decoded.s !== ordered.sort) ||
        (payoutId === undefined &&
          ((q.begin_time !== undefined && decoded.b !== begin) ||
            (q.end_time !== undefined && decoded.e !== end))));
    if (decoded === undefined || conflicts) {
      return badRequest(
        'INVALID_CURSOR',
        'The pagination cursor included in the request is invalid.',
        'cursor',
      );
    }
    state = decoded;
  }
  const all: unknown[] =
    payoutId === undefined
      ? sortedBy(
          payouts.filter((p) => {
            const ms = parseRfc3339(p.created_at) ?? 0;
            return (
              ms >= state.b &&
              ms < state.e &&
              (state.l === null || p.location_id === state.l) &&
              (q.status === undefined || p.status === q.status)
            );
          }),
          (p) => parseRfc3339(p.created_at) ?? 0,
          state.s,
        )
      : sortedBy(
          entries.filter((e) => e.payout_id === payoutId),
          (e) => parseRfc3339(e.effective_at) ?? 0,
          state.s,
        );
  const items = all.slice(state.o, state.o + ordered.limit);
  const next =
    state.o + ordered.limit < all.length
      ? encodeCursor({ ...state, o: state.o + ordered.limit })
      : undefined;
  return { items, next, key: payoutId === undefined ? 'payouts' : 'payout_entries' };
}

/**
 * A fake of Square's ListPayments, `GET /v2/payments`
 * (https://developer.squareup.com/reference/square/payments-api/list-payments).
 *
 * - Auth: `Authorization: Bearer <accessToken>` → else 401
 *   `{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":…}]}`.
 * - Query: `begin_time` (inclusive, default now − 1 year), `end_time` (exclusive, default now),
 *   RFC 3339 with `Z` or an offset; `sort_order` `ASC`/`DESC` (default DESC, by `created_at`
 *   then `id`); `limit` (default 100; values above 100 are capped at 100; < 1 → 400
 *   `VALUE_TOO_LOW`); `location_id`; `cursor`. Errors are 400 `INVALID_REQUEST_ERROR` with
 *   `INVALID_TIME`, `INVALID_TIME_RANGE`, `INVALID_SORT_ORDER`, `EXPECTED_INTEGER`,
 *   `INVALID_CURSOR` and the offending `field`.
 * - The cursor is opaque and carries its query: a request with a cursor may omit the other
 *   parameters, but one that repeats them with different values → 400 `INVALID_CURSOR`.
 * - Response: `{"payments":[…],"cursor":"…"}`, `cursor` absent on the last page; Square omits
 *   empty fields, so a window without payments returns `{}` (no `payments` key at all).
 * - Faults: 401/429/500 with Square bodies (429 = the forum sample, `RATE_LIMITED`);
 *   'malformed-page' → 200 `{"payments":{…one payment object, not an array…},"cursor":"…"}`
 *   (a missing `payments` key is legal in Square — it means "none" — so the fake breaks the type
 *   instead); 'repeat-cursor' → the previous successful body verbatim (its `cursor` is the one
 *   the client just sent); 'slow'. 'shrinking-pages' is rejected (no page counts in Square).
 * - ListPayouts `GET /v2/payouts` (https://developer.squareup.com/reference/square/payouts-api/list-payouts):
 *   `begin_time`/`end_time` on the payout's `created_at`, `location_id`, `status`, `sort_order`
 *   (default DESC), `limit`, `cursor` → `{"payouts":[…],"cursor"}`; ListPayoutEntries
 *   `GET /v2/payouts/{payout_id}/payout-entries` (by `effective_at`, default DESC) →
 *   `{"payout_entries":[…],"cursor"}`, an unknown payout → 404 `NOT_FOUND`. Both omit empty
 *   fields like ListPayments, and their GETs are list requests for the faults (one sequence).
 */
export async function startFakeSquare(options: FakeSquareOptions): Promise<FakeServer> {
  const withMs = options.payments.map((payment) => ({ payment, ms: createdMs(payment) }));
  let previousBody: unknown;

  return startHarness(
    {
      listPath: LIST_PATH,
      isOtherListPath: (path) => path === PAYOUTS_PATH || ENTRIES_PATH.test(path),
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
      errorBody,
    },
    (request, context): Reply => {
      const entriesOf = ENTRIES_PATH.exec(request.path)?.[1];
      if (request.method === 'GET' && (request.path === PAYOUTS_PATH || entriesOf !== undefined)) {
        if (bearerToken(request.authorization) !== options.accessToken) {
          return { status: 401, body: errorBody('status-401') };
        }
        const payoutId = entriesOf === undefined ? undefined : decodeURIComponent(entriesOf);
        if (payoutId !== undefined && !(options.payouts ?? []).some((p) => p.id === payoutId)) {
          return {
            status: 404,
            body: squareError(
              'INVALID_REQUEST_ERROR',
              'NOT_FOUND',
              `Payout ${payoutId} not found.`,
            ),
          };
        }
        const page = payoutsPage(
          request.query,
          options.payouts ?? [],
          options.payoutEntries ?? [],
          payoutId,
        );
        if ('status' in page) return page;
        if (context.faults.has('malformed-page')) {
          return { status: 200, body: { [page.key]: page.items[0] ?? {}, cursor: 'x' } };
        }
        if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
          return { status: 200, body: previousBody };
        }
        const body: Record<string, unknown> = {};
        if (page.items.length > 0) body[page.key] = page.items;
        if (page.next !== undefined) body.cursor = page.next;
        previousBody = body;
        return { status: 200, body };
      }
      if (request.path !== LIST_PATH || request.method !== 'GET') {
        return {
          status: 404,
          body: squareError('INVALID_REQUEST_ERROR', 'NOT_FOUND', 'Resource not found.'),
        };
      }
      if (bearerToken(request.authorization) !== options.accessToken) {
        return { status: 401, body: errorBody('status-401') };
      }
      const q = request.query;
      const now = Date.now();
      let begin = now - YEAR_MS;
      let end = now;
      if (q.begin_time !== undefined) {
        const ms = parseRfc3339(q.begin_time);
        if (ms === undefined) {
          return badRequest('INVALID_TIME', 'Invalid time format for begin_time.', 'begin_time');
        }
        begin = ms;
      }
      if (q.end_time !== undefined) {
        const ms = parseRfc3339(q.end_time);
        if (ms === undefined) {
          return badRequest('INVALID_TIME', 'Invalid time format for end_time.', 'end_time');
        }
        end = ms;
      }
      if (begin > end) {
        return badRequest(
          'INVALID_TIME_RANGE',
          'The begin_time must be before the end_time.',
          'begin_time',
        );
      }
      const sort = q.sort_order ?? 'DESC';
      if (sort !== 'ASC' && sort !== 'DESC') {
        return badRequest('INVALID_SORT_ORDER', `Invalid sort order: ${sort}.`, 'sort_order');
      }
      let limit = 100;
      if (q.limit !== undefined) {
        const parsed = parseIntParam(q.limit);
        if (parsed === undefined) {
          return badRequest('EXPECTED_INTEGER', 'Expected an integer value.', 'limit');
        }
        if (parsed < 1) return badRequest('VALUE_TOO_LOW', 'limit must be at least 1.', 'limit');
        limit = Math.min(parsed, 100);
      }
      let state: CursorState = { b: begin, e: end, s: sort, l: q.location_id ?? null, o: 0 };
      if (q.cursor !== undefined) {
        const decoded = decodeCursor(q.cursor);
        const conflicts =
          decoded !== undefined &&
          ((q.begin_time !== undefined && decoded.b !== begin) ||
            (q.end_time !== undefined && decoded.e !== end) ||
            (q.sort_order !== undefined && decoded.s !== sort) ||
            (q.location_id !== undefined && decoded.l !== q.location_id));
        if (decoded === undefined || conflicts) {
          return badRequest(
            'INVALID_CURSOR',
            'The pagination cursor included in the request is invalid.',
            'cursor',
          );
        }
        state = decoded;
      }

      const direction = state.s === 'ASC' ? 1 : -1;
      const matching = withMs
        .filter(
          ({ payment, ms }) =>
            ms >= state.b && ms < state.e && (state.l === null || payment.location_id === state.l),
        )
        .sort(
          (a, b) =>
            direction *
            (a.ms !== b.ms
              ? a.ms - b.ms
              : a.payment.id < b.payment.id
                ? -1
                : a.payment.id > b.payment.id
                  ? 1
                  : 0),
        )
        .map(({ payment }) => payment);
      const payments = matching.slice(state.o, state.o + limit);
      const next =
        state.o + limit < matching.length
          ? encodeCursor({ ...state, o: state.o + limit })
          : undefined;

      if (context.faults.has('malformed-page')) {
        return {
          status: 200,
          body: {
            payments: payments[0] ?? {},
            cursor: next ?? encodeCursor({ ...state, o: state.o + limit }),
          },
        };
      }
      if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
        return { status: 200, body: previousBody };
      }
      const body: { payments?: SquarePayment[]; cursor?: string } = {};
      if (payments.length > 0) body.payments = payments;
      if (next !== undefined) body.cursor = next;
      previousBody = body;
      return { status: 200, body };
    },
  );
}
