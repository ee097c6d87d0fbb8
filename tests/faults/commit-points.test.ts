import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import S3rver from 's3rver';
import { jsonLines, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import {
  FAULT_DATE,
  filesUnder,
  hasStackTrace,
  installSleepAtCommit,
  installSlowCopy,
  removeSleepAtCommit,
  removeSlowCopy,
  runsAndRows,
  SAMPLES,
  serverClient,
  spawnCli,
  terminateBackend,
  userLines,
  expectAuditIntact,
  waitForBackend,
  writeManyDiscrepancies,
} from '../helpers/faults';

const REPORT_DIR = `stripe_${FAULT_DATE}`;
const CSV = `${REPORT_DIR}/reconciliation_report_stripe_${FAULT_DATE}.csv`;
const JSON_REPORT = `${REPORT_DIR}/reconciliation_report_stripe_${FAULT_DATE}.json`;
const OPEN_BREAKS = `${REPORT_DIR}/open_breaks_stripe_${FAULT_DATE}.csv`;
/** Every file a committed run publishes, sorted as `filesUnder` lists them. */
const PUBLISHED = [OPEN_BREAKS, CSV, JSON_REPORT];

function runArgs(reports: string, extra: string[] = [], json = true): string[] {
  return [
    'run',
    '--date',
    FAULT_DATE,
    '--processors',
    'stripe',
    '--data-dir',
    SAMPLES,
    '--reports-dir',
    reports,
    '--no-email',
    ...(json ? ['--json'] : []),
    ...extra,
  ];
}

function reportBytes(reports: string): { csv: string; json: string; openBreaks: string } {
  return {
    csv: readFileSync(join(reports, CSV), 'utf8'),
    json: readFileSync(join(reports, JSON_REPORT), 'utf8'),
    openBreaks: readFileSync(join(reports, OPEN_BREAKS), 'utf8'),
  };
}

/** Simulates a crash after COMMIT: the run's published reports go back to its pending names. */
function unpublish(reports: string, runId: string): void {
  renameSync(join(reports, CSV), join(reports, `${CSV}.pending-${runId}`));
  renameSync(join(reports, JSON_REPORT), join(reports, `${JSON_REPORT}.pending-${runId}`));
  renameSync(join(reports, OPEN_BREAKS), join(reports, `${OPEN_BREAKS}.pending-${runId}`));
}

/** Environments in which `recon` runs: embedded always, the test server when configured. */
const BACKENDS: { name: string; env: () => Promise<Record<string, string>>; server: boolean }[] = [
  {
    name: 'embedded PGlite',
    server: false,
    env: () =>
      Promise.resolve({
        RECON_PGLITE_DIR: join(mkdtempSync(join(tmpdir(), 'recon-faults-db-')), 'pgdata'),
      }),
  },
];
if (TEST_DATABASE_URL) {
  BACKENDS.push({
    name: 'PostgreSQL server',
    server: true,
    env: async () => {
      const schema = await createTestSchema('recon_faults');
      schemas.push(schema);
      const env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
      expect((await runCli(['db', 'init'], env)).code).toBe(0);
      return env;
    },
  });
} else {
  console.warn(
    'tests/faults/commit-points: TEST_DATABASE_URL is unset; the PostgreSQL server cases are skipped',
  );
}
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await dropTestSchema(schema);
});

