import { normalizeCurrency, currencyExponent, type CurrencyCode } from '../../domain/currency';
import { formatMinor } from '../../domain/money';
import {
  rejectAtLine,
  statementBalanceFinding,
  type BankEntry,
  type BankFinding,
  type BankStatement,
  type CreditDebit,
  type ParsedBankFile,
} from './bank-entry';
import { baiDate } from '../../domain/calendar-dates';

/**
 * BAI2 ("Cash Management Balance Reporting Specifications, Version 2", BAI 2005; now X9 BTRS)
 * reader. Records, one per physical line, fields separated by `,`, a record ended by `/`:
 *
 * - `01` file header (sender, receiver, creation date `YYMMDD`, time, file id, …);
 *   `02` group header (receiver, originator, status, as-of date, as-of time, currency, modifier);
 *   `03` account identifier (account number, currency, then groups of type code, amount, item
 *   count, funds type): type codes 010–099 are balances (010 opening ledger, 015 closing ledger,
 *   040 opening available, 045 closing available), 100–999 summaries (100 total credits, 400 total
 *   debits); `16` transaction detail (type code, amount, funds type [+ its fields], bank reference,
 *   customer reference, text); `49` account trailer (control total, record count); `98` group
 *   trailer (control total, account count, record count); `99` file trailer (control total, group
 *   count, record count).
 * - `88` continues the previous record: its fields follow that record's fields; once a `16`
 *   record's text has begun, an `88` continues the text (joined with one space).
 * - A `16` record's text runs to the end of the record and may contain `,` and `/`; a `/` ending
 *   the line, and spaces around the text (fixed-width padding), are not part of the text.
 * - Amounts are integers in MINOR units of the account's currency (no decimal point): `03` and the
 *   trailers may be signed (`+`/`-`), details are unsigned; detail type codes 100–399 are credits,
 *   400–699 debits (others, e.g. 890 "contains non-monetary information", are not entries: an
 *   `unknown_type_code` finding). The currency is the `03` record's, else the `02` group's, else USD
 *   (the specification's default).
 * - Funds types: `0`, `1`, `2`, `Z` (no extra fields), `V` (value date, time), `S` (three amounts),
 *   `D` (a count, then that many day/amount pairs). An entry's booking date is the group's as-of
 *   date; its value date is the `V` date when given, else the as-of date.
 * - Checked, the file being rejected when one fails: the record order, every `49` (sum of the
 *   account's `03` and `16` amounts, its record count incl. `03`, `88`, `49`), `98` (sum of its
 *   `49` totals, account count, record count incl. `02` and `98`) and `99` (sum of the `98` totals,
 *   group count, record count incl. `01` and `99`).
 * - Data-quality findings: `statement_balance` per account when both ledger balances (010 and 015)
 *   or else both available balances (040 and 045) are given; `summary_total` for 100 / 400 against
 *   the credit / debit details.
 *
 * Samples: github.com/moov-io/bai2 test data (the specification's section 3 example included).
 */

const RECORD_NAMES: Readonly<Record<string, string>> = {
  '01': 'file header',
  '02': 'group header',
  '03': 'account identifier',
  '16': 'transaction detail',
  '49': 'account trailer',
  '88': 'continuation',
  '98': 'group trailer',
  '99': 'file trailer',
};

/** A logical record: its type, the line it starts on, its parts (the record and its 88s). */
interface LogicalRecord {
  readonly code: string;
  readonly line: number;
  readonly parts: string[];
  readonly physicalCount: number;
}

/** Reads fields across a record and its continuations; `rest()` returns the text to the end. */
class FieldCursor {
  private part = 0;
  private at = 0;

  constructor(private readonly parts: readonly string[]) {}

