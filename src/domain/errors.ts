import { redactSecrets } from './redact';

/**
 * The project's error hierarchy. Every error that ends a run or a command is a `ReconError` with a
 * stable `code`; `cli/exit-codes.ts` maps codes to process exit codes in one table.
 * Validation problems on single rows are NOT errors: they are `DataQualityIssue`s collected and
 * reported (see `domain/data-quality.ts`).
 */

/** Stable error codes. Adding one means adding its exit code in `cli/exit-codes.ts`. */
export type ReconErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'INPUT_REJECTED'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'RUN_IN_PROGRESS'
  | 'NOT_FOUND'
  | 'INTERRUPTED'
  | 'INTEGRITY'
  | 'DELIVERY_FAILED'
  | 'INTERNAL';

/** Base class: `message` is one line meant for the user; `code` says what kind of failure it is. */
export class ReconError extends Error {
  readonly code: ReconErrorCode;

  constructor(code: ReconErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad command line: unknown flag value, invalid business date, unknown processor. Exit 2. */
export class UsageError extends ReconError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * A short id (a prefix of a run, break or payout id) names more than one record. Exit 2, like any
 * usage mistake. `matches` are the full ids it names, in order (at most the ones listed).
 */
export class AmbiguousIdError extends UsageError {
  constructor(
    message: string,
    readonly prefix: string,
    readonly matches: readonly string[],
  ) {
    super(message);
  }
}

/**
 * Bad or missing configuration (environment variables, schema not initialised). Exit 2.
 * It may carry several problems (`loadConfig` reports every bad setting at once): `problems` holds
 * one plain sentence each, and `message` is them joined by newlines, so its first line (what
 * `describeError` returns) is the first problem. The CLI prints one `recon:` line per problem
 * (`describeErrorLines`). Built from one message, `problems` is `[message]`.
 */
export class ConfigError extends ReconError {
  /** Every problem found, one sentence each, in the order found; never empty. */
  readonly problems: readonly string[];

  constructor(message: string | readonly string[], options?: { cause?: unknown }) {
    const problems = typeof message === 'string' ? [message] : [...message];
    super('CONFIG', problems.join('\n'), options);
    this.problems = problems;
  }
}

/** Where in an input a problem was found: file path or URL, 1-based line, column name. */
export interface InputLocation {
  readonly location: string;
  readonly line?: number;
  readonly field?: string;
}

/**
 * An input that cannot be reconciled at all: missing file, unreadable or malformed CSV, missing
 * header columns, too many invalid rows. Exit 4. The message names the file, line and field.
 */
export class InputRejectedError extends ReconError {
  readonly input: InputLocation;

  constructor(message: string, input: InputLocation, options?: { cause?: unknown }) {
    super('INPUT_REJECTED', message, options);
    this.input = input;
  }
}

/** A dependency (database, object store, API) cannot be reached or refused us. Exit 3. */
export class DependencyUnavailableError extends ReconError {
  readonly dependency: string;

  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super('DEPENDENCY_UNAVAILABLE', message, options);
    this.dependency = dependency;
  }
}

/**
 * A run lost its exclusivity before it committed: the session holding its advisory lock ended,
 * its lock file was taken over, or another process ended the run meanwhile. The run is rolled
 * back (nothing of it is stored or published). Exit 3, like any unavailable dependency: retry.
 */
export class RunLockLostError extends DependencyUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('run lock', message, options);
  }
}

/** Another run for the same business date and processor holds the run lock. Exit 5. */
export class RunInProgressError extends ReconError {
  constructor(
    readonly businessDate: string,
    readonly processor: string,
  ) {
    super(
      'RUN_IN_PROGRESS',
      `another reconciliation run for ${processor} on ${businessDate} is in progress`,
    );
  }
}

/** A run id or other record asked for by the user does not exist. Exit 2 (a usage mistake). */
export class NotFoundError extends ReconError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/**
 * The process received SIGTERM or SIGINT: the run stopped, rolled back and was marked `failed`
 * with reason `interrupted`. Exit code 128 + the signal number (143 for SIGTERM, 130 for SIGINT).
 */
export class InterruptedError extends ReconError {
  constructor(readonly signal: 'SIGTERM' | 'SIGINT') {
    super('INTERRUPTED', `interrupted by ${signal}`);
  }
}

/** Stored data failed an integrity check (e.g. the audit log's hash chain is broken). Exit 6. */
export class IntegrityError extends ReconError {
  constructor(message: string) {
    super('INTEGRITY', message);
  }
}

/**
 * The results are stored but an upload or the e-mail failed (README "Exit codes"). Exit 7, unless
 * `--allow-delivery-failure` / `RECON_DELIVERY_FAILURE_EXIT=0`. The run stays `completed`; retry
 * the delivery with `recon deliver --failed`, not the reconciliation.
 */
export class DeliveryFailedError extends ReconError {
  constructor(message: string) {
    super('DELIVERY_FAILED', message);
  }
}

/**
 * Returns a one-line description of any thrown value, never including a stack trace, with every
 * secret redacted (`redact.ts`): what it returns may be logged, stored, audited and e-mailed.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return redactSecrets(error.message.split('\n')[0] ?? error.name);
  return redactSecrets(String(error));
}

/**
 * The lines describing `error` for the user, each as `describeError` makes it (one line, no stack,
 * secrets redacted): every problem of a `ConfigError`, else the one line of `describeError`.
 */
export function describeErrorLines(error: unknown): string[] {
  if (error instanceof ConfigError && error.problems.length > 1) {
    return error.problems.map((problem) => describeError(new Error(problem)));
  }
  return [describeError(error)];
}
