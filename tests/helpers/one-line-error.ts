import type { CliResult } from './cli';

/**
 * The lines of a CLI run's stderr that are not JSON log lines (pino writes those to stderr too),
 * and whether any stderr line, log lines included, carries a stack trace (`    at …`).
 */
export function stderrMessages(result: CliResult): { lines: string[]; stackTrace: boolean } {
  const all = result.stderr.split('\n');
  return {
    lines: all.filter((line) => line.trim() !== '' && !line.startsWith('{')),
    stackTrace: /(^|\\n|\n)\s+at \S/.test(result.stderr) || result.stderr.includes('"stack":'),
  };
}