  /** The next field, or `undefined` when the record (with its continuations) has no more. */
  next(): string | undefined {
    while (this.part < this.parts.length && this.at >= (this.parts[this.part] ?? '').length) {
      // An empty part (a record ending right after a `,`) still ends a field list only at its end.
      this.part++;
      this.at = 0;
    }
    const text = this.parts[this.part];
    if (text === undefined) return undefined;
    let end = this.at;
    while (end < text.length && text[end] !== ',' && text[end] !== '/') end++;
    const field = text.slice(this.at, end);
    if (end >= text.length || text[end] === '/') {
      this.part++;
      this.at = 0;
    } else this.at = end + 1;
    return field;
  }

  /** Everything left (a 16 record's text), continuation parts joined with one space. */
  rest(): string {
    const pieces: string[] = [];
    for (let part = this.part; part < this.parts.length; part++) {
      const text = (this.parts[part] ?? '').slice(part === this.part ? this.at : 0);
      pieces.push(stripTerminator(text));
    }
    this.part = this.parts.length;
    return pieces
      .map((piece) => piece.trim())
      .filter((piece) => piece !== '')
      .join(' ');
  }
}

/** A text piece without the `/` that ends its record and the padding around it. */
function stripTerminator(text: string): string {
  const trimmed = text.trimEnd();
  return (trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed).trimEnd();
}

/** Splits `content` into logical records (88s folded into the record they continue). */
function logicalRecords(content: string, location: string): LogicalRecord[] {
  const records: { code: string; line: number; parts: string[]; physicalCount: number }[] = [];
  const lines = content.split(/\r\n|\n|\r/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const code = raw.slice(0, 2);
    if (raw[2] !== ',' && raw.slice(2).trim() !== '/' && raw.length > 2)
      throw rejectAtLine(location, line, `'${raw.slice(0, 20)}' is not a BAI2 record (NN,…)`);
    if (!Object.hasOwn(RECORD_NAMES, code))
      throw rejectAtLine(location, line, `unknown BAI2 record type '${code}'`);
    const body = raw.slice(3);
    if (code === '88') {
      const previous = records[records.length - 1];
      if (!previous)
        throw rejectAtLine(location, line, 'continuation record 88 without a record to continue');
      previous.parts.push(body);
      previous.physicalCount++;
      return;
    }
    records.push({ code, line, parts: [body], physicalCount: 1 });
  });
  return records;
}

/** A signed or unsigned integer amount field (minor units). `undefined` for an empty field. */
function amountField(
  text: string | undefined,
  location: string,
  line: number,
  what: string,
  signed: boolean,
): bigint | undefined {
  if (text === undefined || text === '') return undefined;
  const valid = signed ? /^[+-]?\d{1,18}$/ : /^\d{1,18}$/;
  if (!valid.test(text))
    throw rejectAtLine(
      location,
      line,
      `${what} '${text}' is not ${signed ? 'a whole number' : 'an unsigned whole number'} of minor units`,
    );
  return BigInt(text);
}

function countField(
  text: string | undefined,
  location: string,
  line: number,
  what: string,
): number {
  if (text === undefined || !/^\d{1,9}$/.test(text))
    throw rejectAtLine(location, line, `${what} '${text ?? ''}' is not a count`);
  return Number(text);
}

function dateField(text: string | undefined, location: string, line: number, what: string): string {
  const date = baiDate(text ?? '');
  if (date === undefined)
    throw rejectAtLine(location, line, `${what} '${text ?? ''}' is not a date (YYMMDD)`);
  return date;
}

/** Skips the fields of funds type `type` (after the funds type field); returns a `V` date. */
function readFundsType(
  type: string,
  cursor: FieldCursor,
  location: string,
  line: number,
): string | undefined {
  switch (type) {
    case '':
    case '0':
    case '1':
    case '2':
    case 'Z':
      return undefined;
    case 'V': {
      const date = dateField(cursor.next(), location, line, 'value date');
      cursor.next(); // value time
      return date;
    }
    case 'S':
      for (let i = 0; i < 3; i++) amountField(cursor.next(), location, line, 'availability', true);
      return undefined;
    case 'D': {
      const count = countField(cursor.next(), location, line, 'distribution count');
      for (let i = 0; i < count; i++) {
        cursor.next();
        amountField(cursor.next(), location, line, 'distributed amount', true);
      }
      return undefined;
    }
    default:
      throw rejectAtLine(location, line, `funds type '${type}' is not one of 0, 1, 2, V, S, D, Z`);
  }
}

