import type { Command } from 'commander';
import { previousBusinessDate } from '../../domain/business-date';
import type { CommandContext } from '../command-context';
import { exitCodeFor } from '../exit-codes';
import type { RunOptions } from '../options';
import { executeRun, loadRunSettings } from './run';

/**
 * Registers `recon schedule`: a foreground process that runs the nightly job (the same
 * `runAndDeliver` as `recon run`) for the previous business date on `RECON_SCHEDULE`. Every
 * setting (configuration, options, delivery, the schedule) is checked once at start: with a
 * problem it refuses to start (exit 2) instead of failing every tick.
 */
export function registerScheduleCommand(program: Command, ctx: CommandContext): void {
  const { io, env } = ctx;
  program
    .command('schedule')
    .description(
      'run in the foreground and reconcile the previous business date on RECON_SCHEDULE (default 0 1 * * *)',
    )
    .option('--processors <names...>', 'processors to reconcile (default: RECON_PROCESSORS)')
    .option('--source <kind>', 'csv, api or raw for both sides (default: csv)')
    .option('--processor-source <kind>', 'csv, api or raw for the processor side')
    .option('--internal-source <kind>', 'csv, api or raw for the internal ledger side')
    .option('--data-dir <dir>', 'input root for CSV sources (default: data)')
    .option('--reports-dir <dir>', 'where reports are written (default: local_reports)')
    .option(
      '--grace-days <days>',
      'a one-sided item younger than this many days is pending, not a missing break (default: RECON_GRACE_DAYS or 0)',
    )
    .option('--no-email', 'do not send summary e-mails')
    .action(async (options: RunOptions) => {
      // Loaded here: only `recon schedule` needs node-cron (start-up of every other command).
      const { checkScheduleExpression, runScheduler } = await import('../../job/scheduler');
      const expression = env.RECON_SCHEDULE?.trim() || '0 1 * * *';
      const { config, logger, request, deliveryConfig } = loadRunSettings(
        ctx,
        options,
        Date.now(),
        [() => checkScheduleExpression(expression)],
      );
      await runScheduler({
        expression,
        timeZone: config.timeZone,
        logger,
        abort: io.abort ?? new AbortController().signal,
        tick: async (firedAt) => {
          const date = previousBusinessDate(config.timeZone, firedAt.getTime());
          const code = await executeRun(
            { ...request, dates: [date] },
            deliveryConfig,
            { json: false, email: options.email !== false, allowDeliveryFailure: false },
            config,
            logger,
            io,
          );
          logger.info({ business_date: date, exit_code: code }, 'nightly run finished');
        },
      });
      if (io.abort?.aborted) ctx.setExitCode(exitCodeFor(io.abort.reason));
    });
}
