import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import S3rver from 's3rver';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../../src/config/logger';
import { reportObjectKey, S3ObjectStore, type S3Settings } from '../../src/delivery/object-store';
import { SmtpMailer, type SmtpSettings } from '../../src/delivery/smtp-mailer';
import {
  deliverResults,
  toDeliverable,
  openBreaksObjectKey,
  payoutsObjectKey,
  storedRunDeliverable,
  type DeliverableRun,
  type DeliveryDeps,
} from '../../src/job/deliver-results';
import { matchTransactions } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import { runReconciliation, type RunRequest } from '../../src/job/run-reconciliation';
import { writeReports } from '../../src/reports/write-reports';
import { DeliveryStore } from '../../src/store/delivery-store';
import { createRunStore } from '../../src/store/open-store';
import type { RunStore } from '../../src/store/run-store';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { bankCredit, settlementOf, stripeNight } from '../unit/support/settlement-fixture';

const DATE = '2025-09-30';
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'recon-delivery-'));
const BUCKET = 'recon-reports';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const NAUGHTY = (
  JSON.parse(
    readFileSync(join(ROOT, 'tests/fixtures/naughty-strings/blns.json'), 'utf8'),
  ) as string[]
).filter((s) => /[<>&"']/.test(s));

const logLines: object[] = [];
const logger = {
  child: () => logger,
  info: (o: object) => logLines.push(o),
  warn: (o: object) => logLines.push(o),
  error: (o: object) => logLines.push(o),
} as unknown as Logger;

interface SmtpBehaviour {
  mode: 'accept' | 'refuse-recipient' | 'reject-auth' | 'stall';
}
const smtpBehaviour: SmtpBehaviour = { mode: 'accept' };
const received: ParsedMail[] = [];
let smtp: SMTPServer;
let smtpPort = 0;
let stallServer: Server;
let stallPort = 0;
let s3: S3rver;
let s3Endpoint = '';
let store: RunStore;

function s3Settings(overrides: Partial<S3Settings> = {}): S3Settings {
  return {
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: s3Endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    serverSideEncryption: 'AES256',
    presignExpirySeconds: 3600,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 3000,
    maxAttempts: 2,
    // Three files per run (CSV, JSON, open breaks) for every run of the invocation, one deadline.
    deadlineMs: 30_000,
    ...overrides,
  };
}

function smtpSettings(overrides: Partial<SmtpSettings> = {}): SmtpSettings {
  return {
    host: '127.0.0.1',
    port: smtpPort,
    secure: false,
    user: 'recon',
    password: 'smtp-secret-pw',
    from: 'recon@example.com',
    to: ['ops@example.com', 'finance@example.com'],
    connectionTimeoutMs: 1000,
    greetingTimeoutMs: 1000,
    socketTimeoutMs: 2000,
    deadlineMs: 10_000,
    ...overrides,
  };
}

function deps(overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  return {
    objectStore: new S3ObjectStore(s3Settings()),
    mailer: new SmtpMailer(smtpSettings()),
    deliveries: new DeliveryStore(() => store.database()),
    logger,
    now: () => Date.parse('2025-10-01T01:00:00Z'),
    emailOn: 'always',
    attachMaxBytes: 1_000_000,
    presignExpirySeconds: 3600,
    ...overrides,
  };
}

let runs: DeliverableRun[] = [];

async function reconcileSampleDay(): Promise<DeliverableRun[]> {
  const request: RunRequest = {
    dates: [DATE],
    processors: ['stripe', 'paypal', 'square'],
    timeZone: 'UTC',
    sources: { processorSource: 'csv', internalSource: 'csv', dataDir: join(ROOT, 'data/samples') },
    reportsDir: join(work, `reports-${Math.random()}`),
    dryRun: false,
    maxInvalidRate: '0.01',
    appVersion: 'test',
  };
  const results = await runReconciliation(
    { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } },
    request,
  );
  return results.map(toDeliverable);
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, callback) {
      if (smtpBehaviour.mode === 'reject-auth' || auth.password !== 'smtp-secret-pw') {
        callback(new Error('Invalid username or password'));
        return;
      }
      callback(null, { user: auth.username });
    },
    onRcptTo(_address, _session, callback) {
      if (smtpBehaviour.mode === 'refuse-recipient') {
        const error = new Error('Mailbox unavailable') as Error & { responseCode: number };
        error.responseCode = 550;
        callback(error);
        return;
      }
      callback();
    },
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
  smtpPort = (smtp.server.address() as { port: number }).port;
  // A server that accepts TCP connections and never says hello.
  stallServer = createServer(() => undefined);
  await new Promise<void>((done) => stallServer.listen(0, '127.0.0.1', done));
  stallPort = (stallServer.address() as { port: number }).port;

  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(work, 's3'),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const address = (await s3.run()) as { port: number };
  s3Endpoint = `http://127.0.0.1:${address.port}`;

  store = createRunStore({
    kind: 'pglite',
    settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 1000 },
  });
  runs = await reconcileSampleDay();
});

