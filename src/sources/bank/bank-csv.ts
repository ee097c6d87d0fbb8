import { parse } from 'csv-parse/sync';
import { normalizeCurrency, currencyExponent, type CurrencyCode } from '../../domain/currency';
import { parseLocaleAmount } from '../formats/parse-values';
import {
  rejectAtLine,
  type BankEntry,
  type BankStatement,
  type CreditDebit,
  type ParsedBankFile,
} from './bank-entry';
import { isCalendarDate } from '../../domain/calendar-dates';

/** Date layouts a bank CSV export may use (`YYYY-MM-DD` is the default). */
export const BANK_CSV_DATE_FORMATS = [
  'YYYY-MM-DD',
  'DD.MM.YYYY',
  'DD/MM/YYYY',
  'MM/DD/YYYY',
] as const;
export type BankCsvDateFormat = (typeof BANK_CSV_DATE_FORMATS)[number];

/**
 * How to read one bank's CSV export: header names of its columns (matched trimmed and case-
 * insensitively). The rules file's top-level `bank_csv:` section provides it
 * (`config/rules-file.ts`, snake_case keys: `booking_date`, `default_currency`, …).
 *
 * - The amount is either `amount` (signed: negative = debit; or unsigned with a `direction`
 *   column), or `credit` and `debit` (two unsigned columns, one of them filled per row). Amounts
 *   are decimals in MAJOR units with `decimalSeparator` (`.` default; `,` for `1.234,56`), thousands
 *   groups allowed, converted exactly with the currency's ISO 4217 exponent.
 * - `direction`: a column whose value is `C`/`CR`/`CRDT`/`credit` or `D`/`DR`/`DBIT`/`debit`.
 * - `currency`: a column with the ISO 4217 code; else `defaultCurrency` (required then).
 * - `bookingDate` is required; `valueDate` defaults to the booking date. `dateFormat` gives their
 *   layout.
 * - `remittanceText`: one column or several (joined with one space).
 * - `delimiter`: the field separator (`,` default; `;` is common in European exports).
 */
export interface BankCsvColumnMap {
  readonly bookingDate: string;
  readonly valueDate?: string;
  readonly amount?: string;
  readonly credit?: string;
  readonly debit?: string;
  readonly direction?: string;
  readonly currency?: string;
  readonly defaultCurrency?: string;
  readonly bankReference?: string;
  readonly customerReference?: string;
  readonly remittanceText?: string | readonly string[];
  readonly account?: string;
  readonly dateFormat?: BankCsvDateFormat;
  readonly decimalSeparator?: '.' | ',';
  readonly delimiter?: string;
}

const CREDIT_WORDS = new Set(['c', 'cr', 'crdt', 'credit']);
const DEBIT_WORDS = new Set(['d', 'dr', 'dbit', 'debit']);

function columnNames(map: BankCsvColumnMap): string[] {
  const names = [
    map.bookingDate,
    map.valueDate,
    map.amount,
    map.credit,
    map.debit,
    map.direction,
    map.currency,
    map.bankReference,
    map.customerReference,
    map.account,
    ...(typeof map.remittanceText === 'string' ? [map.remittanceText] : (map.remittanceText ?? [])),
  ];
  return names.filter((name): name is string => name !== undefined);
}

/** The map's own mistakes (no amount column, a credit without a debit column, no currency). */
export function columnMapProblems(map: BankCsvColumnMap): string[] {
  const problems: string[] = [];
  if (map.amount === undefined && (map.credit === undefined || map.debit === undefined))
    problems.push('the column map needs an amount column, or both a credit and a debit column');
  if (map.amount !== undefined && (map.credit !== undefined || map.debit !== undefined))
    problems.push('the column map has an amount column and credit/debit columns: choose one');
  if (map.currency === undefined && map.defaultCurrency === undefined)
    problems.push('the column map needs a currency column or a default currency');
  if (map.defaultCurrency !== undefined && normalizeCurrency(map.defaultCurrency) === undefined)
    problems.push(`default currency '${map.defaultCurrency}' is not an ISO 4217 code`);
  return problems;
}

const normalizeName = (name: string): string => name.trim().toLowerCase();

/** Whether the header line of `content` has every column named by `map`. */
export function looksLikeBankCsv(content: string, map: BankCsvColumnMap): boolean {
  const firstLine = content.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/, 1)[0] ?? '';
  let header: string[];
  try {
    const rows: string[][] = parse(firstLine, { delimiter: map.delimiter ?? ',' });
    header = rows[0] ?? [];
  } catch {
    return false;
  }
  const present = new Set(header.map(normalizeName));
  return columnNames(map).every((name) => present.has(normalizeName(name)));
}

/** A date in `format` as `YYYY-MM-DD`, or `undefined` when it is not a real date in that layout. */
function toIsoDate(text: string, format: BankCsvDateFormat): string | undefined {
  let iso: string;
  if (format === 'YYYY-MM-DD') iso = text;
  else {
    const parts = text.split(format === 'DD.MM.YYYY' ? '.' : '/');
    if (parts.length !== 3 || parts.some((part) => !/^\d+$/.test(part))) return undefined;
    const [a, b, year] = parts as [string, string, string];
    const [day, month] = format === 'MM/DD/YYYY' ? [b, a] : [a, b];
    if (year.length !== 4 || day.length > 2 || month.length > 2) return undefined;
    iso = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  }
  return isCalendarDate(iso) ? iso : undefined;
}

/**
 * Parses a bank CSV export `content` read from `location`, with its column `map`. Returns one
 * statement per account (the `account` column's value, or the file as one statement), without
 * balances (a CSV export has none: no `statement_balance` check). Throws
 * `BankStatementRejectedError` for a map that does not fit (a missing column, named with the
 * header line) or the first row that cannot be read (line and column named).
 */
