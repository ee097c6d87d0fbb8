import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jsonLines, ROOT, runCli, type CliResult } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { stderrMessages } from '../helpers/one-line-error';

const DATE = '2025-09-30';
const SAMPLES = join(ROOT, 'data', 'samples');

/** True when this process may mount a tmpfs (root in a namespace that allows it). */
function tmpfsMountable(): { ok: boolean; why: string } {
  const probe = mkdtempSync(join(tmpdir(), 'recon-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return { ok: true, why: '' };
  } catch (error) {
    return { ok: false, why: String((error as Error).message).split('\n')[0] ?? 'mount failed' };
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const mountable = tmpfsMountable();
const itTmpfs = mountable.ok ? it : it.skip;
if (!mountable.ok) {
  console.warn(
    `reports-dir faults: read-only and full tmpfs cases SKIPPED: cannot mount a tmpfs here (${mountable.why}); they need root with mount rights`,
  );
}

/** Every file (not directory) under `dir`, relative paths, sorted. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string, prefix: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(at, entry.name), rel);
      else found.push(rel);
    }
  };
  walk(dir, '');
  return found.sort();
}

/** Fills the file system of `dir` with one file until only `leaveBytes` are free. */
function fill(dir: string, leaveBytes: number): void {
  const { bavail, bsize } = statfsSync(dir);
  const size = bavail * bsize - leaveBytes;
  if (size > 0) writeFileSync(join(dir, 'filler'), Buffer.alloc(size, 0x61));
  expect(statfsSync(dir).bavail * bsize).toBe(leaveBytes);
}

describe('recon run with an unusable --reports-dir (built CLI, PGlite)', () => {
  let work = '';
  let mounts: string[] = [];
  let env: Record<string, string> = {};

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'recon-faults-reports-'));
    mounts = [];
    env = { RECON_PGLITE_DIR: join(work, 'pg', 'data') };
  });
  afterEach(() => {
    for (const mount of mounts) execFileSync('umount', [mount]);
    rmSync(work, { recursive: true, force: true });
  });

  function mountTmpfs(name: string, options: string): string {
    const dir = join(work, name);
    mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }

  function run(reportsDir: string, extra: string[] = []): Promise<CliResult> {
    return runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        SAMPLES,
        '--reports-dir',
        reportsDir,
        ...extra,
      ],
      env,
      work,
    );
  }

  /** The runs stored in the embedded database, as [processor, status]. */
  async function storedRuns(): Promise<[unknown, unknown][]> {
    const list = await runCli(['runs', 'list', '--json'], env, work);
    expect(list.code).toBe(0);
    return (JSON.parse(list.stdout) as Record<string, unknown>[]).map((r) => [
      r.processor,
      r.status,
    ]);
  }

  /** Exit code, the one stderr line, no stack, no runs stored, inputs not read. */
  function expectRefusedBeforeTheRun(result: CliResult, code: number, message: RegExp): void {
    const { lines, stackTrace } = stderrMessages(result);
    expect({ code: result.code, lines: lines.length, stackTrace }).toEqual({
      code,
      lines: 1,
      stackTrace: false,
    });
    expect(lines[0]).toMatch(/^recon: /);
    expect(lines[0]).toMatch(message);
    expect(result.stdout).toBe('');
    // Refused before anything was read or stored: the embedded database was not even opened.
    expect(result.logs.map((log) => log.msg)).not.toContain('inputs read');
    expect(existsSync(env.RECON_PGLITE_DIR ?? '')).toBe(false);
  }

  it('exits 2 with one line when the path is a regular file', async () => {
    const file = join(work, 'reports');
    writeFileSync(file, 'not a directory');
    expectRefusedBeforeTheRun(
      await run(file),
      2,
      new RegExp(`reports directory '${file}'.*is a file, not a directory`),
    );
  });

  it('exits 2 with one line when the path lies under a regular file', async () => {
    const file = join(work, 'plain');
    writeFileSync(file, 'x');
    expectRefusedBeforeTheRun(
      await run(join(file, 'reports')),
      2,
      new RegExp(`reports directory '${file}/reports'.*'${file}' is a file, not a directory`),
    );
  });

  it('exits 2 with one line when the path is a dangling symbolic link', async () => {
    const link = join(work, 'reports');
    symlinkSync(join(work, 'gone', 'away'), link);
    expectRefusedBeforeTheRun(
      await run(link),
      2,
      new RegExp(`'${link}' is a symbolic link to '${work}/gone/away', which does not exist`),
    );
  });

  it('exits 2 with one line for a --dry-run too (the reports are all a dry run writes)', async () => {
    const file = join(work, 'reports');
    writeFileSync(file, '');
    const result = await run(file, ['--dry-run']);
    const { lines } = stderrMessages(result);
    expect([result.code, lines]).toEqual([
      2,
      [
        `recon: reports directory '${file}' (--reports-dir or RECON_REPORTS_DIR) is not usable: '${file}' is a file, not a directory`,
      ],
    ]);
  });

  itTmpfs('exits 2 with one line when the directory is on a read-only file system', async () => {
    const readOnly = mountTmpfs('ro', 'ro,size=64k');
    expectRefusedBeforeTheRun(await run(join(readOnly, 'reports')), 2, /read-only file system/);
    expect(filesUnder(readOnly)).toEqual([]);
  });

  itTmpfs('exits 3 with one line when the file system is full, before reading inputs', async () => {
    const full = mountTmpfs('full', 'size=64k');
    fill(full, 0);
    expectRefusedBeforeTheRun(
      await run(join(full, 'reports')),
      3,
      new RegExp(`reports directory '${full}/reports'.*no space left on device`),
    );
    expect(filesUnder(full)).toEqual(['filler']);
  });

  itTmpfs(
    'exits 3 with one line when the disk fills up while the reports are written, leaving no partial file and a failed run',
    async () => {
      // Room for the preflight's probe and the CSV report (one page each), not for the JSON.
      const small = mountTmpfs('small', 'size=64k');
      fill(small, statfsSync(small).bsize);
      const result = await run(join(small, 'reports'), ['--json']);
      const { lines, stackTrace } = stderrMessages(result);
      expect({ code: result.code, lines, stackTrace }).toEqual({
        code: 3,
        lines: [],
        stackTrace: false,
      });
      const [json] = jsonLines(result.stdout);
      expect([json?.status, json?.exit_code, json?.reports]).toEqual(['failed', 3, null]);
      expect(String(json?.error)).toMatch(
        new RegExp(`^reports directory '${small}/reports'.*no space left on device`),
      );
      expect(filesUnder(small)).toEqual(['filler']);
      expect(await storedRuns()).toEqual([['stripe', 'failed']]);
    },
  );

  itTmpfs('prints the ENOSPC failure of a dry run as one recon: line', async () => {
    const small = mountTmpfs('small', 'size=64k');
    fill(small, statfsSync(small).bsize);
    const result = await run(join(small, 'reports'), ['--dry-run']);
    const { lines, stackTrace } = stderrMessages(result);
    expect({ code: result.code, count: lines.length, stackTrace }).toEqual({
      code: 3,
      count: 1,
      stackTrace: false,
    });
    expect(lines[0]).toMatch(/^recon: stripe 2025-09-30: reports directory .*no space left/);
    expect(filesUnder(small)).toEqual(['filler']);
  });
});

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn('reports-dir faults: PostgreSQL server case SKIPPED: TEST_DATABASE_URL is not set');

