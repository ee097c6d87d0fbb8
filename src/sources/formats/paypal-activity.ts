import { InputRejectedError } from '../../domain/errors';
import type { CsvRecord } from '../csv-records';
import {
  normalizeHeaderName,
  type DateOrder,
  type FormatReader,
  type FormatRow,
  type FormatSettings,
  type ProcessorFormat,
  type ReportProblem,
} from './processor-format';
import {
  localToInstant,
  parseCurrency,
  parseLocaleAmount,
  parseTimeOfDay,
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
 * PayPal Dashboard exports: the Activity download and the Statement CSV (no PayPal spec; headers of
 * real exports, see PROCESSOR-FORMATS.md §2.3). Columns by name; English and Spanish header names
 * (the Spanish statement: `Fecha, Hora, Zona horaria, …, Bruto, Comisión, Neto`). To support
 * another language add its names here and, when it writes decimal commas, its gross header to
 * `DECIMAL_COMMA_GROSS_HEADERS`.
 */
const COLUMNS = {
  date: { names: ['date', 'fecha'], required: true },
  time: { names: ['time', 'hora'], required: true },
  timeZone: { names: ['timezone', 'time zone', 'zona horaria'], required: true },
  currency: { names: ['currency', 'divisa'], required: true },
  gross: { names: ['gross', 'bruto'], required: true },
  fee: { names: ['fee', 'comisión'], required: true },
  net: { names: ['net', 'neto'], required: true },
  transactionId: { names: ['transaction id', 'id. de transacción'], required: true },
  status: { names: ['status', 'estado'], required: false },
  type: { names: ['type', 'tipo'], required: false },
  description: { names: ['description', 'descripción'], required: false },
  subject: { names: ['subject', 'asunto'], required: false },
  name: { names: ['name', 'nombre'], required: false },
  toEmail: { names: ['to email address'], required: false },
} as const satisfies ColumnMap<string>;

type Column = keyof typeof COLUMNS;

/** Gross column names of exports that write `4.626,81` (dot thousands, decimal comma). */
const DECIMAL_COMMA_GROSS_HEADERS = new Set(['bruto']);

/** Row types that are refunds (their status becomes `Refunded`, as the PayPal API adapter does). */
const REFUND_TYPE = /refund|reembolso/i;

const NUMERIC_DATE = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/;
const ISO_DATE = /^(\d{4})[-/](\d{2})[-/](\d{2})$/;

/** A date cell's parts: `first/second/year`, or an unambiguous ISO date. */
type DateParts =
  | { kind: 'numeric'; first: number; second: number; year: number }
  | { kind: 'iso'; year: number; month: number; day: number };

function splitDate(text: string): DateParts | undefined {
  const numeric = NUMERIC_DATE.exec(text);
  if (numeric) {
    return {
      kind: 'numeric',
      first: Number(numeric[1]),
      second: Number(numeric[2]),
      year: Number(numeric[3]),
    };
  }
  const iso = ISO_DATE.exec(text);
  if (iso) return { kind: 'iso', year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]) };
  return undefined;
}

/**
 * Decides the date order of a file from its dates: a first part above 12 proves day-first, a
 * second part above 12 month-first; dates whose parts are equal (`1/1/2020`) or ISO fit both.
 */
class DateOrderScan {
  private header: MappedHeader<Column> | undefined;
  private dayFirst: { line: number; text: string } | undefined;
  private monthFirst: { line: number; text: string } | undefined;
  private ambiguous: { line: number; text: string } | undefined;
  order: 'dmy' | 'mdy' | undefined;

  constructor(private readonly location: string) {}

  record({ fields, line }: CsvRecord): void {
    if (!this.header) {
      this.header = mapHeader(COLUMNS, fields, this.location, line, PAYPAL_ACTIVITY.title);
      return;
    }
    const text = cell(this.header, fields, 'date');
    const parts = splitDate(text);
    if (!parts || parts.kind !== 'numeric' || parts.first === parts.second) return;
    if (parts.first > 12) this.dayFirst ??= { line, text };
    else if (parts.second > 12) this.monthFirst ??= { line, text };
    else this.ambiguous ??= { line, text };
  }

  end(): void {
    const { dayFirst, monthFirst, ambiguous } = this;
    if (dayFirst && monthFirst) {
      throw new InputRejectedError(
        `processor input ${this.location}: dates are day-first at line ${dayFirst.line} ('${dayFirst.text}') ` +
          `but month-first at line ${monthFirst.line} ('${monthFirst.text}'); set RECON_PAYPAL_DATE_ORDER=dmy or mdy`,
        { location: this.location, line: monthFirst.line, field: 'Date' },
      );
    }
    if (dayFirst) this.order = 'dmy';
    else if (monthFirst) this.order = 'mdy';
    else if (ambiguous) {
      throw new InputRejectedError(
        `processor input ${this.location}: the date order is ambiguous (line ${ambiguous.line}: '${ambiguous.text}' ` +
          `is a valid day-first and month-first date, and no date in the file decides); ` +
          `set RECON_PAYPAL_DATE_ORDER=dmy (day first) or mdy (month first)`,
        { location: this.location, line: ambiguous.line, field: 'Date' },
      );
    } else this.order = 'mdy'; // every date reads the same either way
  }
}

function resolveDate(
  parts: DateParts,
  order: 'dmy' | 'mdy',
): { year: number; month: number; day: number } {
  if (parts.kind === 'iso') return parts;
  return order === 'dmy'
    ? { year: parts.year, month: parts.second, day: parts.first }
    : { year: parts.year, month: parts.first, day: parts.second };
}

