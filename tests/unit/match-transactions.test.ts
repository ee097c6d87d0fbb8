import fc from 'fast-check';
import type { CanonicalStatus, Transaction } from '../../src/domain/transaction';
import {
  checkAccounting,
  emptyOutcomeCounts,
  matchTransactions,
  type MatchResult,
} from '../../src/engine/match-transactions';
import { makeTransaction as tx } from './support/make-transaction';
import { parseCutoff } from '../../src/domain/cutoff';

function countsWith(overrides: Partial<ReturnType<typeof emptyOutcomeCounts>>) {
  return { ...emptyOutcomeCounts(), ...overrides };
}

describe('matchTransactions', () => {
  it('matches a pair with the same id, currency, amount and status', () => {
    const p = tx({ transactionId: 'a', line: 2 });
    const i = tx({ transactionId: 'a', line: 5 });
    const result = matchTransactions([p], [i]);
    expect(result.counts).toEqual(countsWith({ matched: 1 }));
    expect(result.discrepancies).toEqual([]);
    expect(result.processorTransactions).toBe(1);
    expect(result.internalTransactions).toBe(1);
    expect(result.duplicates).toEqual({ processor: 0, internal: 0 });
    expect(checkAccounting(result)).toEqual([]);
  });

  it('reports a processor row without a ledger row as missing_in_internal', () => {
    const p = tx({ transactionId: 'only_p' });
    const result = matchTransactions([p], []);
    expect(result.counts).toEqual(countsWith({ missing_in_internal: 1 }));
    expect(result.discrepancies).toEqual([
      {
        kind: 'missing_in_internal',
        transactionId: 'only_p',
        side: 'processor',
        processor: p,
        internal: null,
        differenceMinor: null,
      },
    ]);
    expect(checkAccounting(result)).toEqual([]);
  });

  it('reports a ledger row without a processor row as missing_in_processor', () => {
    const i = tx({ transactionId: 'only_i' });
    const result = matchTransactions([], [i]);
    expect(result.counts).toEqual(countsWith({ missing_in_processor: 1 }));
    expect(result.discrepancies).toEqual([
      {
        kind: 'missing_in_processor',
        transactionId: 'only_i',
        side: 'internal',
        processor: null,
        internal: i,
        differenceMinor: null,
      },
    ]);
  });

  it('reports an amount mismatch with difference = processor minus internal', () => {
    const p = tx({ transactionId: 'a', amountMinor: 1000n });
    const i = tx({ transactionId: 'a', amountMinor: 1250n });
    const result = matchTransactions([p], [i]);
    expect(result.counts).toEqual(countsWith({ amount_mismatch: 1 }));
    expect(result.discrepancies).toEqual([
      {
        kind: 'amount_mismatch',
        transactionId: 'a',
        side: 'both',
        processor: p,
        internal: i,
        differenceMinor: -250n,
      },
    ]);
    const reversed = matchTransactions([i], [p]);
    expect(reversed.discrepancies[0]?.differenceMinor).toBe(250n);
  });

  it('computes the amount difference exactly beyond 2^53', () => {
    const p = tx({ transactionId: 'a', amountMinor: 9007199254740993n });
    const i = tx({ transactionId: 'a', amountMinor: 9007199254740992n });
    expect(matchTransactions([p], [i]).discrepancies[0]?.differenceMinor).toBe(1n);
  });

  it('reports a currency mismatch in preference to an amount or status mismatch', () => {
    const p = tx({ transactionId: 'a', currency: 'USD', amountMinor: 1000n, status: 'settled' });
    const i = tx({ transactionId: 'a', currency: 'EUR', amountMinor: 999n, status: 'failed' });
    const result = matchTransactions([p], [i]);
    expect(result.counts).toEqual(countsWith({ currency_mismatch: 1 }));
    expect(result.discrepancies).toEqual([
      {
        kind: 'currency_mismatch',
        transactionId: 'a',
        side: 'both',
        processor: p,
        internal: i,
        differenceMinor: null,
      },
    ]);
  });

  it('reports an amount mismatch in preference to a status mismatch', () => {
    const p = tx({ transactionId: 'a', amountMinor: 1n, status: 'settled' });
    const i = tx({ transactionId: 'a', amountMinor: 2n, status: 'pending' });
    expect(matchTransactions([p], [i]).discrepancies.map((d) => d.kind)).toEqual([
      'amount_mismatch',
    ]);
  });

  it('compares statuses after canonical mapping, not by raw text', () => {
    const p = tx({ transactionId: 'a', status: 'settled', rawStatus: 'succeeded' });
    const i = tx({ transactionId: 'a', status: 'settled', rawStatus: 'posted' });
    expect(matchTransactions([p], [i]).counts).toEqual(countsWith({ matched: 1 }));
  });

  it('reports a status mismatch when canonical statuses differ', () => {
    const p = tx({ transactionId: 'a', status: 'settled', rawStatus: 'succeeded' });
    const i = tx({ transactionId: 'a', status: 'pending', rawStatus: 'pending' });
    const result = matchTransactions([p], [i]);
    expect(result.counts).toEqual(countsWith({ status_mismatch: 1 }));
    expect(result.discrepancies[0]).toMatchObject({
      kind: 'status_mismatch',
      side: 'both',
      differenceMinor: null,
    });
  });

  it('compares two unknown statuses by raw text, ignoring case and surrounding spaces', () => {
    const same = matchTransactions(
      [tx({ transactionId: 'a', status: 'unknown', rawStatus: 'On Hold' })],
      [tx({ transactionId: 'a', status: 'unknown', rawStatus: ' on hold ' })],
    );
    expect(same.counts).toEqual(countsWith({ matched: 1 }));
    const different = matchTransactions(
      [tx({ transactionId: 'a', status: 'unknown', rawStatus: 'on_hold' })],
      [tx({ transactionId: 'a', status: 'unknown', rawStatus: 'frozen' })],
    );
    expect(different.counts).toEqual(countsWith({ status_mismatch: 1 }));
  });

  it('matches the first processor row of an id and reports each extra row as a duplicate', () => {
    const first = tx({ transactionId: 'a', line: 2 });
    const second = tx({ transactionId: 'a', line: 3, amountMinor: 5n });
    const third = tx({ transactionId: 'a', line: 4 });
    const i = tx({ transactionId: 'a', line: 2 });
    const result = matchTransactions([first, second, third], [i]);
    expect(result.counts).toEqual(countsWith({ matched: 1, duplicate: 2 }));
    expect(result.duplicates).toEqual({ processor: 2, internal: 0 });
    expect(result.discrepancies).toEqual([
      {
        kind: 'duplicate',
        transactionId: 'a',
        side: 'processor',
        processor: second,
        internal: null,
        differenceMinor: null,
      },
      {
        kind: 'duplicate',
        transactionId: 'a',
        side: 'processor',
        processor: third,
        internal: null,
        differenceMinor: null,
      },
    ]);
    expect(checkAccounting(result)).toEqual([]);
  });

  it('matches the first ledger row of an id and reports each extra row as a duplicate', () => {
    const p = tx({ transactionId: 'a', amountMinor: 100n });
    const first = tx({ transactionId: 'a', amountMinor: 100n, line: 2 });
    const extra = tx({ transactionId: 'a', amountMinor: 999n, line: 7 });
    const result = matchTransactions([p], [first, extra]);
    expect(result.counts).toEqual(countsWith({ matched: 1, duplicate: 1 }));
    expect(result.duplicates).toEqual({ processor: 0, internal: 1 });
    expect(result.discrepancies).toEqual([
      {
        kind: 'duplicate',
        transactionId: 'a',
        side: 'internal',
        processor: null,
        internal: extra,
        differenceMinor: null,
      },
    ]);
  });

  it('orders discrepancies: processor file order, then ledger-only rows, then ledger duplicates', () => {
    const processor = [
      tx({ transactionId: 'p_only_1', line: 2 }),
      tx({ transactionId: 'both_amount', amountMinor: 1n, line: 3 }),
      tx({ transactionId: 'p_only_1', line: 4 }),
      tx({ transactionId: 'both_ok', line: 5 }),
      tx({ transactionId: 'p_only_2', line: 6 }),
    ];
    const internal = [
      tx({ transactionId: 'i_only_1', line: 2 }),
      tx({ transactionId: 'both_ok', line: 3 }),
      tx({ transactionId: 'i_only_1', line: 4 }),
      tx({ transactionId: 'both_amount', amountMinor: 2n, line: 5 }),
      tx({ transactionId: 'i_only_2', line: 6 }),
    ];
    const result = matchTransactions(processor, internal);
    expect(result.discrepancies.map((d) => [d.kind, d.transactionId, d.side])).toEqual([
      ['missing_in_internal', 'p_only_1', 'processor'],
      ['amount_mismatch', 'both_amount', 'both'],
      ['duplicate', 'p_only_1', 'processor'],
      ['missing_in_internal', 'p_only_2', 'processor'],
      ['missing_in_processor', 'i_only_1', 'internal'],
      ['missing_in_processor', 'i_only_2', 'internal'],
      ['duplicate', 'i_only_1', 'internal'],
    ]);
    expect(result.counts).toEqual(
      countsWith({
        matched: 1,
        amount_mismatch: 1,
        missing_in_internal: 2,
        missing_in_processor: 2,
        duplicate: 2,
      }),
    );
    expect(checkAccounting(result)).toEqual([]);
    // Deterministic: the same input gives the same result.
    expect(matchTransactions(processor, internal)).toEqual(result);
  });

  it('handles ids that are names of Object.prototype members like any other id', () => {
    const ids = ['__proto__', 'constructor', 'toString'];
    const result = matchTransactions(
      ids.map((id) => tx({ transactionId: id })),
      ids.map((id) => tx({ transactionId: id })),
    );
    expect(result.counts).toEqual(countsWith({ matched: 3 }));
  });

  it('returns all-zero counts for two empty sides', () => {
    const result = matchTransactions([], []);
    expect(result.counts).toEqual(emptyOutcomeCounts());
    expect(result.discrepancies).toEqual([]);
    expect(checkAccounting(result)).toEqual([]);
  });
});

