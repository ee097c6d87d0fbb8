import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault, FaultKind, FakeServer, RecordedRequest } from './types';

/** What a handler answers: a status, a JSON body (omitted for none) and extra headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The error statuses a fault can force; each fake supplies its own documented body for them. */
export type ErrorFaultKind = 'status-429' | 'status-500' | 'status-401';

/** What the harness tells a handler about one request. */
export interface RequestContext {
  readonly headers: IncomingHttpHeaders;
  /** 1-based index among list requests, or `undefined` for other endpoints. */
  readonly listIndex: number | undefined;
  /** Data-shaping faults active for this list request ('malformed-page', 'repeat-cursor', …). */
  readonly faults: ReadonlySet<FaultKind>;
}

export interface HarnessOptions {
  /** Path of the list endpoint: only GETs to it are counted and receive faults. */
  readonly listPath: string;
  /**
   * Further list endpoints (e.g. Stripe `/v1/payouts`, Square `/v2/payouts/{id}/payout-entries`):
   * GETs to a path this accepts are counted and receive faults too, in one sequence with
   * `listPath`'s.
   */
  readonly isOtherListPath?: (path: string) => boolean;
  readonly faults: readonly Fault[] | undefined;
  /** Fault kinds this fake implements; others are rejected at start-up. */
  readonly supportedFaults: readonly FaultKind[];
  /** The processor's documented error body for a forced error status. */
  readonly errorBody: (kind: ErrorFaultKind, request: RecordedRequest) => unknown;
  /** Extra headers on every response (e.g. a request id). */
  readonly commonHeaders?: () => Record<string, string>;
}

export type Handler = (request: RecordedRequest, context: RequestContext) => Reply;

/** A started harness: the public `FakeServer` plus the list-request counter. */
export interface Harness extends FakeServer {
  listRequests(): number;
}

const MAX_BODY_BYTES = 1 << 20;

/** Faults that cover list request `index`. */
export function faultsAt(faults: readonly Fault[] | undefined, index: number): Fault[] {
  return (faults ?? []).filter(
    (fault) => index >= fault.onRequest && index < fault.onRequest + (fault.times ?? 1),
  );
}

function validateFaults(faults: readonly Fault[] | undefined, supported: readonly FaultKind[]) {
  for (const fault of faults ?? []) {
    if (!supported.includes(fault.kind) && fault.kind !== 'echo-credentials') {
      throw new TypeError(`this fake API does not implement fault '${fault.kind}'`);
    }
    if (!Number.isInteger(fault.onRequest) || fault.onRequest < 1) {
      throw new TypeError(`fault '${fault.kind}': onRequest must be an integer ≥ 1`);
    }
    if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
      throw new TypeError(`fault '${fault.kind}': times must be an integer ≥ 1`);
    }
  }
}

function retryAfterHeader(fault: Fault): Record<string, string> {
  const seconds = fault.retryAfterSeconds ?? 1;
  if (fault.kind === 'status-429-retry-after-seconds') return { 'retry-after': String(seconds) };
  if (fault.kind === 'status-429-retry-after-date') {
    // HTTP-date has one-second resolution, so round up: the client never waits less than asked.
    const at = Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000;
    return { 'retry-after': new Date(at).toUTCString() };
  }
  return {};
}

