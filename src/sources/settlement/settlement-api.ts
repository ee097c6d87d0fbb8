import { redactSecrets } from '../../domain/redact';
import type { HttpSettings, RetryObserver } from '../http/http-client';

/** What a settlement API source needs besides its credentials. */
export interface SettlementApiOptions {
  /** Timeouts, retries and the one fetch deadline of the whole read (every page, every retry). */
  readonly http: HttpSettings;
  /** Receives a line per retry (a pino logger fits). */
  readonly observer: RetryObserver;
}

/**
 * A short JSON excerpt (≤ 120 characters, secrets redacted before the cut) of an API item that
 * cannot be read, for messages.
 */
export function excerptJson(item: unknown): string {
  const text = redactSecrets(JSON.stringify(item) ?? String(item));
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** The deadline of one read: the source's fetch deadline, or the caller's `signal` if sooner. */
export function readDeadline(http: HttpSettings, signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(http.fetchDeadlineMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
