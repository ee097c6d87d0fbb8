import {
  deliverResults,
  toDeliverable,
  type DeliveryChoice,
  type DeliveryDeps,
  type DeliveryOutcome,
} from './deliver-results';
import {
  runReconciliation,
  type JobDeps,
  type RunRequest,
  type RunResult,
} from './run-reconciliation';

/**
 * Collaborators of `runAndDeliver`: the job's (`JobDeps`) plus delivery. `delivery` is `null`
 * for dry runs (they deliver nothing); the caller builds and closes both from configuration.
 */
export interface RunAndDeliverDeps extends JobDeps {
  readonly delivery: DeliveryDeps | null;
  /**
   * Called once every run has finished (committed or failed), before delivery starts, so that
   * the caller can show the results without waiting for uploads and e-mail.
   */
  readonly onResults?: (results: readonly RunResult[]) => void;
}

/** What `runAndDeliver` did: every run's result and, when delivery was attempted, its outcome. */
export interface RunAndDeliverOutcome {
  readonly results: readonly RunResult[];
  /** `null` when nothing was delivered: a dry run, or interrupted before delivery. */
  readonly delivery: DeliveryOutcome | null;
}

/**
 * The nightly job as `recon run` and every `recon schedule` tick do it: reconcile every (date,
 * processor) of `request` (`runReconciliation`), then deliver the results over the channels of
 * `choice` (reports to S3, the summary e-mail). Delivery is skipped for dry runs and once
 * `deps.abort` has fired. Delivery failures are returned, not thrown; the caller maps the outcome
 * to an exit code.
 * @throws whatever `runReconciliation` throws before any run starts (e.g. UsageError, ConfigError).
 */
export async function runAndDeliver(
  deps: RunAndDeliverDeps,
  request: RunRequest,
  choice: DeliveryChoice,
): Promise<RunAndDeliverOutcome> {
  const results = await runReconciliation(deps, request);
  deps.onResults?.(results);
  if (request.dryRun || !deps.store || !deps.delivery || deps.abort?.aborted)
    return { results, delivery: null };
  const delivery = await deliverResults(deps.delivery, results.map(toDeliverable), choice);
  return { results, delivery };
}
