import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context';
import { registerManualBreakActions } from './manual-break-actions';
import { DISCREPANCY_KINDS } from '../../domain/discrepancy';
import { UsageError } from '../../domain/errors';
import { isProcessorName } from '../../domain/status';
import { BREAK_STATUSES, type BreakStatus } from '../../engine/break-lifecycle';
import { reportBreakJson } from '../../reports/render-report';
import { escapeSpreadsheetText } from '../../reports/spreadsheet-safe';
import { BreakStore, type StoredBreak, type StoredBreakEvent } from '../../store/break-store';
import { openDatabase } from '../../store/open-store';
import { renderTable } from '../format-output';

/** What the `breaks` commands need from the program: output and configuration. */

/**
 * The `breaks list --json` object of one break (README "Breaks across days"): the same object
 * as the reports' `open_breaks` (`reportBreakJson`).
 */
export function storedBreakJson(b: StoredBreak): object {
  return reportBreakJson(b);
}

function eventJson(e: StoredBreakEvent): object {
  return {
    event: e.event,
    run_id: e.runId,
    actor: e.actor,
    reason: e.reason,
    details: e.details,
    at: e.at,
  };
}

const CSV_COLUMNS = [
  'break_id',
  'processor',
  'transaction_id',
  'kind',
  'side',
  'status',
  'origin_date',
  'age_days',
  'amount',
  'currency',
  'first_seen_run_id',
  'last_seen_run_id',
  'resolved_run_id',
  'resolution',
  'lag_days',
] as const;

function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  return `"${escapeSpreadsheetText(text).replace(/"/g, '""')}"`;
}

/** `breaks list --csv`: a header and one quoted row per break. */
export function breaksCsv(list: readonly StoredBreak[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const b of list) {
    const row = storedBreakJson(b) as Record<string, string | number | null>;
    lines.push(CSV_COLUMNS.map((column) => csvCell(row[column])).join(','));
  }
  return lines.join('\n');
}

function parseDays(text: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text))
    throw new UsageError(`${flag} must be a number of days, got '${text}'`);
  return Number(text);
}

/**
 * Registers `recon breaks list|show|resolve|reopen|comment` on `program` (README "Breaks across
 * days"). A bad id or a transition the lifecycle refuses is a `UsageError` (exit 2, one line).
 */
export function registerBreaksCommands(program: Command, ctx: CommandContext): void {
  const context = {
    out: (text: string): void => ctx.io.out(text),
    config: () => ctx.settings().config,
    env: ctx.env,
  };
  const withStore = async <T>(fn: (store: BreakStore) => Promise<T>): Promise<T> => {
    const db = await openDatabase(context.config().database);
    try {
      return await fn(new BreakStore(db));
    } finally {
      await db.close();
    }
  };
  const breaks = program.command('breaks').description('breaks across days: list, show, resolve');
  breaks
    .command('list')
    .description('list breaks, oldest first (default: open ones)')
    .option('--processor <name>', 'only breaks of this processor')
    .addOption(
      new Option('--status <status>', 'only breaks with this status')
        .choices([...BREAK_STATUSES, 'all'])
        .default('open'),
    )
    .option('--older-than <days>', 'only breaks older than this many days')
    .addOption(new Option('--kind <kind>', 'only breaks of this kind').choices(DISCREPANCY_KINDS))
    .addOption(new Option('--json', 'print JSON').conflicts('csv'))
    .option('--csv', 'print CSV')
    .action(
      async (options: {
        processor?: string;
        status: BreakStatus | 'all';
        olderThan?: string;
        kind?: string;
        json?: boolean;
        csv?: boolean;
      }) => {
        if (options.processor !== undefined && !isProcessorName(options.processor))
          throw new UsageError(`unknown processor '${options.processor}'`);
        const filter = {
          processor: options.processor,
          status: options.status,
          olderThanDays:
            options.olderThan === undefined
              ? undefined
              : parseDays(options.olderThan, '--older-than'),
          kind: options.kind,
        };
        const list = await withStore((store) => store.listBreaks(filter));
        if (options.json) context.out(JSON.stringify(list.map(storedBreakJson), null, 2));
        else if (options.csv) context.out(breaksCsv(list));
        else if (list.length === 0) context.out('no breaks');
        else
          context.out(
            renderTable(
              ['break', 'processor', 'transaction', 'kind', 'status', 'origin', 'age', 'amount'],
              list.map((b) => [
                b.breakId.slice(0, 8),
                b.processor,
                b.transactionId,
                b.kind,
                b.status,
                b.originDate,
                String(b.ageDays),
                `${b.amount} ${b.currency}`,
              ]),
            ),
          );
      },
    );
  breaks
    .command('show')
    .description('show one break and its event history')
    .argument('<break-id>', 'break id or a unique prefix of at least 8 characters')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { found, events } = await withStore(async (store) => {
        const b = await store.findBreak(id);
        return { found: b, events: await store.breakEvents(b.breakId) };
      });
      if (options.json) {
        context.out(
          JSON.stringify({ ...storedBreakJson(found), events: events.map(eventJson) }, null, 2),
        );
        return;
      }
      const facts = [
        `break ${found.breakId}: ${found.kind} ${found.processor} ${found.transactionId}, ${found.status}`,
        `  origin ${found.originDate}, age ${found.ageDays} days, ${found.amount} ${found.currency}`,
      ];
      if (found.resolution)
        facts.push(
          `  resolution ${found.resolution}${found.lagDays === null ? '' : ` (lag ${found.lagDays} days)`}${found.resolvedBy ? ` by ${found.resolvedBy}` : ''}`,
        );
      context.out(
        [
          ...facts,
          renderTable(
            ['at', 'event', 'actor', 'run', 'reason'],
            events.map((e) => [e.at, e.event, e.actor, e.runId ?? '', e.reason ?? '']),
          ),
        ].join('\n'),
      );
    });
  registerManualBreakActions(breaks, {
    noun: 'break',
    env: context.env,
    out: context.out,
    apply: (id, action, actor, text) =>
      withStore((store) => store.applyManual(id, action, actor, text)),
  });
}
