import fc from 'fast-check';
import type { Discrepancy, OutcomeClass } from '../../src/domain/discrepancy';
import { STATUS_MAPS } from '../../src/domain/status';
import type { CanonicalStatus, Transaction } from '../../src/domain/transaction';
import {
  checkAccounting,
  emptyOutcomeCounts,
  matchTransactions,
  type MatchResult,
} from '../../src/engine/match-transactions';
import { indexTransactions } from '../../src/engine/transaction-index';
import { addSideChecks } from '../../src/sources/side-checks';
import type { SourceReadResult } from '../../src/sources/transaction-source';

/**
 * The simple implementation the optimized engine must agree with: the rules written out
 * directly (first row per id on each side is matched, every later row is a duplicate; currency,
 * then amount, then status; unknown statuses compared by raw text), with plain arrays and `find`.
 */
function referenceMatch(
  processor: readonly Transaction[],
  internal: readonly Transaction[],
): MatchResult {
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
  })
  .map((r): Transaction => ({
    transactionId: `tx_${r.id}`,
    amountMinor: r.amount,
    currency: r.currency,
    feeMinor: null,
    status: r.status,
    rawStatus: r.status === 'unknown' ? r.raw : r.status,
    merchantId: 'acct_1',
    createdAtMs: Date.UTC(2025, 8, 30, 12),
    description: null,
    line: r.line,
  }));

const sideResult = (
  side: 'processor' | 'internal',
  transactions: Transaction[],
): SourceReadResult => ({
  side,
  location: `${side}.csv`,
  transactions,
  issues: [],
  rowCount: transactions.length,
  invalidCount: 0,
});

const context = { businessDate: '2025-09-30', timeZone: 'UTC', statusMap: STATUS_MAPS.internal };

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
        (processorRows, internalRows) => {
          const processor = addSideChecks(sideResult('processor', processorRows), context);
          const internal = addSideChecks(sideResult('internal', internalRows), context);
          const found = matchTransactions(processor.transactions, internal.transactions);
          expect(found).toEqual(referenceMatch(processorRows, internalRows));
          // Matching twice (the memo is dropped after the first match) gives the same result.
          expect(matchTransactions(processor.transactions, internal.transactions)).toEqual(found);
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
        expect(indexTransactions(rows).duplicatedIds).toBe(expected);
        const issue = addSideChecks(sideResult('processor', rows), context).issues.find(
          (i) => i.check === 'duplicate_ids',
        );
        expect(issue?.count ?? 0).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores a remembered index whose array changed length since (stale memo)', () => {
    const rows: Transaction[] = [];
    const first = fc.sample(rowArbitrary, { numRuns: 1, seed: 7 })[0] as Transaction;
    addSideChecks(sideResult('internal', rows), context);
    rows.push(first);
    const found = matchTransactions([first], rows);
    expect(found.counts.matched).toBe(1);
  });
});
