import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

function runScript(
  script: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, 'dist', 'scripts', script), ...args], {
    encoding: 'utf8',
    cwd: root,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('benchmark scripts on the command line', () => {
  it.each([
    ['bench.js', 'Usage: npm run bench -- [options]'],
    ['bench-pglite-write.js', 'Usage: npm run bench:pglite -- [options]'],
  ])('%s --help prints its usage and exits 0', (script, firstLine) => {
    const result = runScript(script, ['--help']);
    expect({
      status: result.status,
      first: result.stdout.split('\n')[0],
      stderr: result.stderr,
    }).toEqual({
      status: 0,
      first: firstLine,
      stderr: '',
    });
    expect(result.stdout).toMatch(/^ {2}-h, --help +print this help$/m);
  });

  it('rejects an unknown option with one line and exit 2', () => {
    const result = runScript('bench.js', ['--bogus']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 2,
      stdout: '',
      stderr: 'bench: unknown option --bogus (see --help)\n',
    });
  });
});
