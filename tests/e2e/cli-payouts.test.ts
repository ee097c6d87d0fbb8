import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jsonLines, ROOT, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

const DATE = '2025-10-06';
const work = mkdtempSync(join(tmpdir(), 'recon-payouts-'));
const samples = join(ROOT, 'data', 'samples');
const camtDir = join(samples, 'bank', 'camt053');
const bai2File = join(samples, 'bank', 'bai2', DATE, 'statement-2025-10-06.bai');
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const owner = `recon_owner_p${suffix}`;
const app = `recon_app_p${suffix}`;

/** Where the CLI stores: embedded PGlite, or the test server as the app role of `db init --roles`. */
interface Backend {
  readonly name: string;
  setUp(): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}
const backends: Backend[] = [
  {
    name: 'embedded PGlite',
    setUp: () => Promise.resolve({ RECON_PGLITE_DIR: join(work, 'db', 'pgdata') }),
    tearDown: () => Promise.resolve(),
  },
];
let schema = '';
if (TEST_DATABASE_URL) {
  backends.push({
    name: 'PostgreSQL (app role)',
    async setUp() {
      schema = await createTestSchema('recon_payouts_e2e');
      const init = await runCli(['db', 'init', '--roles'], {
        DATABASE_URL: TEST_DATABASE_URL ?? '',
        DB_SCHEMA: schema,
        RECON_OWNER_ROLE: owner,
        RECON_APP_ROLE: app,
        RECON_APP_PASSWORD: `pw-${suffix}`,
      });
      expect(init.code).toBe(0);
      const url = new URL(TEST_DATABASE_URL ?? '');
      url.username = app;
      url.password = `pw-${suffix}`;
      return { DATABASE_URL: url.toString(), DB_SCHEMA: schema };
    },
    async tearDown() {
      await dropTestSchema(schema);
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      for (const role of [app, owner])
        await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    },
  });
} else {
  console.warn('TEST_DATABASE_URL is not set: the payouts e2e runs on PGlite only');
}
jest.setTimeout(240_000);

const group = (fields: Record<string, unknown>) => ({
  kind: 'stripe_payout',
  currency: 'USD',
  ...fields,
});

/** The `settlement` block of the sample day with a bank statement (camt.053 or BAI2: the same). */
const SETTLEMENT_WITH_BANK = {
  groups: [
    group({
      parent_id: 'po_1Sample1006A',
      parent_amount: '950.00',
      children_sum: '950.00',
      difference: '0.00',
      child_count: 3,
      status: 'group_matched',
      bank_entry: 'BNK1006A',
    }),
    group({
      parent_id: 'po_1Sample1006B',
      parent_amount: '600.00',
      children_sum: '630.00',
      difference: '30.00',
      child_count: 2,
      status: 'group_sum_mismatch',
      bank_entry: 'BNK1006B',
    }),
    group({
      parent_id: 'po_1Sample1002M',
      parent_amount: '400.00',
      children_sum: '0.00',
      difference: null,
      child_count: 0,
      status: 'unattributable',
      bank_entry: null,
    }),
  ],
  counts: {
    group_matched: 1,
    group_sum_mismatch: 1,
    group_incomplete: 0,
    parent_missing: 0,
    unattributable: 1,
    payout_matched: 2,
    payout_missing_in_bank: 1,
    bank_credit_unmatched: 1,
    payout_amount_mismatch: 0,
    payout_ambiguous: 0,
  },
};

/** The `breaks` counts of a run's settlement block (schema 8: settlement breaks across days). */
const breaks = (fresh: number, open: number) => ({
  new: fresh,
  new_open: fresh,
  open,
  resolved: 0,
  pending: 0,
});

const waterfall = (fields: Record<string, string>) => ({
  charges: '0.00',
  fees: '0.00',
  refunds: '0.00',
  disputes: '0.00',
  adjustments: '0.00',
  payout: '0.00',
  unexplained_residual: '0.00',
  ...fields,
});

