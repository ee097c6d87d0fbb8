import { normalizeCurrency, currencyExponent } from '../domain/currency';
import { clipValue, type DataQualityIssue } from '../domain/data-quality';
import { InputRejectedError } from '../domain/errors';
import { parseDecimalToMinor, type AmountRejection } from '../domain/money';
import { parseIsoInstant } from '../domain/business-date';
import { mapStatus } from '../domain/status';
import type { Transaction, TransactionSide } from '../domain/transaction';
import { readCsvRecords } from './csv-records';
import { addSideChecks } from './side-checks';
import type { ReadContext, SourceReadResult, TransactionSource } from './transaction-source';

/** Columns every canonical CSV must have (by name, any order, case-insensitive). */
export const CANONICAL_REQUIRED_COLUMNS = [
  'transaction_id',
  'amount',
  'currency',
  'status',
  'merchant_id',
  'created_at',
] as const;

/** Optional canonical columns. Other columns are ignored. */
export const CANONICAL_OPTIONAL_COLUMNS = ['fee', 'description'] as const;

type Column =
  (typeof CANONICAL_REQUIRED_COLUMNS)[number] | (typeof CANONICAL_OPTIONAL_COLUMNS)[number];

const AMOUNT_REASONS: Record<AmountRejection, string> = {
  empty: 'is empty',
  not_a_decimal: 'is not a plain decimal number (digits, optional minus and dot)',
  too_many_decimals: 'has more decimals than the currency allows',
};

/**
 * Reads one side from a file in the project's canonical CSV format:
 * `transaction_id, amount, currency, status, merchant_id, created_at` (+ optional `fee`,
 * `description`), RFC 4180, UTF-8 with optional BOM. `amount`/`fee` are decimal strings in MAJOR
 * units parsed exactly to minor units with the currency's ISO 4217 exponent; `created_at` is ISO
 * 8601 with an offset or `Z`. The format is documented in the README ("Canonical CSV format").
 */
export class CanonicalCsvSource implements TransactionSource {
  constructor(
    readonly side: TransactionSide,
    readonly location: string,
  ) {}

  /** @throws InputRejectedError for a missing file, a bad header or a malformed CSV. */
  async read(context: ReadContext): Promise<SourceReadResult> {
    const what = this.side === 'processor' ? 'processor input' : 'internal ledger input';
    const transactions: Transaction[] = [];
    const issues: DataQualityIssue[] = [];
    let columns: Map<Column, number> | undefined;
    let width = 0;
    let rowCount = 0;
    let invalidCount = 0;

    for await (const { fields, line } of readCsvRecords(this.location, what)) {
      if (!columns) {
        columns = mapHeader(fields, this.location, what);
        width = fields.length;
        continue;
      }
      rowCount++;
      const rowIssues: DataQualityIssue[] = [];
      const issue = (field: string | null, reason: string, value: string | null): void => {
        rowIssues.push({
          side: this.side,
          location: this.location,
          check: 'invalid_row',
          severity: 'error',
          line,
          field,
          reason,
          value: value === null ? null : clipValue(value),
          count: null,
        });
      };
      if (fields.length !== width) {
        issue(null, `row has ${fields.length} fields, header has ${width}`, null);
      } else {
        const transaction = parseRow(fields, columns, line, context, issue);
        if (transaction) {
          transactions.push(transaction);
          if (transaction.status === 'unknown') {
            issues.push({
              side: this.side,
              location: this.location,
              check: 'unknown_status',
              severity: 'warning',
              line,
              field: 'status',
              reason: 'status is not in the status map; compared by its raw text',
              value: clipValue(transaction.rawStatus),
              count: null,
            });
          }
        }
      }
      if (rowIssues.length > 0) {
        invalidCount++;
        issues.push(...rowIssues);
      }
    }
    if (!columns) {
      throw new InputRejectedError(`${what} ${this.location} is empty: expected a header row`, {
        location: this.location,
        line: 1,
      });
    }
    return addSideChecks(
      { side: this.side, location: this.location, transactions, issues, rowCount, invalidCount },
      context,
    );
  }
}

