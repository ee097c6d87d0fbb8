import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

// Matching rules end to end (issue #14): generated canonical CSV files, the built CLI, --dry-run.
const DATE = '2025-09-30';
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,description,reference';

function csv(rows: string[]): string {
  return `${HEADER}\n${rows.join('\n')}\n`;
}

function files(processorRows: string[], ledgerRows: string[], rules: string) {
  const dir = mkdtempSync(join(tmpdir(), 'recon-e2e-rules-'));
  writeFileSync(join(dir, 'stripe.csv'), csv(processorRows));
  writeFileSync(join(dir, 'ledger.csv'), csv(ledgerRows));
  writeFileSync(join(dir, 'recon.config.yaml'), rules);
  return dir;
}

function run(dir: string, extra: string[] = [], env: Record<string, string> = {}) {
  return runCli(
    [
      'run',
      '--date',
      DATE,
      '--processors',
      'stripe',
      '--processor-file',
      join(dir, 'stripe.csv'),
      '--internal-file',
      join(dir, 'ledger.csv'),
      '--reports-dir',
      join(dir, 'reports'),
      '--json',
      ...extra,
    ],
    { RECON_PGLITE_DIR: join(dir, 'pgdata'), ...env },
    dir,
  );
}

const tolerance = (absMinor: number) => `processors:
  stripe:
    tiers:
      - name: by_reference
        type: exact
        processor_key: description
        ledger_key: reference
        normalize: [trim, upper]
      - name: near_amount
        type: tolerance
        processor_key: description
        ledger_key: reference
        normalize: [trim, upper, alnum]
        abs_minor: ${absMinor}
        max_days: 2
`;

