import type { Discrepancy } from '../../src/domain/discrepancy';
import { parseFxRatesCsv } from '../../src/domain/fx-rates';
import type { Transaction } from '../../src/domain/transaction';
import { matchTransactions } from '../../src/engine/match-transactions';
import {
  discrepancyImpact,
  RISK_THRESHOLDS,
  summarizeReconciliation,
} from '../../src/engine/summarize';
import { makeTransaction as tx } from './support/make-transaction';

/** `matched` matched pairs plus `missing` processor-only rows with the given amount. */
function scenario(
  matched: number,
  missing: number,
  missingAmount = 1n,
  currency = 'USD',
): { processor: Transaction[]; internal: Transaction[] } {
  const processor: Transaction[] = [];
  const internal: Transaction[] = [];
  for (let n = 0; n < matched; n++) {
    processor.push(tx({ transactionId: `m${n}`, amountMinor: 100n }));
    internal.push(tx({ transactionId: `m${n}`, amountMinor: 100n }));
  }
  for (let n = 0; n < missing; n++) {
    processor.push(tx({ transactionId: `x${n}`, amountMinor: missingAmount, currency }));
  }
  return { processor, internal };
}

function summarize(sides: { processor: Transaction[]; internal: Transaction[] }, invalidRows = 0) {
  const match = matchTransactions(sides.processor, sides.internal);
  return summarizeReconciliation(match, sides.processor, sides.internal, invalidRows);
}