function mapHeader(header: string[], location: string, what: string): Map<Column, number> {
  const wanted = new Set<string>([...CANONICAL_REQUIRED_COLUMNS, ...CANONICAL_OPTIONAL_COLUMNS]);
  const columns = new Map<Column, number>();
  const normalized = header.map((name) => name.trim().toLowerCase());
  normalized.forEach((name, index) => {
    if (!wanted.has(name)) return;
    if (columns.has(name as Column)) {
      throw new InputRejectedError(`${what} ${location} line 1: column '${name}' appears twice`, {
        location,
        line: 1,
        field: name,
      });
    }
    columns.set(name as Column, index);
  });
  const missing = CANONICAL_REQUIRED_COLUMNS.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new InputRejectedError(
      `${what} ${location} line 1: header is missing column(s) ${missing.join(', ')}; ` +
        `expected ${CANONICAL_REQUIRED_COLUMNS.join(', ')} (found: ${normalized.join(', ') || 'nothing'})`,
      { location, line: 1, field: missing[0] },
    );
  }
  return columns;
}

type ReportIssue = (field: string | null, reason: string, value: string | null) => void;

function parseRow(
  fields: string[],
  columns: Map<Column, number>,
  line: number,
  context: ReadContext,
  issue: ReportIssue,
): Transaction | undefined {
  const cell = (name: Column): string | undefined => {
    const index = columns.get(name);
    return index === undefined ? undefined : (fields[index] ?? '').trim();
  };
  let ok = true;
  const required = (name: Column): string => {
    const value = cell(name) ?? '';
    if (value === '') {
      issue(name, `${name} is empty`, value);
      ok = false;
    }
    return value;
  };

  const transactionId = required('transaction_id');
  const amountText = required('amount');
  const currencyText = required('currency');
  const rawStatus = required('status');
  const merchantId = required('merchant_id');
  const createdAtText = required('created_at');

  const currency = currencyText === '' ? undefined : normalizeCurrency(currencyText);
  if (currencyText !== '' && !currency) {
    issue(
      'currency',
      `currency '${clipValue(currencyText, 20)}' is not an ISO 4217 code`,
      currencyText,
    );
    ok = false;
  }
  const exponent = currency ? currencyExponent(currency) : undefined;

  let amountMinor = 0n;
  if (amountText !== '' && exponent !== undefined) {
    const parsed = parseDecimalToMinor(amountText, exponent);
    if (parsed.ok) amountMinor = parsed.minor;
    else {
      issue(
        'amount',
        `amount ${AMOUNT_REASONS[parsed.reason]} (${currency} has ${exponent} decimals)`,
        amountText,
      );
      ok = false;
    }
  }

  let feeMinor: bigint | null = null;
  const feeText = cell('fee');
  if (feeText && exponent !== undefined) {
    const parsed = parseDecimalToMinor(feeText, exponent);
    if (parsed.ok) feeMinor = parsed.minor;
    else {
      issue(
        'fee',
        `fee ${AMOUNT_REASONS[parsed.reason]} (${currency} has ${exponent} decimals)`,
        feeText,
      );
      ok = false;
    }
  }

  const createdAtMs = createdAtText === '' ? undefined : parseIsoInstant(createdAtText);
  if (createdAtText !== '' && createdAtMs === undefined) {
    issue(
      'created_at',
      'created_at is not an ISO 8601 timestamp with an offset or Z',
      createdAtText,
    );
    ok = false;
  }

  if (!ok || currency === undefined || createdAtMs === undefined) return undefined;
  const description = cell('description');
  return {
    transactionId,
    amountMinor,
    currency,
    feeMinor,
    status: mapStatus(rawStatus, context.statusMap),
    rawStatus,
    merchantId,
    createdAtMs,
    description: description ? description : null,
    line,
  };
}
