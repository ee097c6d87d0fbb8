import { existsSync } from 'node:fs';
import { createLogger, routeProcessWarnings } from '../config/logger';
import { InterruptedError } from '../domain/errors';
import type { Io } from './command-context';
import { EXIT_CODES } from './exit-codes';
import { limitHeapGrowth } from './heap-growth';
import { buildProgram } from './program';

export { buildProgram } from './program';

/**
 * Entry point of `bin/recon`: limits V8's heap growth (`heap-growth.ts`), loads `.env` if
 * present, turns SIGTERM/SIGINT into an abort of the current run, runs the command
 * (`cli/program.ts`) and exits with its code. The only caller of `process.exit`.
 */
export async function main(argv: string[]): Promise<void> {
  limitHeapGrowth();
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
