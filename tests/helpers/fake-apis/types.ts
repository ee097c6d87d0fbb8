/** One request as the fake server saw it. */
export interface RecordedRequest {
  method: string;
  /** URL path without the query string, e.g. `/v1/balance_transactions`. */
  path: string;
  /** Decoded query parameters; for a repeated name the last value wins. */
  query: Record<string, string>;
  /** The raw `Authorization` header, if any. */
  authorization: string | undefined;
  /** The request body as UTF-8 text (`''` for none). */
  body: string;
  /** `Date.now()` when the request arrived. */
  at: number;
}

/** A running fake API on `127.0.0.1` with an ephemeral port. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  baseUrl: string;
  /** Every request received, in arrival order (all endpoints, including rejected ones). */
  requests: RecordedRequest[];
  /** Stops listening, cancels pending 'slow' timers and destroys open connections. */
  close(): Promise<void>;
}

export type FaultKind =
  | 'status-429'
  | 'status-429-retry-after-seconds'
  | 'status-429-retry-after-date'
  | 'status-500'
  | 'status-401'
  | 'malformed-page'
  | 'slow'
  | 'repeat-cursor'
  | 'shrinking-pages'
  | 'echo-credentials';

/** A scheduled misbehaviour of the LIST endpoint. */
export interface Fault {
  kind: FaultKind;
  /** 1-based index of the list request it applies to */
  onRequest: number;
  /** how many consecutive requests, default 1 */
  times?: number;
  /** for 'slow' */
  delayMs?: number;
  /** for retry-after */
  retryAfterSeconds?: number;
  /** for 'echo-credentials': the status of the echoing error (default 401) */
  status?: number;
}

// ---------------------------------------------------------------------------------------------
// Stripe — https://docs.stripe.com/api/balance_transactions/object

/** One item of a Stripe balance transaction's `fee_details`. */
export interface StripeFeeDetail {
  /** Minor units. */
  amount: number;
  application: string | null;
  /** Lower-case ISO code. */
  currency: string;
  description: string | null;
  type: 'application_fee' | 'payment_method_passthrough_fee' | 'stripe_fee' | 'tax';
}

/** A Stripe balance transaction (the fields this project uses, as the API returns them). */
export interface StripeBalanceTransaction {
  /** `txn_…` */
  id: string;
  object: 'balance_transaction';
  /** Gross, signed integer minor units. */
  amount: number;
  /** Unix seconds. */
  available_on: number;
  /** Unix seconds. */
  created: number;
  /** Lower-case ISO code. */
  currency: string;
  description: string | null;
  exchange_rate: number | null;
  /** Minor units, positive when assessed. */
  fee: number;
  fee_details: StripeFeeDetail[];
  /** `amount − fee`, minor units. */
  net: number;
  reporting_category: string;
  /** `ch_…`, `re_…`, `tr_…`, `po_…` (never expanded by the fake). */
  source: string | null;
  status: 'available' | 'pending';
  type: string;
}

/** A Stripe payout (https://docs.stripe.com/api/payouts/object), the fields the fake serves. */
export interface StripePayout {
  /** `po_…` */
  id: string;
  object: 'payout';
  /** Integer minor units, positive for money sent to the bank. */
  amount: number;
  /** Unix seconds: midnight UTC of the expected arrival date. */
  arrival_date: number;
  /** `false` for a manual payout (created through the API or Dashboard). */
  automatic: boolean;
  /** `txn_…` of the payout's own balance transaction. */
  balance_transaction: string | null;
  /** Unix seconds. */
  created: number;
  /** Lower-case ISO code. */
  currency: string;
  description: string | null;
  /** `standard` or `instant`. */
  method: 'standard' | 'instant';
  statement_descriptor: string | null;
  status: 'paid' | 'pending' | 'in_transit' | 'canceled' | 'failed';
  type: 'bank_account' | 'card';
}

// ---------------------------------------------------------------------------------------------
// PayPal — paypal/paypal-rest-api-specifications openapi/reporting_transactions_v1.json

/** PayPal money: a signed decimal string in MAJOR units. */
export interface PaypalMoney {
  currency_code: string;
  value: string;
}

