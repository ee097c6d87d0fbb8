import { TransactionTable } from '../../src/domain/transaction-table';
import type { Transaction } from '../../src/domain/transaction';
import { DEFAULT_FEE_RULES, type FeeRules } from '../../src/engine/fee-rules';
import {
  expectedFee,
  feeVarianceIssue,
  findFeeVariances,
  findScheduleEntry,
} from '../../src/engine/fees';
import {
  checkAccounting,
  emptyOutcomeCounts,
  matchTransactions,
} from '../../src/engine/match-transactions';
import { feeBlockJson, summarizeFees, summarizeReconciliation } from '../../src/engine/summarize';
import { makeTransaction } from './support/make-transaction';

const NET: FeeRules = { ...DEFAULT_FEE_RULES, ledgerAmountBasis: 'net' };

/** Test case 6 of issue #14: Stripe gross 100.00, fee 3.20, net 96.80. */
const stripeRow = makeTransaction({
  transactionId: 'ch_9',
  amountMinor: 10000n,
  feeMinor: 320n,
  netMinor: 9680n,
});
const ledger = (amountMinor: bigint, feeMinor: bigint | null = null): Transaction =>
  makeTransaction({ transactionId: 'ch_9', amountMinor, feeMinor, line: 5 });

describe('amount basis (issue #14 test case 6)', () => {
  it('matches ledger 100.00 against gross 100.00 with basis gross (the default)', () => {
    const result = matchTransactions([stripeRow], [ledger(10000n)]);
    expect(result).toEqual({
      processorTransactions: 1,
      internalTransactions: 1,
      counts: { ...emptyOutcomeCounts(), matched: 1 },
      duplicates: { processor: 0, internal: 0 },
      discrepancies: [],
      timing: 0,
      timingPairs: [],
    });
  });

  it('matches ledger 96.80 against net 96.80 with basis net', () => {
    const result = matchTransactions([stripeRow], [ledger(9680n)], undefined, NET);
    expect(result.counts).toEqual({ ...emptyOutcomeCounts(), matched: 1 });
    expect(result.discrepancies).toEqual([]);
  });

  it('reports ledger 100.00 with basis net as amount_mismatch −3.20 annotated basis_mismatch_suspected', () => {
    const result = matchTransactions([stripeRow], [ledger(10000n)], undefined, NET);
    expect(result.counts).toEqual({ ...emptyOutcomeCounts(), amount_mismatch: 1 });
    expect(result.discrepancies).toEqual([
      {
        kind: 'amount_mismatch',
        transactionId: 'ch_9',
        side: 'both',
        processor: stripeRow,
        internal: ledger(10000n),
        differenceMinor: -320n,
        annotation: 'basis_mismatch_suspected',
      },
    ]);
  });

  it('annotates the reverse too: ledger 96.80 (net) where the basis is gross → +3.20', () => {
    const [d] = matchTransactions([stripeRow], [ledger(9680n)]).discrepancies;
    expect(d).toMatchObject({ kind: 'amount_mismatch', differenceMinor: 320n });
    expect(d?.annotation).toBe('basis_mismatch_suspected');
  });

  it('does not annotate a difference that is not the fee', () => {
    const [d] = matchTransactions([stripeRow], [ledger(9999n)]).discrepancies;
    expect(d).toEqual({
      kind: 'amount_mismatch',
      transactionId: 'ch_9',
      side: 'both',
      processor: stripeRow,
      internal: ledger(9999n),
      differenceMinor: 1n,
    });
  });

  it('with basis net derives the net of a row without a reported net as gross − fee, and uses the gross of a row without a fee', () => {
    const noNet = makeTransaction({ transactionId: 'a', amountMinor: 500n, feeMinor: 20n });
    const noFee = makeTransaction({ transactionId: 'b', amountMinor: 700n, feeMinor: null });
    const result = matchTransactions(
      [noNet, noFee],
      [
        makeTransaction({ transactionId: 'a', amountMinor: 480n }),
        makeTransaction({ transactionId: 'b', amountMinor: 700n }),
      ],
      undefined,
      NET,
    );
    expect(result.counts).toEqual({ ...emptyOutcomeCounts(), matched: 2 });
  });
});

