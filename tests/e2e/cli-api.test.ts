import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';
import {
  canonicalSamplePath,
  loadCanonicalRows,
  startFakeLedger,
  startFakePaypal,
  startFakeSquare,
  startFakeStripe,
  toLedgerEntry,
  toPaypalTransactionDetail,
  toSquarePayment,
  toStripeBalanceTransaction,
  type FakeServer,
} from '../helpers/fake-apis';

const DATE = '2025-09-30';
const PROCESSORS = ['stripe', 'paypal', 'square'] as const;
const SECRETS = {
  STRIPE_API_KEY: 'sk_test_e2e_secret_0001',
  PAYPAL_CLIENT_SECRET: 'paypal-e2e-secret-0002',
  SQUARE_ACCESS_TOKEN: 'sq0atp-e2e-secret-0003',
  INTERNAL_API_TOKEN: 'ledger-e2e-secret-0004',
};
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-api-'));
const samples = join(ROOT, 'data', 'samples');
const servers: FakeServer[] = [];
let apiEnv: Record<string, string> = {};

interface ReportDiscrepancy {
  kind: string;
  transaction_id: string;
  difference: string | null;
  processor: { amount: string; currency: string } | null;
  internal: { amount: string; currency: string } | null;
}

/** The comparable part of a JSON report: each discrepancy's kind, id and money. */
function discrepanciesOf(reportsDir: string, processor: string): string[] {
  const file = join(
    reportsDir,
    `${processor}_${DATE}`,
    `reconciliation_report_${processor}_${DATE}.json`,
  );
  const report = JSON.parse(readFileSync(file, 'utf8')) as { discrepancies: ReportDiscrepancy[] };
  return report.discrepancies
    .map((d) =>
      [
        d.kind,
        d.transaction_id,
        d.processor?.amount,
        d.processor?.currency,
        d.internal?.amount,
        d.internal?.currency,
        d.difference,
      ].join('|'),
    )
    .sort();
}

