import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../../src/config/logger';
import type { ChannelSettings } from '../../src/delivery/channel';
import type { HttpDeliverySettings } from '../../src/delivery/http-delivery';
import {
  deliverFailed,
  deliverResults,
  toDeliverable,
  type DeliverableRun,
  type DeliveryDeps,
} from '../../src/job/deliver-results';
import { runReconciliation } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { DeliveryStore } from '../../src/store/delivery-store';
import { createRunStore } from '../../src/store/open-store';
import { PgliteDatabase } from '../../src/store/pglite-database';
import type { RunStore } from '../../src/store/run-store';
import { applySchema } from '../../src/store/schema';
import { HttpReceiver } from '../helpers/http-receiver';

const DATE = '2025-09-30';
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'recon-channels-'));
const SECRET = 'whsec_test_secret_0123456789';
const WEBHOOK_TOKEN = 'hook-token-4f1c9a';
const SLACK_TOKEN = 'T0000/B0000/slacktoken9z8y';

const logLines: object[] = [];
const logger = {
  child: () => logger,
  info: (o: object) => logLines.push(o),
  warn: (o: object) => logLines.push(o),
  error: (o: object) => logLines.push(o),
} as unknown as Logger;

const receiver = new HttpReceiver();
let store: RunStore;
let runs: DeliverableRun[] = [];

function http(overrides: Partial<HttpDeliverySettings> = {}): HttpDeliverySettings {
  return {
    requestTimeoutMs: 2000,
    maxAttempts: 3,
    deadlineMs: 10_000,
    retryBaseMs: 10,
    retryMaxMs: 50,
    ...overrides,
  };
}

function deps(channelSettings: ChannelSettings): DeliveryDeps {
  return {
    objectStore: null,
    mailer: null,
    deliveries: new DeliveryStore(() => store.database()),
    logger,
    now: () => Date.parse('2025-10-01T01:00:00Z'),
    emailOn: 'always',
    attachMaxBytes: 1_000_000,
    presignExpirySeconds: 3600,
    channelSettings,
  };
}

const webhookOnly = (overrides: Partial<HttpDeliverySettings> = {}): ChannelSettings => ({
  webhook: { url: receiver.url(`/hooks/${WEBHOOK_TOKEN}`), secret: SECRET, http: http(overrides) },
});

beforeAll(async () => {
  await receiver.start();
  store = createRunStore({
    kind: 'pglite',
    settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 1000 },
  });
  const results = await runReconciliation(
    { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } },
    {
      dates: [DATE],
      processors: ['stripe', 'paypal', 'square'],
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
}, 60_000);

let storeClosed = false;
afterAll(async () => {
  if (!storeClosed) await store.close();
  await receiver.stop();
});

beforeEach(() => receiver.reset());

/** The README's verification recipe, written out: HMAC-SHA256 of "<t>.<raw body>". */
function verifiesAsDocumented(header: string, rawBody: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', SECRET).update(`${match[1]}.${rawBody}`).digest('hex');
  return expected === match[2] && Math.abs(Date.now() / 1000 - Number(match[1])) < 300;
}

async function recorded(runId: string): Promise<[string, string, string, string | null][]> {
  const rows = await new DeliveryStore(() => store.database()).list(runId);
  return rows.map((r) => [r.channel, r.status, r.target, r.error ?? null]);
}

