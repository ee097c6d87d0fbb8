import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type AppConfig } from '../config/load-config';
import {
  containerEvidence,
  embeddedDatabaseWarning,
  REAL_HOST,
  volumeMountOf,
  type HostProbe,
} from '../config/container';
import { createLogger, routeProcessWarnings, type Logger } from '../config/logger';
import { redactorFromEnv } from '../config/secret-settings';
import {
  currentRedactor,
  installRedactor,
  MIN_SECRET_LENGTH,
  redactSecrets,
} from '../domain/redact';
import {
  businessDateRange,
  parseBusinessDate,
  previousBusinessDate,
  type BusinessDate,
} from '../domain/business-date';
import {
  ConfigError,
  describeError,
  IntegrityError,
  InterruptedError,
  NotFoundError,
  UsageError,
} from '../domain/errors';
import { isProcessorName, KNOWN_PROCESSORS, type ProcessorName } from '../domain/status';
import type { SourceKind } from '../job/build-sources';
import { FORMAT_NAMES } from '../sources/formats/format-registry';
import {
  repairStoredRunReports,
  runReconciliation,
  type MatchEngine,
  type RunRequest,
} from '../job/run-reconciliation';
import { INPUT_ENCODINGS, parseInputEncoding, type InputEncoding } from '../sources/text-encoding';
import { runScheduler } from '../job/scheduler';
import { checkHealth, checkLiveness } from '../job/health-check';
import { openDatabase, createRunStore } from '../store/open-store';
import { findRunGaps } from '../store/run-history';
import { DeliveryStore } from '../store/delivery-store';
import { verifyAuditChain } from '../store/audit-chain';
import { auditProblemLine, auditReportJson, auditReportText } from './audit-output';
import { setUpRoles } from '../store/roles';
import { registerBreaksCommands } from './commands/breaks';
import { loadDeliveryConfig } from '../config/delivery-config';
import { deliverResults, toDeliverable } from '../job/deliver-results';
import { buildDeliveryDeps } from './delivery-wiring';
import {
  combineExitCodes,
  EXIT_CODES,
  exitCodeFor,
  exitCodeOfRun,
  EXIT_OK,
  isExpectedError,
} from './exit-codes';
import {
  renderTable,
  runDetailsText,
  runResultJson,
  runResultText,
  runsTable,
  storedDiscrepancyJson,
  storedRunJson,
} from './format-output';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const APP_VERSION = (require('../../../package.json') as { version: string }).version;

/** Options of `recon run` as commander parses them. */
interface RunOptions {
  date?: string;
  from?: string;
  to?: string;
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
  engine?: string;
  encoding?: string;
  processorEncoding?: string;
  internalEncoding?: string;
}

const SOURCE_KINDS: readonly SourceKind[] = ['csv', 'api', 'raw'];

function parseEngine(value: string | undefined, dryRun: boolean): MatchEngine {
  if (value === undefined || value === 'memory') return 'memory';
  if (value !== 'postgres')
    throw new UsageError(`--engine must be memory or postgres, got '${value}'`);
  if (dryRun)
    throw new UsageError(
      '--engine postgres needs the database: it cannot be combined with --dry-run',
    );
  return 'postgres';
}

function parseEncoding(value: string | undefined, flag: string): InputEncoding | undefined {
  if (value === undefined) return undefined;
  const encoding = parseInputEncoding(value);
  if (!encoding)
    throw new UsageError(`${flag} must be one of ${INPUT_ENCODINGS.join(', ')}, got '${value}'`);
  return encoding;
}

