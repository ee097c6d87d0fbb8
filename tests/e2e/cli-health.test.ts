import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import S3rver from 's3rver';
import { SMTPServer } from 'smtp-server';
import { runCli } from '../helpers/cli';
import { startFakeStripe, type FakeServer } from '../helpers/fake-apis';

const work = mkdtempSync(join(tmpdir(), 'recon-e2e-health-'));
let s3: S3rver;
let smtp: SMTPServer;
let stripe: FakeServer;
let closedPort = 0;
let env: Record<string, string> = {};

interface HealthLine {
  component: string;
  status: string;
  detail: string;
}

beforeAll(async () => {
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(work, 's3'),
    configureBuckets: [{ name: 'reports', configs: [] }],
  });
  const s3Address = (await s3.run()) as { port: number };
  smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'] });
  await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
  stripe = await startFakeStripe({ apiKey: 'sk_test_health', transactions: [] });
  const probe: Server = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((done) => probe.close(() => done()));
  env = {
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
    AWS_S3_BUCKET_NAME: 'reports',
    AWS_S3_ENDPOINT: `http://127.0.0.1:${s3Address.port}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SMTP_SERVER: '127.0.0.1',
    SMTP_PORT: String((smtp.server.address() as { port: number }).port),
    OPERATIONS_EMAIL: 'ops@example.com',
    SMTP_CONNECT_TIMEOUT_MS: '1000',
    STRIPE_API_KEY: 'sk_test_health',
    STRIPE_API_BASE_URL: stripe.baseUrl,
  };
});

afterAll(async () => {
  await stripe.close();
  await new Promise<void>((done) => smtp.close(() => done()));
  await s3.close();
});

describe('recon health', () => {
  it('reports every configured dependency up and exits 0', async () => {
    const result = await runCli(['health', '--json'], env);
    expect(result.code).toBe(0);
    const lines = JSON.parse(result.stdout) as HealthLine[];
    expect(lines.map((l) => [l.component, l.status])).toEqual([
      ['database', 'up'],
      ['s3', 'up'],
      ['smtp', 'up'],
      ['api:stripe', 'up'],
      ['api:paypal', 'skipped'],
      ['api:square', 'skipped'],
      ['api:ledger', 'skipped'],
    ]);
    const table = await runCli(['health'], env);
    expect(table.stdout).toMatch(/^component\s+status\s+latency_ms\s+detail$/m);
  });

  it('exits 3 when a configured dependency is down or refuses the credentials, and records the checks', async () => {
    const result = await runCli(['health', '--json'], {
      ...env,
      SMTP_PORT: String(closedPort),
      STRIPE_API_KEY: 'sk_test_wrong',
    });
    expect(result.code).toBe(3);
    const lines = JSON.parse(result.stdout) as HealthLine[];
    expect(lines.find((l) => l.component === 'smtp')?.status).toBe('down');
    expect(lines.find((l) => l.component === 'api:stripe')).toMatchObject({ status: 'down' });
    expect(lines.find((l) => l.component === 'api:stripe')?.detail).toContain('HTTP 401');
    expect(result.stdout).not.toContain('sk_test_wrong');
    const db = await PGlite.create(env.RECON_PGLITE_DIR);
    try {
      const rows = await db.query<{ component: string; status: string }>(
        `SELECT component, status FROM system_health WHERE component IN ('smtp', 'database') ORDER BY checked_at, component`,
      );
      // Three rounds so far (json, table, this one): database always up, smtp down only now.
      expect(rows.rows.filter((r) => r.component === 'database').map((r) => r.status)).toEqual([
        'up',
        'up',
        'up',
      ]);
      expect(rows.rows.filter((r) => r.component === 'smtp').map((r) => r.status)).toEqual([
        'up',
        'up',
        'down',
      ]);
    } finally {
      await db.close();
    }
  });

  it('--liveness checks only the database: S3, SMTP and APIs are not called, nothing is recorded', async () => {
    const dir = join(work, 'liveness', 'pgdata');
    const result = await runCli(['health', '--liveness', '--json'], {
      ...env,
      RECON_PGLITE_DIR: dir,
      SMTP_PORT: String(closedPort),
      STRIPE_API_KEY: 'sk_test_wrong',
    });
    expect(result.code).toBe(0);
    const lines = JSON.parse(result.stdout) as HealthLine[];
    expect(lines.map((l) => [l.component, l.status])).toEqual([['database', 'up']]);
    const db = await PGlite.create(dir);
    try {
      expect((await db.query('SELECT * FROM system_health')).rows).toEqual([]);
    } finally {
      await db.close();
    }
    const down = await runCli(['health', '--liveness'], {
      DATABASE_URL: `postgres://x:y@127.0.0.1:${closedPort}/db`,
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(down.code).toBe(3);
    expect(down.stdout).toMatch(/^database\s+down\s/m);
  });

  it('deletes health checks older than RECON_HEALTH_RETENTION_DAYS when it records new ones', async () => {
    const dir = join(work, 'retention', 'pgdata');
    const first = await runCli(['health', '--json'], { RECON_PGLITE_DIR: dir });
    expect(first.code).toBe(0);
    const db = await PGlite.create(dir);
    try {
      await db.query(
        `UPDATE system_health SET checked_at = now() - interval '3 days' WHERE component = 'database'`,
      );
    } finally {
      await db.close();
    }
    const second = await runCli(['health', '--json'], {
      RECON_PGLITE_DIR: dir,
      RECON_HEALTH_RETENTION_DAYS: '2',
    });
    expect(second.code).toBe(0);
    const after = await PGlite.create(dir);
    try {
      const rows = await after.query<{ component: string; n: number }>(
        `SELECT component, count(*)::int AS n FROM system_health GROUP BY component ORDER BY component`,
      );
      // The first round's database row (3 days old) is gone; its other rows and the second round stay.
      expect(rows.rows).toEqual([
        { component: 'api:ledger', n: 2 },
        { component: 'api:paypal', n: 2 },
        { component: 'api:square', n: 2 },
        { component: 'api:stripe', n: 2 },
        { component: 'database', n: 1 },
        { component: 's3', n: 2 },
        { component: 'smtp', n: 2 },
      ]);
    } finally {
      await after.close();
    }
  });

  it('exits 3 when the database is unreachable', async () => {
    const result = await runCli(['health', '--json'], {
      DATABASE_URL: `postgres://x:y@127.0.0.1:${closedPort}/db`,
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(result.code).toBe(3);
    expect((JSON.parse(result.stdout) as HealthLine[])[0]).toMatchObject({
      component: 'database',
      status: 'down',
    });
  });
});
