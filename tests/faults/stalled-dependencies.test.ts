import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { loadDeliveryConfig } from '../../src/config/delivery-config';
import { DEFAULT_HEALTH_TIMEOUT_MS, loadConfig } from '../../src/config/load-config';
import type { Logger } from '../../src/config/logger';
import { S3ObjectStore, s3RequestHandlerOptions } from '../../src/delivery/object-store';
import { SmtpMailer } from '../../src/delivery/smtp-mailer';
import { DependencyUnavailableError } from '../../src/domain/errors';
import { deliverResults, toDeliverable, type DeliverableRun } from '../../src/job/deliver-results';
import { runReconciliation } from '../../src/job/run-reconciliation';
import { runScheduler } from '../../src/job/scheduler';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { DeliveryStore } from '../../src/store/delivery-store';
import { createRunStore, openDatabase } from '../../src/store/open-store';
import type { RunStore } from '../../src/store/run-store';
import { runCli } from '../helpers/cli';

/*
 * Fault suite: every dependency that accepts a TCP connection and then never says a word (a
 * hung load balancer, a half-dead S3 gateway) must end its step within its deadline with one
 * clear line — never a hang. One listener on 127.0.0.1 plays every dependency.
 */

const DATE = '2025-09-30';
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'recon-faults-stall-'));
/** Upper bound of the whole invocation (issue #11): a stalled dependency ends its step by then. */
const BOUND_MS = 120_000;
/**
 * Slack on top of a configured deadline for a loaded CI machine (timers fire late). Kept below
 * the default timeouts the deadlines under test cut short (10 s and more), so a bound still
 * proves the deadline, not a default, ended the step.
 */
const SLACK_MS = 5_000;

const silentSockets = new Set<Socket>();
let silent: Server;
let silentPort = 0;
let store: RunStore;
let runs: DeliverableRun[] = [];

const logger = {
  child: () => logger,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

beforeAll(async () => {
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
  silentPort = (silent.address() as { port: number }).port;
  store = createRunStore({
    kind: 'pglite',
    settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 1000 },
  });
  const results = await runReconciliation(
    { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } },
    {
      dates: [DATE],
      processors: ['stripe', 'paypal'],
      timeZone: 'UTC',
      sources: {
        processorSource: 'csv',
        internalSource: 'csv',
        dataDir: join(ROOT, 'data/samples'),
      },
      reportsDir: join(work, 'reports'),
      dryRun: false,
      maxInvalidRate: '0.01',
      appVersion: 'test',
    },
  );
  runs = results.map(toDeliverable);
}, 120_000);

afterAll(async () => {
  await store.close();
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((done) => silent.close(() => done()));
});

function deliveryEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    AWS_S3_BUCKET_NAME: 'reports',
    AWS_S3_ENDPOINT: `http://127.0.0.1:${silentPort}`,
    AWS_ACCESS_KEY_ID: 'AKIAFAULTS',
    AWS_SECRET_ACCESS_KEY: 'fault-suite-secret',
    SMTP_SERVER: '127.0.0.1',
    SMTP_PORT: String(silentPort),
    OPERATIONS_EMAIL: 'ops@example.com',
    ...extra,
  };
}

async function deliveryRows(runId: string): Promise<[string, string, string | undefined][]> {
  const rows = await new DeliveryStore(() => store.database()).list(runId);
  return rows.map((r) => [r.channel, r.status, r.error]);
}