function directionOfType(code: number): CreditDebit | undefined {
  if (code >= 100 && code <= 399) return 'credit';
  if (code >= 400 && code <= 699) return 'debit';
  return undefined;
}

interface AccountState {
  readonly line: number;
  readonly ordinal: number;
  readonly account: string;
  readonly currency: CurrencyCode;
  readonly balances: Map<string, bigint>;
  readonly summaries: Map<string, { amount: bigint; count: number | undefined }>;
  readonly entries: BankEntry[];
  total: bigint;
  records: number;
  creditSum: bigint;
  creditCount: number;
  debitSum: bigint;
  debitCount: number;
}

interface GroupState {
  readonly asOfDate: string;
  readonly currency: CurrencyCode;
  total: bigint;
  accounts: number;
  records: number;
}

/** Whether `content` looks like a BAI2 file: its first non-blank text is a `01,` file header. */
export function looksLikeBai2(content: string): boolean {
  return content.trimStart().startsWith('01,');
}

/**
 * Parses the BAI2 file `content` read from `location` (a path or URL, used in messages). Returns
 * one statement per account record (`03` … `49`), its entries, and the findings described above.
 * Throws `BankStatementRejectedError` naming the line of the first record out of place, the first
 * field that cannot be read, or the first control total or record count that does not add up.
 */
