/**
 * Hostile inputs (issue #11): bytes that are not the declared encoding, NUL bytes, over-long ids,
 * amounts beyond 64 bits, a million invalid rows, a malformed header. Each is a data-quality
 * finding on its row (never a match, never exit 1) or a one-line rejection of the file (exit 4).
 * End to end through the built CLI (`npm run build` first), on PGlite and, with
 * TEST_DATABASE_URL, with `--engine postgres` on the server.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';

const DATE = '2025-09-30';
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,description';
const TS = '2025-09-30T12:00:00Z';
const work = mkdtempSync(join(tmpdir(), 'recon-hostile-'));
const pgliteEnv = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata') };
let fileCounter = 0;

/** Writes `content` (text as UTF-8, or exact bytes) to a new file under the test's temp dir. */
function writeInput(content: string | Buffer): string {
  const path = join(work, `input-${++fileCounter}.csv`);
  writeFileSync(path, content);
  return path;
}

/** No line of `text` looks like a stack frame. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

/** The lines of stderr that are not JSON log lines. */
function messageLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

describe('a million invalid rows', () => {
  it('are counted and rejected by the invalid-rate check (exit 4), not a stack overflow', async () => {
    const rows = 1_000_000;
    const path = join(work, 'million-invalid.csv');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, `${HEADER}\n`);
      const chunk: string[] = [];
      for (let i = 0; i < rows; i++) {
        chunk.push(`t${i},not-an-amount,USD,completed,m1,${TS},\n`);
        if (chunk.length === 50_000) {
          writeSync(fd, chunk.join(''));
          chunk.length = 0;
        }
      }
      writeSync(fd, chunk.join(''));
    } finally {
      closeSync(fd);
    }
    const ledger = writeInput(`${HEADER}\nt1,1.00,USD,completed,m1,${TS},\n`);
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-file',
        path,
        '--internal-file',
        ledger,
        '--dry-run',
        '--reports-dir',
        join(work, 'reports-million'),
      ],
      { ...pgliteEnv, LOG_LEVEL: 'silent' },
    );
    expectNoStack(result.stderr);
    expect(messageLines(result.stderr)).toEqual([
      `recon: stripe ${DATE}: ${path}: 1000000 of 1000000 rows are invalid (100.00% > 1.00% allowed by --max-invalid-rate); first at line 2: amount is not a plain decimal number (digits, optional minus and dot) (USD has 2 decimals)`,
    ]);
    expect(result.code).toBe(4);
  }, 60_000);
});

/** A finding of the JSON report, as written. */
interface Finding {
  side: string;
  source: string;
  check: string;
  severity: string;
  line: number | null;
  field: string | null;
  reason: string;
  value: string | null;
  count: number | null;
}

/** An `invalid_row` finding of the processor or ledger file. */
function invalid(
  side: 'processor' | 'internal',
  source: string,
  line: number,
  field: string,
  reason: string,
  value: string,
): Finding {
  return {
    side,
    source,
    check: 'invalid_row',
    severity: 'error',
    line,
    field,
    reason,
    value,
    count: null,
  };
}

/** The `row_count` finding of a file. */
function rowCount(
  side: 'processor' | 'internal',
  source: string,
  rows: number,
  bad: number,
): Finding {
  return {
    side,
    source,
    check: 'row_count',
    severity: 'info',
    line: null,
    field: null,
    reason: `${rows} data rows read, ${bad} invalid`,
    value: null,
    count: rows,
  };
}

/** Byte offset in `content` of the first occurrence of `needle` (after `from`). */
function offsetOf(content: Buffer, needle: string | Buffer, from = 0): number {
  const at = content.indexOf(needle, from);
  if (at < 0) throw new Error(`${String(needle)} not in the test input`);
  return at;
}

interface Day {
  readonly code: number | null;
  readonly stderr: string;
  readonly counts: Record<string, number>;
  readonly findings: Finding[];
  readonly discrepancies: { kind: string; transaction_id: string; difference: string | null }[];
}

/** Runs one day of `processor` against `ledger` (exact bytes) through the CLI. */
async function runDay(
  processor: Buffer,
  ledger: Buffer,
  args: string[],
  env: Record<string, string>,
): Promise<Day & { processorPath: string; ledgerPath: string }> {
  const processorPath = writeInput(processor);
  const ledgerPath = writeInput(ledger);
  const reports = join(work, `reports-${++fileCounter}`);
  const result = await runCli(
    [
      'run',
      '--date',
      DATE,
      '--processors',
      'stripe',
      '--processor-file',
      processorPath,
      '--internal-file',
      ledgerPath,
      '--max-invalid-rate',
      '1',
      '--reports-dir',
      reports,
      '--no-email',
      ...args,
    ],
    { LOG_LEVEL: 'silent', ...env },
  );
  expectNoStack(result.stderr);
  let report: {
    reconciliation_summary: { counts: Record<string, number> };
    data_quality: { findings: Finding[] };
    discrepancies: Day['discrepancies'];
  } = { reconciliation_summary: { counts: {} }, data_quality: { findings: [] }, discrepancies: [] };
  if (result.code === 0) {
    report = JSON.parse(
      readFileSync(
        join(reports, `stripe_${DATE}`, `reconciliation_report_stripe_${DATE}.json`),
        'utf8',
      ),
    ) as typeof report;
  }
  return {
    code: result.code,
    stderr: result.stderr,
    counts: report.reconciliation_summary.counts,
    findings: report.data_quality.findings,
    discrepancies: report.discrepancies.map((d) => ({
      kind: d.kind,
      transaction_id: d.transaction_id,
      difference: d.difference,
    })),
    processorPath,
    ledgerPath,
  };
}

