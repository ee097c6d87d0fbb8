export type { Fault, FaultKind, FakeServer, RecordedRequest } from './types';
export type {
  LedgerEntry,
  PaypalMoney,
  PaypalTransactionDetail,
  PaypalTransactionInfo,
  SquareMoney,
  SquarePayment,
  SquarePayout,
  SquarePayoutEntry,
  SquareProcessingFee,
  StripeBalanceTransaction,
  StripePayout,
  StripeFeeDetail,
} from './types';
export { startFakeStripe, type FakeStripeOptions } from './stripe';
export { startFakePaypal, type FakePaypalOptions, type FakePaypalServer } from './paypal';
export { startFakeSquare, type FakeSquareOptions } from './square';
export { startFakeLedger, type FakeLedgerOptions } from './ledger';
export * from './from-canonical';
