import { join } from 'node:path';
import type { AppConfig } from '../config/load-config';
import {
  businessDateRange,
  parseBusinessDate,
  previousBusinessDate,
  type BusinessDate,
} from '../domain/business-date';
import { ConfigError, UsageError } from '../domain/errors';
import { isProcessorName, KNOWN_PROCESSORS, type ProcessorName } from '../domain/status';
import type { SourceKind } from '../job/build-sources';
import type { EngineName, RunRequest } from '../job/run-reconciliation';
import { loadRulesFile, type RulesFile } from '../config/rules-file';
import { MATCH_ENGINES } from '../engine/match-transactions';
import { NO_RULES, type MatchRules } from '../engine/rules';
import { INPUT_ENCODINGS, parseInputEncoding, type InputEncoding } from '../sources/text-encoding';
import type { FailOn } from './exit-codes';
import { BANK_STATEMENT_FORMATS, type BankStatementFormat } from '../domain/bank-entry';
import { DEFAULT_BANK_WINDOW_DAYS } from '../engine/bank-matching';
import type { BankSettings } from '../job/settlement-leg';

/** Log levels accepted by `--log-level` (pino's, plus `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const SOURCE_KINDS: readonly SourceKind[] = ['csv', 'api', 'raw'];

/**
 * `--engine`: `memory` (default, also when absent) or `postgres`.
 * @throws UsageError for another name, or `postgres` with `--dry-run`.
 */
export function parseEngine(value: string | undefined, dryRun: boolean): EngineName {
  if (value === undefined || value === 'memory') return 'memory';
  if (value !== 'postgres')
    throw new UsageError(`--engine must be memory or postgres, got '${value}'`);
  if (dryRun)
    throw new UsageError(
      '--engine postgres needs the database: it cannot be combined with --dry-run',
    );
  return 'postgres';
}

/**
 * An `--encoding`-style flag (`flag` names it in the message); `undefined` when absent.
 * @throws UsageError for an encoding that is not one of `INPUT_ENCODINGS`.
 */
export function parseEncoding(value: string | undefined, flag: string): InputEncoding | undefined {
  if (value === undefined) return undefined;
  const encoding = parseInputEncoding(value);
  if (!encoding)
    throw new UsageError(`${flag} must be one of ${INPUT_ENCODINGS.join(', ')}, got '${value}'`);
  return encoding;
}

/**
 * A `--source`-style flag: `csv`, `api` or `raw`; `undefined` when absent.
 * @throws UsageError for anything else.
 */
export function parseSourceKind(value: string | undefined, flag: string): SourceKind | undefined {
  if (value === undefined) return undefined;
  if (!(SOURCE_KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${SOURCE_KINDS.join(', ')}, got '${value}'`);
  }
  return value as SourceKind;
}

/**
 * Processor names from `--processors` (each value may be comma separated; case-insensitive),
 * de-duplicated in order of first mention.
 * @throws UsageError for an unknown name or an empty list.
 */
export function parseProcessors(names: readonly string[]): ProcessorName[] {
  const flat = names
    .flatMap((name) => name.split(','))
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const unknown = flat.filter((name) => !isProcessorName(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown processor(s) ${unknown.join(', ')}; valid processors: ${KNOWN_PROCESSORS.join(', ')}`,
    );
  }
  if (flat.length === 0) {
    throw new UsageError(
      `--processors is required (or set RECON_PROCESSORS); valid processors: ${KNOWN_PROCESSORS.join(', ')}`,
    );
  }
  return [...new Set(flat)] as ProcessorName[];
}

/** The date flags of `recon run`. */
export interface DateOptions {
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
}

/**
 * The business dates of `recon run`: `--date`, the inclusive range `--from`..`--to` (at most
 * 366 days), or else the previous business date in `config.timeZone` at `now` (epoch ms).
 * @throws UsageError for malformed dates, a reversed or too long range, or mixed flags.
 */
export function resolveDates(options: DateOptions, config: AppConfig, now: number): BusinessDate[] {
  if (options.date && (options.from || options.to))
    throw new UsageError('use either --date or --from/--to, not both');
  if (options.from || options.to) {
    if (!options.from || !options.to) throw new UsageError('--from and --to go together');
    const from = parseBusinessDate(options.from, '--from');
    const to = parseBusinessDate(options.to, '--to');
    if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
    const dates = businessDateRange(from, to);
    if (dates.length > 366)
      throw new UsageError(`--from/--to spans ${dates.length} days; at most 366 per invocation`);
    return dates;
  }
  return [
    options.date
      ? parseBusinessDate(options.date, '--date')
      : previousBusinessDate(config.timeZone, now),
  ];
}

