import fc from 'fast-check';
import type { Discrepancy, OutcomeClass } from '../../src/domain/discrepancy';
import { STATUS_MAPS } from '../../src/domain/status';
import type { CanonicalStatus, Transaction } from '../../src/domain/transaction';
import {
  checkAccounting,
  emptyOutcomeCounts,
  matchTables,
  matchTransactions,
  type MatchResult,
  type TimingPair,
} from '../../src/engine/match-transactions';
import {
  businessDateAtCutoff,
  daysBetween,
  parseCutoff,
  type Cutoff,
} from '../../src/domain/cutoff';
import { TransactionTable } from '../../src/domain/transaction-table';
import { addSideChecks } from '../../src/sources/side-checks';
import type { SourceReadResult } from '../../src/sources/transaction-source';

/**
 * The simple implementation the optimized engine must agree with: the rules written out
 * directly (first row per id on each side is matched, every later row is a duplicate; currency,
 * then amount, then status; unknown statuses compared by raw text), with plain arrays and `find`.
 */
function referenceMatch(
  processorRows: readonly Transaction[],
  internalRows: readonly Transaction[],
  cutoffs?: { processor: Cutoff; internal: Cutoff },
): MatchResult {
  // With cut-offs every row is dated (slowly, one luxon computation per row) and a clean pair on
  // two business dates is timing.
  const dated = (rows: readonly Transaction[], cutoff: Cutoff | undefined): Transaction[] =>
    rows.map((row) =>
      cutoff ? { ...row, businessDate: businessDateAtCutoff(row.createdAtMs, cutoff) } : row,
    );
  const processor = dated(processorRows, cutoffs?.processor);
  const internal = dated(internalRows, cutoffs?.internal);
  const timingPairs: TimingPair[] = [];
  const counts = emptyOutcomeCounts();
  const discrepancies: Discrepancy[] = [];
  const isFirst = (rows: readonly Transaction[], index: number): boolean =>
    rows.findIndex((row) => row.transactionId === rows[index]?.transactionId) === index;
  const duplicate = (row: Transaction, side: 'processor' | 'internal'): Discrepancy => ({
    kind: 'duplicate',
    transactionId: row.transactionId,
    side,
    processor: side === 'processor' ? row : null,
    internal: side === 'internal' ? row : null,
    differenceMinor: null,
  });
  let processorDuplicates = 0;
  let internalDuplicates = 0;
  processor.forEach((p, index) => {
    if (!isFirst(processor, index)) {
      processorDuplicates++;
      discrepancies.push(duplicate(p, 'processor'));
      return;
    }
    const i = internal.find((row) => row.transactionId === p.transactionId);
    if (!i) {
      counts.missing_in_internal++;
      discrepancies.push({
        kind: 'missing_in_internal',
        transactionId: p.transactionId,
        side: 'processor',
        processor: p,
        internal: null,
        differenceMinor: null,
      });
      return;
    }
    let kind: OutcomeClass = 'matched';
    if (p.currency !== i.currency) kind = 'currency_mismatch';
    else if (p.amountMinor !== i.amountMinor) kind = 'amount_mismatch';
    else if (p.status !== i.status) kind = 'status_mismatch';
    else if (
      p.status === 'unknown' &&
      p.rawStatus.trim().toLowerCase() !== i.rawStatus.trim().toLowerCase()
    )
      kind = 'status_mismatch';
    if (kind === 'matched' && p.businessDate !== i.businessDate) {
      timingPairs.push({
        transactionId: p.transactionId,
        processorBusinessDate: p.businessDate ?? '',
        internalBusinessDate: i.businessDate ?? '',
        lagDays: Math.abs(daysBetween(p.businessDate ?? '', i.businessDate ?? '')),
      });
      return;
    }
    counts[kind]++;
    if (kind !== 'matched')
      discrepancies.push({
        kind,
        transactionId: p.transactionId,
        side: 'both',
        processor: p,
        internal: i,
        differenceMinor: kind === 'amount_mismatch' ? p.amountMinor - i.amountMinor : null,
      });
  });
  internal.forEach((i, index) => {
    if (isFirst(internal, index) && !processor.some((p) => p.transactionId === i.transactionId)) {
      counts.missing_in_processor++;
      discrepancies.push({
        kind: 'missing_in_processor',
        transactionId: i.transactionId,
        side: 'internal',
        processor: null,
        internal: i,
        differenceMinor: null,
      });
    }
  });
  internal.forEach((i, index) => {
    if (!isFirst(internal, index)) {
      internalDuplicates++;
      discrepancies.push(duplicate(i, 'internal'));
    }
  });
  counts.duplicate = processorDuplicates + internalDuplicates;
  return {
    processorTransactions: processor.length,
    internalTransactions: internal.length,
    counts,
    timing: timingPairs.length,
    timingPairs,
    duplicates: { processor: processorDuplicates, internal: internalDuplicates },
    discrepancies,
  };
}

const STATUSES: readonly CanonicalStatus[] = ['settled', 'pending', 'refunded', 'unknown'];

/** Rows drawn from a small id space so that matches, duplicates and misses are all common. */
const rowArbitrary = fc
  .record({
    id: fc.integer({ min: 0, max: 25 }),
    amount: fc.bigInt({ min: -3n, max: 3n }),
    currency: fc.constantFrom('USD', 'EUR'),
    status: fc.constantFrom(...STATUSES),
    raw: fc.constantFrom('weird', 'Weird ', 'other'),
    line: fc.integer({ min: 2, max: 1000 }),
    hour: fc.integer({ min: -20, max: 20 }),
  })
  .map((r): Transaction => ({
    transactionId: `tx_${r.id}`,
    amountMinor: r.amount,
    currency: r.currency,
    feeMinor: null,
    status: r.status,
    rawStatus: r.status === 'unknown' ? r.raw : r.status,
    merchantId: 'acct_1',
    createdAtMs: Date.UTC(2025, 8, 30, 12) + r.hour * 3_600_000,
    description: null,
    line: r.line,
  }));

