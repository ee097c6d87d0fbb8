import { Option, type Command } from 'commander';
import { parseBusinessDate } from '../../domain/business-date';
import { ConfigError, NotFoundError, UsageError } from '../../domain/errors';
import {
  defaultRedeliverySince,
  deliverFailed,
  deliverResults,
  storedRunDeliverable,
} from '../../job/deliver-results';
import { repairStoredRunReports } from '../../job/run-reconciliation';
import { createRunStore } from '../../store/open-store';
import type { CommandContext } from '../command-context';
import {
  deliveryText,
  FAIL_ON_DELIVERY_ERROR_DEPRECATED,
  redeliveryText,
} from '../delivery-output';
import { buildDeliveryDeps } from '../delivery-wiring';
import { deliveryExitCode } from '../exit-codes';

/** Options of `recon deliver` as commander parses them. */
interface DeliverOptions {
  s3?: boolean;
  email?: boolean;
  failed?: boolean;
  since?: string;
  allowDeliveryFailure?: boolean;
  failOnDeliveryError?: boolean;
}

/**
 * Registers `recon deliver [RUN_ID]`: upload a stored run's reports and/or e-mail its summary
 * again, or (`--failed [--since D]`) re-send every delivery whose latest attempt failed. Prints
 * only what this call did; exits 7 when a delivery fails (unless allowed).
 */
export function registerDeliverCommand(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command('deliver')
    .description(
      "upload a stored run's reports to S3 and/or e-mail its summary again, or re-send every delivery that failed (--failed)",
    )
    .argument(
      '[run-id]',
      'the run id (uuid), or a unique prefix of at least 8 characters; not with --failed',
    )
    .option('--s3', 'upload the reports (default: both channels)')
    .option('--email', 'send the summary e-mail (default: both channels)')
    .option(
      '--failed',
      "re-send what failed: each completed run's channels whose latest attempt failed and were not delivered since",
    )
    .option(
      '--since <YYYY-MM-DD>',
      'with --failed: failures from this date (00:00 UTC) on (default: 7 days before today, UTC)',
    )
    .option(
      '--allow-delivery-failure',
      'exit 0 when a delivery fails (default: exit 7; RECON_DELIVERY_FAILURE_EXIT=0)',
    )
    .addOption(
      new Option(
        '--fail-on-delivery-error',
        'deprecated, no effect: a failed delivery exits 7 by default',
      ).conflicts('allowDeliveryFailure'),
    )
    .action(async (runId: string | undefined, options: DeliverOptions) => {
      if (options.failed && runId !== undefined)
        throw new UsageError('give either a run id or --failed, not both');
      if (!options.failed && runId === undefined)
        throw new UsageError('give a run id, or --failed to re-send every failed delivery');
      if (options.failed && (options.s3 || options.email))
        throw new UsageError('--failed re-sends the channels that failed: not with --s3/--email');
      if (options.since !== undefined && !options.failed)
        throw new UsageError('--since goes with --failed');
      const since = options.since
        ? parseBusinessDate(options.since, '--since')
        : defaultRedeliverySince(Date.now());
      const { config, logger } = ctx.settings();
      if (options.failOnDeliveryError) logger.warn(FAIL_ON_DELIVERY_ERROR_DEPRECATED);
      const deliveryConfig = config.delivery;
      const allowFailure =
        options.allowDeliveryFailure === true || deliveryConfig.allowDeliveryFailure;
      if (options.s3 && !deliveryConfig.s3)
        throw new ConfigError('S3 is not configured: set AWS_S3_BUCKET_NAME');
      if (options.email && !deliveryConfig.smtp) {
        throw new ConfigError('e-mail is not configured: set SMTP_SERVER and OPERATIONS_EMAIL');
      }
      const both = !options.s3 && !options.email;
      const store = createRunStore(config.database);
      const delivery = buildDeliveryDeps(deliveryConfig, store, logger, config.fx);
      try {
        if (runId === undefined) {
          const outcome = await deliverFailed({ ...delivery.deps, runs: store }, since);
          for (const failure of outcome.failures) io.err(`recon: delivery: ${failure}`);
          io.out(redeliveryText(outcome, since));
          ctx.setExitCode(deliveryExitCode(outcome.attempts, allowFailure));
          return;
        }
        const run = await store.getRun(await store.resolveRunId(runId));
        if (!run) throw new NotFoundError(`no run with id '${runId}'`);
        // A crash between the run's COMMIT and publishing its reports is repaired first.
        if (run.status === 'completed') await repairStoredRunReports(store, run, logger);
        const deliverable = {
          ...storedRunDeliverable(run),
          auditHead: await store.auditHeadOf(run.runId),
        };
        const outcome = await deliverResults(delivery.deps, [deliverable], {
          s3: both || options.s3 === true,
          email: both || options.email === true,
        });
        for (const failure of outcome.failures) io.err(`recon: delivery: ${failure}`);
        // Only what this call did, never the run's earlier deliveries.
        io.out(deliveryText(outcome));
        ctx.setExitCode(deliveryExitCode(outcome.attempts, allowFailure));
      } finally {
        delivery.close();
        await store.close();
      }
    });
}
