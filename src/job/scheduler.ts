import cron from 'node-cron';
import type { Logger } from '../config/logger';
import { describeError, UsageError } from '../domain/errors';

/** What `runScheduler` needs. `tick` runs one nightly job; its promise settles when it is done. */
export interface SchedulerOptions {
  /** Cron expression (5 fields, or 6 with seconds), e.g. `0 1 * * *`. */
  readonly expression: string;
  /** IANA zone the expression is read in (RECON_TIMEZONE). */
  readonly timeZone: string;
  readonly tick: (firedAt: Date) => Promise<void>;
  readonly logger: Logger;
  /** Stops the scheduler: no new tick starts; the running one is awaited (it sees the same signal). */
  readonly abort: AbortSignal;
}

/**
 * Checks a cron expression (RECON_SCHEDULE) the way `runScheduler` reads it, so that the caller
 * can refuse to start before any side effect.
 * @throws UsageError for an invalid expression.
 */
export function checkScheduleExpression(expression: string): void {
  if (!cron.validate(expression)) {
    throw new UsageError(
      `RECON_SCHEDULE '${expression}' is not a valid cron expression (e.g. '0 1 * * *')`,
    );
  }
}

/**
 * Fires `tick` on the cron schedule (node-cron, https://github.com/node-cron/node-cron) until
 * `abort`; never overlaps itself — a tick that comes while the previous one still runs is skipped
 * and logged. Resolves once stopped and the running tick (if any) has finished.
 * @throws UsageError for an invalid cron expression.
 */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  checkScheduleExpression(options.expression);
  const log = options.logger.child({ component: 'scheduler' });
  let running: Promise<void> | undefined;
  const task = cron.schedule(
    options.expression,
    () => {
      const firedAt = new Date();
      if (running) {
        log.warn(
          { fired_at: firedAt.toISOString() },
          'tick skipped: the previous run is still going',
        );
        return;
      }
      if (options.abort.aborted) return;
      log.info({ fired_at: firedAt.toISOString() }, 'tick: starting the nightly run');
      running = options
        .tick(firedAt)
        .catch((error: unknown) => log.error({ err_message: describeError(error) }, 'tick failed'))
        .finally(() => {
          running = undefined;
        });
    },
    { timezone: options.timeZone, name: 'recon-nightly' },
  );
  log.info({ schedule: options.expression, time_zone: options.timeZone }, 'scheduler started');
  await new Promise<void>((resolve) => {
    if (options.abort.aborted) resolve();
    else options.abort.addEventListener('abort', () => resolve(), { once: true });
  });
  await task.stop();
  await task.destroy();
  if (running) {
    log.info('stopping: waiting for the current run to finish or abort');
    await running;
  }
  log.info('scheduler stopped');
}
