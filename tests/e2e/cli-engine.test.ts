import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-engine-'));
const samples = join(ROOT, 'data', 'samples');
const env = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata') };
const PROCESSORS = ['stripe', 'paypal', 'square'];

describe('recon run --engine postgres', () => {
  it('finds the same discrepancies as the memory engine on the sample day', async () => {
    const memory = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        ...PROCESSORS,
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'memory'),
        '--json',
      ],
      env,
    );
    const sql = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        ...PROCESSORS,
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'sql'),
        '--engine',
        'postgres',
        '--json',
      ],
      env,
    );
    expect(memory.code).toBe(0);
    expect(sql.code).toBe(0);
    const strip = (runs: Record<string, unknown>[]) =>
      runs.map((run) =>
        Object.fromEntries(
          Object.entries(run).filter(
            ([key]) => key !== 'run_id' && key !== 'reports' && key !== 'audit_head',
          ),
        ),
      );
    expect(strip(jsonLines(sql.stdout))).toEqual(strip(jsonLines(memory.stdout)));
    for (const processor of PROCESSORS) {
      const file = (dir: string) =>
        readFileSync(
          join(work, dir, `${processor}_${DATE}`, `reconciliation_report_${processor}_${DATE}.csv`),
          'utf8',
        );
      expect(file('sql')).toBe(file('memory'));
    }
  });

  it('refuses --engine postgres with --dry-run, and an unknown engine', async () => {
    const dry = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--engine',
        'postgres',
        '--dry-run',
      ],
      env,
    );
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain(
      '--engine postgres needs the database: it cannot be combined with --dry-run',
    );
    const unknown = await runCli(
      ['run', '--date', DATE, '--processors', 'stripe', '--engine', 'duckdb'],
      env,
    );
    expect(unknown.code).toBe(2);
  });
});
