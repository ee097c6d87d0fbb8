import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

// Business-day cut-offs, timing pairs, --grace-days and --fail-on through the built CLI, on the
// embedded store (issue #13). Square's business day ends at 17:00 Pacific time; the ledger's at
// midnight UTC (RECON_TIMEZONE's calendar day, the default).
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,fee,description';
const work = mkdtempSync(join(tmpdir(), 'recon-cutoffs-'));
jest.setTimeout(240_000);

const row = (id: string, amount: string, at: string, status = 'completed') =>
  `${id},${amount},USD,${status},merch_001,${at},0.30,Order ${id}`;
const ledger = (id: string, amount: string, at: string) => row(id, amount, at, 'settled');

function day(data: string, date: string, processor: string[], internal: string[]): void {
  mkdirSync(join(data, date), { recursive: true });
  writeFileSync(join(data, date, 'square.csv'), [HEADER, ...processor, ''].join('\n'));
  writeFileSync(join(data, date, 'internal_square.csv'), [HEADER, ...internal, ''].join('\n'));
}

/** The `recon: …` lines of stderr (log lines, e.g. a warning about a short test password, aside). */
const reconLines = (stderr: string): string[] =>
  stderr.split('\n').filter((line) => line.startsWith('recon: '));

function runSquare(
  data: string,
  env: Record<string, string>,
  date: string,
  ...flags: string[]
): ReturnType<typeof runCli> {
  return runCli(
    [
      'run',
      '--date',
      date,
      '--processors',
      'square',
      '--data-dir',
      data,
      '--reports-dir',
      join(work, 'reports'),
      '--json',
      ...flags,
    ],
    env,
  );
}

/** Where the CLI stores: embedded PGlite, or a schema of its own on the test server. */
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
    name: 'the server',
    async setUp() {
      schema = await createTestSchema('recon_cutoffs_e2e');
      const settings = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
      const init = await runCli(['db', 'init'], settings);
      expect(init.code).toBe(0);
      return settings;
    },
    tearDown: () => dropTestSchema(schema),
  });
}