export function parseBai2(content: string, location: string): ParsedBankFile {
  const records = logicalRecords(content, location);
  const statements: BankStatement[] = [];
  const entries: BankEntry[] = [];
  const findings: BankFinding[] = [];
  let fileHeader = false;
  let fileEnded = false;
  let fileTotal = 0n;
  let fileGroups = 0;
  let fileRecords = 0;
  let group: GroupState | undefined;
  let account: AccountState | undefined;
  let accountOrdinal = 0;

  const expect = (ok: boolean, line: number, problem: string): void => {
    if (!ok) throw rejectAtLine(location, line, problem);
  };

  for (const record of records) {
    const { code, line } = record;
    const cursor = new FieldCursor(record.parts);
    expect(!fileEnded, line, `record ${code} after the 99 file trailer`);
    fileRecords += record.physicalCount;
    if (group) group.records += record.physicalCount;
    if (account) account.records += record.physicalCount;
    switch (code) {
      case '01': {
        expect(!fileHeader, line, 'a second 01 file header');
        fileHeader = true;
        break;
      }
      case '02': {
        expect(fileHeader, line, 'group header 02 before the 01 file header');
        expect(!group, line, 'group header 02 inside a group (98 group trailer missing)');
        cursor.next(); // ultimate receiver
        cursor.next(); // originator
        cursor.next(); // group status
        const asOfDate = dateField(cursor.next(), location, line, 'as-of date');
        cursor.next(); // as-of time
        const currencyText = cursor.next() ?? '';
        const currency = currencyText === '' ? 'USD' : normalizeCurrency(currencyText);
        expect(currency !== undefined, line, `currency '${currencyText}' is not an ISO 4217 code`);
        group = {
          asOfDate,
          currency: currency ?? 'USD',
          total: 0n,
          accounts: 0,
          records: record.physicalCount,
        };
        fileGroups++;
        break;
      }
      case '03': {
        expect(group !== undefined, line, 'account record 03 outside a group (02 missing)');
        expect(!account, line, 'account record 03 inside an account (49 account trailer missing)');
        const currentGroup = group as GroupState;
        const accountNumber = cursor.next() ?? '';
        expect(accountNumber !== '', line, 'the account number is empty');
        const currencyText = cursor.next() ?? '';
        const currency =
          currencyText === '' ? currentGroup.currency : normalizeCurrency(currencyText);
        expect(currency !== undefined, line, `currency '${currencyText}' is not an ISO 4217 code`);
        accountOrdinal++;
        const state: AccountState = {
          line,
          ordinal: accountOrdinal,
          account: accountNumber,
          currency: currency ?? currentGroup.currency,
          balances: new Map(),
          summaries: new Map(),
          entries: [],
          total: 0n,
          records: record.physicalCount,
          creditSum: 0n,
          creditCount: 0,
          debitSum: 0n,
          debitCount: 0,
        };
        for (let type = cursor.next(); type !== undefined; type = cursor.next()) {
          if (type === '') break;
          expect(/^\d{3}$/.test(type), line, `type code '${type}' is not three digits`);
          const amount = amountField(cursor.next(), location, line, `amount of ${type}`, true);
          const countText = cursor.next() ?? '';
          const count =
            countText === '' ? undefined : countField(countText, location, line, 'item count');
          readFundsType(cursor.next() ?? '', cursor, location, line);
          if (amount === undefined) continue;
          state.total += amount;
          if (Number(type) < 100) state.balances.set(type, amount);
          else state.summaries.set(type, { amount, count });
        }
        account = state;
        currentGroup.accounts++;
        break;
      }
      case '16': {
        expect(account !== undefined, line, 'detail record 16 outside an account (03 missing)');
        const state = account as AccountState;
        const typeText = cursor.next() ?? '';
        expect(/^\d{3}$/.test(typeText), line, `type code '${typeText}' is not three digits`);
        const amount = amountField(cursor.next(), location, line, 'amount', false);
        expect(amount !== undefined, line, 'the amount is empty');
        const valueDate = readFundsType(cursor.next() ?? '', cursor, location, line);
        const bankReference = cursor.next() ?? '';
        const customerReference = cursor.next() ?? '';
        const text = cursor.rest();
        const minor = amount ?? 0n;
        state.total += minor;
        const direction = directionOfType(Number(typeText));
        if (!direction) {
          findings.push({
            location,
            check: 'unknown_type_code',
            severity: 'warning',
            line,
            field: 'type code',
            reason: `detail type code ${typeText} is neither a credit (100–399) nor a debit (400–699): not read as an entry`,
            value: typeText,
            count: null,
          });
          break;
        }
        if (direction === 'credit') {
          state.creditSum += minor;
          state.creditCount++;
        } else {
          state.debitSum += minor;
          state.debitCount++;
        }
        const asOfDate = (group as GroupState).asOfDate;
        state.entries.push({
          statementId: `${state.account}:${asOfDate}:${state.ordinal}`,
          account: state.account,
          amount: minor,
          signedAmount: direction === 'credit' ? minor : -minor,
          currency: state.currency,
          direction,
          bookingDate: asOfDate,
          valueDate: valueDate ?? asOfDate,
          bankReference: bankReference === '' ? null : bankReference,
          customerReference: customerReference === '' ? null : customerReference,
          remittanceText: text === '' ? null : text,
          reversal: false,
          typeCode: typeText,
          booked: true,
          line,
          xmlPath: null,
        });
        break;
      }
      case '49': {
        expect(account !== undefined, line, 'account trailer 49 without an account (03 missing)');
        const state = account as AccountState;
        const total = amountField(cursor.next(), location, line, 'account control total', true);
        const count = countField(cursor.next(), location, line, 'account record count');
        const exponent = currencyExponent(state.currency);
        expect(
          total === state.total,
          line,
          `account ${state.account} control total ${total ?? ''} != sum of its amounts ${state.total} (${formatMinor(state.total, exponent)} ${state.currency})`,
        );
        expect(
          count === state.records,
          line,
          `account ${state.account} record count ${count} != ${state.records} records (03 to 49, 88 included)`,
        );
        finishAccount(state, (group as GroupState).asOfDate);
        (group as GroupState).total += state.total;
        account = undefined;
        break;
      }
      case '98': {
        expect(group !== undefined, line, 'group trailer 98 without a group (02 missing)');
        expect(!account, line, 'group trailer 98 inside an account (49 account trailer missing)');
        const state = group as GroupState;
        const total = amountField(cursor.next(), location, line, 'group control total', true);
        const accounts = countField(cursor.next(), location, line, 'group account count');
        const count = countField(cursor.next(), location, line, 'group record count');
        expect(
          total === state.total,
          line,
          `group control total ${total ?? ''} != sum of its account totals ${state.total}`,
        );
        expect(
          accounts === state.accounts,
          line,
          `group account count ${accounts} != ${state.accounts} accounts`,
        );
        expect(
          count === state.records,
          line,
          `group record count ${count} != ${state.records} records (02 to 98, 88 included)`,
        );
        fileTotal += state.total;
        group = undefined;
        break;
      }
      case '99': {
        expect(fileHeader, line, 'file trailer 99 before the 01 file header');
        expect(!group, line, 'file trailer 99 inside a group (98 group trailer missing)');
        const total = amountField(cursor.next(), location, line, 'file control total', true);
        const groups = countField(cursor.next(), location, line, 'file group count');
        const count = countField(cursor.next(), location, line, 'file record count');
        expect(
          total === fileTotal,
          line,
          `file control total ${total ?? ''} != sum of its group totals ${fileTotal}`,
        );
        expect(groups === fileGroups, line, `file group count ${groups} != ${fileGroups} groups`);
        expect(
          count === fileRecords,
          line,
          `file record count ${count} != ${fileRecords} records (01 to 99, 88 included)`,
        );
        fileEnded = true;
        break;
      }
      default:
        throw rejectAtLine(location, line, `unexpected record ${code}`);
    }
  }
  const lastLine = records[records.length - 1]?.line ?? null;
  if (!fileHeader) throw rejectAtLine(location, null, 'the file is empty (no 01 file header)');
  if (!fileEnded)
    throw rejectAtLine(location, lastLine, 'the file ends without a 99 file trailer (truncated?)');

  function finishAccount(state: AccountState, asOfDate: string): void {
    const balances = state.balances;
    const pair = (open: string, close: string): [bigint, bigint] | undefined => {
      const opening = balances.get(open);
      const closing = balances.get(close);
      return opening !== undefined && closing !== undefined ? [opening, closing] : undefined;
    };
    const [opening, closing] = pair('010', '015') ?? pair('040', '045') ?? [null, null];
    const statement: BankStatement = {
      id: `${state.account}:${asOfDate}:${state.ordinal}`,
      account: state.account,
      currency: state.currency,
      opening,
      closing,
      entries: state.entries,
    };
    statements.push(statement);
    // One by one: a spread passes every entry as an argument, and a large statement overflows the stack.
    for (const entry of state.entries) entries.push(entry);
    const balance = statementBalanceFinding(location, statement, state.line, 'balance');
    if (balance) findings.push(balance);
    const exponent = currencyExponent(state.currency);
    for (const [type, sum, count, what] of [
      ['100', state.creditSum, state.creditCount, 'credits'],
      ['400', state.debitSum, state.debitCount, 'debits'],
    ] as const) {
      const summary = state.summaries.get(type);
      if (!summary) continue;
      const ok = summary.amount === sum && (summary.count === undefined || summary.count === count);
      const stated = `${formatMinor(summary.amount, exponent)}${summary.count === undefined ? '' : ` in ${summary.count} items`}`;
      const found = `${formatMinor(sum, exponent)} in ${count} items`;
      findings.push({
        location,
        check: 'summary_total',
        severity: ok ? 'info' : 'error',
        line: state.line,
        field: type,
        reason: `account ${state.account} (${state.currency}): total ${what} ${type} ${stated} ${ok ? '=' : '!='} detail ${what} ${found}`,
        value: formatMinor(summary.amount, exponent),
        count,
      });
    }
  }

  return { format: 'bai2', location, statements, entries, findings };
}
