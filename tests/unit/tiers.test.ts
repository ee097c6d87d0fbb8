import fc from 'fast-check';
import type { Transaction } from '../../src/domain/transaction';
import { DEFAULT_FEE_RULES } from '../../src/engine/fee-rules';
import { checkAccounting, matchTransactions } from '../../src/engine/match-transactions';
import {
  classifyTierPair,
  tierThreshold,
  type ExactTier,
  type ProcessorRules,
  type ToleranceTier,
} from '../../src/engine/rules';
import { applyTiers, tiersAgainstCarried, type TieredMatchResult } from '../../src/engine/tiers';
import { carryOver, type CarriedBreak } from '../../src/engine/break-lifecycle';
import { discrepancyImpact } from '../../src/engine/summarize';
import { parseCutoff } from '../../src/domain/cutoff';
import { tx } from '../helpers/transactions';

const DAY = 86_400_000;
const SEP_30 = Date.parse('2025-09-30T12:00:00Z');

function tolerance(overrides: Partial<ToleranceTier> = {}): ToleranceTier {
  return {
    type: 'tolerance',
    name: 'near_amount',
    processorKey: 'reference',
    ledgerKey: 'reference',
    normalize: ['trim', 'upper', 'alnum'],
    absMinor: 1n,
    pctBps: 0,
    base: 'max',
    minDays: 0,
    maxDays: 2,
    allowSignChange: false,
    ...overrides,
  };
}

const byReference: ExactTier = {
  type: 'exact',
  name: 'by_reference',
  processorKey: 'reference',
  ledgerKey: 'reference',
  normalize: ['trim', 'upper'],
};

function rules(...tiers: ProcessorRules['tiers']): ProcessorRules {
  return { tiers, fees: DEFAULT_FEE_RULES };
}

function run(
  processor: readonly Transaction[],
  internal: readonly Transaction[],
  own: ProcessorRules,
): TieredMatchResult {
  const volume = new Map<string, bigint>();
  for (const p of processor) volume.set(p.currency, (volume.get(p.currency) ?? 0n) + p.amountMinor);
  const result = applyTiers(matchTransactions(processor, internal), own, volume, 'UTC');
  expect(checkAccounting(result)).toEqual([]);
  return result;
}

/** The classification of every row: kind, tier, difference, candidates; sorted for comparison. */
function outcomes(result: TieredMatchResult): string[] {
  return result.discrepancies
    .map(
      (d) =>
        `${d.kind} ${d.side} ${d.processor?.transactionId ?? '-'}/${d.internal?.transactionId ?? '-'}` +
        `${d.tier ? ` tier=${d.tier}` : ''}${d.differenceMinor !== null ? ` diff=${d.differenceMinor}` : ''}` +
        `${d.candidates ? ` candidates=${d.candidates.join(',')}` : ''}`,
    )
    .sort();
}

describe('tolerance tiers (issue #14 case 1)', () => {
  const ledger = tx('INV-42', { amountMinor: 10000n, reference: 'INV-42' });
  const stripe = tx('ch_9', { amountMinor: 9999n, description: 'inv-42' });
  const tier = (absMinor: bigint): ToleranceTier =>
    tolerance({
      processorKey: 'description',
      ledgerKey: 'reference',
      normalize: ['trim', 'upper'],
      absMinor,
    });

  it('pairs 99.99 with 100.00 by description = reference as matched_with_variance of -1 minor', () => {
    const result = run([stripe], [ledger], rules(tier(1n)));
    expect(outcomes(result)).toEqual([
      'matched_with_variance both ch_9/INV-42 tier=near_amount diff=-1',
    ]);
    expect(result.counts).toEqual({
      matched: 0,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
      matched_with_variance: 1,
      ambiguous: 0,
    });
    expect(result.matchesByTier).toEqual({ id: 0, near_amount: 0 });
    expect(result.matches).toEqual([
      { tier: 'id', count: 0, amountMinor: new Map(), absVarianceMinor: new Map() },
      {
        tier: 'near_amount',
        count: 1,
        amountMinor: new Map([['USD', 9999n]]),
        absVarianceMinor: new Map([['USD', 1n]]),
      },
    ]);
  });

  it('leaves both rows missing with abs_minor 0', () => {
    const result = run([stripe], [ledger], rules(tier(0n)));
    expect(outcomes(result)).toEqual([
      'missing_in_internal processor ch_9/-',
      'missing_in_processor internal -/INV-42',
    ]);
  });
});