export function parseBankCsv(
  content: string,
  location: string,
  map: BankCsvColumnMap,
): ParsedBankFile {
  const mapProblems = columnMapProblems(map);
  if (mapProblems.length > 0) throw rejectAtLine(location, null, mapProblems.join('; '));
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, {
      bom: true,
      delimiter: map.delimiter ?? ',',
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? null;
    throw rejectAtLine(location, line, `not a readable CSV file: ${(error as Error).message}`);
  }
  const headerRow = rows[0];
  if (!headerRow) throw rejectAtLine(location, null, 'the file is empty: expected a header row');
  const index = new Map<string, number>();
  headerRow.record.forEach((name, at) => {
    if (!index.has(normalizeName(name))) index.set(normalizeName(name), at);
  });
  for (const name of columnNames(map)) {
    if (!index.has(normalizeName(name)))
      throw rejectAtLine(location, headerRow.info.lines, `column '${name}' is missing`);
  }
  const dateFormat = map.dateFormat ?? 'YYYY-MM-DD';
  const decimal = map.decimalSeparator ?? '.';
  const texts =
    typeof map.remittanceText === 'string' ? [map.remittanceText] : (map.remittanceText ?? []);
  const byAccount = new Map<string, BankEntry[]>();
  const currencies = new Map<string, CurrencyCode>();
  const entries: BankEntry[] = [];
  for (const { record, info } of rows.slice(1)) {
    const line = info.lines;
    const get = (name: string | undefined): string =>
      name === undefined ? '' : (record[index.get(normalizeName(name)) ?? -1] ?? '').trim();
    const fail = (column: string, problem: string): never => {
      throw rejectAtLine(location, line, `column '${column}': ${problem}`);
    };
    const currencyText =
      map.currency !== undefined ? get(map.currency) : (map.defaultCurrency ?? '');
    const currency = normalizeCurrency(currencyText);
    if (currency === undefined)
      return fail(map.currency ?? 'currency', `'${currencyText}' is not an ISO 4217 currency code`);
    const exponent = currencyExponent(currency);
    const amountOf = (column: string): bigint | undefined => {
      const text = get(column);
      if (text === '') return undefined;
      const parsed = parseLocaleAmount(text, exponent, decimal);
      if (!parsed.ok) return fail(column, `amount '${text}' ${parsed.reason}`);
      return parsed.value;
    };
    let signed: bigint;
    if (map.amount !== undefined) {
      const value = amountOf(map.amount);
      if (value === undefined) return fail(map.amount, 'the amount is empty');
      signed = value;
      if (map.direction !== undefined) {
        const word = get(map.direction).toLowerCase();
        if (value < 0n) return fail(map.amount, 'a negative amount with a direction column');
        if (CREDIT_WORDS.has(word)) signed = value;
        else if (DEBIT_WORDS.has(word)) signed = -value;
        else return fail(map.direction, `'${get(map.direction)}' is neither a credit nor a debit`);
      }
    } else {
      const creditColumn = map.credit ?? '';
      const debitColumn = map.debit ?? '';
      const credit = amountOf(creditColumn);
      const debit = amountOf(debitColumn);
      if ((credit === undefined) === (debit === undefined))
        return fail(
          creditColumn,
          `exactly one of '${creditColumn}' and '${debitColumn}' must be filled`,
        );
      if ((credit ?? 0n) < 0n) return fail(creditColumn, 'the credit amount is negative');
      if ((debit ?? 0n) < 0n) return fail(debitColumn, 'the debit amount is negative');
      signed = credit !== undefined ? credit : -(debit ?? 0n);
    }
    const dateOf = (column: string): string => {
      const text = get(column);
      const iso = toIsoDate(text, dateFormat);
      return iso ?? fail(column, `'${text}' is not a date (${dateFormat})`);
    };
    const bookingDate = dateOf(map.bookingDate);
    const valueDate =
      map.valueDate !== undefined && get(map.valueDate) !== ''
        ? dateOf(map.valueDate)
        : bookingDate;
    const account = map.account !== undefined ? get(map.account) : '';
    const known = currencies.get(account);
    if (known !== undefined && known !== currency)
      return fail(
        map.currency ?? 'currency',
        `account '${account}' has entries in ${known} and ${currency}`,
      );
    currencies.set(account, currency);
    const direction: CreditDebit = signed < 0n ? 'debit' : 'credit';
    const remittance = texts.map(get).filter((text) => text !== '');
    const optional = (column: string | undefined): string | null =>
      column === undefined || get(column) === '' ? null : get(column);
    const entry: BankEntry = {
      statementId: account === '' ? location : `${location}#${account}`,
      account,
      amount: signed < 0n ? -signed : signed,
      signedAmount: signed,
      currency,
      direction,
      bookingDate,
      valueDate,
      bankReference: optional(map.bankReference),
      customerReference: optional(map.customerReference),
      remittanceText: remittance.length === 0 ? null : remittance.join(' '),
      reversal: false,
      typeCode: null,
      booked: true,
      line,
      xmlPath: null,
    };
    entries.push(entry);
    const list = byAccount.get(account);
    if (list) list.push(entry);
    else byAccount.set(account, [entry]);
  }
  const statements: BankStatement[] = [...byAccount].map(([account, list]) => ({
    id: account === '' ? location : `${location}#${account}`,
    account,
    currency: currencies.get(account) ?? (list[0]?.currency as CurrencyCode),
    opening: null,
    closing: null,
    entries: list,
  }));
  return { format: 'csv', location, statements, entries, findings: [] };
}
