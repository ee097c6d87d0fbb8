import { InterruptedError, ReconError, type ReconErrorCode } from '../domain/errors';

/**
 * THE table from errors to process exit codes (documented in the README):
 * 0 every run completed (discrepancies are a normal result); 1 internal error (a bug);
 * 2 usage or configuration error; 3 a dependency is unavailable; 4 input rejected;
 * 5 another run for the same date and processor is in progress; 6 an integrity check failed
 * (audit chain broken); 130/143 interrupted by
 * SIGINT/SIGTERM (128 + signal number).
 */
export const EXIT_CODES: Readonly<Record<ReconErrorCode, number>> = {
  INTERNAL: 1,
  USAGE: 2,
  CONFIG: 2,
  NOT_FOUND: 2,
  DEPENDENCY_UNAVAILABLE: 3,
  INPUT_REJECTED: 4,
  RUN_IN_PROGRESS: 5,
  INTERRUPTED: 143,
  INTEGRITY: 6,
};

/** Exit code of success. */
export const EXIT_OK = 0;

/** The exit code for an error: its code's entry, or 1 for anything that is not a `ReconError`. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return error.signal === 'SIGINT' ? 130 : 143;
  return error instanceof ReconError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL;
}

/** True when `error` is the user's or the environment's doing (print one line, no stack). */
export function isExpectedError(error: unknown): boolean {
  return error instanceof ReconError && error.code !== 'INTERNAL';
}
