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
import { CHANNEL_NAMES } from '../../delivery/channel';
import type { DeliveryConfig } from '../../config/delivery-config';
import type { DeliveryChannel } from '../../store/delivery-store';

/** What to set for a channel named with `--channel` that is not configured. */
const CHANNEL_SETTING: Record<DeliveryChannel, string> = {
  s3: 'AWS_S3_BUCKET_NAME',
  email: 'SMTP_SERVER and OPERATIONS_EMAIL',
  slack: 'SLACK_WEBHOOK_URL',
  webhook: 'RECON_WEBHOOK_URL',
  amqp: 'RECON_AMQP_URL',
};

function isConfigured(config: DeliveryConfig, channel: DeliveryChannel): boolean {
  return channel === 'email' ? config.smtp !== undefined : config[channel] !== undefined;
}

function collectChannel(value: string, previous: DeliveryChannel[] | undefined): DeliveryChannel[] {
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(CHANNEL_NAMES as readonly string[]).includes(name))
      throw new UsageError(
        `--channel must be one of ${CHANNEL_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
      );
  }
  return [...(previous ?? []), ...(names as DeliveryChannel[])];
}

/** Options of `recon deliver` as commander parses them. */
interface DeliverOptions {
  s3?: boolean;
  email?: boolean;
  channel?: DeliveryChannel[];
  failed?: boolean;
  since?: string;
  allowDeliveryFailure?: boolean;
  failOnDeliveryError?: boolean;
}

/**
 * Registers `recon deliver [RUN_ID]`: deliver a stored run again over every configured channel or
 * those named (`--channel s3|email|slack|webhook|amqp`, repeatable; `--s3`/`--email` aliases), or
 * (`--failed [--since D]`) re-send every delivery whose latest attempt failed (only on the named
 * channels when given). Prints only what this call did; exits 7 when a delivery fails (unless
 * allowed), 2 when a named channel is not configured.
 */
export function registerDeliverCommand(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command('deliver')
    .description(
      'deliver a stored run again (S3, e-mail, Slack, webhook, AMQP; --channel picks), or re-send every delivery that failed (--failed)',
    )
    .argument(
      '[run-id]',
      'the run id (uuid), or a unique prefix of at least 8 characters; not with --failed',
    )
    .option('--s3', 'upload the reports (same as --channel s3)')
    .option('--email', 'send the summary e-mail (same as --channel email)')
    .option(
      '--channel <name>',
      `only this channel: ${CHANNEL_NAMES.join('|')} (repeatable; default: every configured channel)`,
      collectChannel,
    )
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
      const named = [
        ...new Set([
          ...(options.s3 ? (['s3'] as const) : []),
          ...(options.email ? (['email'] as const) : []),
          ...(options.channel ?? []),
        ]),
      ];
      for (const channel of named) {
        if (!isConfigured(deliveryConfig, channel))
          throw new ConfigError(
            `${channel === 's3' ? 'S3' : channel === 'email' ? 'e-mail' : channel} is not configured: set ${CHANNEL_SETTING[channel]}`,
          );
      }
      const all = named.length === 0;
      const store = createRunStore(config.database);
      const delivery = buildDeliveryDeps(
        deliveryConfig,
        store,
        logger,
        config.fx,
        config.breaks.escalateDays,
      );
      try {
        if (runId === undefined) {
          const outcome = await deliverFailed(
            { ...delivery.deps, runs: store },
            since,
            all ? undefined : named,
          );
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
          s3: all || named.includes('s3'),
          email: all || named.includes('email'),
          channels: all ? undefined : named,
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