describe.each(BACKENDS)('repairing a crash between COMMIT and publishing ($name)', (backend) => {
  it('publishes the committed run’s pending reports and removes other runs’ pending files (next run and recon deliver)', async () => {
    const env = await backend.env();
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-repair-'));
    const first = await runCli(runArgs(reports), env);
    expect(first.code).toBe(0);
    const [run] = jsonLines(first.stdout);
    const runId = String(run?.run_id);
    const committed = reportBytes(reports);
    expect(JSON.parse(committed.json)).toMatchObject({ report_metadata: { run_id: runId } });

    // Crash after COMMIT, before the renames; plus leftovers of a run that never committed.
    unpublish(reports, runId);
    const stranger = randomUUID();
    writeFileSync(join(reports, `${CSV}.pending-${stranger}`), 'rolled back\n');
    writeFileSync(join(reports, `${JSON_REPORT}.pending-${stranger}`), '{}\n');
    writeFileSync(join(reports, `${OPEN_BREAKS}.pending-${stranger}`), 'rolled back\n');
    writeFileSync(join(reports, `${CSV}.tmp-4242-0badcafe`), 'temp file of an older version\n');

    // The next run (here one that fails: its ledger file is missing) repairs under the run lock.
    const next = await runCli(
      runArgs(reports, [
        '--internal-file',
        join(reports, 'missing.csv'),
        '--processor-file',
        join(SAMPLES, FAULT_DATE, 'stripe.csv'),
      ]),
      env,
    );
    expect(next.code).toBe(4);
    expect(filesUnder(reports)).toEqual(PUBLISHED);
    expect(reportBytes(reports)).toEqual(committed);

    // `recon deliver` repairs too.
    unpublish(reports, runId);
    const delivered = await runCli(['deliver', runId], env);
    expect(delivered.code).toBe(0);
    expect(filesUnder(reports)).toEqual(PUBLISHED);
    expect(reportBytes(reports)).toEqual(committed);
    await expectAuditIntact(env);
  }, 120_000);
});

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;

describeServer('commit points on a PostgreSQL server (TEST_DATABASE_URL)', () => {
  let env: Record<string, string> = {};
  let client: pg.Client;

  beforeAll(async () => {
    const server = BACKENDS.find((b) => b.server);
    if (!server) throw new Error('no server backend');
    env = await server.env();
    client = await serverClient(env.DB_SCHEMA ?? '');
  });

  afterAll(async () => {
    await client.end();
  });

  it('a run whose connection is killed at COMMIT rolls back and leaves the completed run’s report on disk untouched', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-commit-'));
    const first = await runCli(runArgs(reports), env);
    expect(first.code).toBe(0);
    const completed = reportBytes(reports);
    const discrepancies = Number(jsonLines(first.stdout)[0]?.discrepancy_count);
    expect(discrepancies).toBeGreaterThan(0);

    await installSleepAtCommit(client, 5);
    try {
      // A rerun whose ledger equals its processor side: 0 discrepancies, a different report.
      const ledger = join(SAMPLES, FAULT_DATE, 'internal_stripe.csv');
      const second = spawnCli(
        runArgs(reports, ['--processor-file', ledger, '--internal-file', ledger], false),
        env,
      );
      const pid = await waitForBackend(
        client,
        `query = 'COMMIT' AND wait_event = 'PgSleep' AND application_name LIKE 'recon%:${env.DB_SCHEMA ?? ''}'`,
        20_000,
        second.exited,
      );
      await terminateBackend(client, pid);
      const result = await second.done;
      expect(result.code).toBe(3);
      const lines = userLines(result.stderr);
      expect(lines).toEqual([expect.stringMatching(/^recon: stripe 2025-09-30: .*database/)]);
      expect(hasStackTrace(result.stderr)).toBe(false);
    } finally {
      await removeSleepAtCommit(client);
    }
    const runs = await runsAndRows(client);
    expect(runs.map((r) => [r.status, r.discrepancies])).toEqual([
      ['completed', discrepancies],
      ['failed', 0],
    ]);
    expect(runs[0]?.error).toBeNull();
    expect(runs[1]?.error).toMatch(/^database .* is unavailable: terminating connection/);
    expect(filesUnder(reports)).toEqual(PUBLISHED);
    expect(reportBytes(reports)).toEqual(completed);
    await expectAuditIntact(env);
  }, 120_000);

  it('killing the run’s connection mid-COPY fails the run with exit 3: no crash, no rows, no files', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-copy-'));
    const inputs = writeManyDiscrepancies(mkdtempSync(join(tmpdir(), 'recon-faults-in-')), 4000);
    await installSlowCopy(client, 2);
    let result: { code: number | null; stdout: string; stderr: string };
    try {
      const run = spawnCli(
        [
          'run',
          '--date',
          '2025-10-01',
          '--processors',
          'stripe',
          '--processor-file',
          inputs.processor,
          '--internal-file',
          inputs.internal,
          '--reports-dir',
          reports,
          '--no-email',
        ],
        env,
      );
      const pid = await waitForBackend(
        client,
        `state = 'active' AND query LIKE 'COPY discrepancies%' AND application_name LIKE 'recon%:${env.DB_SCHEMA ?? ''}'`,
        20_000,
        run.exited,
      );
      await new Promise((done) => setTimeout(done, 300)); // well inside the COPY
      await terminateBackend(client, pid);
      result = await run.done;
    } finally {
      await removeSlowCopy(client);
    }
    expect(result.code).toBe(3);
    expect(result.stderr).not.toContain("Unhandled 'error' event");
    expect(userLines(result.stderr)).toEqual([
      expect.stringMatching(/^recon: stripe 2025-10-01: .*(database|run lock)/),
    ]);
    expect(hasStackTrace(result.stderr)).toBe(false);
    const runs = await client.query<{ status: string; rows: number }>(
      `SELECT r.status, (SELECT count(*)::int FROM discrepancies d WHERE d.run_id = r.id) AS rows
         FROM reconciliation_runs r WHERE run_date = '2025-10-01'`,
    );
    expect(runs.rows).toEqual([{ status: 'failed', rows: 0 }]);
    expect(filesUnder(reports)).toEqual([]);
    await expectAuditIntact(env);
  }, 120_000);
});

