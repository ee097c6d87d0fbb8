import { carryOver, classifyPair, type CarriedBreak } from '../../src/engine/break-lifecycle';
import { DEFAULT_FEE_RULES } from '../../src/engine/fee-rules';
import { matchTransactions } from '../../src/engine/match-transactions';
import { tx } from '../helpers/transactions';

const carried = (
  breakId: string,
  kind: CarriedBreak['kind'],
  row: ReturnType<typeof tx>,
  originDate = '2025-10-01',
): CarriedBreak => ({ breakId, kind, originDate, row });

describe('carry-over of one-sided breaks into a later run', () => {
  it('classifies a pair with the precedence of the hash join: currency, amount, status', () => {
    expect([
      classifyPair(tx('a'), tx('a')),
      classifyPair(tx('a', { currency: 'EUR', amountMinor: 1n }), tx('a')),
      classifyPair(tx('a', { amountMinor: 1n }), tx('a')),
      classifyPair(tx('a', { status: 'pending', rawStatus: 'pending' }), tx('a')),
      classifyPair(
        tx('a', { status: 'unknown', rawStatus: ' Weird ' }),
        tx('a', { status: 'unknown', rawStatus: 'weird' }),
      ),
      classifyPair(
        tx('a', { status: 'unknown', rawStatus: 'weird' }),
        tx('a', { status: 'unknown', rawStatus: 'odd' }),
      ),
    ]).toEqual([
      'matched',
      'currency_mismatch',
      'amount_mismatch',
      'status_mismatch',
      'matched',
      'status_mismatch',
    ]);
  });

  it('turns clean late arrivals into timing, disagreeing ones into two-sided discrepancies, and leaves the rest', () => {
    const day2 = matchTransactions(
      [tx('ledger-first'), tx('new-p')],
      [tx('proc-first'), tx('late-amount', { amountMinor: 900n })],
    );
    const result = carryOver(
      day2,
      [
        carried('b1', 'missing_in_internal', tx('proc-first')),
        carried('b2', 'missing_in_processor', tx('ledger-first'), '2025-09-29'),
        carried('b3', 'missing_in_internal', tx('late-amount')),
        carried('b4', 'missing_in_internal', tx('never')),
      ],
      '2025-10-02',
    );
    expect(result.timing).toBe(2);
    expect(result.resolved).toEqual([
      { breakId: 'b1', transactionId: 'proc-first', lagDays: 1 },
      { breakId: 'b2', transactionId: 'ledger-first', lagDays: 3 },
    ]);
    expect(result.reclassified.map((r) => [r.breakId, r.from, r.discrepancy.kind])).toEqual([
      ['b3', 'missing_in_internal', 'amount_mismatch'],
    ]);
    expect(result.match.counts).toEqual({
      matched: 0,
      missing_in_internal: 1,
      missing_in_processor: 0,
      amount_mismatch: 1,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
    });
    expect(
      result.match.discrepancies.map((d) => [
        d.kind,
        d.transactionId,
        d.side,
        d.processor?.amountMinor ?? null,
        d.internal?.amountMinor ?? null,
        d.differenceMinor,
      ]),
    ).toEqual([
      ['missing_in_internal', 'new-p', 'processor', 1000n, null, null],
      ['amount_mismatch', 'late-amount', 'both', 1000n, 900n, 100n],
    ]);
    // D's own rows: matched pairs (two rows), timing pairs and reclassified pairs (one row of D
    // each) and one-sided discrepancies account for every row.
    const c = result.match.counts;
    expect(c.matched * 2 + result.timing + result.match.discrepancies.length).toBe(
      day2.processorTransactions + day2.internalTransactions,
    );
  });

  it('does not match a carried break against a row on the same side', () => {
    const day2 = matchTransactions([tx('x')], []);
    const result = carryOver(day2, [carried('b', 'missing_in_internal', tx('x'))], '2025-10-02');
    expect(result).toEqual({ match: day2, timing: 0, resolved: [], reclassified: [] });
  });

  it('compares a late processor row’s net with a carried ledger row under basis net', () => {
    const net = { ...DEFAULT_FEE_RULES, ledgerAmountBasis: 'net' as const };
    // The ledger booked 96.80 on 10-01; Stripe's row (gross 100.00, fee 3.20) arrives on 10-02.
    const day2 = matchTransactions([tx('ch_1', { amountMinor: 10000n, feeMinor: 320n })], []);
    const ledger = carried('b1', 'missing_in_processor', tx('ch_1', { amountMinor: 9680n }));
    const onNet = carryOver(day2, [ledger], '2025-10-02', net);
    expect(onNet.resolved).toEqual([{ breakId: 'b1', transactionId: 'ch_1', lagDays: 1 }]);
    const onGross = carryOver(day2, [ledger], '2025-10-02');
    expect(
      onGross.reclassified.map((r) => [r.discrepancy.kind, r.discrepancy.differenceMinor]),
    ).toEqual([['amount_mismatch', 320n]]);
  });
});
