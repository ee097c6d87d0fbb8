import {
  bearerToken,
  parseIntParam,
  parseRfc3339,
  startHarness,
  type ErrorFaultKind,
  type Reply,
} from './harness';
import type { Fault, FakeServer, LedgerEntry } from './types';

export interface FakeLedgerOptions {
  /** When set, `Authorization: Bearer <token>` is required. */
  token?: string;
  entries: LedgerEntry[];
  style: 'cursor' | 'page';
  faults?: Fault[];
}

const LIST_PATH = '/v1/ledger/transactions';
const DEFAULT_SIZE = 500;
const MAX_SIZE = 1000;

function ledgerError(code: string, message: string, field?: string): unknown {
  return { error: { code, message, ...(field === undefined ? {} : { field }) } };
}

function errorBody(kind: ErrorFaultKind): unknown {
  switch (kind) {
    case 'status-429':
      return ledgerError('rate_limited', 'Too many requests; retry later.');
    case 'status-500':
      return ledgerError('internal_error', 'Internal server error.');
    case 'status-401':
      return ledgerError('unauthorized', 'Missing or invalid bearer token.');
  }
}

function badRequest(field: string, message: string): Reply {
  return { status: 400, body: ledgerError('invalid_request', message, field) };
}

interface LedgerCursor {
  p: string;
  f: number;
  t: number;
  o: number;
}

function encodeCursor(cursor: LedgerCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): LedgerCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    if (
      typeof v.p === 'string' &&
      typeof v.f === 'number' &&
      typeof v.t === 'number' &&
      typeof v.o === 'number'
    ) {
      return { p: v.p, f: v.f, t: v.t, o: v.o };
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

function entryMs(entry: LedgerEntry): number {
  const ms = parseRfc3339(entry.created_at);
  if (ms === undefined) throw new TypeError(`fake ledger: bad created_at ${entry.created_at}`);
  return ms;
}

/**
 * A fake of our internal ledger's default HTTP contract, `GET /v1/ledger/transactions`.
 *
 * - Auth: when `token` is set, `Authorization: Bearer <token>` is required → else 401
 *   `{"error":{"code":"unauthorized","message":…}}`. Without `token`, any request is accepted.
 * - Query (all styles): `processor` (required, exact match), `from`, `to` (required, RFC 3339
 *   with `Z` or an offset; entries with `created_at` in [from, to)). Entries are sorted by
 *   `created_at` ascending, then `transaction_id`.
 * - style 'cursor': `limit` 1–1000 (default 500), `cursor` (opaque, from `next_cursor`; it must
 *   come with the same processor/from/to) → `{"data":[…],"next_cursor":"…"|null}`, `null` on
 *   the last page.
 * - style 'page': `page` ≥ 1 (default 1), `page_size` 1–1000 (default 500) →
 *   `{"data":[…],"page":n,"total_pages":m}` with `m = ceil(matching / page_size)` (0 when none);
 *   a page past the end has `data: []`.
 * - Errors: `{"error":{"code","message","field"?}}` — 400 `invalid_request` (with `field`),
 *   401 `unauthorized`, 429 `rate_limited`, 500 `internal_error`.
 * - Faults: 401/429/500 as above; 'malformed-page' → 200 without `data` (cursor style:
 *   `{"next_cursor":"…"}`; page style: `{"page":n,"total_pages":m}`); 'repeat-cursor' → the
 *   previous successful body verbatim; 'shrinking-pages' (page style only) → `total_pages` one
 *   less than the truth; 'slow'.
 */
export async function startFakeLedger(options: FakeLedgerOptions): Promise<FakeServer> {
  const sorted = options.entries
    .map((entry) => ({ entry, ms: entryMs(entry) }))
    .sort((a, b) =>
      a.ms !== b.ms
        ? a.ms - b.ms
        : a.entry.transaction_id < b.entry.transaction_id
          ? -1
          : a.entry.transaction_id > b.entry.transaction_id
            ? 1
            : 0,
    );
  let previousBody: unknown;

  return startHarness(
    {
      listPath: LIST_PATH,
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
        ...(options.style === 'page' ? (['shrinking-pages'] as const) : []),
      ],
      errorBody,
    },
    (request, context): Reply => {
      if (request.path !== LIST_PATH || request.method !== 'GET') {
        return { status: 404, body: ledgerError('not_found', 'No such endpoint.') };
      }
      if (options.token !== undefined && bearerToken(request.authorization) !== options.token) {
        return { status: 401, body: errorBody('status-401') };
      }
      const q = request.query;
      const processor = q.processor;
      if (processor === undefined || processor === '') {
        return badRequest('processor', 'processor is required');
      }
      const from = parseRfc3339(q.from);
      if (from === undefined) return badRequest('from', 'from must be an RFC 3339 date-time');
      const to = parseRfc3339(q.to);
      if (to === undefined) return badRequest('to', 'to must be an RFC 3339 date-time');
      if (to < from) return badRequest('to', 'to must not be before from');
      const matching = sorted
        .filter(({ entry, ms }) => entry.processor === processor && ms >= from && ms < to)
        .map(({ entry }) => entry);

      if (options.style === 'cursor') {
        const limit = q.limit === undefined ? DEFAULT_SIZE : parseIntParam(q.limit);
        if (limit === undefined || limit < 1 || limit > MAX_SIZE) {
          return badRequest('limit', `limit must be an integer between 1 and ${MAX_SIZE}`);
        }
        let offset = 0;
        if (q.cursor !== undefined) {
          const cursor = decodeCursor(q.cursor);
          if (cursor?.p !== processor || cursor.f !== from || cursor.t !== to) {
            return badRequest('cursor', 'cursor is invalid or belongs to another query');
          }
          offset = cursor.o;
        }
        const data = matching.slice(offset, offset + limit);
        const nextCursor =
          offset + limit < matching.length
            ? encodeCursor({ p: processor, f: from, t: to, o: offset + limit })
            : null;
        if (context.faults.has('malformed-page')) {
          return {
            status: 200,
            body: {
              next_cursor:
                nextCursor ?? encodeCursor({ p: processor, f: from, t: to, o: offset + limit }),
            },
          };
        }
        if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
          return { status: 200, body: previousBody };
        }
        const body = { data, next_cursor: nextCursor };
        previousBody = body;
        return { status: 200, body };
      }

      const page = q.page === undefined ? 1 : parseIntParam(q.page);
      if (page === undefined || page < 1) return badRequest('page', 'page must be an integer ≥ 1');
      const pageSize = q.page_size === undefined ? DEFAULT_SIZE : parseIntParam(q.page_size);
      if (pageSize === undefined || pageSize < 1 || pageSize > MAX_SIZE) {
        return badRequest('page_size', `page_size must be an integer between 1 and ${MAX_SIZE}`);
      }
      let totalPages = Math.ceil(matching.length / pageSize);
      if (context.faults.has('shrinking-pages')) totalPages = Math.max(0, totalPages - 1);
      if (context.faults.has('malformed-page')) {
        return { status: 200, body: { page, total_pages: totalPages } };
      }
      if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
        return { status: 200, body: previousBody };
      }
      const data = matching.slice((page - 1) * pageSize, page * pageSize);
      const body = { data, page, total_pages: totalPages };
      previousBody = body;
      return { status: 200, body };
    },
  );
}
