import { randomBytes } from 'node:crypto';
import {
  bearerToken,
  echoCredentialsBody,
  formatPaypalDate,
  parseIntParam,
  parseRfc3339,
  randomId,
  startHarness,
  type ErrorFaultKind,
  type Reply,
} from './harness';
import type { Fault, FakeServer, PaypalTransactionDetail } from './types';

export interface FakePaypalOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` of issued tokens, seconds (default 32400, PayPal's usual 9 h). */
  tokenTtlSeconds?: number;
  transactions: PaypalTransactionDetail[];
  /** Largest matching result set served before RESULTSET_TOO_LARGE (default 10000). */
  maxItemsPerRequest?: number;
  /** `account_number` in responses (default `XZXSPECPDZHZU`, as in the doc sample). */
  accountNumber?: string;
  /** `last_refreshed_datetime` in responses (default: the current time). */
  lastRefreshedDatetime?: string;
  faults?: Fault[];
  /** The token endpoint answers every request 401 with `echoCredentialsBody` (a careless API). */
  echoCredentialsOnToken?: boolean;
}

/** The PayPal fake: a `FakeServer` plus OAuth bookkeeping. */
export interface FakePaypalServer extends FakeServer {
  /** Number of `POST /v1/oauth2/token` requests received (accepted or rejected). */
  tokenRequests(): number;
  /** Makes every token issued so far expired, as if its `expires_in` had elapsed. */
  expireTokens(): void;
}

const TOKEN_PATH = '/v1/oauth2/token';
const LIST_PATH = '/v1/reporting/transactions';
const MAX_RANGE_MS = 31 * 24 * 3600 * 1000;
const SUB_OBJECTS = [
  'transaction_info',
  'payer_info',
  'shipping_info',
  'cart_info',
  'store_info',
  'auction_info',
  'incentive_info',
] as const;
type SubObject = (typeof SUB_OBJECTS)[number];

const SCOPE = [
  'https://uri.paypal.com/services/reporting/search/read',
  'https://uri.paypal.com/services/payments/payment',
  'openid',
].join(' ');

function debugId(): string {
  return randomBytes(7).toString('hex').slice(0, 13);
}

function errorBody(kind: ErrorFaultKind): unknown {
  switch (kind) {
    case 'status-429':
      return {
        name: 'RATE_LIMIT_REACHED',
        message: 'Too many requests. Blocked due to rate limiting.',
        debug_id: debugId(),
        links: [
          {
            href: 'https://developer.paypal.com/docs/api/reference/api-responses/#rate-limit',
            rel: 'information_link',
          },
        ],
      };
    case 'status-500':
      return {
        name: 'INTERNAL_SERVER_ERROR',
        message: 'An internal server error occurred.',
        debug_id: debugId(),
        links: [
          {
            href: 'https://developer.paypal.com/docs/api/overview/#error',
            rel: 'information_link',
          },
        ],
      };
    case 'status-401':
      return {
        name: 'AUTHENTICATION_FAILURE',
        message:
          'Authentication failed due to invalid authentication credentials or a missing Authorization header.',
        debug_id: debugId(),
        links: [
          {
            href: 'https://developer.paypal.com/docs/api/overview/#error',
            rel: 'information_link',
          },
        ],
      };
  }
}

function invalidRequest(field: string, value: string, issue: string, description: string): Reply {
  return {
    status: 400,
    body: {
      name: 'INVALID_REQUEST',
      message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
      debug_id: debugId(),
      details: [{ field, value, location: 'query', issue, description }],
      links: [
        {
          href: 'https://developer.paypal.com/docs/api/transaction-search/v1/#error-INVALID_REQUEST',
          rel: 'information_link',
        },
      ],
    },
  };
}

function initiationMs(detail: PaypalTransactionDetail): number {
  const ms = parseRfc3339(detail.transaction_info.transaction_initiation_date);
  if (ms === undefined) {
    throw new TypeError(
      `fake PayPal: bad transaction_initiation_date ${detail.transaction_info.transaction_initiation_date}`,
    );
  }
  return ms;
}

/**
 * A fake of PayPal's OAuth token endpoint and Transaction Search
 * (https://developer.paypal.com/api/rest/authentication/,
 * https://developer.paypal.com/docs/api/transaction-search/v1/).
 *
 * `POST /v1/oauth2/token` — HTTP Basic `client_id:client_secret`, form body
 * `grant_type=client_credentials` → 200 `{scope, access_token:"A21AA…", token_type:"Bearer",
 * app_id:"APP-…", expires_in, nonce}`; bad or missing credentials → 401
 * `{"error":"invalid_client","error_description":"Client Authentication failed"}`; a missing or
 * other grant type → 400 `{"error":"unsupported_grant_type",…}`. Faults never apply here.
 *
 * `GET /v1/reporting/transactions` — Bearer token issued by this server and not expired, else
 * 401 `{"name":"AUTHENTICATION_FAILURE",…}`. Required: `start_date`, `end_date` (RFC 3339 with
 * seconds; `Z`, `±hh:mm` or `±hhmm`; end after start; range ≤ 31 days), `fields` (`all` or a
 * comma list of the sub-object names), `page_size` 1–500, `page` ≥ 1; any violation → 400
 * `INVALID_REQUEST` with `details[0].field`. Optional filters `transaction_id`,
 * `transaction_status`, `transaction_currency`. Items with `transaction_initiation_date` in
 * [start, end), sorted ascending (then by id); more than `maxItemsPerRequest` → 400
 * `RESULTSET_TOO_LARGE` with `maximum_items`. Response: `{transaction_details, account_number,
 * start_date, end_date, last_refreshed_datetime, page, total_items, total_pages, links}`, dates as
 * `…+0000`, `total_pages = ceil(total_items / page_size)` (0 when empty), a page past the end has
 * `transaction_details: []`. Only the requested sub-objects are returned (`transaction_info`
 * always; a requested one the item lacks comes back as `{}`). `links`: `self`, `first`, `last`
 * and `next`/`prev` where they exist, with query parameters in a different order than `self`.
 *
 * Faults (list requests only): 401/429/500 with PayPal bodies (`AUTHENTICATION_FAILURE`,
 * `RATE_LIMIT_REACHED`, `INTERNAL_SERVER_ERROR`); 'malformed-page' → 200 without
 * `transaction_details` but with `total_items`/`total_pages`; 'repeat-cursor' → the previous
 * successful list body verbatim (its `page` is the previous number); 'shrinking-pages' →
 * `total_pages` one less than the truth (and `total_items` cut to match) — use it on request ≥ 2
 * so the client has seen the real value; 'slow'.
 */
export async function startFakePaypal(options: FakePaypalOptions): Promise<FakePaypalServer> {
  const ttl = options.tokenTtlSeconds ?? 32400;
  const maxItems = options.maxItemsPerRequest ?? 10000;
  const tokens = new Map<string, number>(); // token → expiry (epoch ms)
  let tokenCount = 0;
  let previousBody: unknown;
  const sorted = options.transactions
    .map((detail) => ({ detail, ms: initiationMs(detail) }))
    .sort((a, b) => {
      const x = a.detail.transaction_info.transaction_id;
      const y = b.detail.transaction_info.transaction_id;
      return a.ms !== b.ms ? a.ms - b.ms : x < y ? -1 : x > y ? 1 : 0;
    });
  const expectedBasic = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;

  const harness = await startHarness(
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
        'shrinking-pages',
      ],
      errorBody,
      commonHeaders: () => ({ 'paypal-debug-id': debugId() }),
    },
    (request, context): Reply => {
      if (request.path === TOKEN_PATH && request.method === 'POST') {
        tokenCount++;
        if (options.echoCredentialsOnToken) {
          return { status: 401, body: echoCredentialsBody(request) };
        }
        if (request.authorization?.trim() !== expectedBasic) {
          return {
            status: 401,
            body: { error: 'invalid_client', error_description: 'Client Authentication failed' },
          };
        }
        const grant = new URLSearchParams(request.body).get('grant_type');
        if (grant !== 'client_credentials') {
          return {
            status: 400,
            body: {
              error: 'unsupported_grant_type',
              error_description: grant === null ? 'Grant Type is NULL' : 'Grant Type is invalid',
            },
          };
        }
        const token = `A21AA${randomId(92)}`;
        tokens.set(token, Date.now() + ttl * 1000);
        return {
          status: 200,
          body: {
            scope: SCOPE,
            access_token: token,
            token_type: 'Bearer',
            app_id: 'APP-80W284485P519543T',
            expires_in: ttl,
            nonce: `${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}${randomId(43)}`,
          },
        };
      }
      if (request.path !== LIST_PATH || request.method !== 'GET') {
        return {
          status: 404,
          body: {
            name: 'RESOURCE_NOT_FOUND',
            message: 'The specified resource does not exist.',
            debug_id: debugId(),
          },
        };
      }

      const token = bearerToken(request.authorization);
      const expiry = token === undefined ? undefined : tokens.get(token);
      if (expiry === undefined || expiry <= Date.now()) {
        return { status: 401, body: errorBody('status-401') };
      }

      const q = request.query;
      for (const name of ['start_date', 'end_date', 'fields', 'page_size', 'page']) {
        if (q[name] === undefined || q[name] === '') {
          return invalidRequest(
            name,
            '',
            'MISSING_REQUIRED_PARAMETER',
            'A required field / parameter is missing.',
          );
        }
      }
      const startText = q.start_date ?? '';
      const endText = q.end_date ?? '';
      const startMs = parseRfc3339(startText);
      if (startMs === undefined) {
        return invalidRequest(
          'start_date',
          startText,
          'INVALID_PARAMETER_SYNTAX',
          'The value of a field does not conform to the expected format.',
        );
      }
      const endMs = parseRfc3339(endText);
      if (endMs === undefined) {
        return invalidRequest(
          'end_date',
          endText,
          'INVALID_PARAMETER_SYNTAX',
          'The value of a field does not conform to the expected format.',
        );
      }
      if (endMs <= startMs) {
        return invalidRequest(
          'end_date',
          endText,
          'INVALID_PARAMETER_VALUE',
          'end_date must be after start_date.',
        );
      }
      if (endMs - startMs > MAX_RANGE_MS) {
        return invalidRequest(
          'end_date',
          endText,
          'INVALID_PARAMETER_VALUE',
          'Date range is greater than 31 days',
        );
      }
      const fieldsText = q.fields ?? '';
      const wanted = new Set<SubObject>(['transaction_info']);
      for (const part of fieldsText.split(',').map((p) => p.trim())) {
        if (part === 'all') SUB_OBJECTS.forEach((s) => wanted.add(s));
        else if ((SUB_OBJECTS as readonly string[]).includes(part)) wanted.add(part as SubObject);
        else {
          return invalidRequest(
            'fields',
            fieldsText,
            'INVALID_PARAMETER_VALUE',
            'The value of a field is invalid.',
          );
        }
      }
      const pageSize = parseIntParam(q.page_size);
      if (pageSize === undefined || pageSize < 1 || pageSize > 500) {
        return invalidRequest(
          'page_size',
          q.page_size ?? '',
          'INVALID_PARAMETER_VALUE',
          'page_size must be between 1 and 500.',
        );
      }
      const page = parseIntParam(q.page);
      if (page === undefined || page < 1) {
        return invalidRequest(
          'page',
          q.page ?? '',
          'INVALID_PARAMETER_VALUE',
          'page must be greater than or equal to 1.',
        );
      }

      const matching = sorted
        .filter(({ ms }) => ms >= startMs && ms < endMs)
        .map(({ detail }) => detail)
        .filter(
          (d) =>
            (q.transaction_id === undefined ||
              d.transaction_info.transaction_id === q.transaction_id) &&
            (q.transaction_status === undefined ||
              d.transaction_info.transaction_status === q.transaction_status) &&
            (q.transaction_currency === undefined ||
              d.transaction_info.transaction_amount.currency_code === q.transaction_currency),
        );
      if (matching.length > maxItems) {
        return {
          status: 400,
          body: {
            name: 'RESULTSET_TOO_LARGE',
            message:
              'Result set size is greater than the maximum limit. Change the filter criteria and try again.',
            debug_id: debugId(),
            maximum_items: maxItems,
          },
        };
      }

      let totalItems = matching.length;
      let totalPages = Math.ceil(totalItems / pageSize);
      if (context.faults.has('shrinking-pages')) {
        totalPages = Math.max(0, totalPages - 1);
        totalItems = Math.min(totalItems, totalPages * pageSize);
      }
      const details = matching.slice((page - 1) * pageSize, page * pageSize).map((detail) => {
        const out: Record<string, unknown> = {};
        for (const name of SUB_OBJECTS) {
          if (wanted.has(name)) out[name] = detail[name] ?? {};
        }
        return out;
      });

      const origin = `http://${context.headers.host ?? '127.0.0.1'}`;
      const selfQuery = new URLSearchParams(q).toString();
      const linkTo = (n: number): string => {
        // Reordered on purpose: PayPal's hrefs do not keep the request's parameter order.
        const params = new URLSearchParams({ ...q, page: String(n) });
        params.sort();
        return `${origin}${LIST_PATH}?${params.toString()}`;
      };
      const links: { href: string; rel: string; method: string }[] = [
        { href: `${origin}${LIST_PATH}?${selfQuery}`, rel: 'self', method: 'GET' },
      ];
      if (totalPages > 0) {
        links.push({ href: linkTo(1), rel: 'first', method: 'GET' });
        if (page > 1 && page <= totalPages + 1) {
          links.push({ href: linkTo(page - 1), rel: 'prev', method: 'GET' });
        }
        if (page < totalPages) links.push({ href: linkTo(page + 1), rel: 'next', method: 'GET' });
        links.push({ href: linkTo(totalPages), rel: 'last', method: 'GET' });
      }

      const common = {
        account_number: options.accountNumber ?? 'XZXSPECPDZHZU',
        start_date: formatPaypalDate(startMs),
        end_date: formatPaypalDate(endMs),
        last_refreshed_datetime:
          options.lastRefreshedDatetime ?? formatPaypalDate(Math.floor(Date.now() / 1000) * 1000),
        page,
        total_items: totalItems,
        total_pages: totalPages,
        links,
      };
      if (context.faults.has('malformed-page')) return { status: 200, body: common };
      if (context.faults.has('repeat-cursor') && previousBody !== undefined) {
        return { status: 200, body: previousBody };
      }
      const body = { transaction_details: details, ...common };
      previousBody = body;
      return { status: 200, body };
    },
  );

  return {
    ...harness,
    tokenRequests: () => tokenCount,
    expireTokens: () => {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
  };
}
