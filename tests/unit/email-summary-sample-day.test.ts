import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../../src/config/logger';
import type { MailMessage, Mailer } from '../../src/delivery/smtp-mailer';
import { parseFxRatesCsv, type FxRates } from '../../src/domain/fx-rates';
import { deliverResults, toDeliverable } from '../../src/job/deliver-results';
import {
  runReconciliation,
  type RunRequest,
  type RunResult,
} from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { DeliveryStore } from '../../src/store/delivery-store';
import { createRunStore } from '../../src/store/open-store';

/**
 * The summary e-mail of the bundled sample day (data/samples/2025-09-30: stripe, paypal, square),
 * reconciled for real into an in-memory embedded database and rendered by the delivery code.
 */

const ROOT = resolve(__dirname, '..', '..');
const RATES_FILE = 'data/fx/rates.csv';
const SAMPLE_RATES = parseFxRatesCsv(
  readFileSync(join(ROOT, RATES_FILE), 'utf8'),
  RATES_FILE,
  'USD',
);
const NOW = Date.parse('2025-10-01T01:00:00Z');
const silent = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };
const logger = silent as unknown as Logger;

interface SampleEmail {
  readonly mail: MailMessage;
  /**
   * `text` with the temporary reports directory replaced by `<reports>`, audit heads by
   * `<audit head>` and short break ids (random uuids) by `<id>`.
   */
  readonly text: string;
}

const work = mkdtempSync(join(tmpdir(), 'recon-email-'));
const store = createRunStore({
  kind: 'pglite',
  settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
});
const request: RunRequest = {
  dates: ['2025-09-30'],
  processors: ['stripe', 'paypal', 'square'],
  timeZone: 'UTC',
  sources: { processorSource: 'csv', internalSource: 'csv', dataDir: join(ROOT, 'data/samples') },
  reportsDir: join(work, 'reports'),
  dryRun: false,
  maxInvalidRate: '0.01',
  appVersion: 'test',
  fx: SAMPLE_RATES,
};
const jobDeps = { store, logger, now: () => NOW, apis: { http: DEFAULT_HTTP_SETTINGS } };

async function email(results: readonly RunResult[], fx: FxRates | null): Promise<SampleEmail> {
  let mail: MailMessage | undefined;
  const mailer: Mailer = {
    description: 'capture',
    recipients: ['ops@example.com'],
    send: (message) => {
      mail = message;
      return Promise.resolve();
    },
  };
  await deliverResults(
    {
      objectStore: null,
      mailer,
      deliveries: new DeliveryStore(() => store.database()),
      logger,
      now: () => NOW,
      emailOn: 'always',
      attachMaxBytes: 1_000_000,
      presignExpirySeconds: 86_400,
      fx,
    },
    results.map(toDeliverable),
    { s3: false, email: true },
  );
  if (!mail) throw new Error('no e-mail sent');
  return {
    mail,
    text: mail.text
      .split(join(work, 'reports'))
      .join('<reports>')
      .replace(/\b[0-9a-f]{64}\b/g, '<audit head>')
      .replace(/\[break [0-9a-f]{8}\]/g, '[break <id>]'),
  };
}

let withRates: SampleEmail;
let nominal: SampleEmail;
let rerun: SampleEmail;
let firstSquareRun = '';

beforeAll(async () => {
  const results = await runReconciliation(jobDeps, request);
  withRates = await email(results, SAMPLE_RATES);
  nominal = await email(results, null);
  firstSquareRun = results.find((r) => r.processor === 'square')?.runId ?? '';
  const again = await runReconciliation(jobDeps, { ...request, processors: ['square'] });
  rerun = await email([...results.filter((r) => r.processor !== 'square'), ...again], null);
});

afterAll(async () => {
  await store.close();
});

