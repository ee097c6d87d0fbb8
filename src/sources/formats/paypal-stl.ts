import { InputRejectedError } from '../../domain/errors';
import { parseIsoInstant } from '../../domain/business-date';
import { formatMinor } from '../../domain/money';
import type { CsvRecord } from '../csv-records';
import type {
  DataQualityIssueDraft,
  FormatReader,
  FormatRow,
  ProcessorFormat,
  ReportProblem,
} from './processor-format';
import { parseCurrency, parseMajorAmount } from './parse-values';
import { cell, mapHeader, type ColumnMap, type MappedHeader } from './table-format';

/**
 * PayPal Settlement Report (STL), https://developer.paypal.com/docs/reports/sftp-reports/settlement-report/:
 * records typed by their first field — `RH` report header, `FH` file header, `SH` section header,
 * `CH` column header, `SB` one transaction, `SF` section footer (per-currency totals), `SC`
 * section record count, `RF` report footer (per-currency totals), `RC` report record count, `FF`
 * file footer. The `SB` columns are named by the `CH` record (v9 names; matched by name, with
 * whitespace collapsed, since parsers disagree on `Transaction  Debit or Credit`).
 */
const COLUMNS = {
  transactionId: { names: ['transaction id'], required: true },
  eventCode: { names: ['transaction event code'], required: true },
  initiationDate: { names: ['transaction initiation date'], required: true },
  grossSign: {
    names: ['transaction debit or credit', 'transaction debit or credit (cr/dr)'],
    required: true,
  },
  gross: { names: ['gross transaction amount'], required: true },
  grossCurrency: { names: ['gross transaction currency'], required: true },
  feeSign: { names: ['fee debit or credit'], required: true },
  fee: { names: ['fee amount'], required: true },
  feeCurrency: { names: ['fee currency'], required: true },
  invoiceId: { names: ['invoice id'], required: false },
  customField: { names: ['custom field'], required: false },
} as const satisfies ColumnMap<string>;

type Column = keyof typeof COLUMNS;

const FRAMING = new Set(['RH', 'FH', 'SH', 'CH', 'SB', 'SF', 'SC', 'RF', 'RC', 'FF']);

/**
 * "Money amount fields are unsigned, with no currency symbol, decimal separator, or other
 * punctuation … 100,00 yen and $100.00 USD are both represented as 10000": two implied decimals
 * whatever the currency (taken literally from PayPal's doc; unverified against a real JPY file).
 * An amount that does not fit the currency's exponent (a JPY amount with cents) is rejected.
 */
const IMPLIED_DECIMALS = 2;

const STL_TIMESTAMP = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{4})$/;

/** `2026/01/06 00:00:30 -0800` → epoch ms (UTC); `undefined` when malformed. */
function parseStlTimestamp(text: string): number | undefined {
  const m = STL_TIMESTAMP.exec(text);
  if (!m) return undefined;
  return parseIsoInstant(`${m[1]}-${m[2]}-${m[3]}T${m[4]}${m[5]}`);
}

/** Sums of the body per currency, in the footer's units (unsigned implied-decimal integers). */
interface BodyTotals {
  grossCredits: bigint;
  grossDebits: bigint;
  feeDebits: bigint;
  feeCredits: bigint;
}

const TOTAL_FIELDS: readonly (keyof BodyTotals)[] = [
  'grossCredits',
  'grossDebits',
  'feeDebits',
  'feeCredits',
];

function emptyTotals(): BodyTotals {
  return { grossCredits: 0n, grossDebits: 0n, feeDebits: 0n, feeCredits: 0n };
}

class PaypalStlReader implements FormatReader {
  private header: MappedHeader<Column> | undefined;
  private account = '';
  private sectionRows = 0;
  private reportRows = 0;
  private sectionTotals = new Map<string, BodyTotals>();
  private readonly reportTotals = new Map<string, BodyTotals>();
  private readonly findings: DataQualityIssueDraft[] = [];
  private sawReportCount = false;

  constructor(private readonly location: string) {}

