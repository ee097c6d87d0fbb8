import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import S3rver from 's3rver';
import { SMTPServer } from 'smtp-server';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-delivery-'));
const samples = join(ROOT, 'data', 'samples');
const received: ParsedMail[] = [];
let refuse = false;
let s3: S3rver;
let smtp: SMTPServer;
let env: Record<string, string> = {};

interface Delivery {
  channel: string;
  status: string;
  target: string;
  url: string | null;
  error: string | null;
}

beforeAll(async () => {
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(work, 's3'),
    configureBuckets: [{ name: 'acme-recon', configs: [] }],
  });
  const address = (await s3.run()) as { port: number };
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, callback) {
      if (refuse) {
        const error = new Error('Mailbox unavailable') as Error & { responseCode: number };
        error.responseCode = 550;
        callback(error);
      } else callback();
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
  env = {
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
    AWS_S3_BUCKET_NAME: 'acme-recon',
    AWS_S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SMTP_SERVER: '127.0.0.1',
    SMTP_PORT: String((smtp.server.address() as { port: number }).port),
    EMAIL_FROM: 'recon@example.com',
    OPERATIONS_EMAIL: 'ops@example.com',
  };
});

afterAll(async () => {
  await new Promise<void>((done) => smtp.close(() => done()));
  await s3.close();
});

describe('recon run with S3 and SMTP configured', () => {
  let runIds: string[] = [];

  it('uploads the reports, sends one e-mail with links and the chart, and records both deliveries', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'reports'),
        '--json',
      ],
      env,
    );
    expect(result.stderr).not.toMatch(/^recon: /m);
    expect(result.code).toBe(0);
    runIds = jsonLines(result.stdout).map((run) => String(run.run_id));
    expect(received).toHaveLength(1);
    const mail = received[0] as ParsedMail;
    expect(mail.subject).toBe(
      '[recon] 2025-09-30: 10 new breaks, 10 open (0 > 7 days), 0 resolved',
    );
    expect(mail.html).toContain('X-Amz-Signature=');
    expect(mail.attachments.some((a) => a.contentType === 'image/png')).toBe(true);
    const show = await runCli(['runs', 'show', runIds[0] ?? '', '--json'], env);
    const deliveries = (JSON.parse(show.stdout) as { deliveries: Delivery[] }).deliveries;
    expect(deliveries.map((d) => [d.channel, d.status])).toEqual([
      ['s3', 'sent'],
      ['s3', 'sent'],
      ['s3', 'sent'],
      ['email', 'sent'],
    ]);
    expect(deliveries[2]?.target).toBe(
      `reports/${DATE}/stripe/${runIds[0] ?? ''}/open_breaks_stripe_${DATE}.csv`,
    );
    expect(deliveries[0]?.target).toBe(
      `reports/${DATE}/stripe/${runIds[0] ?? ''}/reconciliation_report_stripe_${DATE}.csv`,
    );
    const download = await fetch(deliveries[0]?.url ?? '');
    expect(download.status).toBe(200);
    const table = await runCli(['runs', 'list'], env);
    expect(table.stdout).toContain('s3 sent, email sent');
    // Two runs and three more CLI calls, each opening the embedded database.
  }, 120_000);

  it('keeps the run completed and exits 7 when the e-mail is refused (results stored, delivery failed)', async () => {
    refuse = true;
    try {
      const result = await runCli(
        [
          'run',
          '--date',
          DATE,
          '--processors',
          'stripe',
          '--data-dir',
          samples,
          '--reports-dir',
          join(work, 'reports'),
          '--json',
        ],
        env,
      );
      expect(result.code).toBe(7);
      expect(result.stderr).toMatch(
        /^recon: delivery: e-mail failed: smtp:\/\/127\.0\.0\.1:\d+: .*Mailbox unavailable/m,
      );
      const [run] = jsonLines(result.stdout);
      const show = await runCli(['runs', 'show', String(run?.run_id), '--json'], env);
      const shown = JSON.parse(show.stdout) as { status: string; deliveries: Delivery[] };
      expect(shown.status).toBe('completed');
      expect(shown.deliveries.map((d) => [d.channel, d.status])).toEqual([
        ['s3', 'sent'],
        ['s3', 'sent'],
        ['s3', 'sent'],
        ['email', 'failed'],
      ]);
    } finally {
      refuse = false;
    }
  });

  it('re-delivers a stored run with recon deliver', async () => {
    received.length = 0;
    const result = await runCli(['deliver', runIds[1] ?? '', '--email'], env);
    expect(result.code).toBe(0);
    // Only what this call did: not the run's earlier uploads and e-mail.
    expect(result.stdout).toBe('email sent ops@example.com\n');
    expect(received).toHaveLength(1);
    expect(received[0]?.subject).toBe(
      '[recon] 2025-09-30: 2 new breaks, 2 open (0 > 7 days), 0 resolved',
    );
    const unknown = await runCli(['deliver', '00000000-0000-0000-0000-000000000000'], env);
    expect(unknown.code).toBe(2);
  });

  it('sends nothing with --no-email and nothing at all on a dry run', async () => {
    received.length = 0;
    await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'reports'),
        '--no-email',
      ],
      env,
    );
    await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'dry'),
        '--dry-run',
      ],
      env,
    );
    expect(received).toHaveLength(0);
  });
});
