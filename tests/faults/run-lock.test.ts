import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { exitCodeFor } from '../../src/cli/exit-codes';
import type { DatabaseConfig } from '../../src/store/database-config';
import { createLogger } from '../../src/config/logger';
import type { BusinessDate } from '../../src/domain/business-date';
import { describeError, RunLockLostError } from '../../src/domain/errors';
import type { ProcessorName } from '../../src/domain/status';
import { matchTransactions } from '../../src/engine/match-transactions';
import { summarizeReconciliation } from '../../src/engine/summarize';
import { SourceFactory } from '../../src/job/build-sources';
import { reconcileOne, type JobDeps, type RunRequest } from '../../src/job/run-reconciliation';
import { verifyAuditChain } from '../../src/store/audit-chain';
import type { Database } from '../../src/store/database';
import { createRunStore, openDatabase } from '../../src/store/open-store';
import { applicationName, RUN_LOCK_APPLICATION_NAME } from '../../src/store/postgres-database';
import { RunStore } from '../../src/store/run-store';
import type { TransactionSource } from '../../src/sources/transaction-source';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import {
  createTestSchema,
  dropTestSchema,
  testBackends,
  TEST_DATABASE_URL,
} from '../helpers/databases';
import {
  FAULT_DATE,
  filesUnder,
  runsAndRows,
  SAMPLES,
  serverClient,
  terminateBackend,
  waitForBackend,
} from '../helpers/faults';
import { tx } from '../helpers/transactions';

const logger = createLogger('silent');
const REPORT_DIR = `stripe_${FAULT_DATE}`;
const CSV = `${REPORT_DIR}/reconciliation_report_stripe_${FAULT_DATE}.csv`;
const JSON_REPORT = `${REPORT_DIR}/reconciliation_report_stripe_${FAULT_DATE}.json`;
const OPEN_BREAKS = `${REPORT_DIR}/open_breaks_stripe_${FAULT_DATE}.csv`;

/** Sources whose processor side waits for `gate` before reading: a run paused mid-read. */
class GatedSources extends SourceFactory {
  constructor(
    request: RunRequest,
    private readonly gate: Promise<void>,
  ) {
    super(request.sources, { http: DEFAULT_HTTP_SETTINGS }, logger);
  }

  override sourcesFor(
    date: BusinessDate,
    processor: ProcessorName,
  ): [TransactionSource, TransactionSource] {
    const [processorSide, internalSide] = super.sourcesFor(date, processor);
    const gate = this.gate;
    return [
      {
        side: processorSide.side,
        location: processorSide.location,
        read: async (context) => {
          await gate;
          return processorSide.read(context);
        },
      },
      internalSide,
    ];
  }
}

function request(reportsDir: string): RunRequest {
  return {
    dates: [FAULT_DATE],
    processors: ['stripe'],
    timeZone: 'UTC',
    sources: { processorSource: 'csv', internalSource: 'csv', dataDir: SAMPLES },
    reportsDir,
    dryRun: false,
    maxInvalidRate: '0.01',
    appVersion: 'test',
  };
}

