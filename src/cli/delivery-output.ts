import type { DeliveryAttempt, DeliveryOutcome, RedeliveryOutcome } from '../job/deliver-results';

/**
 * The one log line `--fail-on-delivery-error` earns: it is accepted but does nothing any more,
 * since a failed delivery exits 7 by default (README "Exit codes").
 */
export const FAIL_ON_DELIVERY_ERROR_DEPRECATED =
  '--fail-on-delivery-error is deprecated and has no effect: a failed delivery exits 7 by default (--allow-delivery-failure or RECON_DELIVERY_FAILURE_EXIT=0 for exit 0)';

/** One line per attempt: `channel status target[ — error]`, e.g. `email failed ops@example.com — …`. */
export function deliveryAttemptLines(attempts: readonly DeliveryAttempt[]): string[] {
  return attempts.map(
    (a) =>
      [a.channel, a.status, a.target].filter(Boolean).join(' ') + (a.error ? ` — ${a.error}` : ''),
  );
}

/**
 * What `recon deliver RUN_ID` prints: only what this call did, or `nothing configured` when no
 * channel asked for is configured (`nothing delivered` should a configured call do nothing).
 */
export function deliveryText(outcome: DeliveryOutcome): string {
  if (!outcome.configured) return 'nothing configured';
  const lines = deliveryAttemptLines(outcome.attempts);
  return lines.length > 0 ? lines.join('\n') : 'nothing delivered';
}

/**
 * What `recon deliver --failed` prints: `nothing configured`; `nothing to re-send: no failed
 * delivery since D`; or a line naming the runs re-delivered, then one line per attempt.
 */
export function redeliveryText(outcome: RedeliveryOutcome, since: string): string {
  if (!outcome.configured) return 'nothing configured';
  if (outcome.runIds.length === 0) return `nothing to re-send: no failed delivery since ${since}`;
  const runs = outcome.runIds.length === 1 ? 'run' : 'runs';
  return [
    `re-sending failed deliveries of ${outcome.runIds.length} ${runs} since ${since}: ${outcome.runIds.join(', ')}`,
    ...deliveryAttemptLines(outcome.attempts),
  ].join('\n');
}
