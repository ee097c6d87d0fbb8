import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { stderrMessages } from '../helpers/one-line-error';

/**
 * Settings are validated once, before any side effect, in every command (issue #12): a bad
 * delivery setting used to surface only after the run was committed (exit 2 for a run that
 * completed). Every problem is printed at once, one `recon:` line each.
 */

const DATE = '2025-09-30';
const SAMPLES = join(ROOT, 'data', 'samples');

/** Three bad delivery settings, with the channels they belong to switched on. */
const BAD_DELIVERY = {
  SMTP_SERVER: '127.0.0.1',
  OPERATIONS_EMAIL: 'ops@example.com',
  SMTP_PORT: 'abc',
  RECON_EMAIL_ON: 'sometimes',
  AWS_S3_BUCKET_NAME: 'acme-recon',
  AWS_S3_SSE: 'bogus',
};

const EXPECTED_LINES = [
  'recon: AWS_S3_SSE must be one of AES256, aws:kms, none, got "bogus"',
  'recon: SMTP_PORT must be a whole number, got "abc"',
  'recon: RECON_EMAIL_ON must be one of always, discrepancies, failures, got "sometimes"',
];

function commands(reports: string): [string, string[]][] {
  return [
    [
      'run',
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        SAMPLES,
        '--reports-dir',
        reports,
      ],
    ],
    ['health', ['health']],
    ['runs list', ['runs', 'list']],
  ];
}

describe('bad settings stop every command before any side effect (embedded database)', () => {
  let work = '';
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'recon-e2e-config-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(['run', 'health', 'runs list'])(
    'recon %s exits 2 with one recon: line per problem and creates nothing',
    async (name) => {
      const reports = join(work, `reports-${name.replace(' ', '-')}`);
      const pglite = join(work, `pg-${name.replace(' ', '-')}`, 'data');
      const args = new Map(commands(reports)).get(name) ?? [];
      const result = await runCli(args, { ...BAD_DELIVERY, RECON_PGLITE_DIR: pglite }, work);
      const { lines, stackTrace } = stderrMessages(result);
      expect({ code: result.code, lines, stackTrace, stdout: result.stdout }).toEqual({
        code: 2,
        lines: EXPECTED_LINES,
        stackTrace: false,
        stdout: '',
      });
      // No embedded database was created (so no run row can exist) and no report was written.
      expect([existsSync(pglite), existsSync(reports)]).toEqual([false, false]);
    },
  );
});

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn('cli-config e2e: PostgreSQL server case SKIPPED: TEST_DATABASE_URL is not set');

describeServer('bad settings stop every command before any side effect (TEST_DATABASE_URL)', () => {
  let schema = '';
  let env: Record<string, string> = {};
  let client: pg.Client;
  let reports = '';
  /** Row counts right after `recon db init` (which audits itself). */
  let initial: Record<string, string> = {};

  beforeAll(async () => {
    schema = await createTestSchema('recon_e2e_config');
    env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
    reports = mkdtempSync(join(tmpdir(), 'recon-e2e-config-server-'));
    const init = await runCli(['db', 'init'], env);
    expect(init.code).toBe(0);
    client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
    initial = await rowCounts();
  });

  afterAll(async () => {
    await client.end();
    await dropTestSchema(schema);
    rmSync(reports, { recursive: true, force: true });
  });

  async function rowCounts(): Promise<Record<string, string>> {
    const result = await client.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM reconciliation_runs)::text AS runs,
              (SELECT count(*) FROM audit_log)::text AS audit,
              (SELECT count(*) FROM system_health)::text AS health,
              (SELECT count(*) FROM deliveries)::text AS deliveries`,
    );
    return result.rows[0] ?? {};
  }

  it.each(['run', 'health', 'runs list'])(
    'recon %s exits 2 with one recon: line per problem and stores nothing',
    async (name) => {
      const args = new Map(commands(join(reports, name.replace(' ', '-')))).get(name) ?? [];
      const result = await runCli(args, { ...env, ...BAD_DELIVERY });
      const { lines, stackTrace } = stderrMessages(result);
      expect({ code: result.code, lines, stackTrace, stdout: result.stdout }).toEqual({
        code: 2,
        lines: EXPECTED_LINES,
        stackTrace: false,
        stdout: '',
      });
      expect(await rowCounts()).toEqual(initial);
    },
  );

  it('leaves no run behind: runs list with good settings shows an empty history', async () => {
    expect([initial.runs, await rowCounts()]).toEqual(['0', initial]);
    const list = await runCli(['runs', 'list', '--json'], env);
    expect({ code: list.code, runs: JSON.parse(list.stdout) as unknown }).toEqual({
      code: 0,
      runs: [],
    });
  });
});