afterAll(async () => {
  await store.close();
  await new Promise<void>((done) => smtp.close(() => done()));
  await new Promise<void>((done) => stallServer.close(() => done()));
  await s3.close();
});

beforeEach(() => {
  smtpBehaviour.mode = 'accept';
  received.length = 0;
});

describe('report archival in S3', () => {
  it('uploads both reports of every run under its run id, encrypted, with working presigned links', async () => {
    const outcome = await deliverResults(deps({ mailer: null }), runs, { s3: true, email: false });
    expect(outcome.failures).toEqual([]);
    const delivered = new DeliveryStore(() => store.database());
    for (const run of runs) {
      const rows = await delivered.list(run.runId ?? '');
      expect(rows.map((r) => [r.channel, r.status, r.target])).toEqual([
        ['s3', 'sent', reportObjectKey(DATE, run.processor, run.runId ?? '', 'csv')],
        ['s3', 'sent', reportObjectKey(DATE, run.processor, run.runId ?? '', 'json')],
        ['s3', 'sent', openBreaksObjectKey(DATE, run.processor, run.runId ?? '')],
      ]);
      expect(openBreaksObjectKey(DATE, run.processor, run.runId ?? '')).toBe(
        `reports/${DATE}/${run.processor}/${run.runId ?? ''}/open_breaks_${run.processor}_${DATE}.csv`,
      );
      const openUrl = rows[2]?.url ?? '';
      const openDownload = await fetch(openUrl);
      expect(Buffer.from(await openDownload.arrayBuffer())).toEqual(
        readFileSync(run.openBreaksPath ?? ''),
      );
      const csvUrl = rows[0]?.url ?? '';
      expect(csvUrl).toContain('X-Amz-Signature=');
      const download = await fetch(csvUrl);
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer())).toEqual(
        readFileSync(run.reportCsvPath ?? ''),
      );
      expect(rows[0]?.urlExpiresAt).toBe('2025-10-01T02:00:00Z');
    }
    const stored = await store.getRun(runs[0]?.runId ?? '');
    expect(stored?.status).toBe('completed');
    const storage = await (
      await store.database()
    ).query<{ storage: string }>('SELECT storage FROM reconciliation_runs WHERE id = $1', [
      runs[0]?.runId ?? '',
    ]);
    expect(storage).toEqual([{ storage: 's3' }]);
  });

  it('sends the server-side encryption header and the content type on every upload', async () => {
    // s3rver does not keep SSE headers, so look at the requests on their way through a proxy.
    const seen: Record<string, string | string[] | undefined>[] = [];
    const proxy = createHttpServer((req, res) => {
      seen.push({ method: req.method, ...req.headers });
      const upstream = httpRequest(
        `${s3Endpoint}${req.url ?? ''}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const port = (proxy.address() as { port: number }).port;
    try {
      const store = new S3ObjectStore(s3Settings({ endpoint: `http://127.0.0.1:${port}` }));
      await store.put('reports/probe/object.json', Buffer.from('{}'), 'application/json');
      store.close();
      const put = seen.find((h) => h.method === 'PUT');
      expect(put?.['x-amz-server-side-encryption']).toBe('AES256');
      expect(put?.['content-type']).toBe('application/json');
    } finally {
      await new Promise<void>((done) => proxy.close(() => done()));
    }
  });

  it('never overwrites an earlier run: a rerun lands under its own keys', async () => {
    const rerun = await reconcileSampleDay();
    await deliverResults(deps({ mailer: null }), rerun, { s3: true, email: false });
    const first = await fetch(
      (await new DeliveryStore(() => store.database()).list(runs[0]?.runId ?? ''))[0]?.url ?? '',
    );
    expect(Buffer.from(await first.arrayBuffer())).toEqual(
      readFileSync(runs[0]?.reportCsvPath ?? ''),
    );
    expect(rerun[0]?.runId).not.toBe(runs[0]?.runId);
    runs = rerun;
  });

  it('keeps the reports local and records the failure when S3 is down; the run stays completed', async () => {
    const down = new S3ObjectStore(s3Settings({ endpoint: `http://127.0.0.1:${stallPort + 1}` }));
    const outcome = await deliverResults(
      deps({ objectStore: down, mailer: null }),
      runs.slice(0, 1),
      { s3: true, email: false },
    );
    // The CSV, the JSON and the open-breaks file.
    expect(outcome.failures).toHaveLength(3);
    expect(outcome.failures[0]).toMatch(
      /^S3 upload failed: s3:\/\/recon-reports\/reports\/2025-09-30\/stripe\//,
    );
    const rows = await new DeliveryStore(() => store.database()).list(runs[0]?.runId ?? '');
    expect(rows.filter((r) => r.status === 'failed').map((r) => r.channel)).toEqual([
      's3',
      's3',
      's3',
    ]);
    expect((await store.getRun(runs[0]?.runId ?? ''))?.status).toBe('completed');
    const audit = await (
      await store.database()
    ).query<{ event: string }>(
      `SELECT event FROM audit_log WHERE run_id = $1 AND event LIKE 'delivery_%' ORDER BY occurred_at`,
      [runs[0]?.runId ?? ''],
    );
    expect(audit.map((a) => a.event)).toContain('delivery_s3_failed');
  });
});

