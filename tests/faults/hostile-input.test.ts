/**
 * Hostile inputs (issue #11): bytes that are not the declared encoding, NUL bytes, over-long ids,
 * amounts beyond 64 bits, a million invalid rows, a malformed header. Each is a data-quality
 * finding on its row (never a match, never exit 1) or a one-line rejection of the file (exit 4).
 * End to end through the built CLI (`npm run build` first), on PGlite and, with
 * TEST_DATABASE_URL, with `--engine postgres` on the server.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/domain/errors';
import { STATUS_MAPS } from '../../src/domain/status';
import { DetectingCsvSource } from '../../src/sources/formats/format-registry';
import { DEFAULT_FORMAT_SETTINGS } from '../../src/sources/formats/processor-format';
import { normalizeRecord, type RawRecord } from '../../src/sources/normalize-record';
import { TextFaultScanner } from '../../src/sources/text-encoding';
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
  fee_mismatch: 0,
  basis_mismatch_suspected: 0,
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

describe('the UTF-8 check (TextFaultScanner)', () => {
  /** Invalid-sequence offsets of `data` scanned in the chunks cut at `cuts`. */
  function scanInChunks(data: Uint8Array, cuts: number[]): number[] {
    const scanner = new TextFaultScanner(true);
    let from = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < data.length)].sort((a, b) => a - b)) {
      scanner.scan(data.subarray(from, cut), from);
      from = cut;
    }
    scanner.scan(data.subarray(from), from);
    scanner.end();
    return scanner.invalid;
  }

  /** Bytes biased towards UTF-8 lead and continuation bytes, so that near-misses are common. */
  const utf8ish = fc.array(
    fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.integer({ min: 0xc0, max: 0xff }),
      fc.constantFrom(0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0),
    ),
    { maxLength: 40 },
  );

  it('finds one fault where the WHATWG decoder writes one U+FFFD, wherever the chunks are cut', () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(40), { maxLength: 4 }), (values, cuts) => {
        const data = Uint8Array.from(values);
        const decoded = new TextDecoder('utf-8').decode(data);
        // Inputs that spell U+FFFD themselves (EF BF BD) are not a decoder's replacement.
        fc.pre(!Buffer.from(data).includes(Buffer.from([0xef, 0xbf, 0xbd])));
        const replacements = decoded.split('\uFFFD').length - 1;
        const whole = scanInChunks(data, []);
        expect(whole.length).toBe(replacements);
        expect(whole.length === 0).toBe(isUtf8(data));
        expect(scanInChunks(data, cuts)).toEqual(whole);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects overlong forms, surrogates, code points beyond U+10FFFF and cut sequences at their first byte', () => {
    const cases: [number[], number[]][] = [
      [
        [0x61, 0xc0, 0xaf],
        [1, 2],
      ], // overlong '/'
      [
        [0xe0, 0x80, 0xaf],
        [0, 1, 2],
      ], // overlong, 3 bytes
      [
        [0xed, 0xa0, 0x80],
        [0, 1, 2],
      ], // surrogate U+D800
      [
        [0xf4, 0x90, 0x80, 0x80],
        [0, 1, 2, 3],
      ], // U+110000
      [[0x74, 0x78, 0xe9], [2]], // Latin-1 é at the end (cut short)
      [[0xe2, 0x82, 0x41], [0]], // € cut short before 'A'
      [[0xe2, 0x82, 0xac, 0xc3, 0xa9], []], // € é
    ];
    for (const [input, offsets] of cases) {
      expect(scanInChunks(Uint8Array.from(input), [])).toEqual(offsets);
    }
  });
});