  record({ fields, line }: CsvRecord, problem: ReportProblem): FormatRow | 'framing' | undefined {
    const type = (fields[0] ?? '').trim().toUpperCase();
    switch (type) {
      case 'RH':
      case 'FH':
      case 'FF':
        return 'framing';
      case 'SH':
        // Section header: start, end, then the account id (4th or 5th field depending on version).
        this.account = [fields[4], fields[3]].map((f) => (f ?? '').trim()).find(Boolean) ?? '';
        this.sectionRows = 0;
        this.sectionTotals = new Map();
        return 'framing';
      case 'CH':
        this.header = mapHeader(COLUMNS, fields.slice(1), this.location, line, PAYPAL_STL.title);
        return 'framing';
      case 'SB':
        return this.body(fields, line, problem);
      case 'SF':
        this.checkTotals(fields, line, this.sectionTotals, 'section footer (SF)');
        return 'framing';
      case 'RF':
        this.checkTotals(fields, line, this.reportTotals, 'report footer (RF)');
        return 'framing';
      case 'SC':
        this.checkCount(fields, line, this.sectionRows, 'section record count (SC)');
        return 'framing';
      case 'RC':
        this.sawReportCount = true;
        this.checkCount(fields, line, this.reportRows, 'report record count (RC)');
        return 'framing';
      default:
        problem(
          null,
          `unknown record type '${type}' (expected one of ${[...FRAMING].join(', ')})`,
          fields[0] ?? '',
        );
        return undefined;
    }
  }

  private body(fields: string[], line: number, problem: ReportProblem): FormatRow | undefined {
    if (!this.header) {
      throw new InputRejectedError(
        `processor input ${this.location} line ${line}: SB record before the CH column header`,
        { location: this.location, line },
      );
    }
    this.sectionRows++;
    this.reportRows++;
    const header = this.header;
    const values = fields.slice(1);
    if (values.length !== header.width) {
      problem(null, `SB record has ${values.length} fields, CH has ${header.width}`, null);
      return undefined;
    }
    const get = (key: Column): string => cell(header, values, key);
    let ok = true;
    const currencyText = get('grossCurrency');
    const currency = parseCurrency(currencyText);
    if (!currency.ok) {
      problem('Gross Transaction Currency', `currency ${currency.reason}`, currencyText);
      ok = false;
    }
    const feeCurrencyText = get('feeCurrency');
    if (feeCurrencyText !== '' && feeCurrencyText.toUpperCase() !== currencyText.toUpperCase()) {
      problem(
        'Fee Currency',
        `fee currency differs from the gross currency ${currencyText}`,
        feeCurrencyText,
      );
      ok = false;
    }
    const unsigned = (key: 'gross' | 'fee', column: string): bigint | undefined => {
      const text = get(key);
      if (key === 'fee' && text === '') return 0n;
      if (!/^\d+$/.test(text)) {
        problem(column, `${column} is not an unsigned whole number (minor units)`, text);
        ok = false;
        return undefined;
      }
      return BigInt(text);
    };
    const sign = (
      key: 'grossSign' | 'feeSign',
      column: string,
      amount: bigint | undefined,
    ): 1n | -1n => {
      const text = get(key).toUpperCase();
      if (text === 'CR') return 1n;
      if (text === 'DR') return -1n;
      if (amount === 0n && text === '') return 1n;
      problem(column, `${column} must be CR or DR`, get(key));
      ok = false;
      return 1n;
    };
    const grossRaw = unsigned('gross', 'Gross Transaction Amount');
    const feeRaw = unsigned('fee', 'Fee Amount');
    const grossSign = sign('grossSign', 'Transaction Debit or Credit', grossRaw);
    const feeSign = sign('feeSign', 'Fee Debit or Credit', feeRaw);
    const toMinor = (raw: bigint | undefined, column: string): bigint => {
      if (raw === undefined || !currency.ok) return 0n;
      const digits = raw.toString().padStart(IMPLIED_DECIMALS + 1, '0');
      const decimal = `${digits.slice(0, -IMPLIED_DECIMALS)}.${digits.slice(-IMPLIED_DECIMALS)}`;
      const parsed = parseMajorAmount(decimal, currency.value.exponent);
      if (parsed.ok) return parsed.value;
      problem(
        column,
        `${column} ${raw} (${decimal} ${currency.value.code}) ${parsed.reason}`,
        raw.toString(),
      );
      ok = false;
      return 0n;
    };
    // CR: money to the merchant (+), DR: money from the merchant (-). A DR fee is charged (fee
    // positive); a CR fee is returned, e.g. on a refund (fee negative).
    const gross = grossSign * toMinor(grossRaw, 'Gross Transaction Amount');
    const fee = -feeSign * toMinor(feeRaw, 'Fee Amount');

    if (currency.ok && grossRaw !== undefined && feeRaw !== undefined) {
      const totals = (map: Map<string, BodyTotals>): BodyTotals => {
        let entry = map.get(currency.value.code);
        if (!entry) map.set(currency.value.code, (entry = emptyTotals()));
        return entry;
      };
      for (const entry of [totals(this.sectionTotals), totals(this.reportTotals)]) {
        if (grossSign === 1n) entry.grossCredits += grossRaw;
        else entry.grossDebits += grossRaw;
        if (feeSign === -1n) entry.feeDebits += feeRaw;
        else entry.feeCredits += feeRaw;
      }
    }

    const transactionId = get('transactionId');
    if (transactionId === '') {
      problem('Transaction ID', 'Transaction ID is empty', '');
      ok = false;
    }
    const stampText = get('initiationDate');
    const createdAtMs = parseStlTimestamp(stampText);
    if (createdAtMs === undefined) {
      problem(
        'Transaction Initiation Date',
        'Transaction Initiation Date is not YYYY/MM/DD HH:MM:SS ±HHMM',
        stampText,
      );
      ok = false;
    }
    const eventCode = get('eventCode');
    if (!ok || !currency.ok || createdAtMs === undefined) return undefined;
    return {
      transactionId,
      currency: currency.value.code,
      grossCurrency: currency.value.code,
      gross,
      fee,
      net: gross - fee,
      // T11xx event codes are reversals and refunds (T1107 "payment refund"); the rest settled.
      rawStatus: /^T11\d\d$/i.test(eventCode) ? 'Refunded' : 'Completed',
      merchantId: this.account,
      createdAtMs,
      description: eventCode !== '' ? `event ${eventCode}` : null,
    };
  }