describe('summary e-mail over SMTP', () => {
  it('sends one e-mail for the invocation with subject, both bodies, the CSV attachments and the inline chart', async () => {
    const outcome = await deliverResults(deps(), runs, { s3: true, email: true });
    expect(outcome).toMatchObject({ failures: [], emailSent: true });
    expect(received).toHaveLength(1);
    const mail = received[0] as ParsedMail;
    expect(mail.subject).toBe(
      '[recon] 2025-09-30: 13 new breaks, 13 open (0 > 7 days), 0 resolved',
    );
    const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
    expect(to.flatMap((a) => a.value.map((v) => v.address))).toEqual([
      'ops@example.com',
      'finance@example.com',
    ]);
    expect(mail.text).toContain('  stripe 2025-09-30 — HIGH risk\n');
    expect(mail.text).toContain('LARGEST DISCREPANCIES');
    expect(mail.html).toContain('<table class="overview stack"');
    expect(mail.html).toContain('X-Amz-Signature=');
    const csvNames = mail.attachments
      .filter((a) => a.contentType === 'text/csv')
      .map((a) => a.filename);
    expect(csvNames).toEqual([
      'reconciliation_report_stripe_2025-09-30.csv',
      'reconciliation_report_paypal_2025-09-30.csv',
      'reconciliation_report_square_2025-09-30.csv',
    ]);
    const chart = mail.attachments.find((a) => a.contentType === 'image/png');
    expect(chart?.cid).toBe('trend-chart@recon');
    expect(chart?.content.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    // mailparser inlines cid: images as data URIs.
    expect(mail.html).toMatch(
      /<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="discrepancy rate per processor/,
    );
    expect(JSON.stringify(mail)).not.toContain('smtp-secret-pw');
  });

  it('links the reports instead of attaching them above the size limit', async () => {
    await deliverResults(deps({ attachMaxBytes: 10 }), runs, { s3: false, email: true });
    const mail = received[0] as ParsedMail;
    expect(mail.attachments.filter((a) => a.contentType === 'text/csv')).toEqual([]);
    expect(mail.text).toContain(`stripe 2025-09-30 CSV: ${runs[0]?.reportCsvPath ?? ''}`);
  });

  it('puts failed runs first and in the subject', async () => {
    const failed: DeliverableRun = {
      runId: null,
      businessDate: DATE,
      processor: 'paypal',
      status: 'failed',
      error: new (await import('../../src/domain/errors')).InputRejectedError(
        'processor input not found: expected data/2025-09-30/paypal.csv',
        {
          location: 'x',
        },
      ),
      reportCsvPath: null,
      reportJsonPath: null,
    };
    await deliverResults(deps({ objectStore: null }), [runs[0] as DeliverableRun, failed], {
      s3: false,
      email: true,
    });
    const mail = received[0] as ParsedMail;
    expect(mail.subject).toBe(
      '[recon] 2025-09-30 — FAILED: paypal input missing; 8 new breaks, 8 open (0 > 7 days), 0 resolved',
    );
    const html = typeof mail.html === 'string' ? mail.html : '';
    expect(html.indexOf('Failed or missing inputs')).toBeLessThan(
      html.indexOf('<table class="overview stack"'),
    );
  });

  it('escapes hostile merchant ids and descriptions in the HTML', async () => {
    const { renderEmailHtml } = await import('../../src/reports/email-summary');
    const html = renderEmailHtml(
      NAUGHTY.map((text, index) => ({
        runId: null,
        businessDate: DATE,
        processor: 'stripe',
        status: 'completed' as const,
        error: null,
        errorLabel: null,
        processorTransactions: 1,
        internalTransactions: 1,
        invalidRows: 0,
        counts: null,
        discrepancyCount: 1,
        discrepancyAmounts: {},
        discrepancyRate: '0.5',
        riskLevel: 'LOW' as const,
        largest: [
          {
            processor: 'stripe',
            businessDate: DATE,
            kind: 'missing_in_internal',
            transactionId: text,
            amount: '1.00',
            currency: 'USD',
            merchantId: `${text}#${index}`,
            processorSide: { amount: '1.00', currency: 'USD', status: text, line: 2 },
            ledgerSide: null,
          },
        ],
        quality: [],
        links: { kind: 'local' as const, csv: text, json: null },
      })),
      '2025-10-01T00:00:00Z',
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img[^>]+onerror/i);
    expect(html).not.toMatch(/<svg/i);
    expect(html).toContain('&lt;script&gt;');
  });

  it('does not send when the policy asks only for failures and none happened', async () => {
    const outcome = await deliverResults(deps({ emailOn: 'failures' }), runs, {
      s3: false,
      email: true,
    });
    expect(outcome.emailSent).toBe(false);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['refuses the recipients', 'refuse-recipient' as const, /Mailbox unavailable|550/],
    ['rejects the login', 'reject-auth' as const, /Invalid username or password|535/],
  ])(
    'records the failure when the server %s, without changing the runs',
    async (_label, mode, pattern) => {
      smtpBehaviour.mode = mode;
      const outcome = await deliverResults(deps({ objectStore: null }), runs, {
        s3: false,
        email: true,
      });
      expect(outcome.emailSent).toBe(false);
      expect(outcome.failures[0]).toMatch(pattern);
      expect(outcome.failures[0]).not.toContain('smtp-secret-pw');
      const rows = await new DeliveryStore(() => store.database()).list(runs[1]?.runId ?? '');
      expect(rows.filter((r) => r.channel === 'email').pop()).toMatchObject({
        status: 'failed',
        target: 'ops@example.com, finance@example.com',
      });
      expect((await store.getRun(runs[1]?.runId ?? ''))?.status).toBe('completed');
    },
  );

  it('gives up on a server that never greets within the greeting timeout', async () => {
    const started = Date.now();
    const stalled = new SmtpMailer(smtpSettings({ port: stallPort, greetingTimeoutMs: 500 }));
    const outcome = await deliverResults(
      deps({ objectStore: null, mailer: stalled }),
      runs.slice(0, 1),
      { s3: false, email: true },
    );
    expect(outcome.failures[0]).toMatch(/Greeting never received|timeout/i);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says in the log that e-mail is not configured, and sends nothing', async () => {
    logLines.length = 0;
    await deliverResults(deps({ mailer: null, objectStore: null }), runs, {
      s3: false,
      email: true,
    });
    expect(logLines).toEqual([
      'e-mail is not configured (SMTP_SERVER and OPERATIONS_EMAIL); no summary sent',
    ]);
    expect(received).toHaveLength(0);
  });
});

describe('presigned link expiry under temporary credentials', () => {
  it('records and e-mails the credentials’ expiration when they expire before the requested lifetime', async () => {
    // An ECS-style container credentials endpoint (the SDK's default chain reads
    // AWS_CONTAINER_CREDENTIALS_FULL_URI) handing out credentials that expire in 2 hours.
    const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 3600_000);
    const credentials = createHttpServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          AccessKeyId: 'S3RVER',
          SecretAccessKey: 'S3RVER',
          Token: 'session-token',
          Expiration: expiration.toISOString(),
        }),
      );
    });
    await new Promise<void>((done) => credentials.listen(0, '127.0.0.1', done));
    const port = (credentials.address() as { port: number }).port;
    const saved = process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${port}/credentials`;
    const objectStore = new S3ObjectStore(
      s3Settings({ accessKeyId: undefined, secretAccessKey: undefined }),
    );
    try {
      const outcome = await deliverResults(
        deps({ objectStore, now: () => Date.now(), presignExpirySeconds: 86_400 }),
        runs.slice(0, 1),
        { s3: true, email: true },
      );
      expect(outcome.failures).toEqual([]);
      const rows = await new DeliveryStore(() => store.database()).list(runs[0]?.runId ?? '');
      const s3Rows = rows.filter((r) => r.channel === 's3').slice(-2);
      expect(s3Rows.map((r) => r.urlExpiresAt)).toEqual([
        expiration.toISOString().replace('.000Z', 'Z'),
        expiration.toISOString().replace('.000Z', 'Z'),
      ]);
      const when = expiration.toISOString().slice(0, 16).replace('T', ' ');
      expect((received[0] as ParsedMail).text).toContain(
        `  Links expire ${when} UTC (when the AWS credentials that signed them expire; run \`recon deliver RUN_ID\` for fresh links).\n`,
      );
    } finally {
      objectStore.close();
      if (saved === undefined) delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
      else process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = saved;
      await new Promise<void>((done) => credentials.close(() => done()));
    }
  });
});

