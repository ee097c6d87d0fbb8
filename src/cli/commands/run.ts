import { Option, type Command } from 'commander';
import type { AppConfig } from '../../config/load-config';
import type { Logger } from '../../config/logger';
import type { DeliveryConfig } from '../../config/delivery-config';
import { ConfigError, describeError, describeErrorLines } from '../../domain/errors';
import { KNOWN_PROCESSORS } from '../../domain/status';
import { runAndDeliver } from '../../job/run-and-deliver';
import { dryRunStore, type RunRequest, type RunResult } from '../../job/run-reconciliation';
import { FORMAT_NAMES } from '../../sources/formats/format-registry';
import { INPUT_ENCODINGS } from '../../sources/text-encoding';
import { createRunStore } from '../../store/open-store';
import type { CommandContext, Io } from '../command-context';
import { buildDeliveryDeps } from '../delivery-wiring';
import { FAIL_ON_DELIVERY_ERROR_DEPRECATED } from '../delivery-output';
import {
  combineExitCodes,
  deliveryExitCode,
  exitCodeOfRun,
  isExpectedError,
  type FailOn,
} from '../exit-codes';
import { runResultJson, runResultText } from '../format-output';
import { parseFailOn, runRequestFrom, type RunOptions } from '../options';

/** Everything `recon run` or `recon schedule` needs, loaded and validated before any side effect. */
export interface RunSettings {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly request: RunRequest;
  /** `null` for a dry run (it delivers nothing). */
  readonly deliveryConfig: DeliveryConfig | null;
}

/**
 * Loads and checks every setting a run needs before anything happens: the configuration
 * (`ctx.settings()`), the run's options, the delivery settings (not for a dry run) and
 * `extraChecks` (e.g. the schedule expression). Goes on after a problem, so that all of them are
 * reported at once. `now` (epoch ms) picks the default business date.
 * @throws the error of the only problem found (UsageError, ConfigError), or a ConfigError listing
 *   every problem when there are several.
 */
export function loadRunSettings(
  ctx: CommandContext,
  options: RunOptions,
  now: number,
  extraChecks: readonly (() => void)[] = [],
): RunSettings {
  const problems: unknown[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!isExpectedError(error)) throw error;
      problems.push(error);
      return undefined;
    }
  };
  const loaded = attempt(() => ctx.settings());
  const request = loaded
    ? attempt(() => runRequestFrom(options, loaded.config, ctx.env, now, ctx.appVersion))
    : undefined;
  // Delivery settings are configuration too (`loadConfig` checks them with the rest): a bad
  // SMTP_PORT stops the job before a run is stored.
  const deliveryConfig = options.dryRun === true ? null : loaded?.config.delivery;
  for (const check of extraChecks) attempt(check);
  if (problems.length > 0 || !loaded || !request || deliveryConfig === undefined) {
    throw problems.length === 1
      ? problems[0]
      : new ConfigError(problems.flatMap((problem) => describeErrorLines(problem)));
  }
  return { ...loaded, request, deliveryConfig };
}

/**
 * Prints each run's result (text or one JSON object per line) and, for text, a failed run's
 * reason. `failOn` (`--fail-on`) sets the JSON `exit_code` of a run whose breaks trip it (8).
 */
export function printRunResults(
  io: Io,
  results: readonly RunResult[],
  json: boolean,
  failOn?: FailOn,
): void {
  for (const result of results) {
    io.out(json ? JSON.stringify(runResultJson(result, failOn)) : runResultText(result));
    if (result.status === 'failed' && !json)
      io.err(`recon: ${result.processor} ${result.businessDate}: ${describeError(result.error)}`);
  }
}

/** How one `runAndDeliver` call is shown and what it exits with. */
export interface RunPresentation {
  readonly json: boolean;
  /** Send the summary e-mail (`--no-email` turns it off). */
  readonly email: boolean;
  /** Exit 0 instead of 7 when the results are stored but a delivery failed. */
  readonly allowDeliveryFailure: boolean;
  /** `--fail-on new|open`: exit 8 for a completed run with such breaks (default: off). */
  readonly failOn?: FailOn;
}

/**
 * Builds the dependencies of `request` from configuration (run store, delivery; none for a dry
 * run), runs `runAndDeliver`, prints the results and delivery failures and returns the exit code:
 * the runs' codes combined by severity (`combineExitCodes`), plus 7 for a failed delivery unless
 * it is allowed (`--allow-delivery-failure`, `RECON_DELIVERY_FAILURE_EXIT=0`). `deliveryConfig` is loaded by the caller before any side effect; `null`
 * for dry runs.
 */
export async function executeRun(
  request: RunRequest,
  deliveryConfig: DeliveryConfig | null,
  presentation: RunPresentation,
  config: AppConfig,
  logger: Logger,
  io: Io,
): Promise<number> {
  // A dry run reads the stored breaks (read-only) when a database is there.
  const store = request.dryRun ? dryRunStore(config.database) : createRunStore(config.database);
  const delivery =
    store && deliveryConfig && !request.dryRun
      ? buildDeliveryDeps(deliveryConfig, store, logger, config.fx, config.breaks.escalateDays)
      : null;
  try {
    const outcome = await runAndDeliver(
      {
        store,
        delivery: delivery?.deps ?? null,
        logger,
        now: () => Date.now(),
        apis: config.apis,
        progress: io.progress,
        abort: io.abort,
        onResults: (results) =>
          printRunResults(io, results, presentation.json, presentation.failOn),
      },
      request,
      { s3: true, email: presentation.email },
    );
    // One code per run, combined by severity (a 5 must not hide a 4): exit-codes.ts. A run
    // with breaks that --fail-on names is 8 (a dry run's breaks count when it read them).
    const codes = outcome.results.map((result) => exitCodeOfRun(result, presentation.failOn));
    if (outcome.delivery) {
      for (const failure of outcome.delivery.failures) io.err(`recon: delivery: ${failure}`);
      // Results stored, delivery failed: exit 7 unless allowed (exit-codes.ts).
      codes.push(
        deliveryExitCode(
          outcome.delivery.attempts,
          presentation.allowDeliveryFailure || deliveryConfig?.allowDeliveryFailure === true,
        ),
      );
    }
    return combineExitCodes(codes);
  } finally {
    delivery?.close();
    await store?.close();
  }
}

