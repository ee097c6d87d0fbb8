import { parseIsoInstant } from '../domain/business-date';
import { currencyExponent, normalizeCurrency } from '../domain/currency';
import { clipValue, type DataQualityIssue } from '../domain/data-quality';
import {
  amountInRange,
  MAX_AMOUNT_MINOR,
  MAX_TRANSACTION_ID_BYTES,
  overlongIdBytes,
} from '../domain/input-limits';
import { parseDecimalToMinor } from '../domain/money';
import { mapStatus, type StatusMap } from '../domain/status';
import type { Transaction, TransactionSide } from '../domain/transaction';
import { netMismatchIssue } from '../domain/transaction-amounts';

/**
 * An amount as a source gives it: a decimal string in MAJOR units (`"12.34"`, PayPal, ledger)
 * or an integer in MINOR units (`1234`, Stripe and Square APIs), as number or string.
 */
export type RawAmount =
  | { readonly units: 'major'; readonly value: unknown }
  | { readonly units: 'minor'; readonly value: unknown };

/**
 * One record from an API before validation. Values are `unknown` because they come straight
 * from JSON. `createdAt` is an ISO 8601 string with offset, or Unix epoch SECONDS as a number.
 * `fields` names the JSON path of each value, for messages (`transaction_info.transaction_id`).
 */
export interface RawRecord {
  readonly transactionId: unknown;
  readonly amount: RawAmount;
  readonly currency: unknown;
  readonly status: unknown;
  readonly merchantId: unknown;
  readonly createdAt: unknown;
  readonly fee?: RawAmount;
  /** The net (gross − fee) as the API reports it, when it does (Stripe `net`). */
  readonly net?: RawAmount;
  /** The payment method as the API names it, when it does (Square `source_type`). */
  readonly paymentMethod?: unknown;
  readonly description?: unknown;
  readonly fields: Readonly<
    Record<
      'transactionId' | 'amount' | 'currency' | 'status' | 'merchantId' | 'createdAt' | 'fee',
      string
    > & { readonly net?: string }
  >;
}