describe('checkAccounting', () => {
  it('reports each broken identity of a tampered result', () => {
    const good = matchTransactions([tx({ transactionId: 'a' })], [tx({ transactionId: 'b' })]);
    expect(checkAccounting(good)).toEqual([]);
    const tampered: MatchResult = {
      ...good,
      processorTransactions: 3,
      counts: { ...good.counts, missing_in_processor: 2 },
    };
    expect(checkAccounting(tampered)).toEqual([
      'processor rows 3 != classified 1',
      'internal rows 1 != classified 2',
      'discrepancy rows 2 != counted 3',
    ]);
  });
});

describe('matchTransactions (property)', () => {
  const statuses: CanonicalStatus[] = ['settled', 'pending', 'failed', 'unknown'];
  const row = fc
    .record({
      transactionId: fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6'),
      amountMinor: fc.bigInt({ min: -3n, max: 3n }),
      currency: fc.constantFrom('USD', 'EUR', 'JPY'),
      status: fc.constantFrom(...statuses),
      rawStatus: fc.constantFrom('x', 'y'),
    })
    .map((fields) => tx(fields));
  const side = fc.array(row, { maxLength: 15 });

  it('accounts for every input row exactly once', () => {
    fc.assert(
      fc.property(side, side, (processor, internal) => {
        const result = matchTransactions(processor, internal);
        expect(checkAccounting(result)).toEqual([]);

        const c = result.counts;
        const pairs = c.matched + c.amount_mismatch + c.currency_mismatch + c.status_mismatch;
        // Pairs = ids present on both sides.
        const pIds = new Set(processor.map((t) => t.transactionId));
        const iIds = new Set(internal.map((t) => t.transactionId));
        expect(pairs).toBe([...pIds].filter((id) => iIds.has(id)).length);
        expect(c.missing_in_internal).toBe([...pIds].filter((id) => !iIds.has(id)).length);
        expect(c.missing_in_processor).toBe([...iIds].filter((id) => !pIds.has(id)).length);
        expect(result.duplicates).toEqual({
          processor: processor.length - pIds.size,
          internal: internal.length - iIds.size,
        });
        // Every row object appears in the result exactly once: as a discrepancy or a matched pair.
        expect(result.discrepancies.length + c.matched).toBe(
          processor.length + internal.length - pairs,
        );
        const seen = new Map<Transaction, number>();
        for (const d of result.discrepancies) {
          for (const r of d.side === 'both'
            ? [d.processor, d.internal]
            : [d.side === 'processor' ? d.processor : d.internal]) {
            if (r) seen.set(r, (seen.get(r) ?? 0) + 1);
          }
        }
        for (const count of seen.values()) expect(count).toBe(1);
        expect(seen.size).toBe(processor.length + internal.length - 2 * c.matched);
        // Only amount mismatches carry a difference, and it is processor minus internal.
        for (const d of result.discrepancies) {
          if (d.kind === 'amount_mismatch') {
            expect(d.differenceMinor).toBe(
              (d.processor as Transaction).amountMinor - (d.internal as Transaction).amountMinor,
            );
            expect(d.differenceMinor).not.toBe(0n);
          } else {
            expect(d.differenceMinor).toBeNull();
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('timing pairs: clean pairs on two business dates by the cut-offs', () => {
  const utc = parseCutoff('UTC 00:00', 'RECON_CUTOFF_LEDGER');
  const square = parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE');
  const at = (iso: string) => Date.parse(iso);

  it('counts a pair booked at 23:58 by the ledger and 00:03 by the processor as timing with lag 1', () => {
    const p = tx({ transactionId: 'late', createdAtMs: at('2025-10-01T00:03:00Z') });
    const i = tx({ transactionId: 'late', createdAtMs: at('2025-09-30T23:58:00Z') });
    const same = tx({ transactionId: 'same', createdAtMs: at('2025-09-30T12:00:00Z') });
    const result = matchTransactions([p, same], [i, same], { processor: utc, internal: utc });
    expect({
      counts: result.counts,
      timing: result.timing,
      timingPairs: result.timingPairs,
      discrepancies: result.discrepancies,
      accounting: checkAccounting(result),
    }).toEqual({
      counts: countsWith({ matched: 1 }),
      timing: 1,
      timingPairs: [
        {
          transactionId: 'late',
          processorBusinessDate: '2025-10-01',
          internalBusinessDate: '2025-09-30',
          lagDays: 1,
        },
      ],
      discrepancies: [],
      accounting: [],
    });
  });

  it("puts rows on their own side's cut-off: Square's 17:00 PT against a UTC ledger", () => {
    // 17:30 PDT on 09-29 is Square's 09-30 and the ledger's 09-30 (00:30 UTC): same date.
    // 16:30 PDT on 09-29 is Square's 09-29 but 23:30 UTC, the ledger's 09-29: same date.
    // 10:00 PDT on 09-30 is Square's 09-30 and 17:00 UTC, the ledger's 09-30: same date.
    // 18:00 PDT on 09-30 is Square's 10-01, the ledger's 10-01 (01:00 UTC)... booked by the
    // ledger one hour earlier (00:00 UTC 10-01): still 10-01. A ledger booking at 23:59 UTC
    // 09-30 of a Square payment at 17:05 PDT (00:05 UTC 10-01) is timing.
    const rows: [string, string, string][] = [
      ['a', '2025-09-29T17:30:00-07:00', '2025-09-30T00:30:00Z'],
      ['b', '2025-09-29T16:30:00-07:00', '2025-09-29T23:30:00Z'],
      ['c', '2025-09-30T10:00:00-07:00', '2025-09-30T17:00:00Z'],
      ['d', '2025-09-30T17:05:00-07:00', '2025-09-30T23:59:00Z'],
    ];
    const result = matchTransactions(
      rows.map(([id, p]) => tx({ transactionId: id, createdAtMs: at(p) })),
      rows.map(([id, , i]) => tx({ transactionId: id, createdAtMs: at(i) })),
      { processor: square, internal: utc },
    );
    expect([result.counts.matched, result.timingPairs]).toEqual([
      3,
      [
        {
          transactionId: 'd',
          processorBusinessDate: '2025-10-01',
          internalBusinessDate: '2025-09-30',
          lagDays: 1,
        },
      ],
    ]);
  });

  it('keeps a disagreeing pair on two dates a discrepancy, its rows dated', () => {
    const p = tx({
      transactionId: 'x',
      amountMinor: 1000n,
      createdAtMs: at('2025-10-01T00:03:00Z'),
    });
    const i = tx({
      transactionId: 'x',
      amountMinor: 900n,
      createdAtMs: at('2025-09-30T23:58:00Z'),
    });
    const result = matchTransactions([p], [i], { processor: utc, internal: utc });
    expect([result.timing, result.discrepancies]).toEqual([
      0,
      [
        {
          kind: 'amount_mismatch',
          transactionId: 'x',
          side: 'both',
          processor: { ...p, businessDate: '2025-10-01' },
          internal: { ...i, businessDate: '2025-09-30' },
          differenceMinor: 100n,
        },
      ],
    ]);
  });

  it('counts no timing without cut-offs (rows built by hand)', () => {
    const p = tx({ transactionId: 'late', createdAtMs: at('2025-10-01T00:03:00Z') });
    const i = tx({ transactionId: 'late', createdAtMs: at('2025-09-30T23:58:00Z') });
    const result = matchTransactions([p], [i]);
    expect([result.counts.matched, result.timing, result.timingPairs]).toEqual([1, 0, []]);
  });

  it('accounts for every row as matched, timing or a discrepancy over random inputs', () => {
    const row = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      hour: fc.integer({ min: -30, max: 30 }),
      amount: fc.constantFrom(100n, 200n),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), fc.array(row, { maxLength: 12 }), (ps, is) => {
        const make = (r: { id: string; hour: number; amount: bigint }) =>
          tx({
            transactionId: r.id,
            amountMinor: r.amount,
            createdAtMs: at('2025-09-30T12:00:00Z') + r.hour * 3_600_000,
          });
        const result = matchTransactions(ps.map(make), is.map(make), {
          processor: square,
          internal: utc,
        });
        expect(checkAccounting(result)).toEqual([]);
      }),
    );
  });

  it('reports a tampered timing count', () => {
    const good = matchTransactions([tx({ transactionId: 'a' })], [tx({ transactionId: 'a' })]);
    expect(checkAccounting({ ...good, timing: 1 })).toEqual([
      'timing 1 != timing pairs 0',
      'processor rows 1 != classified 2',
      'internal rows 1 != classified 2',
    ]);
  });
});