describe('fee_mismatch', () => {
  it('reports equal amounts whose fees differ on both sides, with processor fee minus ledger fee', () => {
    const result = matchTransactions([stripeRow], [ledger(10000n, 300n)]);
    expect(result.counts).toEqual({ ...emptyOutcomeCounts(), fee_mismatch: 1 });
    expect(result.discrepancies).toEqual([
      {
        kind: 'fee_mismatch',
        transactionId: 'ch_9',
        side: 'both',
        processor: stripeRow,
        internal: ledger(10000n, 300n),
        differenceMinor: 20n,
      },
    ]);
    expect(checkAccounting(result)).toEqual([]);
  });

  it('does not compare fees when one side has none, and lets an amount mismatch win', () => {
    expect(matchTransactions([stripeRow], [ledger(10000n, null)]).counts).toEqual({
      ...emptyOutcomeCounts(),
      matched: 1,
    });
    expect(matchTransactions([stripeRow], [ledger(10001n, 300n)]).counts).toEqual({
      ...emptyOutcomeCounts(),
      amount_mismatch: 1,
    });
  });

  it('counts the fee difference as the amount at stake', () => {
    const result = matchTransactions([stripeRow], [ledger(10000n, 300n)]);
    const summary = summarizeReconciliation(result, [stripeRow], [ledger(10000n, 300n)], 0);
    expect(summary.discrepancyAmounts).toEqual(new Map([['USD', 20n]]));
  });
});

describe('expected fee schedules (issue #14 test case 7)', () => {
  const card = { currency: 'USD', paymentMethod: null, percentageBps: 290, flatMinor: 30n };

  it('expects round_half_up(99 × 290 / 10000) + 30 = 33 minor on a gross of 0.99', () => {
    expect(expectedFee(card, 99n)).toBe(33n);
    // 2.5 minor rounds half up to 3; 2.4999 down to 2.
    expect(expectedFee({ ...card, percentageBps: 250, flatMinor: 0n }, 100n)).toBe(3n);
    expect(expectedFee({ ...card, percentageBps: 1, flatMinor: 0n }, 14999n)).toBe(1n);
    expect(expectedFee({ ...card, percentageBps: 1, flatMinor: 0n }, 15000n)).toBe(2n);
  });

  it('reports an actual fee of 35 as fee_variance overcharge +2, and 31 as undercharge −2', () => {
    const rules: FeeRules = { ...DEFAULT_FEE_RULES, schedule: [card] };
    const table = TransactionTable.fromTransactions([
      makeTransaction({ transactionId: 'ch_over', amountMinor: 99n, feeMinor: 35n, line: 2 }),
      makeTransaction({ transactionId: 'ch_ok', amountMinor: 99n, feeMinor: 33n, line: 3 }),
      makeTransaction({ transactionId: 'ch_under', amountMinor: 99n, feeMinor: 31n, line: 4 }),
      makeTransaction({ transactionId: 'ch_nofee', amountMinor: 99n, feeMinor: null, line: 5 }),
      makeTransaction({ transactionId: 're_1', amountMinor: -99n, feeMinor: 0n, line: 6 }),
    ]);
    const variances = findFeeVariances(table, rules);
    expect(variances).toEqual([
      {
        transactionId: 'ch_over',
        line: 2,
        currency: 'USD',
        grossMinor: 99n,
        expectedFeeMinor: 33n,
        actualFeeMinor: 35n,
        differenceMinor: 2n,
        direction: 'overcharge',
        entry: card,
      },
      {
        transactionId: 'ch_under',
        line: 4,
        currency: 'USD',
        grossMinor: 99n,
        expectedFeeMinor: 33n,
        actualFeeMinor: 31n,
        differenceMinor: -2n,
        direction: 'undercharge',
        entry: card,
      },
    ]);
    expect(variances.map((v) => feeVarianceIssue('stripe.csv', v))).toEqual([
      {
        side: 'processor',
        location: 'stripe.csv',
        check: 'fee_variance',
        severity: 'warning',
        line: 2,
        field: 'fee',
        reason:
          'fee_variance overcharge +0.02 USD on ch_over: fee 0.35, expected 0.33 (290 bps + 0.30 of gross 0.99)',
        value: '+0.02',
        count: null,
      },
      {
        side: 'processor',
        location: 'stripe.csv',
        check: 'fee_variance',
        severity: 'warning',
        line: 4,
        field: 'fee',
        reason:
          'fee_variance undercharge -0.02 USD on ch_under: fee 0.31, expected 0.33 (290 bps + 0.30 of gross 0.99)',
        value: '-0.02',
        count: null,
      },
    ]);
  });

  it('accepts a difference within toleranceMinor (inclusive)', () => {
    const table = TransactionTable.fromTransactions([
      makeTransaction({ amountMinor: 99n, feeMinor: 35n }),
    ]);
    expect(
      findFeeVariances(table, { ...DEFAULT_FEE_RULES, schedule: [card], toleranceMinor: 2n }),
    ).toEqual([]);
    expect(
      findFeeVariances(table, { ...DEFAULT_FEE_RULES, schedule: [card], toleranceMinor: 1n }),
    ).toHaveLength(1);
  });

  it('takes the first entry that matches the currency (and payment method when given)', () => {
    const eur = { currency: 'EUR', paymentMethod: null, percentageBps: 140, flatMinor: 25n };
    const amex = { currency: null, paymentMethod: 'amex', percentageBps: 350, flatMinor: 0n };
    const any = { currency: null, paymentMethod: null, percentageBps: 300, flatMinor: 0n };
    const schedule = [eur, amex, card, any];
    expect(findScheduleEntry(schedule, 'EUR', null)).toBe(eur);
    expect(findScheduleEntry(schedule, 'USD', 'amex')).toBe(amex);
    expect(findScheduleEntry(schedule, 'USD', null)).toBe(card);
    expect(findScheduleEntry(schedule, 'GBP', null)).toBe(any);
    expect(findScheduleEntry([eur], 'GBP', null)).toBeUndefined();
  });

  it('prices each row by its own payment method (case-insensitive), and the others by the catch-all entry', () => {
    const amex = { currency: null, paymentMethod: 'amex', percentageBps: 350, flatMinor: 0n };
    const rules: FeeRules = { ...DEFAULT_FEE_RULES, schedule: [amex, card] };
    const table = TransactionTable.fromTransactions([
      makeTransaction({
        transactionId: 'a',
        amountMinor: 10000n,
        feeMinor: 350n,
        paymentMethod: 'AMEX',
      }),
      makeTransaction({
        transactionId: 'v',
        amountMinor: 10000n,
        feeMinor: 350n,
        paymentMethod: 'visa',
      }),
      makeTransaction({ transactionId: 'n', amountMinor: 10000n, feeMinor: 350n }),
    ]);
    expect(table.toArray().map((t) => t.paymentMethod ?? null)).toEqual(['AMEX', 'visa', null]);
    // amex: 3.50 expected, exact; visa and no method: 2.9 % + 0.30 = 3.20 expected → +0.30.
    expect(
      findFeeVariances(table, rules).map((v) => [
        v.transactionId,
        v.expectedFeeMinor,
        v.differenceMinor,
      ]),
    ).toEqual([
      ['v', 320n, 30n],
      ['n', 320n, 30n],
    ]);
  });

  it('checks nothing without a schedule (the default)', () => {
    const table = TransactionTable.fromTransactions([
      makeTransaction({ amountMinor: 99n, feeMinor: 35n }),
    ]);
    expect(findFeeVariances(table, DEFAULT_FEE_RULES)).toEqual([]);
  });
});