describe.each(engines)('input encoding ($name)', ({ args, env }) => {
  const header = 'transaction_id,amount,currency,status,merchant_id,created_at,description';

  it('never matches two different Latin-1 ids under utf-8: both rows are invalid, with the byte and its offset', async () => {
    const processor = csv(header, [row('ok1', '1.00'), row(bytes('tx', [0xe9]), '5.00')]);
    const ledger = csv(header, [row('ok1', '1.00'), row(bytes('tx', [0xe8]), '5.00')]);
    const day = await runDay(processor, ledger, args, env());
    expect(day.code).toBe(0);
    expect(day.counts).toEqual({ ...ZERO_COUNTS, matched: 1 });
    const at = (content: Buffer, byte: number) => offsetOf(content, Buffer.from([byte]));
    expect(day.findings).toEqual([
      invalid(
        'processor',
        day.processorPath,
        3,
        'transaction_id',
        `transaction_id is not valid UTF-8 (byte 0xE9 at byte offset ${at(processor, 0xe9)})`,
        'tx\\xE9',
      ),
      rowCount('processor', day.processorPath, 2, 1),
      invalid(
        'internal',
        day.ledgerPath,
        3,
        'transaction_id',
        `transaction_id is not valid UTF-8 (byte 0xE8 at byte offset ${at(ledger, 0xe8)})`,
        'tx\\xE8',
      ),
      rowCount('internal', day.ledgerPath, 2, 1),
    ]);
  }, 60_000);

  it('decodes the same files exactly with --encoding latin1: é and è are different ids', async () => {
    const processor = csv(header, [row('ok1', '1.00'), row(bytes('tx', [0xe9]), '5.00')]);
    const ledger = csv(header, [row('ok1', '1.00'), row(bytes('tx', [0xe8]), '5.00')]);
    const day = await runDay(processor, ledger, [...args, '--encoding', 'latin1'], env());
    expect(day.code).toBe(0);
    expect(day.counts).toEqual({
      ...ZERO_COUNTS,
      matched: 1,
      missing_in_internal: 1,
      missing_in_processor: 1,
    });
    expect(day.discrepancies).toEqual([
      { kind: 'missing_in_internal', transaction_id: 'txé', difference: null },
      { kind: 'missing_in_processor', transaction_id: 'txè', difference: null },
    ]);
    expect(day.findings).toEqual([
      rowCount('processor', day.processorPath, 2, 0),
      rowCount('internal', day.ledgerPath, 2, 0),
    ]);
  }, 60_000);
});

