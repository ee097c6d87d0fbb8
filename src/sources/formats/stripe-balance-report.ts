import {
  normalizeHeaderName,
  type FormatReader,
  type FormatRow,
  type FormatSettings,
  type ProcessorFormat,
  type ReportProblem,
} from './processor-format';
import {
  localToInstant,
  parseCurrency,
  parseIsoLocal,
  parseMajorAmount,
  type Parsed,
} from './parse-values';
import {
  cell,
  mapHeader,
  matchesColumnMap,
  type ColumnMap,
  type MappedHeader,
} from './table-format';

/**
 * Stripe "Balance" report CSVs (Dashboard "Balance change from activity" download and the Reports
 * API types `balance_change_from_activity.itemized.1/.2/.3`, `payouts.itemized.*`), per
 * https://docs.stripe.com/reports/report-types/balance. Columns by name in any order; extra
 * columns (`payment_metadata[...]`, card and customer columns) are ignored.
 */
const COLUMNS = {
  balanceTransactionId: { names: ['balance_transaction_id'], required: true },
  currency: { names: ['currency'], required: true },
  gross: { names: ['gross'], required: true },
  fee: { names: ['fee'], required: true },
  net: { names: ['net'], required: true },
  createdUtc: { names: ['created_utc'], required: false },
  created: { names: ['created'], required: false },
  effectiveAtUtc: { names: ['effective_at_utc'], required: false },
  effectiveAt: { names: ['effective_at'], required: false },
  sourceId: { names: ['source_id'], required: false },
  chargeId: { names: ['charge_id'], required: false },
  reportingCategory: { names: ['reporting_category'], required: false },
  description: { names: ['description'], required: false },
  connectedAccountId: { names: ['connected_account_id'], required: false },
  paymentMethodType: { names: ['payment_method_type'], required: false },
} as const satisfies ColumnMap<string>;

type Column = keyof typeof COLUMNS;

/** Timestamp columns in order of preference; `*_utc` are UTC, the others in the report's zone. */
const TIMESTAMP_COLUMNS: readonly { key: Column; utc: boolean }[] = [
  { key: 'createdUtc', utc: true },
  { key: 'created', utc: false },
  { key: 'effectiveAtUtc', utc: true },
  { key: 'effectiveAt', utc: false },
];

const MATCH_KEY_COLUMNS = {
  source_id: 'sourceId',
  charge_id: 'chargeId',
  balance_transaction_id: 'balanceTransactionId',
} as const satisfies Record<FormatSettings['stripeMatchKey'], Column>;

function hasTimestampColumn(header: readonly string[]): boolean {
  const names = new Set(header.map(normalizeHeaderName));
  return TIMESTAMP_COLUMNS.some(({ key }) => names.has(COLUMNS[key].names[0]));
}

/**
 * Amounts are MAJOR units ("e.g. dollars for USD, yen for JPY") → minor units with the ISO
 * exponent. A report requested with `decimal_separator=,` writes `12,34`: a single comma and no
 * dot is read as the decimal separator (Stripe writes no thousands separators).
 */
function parseStripeAmount(text: string, exponent: number): Parsed<bigint> {
  const plain = !text.includes('.') && /^-?\d+,\d+$/.test(text) ? text.replace(',', '.') : text;
  return parseMajorAmount(plain, exponent);
}

class StripeBalanceReportReader implements FormatReader {
  private header: MappedHeader<Column> | undefined;
  private timestamp: { key: Column; utc: boolean } | undefined;
  private readonly keyColumn: Column;

  constructor(
    private readonly settings: FormatSettings,
    private readonly location: string,
  ) {
    this.keyColumn = MATCH_KEY_COLUMNS[settings.stripeMatchKey];
  }