/**
 * `--max-invalid-rate`: a decimal fraction from 0 to 1 as text (kept a string: never a float).
 * @throws UsageError for anything else.
 */
export function parseRate(text: string): string {
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(text)) {
    throw new UsageError(
      `--max-invalid-rate must be a fraction between 0 and 1 (e.g. 0.01), got '${text}'`,
    );
  }
  return text;
}

/**
 * `--limit`: a whole number from 1 to 10000.
 * @throws UsageError for anything else.
 */
export function toLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10000) {
    throw new UsageError(`--limit must be a whole number from 1 to 10000, got '${text}'`);
  }
  return Number(text);
}

/**
 * `--expect-head`: a SHA-256 hash as 64 hex digits; `undefined` when absent.
 * @throws UsageError for anything else.
 */
export function parseAuditHead(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[0-9a-fA-F]{64}$/.test(value))
    throw new UsageError(`--expect-head must be a SHA-256 hash (64 hex digits), got '${value}'`);
  return value;
}

/** Largest `--grace-days` (as RECON_GRACE_DAYS): 100 years. */
const MAX_GRACE_DAYS = 36_500;

/**
 * `--grace-days N`: a whole number of days from 0 to 36500; `undefined` when absent (then
 * RECON_GRACE_DAYS applies).
 * @throws UsageError for anything else.
 */
export function parseGraceDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > MAX_GRACE_DAYS) {
    throw new UsageError(
      `--grace-days must be a whole number of days from 0 to ${MAX_GRACE_DAYS}, got '${value}'`,
    );
  }
  return Number(value);
}

/**
 * `--fail-on new|open`; `undefined` when absent (default: breaks never change the exit code).
 * @throws UsageError for another value.
 */
export function parseFailOn(value: string | undefined): FailOn | undefined {
  if (value === undefined) return undefined;
  if (value !== 'new' && value !== 'open')
    throw new UsageError(`--fail-on must be new or open, got '${value}'`);
  return value;
}

/** Options of `recon run` (and the subset `recon schedule` takes) as commander parses them. */
export interface RunOptions extends DateOptions {
  processors?: string[];
  processorFile?: string;
  internalFile?: string;
  dataDir?: string;
  reportsDir?: string;
  dryRun?: boolean;
  json?: boolean;
  maxInvalidRate?: string;
  source?: string;
  processorSource?: string;
  internalSource?: string;
  saveRaw?: string;
  rawDir?: string;
  format?: string;
  email?: boolean;
  failOnDeliveryError?: boolean;
  allowDeliveryFailure?: boolean;
  engine?: string;
  /** `--config`: the rules file (overrides RECON_CONFIG). */
  config?: string;
  encoding?: string;
  processorEncoding?: string;
  internalEncoding?: string;
  /** `--grace-days N`: overrides RECON_GRACE_DAYS. */
  graceDays?: string;
  /** `--fail-on new|open`: exit 8 for breaks (read by the command, see `parseFailOn`). */
  failOn?: string;
  /** `--bank-file FILE`, repeatable: bank statements for the payouts (issue #15). */
  bankFile?: string[];
  /** `--bank-format camt053|bai2|csv` (default: detected from the content). */
  bankFormat?: string;
  /** `--bank-window-days N` (default 3). */
  bankWindowDays?: string;
}

/** Largest `--bank-window-days`: a month either side of a payout's arrival date. */
const MAX_BANK_WINDOW_DAYS = 31;

/**
 * The bank statement settings of a run (issue #15): `--bank-file` (repeatable), else every file
 * under `RECON_BANK_DIR/{date}/`; `--bank-format` (default: detected); `--bank-window-days`
 * (default 3, at most 31).
 * @throws UsageError for an unknown format or a window that is not a whole number from 0 to 31.
 */