describe('webhook channel', () => {
  it('POSTs one signed, versioned JSON body per run with a stable Idempotency-Key', async () => {
    const outcome = await deliverResults(deps(webhookOnly()), runs, { s3: false, email: false });
    expect(outcome.failures).toEqual([]);
    expect(receiver.requests).toHaveLength(3);
    for (const [index, request] of receiver.requests.entries()) {
      const run = runs[index] as DeliverableRun;
      const body = JSON.parse(request.body) as Record<string, unknown>;
      expect([
        request.path,
        request.headers['content-type'],
        request.headers['idempotency-key'],
        verifiesAsDocumented(String(request.headers['recon-signature']), request.body),
        body.schema_version,
        body.type,
        body.run,
      ]).toEqual([
        `/hooks/${WEBHOOK_TOKEN}`,
        'application/json',
        `recon:${run.runId ?? ''}:webhook:v1`,
        true,
        1,
        'run.completed',
        {
          run_id: run.runId,
          processor: run.processor,
          business_date: DATE,
          status: 'completed',
          error: null,
        },
      ]);
      expect(await recorded(run.runId ?? '')).toEqual([['webhook', 'sent', receiver.origin, null]]);
    }
    const stripe = JSON.parse(receiver.requests[0]?.body ?? '{}') as {
      counts: unknown;
      breaks: { break_id: string | null; amount: string; amount_minor: string }[];
    };
    const facts = await new DeliveryStore(() => store.database()).runFacts(runs[0]?.runId ?? '', 7);
    expect(stripe.counts).toEqual({
      processor_transactions: facts?.summary.processorTransactions,
      internal_transactions: facts?.summary.internalTransactions,
      matched: facts?.summary.matched,
      discrepancies: facts?.summary.discrepancies,
      invalid_rows: facts?.summary.invalidRows,
    });
    expect(stripe.breaks.length).toBe(facts?.summary.discrepancies);
    for (const b of stripe.breaks) {
      expect(b.break_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(b.amount).toMatch(/^-?\d+(\.\d+)?$/);
      expect(b.amount_minor).toMatch(/^-?\d+$/);
    }
  });

  it('retries a 500 with the same body and Idempotency-Key, then succeeds', async () => {
    receiver.mode = { kind: 'fail-first', status: 500 };
    const [run] = runs;
    const outcome = await deliverResults(deps(webhookOnly()), [run as DeliverableRun], {
      s3: false,
      email: false,
    });
    expect(outcome.attempts.map((a) => [a.channel, a.status])).toEqual([['webhook', 'sent']]);
    const [first, second] = receiver.requests;
    expect([
      receiver.requests.length,
      first?.headers['idempotency-key'],
      second?.headers['idempotency-key'],
      first?.body === second?.body,
      verifiesAsDocumented(String(second?.headers['recon-signature']), second?.body ?? ''),
    ]).toEqual([
      2,
      `recon:${run?.runId ?? ''}:webhook:v1`,
      `recon:${run?.runId ?? ''}:webhook:v1`,
      true,
      true,
    ]);
  });

  it('gives up on a stalled receiver within its bounds, fails cleanly and keeps secrets out', async () => {
    receiver.mode = { kind: 'stall' };
    const [run] = runs;
    const started = Date.now();
    const outcome = await deliverResults(
      deps(webhookOnly({ requestTimeoutMs: 300, maxAttempts: 2, deadlineMs: 5000 })),
      [run as DeliverableRun],
      { s3: false, email: false },
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outcome.failures).toEqual([
      `webhook failed: ${receiver.origin}: timed out after 2 attempts`,
    ]);
    const db = await store.database();
    const audit = await db.query<{ details: string }>(
      `SELECT details::text AS details FROM audit_log WHERE event = 'delivery_webhook_failed'`,
    );
    const everything = JSON.stringify([outcome, audit, logLines]);
    for (const secret of [WEBHOOK_TOKEN, SECRET]) expect(everything).not.toContain(secret);
  });
});

describe('Slack channel', () => {
  it('sends one Block Kit message for the invocation, each channel independent of the others', async () => {
    const settings: ChannelSettings = {
      slack: { url: receiver.url(`/services/${SLACK_TOKEN}`), topBreaks: 5, http: http() },
      // A webhook nobody listens to: its failure must not stop Slack.
      webhook: { url: 'http://127.0.0.1:2/hooks/x', http: http({ maxAttempts: 1 }) },
    };
    const outcome = await deliverResults(deps(settings), runs, { s3: false, email: false });
    expect(outcome.attempts.map((a) => [a.channel, a.status, a.runIds.length])).toEqual([
      ['slack', 'sent', 3],
      ['webhook', 'failed', 1],
      ['webhook', 'failed', 1],
      ['webhook', 'failed', 1],
    ]);
    expect(outcome.failures[0]).toBe(
      'webhook failed: http://127.0.0.1:2: fetch failed: connect ECONNREFUSED 127.0.0.1:2 after 1 attempt',
    );
    expect(receiver.requests).toHaveLength(1);
    const message = JSON.parse(receiver.requests[0]?.body ?? '{}') as {
      text: string;
      blocks: { type: string }[];
    };
    expect(message.text).toMatch(/^\[recon\] 2025-09-30: \d+ new breaks, \d+ open, \d+ resolved$/);
    expect(message.blocks.map((b) => b.type)).toEqual([
      'header',
      ...['divider', 'section', 'section', 'section', 'context'],
      ...['divider', 'section', 'section', 'section', 'context'],
      ...['divider', 'section', 'section', 'section', 'context'],
    ]);
    expect(JSON.stringify(outcome)).not.toContain(SLACK_TOKEN);
  });

  it('re-sends only the failed channel with deliverFailed --channel', async () => {
    const broken: ChannelSettings = {
      slack: { url: receiver.url(`/services/${SLACK_TOKEN}`), topBreaks: 5, http: http() },
      webhook: { url: receiver.url('/hooks/x'), http: http({ maxAttempts: 1 }) },
    };
    receiver.mode = { kind: 'always', status: 503 };
    const [run] = runs;
    await deliverResults(deps(broken), [run as DeliverableRun], { s3: false, email: false });
    receiver.reset();
    const outcome = await deliverFailed({ ...deps(broken), runs: store }, '2000-01-01', [
      'webhook',
    ]);
    expect(outcome.attempts.map((a) => [a.channel, a.status])).toEqual(
      runs.map(() => ['webhook', 'sent']),
    );
    expect(receiver.requests.every((r) => r.path === '/hooks/x')).toBe(true);
  });
});

describe('schema upgrade from version 5', () => {
  it('db init widens deliveries.channel on a database created by schema 5', async () => {
    // One embedded database at a time per test file: the sample day's is done with.
    await store.close();
    storeClosed = true;
    const db = await PgliteDatabase.open({
      dataDir: 'memory://',
      lockDir: join(work, 'locks-v5'),
      dirLockWaitMs: 1000,
    });
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v5.sql'), 'utf8'));
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      const insert = (channel: string): Promise<unknown> =>
        db.query(
          `INSERT INTO deliveries (run_id, channel, status, target) VALUES ($1, $2, 'sent', 'x')`,
          [run?.id ?? '', channel],
        );
      await insert('s3');
      await expect(insert('slack')).rejects.toThrow(/deliveries_channel_check/);
      await applySchema(db);
      await applySchema(db);
      for (const channel of ['slack', 'webhook', 'amqp']) await insert(channel);
      await expect(insert('fax')).rejects.toThrow(/deliveries_channel_check/);
      expect([
        await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
        await db.query(`SELECT channel FROM deliveries ORDER BY channel`),
      ]).toEqual([
        [{ value: '8' }],
        [{ channel: 'amqp' }, { channel: 's3' }, { channel: 'slack' }, { channel: 'webhook' }],
      ]);
    } finally {
      await db.close();
    }
  });
});
