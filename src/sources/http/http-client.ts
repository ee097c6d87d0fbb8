import { ConfigError, DependencyUnavailableError, InputRejectedError } from '../../domain/errors';
import { redactSecrets } from '../../domain/redact';

/** Timeouts and retry policy of API calls. All durations in milliseconds. */
export interface HttpSettings {
  /** Whole request (connect, headers and body) of one attempt. */
  readonly requestTimeoutMs: number;
  /** Until the response headers arrive (connect + server time) of one attempt. */
  readonly connectTimeoutMs: number;
  /** Attempts per request, the first included. */
  readonly maxAttempts: number;
  /** First backoff step; doubled per attempt, with full jitter, up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Largest `Retry-After` honoured; a longer one is capped to this. */
  readonly retryAfterCapMs: number;
  /** One deadline for the whole fetch of one side (all pages, all retries). */
  readonly fetchDeadlineMs: number;
}

/** Defaults of `HttpSettings` (documented in the README). */
export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxAttempts: 5,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  retryAfterCapMs: 60_000,
  fetchDeadlineMs: 15 * 60_000,
};

/** A request: URL, method, headers (may hold secrets: never logged) and optional body. */
export interface HttpRequest {
  readonly url: URL;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Non-retryable statuses to hand back to the caller instead of throwing (e.g. 400, 401). */
  readonly passThrough?: readonly number[];
}

/** A response whose body was read as text; `json` is the parsed body or `undefined`. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

/** Something that reports progress of retries; a pino logger fits. */
export interface RetryObserver {
  warn(details: object, message: string): void;
}

/** Waits `ms` milliseconds, or rejects when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP date, relative to
 * `nowMs`. Returns milliseconds (≥ 0), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** True for statuses worth retrying: 429 (rate limited) and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Shortens an error body for messages: secrets redacted, one line, at most 300 characters. */
export function excerpt(text: string, max = 300): string {
  // Redacted before it is cut: a cut through a secret would leave a prefix no redactor knows.
  const line = redactSecrets(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * Thrown for a response that breaks the API's contract (missing `data`, a repeating cursor…):
 * the input as a whole is unusable, so the run fails with exit 4.
 */
export class ContractViolationError extends InputRejectedError {}

/**
 * HTTP with bounded time and retries, over Node's built-in `fetch`:
 * - per attempt: `connectTimeoutMs` until the headers, `requestTimeoutMs` for the whole exchange;
 * - retries on 429, 5xx and network errors, up to `maxAttempts`, with exponential backoff and
 *   full jitter; `Retry-After` (seconds or HTTP date) is honoured when present, capped;
 * - no retry on other 4xx; one `deadline` signal bounds everything.
 *
 * Errors name `service`, the URL path (never the query, which may carry secrets) and the status:
 * 401/403 → `ConfigError` (credentials, exit 2); exhausted retries, other 4xx, timeouts and
 * network failures → `DependencyUnavailableError` (exit 3).
 */
export class HttpClient {
  constructor(
    private readonly service: string,
    private readonly settings: HttpSettings,
    private readonly observer: RetryObserver,
    private readonly sleep: Sleep = defaultSleep,
    private readonly random: () => number = Math.random,
  ) {}

  /** Sends `request`, retrying as described; resolves with the first non-retryable response. */
  async send(request: HttpRequest, deadline: AbortSignal): Promise<HttpResponse> {
    const where = `${this.service} API ${request.url.pathname}`;
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      if (deadline.aborted) throw this.deadlineError(where, lastProblem);
      let response: HttpResponse | undefined;
      let retryAfterMs: number | undefined;
      try {
        response = await this.attempt(request, deadline);
      } catch (error) {
        if (deadline.aborted) throw this.deadlineError(where, lastProblem);
        lastProblem = describeNetworkError(error);
      }
      if (response) {
        if (!isRetryableStatus(response.status)) {
          if (request.passThrough?.includes(response.status)) return response;
          if (response.status === 401 || response.status === 403) {
            throw new ConfigError(
              `${where}: HTTP ${response.status}, credentials rejected: ${excerpt(response.text)}`,
            );
          }
          if (response.status >= 400) {
            throw new DependencyUnavailableError(
              this.service,
              `${where}: HTTP ${response.status}: ${excerpt(response.text)}`,
            );
          }
          return response;
        }
        lastProblem = `HTTP ${response.status}: ${excerpt(response.text)}`;
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      }
      if (attempt === this.settings.maxAttempts) break;
      const backoff =
        this.random() *
        Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** (attempt - 1));
      const delay =
        retryAfterMs === undefined
          ? backoff
          : Math.min(retryAfterMs, this.settings.retryAfterCapMs);
      this.observer.warn(
        {
          service: this.service,
          path: request.url.pathname,
          attempt,
          delay_ms: Math.round(delay),
          problem: lastProblem,
        },
        'API call failed, retrying',
      );
      try {
        await this.sleep(delay, deadline);
      } catch {
        throw this.deadlineError(where, lastProblem);
      }
    }
    throw new DependencyUnavailableError(
      this.service,
      `${where}: ${lastProblem} (gave up after ${this.settings.maxAttempts} attempts)`,
    );
  }

  private async attempt(request: HttpRequest, deadline: AbortSignal): Promise<HttpResponse> {
    const controller = new AbortController();
    const signal = AbortSignal.any([
      controller.signal,
      deadline,
      AbortSignal.timeout(this.settings.requestTimeoutMs),
    ]);
    const connectTimer = setTimeout(
      () =>
        controller.abort(
          new Error(`no response headers within ${this.settings.connectTimeoutMs} ms`),
        ),
      this.settings.connectTimeoutMs,
    );
    try {
      const response = await fetch(request.url, {
        method: request.method ?? 'GET',
        headers: { accept: 'application/json', ...request.headers },
        body: request.body,
        signal,
        redirect: 'error',
      });
      clearTimeout(connectTimer);
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    } finally {
      clearTimeout(connectTimer);
    }
  }

  private deadlineError(where: string, lastProblem: string): DependencyUnavailableError {
    return new DependencyUnavailableError(
      this.service,
      `${where}: fetch deadline of ${this.settings.fetchDeadlineMs} ms exceeded${lastProblem ? ` (last problem: ${lastProblem})` : ''}`,
    );
  }
}

function describeNetworkError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (test runners), so no instanceof.
  const e = error as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  if (!e || typeof e !== 'object') return String(error);
  if (e.name === 'TimeoutError') return 'request timed out';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const cause = e.cause;
  if (cause && typeof cause === 'object') {
    const code = typeof cause.code === 'string' ? cause.code : '';
    const detail = typeof cause.message === 'string' ? cause.message : '';
    return `${message}: ${code && !detail.includes(code) ? `${code} ` : ''}${detail}`.trim();
  }
  return message;
}
