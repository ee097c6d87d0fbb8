import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const samples = join(ROOT, 'data', 'samples');
const reports = mkdtempSync(join(tmpdir(), 'recon-e2e-server-'));
const SECRET = 'sekret-pw-123';

/** The test server's URL with a password added: trust auth ignores it, logs must never show it. */
function urlWithPassword(url: string): string {
  const parsed = new URL(url);
  if (!parsed.password) parsed.password = SECRET;
  return parsed.toString();
}

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;

describeServer('recon CLI on a PostgreSQL server (TEST_DATABASE_URL)', () => {
  let schema = '';
  let env: Record<string, string> = {};
  let client: pg.Client;

  beforeAll(async () => {
    schema = await createTestSchema('recon_e2e');
    env = { DATABASE_URL: urlWithPassword(TEST_DATABASE_URL ?? ''), DB_SCHEMA: schema };
    client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await dropTestSchema(schema);
  });

  it('asks for recon db init (exit 2) before the schema exists', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
      ],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("run 'recon db init'");
  });

  it('initialises the schema idempotently', async () => {
    for (let i = 0; i < 2; i++) {
      const result = await runCli(['db', 'init'], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`schema applied to 127.0.0.1:5432/`);
    }
  });

  it('creates a DB_SCHEMA that does not exist yet when initialising it', async () => {
    const fresh = `${schema}_fresh`;
    try {
      const result = await runCli(['db', 'init'], { ...env, DB_SCHEMA: fresh });
      expect({ code: result.code, stdout: result.stdout }).toEqual({
        code: 0,
        stdout: `schema applied to 127.0.0.1:5432${new URL(TEST_DATABASE_URL ?? '').pathname}\n`,
      });
      const version = await client.query<{ value: string }>(
        `SELECT value FROM ${fresh}.system_configuration WHERE key = 'schema_version'`,
      );
      expect(version.rows).toEqual([{ value: '8' }]);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${fresh} CASCADE`);
    }
  });

  it('refuses with exit 2 and one line when the role may not create the missing DB_SCHEMA', async () => {
    const role = `${schema}_nocreate`;
    await client.query(`CREATE ROLE ${role} LOGIN`);
    try {
      const url = new URL(TEST_DATABASE_URL ?? '');
      url.username = role;
      url.password = '';
      const database = url.pathname.slice(1);
      const result = await runCli(['db', 'init'], {
        DATABASE_URL: url.toString(),
        DB_SCHEMA: `${schema}_missing`,
      });
      expect(result.code).toBe(2);
      expect(
        result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{')),
      ).toEqual([
        `recon: schema ${schema}_missing does not exist in database 127.0.0.1:5432/${database}, and role ${role} may not create it (no CREATE privilege on database ${database}); create it as the database owner: CREATE SCHEMA ${schema}_missing AUTHORIZATION ${role}`,
      ]);
    } finally {
      await client.query(`DROP ROLE ${role}`);
    }
  });

  it('reconciles the sample day into the server and answers the documented queries', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        'paypal',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    const runs = jsonLines(result.stdout);
    expect(runs).toHaveLength(3);

    const a = await client.query(
      'SELECT processor_name, missing_transaction_count, status FROM reconciliation_runs;',
    );
    expect(a.rows).toContainEqual({
      processor_name: 'stripe',
      missing_transaction_count: 5,
      status: 'completed',
    });
    const b = await client.query(
      'SELECT run_date, processor_name, missing_transaction_count, total_discrepancy_amount, status FROM reconciliation_runs ORDER BY start_time DESC LIMIT 10;',
    );
    expect(b.rows).toHaveLength(3);
    const c = await client.query<{ transaction_id: string; amount: string; merchant_id: string }>(
      'SELECT transaction_id, amount, merchant_id FROM missing_transactions LIMIT 20;',
    );
    expect(c.rows).toHaveLength(5);
    expect(c.rows).toContainEqual({
      transaction_id: 'ch_3Sample0001',
      amount: '306.62',
      merchant_id: 'merch_010',
    });
    const d = await client.query('SELECT * FROM v_recent_reconciliations LIMIT 10;');
    expect(d.rows).toHaveLength(3);
    const quality = await client.query<{ line: number; field: string }>(
      `SELECT line, field FROM data_quality_checks WHERE check_name = 'invalid_row'`,
    );
    expect(quality.rows).toEqual([{ line: 52, field: 'amount' }]);
  });

  it('supersedes on rerun and keeps one completed run per date and processor', async () => {
    const rerun = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
      ],
      env,
    );
    expect(rerun.code).toBe(0);
    const rows = await client.query<{ status: string; n: string }>(
      `SELECT status, count(*)::text AS n FROM reconciliation_runs WHERE processor_name = 'stripe' GROUP BY status ORDER BY status`,
    );
    expect(rows.rows).toEqual([
      { status: 'completed', n: '1' },
      { status: 'superseded', n: '1' },
    ]);
  });

  it('exits 5 when another session holds the advisory lock of the run', async () => {
    const holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
        `${schema}/recon-run_${DATE}_paypal`,
      ]);
      const result = await runCli(
        [
          'run',
          '--date',
          DATE,
          '--processors',
          'paypal',
          '--data-dir',
          samples,
          '--reports-dir',
          reports,
        ],
        env,
      );
      expect(result.code).toBe(5);
    } finally {
      await holder.end();
    }
  });

  it('exits 3 with one line, and no password, when the server is unreachable', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
      ],
      {
        DATABASE_URL: `postgres://recon:${SECRET}@127.0.0.1:1/nowhere`,
        DB_CONNECT_TIMEOUT_MS: '2000',
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('database 127.0.0.1:1/nowhere is unavailable');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
