import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { digestSettlement, type ReportSettlementJson } from '../../src/job/deliver-results';
import { jsonLines, ROOT, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

/**
 * Payout breaks across days (issue #15, schema 8) through the built CLI on the bundled sample
 * (README "Payout breaks across days"): po_1Sample1013A (776.00 USD, arrival 2025-10-13) is not
 * on the statements of 2025-10-13, 2025-10-14 and 2025-10-17; the statement of 2025-10-20 has its
 * credit (value date 2025-10-16, inside the ± 3 days window).
 */
const work = mkdtempSync(join(tmpdir(), 'recon-payout-breaks-'));
// The generated inputs, reports and embedded databases go with the file's last test.
afterAll(() => rmSync(work, { recursive: true, force: true }));
const samples = join(ROOT, 'data', 'samples');
const camtDir = join(samples, 'bank', 'camt053');
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const owner = `recon_owner_sb${suffix}`;
const app = `recon_app_sb${suffix}`;

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
      schema = await createTestSchema('recon_payout_breaks_e2e');
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
  console.warn('TEST_DATABASE_URL is not set: the payout breaks e2e runs on PGlite only');
}
jest.setTimeout(300_000);

type Json = Record<string, unknown>;

describe.each(backends)('payout breaks across days on $name', (backend) => {
  let env: Record<string, string> = {};
  const reports = join(work, `reports-${backend.name.replace(/\W+/g, '-')}`);
  const run = async (date: string, extra: string[] = []): Promise<{ code: number; line: Json }> => {
    const result = await runCli(
      [
        'run',
        '--date',
        date,
        '--processors',
        'stripe',
        '--data-dir',
        samples,
        '--reports-dir',
        reports,
        '--no-email',
        '--json',
        '--log-level',
        'silent',
        ...extra,
      ],
      { ...env, RECON_BANK_DIR: camtDir },
    );
    return { code: result.code ?? -1, line: jsonLines(result.stdout)[0] ?? {} };
  };
  const breaks = async (...args: string[]): Promise<Json[]> => {
    const result = await runCli(['payouts', 'breaks', '--json', ...args], env);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Json[];
  };
  const counts = (line: Json): unknown => (line.settlement as Json | undefined)?.breaks;

  beforeAll(async () => {
    env = await backend.setUp();
  });
  afterAll(() => backend.tearDown());

  /** The one payout break of po_1Sample1013A, as `payouts breaks --json` lists it. */
  const payoutBreak = (fields: Json): Json => ({
    processor: 'stripe',
    subject: 'payout',
    subject_id: 'po_1Sample1013A',
    origin_date: '2025-10-13',
    currency: 'USD',
    amount: '776.00',
    difference: null,
    expected_date: '2025-10-13',
    account: null,
    value_date: null,
    resolved_run_id: null,
    resolution: null,
    resolution_reason: null,
    lag_days: null,
    resolved_by: null,
    ...fields,
  });
  let breakId = '';
  let day1 = '';
  let day5 = '';
  let resolvedState: Json[] = [];

  it('day 1: the payout is not in the bank yet: a pending break (not open)', async () => {
    const { code, line } = await run('2025-10-13');
    expect(code).toBe(0);
    day1 = String(line.run_id);
    expect(counts(line)).toEqual({ new: 1, new_open: 0, open: 0, resolved: 0, pending: 1 });
    const [only, ...rest] = await breaks('--status', 'all');
    expect(rest).toEqual([]);
    breakId = String(only?.break_id);
    expect(only).toEqual(
      payoutBreak({
        break_id: breakId,
        kind: 'payout_pending',
        status: 'pending',
        age_days: 0,
        age_bucket: '0-1',
        first_seen_run_id: day1,
        last_seen_run_id: day1,
      }),
    );
    // Pending is not open: the default listing is empty.
    expect(await breaks()).toEqual([]);
  });

  it('day 2: still pending, carried and offered to the statement of the day; its own payout matched', async () => {
    // A dry run (against the stored breaks) says what the run would do and changes no break.
    const before = await breaks('--status', 'all');
    const dry = await run('2025-10-14', ['--dry-run']);
    expect([dry.code, counts(dry.line)]).toEqual([
      0,
      { new: 0, new_open: 0, open: 0, resolved: 0, pending: 1 },
    ]);
    expect(await breaks('--status', 'all')).toEqual(before);
    const { code, line } = await run('2025-10-14');
    expect(code).toBe(0);
    expect(counts(line)).toEqual({ new: 0, new_open: 0, open: 0, resolved: 0, pending: 1 });
    expect((line.settlement as { counts: Json }).counts).toMatchObject({
      payout_matched: 1,
      bank_credit_unmatched: 0,
    });
    expect(await breaks('--status', 'pending')).toEqual([
      payoutBreak({
        break_id: breakId,
        kind: 'payout_pending',
        status: 'pending',
        age_days: 1,
        age_bucket: '0-1',
        first_seen_run_id: day1,
        last_seen_run_id: String(line.run_id),
      }),
    ]);
  });

  it('day 4 (no payouts file of its own): the window has passed: missing in the bank, open, aged 4 days; --fail-on open exits 8', async () => {
    const { code, line } = await run('2025-10-17', ['--fail-on', 'open']);
    expect([code, line.exit_code]).toEqual([8, 8]);
    expect(counts(line)).toEqual({ new: 0, new_open: 0, open: 1, resolved: 0, pending: 0 });
    expect(await breaks('--processor', 'stripe')).toEqual([
      payoutBreak({
        break_id: breakId,
        kind: 'payout_missing_in_bank',
        status: 'open',
        age_days: 4,
        age_bucket: '4-7',
        first_seen_run_id: day1,
        last_seen_run_id: String(line.run_id),
      }),
    ]);
    // The JSON report lists the run's settlement breaks.
    const report = JSON.parse(
      readFileSync(String((line.reports as { json: string }).json), 'utf8'),
    ) as { settlement: { breaks: { counts: Json; open: Json[] } } };
    expect(report.settlement.breaks.counts).toEqual(counts(line));
    expect(report.settlement.breaks.open.map((b) => [b.subject_id, b.kind, b.age_days])).toEqual([
      ['po_1Sample1013A', 'payout_missing_in_bank', 4],
    ]);
    // The e-mail's Payouts line names it with its age.
    expect(digestSettlement(report.settlement as unknown as ReportSettlementJson)).toMatchObject({
      carriedBreaks: ['po_1Sample1013A missing in bank, 4 days'],
    });
  });

  it("day 5's statement has the credit (value date inside the window): the carried break is resolved with a reason; the credit is not unmatched", async () => {
    const { code, line } = await run('2025-10-20', ['--fail-on', 'open']);
    expect(code).toBe(0);
    day5 = String(line.run_id);
    expect(counts(line)).toEqual({ new: 0, new_open: 0, open: 0, resolved: 1, pending: 0 });
    expect((line.settlement as { counts: Json }).counts).toMatchObject({
      payout_matched: 1,
      bank_credit_unmatched: 0,
    });
    resolvedState = await breaks('--status', 'all');
    expect(resolvedState).toEqual([
      payoutBreak({
        break_id: breakId,
        kind: 'payout_missing_in_bank',
        status: 'resolved',
        age_days: 7,
        age_bucket: '4-7',
        first_seen_run_id: day1,
        last_seen_run_id: day5,
        resolved_run_id: day5,
        resolution: 'matched',
        resolution_reason: 'in the bank per the run of 2025-10-20: entry BNK1020L',
        lag_days: 7,
        resolved_by: 'recon',
      }),
    ]);
    const shown = await runCli(['payouts', 'break', breakId.slice(0, 8), '--json'], env);
    expect(shown.code).toBe(0);
    const events = (JSON.parse(shown.stdout) as { events: Json[] }).events;
    expect(events.map((e) => [e.event, e.details])).toEqual([
      ['opened', { kind: 'payout_pending', status: 'pending' }],
      ['seen', { kind: 'payout_pending', status: 'pending' }],
      ['seen', { kind: 'payout_missing_in_bank', status: 'open' }],
      ['resolved', { bank_entry: 'BNK1020L' }],
    ]);
  });

  it('a rerun of day 4 after day 5 leaves the break as day 5 left it; a rerun of day 5 resolves it again (same break)', async () => {
    const again4 = await run('2025-10-17', ['--fail-on', 'open']);
    expect(again4.code).toBe(0);
    expect(await breaks('--status', 'all')).toEqual(resolvedState);
    const again5 = await run('2025-10-20');
    expect(again5.code).toBe(0);
    expect(counts(again5.line)).toEqual({
      new: 0,
      new_open: 0,
      open: 0,
      resolved: 1,
      pending: 0,
    });
    const after = await breaks('--status', 'all');
    expect(after).toEqual([
      {
        ...resolvedState[0],
        last_seen_run_id: String(again5.line.run_id),
        resolved_run_id: String(again5.line.run_id),
      },
    ]);
    // A rerun of day 1 says what day 1 said (one new break), and changes nothing of its state.
    const again1 = await run('2025-10-13');
    expect(counts(again1.line)).toEqual({ new: 1, new_open: 0, open: 0, resolved: 0, pending: 0 });
    expect((await breaks('--status', 'all')).map((b) => [b.break_id, b.status, b.kind])).toEqual([
      [breakId, 'resolved', 'payout_missing_in_bank'],
    ]);
  });

  it("one statement shared by two processors in one run request: neither run reports the other's payout credit as unmatched", async () => {
    const date = '2025-11-03';
    const dir = join(work, `shared-${backend.name.replace(/\W+/g, '-')}`);
    mkdirSync(join(dir, date), { recursive: true });
    const head = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
    const side = (processor: string, id: string, amount: string, fee: string, payout: string) => {
      writeFileSync(
        join(dir, date, `${processor}.csv`),
        `${head},payout_id\n${id},${amount},USD,${processor === 'stripe' ? 'succeeded' : 'COMPLETED'},m1,${date}T10:00:00Z,${fee},Order,${payout}\n`,
      );
      writeFileSync(
        join(dir, date, `internal_${processor}.csv`),
        `${head}\n${id},${amount},USD,settled,m1,${date}T10:00:02Z,${fee},Order\n`,
      );
    };
    side('stripe', 'ch_s1103', '100.00', '3.00', 'po_S1103');
    side('square', 'sq_1103', '50.00', '1.50', 'sq_P1103');
    writeFileSync(
      join(dir, date, 'payouts_stripe.csv'),
      `payout_id,currency,amount,arrival_date\npo_S1103,USD,97.00,${date}\n`,
    );
    writeFileSync(
      join(dir, date, 'payouts_square.csv'),
      `payout_id,currency,amount,arrival_date\nsq_P1103,USD,48.50,${date}\n`,
    );
    const statement = join(dir, 'statement.csv');
    writeFileSync(
      statement,
      'Buchungstag;Valuta;Betrag;Referenz;Verwendungszweck\n' +
        '03.11.2025;03.11.2025;97,00;BNKS1103;STRIPE TRANSFER po_S1103\n' +
        '03.11.2025;03.11.2025;48,50;BNKQ1103;SQUARE PAYOUT sq_P1103\n',
    );
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      [
        'processors:',
        '  stripe: {}',
        '  square: {}',
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
    const result = await runCli(
      [
        'run',
        '--date',
        date,
        '--processors',
        'stripe',
        'square',
        '--data-dir',
        dir,
        '--reports-dir',
        reports,
        '--no-email',
        '--json',
        '--log-level',
        'silent',
        '--bank-file',
        statement,
        '--config',
        rules,
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(
      jsonLines(result.stdout).map((line) => {
        const c = (line.settlement as { counts: Json }).counts;
        return [line.processor, c.payout_matched, c.bank_credit_unmatched];
      }),
    ).toEqual([
      ['stripe', 1, 0],
      ['square', 1, 0],
    ]);
    expect(
      (await breaks('--status', 'all', '--kind', 'bank_credit_unmatched')).filter((b) =>
        String(b.subject_id).endsWith('1103'),
      ),
    ).toEqual([]);
    // A payouts file that cannot be read fails that processor's run only (exit 4), as before.
    writeFileSync(
      join(dir, date, 'payouts_stripe.csv'),
      `payout_id,currency,amount,arrival_date\npo_S1103,USD,ninety,${date}\n`,
    );
    const broken = await runCli(
      [
        'run',
        '--date',
        date,
        '--processors',
        'stripe',
        'square',
        '--data-dir',
        dir,
        '--reports-dir',
        reports,
        '--no-email',
        '--json',
        '--log-level',
        'silent',
        '--bank-file',
        statement,
        '--config',
        rules,
      ],
      env,
    );
    expect(broken.code).toBe(4);
    expect(
      jsonLines(broken.stdout).map((line) => [line.processor, line.status, line.exit_code]),
    ).toEqual([
      ['stripe', 'failed', 4],
      ['square', 'completed', 0],
    ]);
  });

  it('group_sum_mismatch open, resolved and reopened by hand with the refusal rules of recon breaks (exit 2)', async () => {
    const { code, line } = await run('2025-10-06');
    expect(code).toBe(0);
    expect(counts(line)).toEqual({ new: 3, new_open: 3, open: 3, resolved: 0, pending: 0 });
    const open = await breaks();
    expect(open.map((b) => [b.subject, b.subject_id, b.kind, b.amount, b.difference])).toEqual([
      ['bank_credit', 'BNK1006W', 'bank_credit_unmatched', '1234.56', null],
      ['group', 'po_1Sample1006B', 'group_sum_mismatch', '600.00', '30.00'],
      ['payout', 'po_1Sample1002M', 'payout_missing_in_bank', '400.00', null],
    ]);
    const group = String(open[1]?.break_id);
    const cli = (...args: string[]) => runCli(['payouts', ...args], { ...env, USER: 'ops' });
    const resolved = await cli('resolve', group, '--reason', 'refund booked by hand');
    expect([resolved.code, resolved.stdout.trim()]).toEqual([
      0,
      `settlement break ${group}: resolved (by ops)`,
    ]);
    const twice = await cli('resolve', group, '--reason', 'again');
    expect([twice.code, twice.stderr.trim()]).toEqual([
      2,
      `recon: settlement break ${group}: the break is already resolved`,
    ]);
    const reopened = await cli('reopen', group.slice(0, 8), '--reason', 'refund not booked');
    expect([reopened.code, reopened.stdout.trim()]).toEqual([
      0,
      `settlement break ${group}: open (by ops)`,
    ]);
    const reopenOpen = await cli('reopen', group, '--reason', 'x');
    expect([reopenOpen.code, reopenOpen.stderr.trim()]).toEqual([
      2,
      `recon: settlement break ${group}: only resolved or written-off breaks can be reopened; it is open`,
    ]);
    const writeOff = await cli('resolve', group, '--write-off', '--reason', 'immaterial');
    expect(writeOff.code).toBe(0);
    const unknown = await cli('resolve', '00000000', '--reason', 'x');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      'recon: no settlement break with id 00000000',
    ]);
    const [shown] = await breaks('--status', 'written_off');
    expect(shown).toMatchObject({
      break_id: group,
      status: 'written_off',
      resolution: 'written_off',
      resolution_reason: 'immaterial',
      resolved_by: 'ops',
    });
    // A rerun of the date keeps the break written off (seen, not reopened).
    await run('2025-10-06');
    expect((await breaks('--status', 'written_off')).map((b) => b.break_id)).toEqual([group]);
    // Every manual action is in the audit chain, which still verifies.
    const verify = await runCli(['db', 'verify-audit', '--json'], env);
    expect(verify.code).toBe(0);
    expect(jsonLines(verify.stdout)[0]).toMatchObject({ broken: null, problem: null });
  });
});