const REPORTS = [
  'REPORTS',
  '  stripe 2025-09-30 CSV: <reports>/stripe_2025-09-30/reconciliation_report_stripe_2025-09-30.csv',
  '  stripe 2025-09-30 JSON: <reports>/stripe_2025-09-30/reconciliation_report_stripe_2025-09-30.json',
  '  paypal 2025-09-30 CSV: <reports>/paypal_2025-09-30/reconciliation_report_paypal_2025-09-30.csv',
  '  paypal 2025-09-30 JSON: <reports>/paypal_2025-09-30/reconciliation_report_paypal_2025-09-30.json',
  '  square 2025-09-30 CSV: <reports>/square_2025-09-30/reconciliation_report_square_2025-09-30.csv',
  '  square 2025-09-30 JSON: <reports>/square_2025-09-30/reconciliation_report_square_2025-09-30.json',
  '',
  'Generated 2025-10-01T01:00:00.000Z by recon. Audit heads (recon db verify-audit --expect-head): stripe 2025-09-30 <audit head>; paypal 2025-09-30 <audit head>; square 2025-09-30 <audit head>.',
];

const QUALITY = [
  'DATA QUALITY',
  '  paypal 2025-09-30: 2 outside business date (warning)',
  '    paypal.csv line 27 created_at: dated 2025-10-01, not the business date 2025-09-30 (UTC)',
  '    internal_paypal.csv line 27 created_at: dated 2025-10-01, not the business date 2025-09-30 (UTC)',
  '  paypal 2025-09-30: 1 duplicate ids (warning)',
  '  square 2025-09-30: 1 invalid row (error)',
  '    square.csv line 52 amount: amount has more decimals than the currency allows (USD has 2 decimals)',
  '  square 2025-09-30: 1 duplicate ids (warning)',
  '',
];