function deps(store: RunStore): JobDeps {
  return { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn(
    'tests/faults/run-lock: TEST_DATABASE_URL is unset; the advisory-lock cases on a PostgreSQL server are skipped',
  );

describeServer('losing the run lock on a PostgreSQL server (TEST_DATABASE_URL)', () => {
  let schema = '';
  let config: DatabaseConfig;
  let client: pg.Client;
  let db: Database;

  beforeAll(async () => {
    schema = await createTestSchema('recon_lock');
    config = {
      kind: 'postgres',
      settings: {
        connectionString: TEST_DATABASE_URL,
        schema,
        connectTimeoutMs: 5000,
        statementTimeoutMs: 60000,
        poolSize: 4,
      },
    };
    db = await openDatabase(config, { initialise: true });
    client = await serverClient(schema);
  });

  afterAll(async () => {
    await client.end();
    await db.close();
    await dropTestSchema(schema);
  });

  /** Starts a run paused before reading; resolves once it holds the lock and its row is running. */
  async function startPausedRun(reportsDir: string): Promise<{
    store: RunStore;
    result: ReturnType<typeof reconcileOne>;
    lockPid: number;
    resume: () => void;
  }> {
    const store = createRunStore(config);
    const paused = gate();
    const req = request(reportsDir);
    const result = reconcileOne(
      deps(store),
      req,
      FAULT_DATE,
      'stripe',
      new GatedSources(req, paused.promise),
    );
    const lockPid = await waitForBackend(
      client,
      `application_name = '${applicationName(RUN_LOCK_APPLICATION_NAME, schema)}'`,
      10_000,
    );
    for (let i = 0; i < 200; i++) {
      const running = await client.query(
        `SELECT 1 FROM reconciliation_runs WHERE status = 'running'`,
      );
      if (running.rowCount === 1) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    return { store, result, lockPid, resume: paused.open };
  }

  it('a run whose lock session is terminated mid-run cannot commit (exit 3); the overlapping run that took the lock completes alone', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-lock-'));
    const first = await startPausedRun(reports);
    await terminateBackend(client, first.lockPid);

    // A second run for the same date and processor now gets the lock, abandons the first one's
    // row and completes.
    const secondStore = createRunStore(config);
    const second = await reconcileOne(deps(secondStore), request(reports), FAULT_DATE, 'stripe');
    await secondStore.close();
    expect([second.status, second.error]).toEqual(['completed', null]);

    first.resume();
    const lost = await first.result;
    await first.store.close();
    expect(lost.status).toBe('failed');
    expect(lost.error).toBeInstanceOf(RunLockLostError);
    expect(exitCodeFor(lost.error)).toBe(3);
    expect(describeError(lost.error)).toBe(
      'the run lock was lost before the run committed: its database session ended (terminating connection due to administrator command); the run was rolled back, run it again',
    );

    expect(await runsAndRows(client)).toEqual([
      {
        status: 'abandoned',
        discrepancies: 0,
        error: 'abandoned: its process ended without finishing the run',
      },
      { status: 'completed', discrepancies: second.summary?.discrepancyCount, error: null },
    ]);
    expect(filesUnder(reports)).toEqual([OPEN_BREAKS, CSV, JSON_REPORT]);
    const report = JSON.parse(readFileSync(join(reports, JSON_REPORT), 'utf8')) as {
      report_metadata: { run_id: string };
    };
    expect(report.report_metadata.run_id).toBe(second.runId);
    expect(await verifyAuditChain(db)).toEqual({
      entries: expect.any(Number) as number,
      unchained: 0,
      firstBrokenSeq: null,
      problem: null,
      broken: null,
      brokenRunId: null,
      entriesAfterExpectedHead: null,
      head: {
        hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
        seq: expect.any(Number) as number,
      },
      runsChecked: 1,
      runsUnverifiable: 0,
    });
  }, 30_000);

  it('a run whose lock session dies with nobody overlapping fails (exit 3), stores nothing and writes no report', async () => {
    const before = (await runsAndRows(client)).length;
    const reports = mkdtempSync(join(tmpdir(), 'recon-faults-lock-'));
    const run = await startPausedRun(reports);
    await terminateBackend(client, run.lockPid);
    run.resume();
    const lost = await run.result;
    await run.store.close();
    expect([lost.status, exitCodeFor(lost.error)]).toEqual(['failed', 3]);
    expect(describeError(lost.error)).toMatch(/^the run lock was lost before the run committed/);
    const runs = await runsAndRows(client);
    expect(runs.slice(before)).toEqual([
      { status: 'failed', discrepancies: 0, error: describeError(lost.error) },
    ]);
    expect(filesUnder(reports)).toEqual([]);
    expect((await verifyAuditChain(db)).problem).toBeNull();
  }, 30_000);
});

describe.each(testBackends())('completing a run that another process ended ($name)', (backend) => {
  let db: Database;
  let store: RunStore;

  beforeAll(async () => {
    const config = await backend.config();
    db = await openDatabase(config, { initialise: true });
    store = new RunStore(
      () => Promise.resolve(db),
      () => Promise.resolve(null),
    );
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  it('refuses to commit results for a run no longer running and stores nothing of them', async () => {
    const runId = await store.startRun({
      businessDate: '2025-09-29',
      processor: 'stripe',
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });
    // What a second run does when this one's lock was lost: its row is marked abandoned.
    await db.query(
      `UPDATE reconciliation_runs SET status = 'abandoned', end_time = now() WHERE id = $1`,
      [runId],
    );
    const processor = [tx('a'), tx('b')];
    const internal = [tx('a')];
    const match = matchTransactions(processor, internal);
    const outcome = {
      match,
      summary: summarizeReconciliation(match, processor, internal, 0),
      issues: [],
      invalidRows: 0,
      reportCsvPath: null,
      reportJsonPath: null,
    };
    const refused = store.completeRun(runId, outcome);
    await expect(refused).rejects.toBeInstanceOf(RunLockLostError);
    await expect(refused).rejects.toThrow(
      `run ${runId} is no longer running (another process marked it abandoned); its results were rolled back`,
    );
    await store.failRun(runId, 'too late');
    const rows = await db.query<{ status: string; discrepancies: number; events: string }>(
      `SELECT r.status,
              (SELECT count(*)::int FROM discrepancies d WHERE d.run_id = r.id) AS discrepancies,
              (SELECT string_agg(event, ',' ORDER BY seq) FROM audit_log a WHERE a.run_id = r.id) AS events
         FROM reconciliation_runs r WHERE r.id = $1`,
      [runId],
    );
    expect(rows).toEqual([{ status: 'abandoned', discrepancies: 0, events: 'run_started' }]);
  });
});