describe('input encoding (dry runs)', () => {
  const header = 'transaction_id,amount,currency,status,merchant_id,created_at,description';

  it('decodes windows-1252 smart quotes and € per side (--processor-encoding), the ledger staying UTF-8', async () => {
    // “A” and €1 in windows-1252 bytes on the processor side, in UTF-8 on the ledger side.
    const processor = csv(header, [
      row(bytes([0x93], 'A', [0x94]), '2.00', bytes([0x91], 'x', [0x92])),
      row(bytes([0x80], '1'), '3.00'),
    ]);
    const ledger = csv(header, [row('“A”', '2.50'), row('€1', '3.00')]);
    const day = await runDay(
      processor,
      ledger,
      ['--processor-encoding', 'windows-1252', '--dry-run'],
      {},
    );
    expect(day.code).toBe(0);
    expect(day.counts).toEqual({ ...ZERO_COUNTS, matched: 1, amount_mismatch: 1 });
    expect(day.discrepancies).toEqual([
      { kind: 'amount_mismatch', transaction_id: '“A”', difference: '-0.50' },
    ]);
    // Under latin1 the same bytes are C1 controls: nothing matches.
    const latin1 = await runDay(
      processor,
      ledger,
      ['--processor-encoding', 'latin1', '--dry-run'],
      {},
    );
    expect(latin1.counts).toEqual({
      ...ZERO_COUNTS,
      missing_in_internal: 2,
      missing_in_processor: 2,
    });
  }, 60_000);

  it('accepts a UTF-8 byte order mark, rejects overlong forms, surrogates and a sequence cut at the end of the file', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const processor = Buffer.concat([
      bom,
      csv(header, [
        row('ok1', '1.00', 'café ✓'),
        row(bytes('over', [0xc0, 0xaf]), '1.00'),
        row('sur', '1.00', bytes('x', [0xed, 0xa0, 0x80])),
      ]),
      row('cut', '1.00', bytes('euro', [0xe2, 0x82])),
    ]);
    const ledger = Buffer.concat([bom, csv(header, [row('ok1', '1.00', 'café ✓')])]);
    const day = await runDay(processor, ledger, ['--dry-run'], {});
    expect(day.code).toBe(0);
    expect(day.counts).toEqual({ ...ZERO_COUNTS, matched: 1 });
    expect(day.findings).toEqual([
      invalid(
        'processor',
        day.processorPath,
        3,
        'transaction_id',
        `transaction_id is not valid UTF-8 (byte 0xC0 at byte offset ${offsetOf(processor, Buffer.from([0xc0]))})`,
        'over\\xC0\\xAF',
      ),
      invalid(
        'processor',
        day.processorPath,
        4,
        'description',
        `description is not valid UTF-8 (byte 0xED at byte offset ${offsetOf(processor, Buffer.from([0xed]))})`,
        'x\\xED\\xA0\\x80',
      ),
      invalid(
        'processor',
        day.processorPath,
        5,
        'description',
        `description is not valid UTF-8 (byte 0xE2 at byte offset ${offsetOf(processor, Buffer.from([0xe2, 0x82]), processor.length - 3)})`,
        'euro\\xE2\\x82',
      ),
      rowCount('processor', day.processorPath, 4, 3),
      rowCount('internal', day.ledgerPath, 1, 0),
    ]);
  }, 60_000);

  it('finds the one bad row of a file large enough for the parser thread, with multi-byte text across its chunks', async () => {
    const rows: Buffer[] = [];
    for (let i = 0; i < 120_000; i++) rows.push(row(`t${i}`, '1.00', 'crème brûlée – ✓ 😀 naïve'));
    rows.push(row(bytes('bad', [0xff]), '1.00'));
    const processor = csv(header, rows);
    expect(processor.length).toBeGreaterThan(8 << 20);
    const ledger = csv(header, [row('t1', '1.00')]);
    const day = await runDay(processor, ledger, ['--dry-run'], {});
    expect(day.code).toBe(0);
    expect(day.findings.filter((f) => f.check === 'invalid_row')).toEqual([
      invalid(
        'processor',
        day.processorPath,
        120_002,
        'transaction_id',
        `transaction_id is not valid UTF-8 (byte 0xFF at byte offset ${offsetOf(processor, Buffer.from([0xff]))})`,
        'bad\\xFF',
      ),
    ]);
  }, 60_000);
});

