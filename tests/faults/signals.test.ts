import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import {
  expectAuditIntact,
  filesUnder,
  hasStackTrace,
  installSlowCopy,
  removeSlowCopy,
  serverClient,
  spawnCli,
  userLines,
  waitForBackend,
  writeManyDiscrepancies,
} from '../helpers/faults';

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn(
    'tests/faults/signals: TEST_DATABASE_URL is unset; the signal-during-COPY cases on a PostgreSQL server are skipped',
  );

describeServer('signals while a run is being stored (TEST_DATABASE_URL)', () => {
  let schema = '';
  let env: Record<string, string> = {};
  let client: pg.Client;
  let inputs: { processor: string; internal: string };

  beforeAll(async () => {
    schema = await createTestSchema('recon_signals');
    env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
    expect((await runCli(['db', 'init'], env)).code).toBe(0);
    client = await serverClient(schema);
    // Each discrepancy row takes 2 ms to insert: the COPY of ~4000 of them runs for seconds.
    await installSlowCopy(client, 2);
    inputs = writeManyDiscrepancies(mkdtempSync(join(tmpdir(), 'recon-signals-in-')), 4000);
  });

  afterAll(async () => {
    await removeSlowCopy(client);
    await client.end();
    await dropTestSchema(schema);
  });

  it.each([
    ['SIGTERM', 143, '2025-10-02'],
    ['SIGINT', 130, '2025-10-03'],
  ] as const)(
    '%s during the COPY cancels the statement, rolls back, marks the run failed and exits %i within 5 s',
    async (signal, exitCode, date) => {
      const reports = mkdtempSync(join(tmpdir(), 'recon-signals-reports-'));
      const run = spawnCli(
        [
          'run',
          '--date',
          date,
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
      await waitForBackend(
        client,
        `state = 'active' AND query LIKE 'COPY discrepancies%' AND application_name LIKE 'recon%:${schema}'`,
        20_000,
        run.exited,
      );
      const sentAt = Date.now();
      run.child.kill(signal);
      const result = await run.done;
      const elapsed = Date.now() - sentAt;
      expect(result.code).toBe(exitCode);
      expect(elapsed).toBeLessThan(5000);
      expect(userLines(result.stderr)).toEqual([
        `recon: ${signal} received, stopping the current run`,
        `recon: stripe ${date}: interrupted by ${signal}`,
      ]);
      expect(hasStackTrace(result.stderr)).toBe(false);
      const runs = await client.query<{ status: string; error: string; rows: number }>(
        `SELECT r.status, r.error_message AS error,
                (SELECT count(*)::int FROM discrepancies d WHERE d.run_id = r.id) AS rows
           FROM reconciliation_runs r WHERE run_date = $1`,
        [date],
      );
      expect(runs.rows).toEqual([{ status: 'failed', error: `interrupted by ${signal}`, rows: 0 }]);
      // Nothing is left running on the server for it.
      const busy = await client.query(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'COPY discrepancies%' AND state = 'active'`,
      );
      expect(busy.rows).toEqual([]);
      expect(filesUnder(reports)).toEqual([]);
      await expectAuditIntact(env);
    },
    30_000,
  );
});
