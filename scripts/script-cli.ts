/**
 * Command-line plumbing shared by the scripts (`npm run bench`, `npm run bench:pglite`): `--help`
 * prints the script's usage and exits 0, a bad argument prints one `name: message` line and
 * exits 2, anything else is a bug (stack trace, exit 1).
 */

/** A bad command-line argument of a script: printed as one line, exit 2. */
export class ScriptUsageError extends Error {}

/** True when `argv` asks for help (`--help` or `-h`). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Runs a script's `main`: prints `usage` and exits 0 for `--help`; a `ScriptUsageError` becomes
 * `name: message` plus a hint on stderr with exit 2; any other error is printed whole, exit 1.
 */
export function runScript(
  name: string,
  usage: string,
  argv: readonly string[],
  main: () => Promise<void>,
): void {
  if (wantsHelp(argv)) {
    process.stdout.write(`${usage.trim()}\n`);
    return;
  }
  main().catch((error: unknown) => {
    if (error instanceof ScriptUsageError) {
      process.stderr.write(`${name}: ${error.message} (see --help)\n`);
      process.exitCode = 2;
      return;
    }
    console.error(error);
    process.exitCode = 1;
  });
}
