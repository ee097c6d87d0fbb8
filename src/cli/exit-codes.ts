import { InterruptedError, ReconError, type ReconErrorCode } from '../domain/errors';

/**
 * THE table from errors to process exit codes (documented in the README):
 * 0 every run completed (discrepancies are a normal result); 1 internal error (a bug);
 * 2 usage or configuration error; 3 a dependency is unavailable; 4 input rejected;
 * 5 another run for the same date and processor is in progress; 6 an integrity check failed
 * (audit chain broken); 7 the results are stored but a delivery (upload, e-mail) failed (see
 * `deliveryExitCode`); 8 the run completed with breaks that `--fail-on new|open` asks to fail on
 * (see `exitCodeOfRun`); 130/143 interrupted by SIGINT/SIGTERM (128 + signal number).
 * Several runs in one invocation exit with `combineExitCodes` of their codes.
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
  DELIVERY_FAILED: 7,
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

/** One rank of `EXIT_CODE_SEVERITY`: the codes that are equally severe and what they mean. */
export interface ExitCodeRank {
  readonly codes: readonly number[];
  readonly meaning: string;
}

/**
 * Exit codes by severity, most severe first: the order in which several runs' codes are combined
 * into the process's one exit code (README "Exit codes"). The numbers themselves say nothing
 * about severity: a 5 (another run in progress, usually ignored) must never hide a 4 (an input
 * is missing, someone must act). 8: breaks found (`--fail-on`).
 */
export const EXIT_CODE_SEVERITY: readonly ExitCodeRank[] = [
  { codes: [130, 143], meaning: 'interrupted by SIGINT / SIGTERM' },
  { codes: [1], meaning: 'internal error (a bug)' },
  { codes: [4], meaning: 'input rejected' },
  { codes: [3], meaning: 'a dependency is unavailable' },
  { codes: [2], meaning: 'usage or configuration error' },
  { codes: [6], meaning: 'an integrity check failed' },
  { codes: [8], meaning: 'breaks found (--fail-on new|open)' },
  { codes: [7], meaning: 'results stored, a delivery (upload or e-mail) failed' },
  { codes: [5], meaning: 'another run for the same date and processor is in progress' },
  { codes: [0], meaning: 'every run completed' },
];

const SEVERITY_RANK: ReadonlyMap<number, number> = new Map(
  EXIT_CODE_SEVERITY.flatMap((rank, index) => rank.codes.map((code) => [code, index] as const)),
);

/** Rank of `code` in `EXIT_CODE_SEVERITY` (0 = most severe); an unknown code ranks as a bug. */
function severityRank(code: number): number {
  return SEVERITY_RANK.get(code) ?? SEVERITY_RANK.get(EXIT_CODES.INTERNAL) ?? 1;
}

/**
 * The one exit code of an invocation that ran several (date, processor) runs or steps: the most
 * severe of `codes` by `EXIT_CODE_SEVERITY` (of equally severe codes, the first met); 0 when
 * `codes` is empty. An unknown non-zero code ranks like an internal error, so it is never hidden.
 */
export function combineExitCodes(codes: Iterable<number>): number {
  let combined = EXIT_OK;
  for (const code of codes) {
    if (severityRank(code) < severityRank(combined)) combined = code;
  }
  return combined;
}

/** Exit code of a completed run with breaks that `--fail-on` asks to fail on. */
export const EXIT_BREAKS = 8;

/**
 * `--fail-on`: `new` fails a completed run (exit 8) that opened breaks (pending ones, still in
 * their grace, do not count); `open` fails one after which any break of the processor is open
 * (past the grace: `pending` ones do not count), whatever its origin date.
 */
export type FailOn = 'new' | 'open';

/** The break counts `--fail-on` looks at (a run's `breaks` block). */
export interface FailOnBreaks {
  readonly new: number;
  readonly open: number;
  /** New breaks that are open, not pending; absent: every new break counts. */
  readonly new_open?: number;
}

/** True when `breaks` trip `failOn` (see `FailOn`); `null` breaks (none read) never do. */
export function breaksTrip(breaks: FailOnBreaks | null | undefined, failOn: FailOn): boolean {
  if (!breaks) return false;
  return failOn === 'new' ? (breaks.new_open ?? breaks.new) > 0 : breaks.open > 0;
}

/**
 * The exit code of one run's outcome: `exitCodeFor` its error when it failed; 8 (`EXIT_BREAKS`)
 * when it completed and `failOn` is set and its breaks trip it (`breaksTrip`; a dry run's
 * breaks too, when it read them) or its settlement breaks do (schema 8: `settlement.breaks.counts`,
 * the same rule: `new` counts new open ones, `open` every open one of the processor); else 0.
 */
export function exitCodeOfRun(
  result: {
    readonly status: string;
    readonly error: unknown;
    readonly breaks?: FailOnBreaks | null;
    readonly settlement?: { readonly breaks?: { readonly counts: FailOnBreaks } } | null;
  },
  failOn?: FailOn,
): number {
  if (result.status !== 'completed') return exitCodeFor(result.error);
  if (!failOn) return EXIT_OK;
  const trips =
    breaksTrip(result.breaks, failOn) || breaksTrip(result.settlement?.breaks?.counts, failOn);
  return trips ? EXIT_BREAKS : EXIT_OK;
}

/**
 * The exit code of one delivery call (`deliverResults`, `deliverFailed`): 7 (`DELIVERY_FAILED`)
 * when any of `attempts` failed, else 0. `allowFailure` (`--allow-delivery-failure`,
 * `RECON_DELIVERY_FAILURE_EXIT=0`) makes a failed delivery exit 0: the failure is still printed,
 * logged and recorded. Skipped attempts (nothing to send, channel not configured) are not failures.
 */
export function deliveryExitCode(
  attempts: readonly { readonly status: 'sent' | 'failed' | 'skipped' }[],
  allowFailure: boolean,
): number {
  if (allowFailure) return EXIT_OK;
  return attempts.some((a) => a.status === 'failed') ? EXIT_CODES.DELIVERY_FAILED : EXIT_OK;
}