describe('recon run --config (matching tiers)', () => {
  const processor = ['ch_9,99.99,USD,succeeded,m1,2025-09-30T10:00:00Z,inv-42,'];
  const ledger = ['INV-42,100.00,USD,settled,m1,2025-09-30T09:00:00Z,,INV-42'];

  it('reports 99.99 vs 100.00 paired by description = reference as matched_with_variance (case 1)', async () => {
    const dir = files(processor, ledger, tolerance(1));
    const result = await run(dir, ['--dry-run', '--config', join(dir, 'recon.config.yaml')]);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([]);
    expect(result.code).toBe(0);
    const [line] = jsonLines(result.stdout);
    expect(line?.counts).toEqual({
      matched: 0,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
      matched_with_variance: 1,
      ambiguous: 0,
      timing: 0,
      basis_mismatch_suspected: 0,
      matches_by_tier: { id: 0, by_reference: 0, near_amount: 0 },
    });
    expect(line?.matches).toEqual([
      { tier: 'id', count: 0, amount: {}, abs_variance: {} },
      { tier: 'by_reference', count: 0, amount: {}, abs_variance: {} },
      { tier: 'near_amount', count: 1, amount: { USD: '99.99' }, abs_variance: { USD: '0.01' } },
    ]);
  }, 60_000);

  it('writes the tier, the ledger id, candidates and annotation into the CSV report of a rules-file run', async () => {
    const dir = files(processor, ledger, tolerance(1));
    const result = await run(dir, ['--dry-run', '--config', join(dir, 'recon.config.yaml')]);
    expect(result.code).toBe(0);
    const csv = readFileSync(
      join(dir, 'reports', `stripe_${DATE}`, `reconciliation_report_stripe_${DATE}.csv`),
      'utf8',
    );
    expect(csv.split('\n')).toEqual([
      '"kind","transaction_id","processor_amount","processor_currency","internal_amount","internal_currency","difference","processor_status","internal_status","merchant_id","created_at","side","processor_line","internal_line","description","break_id","break_status","origin_date","age_days","tier","internal_transaction_id","candidates","annotation"',
      '"matched_with_variance","ch_9","99.99","USD","100.00","USD","-0.01","succeeded","settled","m1","2025-09-30T10:00:00.000Z","both","2","2","inv-42",,,,,"near_amount","INV-42",,',
      '',
    ]);
  }, 60_000);

  it('leaves both rows missing with abs_minor 0, read from RECON_CONFIG', async () => {
    const dir = files(processor, ledger, tolerance(0));
    const result = await run(dir, ['--dry-run'], {
      RECON_CONFIG: join(dir, 'recon.config.yaml'),
    });
    const [line] = jsonLines(result.stdout);
    expect(line?.counts).toMatchObject({ missing_in_internal: 1, missing_in_processor: 1 });
  }, 60_000);

  it('marks one processor row and two equal ledger rows ambiguous, in any input order (case 4)', async () => {
    const rules = `processors:\n  stripe:\n    tiers:\n      - {name: same_amount, type: tolerance, abs_minor: 0, max_days: 1}\n`;
    const p = ['p50,50.00,USD,succeeded,m1,2025-09-30T10:00:00Z,,'];
    const l = [
      'l50a,50.00,USD,settled,m1,2025-09-30T10:00:00Z,,',
      'l50b,50.00,USD,settled,m1,2025-09-30T11:00:00Z,,',
    ];
    for (const order of [l, [...l].reverse()]) {
      const dir = files(p, order, rules);
      const result = await run(dir, ['--dry-run', '--config', join(dir, 'recon.config.yaml')]);
      const [line] = jsonLines(result.stdout);
      expect(line?.counts).toMatchObject({
        ambiguous: 3,
        missing_in_internal: 0,
        missing_in_processor: 0,
        matches_by_tier: { id: 0, same_amount: 0 },
      });
    }
  }, 90_000);

  it('refuses a bad rules file with exit 2, listing every problem, before anything is stored (case 9)', async () => {
    const bad = `processors:\n  stripe:\n    tiers:\n      - {name: near, type: tolerance, abs_minor: -5, colour: red}\n  venmo: {}\n`;
    const dir = files(processor, ledger, bad);
    const result = await run(dir, ['--config', join(dir, 'recon.config.yaml')]);
    expect(result.code).toBe(2);
    const file = join(dir, 'recon.config.yaml');
    expect(result.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([
      `recon: ${file}: processors.stripe.tiers[0].abs_minor: expected a whole number ≥ 0 (minor units)`,
      `recon: ${file}: processors.stripe.tiers[0].colour: unknown key (expected one of the documented keys)`,
      `recon: ${file}: processors.venmo: unknown processor (expected one of stripe, paypal, square, adyen)`,
    ]);
    expect(result.stdout).toBe('');
  }, 60_000);

  it('runs the tiers on the postgres engine with the memory engine’s counts (case 8)', async () => {
    const dir = files(processor, ledger, tolerance(1));
    const file = join(dir, 'recon.config.yaml');
    const memory = await run(dir, ['--config', file]);
    const postgres = await run(dir, ['--engine', 'postgres', '--config', file]);
    expect(postgres.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([]);
    expect(postgres.code).toBe(0);
    expect(jsonLines(postgres.stdout)[0]?.counts).toEqual(jsonLines(memory.stdout)[0]?.counts);
    expect(jsonLines(postgres.stdout)[0]?.counts).toMatchObject({ matched_with_variance: 1 });
  }, 90_000);

  it('stores a run with tiers: counts and the rules hash survive, exit 0', async () => {
    const dir = files(processor, ledger, tolerance(1));
    const result = await run(dir, ['--config', join(dir, 'recon.config.yaml')]);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([]);
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)[0]?.counts).toMatchObject({ matched_with_variance: 1 });
  }, 90_000);
});

