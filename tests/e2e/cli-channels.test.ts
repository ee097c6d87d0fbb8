import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { BROKER, brokerAvailable } from '../helpers/broker';
import { jsonLines, ROOT, runCli } from '../helpers/cli';
import { HttpReceiver } from '../helpers/http-receiver';
import { TcpProxy } from '../helpers/tcp-proxy';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-channels-'));
const samples = join(ROOT, 'data', 'samples');
const SECRET = 'whsec_e2e_secret_0123456789';
const HOOK_TOKEN = 'e2e-hook-token-71c2';
const SLACK_TOKEN = 'T0E2E/B0E2E/e2eslacktoken';

interface Delivery {
  channel: string;
  status: string;
  target: string;
  error: string | null;
}

const receiver = new HttpReceiver();
let env: Record<string, string> = {};

const runArgs = (processors: string[], reports: string): string[] => [
  'run',
  '--date',
  DATE,
  '--processors',
  ...processors,
  '--data-dir',
  samples,
  '--reports-dir',
  join(work, reports),
  '--json',
];

async function deliveriesOf(runId: string, cliEnv = env): Promise<[string, string][]> {
  const show = await runCli(['runs', 'show', runId, '--json'], cliEnv);
  return (JSON.parse(show.stdout) as { deliveries: Delivery[] }).deliveries.map((d) => [
    d.channel,
    d.status,
  ]);
}

beforeAll(async () => {
  await receiver.start();
  env = {
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
    SLACK_WEBHOOK_URL: receiver.url(`/services/${SLACK_TOKEN}`),
    RECON_WEBHOOK_URL: receiver.url(`/hooks/${HOOK_TOKEN}`),
    RECON_WEBHOOK_SECRET: SECRET,
    RECON_ALLOW_HTTP_DELIVERY: '1',
    RECON_HTTP_DELIVERY_MAX_ATTEMPTS: '2',
    RECON_HTTP_DELIVERY_TIMEOUT_MS: '2000',
  };
});

afterAll(async () => {
  await receiver.stop();
});

describe('recon run with Slack and a webhook configured (built CLI, sample day)', () => {
  let runIds: string[] = [];

  it('sends one Slack message and one signed webhook per run, and records both', async () => {
    const result = await runCli(runArgs(['stripe', 'square'], 'reports'), env);
    expect([result.code, result.stderr.match(/^recon: .*/gm)]).toEqual([0, null]);
    runIds = jsonLines(result.stdout).map((run) => String(run.run_id));
    const slack = receiver.requests.filter((r) => r.path.startsWith('/services/'));
    const hooks = receiver.requests.filter((r) => r.path.startsWith('/hooks/'));
    expect([slack.length, hooks.map((h) => h.headers['idempotency-key'])]).toEqual([
      1,
      runIds.map((id) => `recon:${id}:webhook:v1`),
    ]);
    for (const hook of hooks) {
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(
        String(hook.headers['recon-signature']),
      ) ?? ['', '', ''];
      expect(createHmac('sha256', SECRET).update(`${t}.${hook.body}`).digest('hex')).toBe(v1);
    }
    const message = JSON.parse(slack[0]?.body ?? '{}') as { text: string };
    expect(message.text).toMatch(/^\[recon\] 2025-09-30: \d+ new breaks, \d+ open, \d+ resolved$/);
    expect(await deliveriesOf(runIds[0] ?? '')).toEqual([
      ['slack', 'sent'],
      ['webhook', 'sent'],
    ]);
    const table = await runCli(['runs', 'list'], env);
    expect(table.stdout).toContain('slack sent, webhook sent');
    for (const secret of [SECRET, HOOK_TOKEN, SLACK_TOKEN])
      expect(result.stdout + result.stderr + table.stdout).not.toContain(secret);
  }, 120_000);

  it('exits 7 when the webhook receiver fails, and recon deliver --failed --channel webhook re-sends it', async () => {
    receiver.reset();
    receiver.mode = { kind: 'always', status: 503 };
    const result = await runCli(runArgs(['paypal'], 'reports'), env);
    expect(result.code).toBe(7);
    expect(result.stderr.match(/^recon: .*/gm)).toEqual([
      `recon: delivery: slack failed: ${receiver.origin}: HTTP 503: internal_error after 2 attempts`,
      `recon: delivery: webhook failed: ${receiver.origin}: HTTP 503: internal_error after 2 attempts`,
    ]);
    const [run] = jsonLines(result.stdout);
    const runId = String(run?.run_id);
    receiver.reset();
    const resent = await runCli(['deliver', '--failed', '--channel', 'webhook'], env);
    expect([resent.code, resent.stdout]).toEqual([
      0,
      `re-sending failed deliveries of 1 run since ${resent.stdout.match(/since (\d{4}-\d\d-\d\d)/)?.[1] ?? ''}: ${runId}\nwebhook sent ${receiver.origin}\n`,
    ]);
    expect(receiver.requests.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
      [`/hooks/${HOOK_TOKEN}`, `recon:${runId}:webhook:v1`],
    ]);
    // Slack is still owed: only the channel asked for was re-sent.
    expect(await deliveriesOf(runId)).toEqual([
      ['slack', 'failed'],
      ['webhook', 'failed'],
      ['webhook', 'sent'],
    ]);
    const slack = await runCli(['deliver', runId, '--channel', 'slack'], env);
    expect([slack.code, slack.stdout]).toEqual([0, `slack sent ${receiver.origin}\n`]);
    const unconfigured = await runCli(['deliver', runId, '--channel', 'amqp'], env);
    expect([unconfigured.code, unconfigured.stderr.match(/^recon: .*/gm)]).toEqual([
      2,
      ['recon: amqp is not configured: set RECON_AMQP_URL'],
    ]);
  }, 120_000);
});

