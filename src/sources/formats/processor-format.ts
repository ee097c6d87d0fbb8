import type { CurrencyCode } from '../../domain/currency';
import type { DataQualityIssue } from '../../domain/data-quality';
import type { ProcessorName } from '../../domain/status';
import type { CsvRecord } from '../csv-records';

/** Which of a row's amounts becomes `Transaction.amountMinor`, the amount compared with the ledger. */
export type AmountField = 'gross' | 'net' | 'fee';

export const AMOUNT_FIELDS: readonly AmountField[] = ['gross', 'net', 'fee'];

/** Stripe balance report column used as the matching key (`transaction_id`). */
export type StripeReportMatchKey = 'source_id' | 'charge_id' | 'balance_transaction_id';

/** Day-first (`31/12/2025`), month-first (`12/31/2025`), or decided from the data. */
export type DateOrder = 'auto' | 'dmy' | 'mdy';

/** Adyen column used as the matching key; `auto`: PSP reference, modification reference for refunds and chargebacks. */
export type AdyenMatchKey =
  'auto' | 'psp_reference' | 'modification_reference' | 'merchant_reference';

/**
 * Settings of the processor export formats (environment variables, README "Processor export
 * formats"). `compareAmount` maps a format name to the amount compared with the ledger; formats
 * not listed compare `gross`.
 */
export interface FormatSettings {
  readonly compareAmount: Readonly<Record<string, AmountField>>;
  readonly stripeMatchKey: StripeReportMatchKey;
  /** IANA zone of the un-suffixed Stripe timestamps (`created`) of `.3` reports; default UTC. */
  readonly stripeReportTimeZone: string;
  readonly paypalDateOrder: DateOrder;
  readonly adyenMatchKey: AdyenMatchKey;
}

export const DEFAULT_FORMAT_SETTINGS: FormatSettings = {
  compareAmount: {},
  stripeMatchKey: 'source_id',
  stripeReportTimeZone: 'UTC',
  paypalDateOrder: 'auto',
  adyenMatchKey: 'auto',
};

/**
 * One processor row after parsing, before it becomes a `Transaction`. Amounts are integer MINOR
 * units with one sign convention for every format:
 * - `gross`: positive when money comes in (charge), negative when it goes out (refund, chargeback);
 * - `fee`: positive when the processor charged a fee, negative when it returned one;
 * - `net` = the balance impact; normally `gross - fee` (a row where it is not gets a `net_mismatch`
 *   warning).
 * `gross` is in `grossCurrency`; `fee` and `net` in `currency` (they differ only for Adyen rows
 * converted between a gross and a net currency).
 */
export interface FormatRow {
  readonly transactionId: string;
  readonly currency: CurrencyCode;
  readonly grossCurrency: CurrencyCode;
  readonly gross: bigint;
  readonly fee: bigint;
  readonly net: bigint;
  /** The export's own status word (or one derived from the row type; see each format). */
  readonly rawStatus: string;
  readonly merchantId: string;
  /** Epoch milliseconds (UTC). */
  readonly createdAtMs: number;
  readonly description: string | null;
  /** The export's payment method (Adyen `Payment Method`, Stripe `payment_method_type`), if any. */
  readonly paymentMethod?: string | null;
}

/** Reports a problem with the current row; the row is rejected. `field` is the export's column name. */
export type ReportProblem = (field: string | null, reason: string, value: string | null) => void;

/**
 * What a format reader does with the records of its file. `record` returns the parsed row;
 * `'framing'` for a record that is not a data row (header, STL section headers and footers);
 * `'not-a-transaction'` for a data row that is read but not matched (Adyen batch-level rows:
 * `Fee`, `MerchantPayout`, `Balancetransfer`); or `undefined` after reporting at least one problem
 * (an invalid row).
 */
export interface FormatReader {
  /**
   * Optional first pass over every record, made before `record` sees any (e.g. to decide the
   * date order of a PayPal export). `end` may throw `InputRejectedError`.
   */
  readonly prescan?: { record(record: CsvRecord): void; end(): void };
  /** Handles one record (header included). */
  record(
    record: CsvRecord,
    problem: ReportProblem,
  ): FormatRow | 'framing' | 'not-a-transaction' | undefined;
  /** File-level findings after the last record (footer counts, batch checks). May throw. */
  end(): DataQualityIssueDraft[];
}

/** A file-level finding of a format; the source adds side and location. */
export type DataQualityIssueDraft = Omit<DataQualityIssue, 'side' | 'location'>;

/** A processor export format: how to recognise it and how to read it. */
export interface ProcessorFormat {
  /** `--format` name, kebab-case: `stripe-balance-report`. */
  readonly name: string;
  /** The processor whose exports this format reads. */
  readonly processor: ProcessorName;
  /** One line for `--help`, errors and the README. */
  readonly title: string;
  /** Columns (or record types) that identify the format, for the unknown-header error. */
  readonly detectionColumns: readonly string[];
  /** True when `fields`, the first non-empty record of a file, is this format's header. */
  detect(fields: readonly string[]): boolean;
  /**
   * A reader for one file. `location` is the path (for messages).
   * @throws InputRejectedError when the settings cannot apply to this format.
   */
  createReader(settings: FormatSettings, location: string): FormatReader;
}

/** Header text as compared by the formats: trimmed, lower case, inner whitespace collapsed. */
export function normalizeHeaderName(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}
