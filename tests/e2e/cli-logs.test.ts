import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { embeddedDatabaseWarning } from '../../src/config/container';
import { jsonLines, ROOT, runCli } from '../helpers/cli';
import {
  canonicalSamplePath,
  loadCanonicalRows,
  startFakeStripe,
  toStripeBalanceTransaction,
  type FakeServer,
} from '../helpers/fake-apis';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-logs-'));
const samples = join(ROOT, 'data', 'samples');
const PRETTY_LINE = /^\d\d:\d\d:\d\d\.\d{3} (FATAL|ERROR|WARN |INFO |DEBUG|TRACE) \S/;

/** Non-empty stderr lines. */
const lines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '');

/** A dry run of the sample day for stripe, with `extra` arguments before `run`. */
const dryRun = (extra: string[], env: Record<string, string> = {}) =>
  runCli(
    [
      ...extra,
      'run',
      '--date',
      DATE,
      '--processors',
      'stripe',
      '--data-dir',
      samples,
      '--reports-dir',
      join(work, 'dry'),
      '--dry-run',
    ],
    { RECON_PGLITE_DIR: join(work, 'unused'), ...env },
  );

describe('log format and level', () => {
  it('writes only JSON lines with string level labels on stderr when it is not a terminal', async () => {
    const result = await dryRun([]);
    expect(result.code).toBe(0);
    expect(lines(result.stderr).length).toBeGreaterThan(0);
    expect(result.logs).toHaveLength(lines(result.stderr).length);
    expect([...new Set(result.logs.map((l) => l.level))]).toEqual(['info']);
    expect(result.logs.map((l) => l.msg)).toEqual(['run started', 'inputs read', 'run completed']);
  });

  it('writes human-readable lines with RECON_LOG_FORMAT=pretty, and no JSON', async () => {
    const result = await dryRun([], { RECON_LOG_FORMAT: 'pretty' });
    expect(result.code).toBe(0);
    expect(result.logs).toEqual([]);
    expect(lines(result.stderr).map((l) => PRETTY_LINE.test(l))).toEqual([true, true, true]);
    expect(lines(result.stderr)[0]).toMatch(/ INFO {2}run started {2}.*processor=stripe /);
  });

  it('--quiet keeps only warnings and errors; --log-level overrides LOG_LEVEL', async () => {
    const quiet = await dryRun(['--quiet']);
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    const afterCommand = await runCli(
      ['run', '--quiet', '--date', DATE, '--processors', 'stripe', '--data-dir', samples],
      { RECON_PGLITE_DIR: join(work, 'unused'), RECON_REPORTS_DIR: join(work, 'dry') },
    );
    expect(afterCommand.code).toBe(0);
    expect(afterCommand.logs).toEqual([]);
    const silent = await dryRun(['--log-level', 'silent'], { LOG_LEVEL: 'debug' });
    expect([silent.code, silent.stderr]).toEqual([0, '']);
  });

  it('rejects an unknown --log-level and --quiet together with --log-level (exit 2)', async () => {
    const unknown = await dryRun(['--log-level', 'loud']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("option '--log-level <level>' argument 'loud' is invalid");
    const both = await dryRun(['--quiet', '--log-level', 'info']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("option '-q, --quiet' cannot be used with option '--log-level");
  });
});

describe('embedded database inside a container', () => {
  const dataDir = join(work, 'db', 'pgdata');

  it('warns once in the log when the embedded database is used in a container', async () => {
    const result = await runCli(['runs', 'list'], {
      RECON_PGLITE_DIR: dataDir,
      RECON_CONTAINER: 'yes',
    });
    expect(result.code).toBe(0);
    const warnings = result.logs.filter((l) => l.level === 'warn');
    // The tests' temp folder is on the root file system or on a mount of its own: either way
    // the line names what it found.
    expect(warnings.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^embedded database \(PGlite\) at /),
    ]);
    const volume = /on the volume (\S+):/.exec(String(warnings[0]?.msg))?.[1] ?? null;
    expect(warnings[0]?.msg).toBe(embeddedDatabaseWarning(dataDir, 'RECON_CONTAINER=yes', volume));
  });

  it('says nothing when RECON_CONTAINER=no or outside a container', async () => {
    const result = await runCli(['runs', 'list'], {
      RECON_PGLITE_DIR: dataDir,
      RECON_CONTAINER: 'no',
    });
    expect(result.code).toBe(0);
    expect(result.logs.filter((l) => l.level === 'warn')).toEqual([]);
  });
});

describe('API retries', () => {
  let stripe: FakeServer;

  beforeAll(async () => {
    stripe = await startFakeStripe({
      apiKey: 'sk_test_logs',
      transactions: loadCanonicalRows(canonicalSamplePath('stripe')).map(
        toStripeBalanceTransaction,
      ),
      faults: [{ kind: 'status-500', onRequest: 1 }],
    });
  });

  afterAll(async () => {
    await stripe.close();
  });

  it("logs a retry after HTTP 500 with the run's run_id, like every other line of the run", async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-source',
        'api',
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'api-reports'),
        '--json',
      ],
      {
        STRIPE_API_KEY: 'sk_test_logs',
        STRIPE_API_BASE_URL: stripe.baseUrl,
        HTTP_RETRY_BASE_MS: '10',
        RECON_PGLITE_DIR: join(work, 'api-db', 'pgdata'),
      },
    );
    expect(result.code).toBe(0);
    const [run] = jsonLines(result.stdout);
    expect(run?.status).toBe('completed');
    const retries = result.logs.filter((l) => l.msg === 'API call failed, retrying');
    expect(retries).toEqual([
      {
        level: 'warn',
        time: expect.any(String) as unknown,
        app: 'recon',
        business_date: DATE,
        processor: 'stripe',
        run_id: run?.run_id,
        service: 'stripe',
        path: '/v1/balance_transactions',
        attempt: 1,
        delay_ms: expect.any(Number) as unknown,
        problem: expect.stringMatching(/^HTTP 500: /) as unknown,
        msg: 'API call failed, retrying',
      },
    ]);
    const runLines = result.logs.filter((l) => l.processor === 'stripe');
    expect(runLines.filter((l) => l.run_id !== run?.run_id).map((l) => l.msg)).toEqual([]);
    expect(result.logs.filter((l) => l.msg === 'page fetched').length).toBeGreaterThan(0);
  });
});

describe('S3 delivery', () => {
  let s3: S3rver;
  let endpoint = '';

  beforeAll(async () => {
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(work, 's3'),
      configureBuckets: [{ name: 'recon-logs', configs: [] }],
    });
    const address = (await s3.run()) as { port: number };
    endpoint = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await s3.close();
  });

  it('leaves only JSON lines on stderr: the AWS SDK notice on old Node is a log line', async () => {
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
        join(work, 's3-reports'),
      ],
      {
        RECON_PGLITE_DIR: join(work, 's3-db', 'pgdata'),
        AWS_S3_BUCKET_NAME: 'recon-logs',
        AWS_S3_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      },
    );
    expect(result.code).toBe(0);
    expect(lines(result.stderr).filter((l) => !l.startsWith('{'))).toEqual([]);
    expect(result.logs).toHaveLength(lines(result.stderr).length);
    const sdkNotices = result.logs.filter((l) => String(l.msg).includes('AWS SDK for JavaScript'));
    const major = Number(process.versions.node.split('.')[0]);
    // The SDK warns below Node 22 (@aws-sdk/core emitWarningIfUnsupportedVersion).
    expect(sdkNotices.map((l) => [l.level, l.warning])).toEqual(
      major < 22 ? [['warn', 'Warning']] : [],
    );
  });
});