describe('summary e-mail of the sample day', () => {
  it('ranks the largest discrepancies across processors in USD (the whole text part): Square’s 156.280 KWD duplicate first', () => {
    const { mail, text } = withRates;
    expect(mail.subject).toBe(
      '[recon] 2025-09-30: 13 new breaks, 13 open (0 > 7 days), 0 resolved',
    );
    expect(text).toBe(
      [
        'Reconciliation 2025-09-30: 13 new breaks, 13 open (0 > 7 days), 0 resolved',
        '',
        'NEEDS ACTION',
        '  stripe 2025-09-30: 8 new breaks, 8 open (0 > 7 days), 0 resolved',
        '    New breaks (8)',
        '      missing in internal ch_3Sample0001: 306.62 EUR, opened 2025-09-30 [break <id>]',
        '      missing in internal ch_3Sample0002: 6.29 USD, opened 2025-09-30 [break <id>]',
        '      missing in internal ch_3Sample0003: 179.04 USD, opened 2025-09-30 [break <id>]',
        '      missing in internal ch_3Sample0004: 79.61 EUR, opened 2025-09-30 [break <id>]',
        '      missing in internal ch_3Sample0005: 472.87 USD, opened 2025-09-30 [break <id>]',
        '      amount mismatch ch_3Sample0010: 191.46 EUR, opened 2025-09-30 [break <id>]',
        '      status mismatch ch_3Sample0014: 295.85 USD, opened 2025-09-30 [break <id>]',
        '      missing in processor ch_3SampleLEDGER01: 42.00 USD, opened 2025-09-30 [break <id>]',
        '    Escalations: open longer than 7 days (0)',
        '    Resolved today (0)',
        '    Open breaks by age (days: count, amount per currency)',
        '      0-1        8  577.69 EUR, 996.05 USD',
        '      2-3        0  -',
        '      4-7        0  -',
        '      8-30       0  -',
        '      31+        0  -',
        '  paypal 2025-09-30: 3 new breaks, 3 open (0 > 7 days), 0 resolved',
        '    New breaks (3)',
        '      currency mismatch PAYID-NS0018: 217 JPY, opened 2025-09-30 [break <id>]',
        '      duplicate PAYID-NS0031: 356 JPY, opened 2025-09-30 [break <id>]',
        '      missing in processor PAYID-NSLEDGER01: 99.99 USD, opened 2025-09-30 [break <id>]',
        '    Escalations: open longer than 7 days (0)',
        '    Resolved today (0)',
        '    Open breaks by age (days: count, amount per currency)',
        '      0-1        3  573 JPY, 99.99 USD',
        '      2-3        0  -',
        '      4-7        0  -',
        '      8-30       0  -',
        '      31+        0  -',
        '  square 2025-09-30: 2 new breaks, 2 open (0 > 7 days), 0 resolved',
        '    New breaks (2)',
        '      amount mismatch sq_pay_0001: 142.911 KWD, opened 2025-09-30 [break <id>]',
        '      duplicate sq_pay_0060: 156.280 KWD, opened 2025-09-30 [break <id>]',
        '    Escalations: open longer than 7 days (0)',
        '    Resolved today (0)',
        '    Open breaks by age (days: count, amount per currency)',
        '      0-1        2  299.191 KWD',
        '      2-3        0  -',
        '      4-7        0  -',
        '      8-30       0  -',
        '      31+        0  -',
        '',
        'OVERVIEW',
        '  stripe 2025-09-30 — HIGH risk',
        '    matched       23',
        '    discrepancies 8 (25.81%): 5 missing in internal, 1 missing in processor, 1 amount mismatch, 1 status mismatch',
        '    at stake      387.23 EUR, 996.05 USD (≈ 1,449.11 USD)',
        '    fees          EUR 2,685.88 gross, 81.13 fees, 2,604.75 net (302.06 bps); USD 4,166.81 gross, 139.65 fees, 4,027.16 net (335.15 bps)',
        '    inputs        30 processor, 26 ledger transactions',
        '  paypal 2025-09-30 — HIGH risk',
        '    matched       39',
        '    discrepancies 3 (7.14%): 1 missing in processor, 1 currency mismatch, 1 duplicate',
        '    at stake      573 JPY, 99.99 USD (≈ 103.83 USD)',
        '    fees          USD 1,854.80 gross, 56.75 fees, 1,798.05 net (305.96 bps); EUR 4,406.19 gross, 137.49 fees, 4,268.70 net (312.04 bps); JPY 4,784 gross, 134 fees, 4,650 net (280.10 bps)',
        '    inputs        41 processor, 41 ledger transactions',
        '  square 2025-09-30 — MEDIUM risk',
        '    matched       119',
        '    discrepancies 2 (1.65%): 1 amount mismatch, 1 duplicate',
        '    at stake      156.285 KWD (≈ 511.05 USD)',
        '    fees          KWD 6,271.221 gross, 182.751 fees, 6,088.470 net (291.41 bps); USD 15,223.57 gross, 459.78 fees, 14,763.79 net (302.02 bps); JPY 6,970 gross, 189 fees, 6,781 net (271.16 bps)',
        '    inputs        120 processor, 121 ledger transactions, 1 invalid row',
        '',
        'LARGEST DISCREPANCIES (ACROSS PROCESSORS, USD)',
        '  Ranked by the amount at stake converted to USD at the rates of 2025-09-30 in data/fx/rates.csv.',
        '  1. square duplicate sq_pay_0060 (merchant merch_002): 156.280 KWD ≈ 511.04 USD',
        '     processor —',
        '     ledger    156.280 KWD settled (line 62)',
        '  2. stripe missing in internal ch_3Sample0005 (merchant merch_007): 472.87 USD ≈ 472.87 USD',
        '     processor 472.87 USD succeeded (line 6)',
        '     ledger    —',
        '  3. stripe missing in internal ch_3Sample0001 (merchant merch_010): 306.62 EUR ≈ 358.75 USD',
        '     processor 306.62 EUR succeeded (line 2)',
        '     ledger    —',
        '  4. stripe status mismatch ch_3Sample0014 (merchant merch_011): 295.85 USD ≈ 295.85 USD',
        '     processor 295.85 USD succeeded (line 15)',
        '     ledger    295.85 USD pending (line 10)',
        '  5. stripe missing in internal ch_3Sample0003 (merchant merch_001): 179.04 USD ≈ 179.04 USD',
        '     processor 179.04 USD succeeded (line 4)',
        '     ledger    —',
        '  6. paypal missing in processor PAYID-NSLEDGER01 (merchant merch_009): 99.99 USD ≈ 99.99 USD',
        '     processor —',
        '     ledger    99.99 USD settled (line 42)',
        '  7. stripe missing in internal ch_3Sample0004 (merchant merch_007): 79.61 EUR ≈ 93.14 USD',
        '     processor 79.61 EUR succeeded (line 5)',
        '     ledger    —',
        '  8. stripe missing in processor ch_3SampleLEDGER01 (merchant merch_008): 42.00 USD ≈ 42.00 USD',
        '     processor —',
        '     ledger    42.00 USD settled (line 27)',
        '  9. stripe missing in internal ch_3Sample0002 (merchant merch_004): 6.29 USD ≈ 6.29 USD',
        '     processor 6.29 USD succeeded (line 3)',
        '     ledger    —',
        '  10. paypal duplicate PAYID-NS0031 (merchant merch_007): 356 JPY ≈ 2.39 USD',
        '      processor 356 JPY Completed (line 42)',
        '      ledger    —',
        '',
        ...QUALITY,
        ...REPORTS,
      ].join('\n'),
    );
  });

  it('without a reporting currency, lists each processor’s largest per currency, never comparing currencies', () => {
    const { text } = nominal;
    const start = text.indexOf('LARGEST DISCREPANCIES');
    expect(text.slice(start, text.indexOf('DATA QUALITY'))).toBe(
      [
        'LARGEST DISCREPANCIES (PER PROCESSOR AND CURRENCY)',
        '  Amounts in different currencies are not comparable: set RECON_REPORTING_CURRENCY and RECON_FX_RATES_FILE to rank across them.',
        '  stripe EUR',
        '    1. stripe missing in internal ch_3Sample0001 (merchant merch_010): 306.62 EUR',
        '       processor 306.62 EUR succeeded (line 2)',
        '       ledger    —',
        '    2. stripe missing in internal ch_3Sample0004 (merchant merch_007): 79.61 EUR',
        '       processor 79.61 EUR succeeded (line 5)',
        '       ledger    —',
        '    3. stripe amount mismatch ch_3Sample0010 (merchant merch_011): 1.00 EUR',
        '       processor 191.46 EUR succeeded (line 11)',
        '       ledger    190.46 EUR settled (line 6)',
        '  stripe USD',
        '    1. stripe missing in internal ch_3Sample0005 (merchant merch_007): 472.87 USD',
        '       processor 472.87 USD succeeded (line 6)',
        '       ledger    —',
        '    2. stripe status mismatch ch_3Sample0014 (merchant merch_011): 295.85 USD',
        '       processor 295.85 USD succeeded (line 15)',
        '       ledger    295.85 USD pending (line 10)',
        '    3. stripe missing in internal ch_3Sample0003 (merchant merch_001): 179.04 USD',
        '       processor 179.04 USD succeeded (line 4)',
        '       ledger    —',
        '  paypal JPY',
        '    1. paypal duplicate PAYID-NS0031 (merchant merch_007): 356 JPY',
        '       processor 356 JPY Completed (line 42)',
        '       ledger    —',
        '    2. paypal currency mismatch PAYID-NS0018 (merchant merch_009): 217 JPY',
        '       processor 217 JPY Completed (line 19)',
        '       ledger    217.00 EUR settled (line 19)',
        '  paypal USD',
        '    1. paypal missing in processor PAYID-NSLEDGER01 (merchant merch_009): 99.99 USD',
        '       processor —',
        '       ledger    99.99 USD settled (line 42)',
        '  square KWD',
        '    1. square duplicate sq_pay_0060 (merchant merch_002): 156.280 KWD',
        '       processor —',
        '       ledger    156.280 KWD settled (line 62)',
        '    2. square amount mismatch sq_pay_0001 (merchant merch_007): 0.005 KWD',
        '       processor 142.911 KWD COMPLETED (line 2)',
        '       ledger    142.916 KWD settled (line 2)',
        '',
        '',
      ].join('\n'),
    );
    // The overview has no converted amounts, and the risk levels are the nominal ones.
    expect(text).toContain('    at stake      156.285 KWD\n');
    expect(text).not.toContain('≈');
  });

  it('marks a rerun with the run it supersedes, in both parts', () => {
    const { mail, text } = rerun;
    const old = firstSquareRun.slice(0, 8);
    expect(old).toMatch(/^[0-9a-f]{8}$/);
    expect(text).toContain(
      `  square 2025-09-30 — MEDIUM risk\n    rerun: supersedes run ${old}\n    matched       119\n`,
    );
    expect(mail.html).toContain(`rerun: supersedes run ${old}</span>`);
    expect(text.match(/rerun:/g)).toHaveLength(1);
  });

  it('renders the same overview and discrepancies in the HTML part, as tables', () => {
    const { mail } = withRates;
    const html = mail.html;
    const table = (cls: string): string[][] => {
      const body = new RegExp(`<table class="${cls}[^"]*"[^>]*>(.*?)</table>`, 's').exec(html)?.[1];
      return [...(body ?? '').matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((row) =>
        [...(row[1] ?? '').matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((cell) =>
          (cell[1] ?? '')
            .replace(/<br>/g, ' | ')
            .replace(/<[^>]+>/g, '')
            .replace(/&amp;/g, '&'),
        ),
      );
    };
    expect(table('overview')).toEqual([
      ['processor', 'matched', 'discrepancies', 'at stake', 'risk'],
      [
        'stripe | 2025-09-30 | 30 processor, 26 ledger transactions | fees EUR 2,685.88 gross, 81.13 fees, 2,604.75 net (302.06 bps); USD 4,166.81 gross, 139.65 fees, 4,027.16 net (335.15 bps)',
        '23 matched',
        '8 discrepancies (25.81%) | 5 missing in internal | 1 missing in processor | 1 amount mismatch | 1 status mismatch',
        'at stake 387.23 EUR | 996.05 USD | ≈ 1,449.11 USD',
        'HIGH risk',
      ],
      [
        'paypal | 2025-09-30 | 41 processor, 41 ledger transactions | fees USD 1,854.80 gross, 56.75 fees, 1,798.05 net (305.96 bps); EUR 4,406.19 gross, 137.49 fees, 4,268.70 net (312.04 bps); JPY 4,784 gross, 134 fees, 4,650 net (280.10 bps)',
        '39 matched',
        '3 discrepancies (7.14%) | 1 missing in processor | 1 currency mismatch | 1 duplicate',
        'at stake 573 JPY | 99.99 USD | ≈ 103.83 USD',
        'HIGH risk',
      ],
      [
        'square | 2025-09-30 | 120 processor, 121 ledger transactions, 1 invalid row | fees KWD 6,271.221 gross, 182.751 fees, 6,088.470 net (291.41 bps); USD 15,223.57 gross, 459.78 fees, 14,763.79 net (302.02 bps); JPY 6,970 gross, 189 fees, 6,781 net (271.16 bps)',
        '119 matched',
        '2 discrepancies (1.65%) | 1 amount mismatch | 1 duplicate',
        'at stake 156.285 KWD | ≈ 511.05 USD',
        'MEDIUM risk',
      ],
    ]);
    const largest = table('largest');
    expect(largest).toHaveLength(11);
    expect(largest.slice(0, 2)).toEqual([
      ['#', 'discrepancy', 'processor side / ledger side', 'at stake'],
      [
        '#1',
        'square duplicate | sq_pay_0060 | merchant merch_002',
        'processor — | ledger 156.280 KWD settled (line 62)',
        '156.280 KWD | ≈ 511.04 USD',
      ],
    ]);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('@media only screen and (max-width:520px)');
  });
});