describe('fee block of the summary', () => {
  it('sums gross, fees and net per currency and gives the effective rate in basis points', () => {
    const table = TransactionTable.fromTransactions([
      makeTransaction({ transactionId: 'a', amountMinor: 10000n, feeMinor: 320n, netMinor: 9680n }),
      makeTransaction({ transactionId: 'b', currency: 'JPY', amountMinor: 1500n, feeMinor: 45n }),
      makeTransaction({ transactionId: 'c', amountMinor: 5000n, feeMinor: null }),
      makeTransaction({ transactionId: 'd', amountMinor: -2000n, feeMinor: 0n }),
      makeTransaction({ transactionId: 'e', currency: 'EUR', amountMinor: 0n, feeMinor: null }),
    ]);
    const fees = summarizeFees(table);
    expect(fees).toEqual([
      {
        currency: 'USD',
        grossMinor: 13000n,
        feesMinor: 320n,
        netMinor: 12680n,
        effectiveRateBps: '246.15',
      },
      {
        currency: 'JPY',
        grossMinor: 1500n,
        feesMinor: 45n,
        netMinor: 1455n,
        effectiveRateBps: '300.00',
      },
      { currency: 'EUR', grossMinor: 0n, feesMinor: 0n, netMinor: 0n, effectiveRateBps: null },
    ]);
    expect(feeBlockJson(fees)).toEqual({
      USD: { gross: '130.00', fees: '3.20', net: '126.80', effective_rate_bps: '246.15' },
      JPY: { gross: '1500', fees: '45', net: '1455', effective_rate_bps: '300.00' },
      EUR: { gross: '0.00', fees: '0.00', net: '0.00', effective_rate_bps: null },
    });
  });

  it('is part of the run summary', () => {
    const result = matchTransactions([stripeRow], [ledger(10000n)]);
    expect(summarizeReconciliation(result, [stripeRow], [ledger(10000n)], 0).fees).toEqual([
      {
        currency: 'USD',
        grossMinor: 10000n,
        feesMinor: 320n,
        netMinor: 9680n,
        effectiveRateBps: '320.00',
      },
    ]);
  });
});