/** Registers `recon run`: reconcile processors for business dates, store, report, deliver. */
export function registerRunCommand(program: Command, ctx: CommandContext): void {
  program
    .command('run')
    .description(
      'reconcile one or more processors for a business date (default: yesterday in RECON_TIMEZONE)',
    )
    .option(
      '--date <YYYY-MM-DD>',
      'business date to reconcile (default: yesterday in RECON_TIMEZONE)',
    )
    .option(
      '--from <YYYY-MM-DD>',
      'first business date of a range (with --to), one run per date in order',
    )
    .option('--to <YYYY-MM-DD>', 'last business date of a range (inclusive)')
    .option(
      '--processors <names...>',
      `processors to reconcile: ${KNOWN_PROCESSORS.join(', ')} (default: RECON_PROCESSORS)`,
    )
    .option('--processor-file <path>', 'processor-side CSV (one processor and date only)')
    .option('--internal-file <path>', 'internal-ledger CSV (one processor and date only)')
    .option(
      '--format <name>',
      `format of the processor CSV: ${FORMAT_NAMES.join(', ')} (default: detected from its header)`,
    )
    .option(
      '--encoding <name>',
      `character encoding of both CSV files: ${INPUT_ENCODINGS.join(', ')} (default: RECON_ENCODING or utf-8)`,
    )
    .option('--processor-encoding <name>', 'encoding of the processor CSV (overrides --encoding)')
    .option('--internal-encoding <name>', 'encoding of the ledger CSV (overrides --encoding)')
    .option(
      '--data-dir <dir>',
      'input root: {dir}/{date}/{processor}.csv and internal_{processor}.csv (default: data)',
    )
    .option('--reports-dir <dir>', 'where reports are written (default: local_reports)')
    .option(
      '--max-invalid-rate <fraction>',
      'fail a run when more than this share of an input file is invalid (default: 0.01)',
    )
    .option(
      '--source <kind>',
      'where both sides come from: csv (files), api (HTTP APIs) or raw (pages saved by --save-raw)',
    )
    .option(
      '--processor-source <kind>',
      'csv, api or raw for the processor side (overrides --source)',
    )
    .option(
      '--internal-source <kind>',
      'csv, api or raw for the internal ledger side (overrides --source)',
    )
    .option(
      '--save-raw <dir>',
      'keep every fetched API page under {dir}/{date}/{processor}/{side}/ for replay',
    )
    .option('--raw-dir <dir>', 'folder of pages saved by --save-raw, read by raw sources')
    .option(
      '--engine <name>',
      'memory (default: hash join in the process) or postgres (SQL join inside the database)',
    )
    .option(
      '--config <file>',
      'rules file (recon.config.yaml or .json): matching tiers and fee rules per processor (overrides RECON_CONFIG)',
    )
    .option(
      '--grace-days <days>',
      'a one-sided item younger than this many days is pending, not a missing break (default: RECON_GRACE_DAYS or 0)',
    )
    .option(
      '--fail-on <what>',
      'exit 8 when a completed run has new breaks (new) or any open break past the grace (open); default: off',
    )
    .option(
      '--dry-run',
      'reconcile and write local reports; reads the stored breaks, stores nothing, no upload, no e-mail',
    )
    .option('--no-email', 'do not send the summary e-mail this time')
    .option(
      '--allow-delivery-failure',
      'exit 0 when the results are stored but an upload or the e-mail failed (default: exit 7; RECON_DELIVERY_FAILURE_EXIT=0)',
    )
    .addOption(
      new Option(
        '--fail-on-delivery-error',
        'deprecated, no effect: a failed delivery exits 7 by default',
      ).conflicts('allowDeliveryFailure'),
    )
    .option(
      '--bank-file <file>',
      'bank statement (camt.053, BAI2 or bank CSV) to match the payouts against; repeatable (default: every file under RECON_BANK_DIR/{date}/)',
      (file: string, files: string[] = []) => [...files, file],
    )
    .option('--bank-format <format>', 'camt053, bai2 or csv (default: detected from the content)')
    .option(
      '--bank-window-days <days>',
      'a payout matches a bank credit dated within this many days of its arrival date (default: 3)',
    )
    .option('--json', 'print one JSON object per run on stdout')
    .action(async (options: RunOptions) => {
      const { config, logger, request, deliveryConfig } = loadRunSettings(ctx, options, Date.now());
      if (options.failOnDeliveryError) logger.warn(FAIL_ON_DELIVERY_ERROR_DEPRECATED);
      ctx.setExitCode(
        await executeRun(
          request,
          deliveryConfig,
          {
            json: options.json === true,
            email: options.email !== false,
            allowDeliveryFailure: options.allowDeliveryFailure === true,
            failOn: parseFailOn(options.failOn),
          },
          config,
          logger,
          ctx.io,
        ),
      );
    });
}