describe('percentage tolerance (case 2)', () => {
  const pair = (processorMinor: bigint) => ({
    processor: tx('p', { amountMinor: processorMinor }),
    internal: tx('l', { amountMinor: 100000n }),
    dayDistance: 0,
  });
  const pct = (base: ToleranceTier['base']) =>
    tolerance({ processorKey: null, ledgerKey: null, absMinor: 0n, pctBps: 50, base });

  it('accepts 1004.00 against 1000.00 with 50 bps of the larger amount (threshold 502)', () => {
    expect(tierThreshold(pct('max'), 100400n, 100000n)).toBe(502n);
    expect(classifyTierPair(pct('max'), pair(100400n))).toBeNull();
  });

  it('rounds 502.55 half up to 503 and refuses a difference of 510', () => {
    expect(tierThreshold(pct('max'), 100510n, 100000n)).toBe(503n);
    expect(classifyTierPair(pct('max'), pair(100510n))).toBe('outside_tolerance');
  });

  it('is inclusive: 500 ≤ 500 with base min', () => {
    expect(tierThreshold(pct('min'), 100500n, 100000n)).toBe(500n);
    expect(classifyTierPair(pct('min'), pair(100500n))).toBeNull();
  });

  it('pairs 1004.00 with 1000.00 end to end as matched_with_variance +400', () => {
    const result = run(
      [tx('p1', { amountMinor: 100400n })],
      [tx('l1', { amountMinor: 100000n })],
      rules(pct('max')),
    );
    expect(outcomes(result)).toEqual([
      'matched_with_variance both p1/l1 tier=near_amount diff=400',
    ]);
  });
});

describe('date window (case 3)', () => {
  const ledger = tx('L-1', { reference: 'R-1', createdAtMs: SEP_30 - 2 * DAY });
  const processor = tx('P-1', { reference: 'R-1' });

  it('does not match two days apart with max_days 1', () => {
    const result = run([processor], [ledger], rules(tolerance({ maxDays: 1 })));
    expect(outcomes(result)).toEqual([
      'missing_in_internal processor P-1/-',
      'missing_in_processor internal -/L-1',
    ]);
  });

  it('matches two days apart with max_days 2', () => {
    const result = run([processor], [ledger], rules(tolerance({ maxDays: 2 })));
    expect(outcomes(result)).toEqual([]);
    expect(result.counts.matched).toBe(1);
    expect(result.matchesByTier).toEqual({ id: 0, near_amount: 1 });
  });

  it('matches by date bucket without a key, two days apart', () => {
    const result = run(
      [tx('P-1')],
      [tx('L-1', { createdAtMs: SEP_30 + 2 * DAY })],
      rules(tolerance({ processorKey: null, ledgerKey: null, maxDays: 2 })),
    );
    expect(result.counts.matched).toBe(1);
  });
});

describe('ambiguity (case 4)', () => {
  const p = tx('P-50', { amountMinor: 5000n });
  const l1 = tx('L-50a', { amountMinor: 5000n });
  const l2 = tx('L-50b', { amountMinor: 5000n });
  const own = rules(byReference, tolerance({ processorKey: null, ledgerKey: null }));
  const expected = [
    'ambiguous internal -/L-50a tier=near_amount candidates=P-50',
    'ambiguous internal -/L-50b tier=near_amount candidates=P-50',
    'ambiguous processor P-50/- tier=near_amount candidates=L-50a,L-50b',
  ];

  it('leaves one processor row and two equal ledger rows unmatched, all three ambiguous', () => {
    const result = run([p], [l1, l2], own);
    expect(outcomes(result)).toEqual(expected);
    expect(result.counts.ambiguous).toBe(3);
    expect(result.counts.missing_in_internal).toBe(0);
    expect(result.counts.missing_in_processor).toBe(0);
  });

  it('gives the same result with the inputs shuffled', () => {
    expect(outcomes(run([p], [l2, l1], own))).toEqual(expected);
  });

  it('makes two processor rows claiming one ledger row ambiguous', () => {
    const result = run([tx('P-a'), tx('P-b')], [tx('L-x')], own);
    expect(outcomes(result)).toEqual([
      'ambiguous internal -/L-x tier=near_amount candidates=P-a,P-b',
      'ambiguous processor P-a/- tier=near_amount candidates=L-x',
      'ambiguous processor P-b/- tier=near_amount candidates=L-x',
    ]);
  });
});

