import type { Database } from '../../src/store/database';
import { recordHealthChecks } from '../../src/store/health-store';
import { openDatabase } from '../../src/store/open-store';
import { testBackends } from '../helpers/databases';

if (!process.env.TEST_DATABASE_URL) {
  console.warn('health-store: TEST_DATABASE_URL is unset, so only PGlite is tested (no server)');
}

describe.each(testBackends())('health store on $name', (backend) => {
  let db: Database;

  beforeAll(async () => {
    db = await openDatabase(await backend.config(), { initialise: true });
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  beforeEach(async () => {
    await db.query('DELETE FROM system_health');
  });

  /** A row checked `days` days ago. */
  const oldRow = (component: string, days: number) =>
    db.query(
      `INSERT INTO system_health (component, status, latency_ms, checked_at)
       VALUES ($1, 'up', 1, now() - $2 * interval '1 day')`,
      [component, days],
    );

  const table = () =>
    db.query<{ component: string; status: string; latency_ms: number; details: unknown }>(
      'SELECT component, status, latency_ms, details FROM system_health ORDER BY checked_at, component',
    );

  it('records every result and deletes the rows older than the retention', async () => {
    await oldRow('database', 45);
    await oldRow('s3', 31);
    await oldRow('smtp', 29);
    const deleted = await recordHealthChecks(
      db,
      [
        { component: 'database', status: 'up', latencyMs: 12, detail: 'pglite, schema version 9' },
        { component: 's3', status: 'skipped', latencyMs: 0, detail: 'not configured' },
      ],
      30,
    );
    expect(deleted).toBe(2);
    expect(await table()).toEqual([
      { component: 'smtp', status: 'up', latency_ms: 1, details: {} },
      {
        component: 'database',
        status: 'up',
        latency_ms: 12,
        details: { detail: 'pglite, schema version 9' },
      },
      { component: 's3', status: 'skipped', latency_ms: 0, details: { detail: 'not configured' } },
    ]);
  });

  it('keeps everything within the retention, a day counted exactly', async () => {
    await oldRow('database', 6.9);
    await oldRow('smtp', 7.1);
    const deleted = await recordHealthChecks(db, [], 7);
    expect(deleted).toBe(1);
    expect((await table()).map((r) => r.component)).toEqual(['database']);
  });
});
