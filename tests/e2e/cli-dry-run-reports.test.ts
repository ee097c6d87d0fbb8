import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const samples = join(ROOT, 'data', 'samples');
const relative = join(`stripe_${DATE}`, `reconciliation_report_stripe_${DATE}.json`);

/** `recon run` for the sample day's Stripe file in `cwd`, so that the default reports dir is there. */
function run(cwd: string, extra: string[], env: Record<string, string> = {}) {
  return runCli(
    ['run', '--date', DATE, '--processors', 'stripe', '--data-dir', samples, '--json', ...extra],
    { RECON_PGLITE_DIR: join(cwd, 'pgdata'), ...env },
    cwd,
  );
}

describe('a dry run never overwrites the reports of a stored run', () => {
  it('writes under local_reports/dry-run/ and leaves the stored run report as it was', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'recon-e2e-dry-run-'));
    const stored = await run(cwd, []);
    expect(stored.code).toBe(0);
    const storedPath = join(cwd, 'local_reports', relative);
    const before = readFileSync(storedPath, 'utf8');
    const mtime = statSync(storedPath).mtimeMs;

    const dry = await run(cwd, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(readFileSync(storedPath, 'utf8')).toBe(before);
    expect(statSync(storedPath).mtimeMs).toBe(mtime);
    const dryPath = join(cwd, 'local_reports', 'dry-run', relative);
    const metadata = (text: string) =>
      (JSON.parse(text) as { report_metadata: { run_id: string; dry_run: boolean } })
        .report_metadata;
    const storedRun = jsonLines(stored.stdout)[0]?.run_id;
    const dryRun = jsonLines(dry.stdout)[0]?.run_id;
    expect(dryRun).not.toBe(storedRun);
    expect([metadata(before), metadata(readFileSync(dryPath, 'utf8'))]).toEqual([
      { ...metadata(before), run_id: storedRun, dry_run: false },
      { ...metadata(readFileSync(dryPath, 'utf8')), run_id: dryRun, dry_run: true },
    ]);
    expect(jsonLines(dry.stdout).map((line) => line.reports)).toEqual([
      {
        csv: join('local_reports', 'dry-run', relative.replace(/\.json$/, '.csv')),
        json: join('local_reports', 'dry-run', relative),
      },
    ]);
    // A stored run and a dry run that opens the database to read its breaks: two PGlite starts.
  }, 120_000);

  it('writes where --reports-dir or RECON_REPORTS_DIR says when one is named', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'recon-e2e-dry-run-named-'));
    const flag = await run(cwd, ['--dry-run', '--reports-dir', 'named-by-flag']);
    const variable = await run(cwd, ['--dry-run'], { RECON_REPORTS_DIR: 'named-by-env' });
    expect([flag.code, variable.code]).toEqual([0, 0]);
    expect([
      existsSync(join(cwd, 'named-by-flag', relative)),
      existsSync(join(cwd, 'named-by-env', relative)),
      existsSync(join(cwd, 'local_reports')),
    ]).toEqual([true, true, false]);
  }, 60_000);
});
