import fc from 'fast-check';
import type { DataQualityIssue } from '../../src/domain/data-quality';
import { STATUS_MAPS } from '../../src/domain/status';
import type { Transaction } from '../../src/domain/transaction';
import { TransactionTable } from '../../src/domain/transaction-table';
import { createCanonicalBatchValidator } from '../../src/sources/canonical-csv-source';
import { parseCsvChunks, recordFields } from '../../src/sources/csv-records';

/**
 * Differential test of the canonical validator on raw records (issue #16): the records of
 * quote-free runs read as bytes (`rawRecords`, no string per field, validated from the bytes with
 * a fall-back to the text for anything doubtful) against the same file read as text: identical
 * rows (every column), dictionaries, findings (order, lines, reasons, values) and counts.
 */

interface Validated {
  readonly header: string[] | null;
  readonly rowCount: number;
  readonly invalidCount: number;
  readonly issues: DataQualityIssue[];
  readonly rows: Transaction[];
  readonly merchants: string[];
  readonly currencies: string[];
  readonly statuses: string[];
  /** Records that reached the validator as bytes. */
  readonly rawRecords: number;
}

async function validate(chunks: readonly Buffer[], rawRecords: boolean): Promise<Validated> {
  const validator = createCanonicalBatchValidator({
    side: 'processor',
    location: 'test.csv',
    statusMap: STATUS_MAPS.stripe,
  });
  const table = new TransactionTable();
  const maps = { currencies: [] as number[], statuses: [] as number[], merchants: [] as number[] };
  const issues: DataQualityIssue[] = [];
  let header: string[] | null = null;
  let rowCount = 0;
  let invalidCount = 0;
  let raw = 0;
  for await (const batch of parseCsvChunks(chunks, 'utf-8', { rawRecords })) {
    if (batch.raw) for (const at of batch.raw.at) if (at >= 0) raw++;
    const value = validator(batch).value;
    header ??= value.header;
    rowCount += value.rowCount;
    invalidCount += value.invalidCount;
    issues.push(...value.issues);
    for (const code of value.newCurrencies) maps.currencies.push(table.currencyIndex(code));
    for (const s of value.newStatuses) maps.statuses.push(table.statusIndex(s.status, s.raw));
    for (const m of value.newMerchants) maps.merchants.push(table.merchantIndex(m));
    for (const columns of value.columns) table.adoptColumns(columns, maps);
  }
  const last = validator.end?.();
  if (last) for (const columns of last.value.columns) table.adoptColumns(columns, maps);
  const rows = Array.from({ length: table.length }, (_, i) => table.at(i));
  return {
    header,
    rowCount,
    invalidCount,
    issues,
    rows,
    merchants: [...table.merchants],
    currencies: [...table.currencies],
    statuses: table.statuses.map((s) => `${s.status}:${s.raw}`),
    rawRecords: raw,
  };
}

