import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { currencyExponent, normalizeCurrency } from '../../../src/domain/currency';
import { mapStatus, STATUS_MAPS } from '../../../src/domain/status';
import type { CanonicalStatus } from '../../../src/domain/transaction';
import { formatPaypalDate, parseRfc3339 } from './harness';
import type {
  LedgerEntry,
  PaypalTransactionDetail,
  SquarePayment,
  StripeBalanceTransaction,
} from './types';

/**
 * One row of the canonical CSV (`data/samples/<date>/*.csv`): every field as text. `amount` and
 * `fee` are signed decimal strings in MAJOR units; `created_at` is ISO 8601 UTC (`…Z`).
 * An empty `fee`/`description` cell means "absent".
 */
export interface CanonicalRow {
  transaction_id: string;
  amount: string;
  currency: string;
  status: string;
  merchant_id: string;
  created_at: string;
  fee?: string;
  description?: string;
}

/** What an adapter must produce for a row, whichever API carried it. */
export interface ExpectedTransaction {
  transactionId: string;
  /** Signed minor units. */
  amountMinor: bigint;
  /** Upper-case ISO 4217. */
  currency: string;
  createdAtMs: number;
  /** Minor units, positive when charged; `null` when the row has none. */
  feeMinor: bigint | null;
  description: string | null;
  status: CanonicalStatus;
  merchantId: string;
}

const ROOT = resolve(__dirname, '..', '..', '..');

/** Absolute path of a canonical sample, e.g. `canonicalSamplePath('internal_stripe')`. */
export function canonicalSamplePath(name: string, date = '2025-09-30'): string {
  return join(ROOT, 'data', 'samples', date, `${name}.csv`);
}

/** Reads a canonical CSV (header row required) with csv-parse/sync. */
export function loadCanonicalRows(path: string): CanonicalRow[] {
  const records: unknown = parse(readFileSync(path), { columns: true, skip_empty_lines: true });
  if (!Array.isArray(records)) throw new TypeError(`${path}: not a CSV table`);
  return records.map((record: Record<string, string>, index) => {
    for (const name of ['transaction_id', 'amount', 'currency', 'status', 'merchant_id']) {
      if (typeof record[name] !== 'string') {
        throw new TypeError(`${path}: row ${index + 2} has no ${name}`);
      }
    }
    const row: CanonicalRow = {
      transaction_id: record.transaction_id ?? '',
      amount: record.amount ?? '',
      currency: record.currency ?? '',
      status: record.status ?? '',
      merchant_id: record.merchant_id ?? '',
      created_at: record.created_at ?? '',
    };
    if (record.fee) row.fee = record.fee;
    if (record.description) row.description = record.description;
    return row;
  });
}

function currencyOf(row: CanonicalRow): string {
  const code = normalizeCurrency(row.currency);
  if (code === undefined)
    throw new RangeError(`${row.transaction_id}: unknown currency ${row.currency}`);
  return code;
}

/**
 * Exact decimal → minor units: `"12.3"` USD → `1230n`, `"-0.5"` → `-50n`, `"430"` JPY → `430n`.
 * Grammar `-?digits(.digits)?`; more fraction digits than the currency's exponent → RangeError.
 */
export function majorToMinor(amount: string, currency: string, source?: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match) throw new RangeError(`not a decimal amount: ${JSON.stringify(amount)}`);
  const exponent = currencyExponent(currency.toUpperCase(), source);
  const fraction = match[3] ?? '';
  if (fraction.length > exponent) {
    throw new RangeError(`${amount} has more than ${exponent} decimals for ${currency}`);
  }
  const digits = BigInt(`${match[2] ?? '0'}${fraction.padEnd(exponent, '0')}`);
  return match[1] === '-' ? -digits : digits;
}

/** Minor units → decimal string with exactly the exponent's decimals: `-50n` USD → `"-0.50"`. */
export function minorToMajor(minor: bigint, currency: string, source?: string): string {
  const exponent = currencyExponent(currency.toUpperCase(), source);
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** A bigint as a JSON number; RangeError beyond ±2^53 (JSON would lose digits). */
export function toSafeNumber(value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`${value} is not a safe integer`);
  return number;
}

/** The canonical status of a row's status text (`Completed`, `succeeded` → `settled`, …). */
export function canonicalStatusOf(row: CanonicalRow): CanonicalStatus {
  return mapStatus(row.status, STATUS_MAPS.internal);
}