describe('a file whose first record is not a CSV header (exit 4, one line)', () => {
  const header = 'transaction_id,amount,currency,status,merchant_id,created_at';
  const ledgerOk = () => writeInput(`${header}\nt1,1.00,USD,succeeded,m1,${TS}\n`);

  async function rejected(
    side: 'processor' | 'internal',
    content: Buffer,
    extra: string[] = [],
  ): Promise<{ code: number | null; lines: string[]; path: string }> {
    const path = writeInput(content);
    const other = ledgerOk();
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-file',
        side === 'processor' ? path : other,
        '--internal-file',
        side === 'internal' ? path : other,
        '--dry-run',
        '--reports-dir',
        join(work, `reports-${++fileCounter}`),
        ...extra,
      ],
      { LOG_LEVEL: 'silent' },
    );
    expectNoStack(result.stderr);
    return { code: result.code, lines: messageLines(result.stderr), path };
  }

  it.each(['processor', 'internal'] as const)(
    'names an unclosed quote in the header of the %s file, not "file is empty"',
    async (side) => {
      const what = side === 'processor' ? 'processor input' : 'internal ledger input';
      const { code, lines, path } = await rejected(
        side,
        Buffer.from(
          `"transaction_id,amount,currency,status,merchant_id,created_at\nt1,1.00,USD,succeeded,m1,${TS}\n`,
        ),
      );
      expect(lines).toEqual([
        `recon: stripe ${DATE}: ${what} ${path} line 1: malformed CSV: a quote opened in the header (line 1) is never closed`,
      ]);
      expect(code).toBe(4);
    },
    60_000,
  );

  it.each(['processor', 'internal'] as const)(
    'names binary bytes in the header of the %s file',
    async (side) => {
      const what = side === 'processor' ? 'processor input' : 'internal ledger input';
      // The first bytes of a PNG file.
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
      const { code, lines, path } = await rejected(side, png);
      expect(lines).toEqual([
        `recon: stripe ${DATE}: ${what} ${path} line 1: the header is not valid UTF-8 (byte 0x89 at byte offset 0): is it a CSV text file? For a latin1 or windows-1252 export, use --encoding`,
      ]);
      expect(code).toBe(4);
    },
    60_000,
  );

  it('names a NUL byte in the header, a UTF-16 file, and a UTF-8 BOM given as latin1', async () => {
    const nul = await rejected(
      'processor',
      Buffer.from(`${header}\0\nt1,1.00,USD,succeeded,m1,${TS}\n`),
    );
    expect(nul.lines).toEqual([
      `recon: stripe ${DATE}: processor input ${nul.path} line 1: the header contains a NUL byte (at byte offset ${header.length}): is it a CSV text file?`,
    ]);
    expect(nul.code).toBe(4);
    const utf16 = await rejected(
      'internal',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${header}\n`, 'utf16le')]),
    );
    expect(utf16.lines).toEqual([
      `recon: stripe ${DATE}: internal ledger input ${utf16.path} line 1: starts with a UTF-16 byte order mark: export it as UTF-8 (or latin1, windows-1252)`,
    ]);
    expect(utf16.code).toBe(4);
    const bom = await rejected(
      'internal',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${header}\n`)]),
      ['--encoding', 'latin1'],
    );
    expect(bom.lines).toEqual([
      `recon: stripe ${DATE}: internal ledger input ${bom.path} line 1: starts with a UTF-8 byte order mark, but its encoding was given as latin1: it is UTF-8 (the default encoding)`,
    ]);
    expect(bom.code).toBe(4);
  }, 60_000);

  it('refuses an unknown --encoding as a usage error (exit 2)', async () => {
    const { code, lines } = await rejected('processor', Buffer.from(`${header}\n`), [
      '--encoding',
      'ebcdic',
    ]);
    expect(lines).toEqual([
      "recon: --encoding must be one of utf-8, latin1, windows-1252, got 'ebcdic'",
    ]);
    expect(code).toBe(2);
  }, 60_000);
});