/** A CSV file of `rows` (each a list of fields, joined by commas) as bytes. */
function csv(header: string, rows: (string | Buffer)[]): Buffer {
  return Buffer.concat([
    Buffer.from(`${header}\n`),
    ...rows.map((row) =>
      Buffer.concat([typeof row === 'string' ? Buffer.from(row) : row, Buffer.from('\n')]),
    ),
  ]);
}

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
  );

const row = (id: string | Buffer, amount: string, description: string | Buffer = ''): Buffer =>
  bytes(
    typeof id === 'string' ? id : [...id],
    `,${amount},USD,succeeded,m1,${TS},`,
    typeof description === 'string' ? description : [...description],
  );

const ZERO_COUNTS = {
  matched: 0,
  missing_in_internal: 0,
  missing_in_processor: 0,
  amount_mismatch: 0,
  currency_mismatch: 0,
  status_mismatch: 0,
  duplicate: 0,
};

/** Store backends the limits run on: PGlite (both engines) and, with TEST_DATABASE_URL, the server. */
const engines: { name: string; args: string[]; env: () => Record<string, string> }[] = [
  { name: 'PGlite, memory engine', args: [], env: () => pgliteEnv },
  { name: 'PGlite, postgres engine', args: ['--engine', 'postgres'], env: () => pgliteEnv },
];
let serverEnv: Record<string, string> = {};
let serverSchema = '';
if (TEST_DATABASE_URL) {
  engines.push(
    { name: 'server, memory engine', args: [], env: () => serverEnv },
    { name: 'server, postgres engine', args: ['--engine', 'postgres'], env: () => serverEnv },
  );
} else {
  console.warn('hostile-input: TEST_DATABASE_URL is not set; the server cases are skipped');
}

beforeAll(async () => {
  if (!TEST_DATABASE_URL) return;
  serverSchema = await createTestSchema('recon_hostile');
  serverEnv = { DATABASE_URL: TEST_DATABASE_URL, DB_SCHEMA: serverSchema };
  const init = await runCli(['db', 'init'], serverEnv);
  expect(init.code).toBe(0);
}, 60_000);

afterAll(async () => {
  if (serverSchema) await dropTestSchema(serverSchema);
});

describe.each(engines)('validation limits ($name)', ({ args, env }) => {
  it('rejects over-long ids, amounts beyond 18 digits and NUL bytes as invalid rows; the limits themselves match', async () => {
    const longId = 'L'.repeat(256);
    const limitId = 'E'.repeat(255);
    const header = 'transaction_id,amount,currency,status,merchant_id,created_at,description';
    const rows = [
      row('ok1', '10.00'),
      row(longId, '1.00'),
      row('big1', '92233720368547758.08'),
      row(limitId, '9999999999999999.99'),
      row('edge2', '9999999999999999.99'),
      row('nul1', '1.00', bytes('a', [0], 'b')),
      row(bytes('nu', [0], 'l2'), '1.00'),
    ];
    const ledgerRows = [
      row('ok1', '10.00'),
      row(longId, '1.00'),
      row('big1', '92233720368547758.08'),
      row(limitId, '9999999999999999.99'),
      row('edge2', '-9999999999999999.99'),
      row('nul1', '1.00', bytes('a', [0], 'b')),
      row(bytes('nu', [0], 'l2'), '1.00'),
    ];
    const processor = csv(header, rows);
    const ledger = csv(header, ledgerRows);
    const day = await runDay(processor, ledger, args, env());
    expect(messageLines(day.stderr)).toEqual([]);
    expect(day.code).toBe(0);
    expect(day.counts).toEqual({ ...ZERO_COUNTS, matched: 2, amount_mismatch: 1 });
    expect(day.discrepancies).toEqual([
      { kind: 'amount_mismatch', transaction_id: 'edge2', difference: '19999999999999999.98' },
    ]);
    const findingsOf = (side: 'processor' | 'internal', path: string, content: Buffer) => [
      invalid(
        side,
        path,
        3,
        'transaction_id',
        'transaction_id is 256 bytes long; at most 255 bytes (UTF-8) are accepted',
        `${longId.slice(0, 200)}…`,
      ),
      invalid(
        side,
        path,
        4,
        'amount',
        'amount is beyond the accepted range of ±999999999999999999 minor units (18 digits) (USD has 2 decimals)',
        '92233720368547758.08',
      ),
      invalid(
        side,
        path,
        7,
        'description',
        `description contains a NUL byte (at byte offset ${offsetOf(content, bytes('a', [0]), 0) + 1})`,
        'a\\x00b',
      ),
      invalid(
        side,
        path,
        8,
        'transaction_id',
        `transaction_id contains a NUL byte (at byte offset ${offsetOf(content, bytes('nu', [0])) + 2})`,
        'nu\\x00l2',
      ),
      rowCount(side, path, 7, 4),
    ];
    expect(day.findings).toEqual([
      ...findingsOf('processor', day.processorPath, processor),
      ...findingsOf('internal', day.ledgerPath, ledger),
    ]);
  }, 60_000);
});
