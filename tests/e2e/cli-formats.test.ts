import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

/**
 * One run per processor export format through the built CLI (`--dry-run`), each against a small
 * ledger written here: the format is detected from the file, the processor's amounts and ids
 * meet the canonical ledger's.
 */
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-formats-'));
const reports = join(work, 'reports');
const samples = join(ROOT, 'tests', 'fixtures', 'samples');
const derived = join(ROOT, 'tests', 'fixtures', 'formats');
const baseEnv = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata'), LOG_LEVEL: 'warn' };

const LEDGER_HEADER =
  'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';

function ledger(name: string, rows: string[]): string {
  const path = join(work, name);
  writeFileSync(path, `${LEDGER_HEADER}\n${rows.join('\n')}\n`);
  return path;
}

function run(
  processor: string,
  date: string,
  processorFile: string,
  internalFile: string,
  env: Record<string, string> = {},
  extra: string[] = [],
) {
  return runCli(
    [
      'run',
      '--date',
      date,
      '--processors',
      processor,
      '--processor-file',
      processorFile,
      '--internal-file',
      internalFile,
      '--reports-dir',
      reports,
      '--dry-run',
      '--json',
      ...extra,
    ],
    { ...baseEnv, ...env },
  );
}

interface Finding {
  check: string;
  severity: string;
  line: number | null;
  reason: string;
}

function findings(processor: string, date: string): Finding[] {
  const path = join(
    reports,
    `${processor}_${date}`,
    `reconciliation_report_${processor}_${date}.json`,
  );
  const report = JSON.parse(readFileSync(path, 'utf8')) as {
    data_quality: { findings: Finding[] };
  };
  return report.data_quality.findings;
}