describe('processor export formats and API records follow the same rules', () => {
  const settings = DEFAULT_FORMAT_SETTINGS;
  const context = { businessDate: '2026-01-30', timeZone: 'UTC', statusMap: STATUS_MAPS.stripe };
  const stripeHeader =
    'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category';

  it('makes a Stripe balance report row with a Latin-1 byte, a NUL, a long id or a huge amount invalid', async () => {
    const content = csv(stripeHeader, [
      'txn_ok,2026-01-30 10:00:00,usd,1.50,0.05,1.45,charge',
      bytes('txn_', [0xe9], ',2026-01-30 10:00:00,usd,1.00,0,1.00,charge'),
      bytes('txn_n,2026-01-30 10:00:00,usd,1.00,0,1.00,char', [0], 'ge'),
      `${'x'.repeat(300)},2026-01-30 10:00:00,usd,1.00,0,1.00,charge`,
      'txn_big,2026-01-30 10:00:00,usd,10000000000000000.00,0,10000000000000000.00,charge',
    ]);
    const path = writeInput(content);
    const result = await new DetectingCsvSource('processor', path, 'stripe', settings).read(
      context,
    );
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual(['txn_ok']);
    expect(result.invalidCount).toBe(4);
    const invalidRows = result.issues.filter((i) => i.check === 'invalid_row');
    expect(invalidRows).toEqual([
      {
        side: 'processor',
        location: path,
        check: 'invalid_row',
        severity: 'error',
        line: 3,
        field: 'balance_transaction_id',
        reason: `balance_transaction_id is not valid UTF-8 (byte 0xE9 at byte offset ${offsetOf(content, Buffer.from([0xe9]))})`,
        value: 'txn_\\xE9',
        count: null,
      },
      {
        side: 'processor',
        location: path,
        check: 'invalid_row',
        severity: 'error',
        line: 4,
        field: 'reporting_category',
        reason: `reporting_category contains a NUL byte (at byte offset ${offsetOf(content, Buffer.from([0]))})`,
        value: 'char\\x00ge',
        count: null,
      },
      {
        side: 'processor',
        location: path,
        check: 'invalid_row',
        severity: 'error',
        line: 5,
        field: null,
        reason: 'transaction id is 300 bytes long; at most 255 bytes (UTF-8) are accepted',
        value: `${'x'.repeat(200)}…`,
        count: null,
      },
      {
        side: 'processor',
        location: path,
        check: 'invalid_row',
        severity: 'error',
        line: 6,
        field: 'gross',
        reason: 'gross is beyond the accepted range of ±999999999999999999 minor units (18 digits)',
        value: '10000000000000000.00',
        count: null,
      },
      {
        side: 'processor',
        location: path,
        check: 'invalid_row',
        severity: 'error',
        line: 6,
        field: 'net',
        reason: 'net is beyond the accepted range of ±999999999999999999 minor units (18 digits)',
        value: '10000000000000000.00',
        count: null,
      },
    ]);
  });

  it('rejects API records with NUL, lone surrogates, long ids and amounts beyond the limit', () => {
    const fields = {
      transactionId: 'id',
      amount: 'amount',
      currency: 'currency',
      status: 'status',
      merchantId: 'merchant',
      createdAt: 'created',
      fee: 'fee',
    };
    const record = (overrides: Partial<RawRecord>): RawRecord => ({
      transactionId: 'tx1',
      amount: { units: 'minor', value: 100 },
      currency: 'USD',
      status: 'succeeded',
      merchantId: 'm1',
      createdAt: 1759233600,
      description: 'ok',
      fields,
      ...overrides,
    });
    const origin = { side: 'processor' as const, location: 'https://api.example/tx', position: 7 };
    const reasons = (overrides: Partial<RawRecord>) =>
      normalizeRecord(record(overrides), origin, STATUS_MAPS.stripe).issues.map((i) => [
        i.field,
        i.reason,
        i.value,
      ]);
    expect(reasons({})).toEqual([]);
    expect(reasons({ transactionId: 'a\u0000b' })).toEqual([
      ['id', 'id contains a NUL character (U+0000)', 'a\\x00b'],
    ]);
    expect(reasons({ description: 'x\u0000' })).toEqual([
      ['description', 'description contains a NUL character (U+0000)', 'x\\x00'],
    ]);
    expect(reasons({ merchantId: 'm\ud800' })).toEqual([
      ['merchant', 'merchant is not valid Unicode (lone surrogate)', 'm\ud800'],
    ]);
    expect(reasons({ transactionId: 'é'.repeat(128) })).toEqual([
      ['id', 'id is 256 bytes long; at most 255 bytes (UTF-8) are accepted', 'é'.repeat(128)],
    ]);
    expect(reasons({ amount: { units: 'minor', value: '9223372036854775808' } })).toEqual([
      [
        'amount',
        'amount is beyond the accepted range of ±999999999999999999 minor units (18 digits)',
        '9223372036854775808',
      ],
    ]);
    expect(reasons({ amount: { units: 'major', value: '-10000000000000000.00' } })).toEqual([
      [
        'amount',
        'amount is beyond the accepted range of ±999999999999999999 minor units (18 digits)',
        '-10000000000000000.00',
      ],
    ]);
  });
});

describe('RECON_ENCODING', () => {
  it('sets the default encoding (names as --encoding takes them) and rejects other names naming the variable', () => {
    expect(loadConfig({}).encoding).toBe('utf-8');
    expect(loadConfig({ RECON_ENCODING: 'latin1' }).encoding).toBe('latin1');
    expect(loadConfig({ RECON_ENCODING: 'CP1252' }).encoding).toBe('windows-1252');
    expect(() => loadConfig({ RECON_ENCODING: 'ebcdic' })).toThrow(
      new ConfigError('RECON_ENCODING must be one of utf-8, latin1, windows-1252, got "ebcdic"'),
    );
  });
});
