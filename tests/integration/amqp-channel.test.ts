import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '../../src/config/logger';
import type { AmqpSettings } from '../../src/delivery/amqp-channel';
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
import type { RunStore } from '../../src/store/run-store';
import { BROKER, brokerAvailable } from '../helpers/broker';
import { TcpProxy } from '../helpers/tcp-proxy';

const DATE = '2025-09-30';
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'recon-amqp-'));
// An exchange of this test file's own: parallel runs on the same broker do not collide.
const EXCHANGE = `recon.test.${process.pid}.${Math.floor(Math.random() * 1e9)}`;

const logger = {
  child: () => logger,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

const describeBroker = brokerAvailable() ? describe : describe.skip;

describeBroker('AMQP channel against the RabbitMQ broker', () => {
  const proxy = new TcpProxy(BROKER.host, BROKER.port);
  let store: RunStore;
  let runs: DeliverableRun[] = [];
  let consumer: ChannelModel;
  let channel: Channel;
  let queue = '';
  const received: ConsumeMessage[] = [];

  const settings = (port = proxy.listenPort): AmqpSettings => ({
    url: `amqp://${BROKER.user}:${BROKER.password}@127.0.0.1:${port}/`,
    exchange: EXCHANGE,
    routingKeyPrefix: '',
    timeoutMs: 5000,
  });

  const deps = (amqp: AmqpSettings): DeliveryDeps => ({
    objectStore: null,
    mailer: null,
    deliveries: new DeliveryStore(() => store.database()),
    logger,
    now: () => Date.parse('2025-10-01T01:00:00Z'),
    emailOn: 'always',
    attachMaxBytes: 1_000_000,
    presignExpirySeconds: 3600,
    channelSettings: { amqp },
  });

  /** The messages each run must publish, in order: its break events, then run.completed. */
  async function expectedMessages(run: DeliverableRun): Promise<[string, string][]> {
    const facts = await new DeliveryStore(() => store.database()).runFacts(run.runId ?? '', 7);
    return [
      ...(facts?.events ?? []).map((e): [string, string] => [e.type, e.eventId]),
      ['run.completed', `${run.runId ?? ''}:run.completed`],
    ];
  }

  async function waitFor(count: number): Promise<void> {
    const until = Date.now() + 10_000;
    while (received.length < count && Date.now() < until)
      await new Promise((done) => setTimeout(done, 50));
  }

  beforeAll(async () => {
    await proxy.start();
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
    consumer = await connect(
      `amqp://${BROKER.user}:${BROKER.password}@${BROKER.host}:${BROKER.port}/`,
    );
    channel = await consumer.createChannel();
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, EXCHANGE, '#');
    await channel.consume(queue, (message) => {
      if (message) received.push(message);
    });
  }, 90_000);

  afterAll(async () => {
    await channel?.deleteExchange(EXCHANGE).catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await proxy.stop();
    await store?.close();
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('publishes every break event and run.completed, persistent, in order, with confirms', async () => {
    const outcome = await deliverResults(deps(settings()), runs, { s3: false, email: false });
    expect(outcome.attempts.map((a) => [a.channel, a.status, a.error])).toEqual(
      runs.map(() => ['amqp', 'sent', null]),
    );
    const expected = (await Promise.all(runs.map(expectedMessages))).flat();
    await waitFor(expected.length);
    expect(
      received.map((m): [string, string] => [m.fields.routingKey, String(m.properties.messageId)]),
    ).toEqual(expected);
    const first = received[0];
    expect([
      first?.properties.deliveryMode,
      first?.properties.contentType,
      first?.properties.appId,
      first?.properties.type,
      (JSON.parse(first?.content.toString() ?? '{}') as { schema_version: number }).schema_version,
    ]).toEqual([2, 'application/json', 'recon', expected[0]?.[0], 1]);
    const stored = await new DeliveryStore(() => store.database()).list(runs[0]?.runId ?? '');
    expect(stored.map((d) => [d.channel, d.status, d.target])).toEqual([
      ['amqp', 'sent', `amqp://127.0.0.1:${proxy.listenPort}/ exchange ${EXCHANGE}`],
    ]);
  }, 30_000);

  it('fails cleanly when the broker goes away mid-run; recon deliver --channel amqp re-sends', async () => {
    // Calibrated on a full delivery: the connection is cut half-way through the publishes.
    proxy.clientBytes = 0;
    await deliverResults(deps(settings()), runs, { s3: false, email: false });
    const total = proxy.clientBytes;
    const expected = (await Promise.all(runs.map(expectedMessages))).flat();
    await waitFor(expected.length);
    received.length = 0;

    proxy.cutAfterBytes = Math.floor(total / 2);
    const broken = await deliverResults(deps(settings()), runs, { s3: false, email: false });
    proxy.cutAfterBytes = undefined;
    const failed = broken.attempts.filter((a) => a.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const attempt of failed)
      expect(attempt.error).toMatch(
        new RegExp(
          `^amqp://127\\.0\\.0\\.1:${proxy.listenPort}/ exchange ${EXCHANGE.replace(/\./g, '\\.')}: `,
        ),
      );
    expect(JSON.stringify(broken)).not.toContain(`${BROKER.user}:${BROKER.password}@`);
    const failedRuns = failed.flatMap((a) => a.runIds);

    await new Promise((done) => setTimeout(done, 300));
    received.length = 0;
    const resent = await deliverFailed({ ...deps(settings()), runs: store }, '2000-01-01', [
      'amqp',
    ]);
    expect(resent.attempts.map((a) => [a.channel, a.status, a.runIds])).toEqual(
      failedRuns.map((runId) => ['amqp', 'sent', [runId]]),
    );
    const owed = (
      await Promise.all(
        runs.filter((r) => failedRuns.includes(r.runId ?? '')).map(expectedMessages),
      )
    ).flat();
    await waitFor(owed.length);
    expect(
      received.map((m): [string, string] => [m.fields.routingKey, String(m.properties.messageId)]),
    ).toEqual(owed);
  }, 60_000);

  it('fails fast and cleanly when no broker listens', async () => {
    const started = Date.now();
    const outcome = await deliverResults(deps(settings(9)), runs.slice(0, 1), {
      s3: false,
      email: false,
    });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(outcome.failures).toEqual([
      expect.stringMatching(
        /^amqp failed: amqp:\/\/127\.0\.0\.1:9\/ exchange recon\.test\.\d+\.\d+: .*ECONNREFUSED/,
      ),
    ]);
  }, 30_000);
});
