import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jsonLines, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
const work = mkdtempSync(join(tmpdir(), 'recon-breaks-'));
const data = join(work, 'data');
const reports = join(work, 'reports');
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const owner = `recon_owner_b${suffix}`;
const app = `recon_app_b${suffix}`;

/** Where the CLI stores: embedded PGlite, or the test server as the app role of `db init --roles`. */
interface Backend {
  readonly name: string;
  setUp(): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}
const backends: Backend[] = [
  {
    name: 'embedded PGlite',
    setUp: () => Promise.resolve({ RECON_PGLITE_DIR: join(work, 'db', 'pgdata'), USER: 'tester' }),
    tearDown: () => Promise.resolve(),
  },
];
let schema = '';
if (TEST_DATABASE_URL) {
  backends.push({
    name: 'the server (app role)',
    async setUp() {
      schema = await createTestSchema('recon_breaks_e2e');
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
      return { DATABASE_URL: url.toString(), DB_SCHEMA: schema, USER: 'tester' };
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
  console.warn(
    'TEST_DATABASE_URL is not set: breaks across days run on PGlite only, not on the server',
  );
}
// Many CLI invocations per test; each opens the embedded database.
jest.setTimeout(240_000);
let env: Record<string, string> = {};
let reportsDir = reports;

function day(date: string, processor: string[], internal: string[]): void {
  mkdirSync(join(data, date), { recursive: true });
  writeFileSync(join(data, date, 'stripe.csv'), [HEADER, ...processor, ''].join('\n'));
  writeFileSync(join(data, date, 'internal_stripe.csv'), [HEADER, ...internal, ''].join('\n'));
}

const row = (id: string, amount: string, at: string, status = 'succeeded') =>
  `${id},${amount},USD,${status},merch_001,${at},0.30,Order ${id}`;
const ledger = (id: string, amount: string, at: string) => row(id, amount, at, 'settled');

// Day 1: a ledger-only item booked at 23:58 and a processor-only item; one clean pair.
day(
  '2025-10-01',
  [
    row('ch_pair', '10.00', '2025-10-01T10:00:00Z'),
    row('ch_proc_first', '20.00', '2025-10-01T11:00:00Z'),
    row('ch_amount', '30.00', '2025-10-01T12:00:00Z'),
  ],
  [
    ledger('ch_pair', '10.00', '2025-10-01T10:00:00Z'),
    ledger('ch_ledger_first', '40.00', '2025-10-01T23:58:00Z'),
  ],
);
// Day 2: both counterparts arrive (one at 00:03), one with another amount; a new ledger-only item.
day(
  '2025-10-02',
  [row('ch_ledger_first', '40.00', '2025-10-02T00:03:00Z')],
  [
    ledger('ch_proc_first', '20.00', '2025-10-02T01:00:00Z'),
    ledger('ch_amount', '29.00', '2025-10-02T02:00:00Z'),
    ledger('ch_never', '5.00', '2025-10-02T03:00:00Z'),
  ],
);

const run = (date: string) =>
  runCli(
    [
      'run',
      '--date',
      date,
      '--processors',
      'stripe',
      '--data-dir',
      data,
      '--reports-dir',
      reportsDir,
      '--json',
    ],
    env,
  );

async function breaksList(status = 'all') {
  const listed = await runCli(['breaks', 'list', '--status', status, '--json'], env);
  expect(listed.stderr).not.toContain('recon: ');
  expect(listed.code).toBe(0);
  return (JSON.parse(listed.stdout) as Record<string, unknown>[]).map((b) => [
    b.transaction_id,
    b.kind,
    b.status,
    b.origin_date,
    b.age_days,
    b.resolution,
    b.lag_days,
  ]);
}

async function verifyAudit(): Promise<void> {
  const verify = await runCli(['db', 'verify-audit'], env);
  expect(verify.stderr).not.toContain('recon: ');
  expect(verify.code).toBe(0);
}

describe.each(backends)('breaks across days through the built CLI on $name', (backend) => {
  beforeAll(async () => {
    env = await backend.setUp();
    reportsDir = join(reports, backend.name.replace(/\W+/g, '-'));
  });
  afterAll(() => backend.tearDown());

  it('opens the one-sided items of day 1, then resolves their late arrivals on day 2', async () => {
    const first = await run('2025-10-01');
    expect(first.stderr).not.toContain('recon: ');
    expect(first.code).toBe(0);
    const [day1] = jsonLines(first.stdout);
    expect(day1).toMatchObject({
      counts: {
        matched: 1,
        missing_in_internal: 2,
        missing_in_processor: 1,
        amount_mismatch: 0,
        currency_mismatch: 0,
        status_mismatch: 0,
        duplicate: 0,
        timing: 0,
      },
      breaks: {
        new: 3,
        resolved: 0,
        reclassified: 0,
        pending: 0,
        open: 3,
        open_by_age: { '0-1': 3, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
      },
    });
    const second = await run('2025-10-02');
    expect(second.stderr).not.toContain('recon: ');
    expect(second.code).toBe(0);
    const [day2] = jsonLines(second.stdout);
    expect(day2).toMatchObject({
      processor_transactions: 1,
      internal_transactions: 3,
      counts: {
        matched: 0,
        missing_in_internal: 0,
        missing_in_processor: 1,
        amount_mismatch: 1,
        currency_mismatch: 0,
        status_mismatch: 0,
        duplicate: 0,
        timing: 2,
      },
      discrepancy_count: 2,
      breaks: {
        new: 1,
        resolved: 2,
        reclassified: 1,
        pending: 0,
        open: 2,
        open_by_age: { '0-1': 2, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
      },
    });
    expect(await breaksList()).toEqual([
      ['ch_amount', 'amount_mismatch', 'open', '2025-10-01', 1, null, null],
      ['ch_ledger_first', 'missing_in_processor', 'resolved', '2025-10-01', 1, 'late_arrival', 1],
      ['ch_proc_first', 'missing_in_internal', 'resolved', '2025-10-01', 1, 'late_arrival', 1],
      ['ch_never', 'missing_in_processor', 'open', '2025-10-02', 0, null, null],
    ]);
    const human = await runCli(
      [
        'run',
        '--date',
        '2025-10-02',
        '--processors',
        'stripe',
        '--data-dir',
        data,
        '--reports-dir',
        reportsDir,
      ],
      env,
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      'breaks: 1 new, 2 resolved (late arrival), 1 reclassified, 2 open (0 older than 7 days)',
    );
    await verifyAudit();
  });

  it('leaves the same open breaks however often the latest date is rerun', async () => {
    const before = await runCli(['breaks', 'list', '--json'], env);
    for (let i = 0; i < 2; i++) {
      const again = await run('2025-10-02');
      expect(again.code).toBe(0);
      expect(jsonLines(again.stdout)[0]).toMatchObject({
        counts: { timing: 2 },
        breaks: { open: 2 },
      });
    }
    const after = await runCli(['breaks', 'list', '--json'], env);
    expect(JSON.parse(after.stdout)).toEqual(
      (JSON.parse(before.stdout) as Record<string, unknown>[]).map((b) => ({
        ...b,
        last_seen_run_id: expect.any(String) as string,
      })),
    );
    await verifyAudit();
  });

  it('resolves, writes off and reopens by hand with the audit chain intact after each', async () => {
    const listed = JSON.parse((await runCli(['breaks', 'list', '--json'], env)).stdout) as Record<
      string,
      string
    >[];
    const amount = listed.find((b) => b.transaction_id === 'ch_amount')?.break_id ?? '';
    const never = listed.find((b) => b.transaction_id === 'ch_never')?.break_id ?? '';
    const resolved = await runCli(
      ['breaks', 'resolve', amount.slice(0, 8), '--reason', 'fee booked late'],
      env,
    );
    expect([resolved.code, resolved.stdout.trim()]).toEqual([
      0,
      `break ${amount}: resolved (by tester)`,
    ]);
    await verifyAudit();
    const again = await runCli(['breaks', 'resolve', amount, '--reason', 'twice'], env);
    expect([again.code, again.stderr.trim()]).toEqual([
      2,
      `recon: break ${amount}: the break is already resolved`,
    ]);
    const off = await runCli(
      ['breaks', 'resolve', never, '--reason', 'immaterial', '--write-off', '--by', 'ops'],
      env,
    );
    expect([off.code, off.stdout.trim()]).toEqual([0, `break ${never}: written_off (by ops)`]);
    await verifyAudit();
    const reopened = await runCli(
      ['breaks', 'reopen', amount, '--reason', 'not booked after all'],
      env,
    );
    expect([reopened.code, reopened.stdout.trim()]).toEqual([
      0,
      `break ${amount}: open (by tester)`,
    ]);
    await verifyAudit();
    const commented = await runCli(['breaks', 'comment', amount, '--text', 'asked finance'], env);
    expect(commented.code).toBe(0);
    const bad = await runCli(['breaks', 'show', 'nope'], env);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      "recon: break id 'nope' must be a break id or a prefix of at least 8 of its characters",
    ]);
    const reopenOpen = await runCli(['breaks', 'reopen', amount, '--reason', 'x'], env);
    expect([reopenOpen.code, reopenOpen.stderr.trim()]).toEqual([
      2,
      `recon: break ${amount}: only resolved or written-off breaks can be reopened; it is open`,
    ]);

    // A rerun never reopens the written-off break.
    expect((await run('2025-10-02')).code).toBe(0);
    const shown = await runCli(['breaks', 'show', never, '--json'], env);
    const detail = JSON.parse(shown.stdout) as {
      status: string;
      events: { event: string; actor: string }[];
    };
    expect(detail.status).toBe('written_off');
    expect(detail.events.filter((e) => e.event === 'opened')).toHaveLength(1);
    expect(detail.events.map((e) => [e.event, e.actor]).filter(([e]) => e !== 'seen')).toEqual([
      ['opened', 'recon'],
      ['written_off', 'ops'],
    ]);
    const csv = await runCli(['breaks', 'list', '--status', 'written_off', '--csv'], env);
    expect(csv.stdout.trim().split('\n')).toEqual([
      'break_id,processor,transaction_id,kind,side,status,origin_date,age_days,amount,currency,first_seen_run_id,last_seen_run_id,resolved_run_id,resolution,lag_days',
      expect.stringMatching(
        new RegExp(
          `^"${never}","stripe","ch_never","missing_in_processor","internal","written_off","2025-10-02","0","5(\\.00)?","USD","[0-9a-f-]{36}","[0-9a-f-]{36}","","written_off",""$`,
        ),
      ) as string,
    ]);
    await verifyAudit();
  });
});