describe('recon run on processor exports (format detection)', () => {
  it('stripe: reconciles the balance report sample against a ledger', async () => {
    const internal = ledger('ledger_stripe.csv', [
      'ch_123,25.00,USD,settled,acct_live,2026-01-30T10:11:12Z,0.95,Order 1',
      're_123,-10.00,USD,refunded,acct_live,2026-01-30T12:30:00Z,,Refund of order 1',
      'Re_1234,10.00,USD,settled,acct_live,2026-01-30T12:30:00Z,,Order 2',
      'ch_999,5.00,USD,settled,acct_live,2026-01-30T13:00:00Z,,Order 3',
    ]);
    const result = await run(
      'stripe',
      '2026-01-30',
      join(samples, 'stripe', 'smashpig__settlement_report.csv'),
      internal,
    );
    expect(result.stderr).not.toContain('recon: ');
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      processor: 'stripe',
      status: 'completed',
      processor_transactions: 7,
      internal_transactions: 4,
      invalid_rows: 0,
      // the two fee rows, the dispute reversal and the payout are not in this ledger
      counts: { matched: 3, missing_in_internal: 4, missing_in_processor: 1, amount_mismatch: 0 },
    });
    expect(findings('stripe', '2026-01-30')).toContainEqual(
      expect.objectContaining({ check: 'net_mismatch', severity: 'warning', line: 8 }),
    );
  });

  it('paypal: reconciles the Spanish statement with RECON_PAYPAL_DATE_ORDER=dmy', async () => {
    const internal = ledger('ledger_paypal_es.csv', [
      'TID1,49.37,EUR,settled,shop,2020-01-02T10:05:56Z,1.78,',
      'TID2,28.82,EUR,settled,shop,2020-01-02T12:06:07Z,1.19,',
      'TID3,35.87,EUR,settled,shop,2020-01-02T18:20:05Z,1.39,',
    ]);
    const file = join(samples, 'paypal', 'oca__statement_es.csv');
    const env = { RECON_PAYPAL_DATE_ORDER: 'dmy', RECON_TIMEZONE: 'Europe/Berlin' };
    const result = await run('paypal', '2020-01-02', file, internal, env);
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      processor_transactions: 4,
      counts: { matched: 2, amount_mismatch: 1, missing_in_internal: 1 },
    });
    // TID4 is dated 3/1/2020 09:44 in Berlin: outside the business date
    expect(findings('paypal', '2020-01-02')).toContainEqual(
      expect.objectContaining({ check: 'outside_business_date', line: 5 }),
    );

    const ambiguous = await run('paypal', '2020-01-02', file, internal, {
      RECON_TIMEZONE: 'Europe/Berlin',
    });
    expect(ambiguous.code).toBe(4);
    expect(ambiguous.stderr).toContain('the date order is ambiguous');
    expect(ambiguous.stderr).toContain('set RECON_PAYPAL_DATE_ORDER=dmy (day first) or mdy');
  });

  it('paypal: reconciles the settlement report (STL) and reports its footer findings', async () => {
    const internal = ledger('ledger_paypal_stl.csv', [
      '5678,52.00,AUD,settled,EZ782AXEUJUW8,2026-01-06T08:00:30Z,2.25,',
      '6789,5.35,AUD,settled,EZ782AXEUJUW8,2026-01-06T08:06:02Z,0.75,',
      '68C7,8.34,GBP,settled,EZ782AXEUJUW8,2026-01-07T07:31:39Z,0.87,',
      '6899,-1.34,GBP,refunded,EZ782AXEUJUW8,2026-01-07T07:31:39Z,-0.47,',
    ]);
    const result = await run(
      'paypal',
      '2026-01-06',
      join(samples, 'paypal', 'smashpig__stl.csv'),
      internal,
      { RECON_TIMEZONE: 'America/Los_Angeles' },
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      processor_transactions: 4,
      internal_transactions: 4,
      counts: { matched: 4 },
    });
    const found = findings('paypal', '2026-01-06');
    expect(found.filter((f) => f.check === 'footer_total').map((f) => f.line)).toEqual([8, 10]);
    expect(found.some((f) => f.check === 'outside_business_date')).toBe(false);
  });

  it('adyen: reconciles a settlement details report and checks its batch', async () => {
    const internal = ledger('ledger_adyen.csv', [
      '8815000000000001,100.00,EUR,settled,MerchantEU,2026-03-01T09:15:00Z,2.35,order-1001',
      '8815000000000002,250.50,EUR,settled,MerchantEU,2026-03-01T13:30:00Z,5.50,order-1002',
      '8825000000000003,-20.00,EUR,refunded,MerchantEU,2026-03-01T15:00:00Z,0.12,refund-0999',
      '8825000000000004,-50.00,EUR,refunded,MerchantEU,2026-03-01T17:45:00Z,,chargeback',
      '8815000000000005,30.50,EUR,settled,MerchantEU,2026-03-01T22:30:00Z,0.29,order-1003',
      '8815000000000006,12.00,EUR,settled,MerchantEU,2026-03-01T23:00:00Z,,order-1004',
    ]);
    const result = await run(
      'adyen',
      '2026-03-01',
      join(derived, 'adyen_settlement_detail_batch_500.csv'),
      internal,
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      processor_transactions: 5,
      internal_transactions: 6,
      counts: { matched: 4, amount_mismatch: 1, missing_in_processor: 1 },
    });
    expect(findings('adyen', '2026-03-01')).toContainEqual(
      expect.objectContaining({
        check: 'batch_balance',
        severity: 'info',
        reason: 'batch 500 EUR: net of the rows 302.15 = paid out or carried over 302.15',
      }),
    );
  });

  it('adyen: the OCA batch 238 sample just works (batch-level rows only)', async () => {
    const internal = ledger('ledger_adyen_empty.csv', []);
    const result = await run(
      'adyen',
      '2022-03-01',
      join(samples, 'adyen', 'oca__settlement_detail_report_batch_238.csv'),
      internal,
    );
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      processor_transactions: 0,
      invalid_rows: 0,
    });
    expect(findings('adyen', '2022-03-01')).toContainEqual(
      expect.objectContaining({ check: 'batch_balance', severity: 'info' }),
    );
  });

  it('rejects an unrecognised header with exit 4 and an unknown --format with exit 2', async () => {
    const internal = ledger('ledger_any.csv', []);
    const odd = join(work, 'odd.csv');
    writeFileSync(odd, 'when,how much\n2026-01-01,1\n');
    const unknown = await run('stripe', '2026-01-01', odd, internal);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('unrecognised header (found: when, how much)');
    expect(unknown.stderr).toContain('adyen-settlement-detail (Company Account');

    const bad = await run('stripe', '2026-01-01', odd, internal, {}, ['--format', 'xlsx']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown --format 'xlsx'; known formats: canonical,");
  });
});
