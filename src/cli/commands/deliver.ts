import type { Command } from 'commander';
import { loadDeliveryConfig } from '../../config/delivery-config';
import { ConfigError, NotFoundError } from '../../domain/errors';
import { deliverResults } from '../../job/deliver-results';
import { repairStoredRunReports } from '../../job/run-reconciliation';
import { createRunStore } from '../../store/open-store';
import type { CommandContext } from '../command-context';
import { buildDeliveryDeps } from '../delivery-wiring';
import { EXIT_CODES } from '../exit-codes';

/** Registers `recon deliver RUN_ID`: upload a stored run's reports and/or e-mail its summary again. */
export function registerDeliverCommand(program: Command, ctx: CommandContext): void {
  const { io, env } = ctx;
  program
    .command('deliver')
    .description("upload a stored run's reports to S3 and/or e-mail its summary again")
    .argument('<run-id>', 'the run id (uuid)')
    .option('--s3', 'upload the reports (default: both channels)')
    .option('--email', 'send the summary e-mail (default: both channels)')
    .option('--fail-on-delivery-error', 'exit 3 when a delivery fails')
    .action(
      async (
        runId: string,
        options: { s3?: boolean; email?: boolean; failOnDeliveryError?: boolean },
      ) => {
        const { config, logger } = ctx.settings();
        const deliveryConfig = loadDeliveryConfig(env);
        if (options.s3 && !deliveryConfig.s3)
          throw new ConfigError('S3 is not configured: set AWS_S3_BUCKET_NAME');
        if (options.email && !deliveryConfig.smtp) {
          throw new ConfigError('e-mail is not configured: set SMTP_SERVER and OPERATIONS_EMAIL');
        }
        const both = !options.s3 && !options.email;
        const store = createRunStore(config.database);
        const delivery = buildDeliveryDeps(deliveryConfig, store, logger, config.fx);
        try {
          const run = await store.getRun(runId);
          if (!run) throw new NotFoundError(`no run with id '${runId}'`);
          // A crash between the run's COMMIT and publishing its reports is repaired first.
          if (run.status === 'completed') await repairStoredRunReports(store, run, logger);
          const outcome = await deliverResults(
            delivery.deps,
            [
              {
                runId: run.runId,
                businessDate: run.businessDate,
                processor: run.processor,
                status: run.status === 'failed' ? 'failed' : 'completed',
                error: run.errorMessage ? new Error(run.errorMessage) : null,
                reportCsvPath: run.reportCsvPath,
                reportJsonPath: run.reportJsonPath,
              },
            ],
            { s3: both || options.s3 === true, email: both || options.email === true },
          );
          for (const failure of outcome.failures) io.err(`recon: delivery: ${failure}`);
          const deliveries = await delivery.deps.deliveries.list(run.runId);
          io.out(
            deliveries.length
              ? deliveries
                  .map(
                    (d) => `${d.channel} ${d.status} ${d.target}${d.error ? ` — ${d.error}` : ''}`,
                  )
                  .join('\n')
              : 'nothing delivered (no channel configured)',
          );
          if (outcome.failures.length > 0 && options.failOnDeliveryError)
            ctx.setExitCode(EXIT_CODES.DEPENDENCY_UNAVAILABLE);
        } finally {
          delivery.close();
          await store.close();
        }
      },
    );
}
