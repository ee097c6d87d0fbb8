import fc from 'fast-check';
import type { CanonicalStatus, Transaction } from '../../src/domain/transaction';
import { ColumnBuilder, hashIdBytes } from '../../src/domain/transaction-columns';
import {
  DUPLICATE_ROW,
  FIRST_OF_DUPLICATED_ID,
  FIRST_OF_ID,
  SEGMENT_ROWS,
  TransactionTable,
} from '../../src/domain/transaction-table';

const STATUSES: readonly CanonicalStatus[] = ['settled', 'pending', 'refunded', 'unknown'];
const INT64_MAX = 2n ** 63n - 1n;

/** Any transaction: unicode ids and descriptions, amounts and fees far beyond 64 bits. */
const transactionArbitrary = fc
  .record({
    id: fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.constantFrom('tx_1', 'tx_2', 'é€𝄞'),
    ),
    amount: fc.oneof(
      fc.bigInt({ min: -5n, max: 5n }),
      fc.bigInt({ min: -(2n ** 90n), max: 2n ** 90n }),
    ),
    fee: fc.option(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })),
    currency: fc.constantFrom('USD', 'JPY', 'KWD'),
    status: fc.constantFrom(...STATUSES),
    raw: fc.string({ maxLength: 6 }),
    merchant: fc.constantFrom('acct_1', 'acct_ü'),
    createdAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    description: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 })),
    line: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  })
  .map((r): Transaction => ({
    transactionId: r.id,
    amountMinor: r.amount,
    currency: r.currency,
    feeMinor: r.fee,
    status: r.status,
    rawStatus: r.raw,
    merchantId: r.merchant,
    createdAtMs: r.createdAtMs,
    description: r.description,
    line: r.line,
  }));

function naiveStates(rows: readonly Transaction[]): number[] {
  const seen = new Map<string, number>();
  const states = rows.map(() => FIRST_OF_ID);
  rows.forEach((row, index) => {
    const first = seen.get(row.transactionId);
    if (first === undefined) seen.set(row.transactionId, index);
    else {
      states[index] = DUPLICATE_ROW;
      states[first] = FIRST_OF_DUPLICATED_ID;
    }
  });
  return states;
}

const plain = (row: number): Transaction => ({
  transactionId: `id_${row % 100_000}`,
  amountMinor: BigInt(row) * (row % 2 === 0 ? 1n : -1n),
  currency: row % 3 === 0 ? 'JPY' : 'USD',
  feeMinor: row % 5 === 0 ? null : 29n,
  status: 'settled',
  rawStatus: 'succeeded',
  merchantId: `acct_${row % 7}`,
  createdAtMs: 1_759_190_400_000 + row,
  description: row % 4 === 0 ? null : `Order ${row}`,
  line: row + 2,
});