/** `recon payouts list --json` after a run `runId` of the sample day with a statement. */
const listed = (runId: string) => [
  {
    run_id: runId,
    date: DATE,
    processor: 'stripe',
    parent_id: 'po_1Sample1006A',
    kind: 'stripe_payout',
    currency: 'USD',
    parent_amount: '950.00',
    children_sum: '950.00',
    difference: '0.00',
    child_count: 3,
    status: 'group_matched',
    due_date: '2025-10-06',
    bank_status: 'payout_matched',
    bank_entry: 'BNK1006A',
    bank_difference: '0.00',
    waterfall: waterfall({
      charges: '1000.00',
      fees: '-30.00',
      refunds: '-20.00',
      payout: '950.00',
    }),
  },
  {
    run_id: runId,
    date: DATE,
    processor: 'stripe',
    parent_id: 'po_1Sample1006B',
    kind: 'stripe_payout',
    currency: 'USD',
    parent_amount: '600.00',
    children_sum: '630.00',
    difference: '30.00',
    child_count: 2,
    status: 'group_sum_mismatch',
    due_date: '2025-10-06',
    bank_status: 'payout_matched',
    bank_entry: 'BNK1006B',
    bank_difference: '0.00',
    waterfall: waterfall({
      charges: '650.00',
      fees: '-20.00',
      payout: '600.00',
      unexplained_residual: '30.00',
    }),
  },
  {
    run_id: runId,
    date: DATE,
    processor: 'stripe',
    parent_id: 'po_1Sample1002M',
    kind: 'stripe_payout',
    currency: 'USD',
    parent_amount: '400.00',
    children_sum: '0.00',
    difference: null,
    child_count: 0,
    status: 'unattributable',
    due_date: '2025-10-02',
    bank_status: 'payout_missing_in_bank',
    bank_entry: null,
    bank_difference: null,
    waterfall: waterfall({ payout: '400.00', unexplained_residual: '-400.00' }),
  },
];