describeServer('recon run with an unusable --reports-dir on a PostgreSQL server', () => {
  let schema = '';
  let work = '';

  beforeAll(async () => {
    schema = await createTestSchema('recon_faults_reports');
    work = mkdtempSync(join(tmpdir(), 'recon-faults-reports-pg-'));
  });
  afterAll(async () => {
    await dropTestSchema(schema);
    rmSync(work, { recursive: true, force: true });
  });

  it('exits 2 before the run starts: no run row stored', async () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
    expect((await runCli(['db', 'init'], env, work)).code).toBe(0);
    const file = join(work, 'reports');
    writeFileSync(file, '');
    const result = await runCli(
      ['run', '--date', DATE, '--processors', 'stripe,paypal', '--data-dir', SAMPLES],
      { ...env, RECON_REPORTS_DIR: file },
      work,
    );
    expect([result.code, stderrMessages(result).lines]).toEqual([
      2,
      [
        `recon: reports directory '${file}' (--reports-dir or RECON_REPORTS_DIR) is not usable: '${file}' is a file, not a directory`,
      ],
    ]);
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const runs = await client.query(
        `SELECT count(*)::int AS n FROM ${schema}.reconciliation_runs`,
      );
      expect(runs.rows).toEqual([{ n: 0 }]);
    } finally {
      await client.end();
    }
  });
});