class PaypalActivityReader implements FormatReader {
  private header: MappedHeader<Column> | undefined;
  private decimal: '.' | ',' = '.';
  private headerNames: string[] = [];
  private readonly scan: DateOrderScan | undefined;
  readonly prescan: FormatReader['prescan'];

  constructor(
    private readonly order: DateOrder,
    private readonly location: string,
  ) {
    if (order === 'auto') {
      const scan = new DateOrderScan(location);
      this.scan = scan;
      this.prescan = { record: (record) => scan.record(record), end: () => scan.end() };
    }
  }

  record({ fields, line }: CsvRecord, problem: ReportProblem): FormatRow | 'framing' | undefined {
    if (!this.header) {
      this.header = mapHeader(COLUMNS, fields, this.location, line, PAYPAL_ACTIVITY.title);
      this.headerNames = fields.map((field) => field.trim());
      const grossName = normalizeHeaderName(fields[this.header.index.gross] ?? '');
      this.decimal = DECIMAL_COMMA_GROSS_HEADERS.has(grossName) ? ',' : '.';
      return 'framing';
    }
    const header = this.header;
    if (fields.length !== header.width) {
      problem(null, `row has ${fields.length} fields, header has ${header.width}`, null);
      return undefined;
    }
    const get = (key: Column): string => cell(header, fields, key);
    // Issues name the column as the file does (`Bruto`, `Gross`).
    const name = (key: Column): string =>
      this.headerNames[header.index[key]] ?? COLUMNS[key].names[0];
    let ok = true;

    const currencyText = get('currency');
    const currency = parseCurrency(currencyText);
    if (!currency.ok) {
      problem(name('currency'), `currency ${currency.reason}`, currencyText);
      ok = false;
    }
    const amount = (key: 'gross' | 'fee' | 'net'): bigint => {
      const text = get(key);
      if (!currency.ok) return 0n;
      const parsed: Parsed<bigint> =
        key === 'fee' && text === ''
          ? { ok: true, value: 0n }
          : parseLocaleAmount(text, currency.value.exponent, this.decimal);
      if (parsed.ok) return parsed.value;
      problem(name(key), `${name(key)} ${parsed.reason}`, text);
      ok = false;
      return 0n;
    };
    const gross = amount('gross');
    // PayPal writes fees negative (Gross + Fee = Net); the project's fee is positive when charged.
    const fee = -amount('fee');
    const net = amount('net');

    const transactionId = get('transactionId');
    if (transactionId === '') {
      problem(name('transactionId'), 'Transaction ID is empty', '');
      ok = false;
    }

    let createdAtMs = 0;
    const dateText = get('date');
    const timeText = get('time');
    const zoneText = get('timeZone');
    const parts = splitDate(dateText);
    const time = parseTimeOfDay(timeText);
    const order = this.order === 'auto' ? (this.scan?.order ?? 'mdy') : this.order;
    if (!parts) {
      problem(name('date'), 'Date is not a D/M/YYYY, M/D/YYYY or YYYY-MM-DD date', dateText);
      ok = false;
    } else if (!time) {
      problem(name('time'), 'Time is not HH:MM:SS', timeText);
      ok = false;
    } else {
      const instant = localToInstant({ ...resolveDate(parts, order), ...time }, zoneText);
      if (instant.ok) createdAtMs = instant.value;
      else {
        const invalidDate = instant.reason.startsWith('is not a valid');
        problem(
          invalidDate ? name('date') : name('timeZone'),
          invalidDate
            ? `Date '${dateText} ${timeText}' ${instant.reason} in ${order} order`
            : `TimeZone ${instant.reason}`,
          invalidDate ? dateText : zoneText,
        );
        ok = false;
      }
    }
    if (!ok || !currency.ok) return undefined;

    const type = get('type');
    const description = get('description') || get('subject') || type || get('name');
    const status = get('status');
    const refund = REFUND_TYPE.test(type || get('description'));
    const rawStatus =
      refund && (status === '' || /^(completed|completado)$/i.test(status))
        ? 'Refunded'
        : status !== ''
          ? status
          : 'Completed';
    return {
      transactionId,
      currency: currency.value.code,
      grossCurrency: currency.value.code,
      gross,
      fee,
      net,
      rawStatus,
      merchantId: get('toEmail'),
      createdAtMs,
      description: description !== '' ? description : null,
    };
  }

  end(): [] {
    return [];
  }
}

/**
 * PayPal activity download / statement CSV: local `Date` + `Time` + `TimeZone` (abbreviations such
 * as PST/CET, or IANA names) converted to UTC; date order from RECON_PAYPAL_DATE_ORDER (`auto`
 * decides from the data and rejects the file when it cannot); `Gross`/`Fee`/`Net` in major units
 * with the header language's separators (`1,234.56` English, `4.626,81` Spanish); fee negated
 * (PayPal writes it negative).
 */
export const PAYPAL_ACTIVITY: ProcessorFormat = {
  name: 'paypal-activity',
  processor: 'paypal',
  title: 'PayPal activity download / statement CSV',
  detectionColumns: [
    'Date',
    'Time',
    'TimeZone',
    'Currency',
    'Gross',
    'Fee',
    'Net',
    'Transaction ID',
  ],
  detect: (fields) => matchesColumnMap(COLUMNS, fields),
  createReader: (settings: FormatSettings, location) =>
    new PaypalActivityReader(settings.paypalDateOrder, location),
};