describe('summarizeReconciliation', () => {
  it('documents the thresholds it uses', () => {
    expect(RISK_THRESHOLDS).toEqual({
      highRate: '0.05',
      mediumRate: '0.01',
      highAmountMajor: '10000',
      mediumAmountMajor: '1000',
    });
  });

  it('writes the discrepancy rate as a string with six decimals, rounded half up', () => {
    expect(summarize(scenario(5, 1)).discrepancyRate).toBe('0.166667');
    expect(summarize(scenario(1, 2)).discrepancyRate).toBe('0.666667');
    expect(summarize(scenario(3, 1)).discrepancyRate).toBe('0.250000');
    expect(summarize(scenario(0, 2)).discrepancyRate).toBe('1.000000');
    expect(summarize(scenario(2, 0)).discrepancyRate).toBe('0.000000');
  });

  it('rounds a rate of exactly half a millionth up', () => {
    // 1 / 2,000,000 = 0.0000005 exactly.
    const match = matchTransactions([], []);
    const fake = {
      ...match,
      counts: { ...match.counts, matched: 1_999_999 },
      discrepancies: [
        {
          kind: 'missing_in_internal',
          transactionId: 'x',
          side: 'processor',
          processor: tx({ transactionId: 'x', amountMinor: 1n }),
          internal: null,
          differenceMinor: null,
        } satisfies Discrepancy,
      ],
    };
    expect(summarizeReconciliation(fake, [], [], 0).discrepancyRate).toBe('0.000001');
  });

  it('is LOW and COMPLIANT with rate 0 and no discrepancies, including an empty run', () => {
    const empty = summarize({ processor: [], internal: [] });
    expect(empty).toMatchObject({
      discrepancyCount: 0,
      discrepancyRate: '0.000000',
      riskLevel: 'LOW',
      complianceStatus: 'COMPLIANT',
    });
    expect(summarize(scenario(10, 0))).toMatchObject({
      riskLevel: 'LOW',
      complianceStatus: 'COMPLIANT',
    });
  });

  it('stays LOW at a rate of exactly 1% (the medium rate must be exceeded)', () => {
    const s = summarize(scenario(99, 1));
    expect(s.discrepancyRate).toBe('0.010000');
    expect(s.riskLevel).toBe('LOW');
    expect(s.complianceStatus).toBe('COMPLIANT');
  });

  it('is MEDIUM just above a 1% rate', () => {
    const s = summarize(scenario(98, 1));
    expect(s.discrepancyRate).toBe('0.010101');
    expect(s.riskLevel).toBe('MEDIUM');
    expect(s.complianceStatus).toBe('REVIEW_REQUIRED');
  });

  it('stays MEDIUM at a rate of exactly 5% and is HIGH above it', () => {
    const at = summarize(scenario(19, 1));
    expect(at.discrepancyRate).toBe('0.050000');
    expect(at.riskLevel).toBe('MEDIUM');
    const above = summarize(scenario(18, 1));
    expect(above.discrepancyRate).toBe('0.052632');
    expect(above.riskLevel).toBe('HIGH');
    expect(above.complianceStatus).toBe('NON_COMPLIANT');
  });

  it('is MEDIUM from 1000 major units at stake in one currency, LOW just below', () => {
    expect(summarize(scenario(1000, 1, 99999n)).riskLevel).toBe('LOW'); // 999.99 USD
    expect(summarize(scenario(1000, 1, 100000n)).riskLevel).toBe('MEDIUM'); // 1000.00 USD
  });

  it('is HIGH from 10000 major units at stake in one currency', () => {
    expect(summarize(scenario(1000, 1, 999999n)).riskLevel).toBe('MEDIUM'); // 9999.99 USD
    const high = summarize(scenario(1000, 1, 1000000n)); // 10000.00 USD
    expect(high.riskLevel).toBe('HIGH');
    expect(high.complianceStatus).toBe('NON_COMPLIANT');
  });

  it('compares the amount at stake in each currency’s own major units', () => {
    // 1000 JPY are 1000 major units (exponent 0); 1.000 KWD is one major unit (exponent 3).
    expect(summarize(scenario(1000, 1, 1000n, 'JPY')).riskLevel).toBe('MEDIUM');
    expect(summarize(scenario(1000, 1, 1000n, 'KWD')).riskLevel).toBe('LOW');
    expect(summarize(scenario(1000, 1, 999_9999n, 'CLF')).riskLevel).toBe('LOW'); // 999.9999
    expect(summarize(scenario(1000, 1, 1000_0000n, 'CLF')).riskLevel).toBe('MEDIUM');
  });

  it('never sums amounts at stake across currencies', () => {
    // 600 USD + 600 EUR at stake: each below 1000, so LOW even though 1200 "in total".
    const processor = [
      ...scenario(1000, 0).processor,
      tx({ transactionId: 'u', amountMinor: 60000n, currency: 'USD' }),
      tx({ transactionId: 'e', amountMinor: 60000n, currency: 'EUR' }),
    ];
    const internal = scenario(1000, 0).internal;
    const s = summarize({ processor, internal });
    expect(s.riskLevel).toBe('LOW');
    expect([...s.discrepancyAmounts.entries()]).toEqual([
      ['USD', 60000n],
      ['EUR', 60000n],
    ]);
  });

  it('keeps processor and internal volumes per currency, refunds included', () => {
    const processor = [
      tx({ transactionId: 'a', amountMinor: 1000n, currency: 'USD' }),
      tx({ transactionId: 'b', amountMinor: -250n, currency: 'USD' }),
      tx({ transactionId: 'c', amountMinor: 1500n, currency: 'JPY' }),
    ];
    const internal = [tx({ transactionId: 'a', amountMinor: 1000n, currency: 'USD' })];
    const s = summarize({ processor, internal });
    expect(s.processorVolume).toEqual(
      new Map([
        ['USD', 750n],
        ['JPY', 1500n],
      ]),
    );
    expect(s.internalVolume).toEqual(new Map([['USD', 1000n]]));
    // Missing rows count with their absolute amount.
    expect(s.discrepancyAmounts).toEqual(
      new Map([
        ['USD', 250n],
        ['JPY', 1500n],
      ]),
    );
    expect(s.discrepancyCount).toBe(2);
  });

  it('raises LOW to REVIEW_REQUIRED when input rows were invalid, but leaves HIGH NON_COMPLIANT', () => {
    const low = summarize(scenario(10, 0), 1);
    expect(low.riskLevel).toBe('LOW');
    expect(low.complianceStatus).toBe('REVIEW_REQUIRED');
    const medium = summarize(scenario(98, 1), 3);
    expect(medium.complianceStatus).toBe('REVIEW_REQUIRED');
    const high = summarize(scenario(1, 1), 2);
    expect(high.riskLevel).toBe('HIGH');
    expect(high.complianceStatus).toBe('NON_COMPLIANT');
  });
});

