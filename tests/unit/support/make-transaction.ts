import type { CanonicalStatus, Transaction } from '../../../src/domain/transaction';

/** Builds a Transaction for engine/report tests; every field can be overridden. */
export function makeTransaction(overrides: Partial<Transaction> = {}): Transaction {
  const status: CanonicalStatus = overrides.status ?? 'settled';
  return {
    transactionId: 'txn_1',
    amountMinor: 1000n,
    currency: 'USD',
    feeMinor: null,
    status,
    rawStatus: overrides.rawStatus ?? status,
    merchantId: 'merch_1',
    createdAtMs: Date.UTC(2025, 8, 30, 12, 0, 0),
    description: null,
    line: 2,
    ...overrides,
  };
}
