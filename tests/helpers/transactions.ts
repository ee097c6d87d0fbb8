import type { Transaction } from '../../src/domain/transaction';

let line = 1;

/** A settled USD transaction of 10.00 created at 2025-09-30T12:00Z, with `overrides` applied. */
export function tx(transactionId: string, overrides: Partial<Transaction> = {}): Transaction {
  line++;
  return {
    transactionId,
    amountMinor: 1000n,
    currency: 'USD',
    feeMinor: null,
    status: 'settled',
    rawStatus: 'settled',
    merchantId: 'merch_001',
    createdAtMs: Date.parse('2025-09-30T12:00:00Z'),
    description: null,
    line,
    ...overrides,
  };
}
