import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';

/**
 * `recon run` with the default fee rules (no rules file) on generated canonical files: the
 * ledger books the net of ch_net (a basis mix-up), ch_fee's fees differ, ch_ok matches, and the
 * Stripe export's ch_bad reports a net that is not gross − fee.
 */
describe('recon run: fees with the default rules', () => {
  it('reports fee_mismatch, basis_mismatch_suspected, net_mismatch and the fee block (exit 0)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'recon-e2e-fees-'));
    const day = join(cwd, 'data', DATE);
    mkdirSync(day, { recursive: true });
    writeFileSync(
      join(day, 'stripe.csv'),
      'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id\n' +
        `txn_1,${DATE} 10:00:00,usd,100.00,3.20,96.80,charge,ch_net\n` +
        `txn_2,${DATE} 11:00:00,usd,50.00,1.75,48.25,charge,ch_fee\n` +
        `txn_3,${DATE} 12:00:00,usd,20.00,0.88,19.12,charge,ch_ok\n` +
        `txn_4,${DATE} 13:00:00,usd,10.00,0.59,9.00,charge,ch_bad\n`,
    );
    writeFileSync(
      join(day, 'internal_stripe.csv'),
      [
        HEADER,
        `ch_net,96.80,USD,settled,m1,${DATE}T10:00:00Z,,`,
        `ch_fee,50.00,USD,settled,m1,${DATE}T11:00:00Z,1.50,`,
        `ch_ok,20.00,USD,settled,m1,${DATE}T12:00:00Z,0.88,`,
        `ch_bad,10.00,USD,settled,m1,${DATE}T13:00:00Z,,`,
        '',
      ].join('\n'),
    );
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--data-dir',
        'data',
        '--dry-run',
        '--json',
      ],
      { RECON_PGLITE_DIR: join(cwd, 'pg') },
      cwd,
    );
    expect(result.code).toBe(0);
    const [run] = jsonLines(result.stdout) as {
      counts: object;
      fees: object;
      reports: { json: string };
    }[];
    expect(run?.counts).toEqual({
      matched: 2,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 1,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 1,
      timing: 0,
      basis_mismatch_suspected: 1,
    });
    expect(run?.fees).toEqual({
      USD: { gross: '180.00', fees: '6.42', net: '173.17', effective_rate_bps: '356.67' },
    });
    const report = JSON.parse(readFileSync(join(cwd, run?.reports.json ?? ''), 'utf8')) as {
      discrepancies: {
        kind: string;
        transaction_id: string;
        difference: string;
        annotation?: string;
      }[];
      data_quality: { findings: { check: string; line: number; reason: string }[] };
    };
    expect(
      report.discrepancies.map((d) => [
        d.kind,
        d.transaction_id,
        d.difference,
        d.annotation ?? null,
      ]),
    ).toEqual([
      ['amount_mismatch', 'ch_net', '3.20', 'basis_mismatch_suspected'],
      ['fee_mismatch', 'ch_fee', '0.25', null],
    ]);
    expect(
      report.data_quality.findings
        .filter((f) => f.check === 'net_mismatch')
        .map((f) => [f.line, f.reason]),
    ).toEqual([[5, 'gross 10.00 - fee 0.59 != net 9.00 USD (difference 0.41)']]);
  }, 60_000);
});
