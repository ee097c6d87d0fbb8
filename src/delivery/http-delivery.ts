import { redactSecrets } from '../domain/redact';

/** Timeouts and retries of the HTTP channels (Slack, webhook). Durations in milliseconds. */
export interface HttpDeliverySettings {
  /** One attempt, connect to end of body (`RECON_HTTP_DELIVERY_TIMEOUT_MS`, default 10000). */
  readonly requestTimeoutMs: number;
  /** Attempts per POST, the first included (`RECON_HTTP_DELIVERY_MAX_ATTEMPTS`, default 4). */
  readonly maxAttempts: number;
  /** Everything of one POST, all retries (`RECON_HTTP_DELIVERY_DEADLINE_MS`, default 60000). */
  readonly deadlineMs: number;
  /** First backoff step, doubled per attempt with full jitter, at most `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** A POST to make: `headers(attempt)` is called per attempt (a signature carries its time). */
export interface HttpPost {
  readonly url: string;
  readonly body: string;
  readonly headers: (attempt: number) => Record<string, string>;
}

/** The result of `postWithRetries`: `ok` after a 2xx, else why it gave up (one line, no secret). */
export type HttpPostResult =
  | { readonly ok: true; readonly status: number; readonly attempts: number }
  | { readonly ok: false; readonly error: string; readonly attempts: number };

/**
 * Where a channel URL points, safe to print and store: scheme, host and port only. The path and
 * query are dropped (a Slack or webhook URL carries its token there), so is any user info.
 */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** True for statuses worth retrying: 408, 429 and every 5xx. */
export function isRetryableDeliveryStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in ms (delay-seconds or an HTTP date, RFC 9110 §10.2.3) or undefined. */
function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function networkProblem(error: unknown): string {
  const e = error as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  if (!e || typeof e !== 'object') return String(error);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  const message = typeof e.message === 'string' ? e.message : String(error);
  // fetch says only "fetch failed": the reason (ECONNREFUSED, bad port, redirect…) is its cause.
  const code = typeof e.cause?.code === 'string' ? e.cause.code : '';
  const detail = typeof e.cause?.message === 'string' ? e.cause.message : '';
  const why = code && !detail.includes(code) ? `${code} ${detail}`.trim() : detail || code;
  return redactSecrets(why ? `${message}: ${why}` : message);
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * POSTs `post` with bounded time: each attempt at most `requestTimeoutMs` (connect, headers and
 * body), retried on 408/429/5xx, network errors and timeouts with exponential backoff and full
 * jitter (`Retry-After` honoured, never past the deadline), up to `maxAttempts`, all within
 * `deadlineMs`. Redirects are refused (they could leave https). Other 4xx are not retried.
 * Never throws: the result says what happened; its error names the URL's origin only.
 */
export async function postWithRetries(
  post: HttpPost,
  settings: HttpDeliverySettings,
  random: () => number = Math.random,
): Promise<HttpPostResult> {
  const where = urlOrigin(post.url);
  const deadline = AbortSignal.timeout(settings.deadlineMs);
  const started = Date.now();
  let problem = '';
  let attempt = 0;
  while (attempt < settings.maxAttempts && !deadline.aborted) {
    attempt++;
    let wait: number | undefined;
    try {
      const response = await fetch(post.url, {
        method: 'POST',
        headers: post.headers(attempt),
        body: post.body,
        redirect: 'error',
        signal: AbortSignal.any([deadline, AbortSignal.timeout(settings.requestTimeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) return { ok: true, status: response.status, attempts: attempt };
      const excerpt = redactSecrets(text).replace(/\s+/g, ' ').trim().slice(0, 200);
      problem = `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`;
      if (!isRetryableDeliveryStatus(response.status)) break;
      wait = retryAfterMs(response.headers.get('retry-after'), Date.now());
    } catch (error) {
      problem = networkProblem(error);
    }
    if (attempt >= settings.maxAttempts || deadline.aborted) break;
    const backoff =
      random() * Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempt - 1));
    const left = settings.deadlineMs - (Date.now() - started);
    await sleep(Math.max(0, Math.min(wait ?? backoff, left)), deadline);
  }
  const why = deadline.aborted
    ? `deadline of ${settings.deadlineMs} ms exceeded${problem ? ` (last: ${problem})` : ''}`
    : problem;
  return {
    ok: false,
    error: `${where}: ${why} after ${attempt} attempt${attempt === 1 ? '' : 's'}`,
    attempts: attempt,
  };
}