describe('sign guard (case 5)', () => {
  it('never pairs a charge with a refund of the same reference, whatever the tolerance', () => {
    const result = run(
      [tx('ch_7', { amountMinor: 2000n, reference: 'REF-7' })],
      [tx('re_7', { amountMinor: -2000n, reference: 'REF-7' })],
      rules(tolerance({ absMinor: 5000n })),
    );
    expect(outcomes(result)).toEqual([
      'missing_in_internal processor ch_7/-',
      'missing_in_processor internal -/re_7',
    ]);
    expect(
      classifyTierPair(tolerance({ absMinor: 5000n }), {
        processor: tx('a', { amountMinor: 2000n, reference: 'REF-7' }),
        internal: tx('b', { amountMinor: -2000n, reference: 'REF-7' }),
        dayDistance: 0,
      }),
    ).toBe('sign_differs');
  });
});

describe('exact tier', () => {
  it('pairs by normalized reference, and passes a key match with another amount to the next tier', () => {
    const result = run(
      [
        tx('ch_1', { reference: ' inv-1 ' }),
        tx('ch_2', { reference: 'inv-2', amountMinor: 1001n }),
      ],
      [tx('INV-1', { reference: 'INV-1' }), tx('INV-2', { reference: 'INV-2' })],
      rules(byReference, tolerance()),
    );
    expect(outcomes(result)).toEqual([
      'matched_with_variance both ch_2/INV-2 tier=near_amount diff=1',
    ]);
    expect(result.matchesByTier).toEqual({ id: 0, by_reference: 1, near_amount: 0 });
  });

  it('counts the id join as tier id with the sum of its pairs', () => {
    const result = run([tx('a'), tx('b', { amountMinor: 5n })], [tx('a')], rules(byReference));
    expect(result.matches[0]).toEqual({
      tier: 'id',
      count: 1,
      amountMinor: new Map([['USD', 1000n]]),
      absVarianceMinor: new Map(),
    });
  });
});

