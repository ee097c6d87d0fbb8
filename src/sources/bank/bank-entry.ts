import type { BankEntry, BankStatement, BankStatementFormat } from '../../domain/bank-entry';
import { currencyExponent } from '../../domain/currency';
import { InputRejectedError } from '../../domain/errors';
import { formatMinor } from '../../domain/money';

export {
  BANK_STATEMENT_FORMATS,
  type BankEntry,
  type BankStatement,
  type BankStatementFormat,
  type CreditDebit,
} from '../../domain/bank-entry';

/**
 * Names of the data-quality checks run on bank statements: `statement_balance` (entries vs closing
 * − opening balance), `summary_total` (BAI2 total credits/debits 100/400 vs the detail records),
 * `entry_currency` (a camt.053 entry in another currency than its statement's balances),
 * `unknown_type_code` (a BAI2 detail type code neither credit nor debit: not read as an entry).
 */
export type BankCheckName =
  'statement_balance' | 'summary_total' | 'entry_currency' | 'unknown_type_code';

/**
 * A data-quality finding on a bank file, shaped like `DataQualityIssue` (`domain/data-quality.ts`)
 * so that the job can store it when the bank leg is wired: `location` the file path, `line`
 * 1-based (null for XML or file-level findings), `field` the field or XML path concerned,
 * `severity` `error` when the statement does not add up, `info` when a check passed.
 */
export interface BankFinding {
  readonly location: string;
  readonly check: BankCheckName;
  readonly severity: 'error' | 'warning' | 'info';
  readonly line: number | null;
  readonly field: string | null;
  readonly reason: string;
  readonly value: string | null;
  readonly count: number | null;
}

/**
 * A bank file read completely: its format, the file path or URL (`location`), the statements and
 * every entry of them (in file order), and the data-quality findings.
 */
export interface ParsedBankFile {
  readonly format: BankStatementFormat;
  readonly location: string;
  readonly statements: readonly BankStatement[];
  readonly entries: readonly BankEntry[];
  readonly findings: readonly BankFinding[];
}

/**
 * A bank file that cannot be read at all (not XML, not a camt.053 document, a BAI2 record out of
 * place, a control total that does not add up, an amount that is not a number). An
 * `InputRejectedError` (exit 4 once the bank leg is wired): `message` is one line naming the file
 * and the line (`line 7`) or XML path (`Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt`).
 */
export class BankStatementRejectedError extends InputRejectedError {
  constructor(
    message: string,
    readonly location: string,
    readonly line: number | null,
    readonly xmlPath: string | null,
  ) {
    super(message, {
      location,
      ...(line !== null ? { line } : {}),
      ...(xmlPath !== null ? { field: xmlPath } : {}),
    });
  }
}

/** Builds the `BankStatementRejectedError` for a problem at `line` of the bank file `location`. */
export function rejectAtLine(
  location: string,
  line: number | null,
  problem: string,
): BankStatementRejectedError {
  const where = line === null ? '' : ` line ${line}`;
  return new BankStatementRejectedError(
    `bank statement ${location}${where}: ${problem}`,
    location,
    line,
    null,
  );
}

/** Builds the `BankStatementRejectedError` for a problem at the element `xmlPath` of `location`. */
export function rejectAtPath(
  location: string,
  xmlPath: string,
  problem: string,
): BankStatementRejectedError {
  return new BankStatementRejectedError(
    `bank statement ${location} at ${xmlPath}: ${problem}`,
    location,
    null,
    xmlPath,
  );
}

/**
 * The `statement_balance` check of one statement: the sum of its booked entries (signed) must equal
 * `closing − opening`. `info` when it does, `error` with the difference when it does not; no
 * finding when either balance is missing (nothing to check).
 */
export function statementBalanceFinding(
  location: string,
  statement: BankStatement,
  line: number | null,
  field: string | null,
): BankFinding | undefined {
  if (statement.opening === null || statement.closing === null) return undefined;
  let sum = 0n;
  let count = 0;
  for (const entry of statement.entries) {
    if (!entry.booked || entry.currency !== statement.currency) continue;
    sum += entry.signedAmount;
    count++;
  }
  const exponent = currencyExponent(statement.currency);
  const expected = statement.closing - statement.opening;
  const show = (minor: bigint): string => formatMinor(minor, exponent);
  const head = `statement ${statement.id} (account ${statement.account}, ${statement.currency})`;
  const balanced = sum === expected;
  return {
    location,
    check: 'statement_balance',
    severity: balanced ? 'info' : 'error',
    line,
    field,
    reason: balanced
      ? `${head}: entries ${show(sum)} = closing ${show(statement.closing)} − opening ${show(statement.opening)}`
      : `${head}: entries ${show(sum)} != closing ${show(statement.closing)} − opening ${show(statement.opening)} = ${show(expected)} (difference ${show(sum - expected)})`,
    value: show(sum),
    count,
  };
}
