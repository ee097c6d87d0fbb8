import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import escapeHtml from 'escape-html';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import S3rver from 's3rver';
import { SMTPServer, type SMTPServerAuthentication } from 'smtp-server';
import { PGlite } from '@electric-sql/pglite';
import { ROOT, runCli, type CliResult } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import {
  canonicalSamplePath,
  loadCanonicalRows,
  startFakeLedger,
  startFakePaypal,
  startFakeSquare,
  startFakeStripe,
  toLedgerEntry,
  toPaypalTransactionDetail,
  toStripeBalanceTransaction,
  type FakeServer,
} from '../helpers/fake-apis';

/*
 * Secrets never reach any output: every configured secret is planted in APIs and an SMTP server
 * that ECHO the credential they received in their error bodies, the built CLI runs end to end
 * (API runs that fail on the echo, a ledger that echoes, an SMTP login that echoes, a completed
 * CSV run archived to S3 and e-mailed, `recon health`, `runs list/show/gaps`, a malformed
 * DATABASE_URL), and then every output is searched for every form of every secret: stdout,
 * stderr (log lines included), every row of every table (as text), report files, S3 objects and
 * the raw received e-mails.
 */

// Each case spawns the CLI several times; PGlite start-up is slow on a busy machine.
jest.setTimeout(240_000);

const DATE = '2025-09-30';
const samples = join(ROOT, 'data', 'samples');

// Quotes, backslashes, slashes, spaces, `&<>`, `%` and `#`: every encoding differs from the value.
const SECRETS = {
  STRIPE_API_KEY: 'sk_test_51Echo"Stripe\\Key/+=',
  PAYPAL_CLIENT_SECRET: 'EPaypal-Secret&<q>"9/x',
  SQUARE_ACCESS_TOKEN: 'EAAAsq0atp-Square%2Ftok"en\\',
  INTERNAL_API_TOKEN: 'ledger-tok%en#7&"x',
  AWS_SECRET_ACCESS_KEY: 'aws/Secret+Key"Echo==',
  AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEBY-session/token',
  EMAIL_PASSWORD: 'smtp pass"word&<9>',
  DB_PASSWORD: 'db-password-not-used-#1',
  RECON_APP_PASSWORD: 'app-role-pw"2',
};
const PAYPAL_CLIENT_ID = 'paypal-client-echo';
const AWS_ACCESS_KEY_ID = 'AKIAECHOTEST0001';
const EMAIL_USER = 'recon-mailer';

/** Every form in which a secret could be written: as is, URL-encoded, JSON-escaped, HTML-escaped. */
function formsOf(value: string): string[] {
  return [
    ...new Set([
      value,
      encodeURIComponent(value),
      JSON.stringify(value).slice(1, -1),
      escapeHtml(value),
      Buffer.from(value).toString('base64'),
    ]),
  ];
}