describe('scale', () => {
  it('runs a keyed and an unkeyed tier over 100,000 unmatched rows per side in seconds', () => {
    const n = 100_000;
    const processor: Transaction[] = [];
    const internal: Transaction[] = [];
    for (let k = 0; k < n; k++) {
      // Distinct amounts 3 minor units apart: every unkeyed probe looks at a few rows only.
      const amount = BigInt(1000 + 3 * k);
      processor.push(tx(`p${k}`, { amountMinor: amount, reference: k % 2 ? `R${k}` : null }));
      internal.push(
        tx(`l${k}`, {
          amountMinor: amount + BigInt(k % 3 === 0 ? 1 : 0),
          reference: k % 2 ? `r${k}` : null,
          createdAtMs: SEP_30 + (k % 3) * DAY,
        }),
      );
    }
    const match = matchTransactions(processor, internal);
    const started = Date.now();
    const result = applyTiers(
      match,
      rules(
        byReference,
        tolerance({ normalize: ['upper'] }),
        tolerance({ name: 'by_amount', processorKey: null, ledgerKey: null }),
      ),
      new Map(),
      'UTC',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(checkAccounting(result)).toEqual([]);
    // Rows with k % 3 = 0 differ by one minor unit: variance; the others match cleanly.
    expect(result.counts).toEqual({
      matched: 66_666,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
      matched_with_variance: 33_334,
      ambiguous: 0,
    });
    expect(result.matchesByTier).toEqual({
      id: 0,
      by_reference: 33_333,
      near_amount: 0,
      by_amount: 33_333,
    });
  }, 60_000);
});

describe('amount at stake', () => {
  it('counts the variance, not the amount, of a matched_with_variance pair', () => {
    const d = {
      kind: 'matched_with_variance' as const,
      transactionId: 'ch_9',
      side: 'both' as const,
      processor: tx('ch_9', { amountMinor: 9999n }),
      internal: tx('INV-42', { amountMinor: 10000n }),
      differenceMinor: -1n,
      tier: 'near_amount',
    };
    expect(discrepancyImpact(d)).toEqual({ currency: 'USD', minor: 1n });
  });
});

describe('order independence (property)', () => {
  it('classifies every row the same whatever the order of either side', () => {
    const row = fc.record({
      amount: fc.integer({ min: -3, max: 6 }),
      reference: fc.constantFrom(null, 'A', 'a', 'B', ' b '),
      day: fc.integer({ min: 0, max: 3 }),
      currency: fc.constantFrom('USD', 'EUR'),
    });
    const side = fc.array(row, { maxLength: 12 });
    const own = rules(
      byReference,
      tolerance({ absMinor: 1n, maxDays: 1 }),
      tolerance({ name: 'loose', processorKey: null, ledgerKey: null, absMinor: 2n, maxDays: 2 }),
    );
    fc.assert(
      fc.property(side, side, fc.integer(), (ps, ls, seed) => {
        const make = (prefix: string, rows: typeof ps) =>
          rows.map((r, k) =>
            tx(`${prefix}${k}`, {
              amountMinor: BigInt(r.amount) * 100n,
              reference: r.reference,
              currency: r.currency,
              createdAtMs: SEP_30 + r.day * DAY,
            }),
          );
        const p = make('p', ps);
        const l = make('l', ls);
        const shuffle = <T>(items: readonly T[]): T[] => {
          const out = [...items];
          let s = seed;
          for (let k = out.length - 1; k > 0; k--) {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            const j = Math.abs(s) % (k + 1);
            [out[k], out[j]] = [out[j] as T, out[k] as T];
          }
          return out;
        };
        const a = run(p, l, own);
        const b = run(shuffle(p), shuffle(l), own);
        expect(outcomes(b)).toEqual(outcomes(a));
        expect(b.counts).toEqual(a.counts);
        expect(b.matchesByTier).toEqual(a.matchesByTier);
      }),
      { numRuns: 300 },
    );
  });
});

describe('amount basis and business dates', () => {
  const net = { ...DEFAULT_FEE_RULES, ledgerAmountBasis: 'net' as const };

  it('compares the processor net with the ledger under basis net (gross 100.00, fee 3.20)', () => {
    const processor = tx('ch_1', { amountMinor: 10000n, feeMinor: 320n, reference: 'INV-7' });
    const ledger = tx('L-1', { amountMinor: 9679n, reference: 'inv-7' });
    const netResult = run([processor], [ledger], { tiers: [tolerance()], fees: net });
    expect(outcomes(netResult)).toEqual([
      'matched_with_variance both ch_1/L-1 tier=near_amount diff=1',
    ]);
    // The same rows under basis gross are 3.21 apart: no pair.
    expect(outcomes(run([processor], [ledger], rules(tolerance())))).toEqual([
      'missing_in_internal processor ch_1/-',
      'missing_in_processor internal -/L-1',
    ]);
  });

  it('reports the processor row itself (its gross) in a pair made on the net', () => {
    const processor = tx('ch_1', { amountMinor: 10000n, feeMinor: 320n, reference: 'INV-7' });
    const ledger = tx('L-1', { amountMinor: 9680n, reference: 'INV-7' });
    const result = run([processor], [ledger], { tiers: [byReference], fees: net });
    expect(result.discrepancies).toEqual([]);
    expect(result.matchesByTier).toEqual({ id: 0, by_reference: 1 });
    expect(result.matches[1]?.amountMinor).toEqual(new Map([['USD', 10000n]]));
  });

  it('measures the date window on each row’s business date under its cut-off', () => {
    // 23:30 UTC on 09-28 is 09-29 08:30 in Tokyo: under a Tokyo ledger cut-off the ledger row's
    // business date is 09-29, one day from the processor's 09-30; in UTC it is two days.
    const processor = tx('ch_1', { reference: 'R1' });
    const ledger = tx('L-1', {
      reference: 'R1',
      amountMinor: 1001n,
      createdAtMs: Date.parse('2025-09-28T23:30:00Z'),
    });
    const cutoffs = {
      processor: parseCutoff('UTC 00:00', 'RECON_CUTOFF_STRIPE'),
      internal: parseCutoff('Asia/Tokyo 00:00', 'RECON_CUTOFF_LEDGER'),
    };
    const volume = new Map([['USD', 1000n]]);
    const own = rules(tolerance({ maxDays: 1 }));
    const dated = applyTiers(matchTransactions([processor], [ledger], cutoffs), own, volume, 'UTC');
    expect(outcomes(dated)).toEqual([
      'matched_with_variance both ch_1/L-1 tier=near_amount diff=-1',
    ]);
    const undated = applyTiers(matchTransactions([processor], [ledger]), own, volume, 'UTC');
    expect(outcomes(undated)).toEqual([
      'missing_in_internal processor ch_1/-',
      'missing_in_processor internal -/L-1',
    ]);
  });
});

describe('carried breaks as tier candidates (tiersAgainstCarried)', () => {
  const carriedLedger = (id: string, overrides: Partial<Transaction>): CarriedBreak => ({
    breakId: `b-${id}`,
    kind: 'missing_in_processor',
    originDate: '2025-09-29',
    row: tx(id, { createdAtMs: SEP_30 - DAY, businessDate: '2025-09-29', ...overrides }),
  });

  function second(processor: readonly Transaction[], carried: readonly CarriedBreak[]) {
    const own = rules(byReference, tolerance({ absMinor: 1n, maxDays: 1 }));
    const first = run(processor, [], own);
    return tiersAgainstCarried(
      carryOver(first, carried, '2025-09-30'),
      carried,
      own,
      '2025-09-30',
      'UTC',
    );
  }

  it('pairs a D row with a carried ledger break inside a tolerance: the break resolves, the variance is D’s break (case 1 across days)', () => {
    const result = second(
      [tx('ch_9', { amountMinor: 9999n, reference: 'inv-42' })],
      [carriedLedger('INV-42', { amountMinor: 10000n, reference: 'INV-42' })],
    );
    expect(result.resolved).toEqual([
      {
        breakId: 'b-INV-42',
        transactionId: 'INV-42',
        lagDays: 1,
        tier: 'near_amount',
        pairedWith: 'ch_9',
      },
    ]);
    expect(outcomes(result.match as TieredMatchResult)).toEqual([
      'matched_with_variance both ch_9/INV-42 tier=near_amount diff=-1',
    ]);
    expect(result.match.counts).toMatchObject({ missing_in_internal: 0, matched_with_variance: 1 });
    expect(result.timing).toBe(0);
  });

  it('resolves a carried break paired cleanly and counts D’s row as timing', () => {
    const result = second(
      [tx('ch_9', { reference: 'INV-42' })],
      [carriedLedger('INV-42', { reference: 'INV-42' })],
    );
    expect(result.resolved).toEqual([
      {
        breakId: 'b-INV-42',
        transactionId: 'INV-42',
        lagDays: 1,
        tier: 'by_reference',
        pairedWith: 'ch_9',
      },
    ]);
    expect(result.match.discrepancies).toEqual([]);
    expect(result.timing).toBe(1);
    expect((result.match as TieredMatchResult).matchesByTier).toEqual({
      id: 0,
      by_reference: 1,
      near_amount: 0,
    });
  });

  it('marks a D row with two carried candidates ambiguous and leaves both breaks open', () => {
    const result = second(
      [tx('ch_9', { reference: 'INV-42' })],
      [
        carriedLedger('L-1', { reference: 'INV-42' }),
        carriedLedger('L-2', { reference: 'inv-42 ' }),
      ],
    );
    expect(result.resolved).toEqual([]);
    expect(outcomes(result.match as TieredMatchResult)).toEqual([
      'ambiguous processor ch_9/- tier=by_reference candidates=L-1,L-2',
    ]);
  });

  it('does not pair outside the date window (the carried row is three days old)', () => {
    const old = carriedLedger('INV-42', {
      reference: 'INV-42',
      createdAtMs: SEP_30 - 3 * DAY,
      businessDate: '2025-09-27',
    });
    const result = second([tx('ch_9', { amountMinor: 9999n, reference: 'INV-42' })], [old]);
    expect(result.resolved).toEqual([]);
    expect(outcomes(result.match as TieredMatchResult)).toEqual([
      'missing_in_internal processor ch_9/-',
    ]);
  });
});