describe('defaults bound every network step', () => {
  it('ends a silent dependency within 120 s with default settings, each step on its own', () => {
    const delivery = loadDeliveryConfig(deliveryEnv({}));
    expect(delivery.s3).toMatchObject({
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 30_000,
      maxAttempts: 3,
      deadlineMs: 90_000,
    });
    expect(delivery.smtp).toMatchObject({
      connectionTimeoutMs: 10_000,
      greetingTimeoutMs: 10_000,
      socketTimeoutMs: 30_000,
      deadlineMs: 90_000,
    });
    // All S3 calls of one invocation share one deadline; the e-mail has its own.
    expect(delivery.s3?.deadlineMs).toBeLessThanOrEqual(BOUND_MS);
    expect(delivery.smtp?.deadlineMs).toBeLessThanOrEqual(BOUND_MS);
    // The SDK's request timeout only warns unless asked to throw (@smithy/node-http-handler).
    expect(s3RequestHandlerOptions(delivery.s3 ?? fail('no s3'))).toEqual({
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      socketTimeout: 30_000,
      throwOnRequestTimeout: true,
    });
    // Health: checks run side by side, each bounded; then the results are recorded, bounded again.
    const config = loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' });
    expect(config.healthTimeoutMs).toBe(DEFAULT_HEALTH_TIMEOUT_MS);
    expect(2 * DEFAULT_HEALTH_TIMEOUT_MS).toBeLessThanOrEqual(BOUND_MS);
    // API: a silent API gets no headers; every attempt ends at the connect timeout, plus backoff.
    const http = config.apis.http;
    let worstBackoff = 0;
    for (let attempt = 1; attempt < http.maxAttempts; attempt++) {
      worstBackoff += Math.min(http.retryMaxMs, http.retryBaseMs * 2 ** (attempt - 1));
    }
    expect(http.maxAttempts * http.connectTimeoutMs + worstBackoff).toBeLessThanOrEqual(BOUND_MS);
    // Database: connecting is bounded by DB_CONNECT_TIMEOUT_MS.
    expect(config.database).toMatchObject({ settings: { connectTimeoutMs: 5_000 } });
  });
});