/** Every file under `dir` as text, keyed by path. */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(full, readFileSync(full, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

/** Leaks of `secrets` in `outputs`: `output name: secret name (form)` per finding. */
function leaks(outputs: Map<string, string>, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [where, text] of outputs) {
    for (const [name, value] of Object.entries(secrets)) {
      for (const form of formsOf(value)) {
        if (text.includes(form)) found.push(`${where}: ${name} (${JSON.stringify(form)})`);
      }
    }
  }
  return found;
}

const TABLES_SQL = `SELECT table_name FROM information_schema.tables
  WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`;

interface Backend {
  readonly name: 'pglite' | 'postgres';
  env(work: string): Promise<Record<string, string>>;
  /** Every table, every row as text (`row::text`), keyed by table name. */
  dump(): Promise<Map<string, string>>;
  cleanup(): Promise<void>;
}

function pgliteBackend(): Backend {
  let dir = '';
  return {
    name: 'pglite',
    env: (work) => {
      dir = join(work, 'db', 'pgdata');
      return Promise.resolve({ RECON_PGLITE_DIR: dir });
    },
    dump: async () => {
      const db = await PGlite.create(dir);
      try {
        const out = new Map<string, string>();
        const tables = await db.query<{ table_name: string }>(TABLES_SQL);
        for (const { table_name } of tables.rows) {
          const rows = await db.query<{ row: string }>(
            `SELECT t::text AS row FROM ${table_name} t`,
          );
          out.set(`table ${table_name}`, rows.rows.map((r) => r.row).join('\n'));
        }
        return out;
      } finally {
        await db.close();
      }
    },
    cleanup: () => Promise.resolve(),
  };
}

function serverBackend(url: string): Backend {
  let schema = '';
  return {
    name: 'postgres',
    env: async () => {
      schema = await createTestSchema('recon_secrets');
      return { DATABASE_URL: url, DB_SCHEMA: schema };
    },
    dump: async () => {
      const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await client.connect();
      try {
        const out = new Map<string, string>();
        const tables = await client.query<{ table_name: string }>(TABLES_SQL);
        for (const { table_name } of tables.rows) {
          const rows = await client.query<{ row: string }>(
            `SELECT t::text AS row FROM ${table_name} t`,
          );
          out.set(`table ${table_name}`, rows.rows.map((r) => r.row).join('\n'));
        }
        return out;
      } finally {
        await client.end();
      }
    },
    cleanup: () => (schema ? dropTestSchema(schema) : Promise.resolve()),
  };
}

/** A local SMTP server keeping every raw message; `echo` rejects the login echoing the password. */
async function startSmtp(
  echo: boolean,
): Promise<{ server: SMTPServer; port: number; raw: string[]; mails: ParsedMail[] }> {
  const raw: string[] = [];
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth: SMTPServerAuthentication, _session, callback) {
      if (echo || auth.password !== SECRETS.EMAIL_PASSWORD) {
        const error = new Error(
          `Authentication failed for ${auth.username ?? ''} with password ${auth.password ?? ''}`,
        ) as Error & { responseCode: number };
        error.responseCode = 535;
        callback(error);
      } else callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        raw.push(text);
        simpleParser(Buffer.concat(chunks))
          .then((mail) => {
            mails.push(mail);
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.server.address() as { port: number }).port, raw, mails };
}

const backends: Backend[] = [pgliteBackend()];
if (TEST_DATABASE_URL) backends.push(serverBackend(TEST_DATABASE_URL));
else
  console.warn(
    'secrets fault suite: TEST_DATABASE_URL is not set, so the PostgreSQL-server variant is skipped (PGlite runs)',
  );

describe.each(backends)('no secret in any output ($name)', (backend) => {
  const work = mkdtempSync(join(tmpdir(), `recon-secrets-${backend.name}-`));
  const reportsDir = join(work, 'reports');
  const s3Dir = join(work, 's3');
  const servers: FakeServer[] = [];
  const results = new Map<string, CliResult>();
  let s3: S3rver;
  let goodSmtp: Awaited<ReturnType<typeof startSmtp>>;
  let echoSmtp: Awaited<ReturnType<typeof startSmtp>>;
  let secrets: Record<string, string> = { ...SECRETS };
  let base: Record<string, string> = {};
  let echoLedgerUrl = '';
  let paypalTokenEchoUrl = '';
  let paypalServer: FakeServer;
  let stripe: FakeServer;

  beforeAll(async () => {
    const rows = (name: string) => loadCanonicalRows(canonicalSamplePath(name));
    stripe = await startFakeStripe({
      apiKey: SECRETS.STRIPE_API_KEY,
      transactions: rows('stripe').map(toStripeBalanceTransaction),
      faults: [{ kind: 'echo-credentials', onRequest: 1, times: 100 }],
    });
    // Echoes the OAuth access token it issued (a secret recon learns at run time) on the list …
    const paypal = await startFakePaypal({
      clientId: PAYPAL_CLIENT_ID,
      clientSecret: SECRETS.PAYPAL_CLIENT_SECRET,
      transactions: rows('paypal').map(toPaypalTransactionDetail),
      faults: [{ kind: 'echo-credentials', onRequest: 1, times: 100 }],
    });
    // … and this one echoes the client secret at the token endpoint (used by `recon health`).
    const paypalTokenEcho = await startFakePaypal({
      clientId: PAYPAL_CLIENT_ID,
      clientSecret: SECRETS.PAYPAL_CLIENT_SECRET,
      transactions: [],
      echoCredentialsOnToken: true,
    });
    paypalTokenEchoUrl = paypalTokenEcho.baseUrl;
    servers.push(paypalTokenEcho);
    paypalServer = paypal;
    const square = await startFakeSquare({
      accessToken: SECRETS.SQUARE_ACCESS_TOKEN,
      payments: [],
      // 500: retried (each retry logged with the echoed body), then given up.
      faults: [{ kind: 'echo-credentials', onRequest: 1, times: 100, status: 500 }],
    });
    const ledger = await startFakeLedger({
      token: SECRETS.INTERNAL_API_TOKEN,
      style: 'cursor',
      entries: ['stripe', 'paypal', 'square'].flatMap((p) =>
        rows(`internal_${p}`).map((row) => toLedgerEntry(row, p)),
      ),
    });
    const echoLedger = await startFakeLedger({
      token: SECRETS.INTERNAL_API_TOKEN,
      style: 'cursor',
      entries: [],
      faults: [{ kind: 'echo-credentials', onRequest: 1, times: 100, status: 400 }],
    });
    echoLedgerUrl = echoLedger.baseUrl;
    servers.push(stripe, paypal, square, ledger, echoLedger);

    // s3rver checks request signatures against its accounts: give it the planted key pair.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const accounts = require('s3rver/lib/models/account') as {
      DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
    };
    accounts.DUMMY_ACCOUNT.createKeyPair(AWS_ACCESS_KEY_ID, SECRETS.AWS_SECRET_ACCESS_KEY);
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: s3Dir,
      configureBuckets: [{ name: 'acme-recon', configs: [] }],
    });
    const s3Address = (await s3.run()) as { port: number };
    goodSmtp = await startSmtp(false);
    echoSmtp = await startSmtp(true);

    const database = await backend.env(work);
    if (database.DATABASE_URL) {
      const password = new URL(database.DATABASE_URL).password;
      if (password) secrets = { ...secrets, DATABASE_URL_PASSWORD: decodeURIComponent(password) };
    }
    base = {
      ...database,
      ...SECRETS,
      STRIPE_API_BASE_URL: stripe.baseUrl,
      PAYPAL_CLIENT_ID,
      PAYPAL_API_BASE_URL: paypal.baseUrl,
      SQUARE_API_BASE_URL: square.baseUrl,
      INTERNAL_API_BASE_URL: ledger.baseUrl,
      HTTP_MAX_ATTEMPTS: '2',
      HTTP_RETRY_BASE_MS: '10',
      HTTP_RETRY_MAX_MS: '20',
      AWS_S3_BUCKET_NAME: 'acme-recon',
      AWS_S3_ENDPOINT: `http://127.0.0.1:${s3Address.port}`,
      AWS_ACCESS_KEY_ID,
      SMTP_SERVER: '127.0.0.1',
      SMTP_PORT: String(goodSmtp.port),
      EMAIL_USER,
      EMAIL_FROM: 'recon@example.com',
      OPERATIONS_EMAIL: 'ops@example.com',
      LOG_LEVEL: 'debug',
    };
    if (backend.name === 'postgres') {
      const init = await runCli(['db', 'init'], base);
      results.set('db init', init);
      expect(init.code).toBe(0);
    }
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await new Promise<void>((done) => goodSmtp.server.close(() => done()));
    await new Promise<void>((done) => echoSmtp.server.close(() => done()));
    await s3.close();
    await backend.cleanup();
  });

  it('API runs whose APIs echo the credential fail with redacted messages', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        'paypal',
        'square',
        '--source',
        'api',
        '--reports-dir',
        reportsDir,
      ],
      base,
    );
    results.set('run --source api', result);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBe(1);
    // The fakes did receive the secrets (so the echo was real) …
    expect(stripe.requests.some((r) => r.authorization?.includes(SECRETS.STRIPE_API_KEY))).toBe(
      true,
    );
    // The access tokens PayPal issued are secrets too: find them in what the fake received.
    const bearers = [
      ...new Set(
        paypalServer.requests.flatMap(
          (r) => /^Bearer (\S+)$/.exec(r.authorization ?? '')?.[1] ?? [],
        ),
      ),
    ];
    expect(bearers.length).toBeGreaterThanOrEqual(1);
    bearers.forEach((token, i) => {
      expect(token).toMatch(/^A21AA/);
      secrets = { ...secrets, [`PAYPAL_ACCESS_TOKEN_${i + 1}`]: token };
    });
    // … and the user sees that an echoed credential was there, without it.
    const failures = result.stderr.split('\n').filter((line) => line.startsWith('recon: '));
    expect(failures).toHaveLength(3);
    for (const line of failures) expect(line).toContain('[REDACTED]');
    expect(goodSmtp.mails).toHaveLength(1);
    expect(goodSmtp.mails[0]?.text).toContain('[REDACTED]');
  });

  it('a ledger that echoes its token, and an SMTP login that echoes the password', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-source',
        'csv',
        '--internal-source',
        'api',
        '--data-dir',
        samples,
        '--reports-dir',
        reportsDir,
      ],
      { ...base, INTERNAL_API_BASE_URL: echoLedgerUrl, SMTP_PORT: String(echoSmtp.port) },
    );
    results.set('run ledger echo', result);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^recon: stripe 2025-09-30: .*\[REDACTED\]/m);
    expect(result.stderr).toMatch(/^recon: delivery: e-mail failed: .*535/m);
  });

  it('a completed run archived to S3 and e-mailed carries no secret', async () => {
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
        reportsDir,
        '--json',
      ],
      base,
    );
    results.set('run csv', result);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/^recon: /m);
    expect(goodSmtp.mails).toHaveLength(2);
    expect(goodSmtp.mails[1]?.html).toContain('X-Amz-Signature=');
  });

  it('recon health reports the echoing APIs down without their credentials', async () => {
    const result = await runCli(['health', '--json'], {
      ...base,
      PAYPAL_API_BASE_URL: paypalTokenEchoUrl,
    });
    results.set('health', result);
    expect(result.code).toBe(3);
    const health = JSON.parse(result.stdout) as {
      component: string;
      status: string;
      detail: string;
    }[];
    for (const component of ['api:stripe', 'api:paypal'])
      expect(health.find((h) => h.component === component)).toEqual({
        component,
        status: 'down',
        latency_ms: expect.any(Number) as number,
        detail: expect.stringContaining('[REDACTED]') as string,
      });
  });

  it('stored errors shown again by runs list/show/gaps carry no secret', async () => {
    const list = await runCli(['runs', 'list', '--json', '--limit', '100'], base);
    results.set('runs list', list);
    expect(list.code).toBe(0);
    const runs = JSON.parse(list.stdout) as { run_id: string; error: string | null }[];
    expect(runs.filter((r) => r.error?.includes('[REDACTED]')).length).toBeGreaterThanOrEqual(4);
    // Two failed runs (their errors) and one completed run (its deliveries and links).
    const shown = [
      ...runs.filter((r) => r.error).slice(0, 2),
      ...runs.filter((r) => !r.error).slice(0, 1),
    ];
    for (const [i, run] of shown.entries()) {
      const args = ['runs', 'show', run.run_id, ...(i % 2 === 0 ? ['--json'] : [])];
      results.set(args.join(' '), await runCli(args, base));
    }
    results.set(
      'runs gaps',
      await runCli(
        [
          'runs',
          'gaps',
          '--from',
          DATE,
          '--to',
          DATE,
          '--processors',
          'stripe',
          'paypal',
          'square',
        ],
        base,
      ),
    );
    results.set('verify-audit', await runCli(['db', 'verify-audit'], base));
    expect(results.get('verify-audit')?.code).toBe(0);
  });

  it('a malformed DATABASE_URL is reported without its password; too short secrets are named', async () => {
    const password = 'Malformed-Pw#/"x';
    secrets = { ...secrets, MALFORMED_DATABASE_URL_PASSWORD: password };
    const result = await runCli(['runs', 'list'], {
      ...base,
      DATABASE_URL: `postgres://recon:${password}@127.0.0.1:notaport/recon`,
      RECON_WEBHOOK_SECRET: 'abc',
    });
    results.set('malformed DATABASE_URL', result);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^recon: /m);
    expect(result.logs.filter((log) => log.level === 'warn')).toEqual([
      expect.objectContaining({
        settings: ['RECON_WEBHOOK_SECRET'],
        min_length: 8,
        msg: 'secret settings this short are not redacted by value; use longer secrets',
      }),
    ]);
  });

  it('an API base URL with user:password@ is refused before anything runs (exit 2)', async () => {
    const password = 'url-embedded-pw-77';
    secrets = { ...secrets, URL_EMBEDDED_PASSWORD: password };
    const result = await runCli(
      ['run', '--date', DATE, '--processors', 'stripe', '--source', 'api'],
      {
        ...base,
        INTERNAL_API_BASE_URL: `http://ledger-user:${password}@127.0.0.1:1/?token=q`,
      },
    );
    results.set('credentials in INTERNAL_API_BASE_URL', result);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'recon: INTERNAL_API_BASE_URL must not contain credentials (user:password@); use INTERNAL_API_TOKEN',
    );
  });

  it('leaves no form of any secret in stdout, stderr, tables, reports, S3 or e-mails', async () => {
    const outputs = new Map<string, string>();
    for (const [name, result] of results) {
      outputs.set(`${name} stdout`, result.stdout);
      outputs.set(`${name} stderr`, result.stderr);
    }
    for (const [table, text] of await backend.dump()) outputs.set(table, text);
    for (const [path, text] of filesUnder(reportsDir)) outputs.set(path, text);
    for (const [path, text] of filesUnder(s3Dir)) outputs.set(path, text);
    goodSmtp.raw.forEach((raw, i) => outputs.set(`e-mail ${i + 1} (raw)`, raw));
    expect(outputs.get('table audit_log')).toContain('[REDACTED]');
    expect(outputs.get('table reconciliation_runs')).toContain('[REDACTED]');
    expect(outputs.get('table deliveries')).toContain('[REDACTED]');
    expect(outputs.get('table system_health')).toContain('[REDACTED]');
    expect(outputs.get('table discrepancies')?.length).toBeGreaterThan(0);
    expect(goodSmtp.raw).toHaveLength(2);
    expect(leaks(outputs, secrets)).toEqual([]);
  });
});