describe('discrepancyImpact', () => {
  it('uses the absolute difference for an amount mismatch', () => {
    const [d] = matchTransactions(
      [tx({ transactionId: 'a', amountMinor: 100n })],
      [tx({ transactionId: 'a', amountMinor: 350n })],
    ).discrepancies;
    expect(discrepancyImpact(d as Discrepancy)).toEqual({ currency: 'USD', minor: 250n });
  });

  it('uses the processor amount and currency for a currency mismatch', () => {
    const [d] = matchTransactions(
      [tx({ transactionId: 'a', amountMinor: -700n, currency: 'EUR' })],
      [tx({ transactionId: 'a', amountMinor: 700n, currency: 'USD' })],
    ).discrepancies;
    expect(discrepancyImpact(d as Discrepancy)).toEqual({ currency: 'EUR', minor: 700n });
  });

  it('uses the row amount for a missing row, a duplicate and a status mismatch', () => {
    const result = matchTransactions(
      [
        tx({ transactionId: 's', amountMinor: 40n, status: 'failed' }),
        tx({ transactionId: 's', amountMinor: -41n }),
      ],
      [
        tx({ transactionId: 's', amountMinor: 40n, status: 'settled' }),
        tx({ transactionId: 'i', amountMinor: 5n, currency: 'JPY' }),
      ],
    );
    expect(result.discrepancies.map((d) => [d.kind, discrepancyImpact(d)])).toEqual([
      ['status_mismatch', { currency: 'USD', minor: 40n }],
      ['duplicate', { currency: 'USD', minor: 41n }],
      ['missing_in_processor', { currency: 'JPY', minor: 5n }],
    ]);
  });
});

describe('summarizeReconciliation with a reporting currency', () => {
  const rates = parseFxRatesCsv(
    [
      'currency,rate,as_of',
      'JPY,0.0067,2025-09-30',
      'KWD,3.27,2025-09-30',
      'EUR,1.17,2025-09-30',
      'EUR,2.00,2025-10-01',
    ].join('\n'),
    'rates.csv',
    'USD',
  );
  const fx = { rates, businessDate: '2025-09-30' };
  const risk = (
    sides: { processor: Transaction[]; internal: Transaction[] },
    options: { rates: typeof rates; businessDate: string } | null = fx,
  ) => {
    const match = matchTransactions(sides.processor, sides.internal);
    return summarizeReconciliation(match, sides.processor, sides.internal, 0, options ?? undefined)
      .riskLevel;
  };

  it('compares the converted amount at stake: 1,000 JPY ≈ 6.70 USD is LOW, 999 KWD ≈ 3,266.73 USD MEDIUM', () => {
    expect(risk(scenario(1000, 1, 1000n, 'JPY'))).toBe('LOW');
    expect(risk(scenario(1000, 1, 999_000n, 'KWD'))).toBe('MEDIUM');
    expect(risk(scenario(1000, 1, 3_058_103n, 'KWD'))).toBe('MEDIUM'); // × 3.27 = 9999.99681
    expect(risk(scenario(1000, 1, 3_058_104n, 'KWD'))).toBe('HIGH'); // × 3.27 = 10000.00008
  });

  it('keeps the nominal comparison without a reporting currency', () => {
    expect(risk(scenario(1000, 1, 1000n, 'JPY'), null)).toBe('MEDIUM');
    expect(risk(scenario(1000, 1, 999_000n, 'KWD'), null)).toBe('LOW');
  });

  it('adds the converted amounts of all currencies (one currency now)', () => {
    // 600 USD + 400 EUR ≈ 600 + 468 = 1068 USD at stake: MEDIUM.
    const processor = [
      ...scenario(1000, 0).processor,
      tx({ transactionId: 'u', amountMinor: 60000n, currency: 'USD' }),
      tx({ transactionId: 'e', amountMinor: 40000n, currency: 'EUR' }),
    ];
    expect(risk({ processor, internal: scenario(1000, 0).internal })).toBe('MEDIUM');
  });

  it('uses the rate of the business date, not a later one', () => {
    // 500 EUR: × 1.17 = 585 USD (LOW) on 2025-09-30; × 2.00 = 1000 USD (MEDIUM) from 2025-10-01.
    const sides = scenario(1000, 1, 50000n, 'EUR');
    expect(risk(sides)).toBe('LOW');
    expect(risk(sides, { rates, businessDate: '2025-10-01' })).toBe('MEDIUM');
  });

  it('compares a currency without a rate in its own major units, as without a reporting currency', () => {
    expect(risk(scenario(1000, 1, 100000n, 'GBP'))).toBe('MEDIUM'); // 1000.00 GBP, no rate
    expect(risk(scenario(1000, 1, 99999n, 'GBP'))).toBe('LOW');
  });
});