describe('a run with payouts (issue #15)', () => {
  /** Rewrites the stored stripe run's reports with the settlement of `stripeNight()`. */
  async function runWithPayouts(settlement = stripeNight()): Promise<DeliverableRun> {
    const run = runs[0] as DeliverableRun;
    const match = matchTransactions([], []);
    const paths = await writeReports(
      join(work, `payout-reports-${Math.random()}`),
      {
        runId: run.runId ?? '',
        businessDate: run.businessDate,
        processor: run.processor,
        timeZone: 'UTC',
        generatedAt: '2025-10-01T01:00:00.000Z',
        appVersion: 'test',
        dryRun: false,
        sources: {
          processor: { location: 'p.csv', rows: 0, invalidRows: 0 },
          internal: { location: 'i.csv', rows: 0, invalidRows: 0 },
        },
      },
      {
        match,
        summary: summarizeReconciliation(match, [], [], 0),
        issues: [],
        settlement,
      },
    );
    return {
      ...run,
      reportCsvPath: paths.csv,
      reportJsonPath: paths.json,
      openBreaksPath: paths.openBreaks,
      payoutsPath: paths.payouts ?? null,
    };
  }

  it('uploads payouts_{processor}_{date}.csv beside the reports and e-mails the Payouts line', async () => {
    const run = await runWithPayouts();
    const outcome = await deliverResults(deps(), [run], { s3: true, email: true });
    expect(outcome.failures).toEqual([]);
    const key = payoutsObjectKey(DATE, 'stripe', run.runId ?? '');
    expect(key).toBe(`reports/${DATE}/stripe/${run.runId ?? ''}/payouts_stripe_${DATE}.csv`);
    const rows = await new DeliveryStore(() => store.database()).list(run.runId ?? '');
    const uploaded = rows.filter((r) => r.target === key);
    expect(uploaded.map((r) => [r.channel, r.status])).toEqual([['s3', 'sent']]);
    const download = await fetch(uploaded[0]?.url ?? '');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(readFileSync(run.payoutsPath ?? ''));
    const mail = received[0] as ParsedMail;
    expect(mail.text).toContain(
      '\nPAYOUTS\n  stripe: 4 payouts, 3 in the bank, 1 mismatch (po_2 +20.00 USD), 1 parent missing (po_9, 1 child, 38.80 USD), 1 unattributable (po_m 5,000 JPY), 1 missing in the bank (po_3 236.00 USD), 1 unmatched bank credit (B4 123.45 USD)\n\n',
    );
    expect(mail.html).toContain('<h3 style="font-size:15px;margin:16px 0 4px 0">Payouts</h3>');
    // The presigned link of the payouts file, under Reports.
    const link = /\n {2}stripe 2025-09-30 payouts CSV: (\S+)\n/.exec(mail.text ?? '')?.[1] ?? '';
    expect(link).toContain(`/payouts_stripe_${DATE}.csv?`);
    expect(link).toContain('X-Amz-Signature=');
  });

  it('uploads no payouts file and shows no Payouts section for a run without a settlement', async () => {
    const run = runs[0] as DeliverableRun;
    const payoutUploads = async (): Promise<number> =>
      (await new DeliveryStore(() => store.database()).list(run.runId ?? '')).filter((r) =>
        r.target.includes('/payouts_'),
      ).length;
    const before = await payoutUploads();
    const outcome = await deliverResults(deps(), [run], { s3: true, email: true });
    expect(outcome.failures).toEqual([]);
    expect(await payoutUploads()).toBe(before);
    expect((received[0] as ParsedMail).text).not.toContain('PAYOUTS');
  });

  it('finds the payouts file beside a stored run’s CSV report (recon deliver RUN_ID)', async () => {
    const written = await runWithPayouts();
    const stored = await store.getRun(written.runId ?? '');
    if (!stored) throw new Error('stored run not found');
    const run = storedRunDeliverable({
      ...stored,
      reportCsvPath: written.reportCsvPath,
      reportJsonPath: written.reportJsonPath,
    });
    expect(run.payoutsPath).toBe(written.payoutsPath);
    const outcome = await deliverResults(deps({ mailer: null }), [run], { s3: true, email: false });
    expect(outcome.attempts.map((a) => [a.status, a.target])).toEqual([
      ['sent', reportObjectKey(DATE, 'stripe', run.runId ?? '', 'csv')],
      ['sent', reportObjectKey(DATE, 'stripe', run.runId ?? '', 'json')],
      ['sent', openBreaksObjectKey(DATE, 'stripe', run.runId ?? '')],
      ['sent', payoutsObjectKey(DATE, 'stripe', run.runId ?? '')],
    ]);
  });

  it('sends under RECON_EMAIL_ON=discrepancies for payouts that need a look, not for balanced ones in the bank', async () => {
    const problems = await runWithPayouts();
    await deliverResults(deps({ emailOn: 'discrepancies' }), [problems], {
      s3: false,
      email: true,
    });
    expect(received).toHaveLength(1);
    received.length = 0;
    const balanced = await runWithPayouts(
      settlementOf(
        [
          {
            kind: 'stripe_payout',
            key: 'po_1',
            currency: 'USD',
            amount: 1000n,
            dueDate: '2025-10-02',
            itemizable: true,
          },
        ],
        [
          {
            id: 'txn_1',
            parentKey: 'po_1',
            category: 'charge',
            currency: 'USD',
            gross: 1000n,
            net: 1000n,
          },
        ],
        [bankCredit({ amount: 1000n, bankReference: 'B1', remittanceText: 'po_1' })],
      ),
    );
    const outcome = await deliverResults(deps({ emailOn: 'discrepancies' }), [balanced], {
      s3: false,
      email: true,
    });
    expect(received).toHaveLength(0);
    expect(outcome.attempts.map((a) => [a.channel, a.status, a.error])).toEqual([
      ['email', 'skipped', 'RECON_EMAIL_ON=discrepancies: nothing to report'],
    ]);
  });
});
