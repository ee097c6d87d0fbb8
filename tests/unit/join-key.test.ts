import { TransactionTable } from '../../src/domain/transaction-table';
import { DEFAULT_FEE_RULES } from '../../src/engine/fee-rules';
import { matchTables } from '../../src/engine/match-transactions';
import { withJoinKey } from '../../src/engine/rules';
import { tx } from '../helpers/transactions';

describe('the id join key (rules file key, withJoinKey)', () => {
  const processor = [
    tx('ch_1', { amountMinor: 1000n, reference: 'pi_1' }),
    tx('ch_2', { amountMinor: 2000n, reference: ' pi_2 ' }),
    tx('ch_5', { amountMinor: 500n }),
  ];
  const ledger = [
    tx('PI_1', { amountMinor: 1000n }),
    tx('pi_2', { amountMinor: 2000n }),
    tx('pi_2', { amountMinor: 2000n }),
  ];

  it('joins on each side’s normalized column, keeps the id of a row without one, duplicates by key', () => {
    const p = withJoinKey(TransactionTable.fromTransactions(processor), 'reference', [
      'trim',
      'upper',
    ]);
    const l = withJoinKey(TransactionTable.fromTransactions(ledger), 'transaction_id', [
      'trim',
      'upper',
    ]);
    expect(p.toArray().map((t) => t.transactionId)).toEqual(['PI_1', 'PI_2', 'ch_5']);
    expect(p.toArray().map((t) => t.reference ?? null)).toEqual(['pi_1', ' pi_2 ', null]);
    const result = matchTables(p, l, DEFAULT_FEE_RULES);
    expect(result.counts).toEqual({
      matched: 2,
      missing_in_internal: 1,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 1,
      fee_mismatch: 0,
    });
  });

  it('returns the table itself for transaction_id without normalization', () => {
    const table = TransactionTable.fromTransactions(processor);
    expect(withJoinKey(table, 'transaction_id', [])).toBe(table);
  });
});