const sideResult = (
  side: 'processor' | 'internal',
  transactions: Transaction[],
): SourceReadResult => ({
  side,
  location: `${side}.csv`,
  table: TransactionTable.fromTransactions(transactions),
  issues: [],
  rowCount: transactions.length,
  invalidCount: 0,
});

const context = { businessDate: '2025-09-30', timeZone: 'UTC', statusMap: STATUS_MAPS.internal };

/** Cut-offs the run-path property draws from, one per side (RECON_CUTOFF_*). */
const CUTOFFS: readonly Cutoff[] = [
  'UTC 00:00',
  'America/Los_Angeles 17:00',
  'Europe/Amsterdam 00:00',
  'Asia/Kolkata 06:30',
].map((text) => parseCutoff(text, 'RECON_CUTOFF_STRIPE'));

describe('matchTransactions (differential against the simple implementation)', () => {
  it('gives the same counts, discrepancies and order as the reference on random sides', () => {
    fc.assert(
      fc.property(
        fc.array(rowArbitrary, { maxLength: 60 }),
        fc.array(rowArbitrary, { maxLength: 60 }),
        (processor, internal) => {
          const expected = referenceMatch(processor, internal);
          const found = matchTransactions(processor, internal);
          expect(found).toEqual(expected);
          expect(checkAccounting(found)).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same result when the side checks have indexed both sides first (run path)', () => {
    fc.assert(
      fc.property(
        fc.array(rowArbitrary, { maxLength: 60 }),
        fc.array(rowArbitrary, { maxLength: 60 }),
        fc.constantFrom(...CUTOFFS),
        fc.constantFrom(...CUTOFFS),
        (processorRows, internalRows, processorCutoff, internalCutoff) => {
          const processor = addSideChecks(sideResult('processor', processorRows), {
            ...context,
            cutoff: processorCutoff,
          });
          const internal = addSideChecks(sideResult('internal', internalRows), {
            ...context,
            cutoff: internalCutoff,
          });
          const found = matchTables(processor.table, internal.table);
          expect(found).toEqual(
            referenceMatch(processorRows, internalRows, {
              processor: processorCutoff,
              internal: internalCutoff,
            }),
          );
          expect(checkAccounting(found)).toEqual([]);
          // Matching only reads the tables: matching twice gives the same result.
          expect(matchTables(processor.table, internal.table)).toEqual(found);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('side checks count duplicated ids as the number of distinct ids seen more than once', () => {
    fc.assert(
      fc.property(fc.array(rowArbitrary, { maxLength: 80 }), (rows) => {
        const counts = new Map<string, number>();
        for (const row of rows)
          counts.set(row.transactionId, (counts.get(row.transactionId) ?? 0) + 1);
        const expected = [...counts.values()].filter((count) => count > 1).length;
        expect(TransactionTable.fromTransactions(rows).duplicatedIds).toBe(expected);
        const issue = addSideChecks(sideResult('processor', rows), context).issues.find(
          (i) => i.check === 'duplicate_ids',
        );
        expect(issue?.count ?? 0).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference across table segments (more than 65 536 rows, duplicates far apart)', () => {
    // 70 000 ledger rows and 70 000 processor rows over 69 000 ids: the duplicated ids have their
    // first row in the first segment and their second in the second; every class occurs.
    const row = (id: number, line: number, amount: bigint, currency = 'USD'): Transaction => ({
      transactionId: `tx_${id}`,
      amountMinor: amount,
      currency,
      feeMinor: null,
      status: 'settled',
      rawStatus: 'settled',
      merchantId: 'acct_1',
      createdAtMs: Date.UTC(2025, 8, 30, 12),
      description: null,
      line,
    });
    const processor: Transaction[] = [];
    const internal: Transaction[] = [];
    for (let n = 0; n < 70_000; n++) {
      const id = n < 69_000 ? n : n - 69_000; // rows 69 000+ repeat ids 0…999
      processor.push(row(id % 3 === 0 ? id + 100_000 : id, n + 2, BigInt(id)));
      internal.push(
        row(id, n + 2, id % 7 === 0 ? BigInt(id) + 1n : BigInt(id), id % 11 === 0 ? 'EUR' : 'USD'),
      );
    }
    const found = matchTransactions(processor, internal);
    expect(checkAccounting(found)).toEqual([]);
    // The reference is quadratic: compare the counts and a digest of every discrepancy.
    expect(found.duplicates).toEqual({ processor: 1000, internal: 1000 });
    const digest = (result: MatchResult): string[] =>
      result.discrepancies.map(
        (d) => `${d.kind}|${d.transactionId}|${d.processor?.line ?? ''}|${d.internal?.line ?? ''}`,
      );
    const small = (rows: Transaction[]): Transaction[] =>
      rows.filter((t) => Number(t.transactionId.slice(3)) % 97 === 0);
    // Restricted to ids ≡ 0 (mod 97), the big run and the reference agree row for row.
    const expected = referenceMatch(small(processor), small(internal));
    expect(digest(found).filter((line) => Number(line.split('|')[1]?.slice(3)) % 97 === 0)).toEqual(
      digest(expected),
    );
  });
});
