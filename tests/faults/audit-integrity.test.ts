import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { jsonLines, ROOT, runCli, type CliResult } from '../helpers/cli';

/**
 * Integrity of stored results (issue #11, "Secrets and integrity"): a completed run's results are
 * chained into its `run_completed` audit entry and checked by `recon db verify-audit`; the app
 * role cannot rewrite them; the chain head can be anchored outside the database; the app role can
 * run the postgres engine, and `db init` refuses it with exit 2.
 */

const DATE = '2025-09-30';
const samples = join(ROOT, 'data', 'samples');
const HEX64 = /^[0-9a-f]{64}$/;

/** What the `run_completed` entry of the sample day's stripe run records, on every backend and engine. */
const SAMPLE_STRIPE_RESULTS = {
  processor_transactions: 30,
  internal_transactions: 26,
  matched: 23,
  missing_in_internal: 5,
  missing_in_processor: 1,
  amount_mismatch: 1,
  currency_mismatch: 0,
  status_mismatch: 1,
  duplicate: 0,
  discrepancy_count: 8,
  invalid_rows: 0,
  discrepancy_amounts: { EUR: '387.23', USD: '996.05' },
  total_discrepancy_amount: null,
  total_discrepancy_currency: null,
  processor_volume: { EUR: '2685.88', USD: '4166.81' },
  internal_volume: { EUR: '2298.65', USD: '3550.61' },
  discrepancy_rate: '0.258065',
  risk_level: 'HIGH',
  compliance_status: 'NON_COMPLIANT',
  discrepancy_rows: 8,
  discrepancies_sha256: 'c4543dd80b1327acfbaf6f19a38d5eebc45bad8d1043984c94f865afabddfafb',
  discrepancy_details_sha256: '5e96e093ea9337c3923d7a4d79a5447440968d24fec82f4f8cbf6b53097804c7',
  finding_rows: 2,
  // The findings name their input file by its path, which depends on where the repository is.
  findings_sha256: expect.stringMatching(HEX64) as string,
  // No payouts that day: no settlement rows, the digest of nothing.
  settlement_rows: 0,
  settlement_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

function runArgs(reports: string, ...extra: string[]): string[] {
  return [
    'run',
    '--date',
    DATE,
    '--processors',
    'stripe',
    '--data-dir',
    samples,
    '--reports-dir',
    reports,
    ...extra,
  ];
}

/** The single line a failed command prints on stderr (no stack trace, no log lines). */
function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn('audit-integrity: server cases skipped: TEST_DATABASE_URL is not set');

describeServer('stored results under tampering, on a PostgreSQL server', () => {
  const owner = `recon_owner_f${suffix}`;
  const app = `recon_app_f${suffix}`;
  const reports = mkdtempSync(join(tmpdir(), 'recon-faults-audit-'));
  let schema = '';
  let ownerEnv: Record<string, string> = {};
  let appEnv: Record<string, string> = {};
  let client: pg.Client;
  let appClient: pg.Client;

  beforeAll(async () => {
    schema = await createTestSchema('recon_faults_audit');
    ownerEnv = {
      DATABASE_URL: TEST_DATABASE_URL ?? '',
      DB_SCHEMA: schema,
      RECON_OWNER_ROLE: owner,
      RECON_APP_ROLE: app,
      RECON_APP_PASSWORD: `pw-${suffix}`,
    };
    const appUrl = new URL(TEST_DATABASE_URL ?? '');
    appUrl.username = app;
    appUrl.password = `pw-${suffix}`;
    appEnv = { DATABASE_URL: appUrl.toString(), DB_SCHEMA: schema };
    const init = await runCli(['db', 'init', '--roles'], ownerEnv);
    expect(init.code).toBe(0);
    client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
    appClient = new pg.Client({
      connectionString: appUrl.toString(),
      options: `-c search_path=${schema}`,
    });
    await appClient.connect();
  });

  afterAll(async () => {
    await appClient?.end();
    await client?.end();
    await dropTestSchema(schema);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    for (const role of [app, owner])
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  async function completedRun(): Promise<string> {
    const rows = await client.query<{ id: string }>(
      `SELECT id::text FROM reconciliation_runs WHERE status = 'completed' AND processor_name = 'stripe'`,
    );
    expect(rows.rows).toHaveLength(1);
    return rows.rows[0]?.id ?? '';
  }

  /** The owner's way around the triggers, as an administrator with full rights would do it. */
  async function asOwnerWithoutTrigger(table: string, trigger: string, sql: string): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
      await client.query(sql);
      await client.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }

  it('refuses db init for the app role with exit 2 and one line saying why', async () => {
    const result = await runCli(['db', 'init'], appEnv);
    expect(result.code).toBe(2);
    expect(errorLines(result)).toEqual([
      `recon: role ${app} cannot run 'recon db init' on schema ${schema}: it does not own table reconciliation_runs (owner ${owner}); run it as the owner role or a superuser`,
    ]);
  });

  it('refuses db init --roles for a role without CREATEROLE with exit 2, after applying the schema it owns', async () => {
    const plain = `recon_plain_f${suffix}`;
    const own = `recon_faults_plain_${suffix}`;
    await client.query(`CREATE ROLE ${plain} LOGIN`);
    await client.query(`GRANT ${plain} TO current_user`);
    await client.query(`CREATE SCHEMA ${own} AUTHORIZATION ${plain}`);
    try {
      const url = new URL(TEST_DATABASE_URL ?? '');
      url.username = plain;
      url.password = '';
      const result = await runCli(['db', 'init', '--roles'], {
        DATABASE_URL: url.toString(),
        DB_SCHEMA: own,
        RECON_OWNER_ROLE: `${owner}_x`,
        RECON_APP_ROLE: `${app}_x`,
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe(`schema applied to 127.0.0.1:5432${url.pathname}\n`);
      expect(errorLines(result)).toEqual([
        `recon: role ${plain} cannot run 'recon db init --roles': it needs CREATEROLE (or superuser)`,
      ]);
    } finally {
      await client.query(`DROP SCHEMA ${own} CASCADE`);
      await client.query(`DROP ROLE ${plain}`);
    }
  });

  it('runs --engine postgres as the app role with the same results and digest as the memory engine', async () => {
    const memory = await runCli(runArgs(reports, '--json'), appEnv);
    expect(errorLines(memory)).toEqual([]);
    expect(memory.code).toBe(0);
    const postgres = await runCli(runArgs(reports, '--json', '--engine', 'postgres'), appEnv);
    expect(errorLines(postgres)).toEqual([]);
    expect(postgres.code).toBe(0);
    const [m] = jsonLines(memory.stdout);
    const [p] = jsonLines(postgres.stdout);
    const pick = (run: Record<string, unknown> | undefined) => ({
      counts: run?.counts,
      discrepancy_count: run?.discrepancy_count,
      discrepancy_amounts: run?.discrepancy_amounts,
      risk_level: run?.risk_level,
    });
    expect(pick(p)).toEqual(pick(m));
    expect(m?.audit_head).toMatch(HEX64);
    expect(p?.audit_head).toMatch(HEX64);
    const entries = await client.query<{ run_id: string; entry_hash: string; results: unknown }>(
      `SELECT run_id::text, entry_hash, details->'results' AS results FROM audit_log
        WHERE event = 'run_completed' ORDER BY seq`,
    );
    expect(entries.rows.map((e) => [e.run_id, e.entry_hash])).toEqual([
      [m?.run_id, m?.audit_head],
      [p?.run_id, p?.audit_head],
    ]);
    const [first, second] = entries.rows;
    expect(first?.results).toEqual(second?.results);
    // The sample day's stripe run, identical on both engines (and on PGlite, below).
    expect(first?.results).toEqual(SAMPLE_STRIPE_RESULTS);
    expect(postgres.stdout).not.toContain('"audit_head":null');
    const text = await runCli(runArgs(reports, '--engine', 'postgres'), appEnv);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ {2}run [0-9a-f-]{36}, audit head [0-9a-f]{64}\n/);
    const verify = await runCli(['db', 'verify-audit'], appEnv);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      /^audit log intact: \d+ chained entries, head [0-9a-f]{64}; 3 completed runs match their audit entries\n$/,
    );
  });

  it('refuses the app role rewriting a completed run or its discrepancies', async () => {
    const runId = await completedRun();
    await expect(
      appClient.query(
        `UPDATE reconciliation_runs SET discrepancy_count = 0, risk_level = 'LOW' WHERE id = $1`,
        [runId],
      ),
    ).rejects.toThrow(/permission denied/);
    for (const sql of [
      `UPDATE discrepancies SET amount_minor = 0 WHERE run_id = $1`,
      `DELETE FROM discrepancies WHERE run_id = $1`,
      `UPDATE data_quality_checks SET reason = 'x' WHERE run_id = $1`,
      `DELETE FROM data_quality_checks WHERE run_id = $1`,
    ]) {
      await expect(appClient.query(sql, [runId])).rejects.toThrow(/permission denied/);
    }
    await expect(
      appClient.query(`UPDATE reconciliation_runs SET status = 'failed' WHERE id = $1`, [runId]),
    ).rejects.toThrow(/permission denied/);
    const verify = await runCli(['db', 'verify-audit'], appEnv);
    expect(verify.code).toBe(0);
  });

  it('detects the owner rewriting a completed run: exit 6, one line naming the run and the column', async () => {
    const runId = await completedRun();
    const before = await client.query<{ discrepancy_count: number; risk_level: string }>(
      `SELECT discrepancy_count, risk_level FROM reconciliation_runs WHERE id = $1`,
      [runId],
    );
    const original = before.rows[0];
    await asOwnerWithoutTrigger(
      'reconciliation_runs',
      'reconciliation_runs_results_final',
      `UPDATE reconciliation_runs SET discrepancy_count = 0, risk_level = 'LOW' WHERE id = '${runId}'`,
    );
    const verify = await runCli(['db', 'verify-audit'], appEnv);
    expect(verify.code).toBe(6);
    expect(errorLines(verify)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^recon: run ${runId} \\(stripe ${DATE}\\) differs from its run_completed audit entry \\(seq \\d+\\): discrepancy_count is 0, recorded ${original?.discrepancy_count}$`,
        ),
      ),
    ]);
    await asOwnerWithoutTrigger(
      'reconciliation_runs',
      'reconciliation_runs_results_final',
      `UPDATE reconciliation_runs SET discrepancy_count = ${original?.discrepancy_count}, risk_level = '${original?.risk_level}' WHERE id = '${runId}'`,
    );
    expect((await runCli(['db', 'verify-audit'], appEnv)).code).toBe(0);
  });

  it('detects a discrepancy row edited by the owner: exit 6 naming the run', async () => {
    const runId = await completedRun();
    await client.query(
      `UPDATE discrepancies SET amount_minor = amount_minor + 1
        WHERE id = (SELECT id FROM discrepancies WHERE run_id = $1 ORDER BY transaction_id LIMIT 1)`,
      [runId],
    );
    const verify = await runCli(['db', 'verify-audit', '--json'], appEnv);
    expect(verify.code).toBe(6);
    const [report] = jsonLines(verify.stdout);
    expect(report?.broken_run_id).toBe(runId);
    expect(report?.problem).toMatch(
      new RegExp(
        `^run ${runId} \\(stripe ${DATE}\\) differs from its run_completed audit entry \\(seq \\d+\\): discrepancies_sha256 is [0-9a-f]{64}, recorded [0-9a-f]{64}$`,
      ),
    );
    await client.query(
      `UPDATE discrepancies SET amount_minor = amount_minor - 1
        WHERE id = (SELECT id FROM discrepancies WHERE run_id = $1 ORDER BY transaction_id LIMIT 1)`,
      [runId],
    );
    expect((await runCli(['db', 'verify-audit'], appEnv)).code).toBe(0);
  });

  it.each([
    ['annotation', `annotation = 'edited'`],
    ['matching tier', `tier = 'amount_and_date'`],
    ['business date', `processor_business_date = DATE '1999-01-01'`],
    ['candidates', `candidates = '["pi_other"]'::jsonb`],
  ])("detects a discrepancy's %s edited by the owner: exit 6 naming the run", async (_, change) => {
    const runId = await completedRun();
    const pick = `id = (SELECT id FROM discrepancies WHERE run_id = $1 ORDER BY transaction_id LIMIT 1)`;
    const [before] = (
      await client.query<{ row: string }>(
        `SELECT row_to_json(d)::text AS row FROM discrepancies d WHERE ${pick}`,
        [runId],
      )
    ).rows;
    await client.query(`UPDATE discrepancies SET ${change} WHERE ${pick}`, [runId]);
    const verify = await runCli(['db', 'verify-audit', '--json'], appEnv);
    expect(verify.code).toBe(6);
    const [report] = jsonLines(verify.stdout);
    expect(report?.problem).toMatch(
      new RegExp(
        `^run ${runId} \\(stripe ${DATE}\\) differs from its run_completed audit entry \\(seq \\d+\\): discrepancy_details_sha256 is [0-9a-f]{64}, recorded [0-9a-f]{64}$`,
      ),
    );
    await client.query(
      `UPDATE discrepancies d SET (processor_business_date, tier, candidates, annotation) =
           (SELECT o.processor_business_date, o.tier, o.candidates, o.annotation
              FROM json_populate_record(NULL::discrepancies, $2::json) o)
          WHERE d.${pick}`,
      [runId, before?.row ?? '{}'],
    );
    expect((await runCli(['db', 'verify-audit'], appEnv)).code).toBe(0);
  });

  it('cannot see a deleted newest entry by itself, but --expect-head can', async () => {
    // The newest entry vouches for no run (a run_completed entry is missed by its run's check).
    await appClient.query(`INSERT INTO audit_log (event, details) VALUES ('operator_note', '{}')`);
    const head = await client.query<{ entry_hash: string }>(
      `SELECT entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1`,
    );
    const hash = head.rows[0]?.entry_hash ?? '';
    const anchored = await runCli(['db', 'verify-audit', '--expect-head', hash], appEnv);
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toContain(`head ${hash} (as expected)`);
    await asOwnerWithoutTrigger(
      'audit_log',
      'audit_log_no_update_delete',
      `DELETE FROM audit_log WHERE entry_hash = '${hash}'`,
    );
    const plain = await runCli(['db', 'verify-audit'], appEnv);
    expect(plain.code).toBe(0); // the documented limit
    expect(plain.stdout).not.toContain(hash);
    const expect6 = await runCli(['db', 'verify-audit', '--expect-head', hash], appEnv);
    expect(expect6.code).toBe(6);
    expect(errorLines(expect6)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^recon: audit log broken: the expected head ${hash} is not in the audit log \\(its newest entry is \\d+, [0-9a-f]{64}\\): newer entries were deleted or the chain was rewritten$`,
        ),
      ),
    ]);
    // A deleted newest entry that vouches for a run is seen by the run's check, anchor or not.
    const newest = await client.query<{ run_id: string; event: string; entry_hash: string }>(
      `SELECT run_id::text, event, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1`,
    );
    expect(newest.rows[0]?.event).toBe('run_completed');
    await asOwnerWithoutTrigger(
      'audit_log',
      'audit_log_no_update_delete',
      `DELETE FROM audit_log WHERE entry_hash = '${newest.rows[0]?.entry_hash ?? ''}'`,
    );
    const orphan = await runCli(['db', 'verify-audit'], appEnv);
    expect(orphan.code).toBe(6);
    expect(errorLines(orphan)).toEqual([
      `recon: run ${newest.rows[0]?.run_id ?? ''} (stripe ${DATE}) is completed but has no run_completed audit entry`,
    ]);
    const bad = await runCli(['db', 'verify-audit', '--expect-head', 'abc'], appEnv);
    expect(bad.code).toBe(2);
    expect(errorLines(bad)).toEqual([
      "recon: --expect-head must be a SHA-256 hash (64 hex digits), got 'abc'",
    ]);
  });

  it('upgrades a database created by schema version 3 (db init), keeping old runs verifiable as legacy', async () => {
    const old = await createTestSchema('recon_faults_v3');
    const c = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${old}`,
    });
    await c.connect();
    try {
      await c.query(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v3.sql'), 'utf8'));
      const run = await c.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ($1, 'stripe') RETURNING id::text`,
        [DATE],
      );
      const oldId = run.rows[0]?.id ?? '';
      await c.query(
        `UPDATE reconciliation_runs SET status = 'completed', end_time = now(), discrepancy_count = 3 WHERE id = $1`,
        [oldId],
      );
      await c.query(
        `INSERT INTO audit_log (run_id, event, details) VALUES ($1, 'run_completed', '{"discrepancies":3}')`,
        [oldId],
      );
      const env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: old };
      expect((await runCli(['db', 'verify-audit'], env)).code).toBe(2); // asks for db init
      const init = await runCli(['db', 'init'], env);
      expect(errorLines(init)).toEqual([]);
      expect(init.code).toBe(0);
      const version = await c.query<{ value: string }>(
        `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
      );
      expect(version.rows).toEqual([{ value: '8' }]);
      const verify = await runCli(['db', 'verify-audit', '--json'], env);
      expect(verify.code).toBe(0);
      expect(jsonLines(verify.stdout)[0]).toEqual({
        entries: expect.any(Number) as number,
        unchained: 0,
        head: { seq: expect.any(Number) as number, hash: expect.stringMatching(HEX64) as string },
        runs_checked: 0,
        runs_unverifiable: 1,
        entries_after_expected_head: null,
        first_broken_seq: null,
        broken: null,
        broken_run_id: null,
        problem: null,
      });
      await expect(
        c.query(`UPDATE reconciliation_runs SET discrepancy_count = 0 WHERE id = $1`, [oldId]),
      ).rejects.toThrow(/permission denied/);
      const rerun = await runCli(
        runArgs(mkdtempSync(join(tmpdir(), 'recon-v3-')), '--engine', 'postgres'),
        env,
      );
      expect(errorLines(rerun)).toEqual([]);
      expect(rerun.code).toBe(0);
      const after = await runCli(['db', 'verify-audit', '--json'], env);
      expect(after.code).toBe(0);
      expect(jsonLines(after.stdout)[0]).toMatchObject({ runs_checked: 1, runs_unverifiable: 1 });
    } finally {
      await c.end();
      await dropTestSchema(old);
    }
  });
});

describe('stored results under tampering, on embedded PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recon-faults-audit-pglite-'));
  const env = { RECON_PGLITE_DIR: join(dir, 'pgdata') };
  const reports = join(dir, 'reports');

  async function withPglite<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await openDatabase({
      kind: 'pglite',
      settings: { dataDir: env.RECON_PGLITE_DIR, lockDir: join(dir, 'locks'), dirLockWaitMs: 5000 },
    });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** As a superuser would: around the trigger that keeps completed results final. */
  function tamper(db: Database, sql: string): Promise<void> {
    return db.withTransaction(async (tx) => {
      await tx.query(
        'ALTER TABLE reconciliation_runs DISABLE TRIGGER reconciliation_runs_results_final',
      );
      await tx.query(sql);
      await tx.query(
        'ALTER TABLE reconciliation_runs ENABLE TRIGGER reconciliation_runs_results_final',
      );
    });
  }

  // Few CLI calls and database opens: each PGlite start costs seconds on a busy machine.
  it('prints the audit head, verifies the run, and detects rewritten counts and discrepancies', async () => {
    const run = await runCli(runArgs(reports, '--json'), env);
    expect(errorLines(run)).toEqual([]);
    expect(run.code).toBe(0);
    const [result] = jsonLines(run.stdout);
    expect(result?.audit_head).toMatch(HEX64);
    const runId = String(result?.run_id);
    const ok = await runCli(
      ['db', 'verify-audit', '--expect-head', String(result?.audit_head)],
      env,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/1 completed run matches its audit entry$/m);

    const recorded = await withPglite(async (db) => {
      const rows = await db.query<{ entry_hash: string; results: unknown }>(
        `SELECT entry_hash, details->'results' AS results FROM audit_log WHERE event = 'run_completed'`,
      );
      await tamper(
        db,
        `UPDATE reconciliation_runs SET risk_level = 'LOW', discrepancy_count = 0 WHERE id = '${runId}'`,
      );
      return rows;
    });
    expect(recorded).toEqual([{ entry_hash: result?.audit_head, results: SAMPLE_STRIPE_RESULTS }]);
    const counts = await runCli(['db', 'verify-audit'], env);
    expect(counts.code).toBe(6);
    expect(errorLines(counts)).toEqual([
      `recon: run ${runId} (stripe ${DATE}) differs from its run_completed audit entry (seq 4): discrepancy_count is 0, recorded 8`,
    ]);

    await withPglite(async (db) => {
      await tamper(
        db,
        `UPDATE reconciliation_runs SET risk_level = 'HIGH', discrepancy_count = 8 WHERE id = '${runId}'`,
      );
      await tamper(
        db,
        `DELETE FROM discrepancies WHERE id = (SELECT id FROM discrepancies WHERE run_id = '${runId}' LIMIT 1)`,
      );
    });
    const rows = await runCli(['db', 'verify-audit'], env);
    expect(rows.code).toBe(6);
    expect(errorLines(rows)).toEqual([
      `recon: run ${runId} (stripe ${DATE}) differs from its run_completed audit entry (seq 4): discrepancy_rows is 7, recorded 8`,
    ]);
  }, 180_000);
});
