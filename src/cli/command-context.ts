import type { AppConfig } from '../config/load-config';
import type { Logger } from '../config/logger';

/** Output sink of a command: stdout and stderr lines, so tests can capture them. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress line of long fetches; only set when stderr is a terminal. */
  progress?: (line: string) => void;
  /** Aborted when the process receives SIGTERM or SIGINT. */
  abort?: AbortSignal;
}

/**
 * What every command of `cli/commands/` gets from `cli/program.ts`: the (redacting) output, the
 * environment, the version, the configuration and logger (loaded on first use, once per
 * invocation) and a way to set the exit code of a command that finished without throwing.
 */
export interface CommandContext {
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  readonly appVersion: string;
  /**
   * The configuration (`loadConfig(env)`) and the command's logger (honouring `--log-level` /
   * `--quiet`); loaded on the first call. Commands call it before any side effect.
   * @throws ConfigError for invalid settings.
   */
  settings(): { config: AppConfig; logger: Logger };
  /** Exit code of the command when its action resolves (default 0). */
  setExitCode(code: number): void;
}