function parseSourceKind(value: string | undefined, flag: string): SourceKind | undefined {
  if (value === undefined) return undefined;
  if (!(SOURCE_KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${SOURCE_KINDS.join(', ')}, got '${value}'`);
  }
  return value as SourceKind;
}

function parseProcessors(names: readonly string[]): ProcessorName[] {
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

function resolveDates(options: RunOptions, config: AppConfig, now: number): BusinessDate[] {
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

function parseRate(text: string): string {
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(text)) {
    throw new UsageError(
      `--max-invalid-rate must be a fraction between 0 and 1 (e.g. 0.01), got '${text}'`,
    );
  }
  return text;
}

/** Output sink of a command: stdout lines, so tests can capture them. */
interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress line of long fetches; only set when stderr is a terminal. */
  progress?: (line: string) => void;
  /** Aborted when the process receives SIGTERM or SIGINT. */
  abort?: AbortSignal;
}

async function runCommand(
  options: RunOptions,
  config: AppConfig,
  logger: Logger,
  io: Io,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const now = Date.now();
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
  const request: RunRequest = {
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
    reportsDir: options.reportsDir ?? config.reportsDir,
    dryRun: options.dryRun === true,
    engine: parseEngine(options.engine, options.dryRun === true),
    maxInvalidRate: parseRate(options.maxInvalidRate ?? config.maxInvalidRate),
    appVersion: APP_VERSION,
    fx: config.fx,
    breaks: config.breaks,
  };
  // Delivery settings are configuration too: a bad SMTP_PORT stops the job before a run is stored.
  const deliveryConfig = request.dryRun ? null : loadDeliveryConfig(env);
  const store = request.dryRun ? null : createRunStore(config.database);
  try {
    const results = await runReconciliation(
      {
        store,
        logger,
        now: () => Date.now(),
        apis: config.apis,
        progress: io.progress,
        abort: io.abort,
      },
      request,
    );
    // One code per run, combined by severity (a 5 must not hide a 4): exit-codes.ts.
    const codes = results.map(exitCodeOfRun);
    for (const result of results) {
      io.out(options.json ? JSON.stringify(runResultJson(result)) : runResultText(result));
      if (result.status === 'failed') {
        if (!options.json)
          io.err(
            `recon: ${result.processor} ${result.businessDate}: ${describeError(result.error)}`,
          );
      }
    }
    if (store && deliveryConfig && !io.abort?.aborted) {
      const delivery = buildDeliveryDeps(deliveryConfig, store, logger, config.fx);
      try {
        const outcome = await deliverResults(delivery.deps, results.map(toDeliverable), {
          s3: true,
          email: options.email !== false,
        });
        for (const failure of outcome.failures) io.err(`recon: delivery: ${failure}`);
        if (outcome.failures.length > 0 && options.failOnDeliveryError) {
          codes.push(EXIT_CODES.DEPENDENCY_UNAVAILABLE);
        }
      } finally {
        delivery.close();
      }
    }
    return combineExitCodes(codes);
  } finally {
    await store?.close();
  }
}

function toLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10000) {
    throw new UsageError(`--limit must be a whole number from 1 to 10000, got '${text}'`);
  }
  return Number(text);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Warns (once, in the log) when the embedded database is used inside a container. */
function warnAboutEmbeddedDatabase(config: AppConfig, logger: Logger, host: HostProbe): void {
  if (config.database.kind !== 'pglite') return;
  const dataDir = config.database.settings.dataDir;
  if (dataDir.startsWith('memory://')) return;
  const evidence = containerEvidence(config.container, host);
  if (evidence === null) return;
  logger.warn(embeddedDatabaseWarning(dataDir, evidence, volumeMountOf(dataDir, host)));
}

/**
 * Builds the `recon` program. `run(argv)` parses and executes one command and resolves to its
 * exit code; it never calls `process.exit` (only `main` does). `logger()` is the logger of the
 * command once it has one. `host`: where container detection looks (files, `env`).
 * First of all it installs the process-wide secret redactor built from `env` (README "Secrets"),
 * so that even a configuration error is printed without secrets; everything written to `io.err`
 * is redacted, and `io.out` loses configured secret values (patterns are not applied there, so
 * presigned links shown by `runs show` keep working).
 */
export function buildProgram(
  rawIo: Io,
  env: NodeJS.ProcessEnv,
  host: HostProbe = { env, readText: (path) => REAL_HOST.readText(path) },
): { run(argv: string[]): Promise<number>; logger(): Logger | undefined } {
  const redactor = redactorFromEnv(env);
  installRedactor(redactor);
  const io: Io = {
    ...rawIo,
    out: (text) => rawIo.out(currentRedactor().redactValues(text)),
    err: (text) => rawIo.err(redactSecrets(text)),
  };
  let exitCode = EXIT_OK;
  let config: AppConfig | undefined;
  let logger: Logger | undefined;
  const context = (): { config: AppConfig; logger: Logger } => {
    config ??= loadConfig(env);
    if (!logger) {
      const flags = program.opts<{ logLevel?: string; quiet?: boolean }>();
      logger = createLogger(flags.logLevel ?? (flags.quiet ? 'warn' : config.logLevel), {
        format: config.logFormat,
      });
      warnAboutEmbeddedDatabase(config, logger, host);
      if (redactor.tooShort.length > 0)
        logger.warn(
          { settings: redactor.tooShort, min_length: MIN_SECRET_LENGTH },
          'secret settings this short are not redacted by value; use longer secrets',
        );
    }
    return { config, logger };
  };

  const program = new Command('recon')
    .description(
      'Reconcile payment-processor transactions against the internal ledger, one business date at a time.',
    )
    .version(APP_VERSION)
    .addOption(
      new Option('--log-level <level>', 'log level (default: LOG_LEVEL, else info)').choices(
        LOG_LEVELS,
      ),
    )
    .addOption(
      new Option('-q, --quiet', 'log only warnings and errors (--log-level warn)').conflicts(
        'logLevel',
      ),
    )
    .showHelpAfterError('(run recon --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });

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
    .option('--dry-run', 'reconcile and write local reports; no database, no upload, no e-mail')
    .option('--no-email', 'do not send the summary e-mail this time')
    .option(
      '--fail-on-delivery-error',
      'exit 3 when an upload or the e-mail fails (default: exit code unchanged)',
    )
    .option('--json', 'print one JSON object per run on stdout')
    .action(async (options: RunOptions) => {
      const { config: cfg, logger: log } = context();
      exitCode = await runCommand(options, cfg, log, io, env);
    });

  const db = program.command('db').description('database administration');
  db.command('init')
    .description('apply setup.sql to the configured database (idempotent)')
    .option(
      '--roles',
      'also create the owner and app roles and grant the app role what the job needs',
    )
    .action(async (options: { roles?: boolean }) => {
      const { config: cfg, logger: log } = context();
      const database = await openDatabase(cfg.database, { initialise: true });
      try {
        log.info({ database: database.description }, 'schema applied');
        io.out(`schema applied to ${database.description}`);
        if (options.roles) {
          const roles = {
            owner: env.RECON_OWNER_ROLE?.trim() || 'recon_owner',
            app: env.RECON_APP_ROLE?.trim() || 'recon_app',
            appPassword: env.RECON_APP_PASSWORD || undefined,
          };
          await setUpRoles(database, roles);
          io.out(
            `roles ready: ${roles.owner} owns the tables; ${roles.app} may insert (audit_log: insert only)`,
          );
        }
      } finally {
        await database.close();
      }
    });
  db.command('verify-audit')
    .description(
      "recompute the audit log's hash chain and check every completed run's results against it; exit 6 at the first problem",
    )
    .option(
      '--expect-head <hash>',
      "an audit head kept outside the database (a run's audit_head): exit 6 unless it is still in the chain",
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; expectHead?: string }) => {
      if (options.expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(options.expectHead))
        throw new UsageError(
          `--expect-head must be a SHA-256 hash (64 hex digits), got '${options.expectHead}'`,
        );
      const { config: cfg } = context();
      const database = await openDatabase(cfg.database);
      try {
        const report = await verifyAuditChain(database, { expectHead: options.expectHead });
        io.out(options.json ? JSON.stringify(auditReportJson(report)) : auditReportText(report));
        if (report.problem) {
          if (!options.json) throw new IntegrityError(auditProblemLine(report));
          exitCode = EXIT_CODES.INTEGRITY;
        }
      } finally {
        await database.close();
      }
    });

  registerBreaksCommands(program, { out: (t) => io.out(t), config: () => context().config, env });
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
        const { config: cfg } = context();
        const filter = {
          businessDate: options.date ? parseBusinessDate(options.date, '--date') : undefined,
          processor: options.processor ? parseProcessors([options.processor])[0] : undefined,
          limit: toLimit(options.limit),
        };
        const store = createRunStore(cfg.database);
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
        const { config: cfg } = context();
        const from = parseBusinessDate(options.from, '--from');
        const to = parseBusinessDate(options.to, '--to');
        if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
        const processors = parseProcessors(options.processors ?? cfg.processors);
        const store = createRunStore(cfg.database);
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
    .argument('<run-id>', 'the run id (uuid)')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const { config: cfg } = context();
      const store = createRunStore(cfg.database);
      try {
        const run = await store.getRun(runId);
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
    .option('--no-email', 'do not send summary e-mails')
    .action(async (options: RunOptions) => {
      const { config: cfg, logger: log } = context();
      parseProcessors(options.processors ?? cfg.processors);
      const expression = env.RECON_SCHEDULE?.trim() || '0 1 * * *';
      await runScheduler({
        expression,
        timeZone: cfg.timeZone,
        logger: log,
        abort: io.abort ?? new AbortController().signal,
        tick: async (firedAt) => {
          const date = previousBusinessDate(cfg.timeZone, firedAt.getTime());
          const code = await runCommand({ ...options, date }, cfg, log, io, env);
          log.info({ business_date: date, exit_code: code }, 'nightly run finished');
        },
      });
      if (io.abort?.aborted) exitCode = exitCodeFor(io.abort.reason);
    });

  program
    .command('health')
    .description('check the database, S3, SMTP and the configured APIs; exit 3 when one is down')
    .option(
      '--liveness',
      'check only the database (the container health check): no S3, SMTP or API call, nothing recorded',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; liveness?: boolean }) => {
      const { config: cfg } = context();
      const results = options.liveness
        ? await checkLiveness(cfg.database, cfg.healthTimeoutMs)
        : await checkHealth({
            database: cfg.database,
            delivery: loadDeliveryConfig(env),
            apis: cfg.apis,
            retentionDays: cfg.healthRetentionDays,
            timeoutMs: cfg.healthTimeoutMs,
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
      if (results.some((r) => r.status === 'down')) exitCode = EXIT_CODES.DEPENDENCY_UNAVAILABLE;
    });

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
        const { config: cfg, logger: log } = context();
        const deliveryConfig = loadDeliveryConfig(env);
        if (options.s3 && !deliveryConfig.s3)
          throw new ConfigError('S3 is not configured: set AWS_S3_BUCKET_NAME');
        if (options.email && !deliveryConfig.smtp) {
          throw new ConfigError('e-mail is not configured: set SMTP_SERVER and OPERATIONS_EMAIL');
        }
        const both = !options.s3 && !options.email;
        const store = createRunStore(cfg.database);
        const delivery = buildDeliveryDeps(deliveryConfig, store, log, cfg.fx);
        try {
          const run = await store.getRun(runId);
          if (!run) throw new NotFoundError(`no run with id '${runId}'`);
          // A crash between the run's COMMIT and publishing its reports is repaired first.
          if (run.status === 'completed') await repairStoredRunReports(store, run, log);
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
            exitCode = EXIT_CODES.DEPENDENCY_UNAVAILABLE;
        } finally {
          delivery.close();
          await store.close();
        }
      },
    );

  return {
    async run(argv: string[]): Promise<number> {
      exitCode = EXIT_OK;
      try {
        await program.parseAsync(argv, { from: 'user' });
        return exitCode;
      } catch (error) {
        if (error instanceof CommanderError) {
          return error.exitCode === 0 ? EXIT_OK : exitCodeFor(new UsageError(error.message));
        }
        if (isExpectedError(error)) {
          io.err(`recon: ${describeError(error)}`);
        } else {
          io.err(`recon: internal error: ${describeError(error)} (details in the log)`);
          (logger ?? createLogger('error', { format: config?.logFormat })).error(
            { err: error },
            'internal error',
          );
        }
        return exitCodeFor(error);
      }
    },
    logger: () => logger,
  };
}

/** Entry point of `bin/recon`: loads `.env` if present, runs the command, exits with its code. */
export async function main(argv: string[]): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const interrupt = new AbortController();
  const onSignal = (signal: 'SIGTERM' | 'SIGINT'): void => {
    if (interrupt.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143); // second signal: now
    process.stderr.write(`recon: ${signal} received, stopping the current run\n`);
    interrupt.abort(new InterruptedError(signal));
    // The run rolls back and records its failure within seconds; never hang a scheduler.
    setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), 10_000).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const io: Io = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    progress: process.stderr.isTTY
      ? (line) => process.stderr.write(`\r\u001b[2K${line}`)
      : undefined,
    abort: interrupt.signal,
  };
  const program = buildProgram(io, process.env);
  // Node prints warnings (the AWS SDK's Node-version notice, deprecations) as plain text on
  // stderr, in the middle of the JSON log: log them instead, in the command's format.
  routeProcessWarnings(() => program.logger() ?? createLogger('warn'));
  // Should a driver drop a promise (it happened with an out-of-range port) the event loop empties
  // before the command settles; that must not look like success (exit 0) to a scheduler.
  let settled = false;
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write('recon: internal error: the command stopped before it finished\n');
    process.exitCode = EXIT_CODES.INTERNAL;
  });
  const code = await program.run(argv);
  settled = true;
  process.exitCode = code;
  // Everything is closed by now; should a driver still hold the event loop, do not hang cron.
  setTimeout(() => process.exit(code), 1000).unref();
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