describe.each(backends)('business-day cut-offs through the built CLI on $name', (backend) => {
  const data = join(work, 'data');
  let env: Record<string, string> = {};
  beforeAll(async () => {
    env = {
      ...(await backend.setUp()),
      RECON_CUTOFF_SQUARE: 'America/Los_Angeles 17:00',
      USER: 'tester',
    };
  });
  afterAll(() => backend.tearDown());

  // 2025-09-29: a clean pair on the same business date; a pair Square dates 09-29 (16:30 PDT)
  // and the ledger 09-30 (00:10 UTC): timing within the run; a ledger-only item at 23:58 UTC;
  // a Square payment at 17:30 PDT, which is already Square's 09-30 (outside the business date).
  day(
    data,
    '2025-09-29',
    [
      row('sq_pair', '10.00', '2025-09-29T10:00:00-07:00'),
      row('sq_timing', '20.00', '2025-09-29T16:30:00-07:00'),
      row('sq_evening', '15.00', '2025-09-29T17:30:00-07:00'),
    ],
    [
      ledger('sq_pair', '10.00', '2025-09-29T17:00:00Z'),
      ledger('sq_timing', '20.00', '2025-09-30T00:10:00Z'),
      ledger('sq_evening', '15.00', '2025-09-30T00:40:00Z'),
      ledger('sq_late', '40.00', '2025-09-29T23:58:00Z'),
    ],
  );
  // 2025-09-30: Square books the ledger's 23:58 item at 17:03 PDT on 09-29 (00:03 UTC on 09-30),
  // Square's 09-30; and a new Square-only payment.
  day(
    data,
    '2025-09-30',
    [
      row('sq_late', '40.00', '2025-09-29T17:03:00-07:00'),
      row('sq_new', '5.00', '2025-09-30T09:00:00-07:00'),
    ],
    [],
  );
  // 2025-10-01: one clean pair, nothing new.
  day(
    data,
    '2025-10-01',
    [row('sq_quiet', '1.00', '2025-10-01T09:00:00-07:00')],
    [ledger('sq_quiet', '1.00', '2025-10-01T16:00:00Z')],
  );

  it('counts a pair on two business dates as timing, and flags rows outside the day by the cut-off', async () => {
    const result = await runSquare(data, env, '2025-09-29', '--fail-on', 'new');
    expect(result.stderr).not.toContain('recon: ');
    const [run] = jsonLines(result.stdout);
    expect([result.code, run]).toMatchObject([
      8,
      {
        exit_code: 8,
        counts: {
          matched: 2,
          missing_in_internal: 0,
          missing_in_processor: 1,
          amount_mismatch: 0,
          currency_mismatch: 0,
          status_mismatch: 0,
          duplicate: 0,
          timing: 1,
        },
        discrepancy_count: 1,
        breaks: { new: 1, resolved: 0, pending: 0, open: 1 },
      },
    ]);
    const report = JSON.parse(
      readFileSync(String((run?.reports as { json: string }).json), 'utf8'),
    ) as {
      data_quality: {
        findings: { side: string; check: string; line: number | null; reason: string }[];
      };
    };
    expect(
      report.data_quality.findings
        .filter((f) => f.check === 'outside_business_date')
        .map((f) => [f.side, f.line, f.reason]),
    ).toEqual([
      [
        'processor',
        4,
        'dated 2025-09-30, not the business date 2025-09-29 (cut-off America/Los_Angeles 17:00)',
      ],
      ['processor', null, '1 row(s) dated outside the business date 2025-09-29'],
      ['internal', 3, 'dated 2025-09-30, not the business date 2025-09-29 (UTC)'],
      ['internal', 4, 'dated 2025-09-30, not the business date 2025-09-29 (UTC)'],
      ['internal', null, '2 row(s) dated outside the business date 2025-09-29'],
    ]);
  });

  it('resolves the 23:58 ledger item as a late arrival on day 2: timing, lag 1, no new break for it', async () => {
    const result = await runSquare(data, env, '2025-09-30');
    expect([result.code, result.stderr]).toEqual([0, expect.not.stringContaining('recon: ')]);
    expect(jsonLines(result.stdout)[0]).toMatchObject({
      exit_code: 0,
      counts: { matched: 0, missing_in_internal: 1, missing_in_processor: 0, timing: 1 },
      breaks: { new: 1, resolved: 1, reclassified: 0, pending: 0, open: 1 },
    });
    const listed = await runCli(['breaks', 'list', '--status', 'all', '--json'], env);
    expect(
      (JSON.parse(listed.stdout) as Record<string, unknown>[]).map((b) => [
        b.transaction_id,
        b.kind,
        b.status,
        b.origin_date,
        b.resolution,
        b.lag_days,
      ]),
    ).toEqual([
      ['sq_late', 'missing_in_processor', 'resolved', '2025-09-29', 'late_arrival', 1],
      ['sq_new', 'missing_in_internal', 'open', '2025-09-30', null, null],
    ]);
  });

  it('exits 8 with --fail-on open while a break is open past the grace, 0 with --fail-on new when nothing is new', async () => {
    const quiet = await runSquare(data, env, '2025-10-01', '--fail-on', 'new');
    expect([quiet.code, jsonLines(quiet.stdout)[0]?.exit_code]).toEqual([0, 0]);
    const open = await runSquare(data, env, '2025-10-01', '--fail-on', 'open');
    expect([open.code, jsonLines(open.stdout)[0]?.exit_code, open.stderr]).toEqual([
      8,
      8,
      expect.not.stringContaining('recon: '),
    ]);
    const plain = await runSquare(data, env, '2025-10-01');
    expect(plain.code).toBe(0);
  });

  it('refuses a bad --fail-on or --grace-days with one line and exit 2, before any run', async () => {
    const failOn = await runSquare(data, env, '2025-10-01', '--fail-on', 'sometimes');
    expect([failOn.code, failOn.stdout, reconLines(failOn.stderr)]).toEqual([
      2,
      '',
      ["recon: --fail-on must be new or open, got 'sometimes'"],
    ]);
    const grace = await runSquare(data, env, '2025-10-01', '--grace-days', '-1');
    expect([grace.code, grace.stdout, reconLines(grace.stderr)]).toEqual([
      2,
      '',
      ["recon: --grace-days must be a whole number of days from 0 to 36500, got '-1'"],
    ]);
  });

  it('refuses a bad cut-off setting with one line naming it and exit 2', async () => {
    const bad = await runSquare(
      data,
      { ...env, RECON_CUTOFF_SQUARE: 'America/Los_Angeles 5pm' },
      '2025-10-01',
    );
    expect([bad.code, bad.stdout, reconLines(bad.stderr)]).toEqual([
      2,
      '',
      [
        'recon: RECON_CUTOFF_SQUARE must be "<IANA time zone> <HH:MM>" (e.g. "America/Los_Angeles 17:00"), got "America/Los_Angeles 5pm"',
      ],
    ]);
  });
});

describe('--grace-days through the built CLI', () => {
  const data = join(work, 'grace-data');
  const env = { RECON_PGLITE_DIR: join(work, 'grace-db', 'pgdata'), USER: 'tester' };
  day(data, '2025-09-29', [], [ledger('sq_wait', '7.00', '2025-09-29T12:00:00Z')]);
  day(data, '2025-09-30', [], []);
  day(data, '2025-10-01', [], []);

  it('keeps a one-sided item pending (not failing --fail-on) for two runs, then opens it', async () => {
    const seen: unknown[] = [];
    for (const date of ['2025-09-29', '2025-09-30', '2025-10-01']) {
      const result = await runSquare(data, env, date, '--grace-days', '2', '--fail-on', 'open');
      const [run] = jsonLines(result.stdout);
      const breaks = run?.breaks as { pending: number; open: number };
      seen.push([date, result.code, run?.exit_code, breaks.pending, breaks.open]);
    }
    expect(seen).toEqual([
      ['2025-09-29', 0, 0, 1, 0],
      ['2025-09-30', 0, 0, 1, 0],
      ['2025-10-01', 8, 8, 0, 1],
    ]);
  });
});
