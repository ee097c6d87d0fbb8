import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { parse } from 'csv-parse/sync';
import lockfile from 'proper-lockfile';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-'));
const reports = join(work, 'reports');
const env = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata') };
const samples = join(ROOT, 'data', 'samples');

/**
 * `recon runs list` output with its variable columns made stable: each run id replaced by its
 * label in `labels` and each timestamp by `<started>`, both padded to the width they replace so
 * the alignment is still checked (trailing blanks trimmed). An id not in `labels` becomes
 * `<unknown run>`. Returns the lines.
 */
function normaliseRunsTable(text: string, labels: ReadonlyMap<string, string>): string[] {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) =>
      (labels.get(id) ?? '<unknown run>').padEnd(id.length),
    )
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, (time) => '<started>'.padEnd(time.length))
    .split('\n')
    .map((line) => line.trimEnd());
}

function noStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
}

describe('recon CLI on the embedded database and the bundled sample day', () => {
  let stripeRunId = '';
  let paypalRunId = '';
  let squareRunId = '';
  let squareRerunId = '';

  it('reconciles the sample day for three processors and exits 0', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        'paypal',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--json',
      ],
      env,
    );
    expect(result.stderr).not.toContain('recon: ');
    expect(result.code).toBe(0);
    const runs = jsonLines(result.stdout);
    expect(runs.map((run) => [run.processor, run.status])).toEqual([
      ['stripe', 'completed'],
      ['paypal', 'completed'],
      ['square', 'completed'],
    ]);
    const [stripe, paypal, square] = runs;
    expect(stripe).toMatchObject({
      date: DATE,
      processor_transactions: 30,
      internal_transactions: 26,
      invalid_rows: 0,
      counts: {
        matched: 23,
        missing_in_internal: 5,
        missing_in_processor: 1,
        amount_mismatch: 1,
        currency_mismatch: 0,
        status_mismatch: 1,
        duplicate: 0,
      },
      risk_level: 'HIGH',
    });
    expect(paypal).toMatchObject({
      counts: { currency_mismatch: 1, duplicate: 1, missing_in_processor: 1 },
    });
    expect(square).toMatchObject({ invalid_rows: 1, counts: { amount_mismatch: 1, duplicate: 1 } });
    stripeRunId = String(stripe?.run_id);
    paypalRunId = String(paypal?.run_id);
    squareRunId = String(square?.run_id);
    expect(stripeRunId).toMatch(/^[0-9a-f-]{36}$/);

    // Every log line about a run carries its run id; logs are JSON on stderr.
    const runLogs = result.logs.filter((line) => line.processor === 'stripe');
    expect(runLogs.length).toBeGreaterThanOrEqual(3);
    expect(runLogs.every((line) => line.run_id === stripeRunId)).toBe(true);
  });

  it('writes a CSV and a JSON report per processor, with formula-like text neutralised', () => {
    const dir = join(reports, `stripe_${DATE}`);
    const csv = readFileSync(join(dir, `reconciliation_report_stripe_${DATE}.csv`), 'utf8');
    const rows: Record<string, string>[] = parse(csv, { columns: true });
    expect(rows).toHaveLength(8);
    expect(rows.filter((row) => row.kind === 'missing_in_internal')).toHaveLength(5);
    const formula = rows.find((row) => row.transaction_id === 'ch_3Sample0003');
    expect(formula?.description).toBe('\'=HYPERLINK("http://example.invalid","click")');
    for (const row of rows) expect(row.description ?? '').not.toMatch(/^[=+\-@]/);
    const json = JSON.parse(
      readFileSync(join(dir, `reconciliation_report_stripe_${DATE}.json`), 'utf8'),
    ) as {
      report_metadata: { run_id: string };
      reconciliation_summary: {
        processor_transactions: number;
        counts: { missing_in_internal: number };
      };
      missing_transactions: { transaction_id: string; amount: string; currency: string }[];
      financial_impact: { risk_level: string; compliance_status: string };
    };
    expect(json.report_metadata.run_id).toBe(stripeRunId);
    expect(json.reconciliation_summary.processor_transactions).toBe(30);
    expect(json.missing_transactions.map((m) => m.transaction_id)).toEqual([
      'ch_3Sample0001',
      'ch_3Sample0002',
      'ch_3Sample0003',
      'ch_3Sample0004',
      'ch_3Sample0005',
    ]);
    expect(json.missing_transactions[0]).toMatchObject({ amount: '306.62', currency: 'EUR' });
    expect(json.financial_impact).toEqual(
      expect.objectContaining({ risk_level: 'HIGH', compliance_status: 'NON_COMPLIANT' }),
    );
  });

  it('prints a short human summary without --json', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('square 2025-09-30: completed');
    expect(result.stdout).toContain('1 invalid row, risk MEDIUM');
    expect(result.stdout).toContain(`reconciliation_report_square_${DATE}.csv`);
    squareRerunId = /^ {2}run ([0-9a-f-]{36})/m.exec(result.stdout)?.[1] ?? '';
    expect(squareRerunId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('supersedes the earlier run when a date is reconciled again, keeping history', async () => {
    const rerun = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--json',
      ],
      env,
    );
    expect(rerun.code).toBe(0);
    const newId = String(jsonLines(rerun.stdout)[0]?.run_id);
    const list = await runCli(
      ['runs', 'list', '--date', DATE, '--processor', 'stripe', '--json'],
      env,
    );
    expect(list.code).toBe(0);
    const runs = JSON.parse(list.stdout) as {
      run_id: string;
      status: string;
      superseded_by: string | null;
    }[];
    expect(runs.map((run) => [run.run_id, run.status, run.superseded_by])).toEqual([
      [newId, 'completed', null],
      [stripeRunId, 'superseded', newId],
    ]);
    const show = await runCli(['runs', 'show', newId], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('missing_in_internal');
    expect(show.stdout).toContain('ch_3Sample0001');
    const table = await runCli(['runs', 'list'], env);
    expect(table.code).toBe(0);
    const labels = new Map([
      [stripeRunId, 'stripe first run'],
      [paypalRunId, 'paypal run'],
      [squareRunId, 'square first run'],
      [squareRerunId, 'square rerun'],
      [newId, 'stripe rerun'],
    ]);
    expect(normaliseRunsTable(table.stdout, labels)).toEqual([
      'run_id                                date        processor  status      processor_txns  matched  discrepancies  missing  risk    delivered  started',
      '------------------------------------  ----------  ---------  ----------  --------------  -------  -------------  -------  ------  ---------  ------------------------',
      'stripe rerun                          2025-09-30  stripe     completed   30              23       8              5        HIGH    -          <started>',
      'square rerun                          2025-09-30  square     completed   120             119      2              0        MEDIUM  -          <started>',
      'square first run                      2025-09-30  square     superseded  120             119      2              0        MEDIUM  -          <started>',
      'paypal run                            2025-09-30  paypal     completed   41              39       3              0        HIGH    -          <started>',
      'stripe first run                      2025-09-30  stripe     superseded  30              23       8              5        HIGH    -          <started>',
      '',
    ]);
  });

  it('does not write to the database on a dry run', async () => {
    const dryReports = join(work, 'dry');
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'paypal',
        '--data-dir',
        samples,
        '--reports-dir',
        dryReports,
        '--dry-run',
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({ status: 'completed', dry_run: true });
    expect(
      existsSync(join(dryReports, `paypal_${DATE}`, `reconciliation_report_paypal_${DATE}.json`)),
    ).toBe(true);
    const list = await runCli(['runs', 'list', '--processor', 'paypal', '--json'], env);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(1);
  });

  it('exits 5 at once when another run for the same date and processor holds the lock', async () => {
    const lockDir = join(work, 'db', 'locks');
    mkdirSync(lockDir, { recursive: true });
    const release = await lockfile.lock(join(lockDir, `recon-run_${DATE}_stripe`), {
      realpath: false,
    });
    try {
      const started = Date.now();
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
          reports,
        ],
        env,
      );
      expect(result.code).toBe(5);
      expect(result.stderr).toContain(
        'another reconciliation run for stripe on 2025-09-30 is in progress',
      );
      expect(Date.now() - started).toBeLessThan(15000);
    } finally {
      await release();
    }
  });

  it('exits 4 naming the expected path when an input file is missing', async () => {
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'adyen',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
      ],
      env,
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(
      `processor input not found: expected ${join(samples, DATE, 'adyen.csv')}`,
    );
    noStackTrace(result.stderr);
  });

  it('exits 4 and records a failed run when too many rows are invalid', async () => {
    const dir = join(work, 'bad', DATE);
    mkdirSync(dir, { recursive: true });
    cpSync(join(samples, DATE, 'internal_stripe.csv'), join(dir, 'internal_stripe.csv'));
    writeFileSync(
      join(dir, 'stripe.csv'),
      'transaction_id,amount,currency,status,merchant_id,created_at\n' +
        'ch_1,10.00,USD,succeeded,m1,2025-09-30T10:00:00Z\n' +
        'ch_2,1e3,USD,succeeded,m1,2025-09-30T10:00:00Z\n',
    );
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        join(work, 'bad'),
        '--reports-dir',
        reports,
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(4);
    const [run] = jsonLines(result.stdout);
    expect(run).toMatchObject({ status: 'failed', exit_code: 4 });
    expect(String(run?.error)).toContain('1 of 2 rows are invalid');
    expect(String(run?.error)).toContain('line 3');
    const show = await runCli(['runs', 'show', String(run?.run_id), '--json'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ status: 'failed', discrepancy_count: null });
  });

  it('exits 2 with one clear line for an impossible date or an unknown processor', async () => {
    const badDate = await runCli(['run', '--date', '2025-02-30', '--processors', 'stripe'], env);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr.trim()).toBe(
      "recon: --date must be a calendar date in YYYY-MM-DD form, got '2025-02-30'",
    );
    const badProcessor = await runCli(
      ['run', '--date', DATE, '--processors', 'stripe', 'venmo'],
      env,
    );
    expect(badProcessor.code).toBe(2);
    expect(badProcessor.stderr).toContain(
      'unknown processor(s) venmo; valid processors: stripe, paypal, square, adyen',
    );
    const badFlag = await runCli(['run', '--bogus'], env);
    expect(badFlag.code).toBe(2);
    noStackTrace(badFlag.stderr + badDate.stderr + badProcessor.stderr);
  });

  it('runs a date range in order and exits with the highest code met', async () => {
    const result = await runCli(
      [
        'run',
        '--from',
        '2025-09-29',
        '--to',
        DATE,
        '--processors',
        'square',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(4);
    expect(jsonLines(result.stdout).map((run) => [run.date, run.status])).toEqual([
      ['2025-09-29', 'failed'],
      [DATE, 'completed'],
    ]);
  });

  it('verifies the audit chain of everything above', async () => {
    const result = await runCli(['db', 'verify-audit'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^audit log intact: \d+ chained entries, head [0-9a-f]{64}; \d+ completed runs match their audit entries$/m,
    );
  });

  it('answers the documented queries on the embedded database afterwards', async () => {
    const db = await PGlite.create(env.RECON_PGLITE_DIR);
    try {
      const runs = await db.query<{
        processor_name: string;
        missing_transaction_count: number | null;
        status: string;
      }>('SELECT processor_name, missing_transaction_count, status FROM reconciliation_runs;');
      expect(runs.rows).toContainEqual({
        processor_name: 'stripe',
        missing_transaction_count: 5,
        status: 'completed',
      });
      const recent = await db.query(
        'SELECT run_date, processor_name, missing_transaction_count, total_discrepancy_amount, status FROM reconciliation_runs ORDER BY start_time DESC LIMIT 10;',
      );
      expect(recent.rows.length).toBe(9);
      const missing = await db.query<{
        transaction_id: string;
        amount: string;
        merchant_id: string;
      }>('SELECT transaction_id, amount, merchant_id FROM missing_transactions LIMIT 20;');
      expect(missing.rows.map((row) => row.transaction_id)).toContain('ch_3Sample0001');
      const view = await db.query('SELECT * FROM v_recent_reconciliations LIMIT 10;');
      expect(view.rows.length).toBe(9);
    } finally {
      await db.close();
    }
  });
});