describe('a dependency that accepts connections and never answers', () => {
  it('S3: every upload of the invocation fails within AWS_S3_DEADLINE_MS together, recorded as failed deliveries', async () => {
    const s3 = loadDeliveryConfig(deliveryEnv({ AWS_S3_DEADLINE_MS: '1500' })).s3;
    const objectStore = new S3ObjectStore(s3 ?? fail('no s3'));
    const started = Date.now();
    try {
      const outcome = await deliverResults(
        {
          objectStore,
          mailer: null,
          deliveries: new DeliveryStore(() => store.database()),
          logger,
          now: () => Date.now(),
          emailOn: 'always',
          attachMaxBytes: 1_000_000,
          presignExpirySeconds: 3600,
        },
        runs,
        { s3: true, email: false },
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      expect(elapsed).toBeLessThan(1500 + SLACK_MS);
      const reason = 'S3 did not finish within 1500 ms (AWS_S3_DEADLINE_MS)';
      // The CSV and JSON reports and the open-breaks file of each run.
      const key = (run: (typeof runs)[number], ext: string): string =>
        ext === 'open_breaks'
          ? `reports/${DATE}/${run.processor}/${run.runId}/open_breaks_${run.processor}_${DATE}.csv`
          : `reports/${DATE}/${run.processor}/${run.runId}/reconciliation_report_${run.processor}_${DATE}.${ext}`;
      expect(outcome).toEqual({
        emailSent: false,
        configured: true,
        attempts: runs.flatMap((run) =>
          ['csv', 'json', 'open_breaks'].map((ext) => ({
            channel: 's3',
            status: 'failed',
            target: key(run, ext),
            error: reason,
            runIds: [run.runId],
          })),
        ),
        failures: runs.flatMap((run) =>
          ['csv', 'json', 'open_breaks'].map(
            (ext) => `S3 upload failed: s3://reports/${key(run, ext)}: ${reason}`,
          ),
        ),
      });
      for (const run of runs) {
        expect(await deliveryRows(run.runId ?? '')).toEqual([
          ['s3', 'failed', reason],
          ['s3', 'failed', reason],
          ['s3', 'failed', reason],
        ]);
      }
    } finally {
      objectStore.close();
    }
  }, 60_000);

  it('SMTP: the summary e-mail fails within SMTP_DEADLINE_MS, recorded as a failed delivery of every run', async () => {
    const smtp = loadDeliveryConfig(deliveryEnv({ SMTP_DEADLINE_MS: '1500' })).smtp;
    const started = Date.now();
    const outcome = await deliverResults(
      {
        objectStore: null,
        mailer: new SmtpMailer(smtp ?? fail('no smtp')),
        deliveries: new DeliveryStore(() => store.database()),
        logger,
        now: () => Date.now(),
        emailOn: 'always',
        attachMaxBytes: 1_000_000,
        presignExpirySeconds: 3600,
      },
      runs,
      { s3: false, email: true },
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(1500 + SLACK_MS);
    const reason = 'the SMTP server did not finish within 1500 ms (SMTP_DEADLINE_MS)';
    expect(outcome).toEqual({
      emailSent: false,
      configured: true,
      attempts: [
        {
          channel: 'email',
          status: 'failed',
          target: 'ops@example.com',
          error: reason,
          runIds: runs.map((run) => run.runId),
        },
      ],
      failures: [`e-mail failed: smtp://127.0.0.1:${silentPort}: ${reason}`],
    });
    for (const run of runs) {
      expect((await deliveryRows(run.runId ?? '')).filter(([c]) => c === 'email')).toEqual([
        ['email', 'failed', reason],
      ]);
    }
  }, 60_000);

  it('processor API: the run fails with exit 3 and one line once the connect timeout ends each attempt', async () => {
    const started = Date.now();
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-source',
        'api',
        '--internal-source',
        'csv',
        '--data-dir',
        join(ROOT, 'data/samples'),
        '--reports-dir',
        join(work, 'api-reports'),
        // No database needed: the fetch is the same, and the bound is not blurred by PGlite's start.
        '--dry-run',
      ],
      {
        RECON_PGLITE_DIR: join(work, 'api-db', 'pgdata'),
        STRIPE_API_KEY: 'sk_test_faults',
        STRIPE_API_BASE_URL: `http://127.0.0.1:${silentPort}`,
        HTTP_CONNECT_TIMEOUT_MS: '1000',
        HTTP_MAX_ATTEMPTS: '2',
        HTTP_RETRY_BASE_MS: '100',
        HTTP_RETRY_MAX_MS: '100',
        LOG_LEVEL: 'silent',
      },
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2 * 1000 + 100 + SLACK_MS);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `recon: stripe ${DATE}: stripe API /v1/balance_transactions: no response headers within 1000 ms (gave up after 2 attempts)\n`,
    );
  }, 60_000);

  it('database: connecting fails within DB_CONNECT_TIMEOUT_MS as "unavailable" (exit 3)', async () => {
    const config = loadConfig({
      DATABASE_URL: `postgres://recon@127.0.0.1:${silentPort}/recon`,
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    const started = Date.now();
    const error: unknown = await openDatabase(config.database).then(
      () => fail('connected to a silent port'),
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1000 + SLACK_MS);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe(
      `database 127.0.0.1:${silentPort}/recon is unavailable: Connection terminated due to connection timeout`,
    );
  }, 60_000);

  it('recon health: S3, SMTP and the API end as down within RECON_HEALTH_TIMEOUT_MS, exit 3, one line each', async () => {
    const pgliteDir = join(work, 'health-db', 'pgdata');
    // Initialise the embedded database first, so the health check times only the dependencies.
    await openDatabase({
      kind: 'pglite',
      settings: {
        dataDir: pgliteDir,
        lockDir: join(work, 'health-db', 'locks'),
        dirLockWaitMs: 1000,
      },
    }).then((db) => db.close());
    const started = Date.now();
    const result = await runCli(['health', '--json'], {
      ...(deliveryEnv({}) as Record<string, string>),
      RECON_PGLITE_DIR: pgliteDir,
      STRIPE_API_KEY: 'sk_test_faults',
      STRIPE_API_BASE_URL: `http://127.0.0.1:${silentPort}`,
      RECON_HEALTH_TIMEOUT_MS: '2000',
      // The SDK warns on Node 20 (several lines on stderr) that later versions need Node 22.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    // The process as a whole (start, PGlite) gets more slack; each check's own latency less.
    expect(Date.now() - started).toBeLessThan(2000 + 3 * SLACK_MS);
    expect(result.code).toBe(3);
    const parsed = JSON.parse(result.stdout) as {
      component: string;
      status: string;
      latency_ms: number;
      detail: string;
    }[];
    for (const check of parsed.filter((c) => c.status === 'down')) {
      expect(check.latency_ms).toBeGreaterThanOrEqual(1900);
      expect(check.latency_ms).toBeLessThan(2000 + SLACK_MS);
    }
    const lines = parsed.map(({ component, status, detail }) => ({ component, status, detail }));
    const reason = 'no answer within 2000 ms (RECON_HEALTH_TIMEOUT_MS)';
    expect(lines).toEqual([
      {
        component: 'database',
        status: 'up',
        detail: expect.stringContaining('schema version') as string,
      },
      { component: 's3', status: 'down', detail: reason },
      { component: 'smtp', status: 'down', detail: reason },
      { component: 'api:stripe', status: 'down', detail: reason },
      { component: 'api:paypal', status: 'skipped', detail: 'not configured' },
      { component: 'api:square', status: 'skipped', detail: 'not configured' },
      { component: 'api:ledger', status: 'skipped', detail: 'not configured' },
    ]);
    expect(result.stderr).toBe(
      `recon: health: s3 down: ${reason}\n` +
        `recon: health: smtp down: ${reason}\n` +
        `recon: health: api:stripe down: ${reason}\n`,
    );
    const db = await PGlite.create(pgliteDir);
    try {
      const rows = await db.query<{ component: string; status: string }>(
        `SELECT component, status FROM system_health ORDER BY checked_at`,
      );
      expect(rows.rows.slice(0, 4)).toEqual([
        { component: 'database', status: 'up' },
        { component: 's3', status: 'down' },
        { component: 'smtp', status: 'down' },
        { component: 'api:stripe', status: 'down' },
      ]);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('recon schedule behind a stalled dependency', () => {
  it('skips ticks only while the stalled step lasts, then runs the next one', async () => {
    const smtp = loadDeliveryConfig(deliveryEnv({ SMTP_DEADLINE_MS: '1500' })).smtp;
    const mailer = new SmtpMailer(smtp ?? fail('no smtp'));
    const events: string[] = [];
    const record = (a: unknown, b?: string): void => {
      const message = typeof a === 'string' ? a : (b ?? '');
      const detail = (a as { err_message?: unknown } | null)?.err_message;
      events.push(typeof detail === 'string' ? `${message}: ${detail}` : message);
    };
    const schedulerLogger = {
      child: () => schedulerLogger,
      info: record,
      warn: record,
      error: record,
    } as unknown as Logger;
    const controller = new AbortController();
    let ticks = 0;
    const done = runScheduler({
      expression: '* * * * * *',
      timeZone: 'UTC',
      logger: schedulerLogger,
      abort: controller.signal,
      tick: async () => {
        ticks++;
        if (ticks === 1) {
          // The first night's e-mail meets an SMTP server that never greets.
          await mailer.send({ subject: 's', text: 't', html: '<p>t</p>', attachments: [] });
        }
      },
    });
    const started = Date.now();
    while (ticks < 2 && Date.now() - started < 1500 + 2 * SLACK_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    controller.abort();
    await done;
    expect(ticks).toBeGreaterThanOrEqual(2);
    const interesting = events.filter((e) => e.startsWith('tick'));
    expect(interesting[0]).toBe('tick: starting the nightly run');
    expect(interesting).toContain('tick skipped: the previous run is still going');
    expect(interesting).toContain(
      'tick failed: the SMTP server did not finish within 1500 ms (SMTP_DEADLINE_MS)',
    );
    const failedAt = interesting.indexOf(
      'tick failed: the SMTP server did not finish within 1500 ms (SMTP_DEADLINE_MS)',
    );
    expect(interesting.slice(failedAt + 1)).toContain('tick: starting the nightly run');
  }, 60_000);
});