export function parseBankSettings(options: RunOptions, env: NodeJS.ProcessEnv): BankSettings {
  const format = options.bankFormat;
  if (format !== undefined && !(BANK_STATEMENT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `--bank-format must be one of ${BANK_STATEMENT_FORMATS.join(', ')}, got '${format}'`,
    );
  const days = options.bankWindowDays;
  if (days !== undefined && (!/^\d+$/.test(days) || Number(days) > MAX_BANK_WINDOW_DAYS))
    throw new UsageError(
      `--bank-window-days must be a whole number of days from 0 to ${MAX_BANK_WINDOW_DAYS}, got '${days}'`,
    );
  const dir = env.RECON_BANK_DIR ?? '';
  return {
    files: options.bankFile ?? [],
    dir: dir === '' ? null : dir,
    ...(format !== undefined ? { format: format as BankStatementFormat } : {}),
    windowDays: days === undefined ? DEFAULT_BANK_WINDOW_DAYS : Number(days),
  };
}

/**
 * Sub-folder of the reports directory that dry runs write to when no directory is named
 * explicitly, so that a dry run never overwrites a stored run's report files.
 */
export const DRY_RUN_REPORTS_SUBDIR = 'dry-run';

/**
 * The rules of a run: the rules file at `path` (`--config`, else RECON_CONFIG), or `NO_RULES`
 * without one. With the postgres engine, rules it cannot run yet (tiers) are refused here, before
 * any side effect.
 * @throws ConfigError listing every problem of the file, or every rule the engine refuses (exit 2).
 */
export function loadRunRules(
  path: string | null | undefined,
  engine: EngineName,
): MatchRules | RulesFile {
  if (!path) return NO_RULES;
  const rules = loadRulesFile(path);
  const refused = MATCH_ENGINES[engine].refusedRules(rules);
  if (refused.length > 0)
    throw new ConfigError(refused.map(([at, why]) => `${path}: ${at}: ${why}`));
  return rules;
}

/**
 * Where a run writes its reports: `--reports-dir` when given, else `RECON_REPORTS_DIR` (already in
 * `config.reportsDir`). A dry run with neither named explicitly writes under
 * `{default reports dir}/dry-run/`, beside (never over) the stored runs' reports.
 */
export function resolveReportsDir(
  flag: string | undefined,
  dryRun: boolean,
  config: AppConfig,
  env: NodeJS.ProcessEnv,
): string {
  if (flag !== undefined) return flag;
  // RECON_REPORTS_DIR is read by loadConfig; an empty value counts as unset there too.
  const explicit = (env.RECON_REPORTS_DIR ?? '') !== '';
  if (!dryRun || explicit) return config.reportsDir;
  return join(config.reportsDir, DRY_RUN_REPORTS_SUBDIR);
}

/**
 * The run request of `recon run` / one `recon schedule` tick, from the parsed options and the
 * configuration; `now` (epoch ms) picks the default business date. Validates every option.
 * @throws UsageError for an invalid option or combination.
 */
export function runRequestFrom(
  options: RunOptions,
  config: AppConfig,
  env: NodeJS.ProcessEnv,
  now: number,
  appVersion: string,
): RunRequest {
  const processors = parseProcessors(options.processors ?? config.processors);
  const dates = resolveDates(options, config, now);
  if (
    (options.processorFile || options.internalFile) &&
    (processors.length !== 1 || dates.length !== 1)
  ) {
    throw new UsageError(
      '--processor-file/--internal-file need exactly one processor and one --date',
    );
  }
  const both = parseSourceKind(options.source, '--source') ?? 'csv';
  const encoding = parseEncoding(options.encoding, '--encoding') ?? config.encoding;
  const dryRun = options.dryRun === true;
  const graceDays = parseGraceDays(options.graceDays) ?? config.breaks.graceDays;
  parseFailOn(options.failOn); // checked with the other options, before anything runs
  const engine = parseEngine(options.engine, dryRun);
  const rules = loadRunRules(options.config ?? config.rulesFile, engine);
  // The rules file's `bank_csv:` map reads (and detects) bank statements in CSV.
  const bankCsv = 'bankCsv' in rules ? rules.bankCsv : null;
  return {
    dates,
    processors,
    timeZone: config.timeZone,
    sources: {
      processorSource: parseSourceKind(options.processorSource, '--processor-source') ?? both,
      internalSource: parseSourceKind(options.internalSource, '--internal-source') ?? both,
      dataDir: options.dataDir ?? config.dataDir,
      processorFile: options.processorFile,
      internalFile: options.internalFile,
      saveRawDir: options.saveRaw,
      rawDir: options.rawDir,
      format: options.format,
      formatSettings: config.formats,
      processorEncoding:
        parseEncoding(options.processorEncoding, '--processor-encoding') ?? encoding,
      internalEncoding: parseEncoding(options.internalEncoding, '--internal-encoding') ?? encoding,
    },
    reportsDir: resolveReportsDir(options.reportsDir, dryRun, config, env),
    dryRun,
    engine,
    rules,
    maxInvalidRate: parseRate(options.maxInvalidRate ?? config.maxInvalidRate),
    appVersion,
    fx: config.fx,
    breaks: { ...config.breaks, graceDays },
    cutoffs: config.cutoffs,
    bank: {
      ...parseBankSettings(options, env),
      ...(bankCsv ? { csvColumns: bankCsv } : {}),
    },
  };
}