/** `transaction_info` of a PayPal transaction detail. */
export interface PaypalTransactionInfo {
  paypal_account_id?: string;
  transaction_id: string;
  paypal_reference_id?: string;
  paypal_reference_id_type?: 'ODR' | 'TXN' | 'SUB' | 'PAP';
  transaction_event_code?: string;
  /** `YYYY-MM-DDTHH:MM:SS+0000` (PayPal's colon-less offset). */
  transaction_initiation_date: string;
  transaction_updated_date?: string;
  transaction_amount: PaypalMoney;
  /** Negative when a fee is charged; absent when no fee applies. */
  fee_amount?: PaypalMoney;
  /** `S` success, `P` pending, `V` reversed, `D` denied. */
  transaction_status?: 'S' | 'P' | 'V' | 'D';
  transaction_subject?: string;
  transaction_note?: string;
  invoice_id?: string;
  custom_field?: string;
  protection_eligibility?: string;
}

/** One element of `transaction_details`. Sub-objects other than `transaction_info` are opaque. */
export interface PaypalTransactionDetail {
  transaction_info: PaypalTransactionInfo;
  payer_info?: Record<string, unknown>;
  shipping_info?: Record<string, unknown>;
  cart_info?: Record<string, unknown>;
  store_info?: Record<string, unknown>;
  auction_info?: Record<string, unknown>;
  incentive_info?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Square — square/square-python-sdk doc/models/payment.md

/** Square money: integer MINOR units. */
export interface SquareMoney {
  amount: number;
  currency: string;
}

export interface SquareProcessingFee {
  /** RFC 3339. */
  effective_at: string;
  type: 'INITIAL' | 'ADJUSTMENT';
  amount_money: SquareMoney;
}

/** A Square payment (the fields this project uses; Square has many more). */
export interface SquarePayment {
  id: string;
  /** RFC 3339 UTC with milliseconds, e.g. `2021-10-13T19:34:33.524Z`. */
  created_at: string;
  updated_at?: string;
  amount_money: SquareMoney;
  total_money?: SquareMoney;
  approved_money?: SquareMoney;
  processing_fee?: SquareProcessingFee[];
  status: 'APPROVED' | 'COMPLETED' | 'CANCELED' | 'FAILED';
  source_type?: string;
  location_id: string;
  order_id?: string;
  note?: string;
  receipt_number?: string;
  receipt_url?: string;
  version_token?: string;
}

/**
 * A Square payout (https://developer.squareup.com/reference/square/objects/Payout): `type` BATCH
 * (has payout entries) or SIMPLE (none: it shows up as an entry of a later batch payout).
 */
export interface SquarePayout {
  id: string;
  status: 'SENT' | 'FAILED' | 'PAID';
  location_id: string;
  /** RFC 3339 UTC: when the payout was created and submitted (ListPayouts filters on it). */
  created_at: string;
  updated_at?: string;
  /** Minor units; negative for a withdrawal. */
  amount_money: SquareMoney;
  destination?: { type: string; id: string };
  version?: number;
  type: 'BATCH' | 'SIMPLE';
  /** `YYYY-MM-DD`. */
  arrival_date?: string;
  end_to_end_id?: string;
}

/** A Square payout entry (https://developer.squareup.com/reference/square/objects/PayoutEntry). */
export interface SquarePayoutEntry {
  id: string;
  payout_id: string;
  /** RFC 3339 UTC. */
  effective_at: string;
  /** `CHARGE`, `REFUND`, `FEE`, `ADJUSTMENT`, … (ActivityType). */
  type: string;
  gross_amount_money?: SquareMoney;
  /** Square fees of the entry, negative when charged. */
  fee_amount_money?: SquareMoney;
  net_amount_money: SquareMoney;
}

// ---------------------------------------------------------------------------------------------
// Internal ledger (our own default contract)

/** One internal-ledger entry, as `GET /v1/ledger/transactions` returns it. */
export interface LedgerEntry {
  transaction_id: string;
  /** `stripe`, `paypal`, `square`, … */
  processor: string;
  /** Signed decimal string in MAJOR units, e.g. `"12.34"`. */
  amount: string;
  currency: string;
  status: string;
  merchant_id: string;
  /** ISO 8601 UTC with `Z`. */
  created_at: string;
  /** Decimal string in MAJOR units. */
  fee?: string;
  description?: string;
}
