import fc from 'fast-check';
import type { Discrepancy } from '../../src/domain/discrepancy';
import { DISCREPANCY_KINDS } from '../../src/domain/discrepancy';
import type { Transaction } from '../../src/domain/transaction';
import { CompactDiscrepancies } from '../../src/store/compact-discrepancies';

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

/** A `Transaction` with the optional keys present or absent, in `stagedTransaction`'s order. */
const transactionArb: fc.Arbitrary<Transaction> = fc
  .record({
    transactionId: fc.string(),
    amountMinor: INT64,
    currency: fc.constantFrom('USD', 'JPY', 'KWD', 'XXX'),
    feeMinor: fc.option(INT64),
    status: fc.constantFrom('settled', 'pending', 'failed', 'refunded', 'unknown' as const),
    rawStatus: fc.string(),
    merchantId: fc.string(),
    createdAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    description: fc.option(fc.string()),
    line: fc.integer({ min: 1, max: 2 ** 40 }),
    reference: fc.option(fc.option(fc.string()), { nil: undefined }),
    netMinor: fc.option(fc.option(INT64), { nil: undefined }),
    paymentMethod: fc.option(fc.option(fc.string()), { nil: undefined }),
    undefinedKeys: fc.subarray(['reference', 'netMinor', 'paymentMethod'] as const),
    businessDate: fc.option(fc.constantFrom('2025-09-30', '2025-10-01'), { nil: undefined }),
  })
  // A key present with the value `undefined` (a carried break's row may have one) stays so.
  .map(({ reference, netMinor, paymentMethod, businessDate, undefinedKeys, ...base }) => {
    const present = (key: string, value: unknown): boolean =>
      value !== undefined || (undefinedKeys as readonly string[]).includes(key);
    return {
      ...base,
      ...(present('reference', reference) ? { reference } : {}),
      ...(present('netMinor', netMinor) ? { netMinor } : {}),
      ...(present('paymentMethod', paymentMethod) ? { paymentMethod } : {}),
      ...(businessDate !== undefined ? { businessDate } : {}),
    };
  });

const discrepancyArb: fc.Arbitrary<Discrepancy> = fc
  .record({
    kind: fc.constantFrom(...DISCREPANCY_KINDS),
    processor: fc.option(transactionArb),
    internal: fc.option(transactionArb),
    differenceMinor: fc.option(INT64),
    annotation: fc.option(fc.constant('basis_mismatch_suspected' as const), { nil: undefined }),
    tier: fc.option(fc.string(), { nil: undefined }),
    candidates: fc.option(fc.array(fc.string()), { nil: undefined }),
    otherId: fc.option(fc.string(), { nil: undefined }),
  })
  .map(({ kind, processor, internal, differenceMinor, annotation, tier, candidates, otherId }) => ({
    kind,
    transactionId: otherId ?? processor?.transactionId ?? internal?.transactionId ?? '',
    side: processor && internal ? 'both' : processor ? 'processor' : 'internal',
    processor,
    internal,
    differenceMinor,
    ...(annotation !== undefined ? { annotation } : {}),
    ...(tier !== undefined ? { tier } : {}),
    ...(candidates !== undefined ? { candidates } : {}),
  }));

/** `entries` in the order `finish` gives: by major key, then minor key, then arrival. */
function sortedByKey(entries: readonly [Discrepancy, number, number][]): Discrepancy[] {
  return entries
    .map((entry, arrival) => ({ entry, arrival }))
    .sort((a, b) => a.entry[1] - b.entry[1] || a.entry[2] - b.entry[2] || a.arrival - b.arrival)
    .map(({ entry }) => entry[0]);
}

describe('CompactDiscrepancies', () => {
  it('gives back every discrepancy added, equal key for key and in sort-key order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(discrepancyArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 })),
          { maxLength: 40 },
        ),
        (entries) => {
          const store = new CompactDiscrepancies();
          for (const [d, major, minor] of entries) store.add(d, major, minor);
          const view = store.finish();
          const expected = sortedByKey(entries);
          expect(view.length).toBe(expected.length);
          expect([...view]).toStrictEqual(expected);
          view.forEach((d, i) => {
            expect(Object.keys(d)).toEqual(Object.keys(expected[i] as Discrepancy));
            expect(d.processor && Object.keys(d.processor)).toEqual(
              expected[i]?.processor && Object.keys(expected[i]?.processor ?? {}),
            );
            expect(d.internal && Object.keys(d.internal)).toEqual(
              expected[i]?.internal && Object.keys(expected[i]?.internal ?? {}),
            );
          });
          expect(view).toStrictEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('works with the array methods the engine and the reports use', () => {
    const store = new CompactDiscrepancies();
    const make = (id: string, kind: Discrepancy['kind']): Discrepancy => ({
      kind,
      transactionId: id,
      side: 'processor',
      processor: {
        transactionId: id,
        amountMinor: 100n,
        currency: 'USD',
        feeMinor: null,
        status: 'settled',
        rawStatus: 'settled',
        merchantId: 'acct_1',
        createdAtMs: 0,
        description: null,
        line: 2,
      },
      internal: null,
      differenceMinor: null,
    });
    store.add(make('b', 'missing_in_internal'), 0, 1);
    store.add(make('a', 'duplicate'), 0, 0);
    store.add(make('c', 'missing_in_internal'), 1, 0);
    const view = store.finish();
    expect(Array.isArray(view)).toBe(true);
    expect(view.map((d) => d.transactionId)).toEqual(['a', 'b', 'c']);
    expect(
      view.filter((d) => d.kind === 'missing_in_internal').map((d) => d.transactionId),
    ).toEqual(['b', 'c']);
    expect(view.find((d) => d.transactionId === 'c')?.kind).toBe('missing_in_internal');
    expect(view[1]?.transactionId).toBe('b');
    expect(view[3]).toBeUndefined();
    expect(view.slice(1).length).toBe(2);
    expect(Object.keys(view)).toEqual(['0', '1', '2']);
    expect(() => {
      (view as Discrepancy[])[0] = make('x', 'duplicate');
    }).toThrow(TypeError);
    expect(() => (view as Discrepancy[]).push(make('x', 'duplicate'))).toThrow(TypeError);
  });

  it('refuses an amount outside the signed 64-bit range (PostgreSQL bigint) with RangeError', () => {
    const store = new CompactDiscrepancies();
    expect(() =>
      store.add(
        {
          kind: 'amount_mismatch',
          transactionId: 't',
          side: 'both',
          processor: null,
          internal: null,
          differenceMinor: 2n ** 63n,
        },
        0,
        0,
      ),
    ).toThrow(RangeError);
  });
});
