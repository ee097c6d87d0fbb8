import { Option, type Command } from 'commander';
import { parseBusinessDate } from '../../domain/business-date';
import { NotFoundError, UsageError } from '../../domain/errors';
import { DeliveryStore } from '../../store/delivery-store';
import { createRunStore } from '../../store/open-store';
import { findRunGaps } from '../../store/run-history';
import type { CommandContext } from '../command-context';
import {
  renderTable,
  runDetailsText,
  runsTable,
  storedDiscrepancyJson,
  storedRunJson,
} from '../format-output';
import { parseProcessors, toLimit } from '../options';

/** Registers `recon runs list`, `recon runs gaps` and `recon runs show`: inspect stored runs. */
export function registerRunsCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const runs = program.command('runs').description('inspect stored runs');
  runs
    .command('list')
    .description('list runs, newest first')
    .option('--date <YYYY-MM-DD>', 'only runs for this business date')
    .option('--processor <name>', 'only runs of this processor')
    .addOption(new Option('--limit <n>', 'at most this many runs').default('20'))
    .option('--json', 'print JSON')
    .action(
      async (options: { date?: string; processor?: string; limit: string; json?: boolean }) => {
        const { config } = ctx.settings();
        const filter = {
          businessDate: options.date ? parseBusinessDate(options.date, '--date') : undefined,
          processor: options.processor ? parseProcessors([options.processor])[0] : undefined,
          limit: toLimit(options.limit),
        };
        const store = createRunStore(config.database);
        try {
          const list = await store.listRuns(filter);
          const delivered = await new DeliveryStore(() => store.database()).latestOutcomes(
            list.map((r) => r.runId),
          );
          io.out(
            options.json
              ? JSON.stringify(
                  list.map((run) => ({
                    ...storedRunJson(run),
                    delivered: delivered.get(run.runId) ?? {},
                  })),
                  null,
                  2,
                )
              : runsTable(list, delivered),
          );
        } finally {
          await store.close();
        }
      },
    );
  runs
    .command('gaps')
    .description('list business dates and processors without a completed run')
    .requiredOption('--from <YYYY-MM-DD>', 'first business date')
    .requiredOption('--to <YYYY-MM-DD>', 'last business date (inclusive)')
    .option('--processors <names...>', 'processors expected every day (default: RECON_PROCESSORS)')
    .option('--json', 'print JSON')
    .action(
      async (options: { from: string; to: string; processors?: string[]; json?: boolean }) => {
        const { config } = ctx.settings();
        const from = parseBusinessDate(options.from, '--from');
        const to = parseBusinessDate(options.to, '--to');
        if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
        const processors = parseProcessors(options.processors ?? config.processors);
        const store = createRunStore(config.database);
        try {
          const gaps = await findRunGaps(await store.database(), from, to, processors);
          if (options.json) {
            io.out(
              JSON.stringify(
                gaps.map((g) => ({
                  date: g.businessDate,
                  processor: g.processor,
                  latest_status: g.latestStatus,
                  latest_error: g.latestError,
                })),
                null,
                2,
              ),
            );
          } else {
            io.out(
              gaps.length === 0
                ? `no gaps: every processor has a completed run for every date from ${from} to ${to}`
                : renderTable(
                    ['date', 'processor', 'latest run', 'error'],
                    gaps.map((g) => [
                      g.businessDate,
                      g.processor,
                      g.latestStatus ?? 'none',
                      g.latestError ?? '',
                    ]),
                  ),
            );
          }
        } finally {
          await store.close();
        }
      },
    );
  runs
    .command('show')
    .description('show one run with its counts and largest discrepancies')
    .argument('<run-id>', 'the run id (uuid), or a unique prefix of at least 8 characters')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const { config } = ctx.settings();
      const store = createRunStore(config.database);
      try {
        const run = await store.getRun(await store.resolveRunId(runId));
        if (!run) throw new NotFoundError(`no run with id '${runId}'`);
        const discrepancies = await store.listDiscrepancies(run.runId, 20);
        const deliveries = await new DeliveryStore(() => store.database()).list(run.runId);
        io.out(
          options.json
            ? JSON.stringify(
                {
                  ...storedRunJson(run),
                  largest_discrepancies: discrepancies.map(storedDiscrepancyJson),
                  deliveries: deliveries.map((d) => ({
                    channel: d.channel,
                    status: d.status,
                    target: d.target,
                    url: d.url ?? null,
                    url_expires_at: d.urlExpiresAt ?? null,
                    error: d.error ?? null,
                    attempted_at: d.attemptedAt,
                  })),
                },
                null,
                2,
              )
            : runDetailsText(run, discrepancies, run.discrepancyCount ?? 0, deliveries),
        );
      } finally {
        await store.close();
      }
    });
}