describe('re-delivering a superseded run (a local S3-protocol server)', () => {
  let s3: S3rver;
  let s3Env: Record<string, string> = {};
  let s3Client: S3Client;

  beforeAll(async () => {
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: mkdtempSync(join(tmpdir(), 'recon-faults-s3-')),
      configureBuckets: [{ name: 'recon-faults', configs: [] }],
    });
    const address = (await s3.run()) as { port: number };
    s3Env = {
      AWS_S3_BUCKET_NAME: 'recon-faults',
      AWS_S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    };
    s3Client = new S3Client({
      endpoint: s3Env.AWS_S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    s3Client.destroy();
    await s3.close();
  });

  async function objectRunId(runId: string): Promise<unknown> {
    const object = await s3Client.send(
      new GetObjectCommand({
        Bucket: 'recon-faults',
        Key: `reports/${FAULT_DATE}/stripe/${runId}/reconciliation_report_stripe_${FAULT_DATE}.json`,
      }),
    );
    const report = JSON.parse((await object.Body?.transformToString()) ?? '{}') as {
      report_metadata?: { run_id?: unknown };
    };
    return report.report_metadata?.run_id;
  }

  it('refuses to upload the newer run’s files under the superseded run’s key (exit 7: results stored, delivery failed)', async () => {
    // The server when there is one (faster); the embedded database otherwise.
    const backend = BACKENDS.find((b) => b.server) ?? BACKENDS[0];
    if (!backend) throw new Error('no backend');
    const env = { ...(await backend.env()), ...s3Env };
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-redeliver-'));
    const first = await runCli(runArgs(reports), env);
    const second = await runCli(runArgs(reports), env);
    expect([first.code, second.code]).toEqual([0, 0]);
    const oldRun = String(jsonLines(first.stdout)[0]?.run_id);
    const newRun = String(jsonLines(second.stdout)[0]?.run_id);
    expect(await objectRunId(oldRun)).toBe(oldRun);

    const again = await runCli(['deliver', oldRun, '--s3'], env);
    expect(again.code).toBe(7);
    const jsonPath = join(reports, JSON_REPORT);
    expect(userLines(again.stderr)).toEqual([
      `recon: delivery: S3 upload refused: ${jsonPath} belongs to run ${newRun}, not to run ${oldRun} (a newer run of stripe ${FAULT_DATE} replaced it); nothing delivered under run ${oldRun}`,
    ]);
    expect(hasStackTrace(again.stderr)).toBe(false);
    // The old run's archived report is still its own; the new run's is untouched.
    expect(await objectRunId(oldRun)).toBe(oldRun);
    expect(await objectRunId(newRun)).toBe(newRun);
    // Delivering the current run again works.
    const current = await runCli(['deliver', newRun, '--s3'], env);
    expect(current.code).toBe(0);
    expect(userLines(current.stderr)).toEqual([]);
  }, 120_000);
});