function send(response: ServerResponse, reply: Reply, common: Record<string, string>): void {
  const headers: Record<string, string> = { ...common, ...reply.headers };
  if (reply.body === undefined) {
    response.writeHead(reply.status, headers).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers['content-type'] ??= 'application/json';
  headers['content-length'] = String(Buffer.byteLength(text));
  response.writeHead(reply.status, headers).end(text);
}

/**
 * Starts a `node:http` server on 127.0.0.1:0 that records every request, counts list requests,
 * applies the scheduled faults to them and otherwise delegates to `handler`.
 *
 * Order per list request: count it → 'slow' delay (the longest active `delayMs`) → forced error
 * status (first active of 401/429/500 in the `faults` array order) → `handler` with the remaining
 * data-shaping faults. Throws `TypeError` at start for a fault kind the fake does not implement.
 */
export async function startHarness(options: HarnessOptions, handler: Handler): Promise<Harness> {
  validateFaults(options.faults, options.supportedFaults);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const pendingDelays = new Set<{ timer: NodeJS.Timeout; resolve: (fired: boolean) => void }>();
  let listCount = 0;
  let closed = false;

  const delay = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          pendingDelays.delete(entry);
          resolve(true);
        }, ms),
        resolve,
      };
      pendingDelays.add(entry);
    });

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        const recorded: RecordedRequest = {
          method: request.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams.entries()),
          authorization: request.headers.authorization,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        requests.push(recorded);
        const common = options.commonHeaders?.() ?? {};
        const isList =
          recorded.method === 'GET' &&
          (recorded.path === options.listPath ||
            (options.isOtherListPath?.(recorded.path) ?? false));
        const index = isList ? ++listCount : undefined;
        const active = index === undefined ? [] : faultsAt(options.faults, index);

        const slowest = Math.max(
          0,
          ...active.filter((f) => f.kind === 'slow').map((f) => f.delayMs ?? 1000),
        );
        if (slowest > 0 && !(await delay(slowest))) return; // closed while waiting
        if (closed) return;

        const echo = active.find((f) => f.kind === 'echo-credentials');
        if (echo) {
          send(
            response,
            { status: echo.status ?? 401, body: echoCredentialsBody(recorded) },
            common,
          );
          return;
        }
        const forced = active.find(
          (f) =>
            f.kind === 'status-401' || f.kind === 'status-500' || f.kind.startsWith('status-429'),
        );
        if (forced) {
          const kind: ErrorFaultKind =
            forced.kind === 'status-401'
              ? 'status-401'
              : forced.kind === 'status-500'
                ? 'status-500'
                : 'status-429';
          const status = kind === 'status-401' ? 401 : kind === 'status-500' ? 500 : 429;
          send(
            response,
            { status, body: options.errorBody(kind, recorded), headers: retryAfterHeader(forced) },
            common,
          );
          return;
        }
        let reply: Reply;
        try {
          reply = handler(recorded, {
            headers: request.headers,
            listIndex: index,
            faults: new Set(active.map((f) => f.kind)),
          });
        } catch (error) {
          // A bug in the fake itself: make it loud rather than look like an API error.
          reply = {
            status: 599,
            body: { fake_server_bug: error instanceof Error ? error.message : String(error) },
          };
        }
        send(response, reply, common);
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    listRequests: () => listCount,
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      for (const entry of pendingDelays) {
        clearTimeout(entry.timer);
        entry.resolve(false);
      }
      pendingDelays.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

/**
 * The error body of a careless API that echoes what it was sent: the `Authorization` header, the
 * credential in it (Bearer token, or Basic decoded to `user:secret`), that credential URL-encoded,
 * the request URL with its query and the form body. JSON-serialised, so quotes and backslashes of
 * a secret arrive JSON-escaped.
 */
export function echoCredentialsBody(request: RecordedRequest): unknown {
  const authorization = request.authorization ?? '';
  const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2);
  const credential =
    scheme.toLowerCase() === 'basic' ? Buffer.from(value, 'base64').toString('utf8') : value;
  const query = new URLSearchParams(request.query).toString();
  return {
    error: {
      detail: `No such key: '${credential}'`,
      message: `Invalid credentials. You sent Authorization: ${authorization}`,
      credential,
      credential_urlencoded: encodeURIComponent(credential),
      request_url: `${request.path}${query ? `?${query}` : ''}`,
      request_body: request.body,
    },
  };
}

/** A bearer token from an `Authorization` header, or `undefined`. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer (\S+)$/i.exec(authorization?.trim() ?? '');
  return match?.[1];
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Epoch milliseconds of an RFC 3339 date-time with seconds and a zone (`Z`, `+hh:mm`, or
 * PayPal's colon-less `+hhmm`), or `undefined` when `text` is not one.
 */
export function parseRfc3339(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const zone = (match[8] ?? '').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2').toUpperCase();
  const iso = `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${match[7] ?? ''}${zone}`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2025-02-30 over to March: reject by round-tripping the date part in UTC.
  const month = Number(match[2]);
  const day = Number(match[3]);
  const check = new Date(Date.UTC(Number(match[1]), month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return ms;
}

/** `2025-09-30T23:20:14+0000`: PayPal's response date format (UTC, colon-less offset). */
export function formatPaypalDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** A random alphanumeric string of `length` characters. */
export function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

/** Strict decimal integer text (`"10"`, not `"1e1"`, `" 10"` or `"10.0"`), or `undefined`. */
export function parseIntParam(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}
