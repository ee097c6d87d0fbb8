import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import S3rver from 's3rver';
import { SMTPServer } from 'smtp-server';
import { defaultRedeliverySince } from '../../src/job/deliver-results';
import { jsonLines, ROOT, runCli, type CliResult } from '../helpers/cli';
import { hasStackTrace, userLines } from '../helpers/faults';

// "Failures must reach someone" (issue #12): results stored, delivery failed exits 7; a retry
// re-delivers (`recon deliver --failed`) instead of re-reconciling; `recon deliver` prints only
// what that call did.
const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-delivery-failures-'));
const samples = join(ROOT, 'data', 'samples');
const received: ParsedMail[] = [];
let smtp: SMTPServer;
let s3: S3rver;
let s3Port = 0;
let livePort = 0;
let deadPort = 0;
let base: Record<string, string> = {};

/** A port nothing listens on: SMTP "down" (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const smtpDown = (): Record<string, string> => ({ ...base, SMTP_PORT: String(deadPort) });
const smtpUp = (): Record<string, string> => ({ ...base, SMTP_PORT: String(livePort) });
const refused = (): string =>
  `e-mail failed: smtp://127.0.0.1:${deadPort}: connect ECONNREFUSED 127.0.0.1:${deadPort}`;

function run(processors: string[], env: Record<string, string>, ...flags: string[]) {
  return runCli(
    [
      'run',
      '--date',
      DATE,
      '--processors',
      ...processors,
      '--data-dir',
      samples,
      '--reports-dir',
      join(work, 'reports'),
      '--json',
      ...flags,
    ],
    env,
  );
}

const runIdsOf = (result: CliResult): string[] =>
  jsonLines(result.stdout).map((line) => String(line.run_id));

async function storedDeliveries(runId: string): Promise<[string, string, string][]> {
  const show = await runCli(['runs', 'show', runId, '--json'], base);
  const shown = JSON.parse(show.stdout) as {
    status: string;
    deliveries: { channel: string; status: string; target: string }[];
  };
  return [
    ['run', shown.status, ''],
    ...shown.deliveries.map((d): [string, string, string] => [d.channel, d.status, d.target]),
  ];
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
  livePort = (smtp.server.address() as { port: number }).port;
  deadPort = await closedPort();
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(work, 's3'),
    configureBuckets: [{ name: 'acme-recon', configs: [] }],
  });
  s3Port = ((await s3.run()) as { port: number }).port;
  base = {
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
    SMTP_SERVER: '127.0.0.1',
    EMAIL_FROM: 'recon@example.com',
    OPERATIONS_EMAIL: 'ops@example.com',
    SMTP_DEADLINE_MS: '10000',
  };
});

afterAll(async () => {
  await new Promise<void>((done) => smtp.close(() => done()));
  await s3.close();
});

describe('a failed delivery reaches someone: exit 7, and a retry re-delivers', () => {
  const since = defaultRedeliverySince(Date.now());
  let owed: string[] = [];

  it('exits 7 when SMTP is down, with the run completed and stored and the failure recorded', async () => {
    const result = await run(['stripe'], smtpDown());
    expect(result.code).toBe(7);
    expect(userLines(result.stderr)).toEqual([`recon: delivery: ${refused()}`]);
    expect(hasStackTrace(result.stderr)).toBe(false);
    const [runId = ''] = runIdsOf(result);
    // The run's own code stays 0: its results are stored; the 7 is the invocation's.
    expect(jsonLines(result.stdout).map((l) => [l.processor, l.status, l.exit_code])).toEqual([
      ['stripe', 'completed', 0],
    ]);
    expect(await storedDeliveries(runId)).toEqual([
      ['run', 'completed', ''],
      ['email', 'failed', 'ops@example.com'],
    ]);
  }, 60_000);

  it('exits 0 for a failed delivery with --allow-delivery-failure or RECON_DELIVERY_FAILURE_EXIT=0', async () => {
    const flag = await run(['stripe'], smtpDown(), '--allow-delivery-failure');
    const setting = await run(['stripe'], { ...smtpDown(), RECON_DELIVERY_FAILURE_EXIT: '0' });
    expect([flag.code, setting.code]).toEqual([0, 0]);
    // Still said: a failure allowed is not a failure hidden.
    expect([userLines(flag.stderr), userLines(setting.stderr)]).toEqual([
      [`recon: delivery: ${refused()}`],
      [`recon: delivery: ${refused()}`],
    ]);
  }, 60_000);

  it('rejects a RECON_DELIVERY_FAILURE_EXIT other than 0 or 7 (exit 2, one line)', async () => {
    const result = await run(['stripe'], { ...smtpDown(), RECON_DELIVERY_FAILURE_EXIT: '3' });
    expect(result.code).toBe(2);
    expect(userLines(result.stderr)).toEqual([
      'recon: RECON_DELIVERY_FAILURE_EXIT must be one of 0, 7, got "3"',
    ]);
  }, 60_000);

  it('accepts --fail-on-delivery-error with one deprecation warning; a failed delivery still exits 7', async () => {
    const result = await run(['stripe', 'square'], smtpDown(), '--fail-on-delivery-error');
    expect(result.code).toBe(7);
    expect(
      result.logs.filter((l) => String(l.msg).includes('deprecated')).map((l) => l.msg),
    ).toEqual([
      '--fail-on-delivery-error is deprecated and has no effect: a failed delivery exits 7 by default (--allow-delivery-failure or RECON_DELIVERY_FAILURE_EXIT=0 for exit 0)',
    ]);
    owed = runIdsOf(result);
    expect(owed).toHaveLength(2);
  }, 60_000);

  it('re-sends a failed re-send with recon deliver --failed and exits 7 while SMTP is still down', async () => {
    const result = await runCli(['deliver', '--failed'], smtpDown());
    expect(result.code).toBe(7);
    expect(result.stdout).toBe(
      `re-sending failed deliveries of 2 runs since ${since}: ${owed.join(', ')}\n` +
        `email failed ops@example.com — connect ECONNREFUSED 127.0.0.1:${deadPort}\n`,
    );
    expect(userLines(result.stderr)).toEqual([`recon: delivery: ${refused()}`]);
  }, 60_000);

  it('re-sends only what failed once SMTP is back (one e-mail for the runs still owed), exits 0, prints only what it did', async () => {
    received.length = 0;
    const result = await runCli(['deliver', '--failed'], smtpUp());
    expect(result.code).toBe(0);
    expect(userLines(result.stderr)).toEqual([]);
    // The runs superseded by the later reruns owe nothing: only the two current runs.
    expect(result.stdout).toBe(
      `re-sending failed deliveries of 2 runs since ${since}: ${owed.join(', ')}\n` +
        'email sent ops@example.com\n',
    );
    expect(received.map((m) => m.subject)).toEqual([
      '[recon] 2025-09-30: 10 new breaks, 10 open (0 > 7 days), 0 resolved',
    ]);
    expect(await storedDeliveries(owed[0] ?? '')).toEqual([
      ['run', 'completed', ''],
      ['email', 'failed', 'ops@example.com'],
      ['email', 'failed', 'ops@example.com'],
      ['email', 'sent', 'ops@example.com'],
    ]);
    const again = await runCli(['deliver', '--failed', '--since', DATE], smtpUp());
    expect([again.code, again.stdout]).toEqual([
      0,
      `nothing to re-send: no failed delivery since ${DATE}\n`,
    ]);
    expect(received).toHaveLength(1);
  }, 60_000);

  it('prints only what recon deliver RUN_ID did now, not the run’s earlier deliveries', async () => {
    received.length = 0;
    const result = await runCli(['deliver', owed[0] ?? '', '--email'], smtpUp());
    expect([result.code, result.stdout]).toEqual([0, 'email sent ops@example.com\n']);
    const down = await runCli(['deliver', owed[0] ?? ''], smtpDown());
    expect([down.code, down.stdout]).toEqual([
      7,
      `email failed ops@example.com — connect ECONNREFUSED 127.0.0.1:${deadPort}\n`,
    ]);
  }, 60_000);

  it('says nothing configured for recon deliver RUN_ID when no channel is configured', async () => {
    received.length = 0;
    const unconfigured = Object.fromEntries(
      Object.entries(smtpUp()).filter(
        ([name]) => !['SMTP_SERVER', 'OPERATIONS_EMAIL'].includes(name),
      ),
    );
    const result = await runCli(['deliver', owed[1] ?? ''], unconfigured);
    expect([result.code, result.stdout, userLines(result.stderr)]).toEqual([
      0,
      'nothing configured\n',
      [],
    ]);
    const failed = await runCli(['deliver', '--failed'], unconfigured);
    expect([failed.code, failed.stdout]).toEqual([0, 'nothing configured\n']);
    expect(received).toHaveLength(0);
  }, 60_000);

  it('needs either a run id or --failed (exit 2, one line)', async () => {
    const results = await Promise.all([
      runCli(['deliver'], smtpUp()),
      runCli(['deliver', owed[0] ?? '', '--failed'], smtpUp()),
      runCli(['deliver', '--failed', '--channel', 'fax'], smtpUp()),
      runCli(['deliver', owed[0] ?? '', '--since', DATE], smtpUp()),
    ]);
    expect(results.map((r) => [r.code, userLines(r.stderr)])).toEqual([
      [2, ['recon: give a run id, or --failed to re-send every failed delivery']],
      [2, ['recon: give either a run id or --failed, not both']],
      [2, ['recon: --channel must be one of s3, email, slack, webhook, amqp, got "fax"']],
      [2, ['recon: --since goes with --failed']],
    ]);
  }, 60_000);
});

describe('recon deliver --failed re-sends only the channel that failed', () => {
  const s3Env = (port: number): Record<string, string> => ({
    ...smtpUp(),
    RECON_PGLITE_DIR: join(work, 'db-s3', 'pgdata'),
    AWS_S3_BUCKET_NAME: 'acme-recon',
    AWS_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_S3_MAX_ATTEMPTS: '1',
  });
  const key = (runId: string, ext: string): string =>
    `reports/${DATE}/paypal/${runId}/reconciliation_report_paypal_${DATE}.${ext}`;
  const openBreaksKey = (runId: string): string =>
    `reports/${DATE}/paypal/${runId}/open_breaks_paypal_${DATE}.csv`;

  it('re-uploads the reports after an S3 outage without sending the e-mail again', async () => {
    received.length = 0;
    const result = await run(['paypal'], s3Env(deadPort));
    expect(result.code).toBe(7);
    const [runId = ''] = runIdsOf(result);
    const s3Error = `connect ECONNREFUSED 127.0.0.1:${deadPort}`;
    expect(userLines(result.stderr)).toEqual([
      `recon: delivery: S3 upload failed: s3://acme-recon/${key(runId, 'csv')}: ${s3Error}`,
      `recon: delivery: S3 upload failed: s3://acme-recon/${key(runId, 'json')}: ${s3Error}`,
      `recon: delivery: S3 upload failed: s3://acme-recon/${openBreaksKey(runId)}: ${s3Error}`,
    ]);
    expect(received).toHaveLength(1);

    received.length = 0;
    const again = await runCli(['deliver', '--failed'], s3Env(s3Port));
    expect([again.code, again.stdout, userLines(again.stderr)]).toEqual([
      0,
      `re-sending failed deliveries of 1 run since ${defaultRedeliverySince(Date.now())}: ${runId}\n` +
        `s3 sent ${key(runId, 'csv')}\n` +
        `s3 sent ${key(runId, 'json')}\n` +
        `s3 sent ${openBreaksKey(runId)}\n`,
      [],
    ]);
    expect(received).toHaveLength(0);
  }, 60_000);
});