beforeAll(async () => {
  const rows = (name: string) => loadCanonicalRows(canonicalSamplePath(name));
  const stripe = await startFakeStripe({
    apiKey: SECRETS.STRIPE_API_KEY,
    transactions: rows('stripe').map(toStripeBalanceTransaction),
  });
  const paypal = await startFakePaypal({
    clientId: 'e2e-client',
    clientSecret: SECRETS.PAYPAL_CLIENT_SECRET,
    transactions: rows('paypal').map(toPaypalTransactionDetail),
  });
  // A USD amount with three decimals cannot be expressed in Square's integer minor units.
  const square = await startFakeSquare({
    accessToken: SECRETS.SQUARE_ACCESS_TOKEN,
    payments: rows('square')
      .filter((row) => row.transaction_id !== 'sq_pay_INVALID')
      .map(toSquarePayment),
  });
  const ledger = await startFakeLedger({
    token: SECRETS.INTERNAL_API_TOKEN,
    style: 'cursor',
    entries: PROCESSORS.flatMap((processor) =>
      rows(`internal_${processor}`).map((row) => toLedgerEntry(row, processor)),
    ),
  });
  servers.push(stripe, paypal, square, ledger);
  apiEnv = {
    ...SECRETS,
    STRIPE_API_BASE_URL: stripe.baseUrl,
    PAYPAL_CLIENT_ID: 'e2e-client',
    PAYPAL_API_BASE_URL: paypal.baseUrl,
    SQUARE_API_BASE_URL: square.baseUrl,
    INTERNAL_API_BASE_URL: ledger.baseUrl,
    HTTP_RETRY_BASE_MS: '10',
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
  };
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe('recon run --source api against local processor and ledger APIs', () => {
  const csvReports = join(work, 'csv-reports');
  const apiReports = join(work, 'api-reports');

  it('reconciles the sample day from the APIs with the same discrepancies as from the CSV files', async () => {
    const csv = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        ...PROCESSORS,
        '--data-dir',
        samples,
        '--reports-dir',
        csvReports,
        '--dry-run',
        '--json',
      ],
      { RECON_PGLITE_DIR: join(work, 'unused') },
    );
    expect(csv.code).toBe(0);
    const api = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        ...PROCESSORS,
        '--source',
        'api',
        '--reports-dir',
        apiReports,
        '--json',
      ],
      apiEnv,
    );
    expect(api.stderr).not.toMatch(/^recon: /m);
    expect(api.code).toBe(0);
    const [csvRuns, apiRuns] = [jsonLines(csv.stdout), jsonLines(api.stdout)];
    expect(apiRuns.map((run) => run.status)).toEqual(['completed', 'completed', 'completed']);
    for (const processor of PROCESSORS) {
      expect(discrepanciesOf(apiReports, processor)).toEqual(
        discrepanciesOf(csvReports, processor),
      );
    }
    // Same counts, except what the API cannot carry: PayPal's PAYID-NS0026 is dated the next day
    // (the API window leaves it out on both sides) and Square's invalid CSV row.
    const counts = (runs: Record<string, unknown>[]) => runs.map((run) => run.counts);
    const csvCounts = counts(csvRuns) as { matched: number }[];
    const expected = csvCounts.map((c, index) =>
      index === 1 ? { ...c, matched: c.matched - 1 } : c,
    );
    expect(counts(apiRuns)).toEqual(expected);
    expect(apiRuns[2]).toMatchObject({ invalid_rows: 0 });
    expect(csvRuns[2]).toMatchObject({ invalid_rows: 1 });
  });

  it('never shows a key or token in output, logs or reports', () => {
    const reportText = PROCESSORS.map((processor) =>
      ['csv', 'json']
        .map((ext) =>
          readFileSync(
            join(
              apiReports,
              `${processor}_${DATE}`,
              `reconciliation_report_${processor}_${DATE}.${ext}`,
            ),
            'utf8',
          ),
        )
        .join(''),
    ).join('');
    for (const secret of Object.values(SECRETS)) expect(reportText).not.toContain(secret);
  });

  it('mixes a processor API with a ledger CSV export', async () => {
    const reports = join(work, 'mixed');
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-source',
        'api',
        '--internal-source',
        'csv',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--dry-run',
        '--json',
      ],
      apiEnv,
    );
    expect(result.code).toBe(0);
    for (const secret of Object.values(SECRETS))
      expect(result.stdout + result.stderr).not.toContain(secret);
    expect(discrepanciesOf(reports, 'stripe')).toEqual(discrepanciesOf(csvReports, 'stripe'));
  });

  it('saves the fetched pages and replays them without the APIs', async () => {
    const raw = join(work, 'raw');
    const saved = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'square',
        '--source',
        'api',
        '--save-raw',
        raw,
        '--reports-dir',
        join(work, 'r1'),
        '--dry-run',
      ],
      apiEnv,
    );
    expect(saved.code).toBe(0);
    expect(readdirSync(join(raw, DATE, 'square'))).toEqual(['internal', 'processor']);
    const replay = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'square',
        '--source',
        'raw',
        '--raw-dir',
        raw,
        '--reports-dir',
        join(work, 'r2'),
        '--dry-run',
      ],
      { RECON_PGLITE_DIR: join(work, 'unused') },
    );
    expect(replay.code).toBe(0);
    expect(discrepanciesOf(join(work, 'r2'), 'square')).toEqual(
      discrepanciesOf(join(work, 'r1'), 'square'),
    );
  });

  it('exits 2 naming the missing credential when an API is not configured', async () => {
    const result = await runCli(
      ['run', '--date', DATE, '--processors', 'square', '--source', 'api', '--dry-run'],
      {
        RECON_PGLITE_DIR: join(work, 'unused'),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the square API source needs SQUARE_ACCESS_TOKEN');
  });

  it('exits 2 with one line when the processor rejects the credentials', async () => {
    const result = await runCli(
      ['run', '--date', DATE, '--processors', 'stripe', '--source', 'api', '--dry-run'],
      {
        ...apiEnv,
        STRIPE_API_KEY: 'sk_test_wrong_key',
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^recon: stripe 2025-09-30: stripe API \/v1\/balance_transactions: HTTP 401, credentials rejected: /m,
    );
    expect(result.stderr).not.toContain('sk_test_wrong_key');
  });
});
