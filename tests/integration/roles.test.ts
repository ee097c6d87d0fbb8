import pg from 'pg';
import { openDatabase } from '../../src/store/open-store';
import type { Database } from '../../src/store/database';
import { setUpRoles } from '../../src/store/roles';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const owner = `recon_owner_t${suffix}`;
const app = `recon_app_t${suffix}`;
const password = `pw-${suffix}`;

describeServer('database roles (server only)', () => {
  let schema = '';
  let db: Database;
  let appClient: pg.Client;

  beforeAll(async () => {
    schema = await createTestSchema('recon_roles');
    db = await openDatabase(
      {
        kind: 'postgres',
        settings: {
          connectionString: TEST_DATABASE_URL,
          schema,
          connectTimeoutMs: 5000,
          statementTimeoutMs: 30000,
          poolSize: 2,
        },
      },
      { initialise: true },
    );
    await setUpRoles(db, { owner, app, appPassword: password });
    await setUpRoles(db, { owner, app, appPassword: password }); // idempotent
    const url = new URL(TEST_DATABASE_URL ?? '');
    url.username = app;
    url.password = password;
    appClient = new pg.Client({
      connectionString: url.toString(),
      options: `-c search_path=${schema}`,
    });
    await appClient.connect();
  });

  afterAll(async () => {
    await appClient.end();
    await db.close();
    await dropTestSchema(schema);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    for (const role of [app, owner])
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('lets the app role write runs and audit entries', async () => {
    const run = await appClient.query<{ id: string }>(
      `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-30', 'stripe') RETURNING id::text`,
    );
    await appClient.query(
      `UPDATE reconciliation_runs SET status = 'failed', error_message = 'x' WHERE id = $1`,
      [run.rows[0]?.id],
    );
    await appClient.query(`INSERT INTO audit_log (event) VALUES ('written by the app role')`);
    const rows = await appClient.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE event = 'written by the app role'`,
    );
    expect(rows.rows).toEqual([{ actor: app }]);
  });

  it('lets the app role delete expired health checks (RECON_HEALTH_RETENTION_DAYS), nothing else', async () => {
    await appClient.query(
      `INSERT INTO system_health (component, status, checked_at) VALUES ('database', 'up', now() - interval '40 days')`,
    );
    const deleted = await appClient.query(
      `DELETE FROM system_health WHERE checked_at < now() - 30 * interval '1 day'`,
    );
    expect(deleted.rowCount).toBe(1);
    await expect(appClient.query('DELETE FROM deliveries')).rejects.toThrow(/permission denied/);
  });

  it.each(['UPDATE audit_log SET event = event', 'DELETE FROM audit_log', 'TRUNCATE audit_log'])(
    'refuses the app role: %s',
    async (sql) => {
      await expect(appClient.query(sql)).rejects.toThrow(/permission denied/);
    },
  );

  it('makes the owner role own the tables', async () => {
    const rows = await db.query<{ tableowner: string }>(
      `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = $1`,
      [schema],
    );
    expect(rows).toEqual([{ tableowner: owner }]);
  });
});
