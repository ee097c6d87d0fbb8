import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

// `recon runs show` and `recon deliver` take a run by any unique prefix of its id of at least 8
// characters, as git takes short commit hashes; anything else exits 2 with one `recon:` line.
const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-short-ids-'));
const env = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata') };
const TWIN_A = 'abcd1234-0000-4000-8000-000000000001';
const TWIN_B = 'abcd1234-0000-4000-8000-000000000002';

describe('short run ids on the command line', () => {
  let runId = '';

  beforeAll(async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        join(ROOT, 'data', 'samples'),
        '--reports-dir',
        join(work, 'reports'),
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(0);
    runId = String(jsonLines(result.stdout)[0]?.run_id);
    expect(runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // Two runs whose ids share their first 8 (indeed 35) characters, written as the store would
    // never choose them.
    const db = await PGlite.create(env.RECON_PGLITE_DIR);
    try {
      for (const [index, id] of [TWIN_A, TWIN_B].entries()) {
        await db.query(
          `INSERT INTO reconciliation_runs (id, run_date, processor_name, status, end_time, error_message)
           VALUES ($1, DATE '2025-09-01' + $2::int, 'paypal', 'failed', now(), 'crafted for a test')`,
          [id, index],
        );
      }
    } finally {
      await db.close();
    }
  });

  it('shows a run named by its first 8 characters, in any case', async () => {
    const show = await runCli(['runs', 'show', runId.slice(0, 8).toUpperCase()], env);
    expect([show.code, show.stdout.split('\n')[0]]).toEqual([
      0,
      `run                     ${runId}`,
    ]);
    const json = await runCli(['runs', 'show', runId.slice(0, 13), '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ run_id: runId, processor: 'stripe' });
    const full = await runCli(['runs', 'show', runId, '--json'], env);
    expect(JSON.parse(full.stdout)).toMatchObject({ run_id: runId });
  });

  it('delivers a run named by its first 8 characters', async () => {
    const result = await runCli(['deliver', runId.slice(0, 8)], env);
    expect(result.stderr).not.toMatch(/^recon: /m);
    expect(result.code).toBe(0);
  });

  it.each([
    [
      ['runs', 'show', 'abcd1234'],
      `recon: run id prefix 'abcd1234' is ambiguous: ${TWIN_A}, ${TWIN_B}`,
    ],
    [['deliver', 'ABCD1234'], `recon: run id prefix 'abcd1234' is ambiguous: ${TWIN_A}, ${TWIN_B}`],
    [
      ['runs', 'show', 'abcd123'],
      "recon: run id prefix 'abcd123' is too short: give at least 8 characters of the run id",
    ],
    [
      ['deliver', 'abcd'],
      "recon: run id prefix 'abcd' is too short: give at least 8 characters of the run id",
    ],
    [['runs', 'show', 'deadbeef'], "recon: no run id starts with 'deadbeef'"],
    [['deliver', 'deadbeef'], "recon: no run id starts with 'deadbeef'"],
    [
      ['runs', 'show', 'abcd%'],
      "recon: run id 'abcd%' is not a run id or a prefix of one: use hex digits and dashes, e.g. the first 8 characters",
    ],
  ])('%j exits 2 with one line', async (args, line) => {
    const result = await runCli(args, env);
    expect([result.code, result.stderr, result.stdout]).toEqual([2, `${line}\n`, '']);
  });
});
