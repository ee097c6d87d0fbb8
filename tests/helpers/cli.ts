import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** Repository root. */
export const ROOT = resolve(__dirname, '..', '..');

/**
 * Node's flags for the CLI processes the tests start. `--liftoff-only`: V8 keeps PGlite's
 * WebAssembly on its baseline compiler. A short CLI run with the embedded database spent about
 * half its CPU optimizing WASM functions it then ran a few times (`recon runs list`: 1.2 s of CPU
 * → 0.8 s); the suite starts several hundred such processes on two cores. WebAssembly means the
 * same on either tier: only the product's large embedded runs, which no test makes, tier up.
 */
export const NODE_FLAGS: readonly string[] = ['--liftoff-only'];

/** What one CLI invocation did. `logs` are stderr lines that parsed as JSON (pino). */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly logs: Record<string, unknown>[];
}

/**
 * Runs the built CLI (`bin/recon`, needs `npm run build`) with `args` in `cwd` and an environment
 * made only of PATH, HOME, LOG_LEVEL=info, RECON_CONTAINER=no and `env` — no DATABASE_URL leaks in
 * from the developer's shell.
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, resolve(ROOT, 'bin/recon'), ...args], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'info',
        // The test machine may itself be a container: no embedded-database warning unless a
        // test asks for one.
        RECON_CONTAINER: 'no',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const logs: Record<string, unknown>[] = [];
      for (const line of stderr.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
      resolvePromise({ code, stdout, stderr, logs });
    });
  });
}

/** Parses `--json` stdout: one JSON object per line. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
