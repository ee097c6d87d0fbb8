import type { Command } from 'commander';
import { checkHealth, checkLiveness } from '../../job/health-check';
import type { CommandContext } from '../command-context';
import { EXIT_CODES } from '../exit-codes';
import { renderTable } from '../format-output';

/** Registers `recon health`: check every dependency (or, with `--liveness`, the database). */
export function registerHealthCommand(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command('health')
    .description('check the database, S3, SMTP and the configured APIs; exit 3 when one is down')
    .option(
      '--liveness',
      'check only the database (the container health check): no S3, SMTP or API call, nothing recorded',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; liveness?: boolean }) => {
      const { config } = ctx.settings();
      const results = options.liveness
        ? await checkLiveness(config.database, config.healthTimeoutMs)
        : await checkHealth({
            database: config.database,
            delivery: config.delivery,
            apis: config.apis,
            retentionDays: config.healthRetentionDays,
            timeoutMs: config.healthTimeoutMs,
          });
      io.out(
        options.json
          ? JSON.stringify(
              results.map((r) => ({
                component: r.component,
                status: r.status,
                latency_ms: r.latencyMs,
                detail: r.detail,
              })),
              null,
              2,
            )
          : renderTable(
              ['component', 'status', 'latency_ms', 'detail'],
              results.map((r) => [r.component, r.status, String(r.latencyMs), r.detail]),
            ),
      );
      for (const r of results) {
        if (r.status === 'down') io.err(`recon: health: ${r.component} down: ${r.detail}`);
      }
      if (results.some((r) => r.status === 'down'))
        ctx.setExitCode(EXIT_CODES.DEPENDENCY_UNAVAILABLE);
    });
}
