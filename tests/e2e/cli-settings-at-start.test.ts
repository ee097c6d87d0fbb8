import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_FLAGS, ROOT, runCli } from '../helpers/cli';

const work = mkdtempSync(join(tmpdir(), 'recon-e2e-schedule-settings-'));

/** Starts `recon schedule` with `env`; stops it with SIGTERM should it still run after 8 s. */
function startSchedule(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [...NODE_FLAGS, resolve(ROOT, 'bin/recon'), 'schedule', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          RECON_CONTAINER: 'no',
          RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
          RECON_PROCESSORS: 'stripe',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    setTimeout(() => child.kill('SIGTERM'), 8_000).unref();
  });
}

describe('recon schedule validates every setting before it starts', () => {
  it('refuses to start with an invalid delivery setting (exit 2, one line)', async () => {
    const result = await startSchedule(['--no-email'], {
      SMTP_SERVER: 'smtp.example.com',
      SMTP_PORT: 'abc',
      OPERATIONS_EMAIL: 'ops@example.com',
    });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'recon: SMTP_PORT must be a whole number, got "abc"\n',
    });
  }, 20_000);

  it('names every problem at once, one line each: settings and schedule (options are checked once the settings load)', async () => {
    const result = await startSchedule(['--processors', 'visa'], {
      AWS_S3_BUCKET_NAME: 'reports',
      AWS_S3_SSE: 'bogus',
      RECON_SCHEDULE: 'every night',
    });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        'recon: AWS_S3_SSE must be one of AES256, aws:kms, none, got "bogus"',
        "recon: RECON_SCHEDULE 'every night' is not a valid cron expression (e.g. '0 1 * * *')",
        '',
      ].join('\n'),
    });
  }, 20_000);

  it('refuses to start with an invalid general setting', async () => {
    const result = await startSchedule([], { RECON_MAX_INVALID_RATE: 'lots' });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'recon: RECON_MAX_INVALID_RATE must be a fraction between 0 and 1, e.g. 0.01, got "lots"\n',
    });
  }, 20_000);
});

describe('recon run validates every setting before any side effect', () => {
  it('stops at a bad delivery setting before any side effect and creates nothing', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'recon-e2e-run-settings-'));
    const result = await runCli(
      ['run', '--date', '2025-09-30', '--processors', 'visa'],
      {
        RECON_PGLITE_DIR: join(cwd, 'pgdata'),
        SMTP_SERVER: 'smtp.example.com',
        SMTP_PORT: 'abc',
        OPERATIONS_EMAIL: 'ops@example.com',
      },
      cwd,
    );
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: ['recon: SMTP_PORT must be a whole number, got "abc"', ''].join('\n'),
    });
    expect(readdirSync(cwd)).toEqual([]);
  });
});
