import type { Logger } from '../../src/config/logger';
import { UsageError } from '../../src/domain/errors';
import { runScheduler } from '../../src/job/scheduler';

function recordingLogger(lines: string[]): Logger {
  const logger = {
    child: () => logger,
    info: (a: unknown, b?: string) => lines.push(typeof a === 'string' ? a : (b ?? '')),
    warn: (a: unknown, b?: string) => lines.push(typeof a === 'string' ? a : (b ?? '')),
    error: (a: unknown, b?: string) => lines.push(typeof a === 'string' ? a : (b ?? '')),
  };
  return logger as unknown as Logger;
}

describe('scheduler', () => {
  it('fires on a one-second schedule, skips ticks while a run is going, and stops after the running tick', async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    let started = 0;
    let finished = 0;
    const done = runScheduler({
      expression: '* * * * * *',
      timeZone: 'UTC',
      logger: recordingLogger(lines),
      abort: controller.signal,
      tick: async () => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 2500));
        finished++;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 3600));
    controller.abort();
    await done;
    expect(started).toBeGreaterThanOrEqual(1);
    expect(started).toBeLessThanOrEqual(2);
    expect(finished).toBe(started);
    expect(lines).toContain('tick skipped: the previous run is still going');
    expect(lines[lines.length - 1]).toBe('scheduler stopped');
  }, 15_000);

  it('rejects an invalid cron expression as a usage error', async () => {
    await expect(
      runScheduler({
        expression: 'every night',
        timeZone: 'UTC',
        logger: recordingLogger([]),
        abort: new AbortController().signal,
        tick: () => Promise.resolve(),
      }),
    ).rejects.toThrow(
      new UsageError(
        "RECON_SCHEDULE 'every night' is not a valid cron expression (e.g. '0 1 * * *')",
      ),
    );
  });
});