/** Where a record came from, for its data-quality issues. `position` is 1-based. */
export interface RecordOrigin {
  readonly side: TransactionSide;
  readonly location: string;
  readonly position: number;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

const OUT_OF_RANGE = `is beyond the accepted range of ±${MAX_AMOUNT_MINOR} minor units (18 digits)`;

function toMinor(amount: RawAmount, exponent: number): bigint | string {
  if (amount.units === 'major') {
    const value = text(amount.value);
    if (value === undefined) return 'is missing or not text';
    const parsed = parseDecimalToMinor(value, exponent);
    if (parsed.ok) return parsed.minor;
    return parsed.reason === 'out_of_range'
      ? OUT_OF_RANGE
      : `'${clipValue(value, 40)}' is not a decimal amount with at most ${exponent} decimals`;
  }
  if (typeof amount.value === 'number') {
    return Number.isSafeInteger(amount.value)
      ? BigInt(amount.value)
      : `${amount.value} is not an integer amount in minor units`;
  }
  if (typeof amount.value === 'string' && /^-?\d+$/.test(amount.value)) {
    const minor = BigInt(amount.value);
    return amountInRange(minor) ? minor : OUT_OF_RANGE;
  }
  return 'is missing or not an integer amount in minor units';
}

/** The reason given for text with a NUL character (U+0000), after the field name. */
const NUL_REASON = 'contains a NUL character (U+0000)';

/** A UTF-16 surrogate not part of a pair (only possible in JSON-escaped text). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Validates and normalizes one API record into a `Transaction`, or returns the problems found
 * (one `invalid_row` issue per bad field). A valid record's `issues` hold at most its
 * `net_mismatch` warning (a reported net that is not gross − fee). Exact: amounts never pass through a float; a JSON
 * number in minor units must be a safe integer.
 */
export function normalizeRecord(
  record: RawRecord,
  origin: RecordOrigin,
  statusMap: StatusMap,
):
  | { transaction: Transaction; issues: DataQualityIssue[] }
  | { transaction: null; issues: DataQualityIssue[] } {
  const issues: DataQualityIssue[] = [];
  const problem = (field: string, reason: string, value: unknown): void => {
    issues.push({
      side: origin.side,
      location: origin.location,
      check: 'invalid_row',
      severity: 'error',
      line: origin.position,
      field,
      reason: `${field} ${reason}`,
      value:
        value === undefined || value === null
          ? null
          : clipValue(typeof value === 'string' ? value : JSON.stringify(value)),
      count: null,
    });
  };
  const f = record.fields;

  const transactionId = text(record.transactionId);
  if (!transactionId) problem(f.transactionId, 'is empty', record.transactionId);
  else if (LONE_SURROGATE.test(transactionId)) {
    // JSON can escape half of a UTF-16 pair ("\ud800"); such an id has no UTF-8 form, so two
    // different ones would compare equal once stored.
    problem(f.transactionId, 'is not valid Unicode (lone surrogate)', transactionId);
  } else if (transactionId.includes('\0')) {
    problem(f.transactionId, NUL_REASON, transactionId);
  } else {
    const bytes = overlongIdBytes(transactionId);
    if (bytes > 0) {
      problem(
        f.transactionId,
        `is ${bytes} bytes long; at most ${MAX_TRANSACTION_ID_BYTES} bytes (UTF-8) are accepted`,
        transactionId,
      );
    }
  }
  const currencyText = text(record.currency);
  const currency = currencyText ? normalizeCurrency(currencyText) : undefined;
  if (!currency) problem(f.currency, 'is not an ISO 4217 code', record.currency);
  const exponent = currency ? currencyExponent(currency) : undefined;

  let amountMinor: bigint | undefined;
  let feeMinor: bigint | null = null;
  let netMinor: bigint | null = null;
  if (exponent !== undefined) {
    const amount = toMinor(record.amount, exponent);
    if (typeof amount === 'bigint') amountMinor = amount;
    else problem(f.amount, amount, record.amount.value);
    if (
      record.fee &&
      record.fee.value !== undefined &&
      record.fee.value !== null &&
      record.fee.value !== ''
    ) {
      const fee = toMinor(record.fee, exponent);
      if (typeof fee === 'bigint') feeMinor = fee;
      else problem(f.fee, fee, record.fee.value);
    }
    if (
      record.net &&
      record.net.value !== undefined &&
      record.net.value !== null &&
      record.net.value !== ''
    ) {
      const net = toMinor(record.net, exponent);
      if (typeof net === 'bigint') netMinor = net;
      else problem(f.net ?? 'net', net, record.net.value);
    }
  }

  const rawStatus = text(record.status);
  if (!rawStatus) problem(f.status, 'is empty', record.status);
  const merchantId = text(record.merchantId) ?? '';
  const description = text(record.description);
  const paymentMethod = text(record.paymentMethod);
  // Text the database cannot store as it is: NUL ends a PostgreSQL text value, and a lone
  // surrogate has no UTF-8 form (both would fail or change the row when stored).
  const texts: [string, string | undefined][] = [
    [f.status, rawStatus],
    [f.merchantId, merchantId],
    ['description', description],
    ['payment method', paymentMethod],
  ];
  for (const [field, value] of texts) {
    if (value === undefined) continue;
    if (value.includes('\0')) problem(field, NUL_REASON, value);
    else if (LONE_SURROGATE.test(value))
      problem(field, 'is not valid Unicode (lone surrogate)', value);
  }

  let createdAtMs: number | undefined;
  if (typeof record.createdAt === 'number') {
    createdAtMs = Number.isSafeInteger(record.createdAt) ? record.createdAt * 1000 : undefined;
  } else if (typeof record.createdAt === 'string') {
    createdAtMs = parseIsoInstant(record.createdAt.trim());
  }
  if (createdAtMs === undefined)
    problem(f.createdAt, 'is not a timestamp with an offset (or Unix seconds)', record.createdAt);

  if (
    issues.length > 0 ||
    !transactionId ||
    !currency ||
    amountMinor === undefined ||
    !rawStatus ||
    createdAtMs === undefined
  ) {
    return { transaction: null, issues };
  }
  // A valid record may still carry a warning: its reported net is not gross − fee.
  const mismatch = netMismatchIssue(
    { side: origin.side, location: origin.location, line: origin.position },
    currency,
    amountMinor,
    feeMinor,
    netMinor,
  );
  if (mismatch) issues.push(mismatch);
  return {
    transaction: {
      transactionId,
      amountMinor,
      currency,
      feeMinor,
      ...(netMinor === null ? {} : { netMinor }),
      ...(paymentMethod ? { paymentMethod } : {}),
      status: mapStatus(rawStatus, statusMap),
      rawStatus,
      merchantId,
      createdAtMs,
      description: description ? description : null,
      line: origin.position,
    },
    issues,
  };
}