describe('recon run --config (the id join key)', () => {
  // Stripe rows carry the payment intent in `reference`; the ledger books it as its id.
  const processor = [
    'ch_1,10.00,USD,succeeded,m1,2025-09-30T10:00:00Z,,pi_1',
    'ch_2,20.00,USD,succeeded,m1,2025-09-30T10:00:00Z,, pi_2',
    'ch_3,30.00,USD,succeeded,m1,2025-09-30T10:00:00Z,,pi_3',
    'ch_5,5.00,USD,succeeded,m1,2025-09-30T10:00:00Z,,',
  ];
  const ledger = [
    'pi_1,10.00,USD,settled,m1,2025-09-30T09:00:00Z,,',
    'Pi_2,20.00,USD,settled,m1,2025-09-30T09:00:00Z,,',
    'pi_3,31.00,USD,settled,m1,2025-09-30T09:00:00Z,,',
    'pi_4,40.00,USD,settled,m1,2025-09-30T09:00:00Z,,',
  ];
  const rules =
    'processors:\n  stripe:\n    key: {processor: reference, ledger: transaction_id, normalize: [trim, upper]}\n';
  const counts = (over: object) => ({
    matched: 0,
    missing_in_internal: 0,
    missing_in_processor: 0,
    amount_mismatch: 0,
    currency_mismatch: 0,
    status_mismatch: 0,
    duplicate: 0,
    fee_mismatch: 0,
    timing: 0,
    basis_mismatch_suspected: 0,
    ...over,
  });

  it('joins the processor reference with the ledger id, normalized; without the file nothing pairs', async () => {
    const dir = files(processor, ledger, rules);
    const keyed = await run(dir, ['--dry-run', '--config', join(dir, 'recon.config.yaml')]);
    expect(keyed.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([]);
    expect(keyed.code).toBe(0);
    const [line] = jsonLines(keyed.stdout);
    expect(line?.counts).toEqual(
      counts({ matched: 2, amount_mismatch: 1, missing_in_internal: 1, missing_in_processor: 1 }),
    );
    const [plain] = jsonLines((await run(dir, ['--dry-run'])).stdout);
    expect(plain?.counts).toEqual(counts({ missing_in_internal: 4, missing_in_processor: 4 }));
  }, 60_000);

  it('joins on the key with the postgres engine too (stored run, same counts)', async () => {
    const dir = files(processor, ledger, rules);
    const result = await run(dir, [
      '--engine',
      'postgres',
      '--no-email',
      '--config',
      join(dir, 'recon.config.yaml'),
    ]);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([]);
    expect(result.code).toBe(0);
    const [line] = jsonLines(result.stdout);
    expect(line?.counts).toEqual(
      counts({ matched: 2, amount_mismatch: 1, missing_in_internal: 1, missing_in_processor: 1 }),
    );
  }, 60_000);

  it('refuses a key naming an unknown column with exit 2, before anything runs', async () => {
    const dir = files(processor, ledger, rules.replace('reference', 'payment_intent'));
    const result = await run(dir, ['--dry-run', '--config', join(dir, 'recon.config.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([
      `recon: ${join(dir, 'recon.config.yaml')}: processors.stripe.key.processor: expected one of transaction_id, reference, description, merchant_id`,
    ]);
  }, 60_000);
});

describe('the README recipes on the bundled rules sample day', () => {
  it('pairs Stripe charges with payment intents, Adyen nets with merchant references, Square by reference, and lists the rest', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'recon-e2e-recipes-'));
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        'adyen',
        'square',
        '--data-dir',
        join(ROOT, 'data/samples/rules'),
        '--config',
        join(ROOT, 'data/samples/rules/recon.config.yaml'),
        '--reports-dir',
        reports,
        '--dry-run',
        '--json',
      ],
      { RECON_PGLITE_DIR: join(reports, 'pgdata') },
      reports,
    );
    expect(result.code).toBe(0);
    const kinds = {
      matched: 0,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
    };
    expect(jsonLines(result.stdout).map((line) => [line.processor, line.counts])).toEqual([
      [
        'stripe',
        {
          ...kinds,
          matched: 3,
          amount_mismatch: 1,
          matched_with_variance: 1,
          ambiguous: 0,
          timing: 0,
          basis_mismatch_suspected: 0,
          matches_by_tier: { id: 2, by_reference: 1, near_amount: 0 },
        },
      ],
      [
        'adyen',
        { ...kinds, matched: 2, amount_mismatch: 1, timing: 0, basis_mismatch_suspected: 1 },
      ],
      [
        'square',
        {
          ...kinds,
          matched: 4,
          missing_in_processor: 1,
          fee_mismatch: 1,
          matched_with_variance: 0,
          ambiguous: 4,
          timing: 0,
          basis_mismatch_suspected: 0,
          matches_by_tier: { id: 2, by_reference: 2, same_amount_nearby: 0 },
        },
      ],
    ]);
    const square = JSON.parse(
      readFileSync(
        join(reports, `square_${DATE}`, `reconciliation_report_square_${DATE}.json`),
        'utf8',
      ),
    ) as { data_quality: { findings: { check: string; reason: string }[] } };
    expect(
      square.data_quality.findings.filter((f) => f.check === 'fee_variance').map((f) => f.reason),
    ).toEqual([
      'fee_variance overcharge +0.11 USD on sq_pay_R005: fee 0.70, expected 0.59 (290 bps + 0.30 of gross 10.00)',
    ]);
  }, 60_000);
});

