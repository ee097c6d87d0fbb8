import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type AppConfig } from '../config/load-config';
import {
  containerEvidence,
  embeddedDatabaseWarning,
  REAL_HOST,
  volumeMountOf,
  type HostProbe,
} from '../config/container';
import { createLogger, type Logger } from '../config/logger';
import { redactorFromEnv } from '../config/secret-settings';
import {
  currentRedactor,
  installRedactor,
  MIN_SECRET_LENGTH,
  redactSecrets,
} from '../domain/redact';
import { describeError, describeErrorLines, UsageError } from '../domain/errors';
import type { CommandContext, Io } from './command-context';
import { registerDbCommands } from './commands/db';
import { registerBreaksCommands } from './commands/breaks';
import { registerDeliverCommand } from './commands/deliver';
import { registerExplainCommand } from './commands/explain';
import { registerHealthCommand } from './commands/health';
import { registerPayoutsCommands } from './commands/payouts';
import { registerRunCommand } from './commands/run';
import { registerRunsCommands } from './commands/runs';
import { registerScheduleCommand } from './commands/schedule';
import { exitCodeFor, EXIT_OK, isExpectedError } from './exit-codes';
import { LOG_LEVELS } from './options';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const APP_VERSION = (require('../../../package.json') as { version: string }).version;

/** Adds one command (or command family) to the program; see `cli/commands/`. */
type RegisterCommand = (program: Command, ctx: CommandContext) => void;

/** Every command of `recon`, in the order `recon --help` lists them. Adding one is one line. */
const COMMANDS: readonly RegisterCommand[] = [
  registerRunCommand,
  registerDbCommands,
  registerRunsCommands,
  registerScheduleCommand,
  registerHealthCommand,
  registerDeliverCommand,
  registerBreaksCommands,
  registerExplainCommand,
  registerPayoutsCommands,
];

/**
 * The one stderr line of a command-line parse error: commander's message (`error: unknown option
 * '--x'`, possibly with a `(Did you mean …?)` line) without its `error: ` prefix, on one line.
 */
function commanderErrorLine(error: CommanderError): string {
  const message = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
  return `recon: ${message} (run recon --help for usage)`;
}

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
  const warnShortSecrets = (log: Logger): void => {
    if (redactor.tooShort.length > 0)
      log.warn(
        { settings: redactor.tooShort, min_length: MIN_SECRET_LENGTH },
        'secret settings this short are not redacted by value; use longer secrets',
      );
  };
  const settings = (): { config: AppConfig; logger: Logger } => {
    try {
      config ??= loadConfig(env);
    } catch (error) {
      // The settings are unusable, but the warning about unredacted secrets still matters.
      warnShortSecrets(createLogger('warn'));
      throw error;
    }
    if (!logger) {
      const flags = program.opts<{ logLevel?: string; quiet?: boolean }>();
      logger = createLogger(flags.logLevel ?? (flags.quiet ? 'warn' : config.logLevel), {
        format: config.logFormat,
      });
      warnAboutEmbeddedDatabase(config, logger, host);
      warnShortSecrets(logger);
    }
    return { config, logger };
  };
  const ctx: CommandContext = {
    io,
    env,
    appVersion: APP_VERSION,
    settings,
    setExitCode: (code) => {
      exitCode = code;
    },
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
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
      // Printed as one `recon:` line by `run` below (README: a user mistake is one line).
      outputError: () => undefined,
    });
  for (const register of COMMANDS) register(program, ctx);

  return {
    async run(argv: string[]): Promise<number> {
      exitCode = EXIT_OK;
      try {
        await program.parseAsync(argv, { from: 'user' });
        return exitCode;
      } catch (error) {
        if (error instanceof CommanderError) {
          if (error.exitCode === 0) return EXIT_OK; // --help, --version
          // `recon` alone prints its help on stderr; every other parse error is one line.
          if (error.code !== 'commander.help') io.err(commanderErrorLine(error));
          return exitCodeFor(new UsageError(error.message));
        }
        if (isExpectedError(error)) {
          // A ConfigError with several problems is one `recon:` line each.
          for (const line of describeErrorLines(error)) io.err(`recon: ${line}`);
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
