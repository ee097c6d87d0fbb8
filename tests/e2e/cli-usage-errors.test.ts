import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from '../helpers/cli';

const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

describe('recon usage errors from the command line parser', () => {
  it.each([
    [['run', '--bogus'], "recon: unknown option '--bogus' (run recon --help for usage)\n"],
    [['frobnicate'], "recon: unknown command 'frobnicate' (run recon --help for usage)\n"],
    [['rnu'], "recon: unknown command 'rnu' (Did you mean run?) (run recon --help for usage)\n"],
    [['runs', 'show'], "recon: missing required argument 'run-id' (run recon --help for usage)\n"],
    [
      ['runs', 'gaps', '--from', '2025-09-01'],
      "recon: required option '--to <YYYY-MM-DD>' not specified (run recon --help for usage)\n",
    ],
    [
      ['run', '--date'],
      "recon: option '--date <YYYY-MM-DD>' argument missing (run recon --help for usage)\n",
    ],
    [
      ['--log-level', 'loud', 'run'],
      "recon: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent. (run recon --help for usage)\n",
    ],
    [
      ['deliver', 'a', 'b'],
      "recon: too many arguments for 'deliver'. Expected 1 argument but got 2. (run recon --help for usage)\n",
    ],
  ])('recon %j prints one recon: line on stderr and exits 2', async (args, stderr) => {
    const result = await runCli(args, {});
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr,
    });
  });

  it('prints the usage on stdout and exits 0 for --help', async () => {
    const result = await runCli(['--help'], {});
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')[0]).toBe('Usage: recon [options] [command]');
  });

  it('prints the version on stdout and exits 0 for --version', async () => {
    const result = await runCli(['--version'], {});
    expect(result).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '', logs: [] });
  });

  it('prints the command usage on stdout and exits 0 for run --help', async () => {
    const result = await runCli(['run', '--help'], {});
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')[0]).toBe('Usage: recon run [options]');
  });
});
