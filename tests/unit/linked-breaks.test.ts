import fc from 'fast-check';
import { breakKeyOf, lookupByIdentity } from '../../src/reports/render-report';
import { LinkedBreaks, type LinkedBreak } from '../../src/store/linked-breaks';

const uuidArb = fc.uuid().map((id) => id.toLowerCase());

const linkedArb: fc.Arbitrary<LinkedBreak> = fc
  .record({
    // Canonical ids (kept as bytes) and anything else (kept as text).
    breakId: fc.oneof(
      uuidArb,
      uuidArb.map((id) => id.toUpperCase()),
      fc.string(),
    ),
    // A small pool, so that identities repeat.
    transactionId: fc.oneof(fc.constantFrom('t1', 't2', '', 'a\u0000b', 'ü€'), fc.string()),
    scope: fc.constantFrom('processor', 'internal', 'both' as const),
    status: fc.constantFrom('open', 'pending', 'resolved' as const),
    originDate: fc.constantFrom('2025-09-28', '2025-09-30'),
    ageDays: fc.integer({ min: 0, max: 100_000 }),
    firstSeenRunId: fc.oneof(uuidArb, fc.constant('run-0')),
  })
  // A plain object, as the store builds (fast-check's records have no prototype).
  .map((b) => ({ ...b }));

describe('LinkedBreaks', () => {
  it('gives back, for every identity, a break equal to the last one added with it, as a Map does', () => {
    fc.assert(
      fc.property(fc.array(linkedArb, { maxLength: 3000 }), (breaks) => {
        const linked = new LinkedBreaks();
        const expected = new Map<string, LinkedBreak>();
        for (const b of breaks) {
          linked.add(b);
          expected.set(breakKeyOf(b.transactionId, b.scope), b);
        }
        expect(linked.size).toBe(expected.size);
        for (const b of breaks) {
          expect(linked.get(b.transactionId, b.scope)).toStrictEqual(
            expected.get(breakKeyOf(b.transactionId, b.scope)),
          );
        }
      }),
      { numRuns: 60 },
    );
  });

  it('has nothing for an identity never added (another scope, another id)', () => {
    const linked = new LinkedBreaks();
    linked.add({
      breakId: 'b0000000-0000-4000-8000-00000000000a',
      transactionId: 'fresh',
      scope: 'processor',
      status: 'open',
      originDate: '2025-10-09',
      ageDays: 0,
      firstSeenRunId: 'run-1',
    });
    expect(linked.get('fresh', 'internal')).toBeUndefined();
    expect(linked.get('fresh', 'both')).toBeUndefined();
    expect(linked.get('other', 'processor')).toBeUndefined();
    expect(linked.get('fresh', 'processor')).toStrictEqual({
      breakId: 'b0000000-0000-4000-8000-00000000000a',
      transactionId: 'fresh',
      scope: 'processor',
      status: 'open',
      originDate: '2025-10-09',
      ageDays: 0,
      firstSeenRunId: 'run-1',
    });
  });
});

describe('lookupByIdentity', () => {
  it('splits a breakKeyOf key back into the transaction id (which may hold U+0000) and the scope', () => {
    const asked: [string, string][] = [];
    const lookup = lookupByIdentity((transactionId, scope) => {
      asked.push([transactionId, scope]);
      return undefined;
    });
    for (const key of [breakKeyOf('a\u0000b', 'both'), breakKeyOf('', 'processor'), 'no-separator'])
      lookup.get(key);
    expect(asked).toStrictEqual([
      ['a\u0000b', 'both'],
      ['', 'processor'],
    ]);
  });
});