  /** `SC`/`RC`: the number of `SB` records they count must equal the body's. */
  private checkCount(fields: string[], line: number, actual: number, what: string): void {
    const text = (fields[1] ?? '').trim();
    const stated = /^\d+$/.test(text) ? Number(text) : undefined;
    if (stated === actual) {
      this.findings.push({
        check: 'footer_count',
        severity: 'info',
        line,
        field: null,
        reason: `${what} ${stated} matches the ${actual} SB record(s)`,
        value: text,
        count: actual,
      });
      return;
    }
    this.findings.push({
      check: 'footer_count',
      severity: 'error',
      line,
      field: null,
      reason:
        stated === undefined
          ? `${what} is not a number`
          : `${what} says ${stated} SB record(s), the body has ${actual}`,
      value: text,
      count: actual,
    });
  }

  /**
   * `SF`/`RF`: `currency, gross credits, gross debits, fee debits, fee credits, …` compared with
   * the body. The field meanings are not confirmed by PayPal's public doc (PROCESSOR-FORMATS.md
   * §6), so a difference is a warning, not an error.
   */
  private checkTotals(
    fields: string[],
    line: number,
    body: Map<string, BodyTotals>,
    what: string,
  ): void {
    const currency = (fields[1] ?? '').trim().toUpperCase();
    const totals = body.get(currency) ?? emptyTotals();
    const differences: string[] = [];
    TOTAL_FIELDS.forEach((key, at) => {
      const text = (fields[2 + at] ?? '').trim();
      if (!/^\d+$/.test(text)) return;
      if (BigInt(text) !== totals[key])
        differences.push(`${key} ${text} vs body ${formatMinor(totals[key], 0)}`);
    });
    if (differences.length > 0) {
      this.findings.push({
        check: 'footer_total',
        severity: 'warning',
        line,
        field: currency,
        reason: `${what} ${currency} totals differ from the SB records: ${differences.join('; ')} (minor units)`,
        value: fields.slice(1, 6).join(','),
        count: null,
      });
    }
  }

  end(): DataQualityIssueDraft[] {
    if (!this.header) {
      throw new InputRejectedError(
        `processor input ${this.location}: PayPal settlement report without a CH column header`,
        { location: this.location },
      );
    }
    if (!this.sawReportCount) {
      this.findings.push({
        check: 'footer_count',
        severity: 'warning',
        line: null,
        field: null,
        reason: `no RC report record count in the file; ${this.reportRows} SB record(s) read unchecked`,
        value: null,
        count: this.reportRows,
      });
    }
    return this.findings;
  }
}

/**
 * PayPal settlement report (STL): unsigned minor-unit amounts with `CR`/`DR` columns, timestamps
 * with offsets (`2026/01/06 00:00:30 -0800`), one section per account with per-currency footers;
 * SC/RC record counts checked against the SB records (`footer_count` error on mismatch), SF/RF
 * totals compared (`footer_total` warning).
 */
export const PAYPAL_STL: ProcessorFormat = {
  name: 'paypal-stl',
  processor: 'paypal',
  title: 'PayPal settlement report (STL)',
  detectionColumns: ['first field RH, FH, SH or CH (record type)'],
  detect: (fields) => ['RH', 'FH', 'SH', 'CH'].includes((fields[0] ?? '').trim().toUpperCase()),
  createReader: (_settings, location) => new PaypalStlReader(location),
};