describe('recon explain', () => {
  it('prints which tier matched a transaction and why the earlier tiers did not (issue #14)', async () => {
    const dir = files(
      ['ch_9,99.99,USD,succeeded,m1,2025-09-30T10:00:00Z,inv-42,'],
      ['INV-42,100.00,USD,settled,m1,2025-09-30T09:00:00Z,,INV-42'],
      tolerance(1),
    );
    const args = (id: string) => [
      'explain',
      '--date',
      DATE,
      '--processors',
      'stripe',
      '--processor-file',
      join(dir, 'stripe.csv'),
      '--internal-file',
      join(dir, 'ledger.csv'),
      '--config',
      join(dir, 'recon.config.yaml'),
      '--id',
      id,
    ];
    const env = { RECON_PGLITE_DIR: join(dir, 'pgdata'), LOG_LEVEL: 'silent' };
    const text = await runCli(args('ch_9'), env, dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      [
        'stripe 2025-09-30 ch_9: matched with variance by tier near_amount with INV-42 (difference -0.01 USD)',
        '  tier id (id): no row of the other side has this transaction_id',
        '  tier by_reference (exact): no candidate: INV-42: the amounts differ',
        '  tier near_amount (tolerance): paired with INV-42',
        '',
      ].join('\n'),
    );
    const json = await runCli([...args('INV-42'), '--json'], env, dir);
    expect(JSON.parse(json.stdout)).toEqual({
      transaction_id: 'INV-42',
      sides: ['internal'],
      outcome: 'matched_with_variance',
      decided_by: 'near_amount',
      paired_with: 'ch_9',
      difference: '-0.01',
      tiers: [
        { tier: 'id', type: 'id', verdict: 'no_candidate', candidates: [], nearest: [] },
        {
          tier: 'by_reference',
          type: 'exact',
          verdict: 'no_candidate',
          candidates: [],
          nearest: [{ transaction_id: 'ch_9', reason: 'the amounts differ' }],
        },
        {
          tier: 'near_amount',
          type: 'tolerance',
          verdict: 'paired',
          candidates: ['ch_9'],
          nearest: [],
        },
      ],
    });
    const missing = await runCli(args('nope'), env, dir);
    expect(missing.stderr.split('\n').filter((l) => l.startsWith('recon:'))).toEqual([
      `recon: no transaction nope on either side of stripe 2025-09-30 (${join(dir, 'stripe.csv')}, ${join(dir, 'ledger.csv')})`,
    ]);
    expect(missing.code).toBe(2);
  }, 60_000);
});