const describeBroker = brokerAvailable() ? describe : describe.skip;

describeBroker('recon run with the message broker configured (built CLI, sample day)', () => {
  const proxy = new TcpProxy(BROKER.host, BROKER.port);
  const exchange = `recon.e2e.${process.pid}.${Math.floor(Math.random() * 1e9)}`;
  const received: ConsumeMessage[] = [];
  let consumer: ChannelModel;
  let channel: Channel;
  let brokerEnv: Record<string, string> = {};

  beforeAll(async () => {
    await proxy.start();
    consumer = await connect(
      `amqp://${BROKER.user}:${BROKER.password}@${BROKER.host}:${BROKER.port}/`,
    );
    channel = await consumer.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(queue, (m) => {
      if (m) received.push(m);
    });
    brokerEnv = {
      RECON_PGLITE_DIR: join(work, 'db-amqp', 'pgdata'),
      RECON_AMQP_URL: `amqp://${BROKER.user}:${BROKER.password}@127.0.0.1:${proxy.listenPort}/`,
      RECON_AMQP_EXCHANGE: exchange,
      RECON_AMQP_TIMEOUT_MS: '5000',
    };
  });

  afterAll(async () => {
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await proxy.stop();
  });

  it('fails cleanly when the broker goes away mid-delivery (exit 7); recon deliver --channel amqp re-sends', async () => {
    // The connection is dropped after the handshake, while the messages are being published.
    proxy.cutAfterBytes = 1500;
    const result = await runCli(runArgs(['stripe'], 'reports-amqp'), brokerEnv);
    expect(result.code).toBe(7);
    expect(result.stderr.match(/^recon: .*/gm)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^recon: delivery: amqp failed: amqp://127\\.0\\.0\\.1:${proxy.listenPort}/ exchange ${exchange.replace(/\./g, '\\.')}: `,
        ),
      ),
    ]);
    const runId = String(jsonLines(result.stdout)[0]?.run_id);
    proxy.cutAfterBytes = undefined;
    await new Promise((done) => setTimeout(done, 300));
    received.length = 0;
    const resent = await runCli(['deliver', runId, '--channel', 'amqp'], brokerEnv);
    expect([resent.code, resent.stdout]).toEqual([
      0,
      `amqp sent amqp://127.0.0.1:${proxy.listenPort}/ exchange ${exchange}\n`,
    ]);
    const until = Date.now() + 10_000;
    while (!received.some((m) => m.fields.routingKey === 'run.completed') && Date.now() < until)
      await new Promise((done) => setTimeout(done, 50));
    const keys = received.map((m) => m.fields.routingKey);
    expect(keys.at(-1)).toBe('run.completed');
    expect(keys.slice(0, -1).every((k) => k.startsWith('break.'))).toBe(true);
    expect(keys.length).toBeGreaterThan(1);
    expect(received.at(-1)?.properties.messageId).toBe(`${runId}:run.completed`);
    expect(await deliveriesOf(runId, brokerEnv)).toEqual([
      ['amqp', 'failed'],
      ['amqp', 'sent'],
    ]);
    expect(result.stderr + resent.stdout).not.toContain(`${BROKER.user}:${BROKER.password}@`);
  }, 120_000);
});