  record(
    { fields, line }: { fields: string[]; line: number },
    problem: ReportProblem,
  ): FormatRow | 'framing' | undefined {
    if (!this.header) {
      this.header = mapHeader(COLUMNS, fields, this.location, line, STRIPE_BALANCE_REPORT.title);
      const header = this.header;
      this.timestamp = TIMESTAMP_COLUMNS.find(({ key }) => header.index[key] !== -1);
      if (!this.timestamp) {
        mapHeader(
          { createdUtc: { names: ['created_utc'], required: true } },
          fields,
          this.location,
          line,
          STRIPE_BALANCE_REPORT.title,
        );
      }
      return 'framing';
    }
    const header = this.header;
    const timestamp = this.timestamp as { key: Column; utc: boolean };
    if (fields.length !== header.width) {
      problem(null, `row has ${fields.length} fields, header has ${header.width}`, null);
      return undefined;
    }
    const get = (key: Column): string => cell(header, fields, key);
    let ok = true;
    const currencyText = get('currency');
    const currency = parseCurrency(currencyText);
    if (!currency.ok) {
      problem('currency', `currency ${currency.reason}`, currencyText);
      ok = false;
    }
    const amount = (key: 'gross' | 'fee' | 'net'): bigint => {
      const text = get(key);
      if (!currency.ok) return 0n;
      const parsed = parseStripeAmount(text, currency.value.exponent);
      if (parsed.ok) return parsed.value;
      problem(key, `${key} ${parsed.reason}`, text);
      ok = false;
      return 0n;
    };
    const gross = amount('gross');
    const fee = amount('fee');
    const net = amount('net');

    const preferred = get(this.keyColumn);
    const transactionId = preferred !== '' ? preferred : get('balanceTransactionId');
    if (transactionId === '') {
      problem(
        COLUMNS[this.keyColumn].names[0],
        'matching key and balance_transaction_id are empty',
        '',
      );
      ok = false;
    }

    const stampText = get(timestamp.key);
    const column = COLUMNS[timestamp.key].names[0];
    const local = parseIsoLocal(stampText);
    let createdAtMs = 0;
    if (!local) {
      problem(column, `${column} is not a YYYY-MM-DD HH:MM:SS timestamp`, stampText);
      ok = false;
    } else {
      const instant = localToInstant(
        local,
        timestamp.utc ? 'UTC' : this.settings.stripeReportTimeZone,
      );
      if (instant.ok) createdAtMs = instant.value;
      else {
        problem(column, `${column} ${instant.reason}`, stampText);
        ok = false;
      }
    }
    if (!ok || !currency.ok) return undefined;
    const category = get('reportingCategory');
    const description = get('description');
    return {
      transactionId,
      currency: currency.value.code,
      grossCurrency: currency.value.code,
      gross,
      fee,
      net,
      // The reporting category is the row's kind (`charge`, `refund`, …); see STATUS_MAPS.stripe.
      rawStatus: category !== '' ? category : 'available',
      merchantId: get('connectedAccountId'),
      createdAtMs,
      description: description !== '' ? description : null,
      paymentMethod: get('paymentMethodType') !== '' ? get('paymentMethodType') : null,
    };
  }

  end(): [] {
    return [];
  }
}

/**
 * Stripe balance report: `gross`/`fee`/`net` in major units (fee positive when charged, refunds
 * with a negative gross: the project's convention already), lowercase currencies, `*_utc`
 * timestamps (UTC) or un-suffixed ones in STRIPE_REPORT_TIMEZONE. Matching key:
 * STRIPE_REPORT_MATCH_KEY (`source_id` default, `charge_id`, `balance_transaction_id`), falling back
 * to `balance_transaction_id` on rows where it is empty (fees, payouts).
 */
export const STRIPE_BALANCE_REPORT: ProcessorFormat = {
  name: 'stripe-balance-report',
  processor: 'stripe',
  title: 'Stripe balance report (balance change from activity / payouts, itemized)',
  detectionColumns: [
    'balance_transaction_id',
    'currency',
    'gross',
    'fee',
    'net',
    'created_utc | created | effective_at_utc | effective_at',
  ],
  detect: (fields) => matchesColumnMap(COLUMNS, fields) && hasTimestampColumn(fields),
  createReader: (settings, location) => new StripeBalanceReportReader(settings, location),
};