describe.each(backends)('recon run with payouts and bank statements on $name', (backend) => {
  let env: Record<string, string> = {};
  const reports = join(work, `reports-${backend.name.replace(/\W+/g, '-')}`);
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(
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
        '--no-email',
        ...args,
      ],
      { ...env, ...extra },
    );

  beforeAll(async () => {
    env = await backend.setUp();
  });
  afterAll(() => backend.tearDown());

  it('camt.053 under RECON_BANK_DIR: the settlement block of run --json, and payouts list --json', async () => {
    const result = await run(['--json'], { RECON_BANK_DIR: camtDir });
    expect(result.code).toBe(0);
    const [line] = jsonLines(result.stdout);
    // Settlement breaks: the group that does not balance, the payout missing in the bank and the
    // credit no payout matched.
    expect(line?.settlement).toEqual({ ...SETTLEMENT_WITH_BANK, breaks: breaks(3, 3) });
    // Each child is still matched to the ledger one to one: the refund the payout lacks is a
    // ledger-only break of its own.
    expect(line?.counts).toMatchObject({ matched: 6, missing_in_processor: 1 });
    // The payouts report: one row per payout with its waterfall and bank leg.
    const paths = line?.reports as { json: string; payouts?: string };
    expect(readFileSync(String(paths.payouts), 'utf8').trim().split('\n')).toEqual([
      '"parent_id","kind","currency","status","due_date","charges","fees","refunds","disputes","adjustments","payout","unexplained_residual","children_sum","child_count","difference","bank_status","bank_entry","bank_amount","bank_difference"',
      '"po_1Sample1006A","stripe_payout","USD","group_matched","2025-10-06","1000.00","-30.00","-20.00","0.00","0.00","950.00","0.00","950.00","3","0.00","payout_matched","BNK1006A","950.00","0.00"',
      '"po_1Sample1006B","stripe_payout","USD","group_sum_mismatch","2025-10-06","650.00","-20.00","0.00","0.00","0.00","600.00","30.00","630.00","2","30.00","payout_matched","BNK1006B","600.00","0.00"',
      '"po_1Sample1002M","stripe_payout","USD","unattributable","2025-10-02","0.00","0.00","0.00","0.00","0.00","400.00",,"0.00","0",,"payout_missing_in_bank",,,',
    ]);
    // The statement's balance check is a data-quality finding of the run (side bank).
    const report = JSON.parse(
      readFileSync(String((line?.reports as { json: string }).json), 'utf8'),
    ) as { data_quality: { findings: { side: string }[] } };
    expect(report.data_quality.findings.filter((f) => f.side === 'bank')).toEqual([
      {
        side: 'bank',
        source: join(camtDir, DATE, 'statement-2025-10-06.xml'),
        check: 'statement_balance',
        severity: 'info',
        line: null,
        field: 'Document/BkToCstmrStmt/Stmt[1]',
        reason:
          'statement STMT-20251006 (account 123456789, USD): entries 2759.56 = closing 12759.56 − opening 10000.00',
        value: '2759.56',
        count: 4,
      },
    ]);
    const list = await runCli(['payouts', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(listed(String(line?.run_id)));
    const missing = await runCli(
      ['payouts', 'list', '--status', 'payout_missing_in_bank', '--processor', 'stripe', '--json'],
      env,
    );
    expect((JSON.parse(missing.stdout) as { parent_id: string }[]).map((p) => p.parent_id)).toEqual(
      ['po_1Sample1002M'],
    );
  });

  it('BAI2 by --bank-file on the postgres engine: the same block; the rerun replaces the payouts listed', async () => {
    const result = await run(['--json', '--engine', 'postgres', '--bank-file', bai2File]);
    expect(result.code).toBe(0);
    const [line] = jsonLines(result.stdout);
    expect(line?.settlement).toEqual({ ...SETTLEMENT_WITH_BANK, breaks: breaks(3, 3) });
    const list = await runCli(['payouts', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual(listed(String(line?.run_id)));
  });

  it('payouts show: the waterfall, the children and the bank entry', async () => {
    const shown = await runCli(['payouts', 'show', 'po_1Sample1006A', '--json'], env);
    expect(shown.code).toBe(0);
    const [detail] = JSON.parse(shown.stdout) as Record<string, unknown>[];
    expect({ children: detail?.children, bank: detail?.bank_entry_detail }).toEqual({
      children: [
        {
          id: 'ch_3S1006x0001',
          category: 'charge',
          currency: 'USD',
          gross: '500.00',
          net: '485.00',
        },
        {
          id: 'ch_3S1006x0002',
          category: 'charge',
          currency: 'USD',
          gross: '500.00',
          net: '485.00',
        },
        {
          id: 're_3S1006x0003',
          category: 'refund',
          currency: 'USD',
          gross: '-20.00',
          net: '-20.00',
        },
      ],
      bank: {
        reference: 'BNK1006A',
        statement_id: '123456789:2025-10-06:1',
        account: '123456789',
        direction: 'credit',
        amount: '950.00',
        currency: 'USD',
        booking_date: '2025-10-06',
        value_date: '2025-10-06',
        remittance_text: 'STRIPE TRANSFER po_1Sample1006A',
      },
    });
    const text = await runCli(['payouts', 'show', 'po_1Sample1006B'], env);
    expect(text.stdout).toContain(
      [
        'waterfall:',
        'charges  fees    refunds  disputes  adjustments  payout  unexplained_residual',
        '-------  ------  -------  --------  -----------  ------  --------------------',
        '650.00   -20.00  0.00     0.00      0.00         600.00  30.00',
      ].join('\n'),
    );
    const none = await runCli(['payouts', 'show', 'po_unknown'], env);
    expect([none.code, none.stderr.trim()]).toEqual([
      2,
      "recon: no completed run has a payout 'po_unknown'",
    ]);
  });

  it('a bank file that cannot be read fails the run with exit 4 and one line naming it', async () => {
    const bad = join(work, 'bad.bai');
    writeFileSync(
      bad,
      '01,BANK,CUST,251007,0600,1,,,2/\n02,CUST,BANK,1,251006,2400,USD,2/\n99,1,1,3/\n',
    );
    const result = await run(['--bank-file', bad, '--log-level', 'silent']);
    expect(result.code).toBe(4);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(`^recon: stripe ${DATE}: bank statement ${bad} line \\d+: `),
    );
  });

  it('without a statement the groups are there and the bank leg is empty; without payouts no settlement key', async () => {
    const result = await run(['--json']);
    const [line] = jsonLines(result.stdout);
    expect(line?.settlement).toEqual({
      groups: SETTLEMENT_WITH_BANK.groups.map((g) => ({ ...g, bank_entry: null })),
      counts: {
        ...SETTLEMENT_WITH_BANK.counts,
        payout_matched: 0,
        payout_missing_in_bank: 0,
        bank_credit_unmatched: 0,
      },
      // Without a statement the rerun says nothing of the bank: only the group break is seen
      // (the bank breaks only the replaced run saw are resolved not_seen_on_rerun).
      breaks: breaks(1, 1),
    });
    const plain = await runCli(
      [
        'run',
        '--date',
        '2025-09-30',
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--no-email',
        '--json',
      ],
      { ...env, RECON_BANK_DIR: camtDir },
    );
    expect(plain.code).toBe(0);
    const plainRun = jsonLines(plain.stdout)[0] ?? {};
    expect(Object.keys(plainRun)).not.toContain('settlement');
    expect(Object.keys(plainRun.reports as object)).toEqual(['csv', 'json']);
    // Every completed run's settlement rows match what its audit entry recorded.
    const verify = await runCli(['db', 'verify-audit', '--json'], env);
    expect(verify.code).toBe(0);
    expect(jsonLines(verify.stdout)[0]).toMatchObject({ broken: null, problem: null });
  });

  it('the ledger split of the rules file (group_key) joins the settlement as ledger_split groups', async () => {
    const data = join(work, `split-${backend.name.replace(/\W+/g, '-')}`);
    mkdirSync(join(data, '2025-10-07'), { recursive: true });
    const head = 'transaction_id,amount,currency,status,merchant_id,created_at,reference';
    writeFileSync(
      join(data, '2025-10-07', 'stripe.csv'),
      `${head}\nch_9,100.00,USD,succeeded,m,2025-10-07T10:00:00Z,ORD-1\n`,
    );
    writeFileSync(
      join(data, '2025-10-07', 'internal_stripe.csv'),
      `${head}\nL1,60.00,USD,settled,m,2025-10-07T10:00:00Z,ORD-1\nL2,40.00,USD,settled,m,2025-10-07T10:00:00Z,ORD-1\n` +
        `L3,10.00,USD,settled,m,2025-10-07T11:00:00Z,ORD-2\nL4,5.00,USD,settled,m,2025-10-07T11:00:00Z,ORD-2\n`,
    );
    const rules = join(data, 'rules.yaml');
    writeFileSync(rules, 'processors:\n  stripe:\n    group_key: reference\n');
    const result = await runCli(
      [
        'run',
        '--date',
        '2025-10-07',
        '--processors',
        'stripe',
        '--data-dir',
        data,
        '--reports-dir',
        reports,
        '--config',
        rules,
        '--no-email',
        '--json',
      ],
      env,
    );
    expect(result.code).toBe(0);
    const split = (fields: Record<string, unknown>) => ({
      kind: 'ledger_split',
      currency: 'USD',
      difference: null,
      bank_entry: null,
      ...fields,
    });
    expect(jsonLines(result.stdout)[0]?.settlement).toEqual({
      groups: [
        split({
          parent_id: 'ORD-1',
          parent_amount: '100.00',
          children_sum: '100.00',
          difference: '0.00',
          child_count: 2,
          status: 'group_matched',
        }),
        split({
          parent_id: 'ORD-2',
          parent_amount: null,
          children_sum: '15.00',
          child_count: 2,
          status: 'parent_missing',
        }),
      ],
      counts: {
        ...SETTLEMENT_WITH_BANK.counts,
        group_matched: 1,
        group_sum_mismatch: 0,
        parent_missing: 1,
        unattributable: 0,
        payout_matched: 0,
        payout_missing_in_bank: 0,
        bank_credit_unmatched: 0,
      },
      // ORD-2 (parent_missing) is new; the 2025-10-06 group break is still open.
      breaks: breaks(1, 2),
    });
  });

  it('a bank CSV statement read with the rules file bank_csv map (detected from its header)', async () => {
    const dir = join(work, `csv-${backend.name.replace(/\W+/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    const statement = join(dir, 'statement.csv');
    writeFileSync(
      statement,
      'Buchungstag;Valuta;Betrag;Referenz;Verwendungszweck\n' +
        '06.10.2025;06.10.2025;950,00;BNK1006A;STRIPE TRANSFER po_1Sample1006A\n' +
        '06.10.2025;06.10.2025;600,00;BNK1006B;STRIPE TRANSFER po_1Sample1006B\n' +
        '06.10.2025;06.10.2025;1.234,56;BNK1006W;INCOMING WIRE ACME CORP\n' +
        '06.10.2025;06.10.2025;-25,00;BNK1006F;ACCOUNT SERVICE FEE\n',
    );
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      [
        'processors:',
        '  stripe: {}',
        'bank_csv:',
        "  delimiter: ';'",
        "  decimal_separator: ','",
        '  date_format: DD.MM.YYYY',
        '  booking_date: Buchungstag',
        '  value_date: Valuta',
        '  amount: Betrag',
        '  default_currency: USD',
        '  bank_reference: Referenz',
        '  remittance_text: Verwendungszweck',
        '',
      ].join('\n'),
    );
    const result = await run(['--json', '--bank-file', statement, '--config', rules]);
    expect(result.code).toBe(0);
    // The CSV's credit is another statement entry (another account) than the camt.053 one: a
    // new break; the 2025-10-07 parent_missing group is still open.
    expect(jsonLines(result.stdout)[0]?.settlement).toEqual({
      ...SETTLEMENT_WITH_BANK,
      breaks: breaks(3, 4),
    });
  });
});