/** `text` as UTF-8, the header line alone in the first chunk (the first chunk goes to csv-parse). */
function chunked(text: string, cuts: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const headerEnd = bytes.indexOf(0x0a) + 1;
  const at = [...new Set(cuts.map((c) => headerEnd + (c % Math.max(1, bytes.length - headerEnd))))]
    .filter((c) => c > headerEnd && c < bytes.length)
    .sort((a, b) => a - b);
  const chunks = [bytes.subarray(0, headerEnd)];
  let from = headerEnd;
  for (const cut of at) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const IDS = ['ch_1', 'ch_2', ' ch_1 ', '', 'Zürich-1', '\u00a0ch_3', 'ch_4\u00a0', '\ufeffch_5'];
const LONG_IDS = ['x'.repeat(255), 'x'.repeat(256), 'é'.repeat(128), '\tch_6\t'];
const AMOUNTS = ['1.00', '-0', '12', '1.5', '1.50', '1.555', 'abc', '', ' 3.20 ', '1e5', '-', '.5'];
const MORE_AMOUNTS = ['5.', '123456789012', '9'.repeat(19), '-12.34', '0.001', '１', '+1', '1..2'];
const CURRENCIES = [
  'USD',
  'usd',
  ' EUR ',
  'JPY',
  'KWD',
  'XXX',
  'ZZZ',
  '',
  'US D',
  'ÜSD',
  'USD\u00a0',
];
const STATUSES = [
  'succeeded',
  'pending',
  'refunded',
  'failed',
  'weird',
  '',
  ' Succeeded ',
  'toString',
];
const MERCHANTS = ['acct_1', 'acct_2', ' acct_1 ', '', 'mé', '\u3000m', 'acct_3', 'm\u00e9'];
const TIMES = [
  '2025-09-30T04:02:05.658Z',
  '2025-09-30T04:02:05Z',
  '2025-10-01T23:59:59.9Z',
  '2025-09-30T24:00:00Z',
  '2025-02-30T01:00:00Z',
  '2025-09-30T04:02:05.1234567891Z',
  '2025-09-30T04:02:05+02:00',
  'garbage',
  '',
  '２025-09-30T04:02:05Z',
  '2025-09-30T04:02:05.Z',
  ' 2025-09-30T04:02:05Z ',
  '2025-09-3xT04:02:05Z',
];
const FEES = ['', '0.10', 'x', ' 1.00 ', '-0.5', '0.123'];
const DESCRIPTIONS = ['', 'Order 1', ' spaced ', 'café', 'x\u00a0', '\u2028', 'a;b', '\t'];
const REFERENCES = ['', 'INV-1', ' ref ', 'réf'];

const COLUMNS = [
  'transaction_id',
  'amount',
  'currency',
  'status',
  'merchant_id',
  'created_at',
  'fee',
  'description',
  'reference',
  'extra',
] as const;

const VALUES: Record<(typeof COLUMNS)[number], readonly string[]> = {
  transaction_id: [...IDS, ...LONG_IDS],
  amount: [...AMOUNTS, ...MORE_AMOUNTS],
  currency: CURRENCIES,
  status: STATUSES,
  merchant_id: MERCHANTS,
  created_at: TIMES,
  fee: FEES,
  description: DESCRIPTIONS,
  reference: REFERENCES,
  extra: ['', 'x'],
};

/** A canonical file: the required columns in any order, some optional ones, tricky values. */
const canonicalFile = fc
  .record({
    optional: fc.subarray(['fee', 'description', 'reference', 'extra'] as const),
    order: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
    rows: fc.array(
      fc.record({
        picks: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
        // Mostly valid-looking rows, so that the byte path has work; sometimes a short row.
        clean: fc.boolean(),
        shape: fc.constantFrom('ok', 'ok', 'ok', 'short', 'long', 'blank', 'quoted'),
      }),
      { minLength: 1, maxLength: 60 },
    ),
    crlf: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
  })
  .map(({ optional, order, rows, crlf, cuts }) => {
    const columns: (typeof COLUMNS)[number][] = [...COLUMNS.slice(0, 6), ...optional];
    const keyed = columns.map((c, i) => ({ c, k: order[i] ?? 0 }));
    keyed.sort((a, b) => a.k - b.k);
    const header = keyed.map((x) => x.c);
    const eol = crlf ? '\r\n' : '\n';
    const lines = [header.join(',')];
    for (const row of rows) {
      if (row.shape === 'blank') {
        lines.push('');
        continue;
      }
      const fields = header.map((c, i) => {
        const pool = VALUES[c];
        const pick = row.picks[i] ?? 0;
        // A clean row takes each column's first value (valid), but its id varies.
        if (row.clean && c !== 'transaction_id') return pool[0] as string;
        return pool[pick % pool.length] as string;
      });
      if (row.shape === 'short') fields.pop();
      if (row.shape === 'long') fields.push('x');
      if (row.shape === 'quoted') fields[0] = `"${fields[0] ?? ''},q"`;
      lines.push(fields.join(','));
    }
    return chunked(lines.join(eol) + eol, cuts);
  });

describe('canonical validator on raw records', () => {
  it('gives the rows, dictionaries and findings of the text path, for any file and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(canonicalFile, async (chunks) => {
        const text = await validate(chunks, false);
        const raw = await validate(chunks, true);
        expect(text.rawRecords).toBe(0);
        expect({ ...raw, rawRecords: 0 }).toEqual(text);
      }),
      { numRuns: 400 },
    );
  });

  it('validates quote-free records from their bytes (valid rows, LF and CRLF)', async () => {
    for (const eol of ['\n', '\r\n']) {
      const rows = Array.from(
        { length: 2000 },
        (_, i) =>
          `ch_${i},${i}.25,${i % 2 ? 'EUR' : 'JPY'},succeeded,acct_${i % 7},2025-09-30T04:02:05.${String(i % 1000).padStart(3, '0')}Z,0.01,Order ${i}`,
      );
      // JPY has no decimals: those rows are invalid, and reported from their text.
      const file =
        'transaction_id,amount,currency,status,merchant_id,created_at,fee,description' +
        eol +
        rows.join(eol) +
        eol;
      const chunks = chunked(file, [100, 5000, 40000, 77777]);
      const text = await validate(chunks, false);
      const raw = await validate(chunks, true);
      expect(raw.rawRecords).toBeGreaterThan(1900);
      expect({ ...raw, rawRecords: 0 }).toEqual(text);
      expect(text.rows).toHaveLength(1000);
      expect(text.invalidCount).toBe(1000);
    }
  });

  it('gives the text of every field of a raw record (recordFields)', async () => {
    const chunks = chunked('a,b,c\n1,,x y\n\n2,é,\n', [7]);
    const records: string[][] = [];
    for await (const batch of parseCsvChunks(chunks, 'utf-8', { rawRecords: true })) {
      let at = 0;
      for (let r = 0; r < batch.length; r++) {
        records.push(recordFields(batch, r, at));
        if ((batch.raw?.at[r] ?? -1) < 0) at += batch.counts[r] as number;
      }
    }
    expect(records).toEqual([
      ['a', 'b', 'c'],
      ['1', '', 'x y'],
      ['2', 'é', ''],
    ]);
  });
});
