import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

/**
 * The bundled multi-day sample data (data/samples/2025-09-30 … 2025-10-03, stripe) through the
 * built CLI on the embedded store, with each engine: the story the README walkthrough tells —
 * late arrivals resolved with their lag and counted `timing`, a late counterpart with another
 * amount reclassified, an ageing break — night by night, and the same breaks at the end.
 */
jest.setTimeout(300_000);

const samples = join(ROOT, 'data', 'samples');
const age = (a: number, b: number) => ({ '0-1': a, '2-3': b, '4-7': 0, '8-30': 0, '31+': 0 });
const counts = (
  matched: number,
  mii: number,
  mip: number,
  amount: number,
  status: number,
  timing: number,
) => ({
  matched,
  missing_in_internal: mii,
  missing_in_processor: mip,
  amount_mismatch: amount,
  currency_mismatch: 0,
  status_mismatch: status,
  duplicate: 0,
  fee_mismatch: 0,
  timing,
  basis_mismatch_suspected: 0,
});

describe.each(['memory', 'postgres'])('the bundled sample nights with --engine %s', (engine) => {
  const work = mkdtempSync(join(tmpdir(), `recon-sample-nights-${engine}-`));
  const env = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata'), USER: 'tester' };

  it('carries, resolves, reclassifies and ages the 2025-09-30 items over three more nights', async () => {
    const result = await runCli(
      [
        'run',
        '--from',
        '2025-09-30',
        '--to',
        '2025-10-03',
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        join(work, 'reports'),
        '--engine',
        engine,
        '--json',
      ],
      env,
    );
    expect(result.stderr).not.toContain('recon: ');
    expect(result.code).toBe(0);
    const nights = jsonLines(result.stdout).map((r) => [r.date, r.status, r.counts, r.breaks]);
    expect(nights).toEqual([
      [
        '2025-09-30',
        'completed',
        counts(23, 5, 1, 1, 1, 0),
        { new: 8, resolved: 0, reclassified: 0, pending: 0, open: 8, open_by_age: age(8, 0) },
      ],
      [
        '2025-10-01',
        'completed',
        counts(8, 1, 1, 1, 0, 2),
        { new: 2, resolved: 2, reclassified: 1, pending: 0, open: 8, open_by_age: age(8, 0) },
      ],
      [
        '2025-10-02',
        'completed',
        counts(8, 0, 0, 0, 0, 2),
        { new: 0, resolved: 2, reclassified: 0, pending: 0, open: 6, open_by_age: age(1, 5) },
      ],
      [
        '2025-10-03',
        'completed',
        counts(8, 1, 0, 0, 0, 1),
        { new: 1, resolved: 1, reclassified: 0, pending: 0, open: 6, open_by_age: age(1, 5) },
      ],
    ]);
    const listed = await runCli(
      ['breaks', 'list', '--processor', 'stripe', '--status', 'all', '--json'],
      env,
    );
    expect(listed.code).toBe(0);
    const breaks = (JSON.parse(listed.stdout) as Record<string, unknown>[]).map((b) => [
      b.transaction_id,
      b.kind,
      b.status,
      b.origin_date,
      b.age_days,
      b.amount,
      b.currency,
      b.resolution,
      b.lag_days,
    ]);
    expect(breaks).toEqual([
      [
        'ch_3Sample0001',
        'missing_in_internal',
        'resolved',
        '2025-09-30',
        3,
        '306.62',
        'EUR',
        'late_arrival',
        1,
      ],
      [
        'ch_3Sample0002',
        'missing_in_internal',
        'resolved',
        '2025-09-30',
        3,
        '6.29',
        'USD',
        'late_arrival',
        1,
      ],
      ['ch_3Sample0003', 'amount_mismatch', 'open', '2025-09-30', 3, '179.04', 'USD', null, null],
      [
        'ch_3Sample0004',
        'missing_in_internal',
        'resolved',
        '2025-09-30',
        3,
        '79.61',
        'EUR',
        'late_arrival',
        3,
      ],
      [
        'ch_3Sample0005',
        'missing_in_internal',
        'open',
        '2025-09-30',
        3,
        '472.87',
        'USD',
        null,
        null,
      ],
      ['ch_3Sample0010', 'amount_mismatch', 'open', '2025-09-30', 3, '191.46', 'EUR', null, null],
      ['ch_3Sample0014', 'status_mismatch', 'open', '2025-09-30', 3, '295.85', 'USD', null, null],
      [
        'ch_3SampleLEDGER01',
        'missing_in_processor',
        'resolved',
        '2025-09-30',
        3,
        '42.00',
        'USD',
        'late_arrival',
        2,
      ],
      [
        'ch_3S1001x0009',
        'missing_in_internal',
        'resolved',
        '2025-10-01',
        2,
        '58.40',
        'USD',
        'late_arrival',
        1,
      ],
      [
        'ch_3SampleLEDGER02',
        'missing_in_processor',
        'open',
        '2025-10-01',
        2,
        '120.00',
        'USD',
        null,
        null,
      ],
      [
        'ch_3S1003x0009',
        'missing_in_internal',
        'open',
        '2025-10-03',
        0,
        '215.00',
        'EUR',
        null,
        null,
      ],
    ]);
    const verify = await runCli(['db', 'verify-audit'], env);
    expect(verify.code).toBe(0);
  });
});