function createdMs(row: CanonicalRow, wholeSeconds: boolean, api: string): number {
  const ms = parseRfc3339(row.created_at);
  if (ms === undefined)
    throw new RangeError(`${row.transaction_id}: bad created_at ${row.created_at}`);
  if (wholeSeconds && ms % 1000 !== 0) {
    throw new RangeError(`${row.transaction_id}: ${api} timestamps have no sub-second part`);
  }
  return ms;
}

function unrepresentable(row: CanonicalRow, api: string, why: string): never {
  throw new RangeError(`${row.transaction_id}: status ${row.status} has no ${api} form (${why})`);
}

/** The values an adapter must produce for `row` (`source` picks per-processor exponents). */
export function expectedFromCanonical(row: CanonicalRow, source?: string): ExpectedTransaction {
  const currency = currencyOf(row);
  return {
    transactionId: row.transaction_id,
    amountMinor: majorToMinor(row.amount, currency, source),
    currency,
    createdAtMs: createdMs(row, false, 'canonical'),
    feeMinor: row.fee ? majorToMinor(row.fee, currency, source) : null,
    description: row.description ? row.description : null,
    status: canonicalStatusOf(row),
    merchantId: row.merchant_id,
  };
}

/**
 * Canonical row → Stripe balance transaction
 * (https://docs.stripe.com/api/balance_transactions/object).
 *
 * `source` = transaction_id (the matching key; `id` = `txn_` + 24 hex of its SHA-256, stable);
 * `amount`/`fee` = minor units (no fee → `fee: 0`, `fee_details: []` — Stripe cannot say "no
 * fee"); `net = amount − fee`; currency lower case; `created` = epoch seconds (a sub-second
 * `created_at` → RangeError); `available_on` = midnight UTC two days later (seven when pending);
 * status `pending` → `pending`, else `available`; `refunded` → type/reporting_category `refund`,
 * otherwise `charge`; `description` copied (absent → null). `merchant_id` has no place in a
 * balance transaction and is dropped. Statuses `failed`/`cancelled`/unknown → RangeError (a
 * failed charge creates no balance transaction).
 */
export function toStripeBalanceTransaction(row: CanonicalRow): StripeBalanceTransaction {
  const currency = currencyOf(row);
  const status = canonicalStatusOf(row);
  if (status !== 'settled' && status !== 'pending' && status !== 'refunded') {
    unrepresentable(row, 'Stripe balance transaction', 'failed charges create none');
  }
  const amount = majorToMinor(row.amount, currency, 'stripe');
  const fee = row.fee ? majorToMinor(row.fee, currency, 'stripe') : 0n;
  const created = createdMs(row, true, 'Stripe') / 1000;
  const day = 86400;
  const availableOn = (Math.floor(created / day) + (status === 'pending' ? 7 : 2)) * day;
  const type = status === 'refunded' ? 'refund' : 'charge';
  return {
    id: `txn_${createHash('sha256').update(row.transaction_id).digest('hex').slice(0, 24)}`,
    object: 'balance_transaction',
    amount: toSafeNumber(amount),
    available_on: availableOn,
    created,
    currency: currency.toLowerCase(),
    description: row.description ? row.description : null,
    exchange_rate: null,
    fee: toSafeNumber(fee),
    fee_details:
      fee === 0n
        ? []
        : [
            {
              amount: toSafeNumber(fee),
              application: null,
              currency: currency.toLowerCase(),
              description: 'Stripe processing fees',
              type: 'stripe_fee',
            },
          ],
    net: toSafeNumber(amount - fee),
    reporting_category: type,
    source: row.transaction_id,
    status: status === 'pending' ? 'pending' : 'available',
    type,
  };
}

const PAYPAL_STATUS: Partial<Record<CanonicalStatus, 'S' | 'P' | 'V' | 'D'>> = {
  settled: 'S',
  pending: 'P',
  refunded: 'V',
  failed: 'D',
};

/**
 * Canonical row → PayPal `transaction_detail`
 * (https://developer.paypal.com/docs/api/transaction-search/v1/).
 *
 * `transaction_info`: `transaction_id`; `transaction_amount` `{currency_code, value}` with the
 * amount re-printed at the currency's exponent (`"12"` USD → `"12.00"`); `fee_amount` = the
 * NEGATED fee (`"1.33"` → `"-1.33"`, PayPal fees are negative; omitted when the row has no fee);
 * `transaction_initiation_date`/`transaction_updated_date` = `created_at` as
 * `YYYY-MM-DDTHH:MM:SS+0000`; `transaction_status` S (settled/succeeded/completed), P (pending),
 * V (refunded/reversed), D (failed); `transaction_event_code` T1107 for refunds, else T0006;
 * `paypal_account_id` = merchant_id; `transaction_subject` = description (omitted when none).
 * `cancelled`/unknown statuses → RangeError.
 */