describe('TransactionTable', () => {
  it('gives back every appended transaction unchanged (unicode, >64-bit amounts, null fee and description)', () => {
    fc.assert(
      fc.property(fc.array(transactionArbitrary, { maxLength: 40 }), (rows) => {
        const table = TransactionTable.fromTransactions(rows);
        expect(table.length).toBe(rows.length);
        expect(table.toArray()).toEqual(rows);
        rows.forEach((row, index) => {
          expect(table.idAt(index)).toBe(row.transactionId);
          expect(table.amountAt(index)).toBe(row.amountMinor);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('marks duplicate rows and counts duplicated ids exactly like a Map of the ids', () => {
    fc.assert(
      fc.property(fc.array(transactionArbitrary, { maxLength: 60 }), (rows) => {
        const table = TransactionTable.fromTransactions(rows);
        const states = naiveStates(rows);
        expect(rows.map((_, index) => table.rowState(index))).toEqual(states);
        expect(table.duplicatedIds).toBe(states.filter((s) => s === FIRST_OF_DUPLICATED_ID).length);
      }),
      { numRuns: 300 },
    );
  });

  it('finds the first row of an id of another table, byte for byte', () => {
    const ledger = TransactionTable.fromTransactions(
      ['a', 'é', 'tx_1', 'tx_1', '𝄞'].map((id, n) => ({ ...plain(n), transactionId: id })),
    );
    const processor = TransactionTable.fromTransactions(
      ['tx_1', 'e', '𝄞', 'a ', 'é'].map((id, n) => ({ ...plain(n), transactionId: id })),
    );
    expect([0, 1, 2, 3, 4].map((row) => ledger.findFirst(processor, row))).toEqual([
      2, -1, 4, -1, 1,
    ]);
  });

  it('keeps rows, duplicates and lookups right across segments of 65 536 rows and index growth', () => {
    const table = new TransactionTable();
    for (let row = 0; row < 150_000; row++) table.append(plain(row));
    expect(table.length).toBe(150_000);
    // ids id_0 … id_49999 occur twice (rows n and n + 100 000), in different segments.
    expect(table.duplicatedIds).toBe(50_000);
    expect(table.rowState(0)).toBe(FIRST_OF_DUPLICATED_ID);
    expect(table.rowState(99_999)).toBe(FIRST_OF_ID);
    expect(table.rowState(100_000)).toBe(DUPLICATE_ROW);
    for (const row of [0, 65_535, 65_536, 65_537, 131_071, 131_072, 149_999]) {
      expect(table.at(row)).toEqual(plain(row));
    }
    const probe = TransactionTable.fromTransactions([
      plain(65_536),
      plain(149_999),
      { ...plain(1), transactionId: 'nope' },
    ]);
    expect([0, 1, 2].map((row) => table.findFirst(probe, row))).toEqual([65_536, 49_999, -1]);
    // All rows at once (grouped probes) gives what row-by-row lookups give, across segments.
    const many = TransactionTable.fromTransactions(
      Array.from({ length: 70_000 }, (_, n) => ({ ...plain(n * 3), transactionId: `id_${n * 3}` })),
    );
    const all = table.firstRowsOf(many);
    expect(all).toHaveLength(70_000);
    for (let row = 0; row < many.length; row++) {
      expect(all[row]).toBe(table.findFirst(many, row));
    }
    expect(all[1]).toBe(3);
    expect(all[40_000]).toBe(-1); // id_120000 is not in the table (ids stop at id_99999)
  });

  it('appends columns built elsewhere (a parser thread) with their dictionaries translated', () => {
    const rows = Array.from({ length: 300 }, (_, n) => plain(n));
    // The "file" dictionaries list currencies, statuses and merchants in another order.
    const fileCurrencies = ['USD', 'JPY'] as const;
    const fileMerchants = Array.from({ length: 7 }, (_, n) => `acct_${6 - n}`);
    const columns = new ColumnBuilder(rows.length);
    for (const t of rows) {
      columns.push(
        t.transactionId,
        t.amountMinor,
        fileCurrencies.indexOf(t.currency as 'USD' | 'JPY'),
        t.feeMinor,
        0,
        fileMerchants.indexOf(t.merchantId),
        t.createdAtMs,
        t.description,
        t.line,
      );
    }
    const table = new TransactionTable();
    table.append(plain(1000)); // the table already has rows and dictionary entries
    const maps = {
      currencies: fileCurrencies.map((code) => table.currencyIndex(code)),
      statuses: [table.statusIndex('settled', 'succeeded')],
      merchants: fileMerchants.map((m) => table.merchantIndex(m)),
    };
    table.appendColumns(columns.toColumns(), maps);
    expect(table.toArray()).toEqual([plain(1000), ...rows]);
  });

  it('adopts columns as whole segments (no copy) and holds the same rows as appending them', () => {
    const sizes = [SEGMENT_ROWS, SEGMENT_ROWS, 100, 7];
    const fileCurrencies = ['USD', 'JPY'] as const;
    const fileMerchants = Array.from({ length: 7 }, (_, n) => `acct_${6 - n}`);
    let next = 0;
    const sets = sizes.map((size) => {
      const columns = new ColumnBuilder(16, SEGMENT_ROWS);
      for (let k = 0; k < size; k++, next++) {
        const t = { ...plain(next), ...(next % 999 === 0 ? { amountMinor: 2n ** 70n } : {}) };
        columns.push(
          t.transactionId,
          t.amountMinor,
          fileCurrencies.indexOf(t.currency as 'USD' | 'JPY'),
          t.feeMinor,
          0,
          fileMerchants.indexOf(t.merchantId),
          t.createdAtMs,
          t.description,
          t.line,
          null,
          next % 500 === 0 ? `ref-${next}` : null,
        );
      }
      return columns;
    });
    const build = (adopt: boolean): TransactionTable => {
      const table = new TransactionTable();
      const maps = {
        currencies: fileCurrencies.map((code) => table.currencyIndex(code)),
        statuses: [table.statusIndex('settled', 'succeeded')],
        merchants: fileMerchants.map((m) => table.merchantIndex(m)),
      };
      for (const columns of sets) {
        // Adoption translates in place: hand each table its own copy of the arrays.
        const copy = ColumnBuilder.adopt(structuredClone(columns.toColumns()), SEGMENT_ROWS);
        if (adopt) table.adoptColumns(copy.toColumns(), maps);
        else table.appendColumns(copy.toColumns(), maps);
      }
      return table;
    };
    const adopted = build(true);
    const appended = build(false);
    expect(adopted.length).toBe(next);
    expect(adopted.toArray()).toEqual(appended.toArray());
    expect(adopted.duplicatedIds).toBe(appended.duplicatedIds);
    expect(adopted.firstRowsOf(appended)).toEqual(appended.firstRowsOf(appended));
    // A set that does not start a segment (the table's length is 100 + 7 past one) is copied.
    adopted.adoptColumns(sets[2]?.toColumns() ?? new ColumnBuilder(1).toColumns(), {
      currencies: [0, 1],
      statuses: [0],
      merchants: fileMerchants.map((m) => adopted.merchantIndex(m)),
    });
    expect(adopted.length).toBe(next + 100);
    expect(adopted.at(next)).toEqual(appended.at(2 * SEGMENT_ROWS));
  });

  it('sums amounts per currency exactly, beyond 64 bits', () => {
    const big = 2n ** 80n;
    const table = TransactionTable.fromTransactions([
      { ...plain(1), amountMinor: big, currency: 'USD' },
      { ...plain(2), amountMinor: INT64_MAX, currency: 'USD' },
      { ...plain(3), amountMinor: -5n, currency: 'JPY' },
      { ...plain(4), amountMinor: 7n, currency: 'USD' },
    ]);
    expect(table.volumeByCurrency()).toEqual(
      new Map([
        ['USD', big + INT64_MAX + 7n],
        ['JPY', -5n],
      ]),
    );
  });

  it('lists only currencies that have rows, in the order of their first row', () => {
    const table = new TransactionTable();
    table.currencyIndex('KWD'); // in the dictionary, but no row uses it
    table.currencyIndex('JPY');
    table.append({ ...plain(1), currency: 'USD', amountMinor: 0n });
    table.append({ ...plain(2), currency: 'JPY', amountMinor: 3n });
    expect([...table.volumeByCurrency()]).toEqual([
      ['USD', 0n],
      ['JPY', 3n],
    ]);
  });

  it('compares amounts without allocating, and wide amounts exactly', () => {
    const a = TransactionTable.fromTransactions([
      { ...plain(1), amountMinor: 5n },
      { ...plain(2), amountMinor: 2n ** 70n },
    ]);
    const b = TransactionTable.fromTransactions([
      { ...plain(1), amountMinor: 5n },
      { ...plain(2), amountMinor: 2n ** 70n + 1n },
    ]);
    expect(a.sameAmount(0, b, 0)).toBe(true);
    expect(a.sameAmount(1, b, 1)).toBe(false);
    expect(a.sameAmount(1, a, 1)).toBe(true);
  });

  it('refuses lookups after its id index is dropped, keeping the row states', () => {
    const table = TransactionTable.fromTransactions([plain(1), plain(1)]);
    table.dropIdIndex();
    expect(table.rowState(1)).toBe(DUPLICATE_ROW);
    expect(() => table.findFirst(table, 0)).toThrow(/dropped/);
    expect(() => table.at(2)).toThrow(RangeError);
  });

  it('hashes equal bytes equally wherever they sit in a buffer', () => {
    const bytes = Buffer.from('xxtx_1yytx_1');
    expect(hashIdBytes(bytes, 2, 6)).toBe(hashIdBytes(bytes, 8, 12));
    expect(hashIdBytes(bytes, 2, 6)).not.toBe(hashIdBytes(bytes, 2, 5));
  });
});