export function toPaypalTransactionDetail(row: CanonicalRow): PaypalTransactionDetail {
  const currency = currencyOf(row);
  const status = canonicalStatusOf(row);
  const code = PAYPAL_STATUS[status];
  if (code === undefined) unrepresentable(row, 'PayPal', 'no S/P/V/D equivalent');
  const date = formatPaypalDate(createdMs(row, true, 'PayPal'));
  const detail: PaypalTransactionDetail = {
    transaction_info: {
      paypal_account_id: row.merchant_id,
      transaction_id: row.transaction_id,
      transaction_event_code: status === 'refunded' ? 'T1107' : 'T0006',
      transaction_initiation_date: date,
      transaction_updated_date: date,
      transaction_amount: {
        currency_code: currency,
        value: minorToMajor(majorToMinor(row.amount, currency, 'paypal'), currency, 'paypal'),
      },
      transaction_status: code,
    },
  };
  if (row.fee) {
    detail.transaction_info.fee_amount = {
      currency_code: currency,
      value: minorToMajor(-majorToMinor(row.fee, currency, 'paypal'), currency, 'paypal'),
    };
  }
  if (row.description) detail.transaction_info.transaction_subject = row.description;
  return detail;
}

const SQUARE_STATUS: Partial<Record<CanonicalStatus, SquarePayment['status']>> = {
  settled: 'COMPLETED',
  pending: 'APPROVED',
  failed: 'FAILED',
  cancelled: 'CANCELED',
};

/**
 * Canonical row → Square payment (https://developer.squareup.com/reference/square/objects/Payment).
 *
 * `id`; `amount_money` = `total_money` = `approved_money` = `{amount: minor units, currency}`;
 * `created_at` = `updated_at` = ISO with milliseconds (`…T23:20:14.000Z`); `status` COMPLETED
 * (settled/succeeded/completed), APPROVED (pending), FAILED, CANCELED; `location_id` =
 * merchant_id; `note` = description (omitted when none); `processing_fee` =
 * `[{amount_money: fee, type: 'INITIAL', effective_at: created_at + 2 h}]` (omitted when no fee);
 * `source_type` CARD; COMPLETED payments get `receipt_number`/`receipt_url`. `refunded` →
 * RangeError (Square models refunds as PaymentRefund objects, not payments).
 */
export function toSquarePayment(row: CanonicalRow): SquarePayment {
  const currency = currencyOf(row);
  const status = SQUARE_STATUS[canonicalStatusOf(row)];
  if (status === undefined) unrepresentable(row, 'Square payment', 'refunds are PaymentRefunds');
  const ms = createdMs(row, false, 'Square');
  const createdAt = new Date(ms).toISOString();
  const money = {
    amount: toSafeNumber(majorToMinor(row.amount, currency, 'square')),
    currency,
  };
  const payment: SquarePayment = {
    id: row.transaction_id,
    created_at: createdAt,
    updated_at: createdAt,
    amount_money: money,
    total_money: { ...money },
    approved_money: { ...money },
    status,
    source_type: 'CARD',
    location_id: row.merchant_id,
    version_token: createHash('sha256').update(row.transaction_id).digest('base64url').slice(0, 45),
  };
  if (row.fee) {
    payment.processing_fee = [
      {
        effective_at: new Date(ms + 2 * 3600 * 1000).toISOString(),
        type: 'INITIAL',
        amount_money: {
          amount: toSafeNumber(majorToMinor(row.fee, currency, 'square')),
          currency,
        },
      },
    ];
  }
  if (row.description) payment.note = row.description;
  if (status === 'COMPLETED') {
    payment.receipt_number = row.transaction_id.slice(0, 4);
    payment.receipt_url = `https://squareup.com/receipt/preview/${encodeURIComponent(row.transaction_id)}`;
  }
  return payment;
}

/** Canonical row → ledger entry: the row's fields as they are, plus `processor`. */
export function toLedgerEntry(row: CanonicalRow, processor: string): LedgerEntry {
  const entry: LedgerEntry = {
    transaction_id: row.transaction_id,
    processor,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    merchant_id: row.merchant_id,
    created_at: row.created_at,
  };
  if (row.fee) entry.fee = row.fee;
  if (row.description) entry.description = row.description;
  return entry;
}
