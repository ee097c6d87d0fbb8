import type { CurrencyCode } from './currency';

/**
 * The bank statement formats read (issue #15): ISO 20022 camt.053, BAI2 (BTRS) and a bank CSV
 * export described by a column map.
 */
export type BankStatementFormat = 'camt053' | 'bai2' | 'csv';

/** Every bank statement format, in the order the content detector tries them. */
export const BANK_STATEMENT_FORMATS: readonly BankStatementFormat[] = ['camt053', 'bai2', 'csv'];

/** Direction of a statement entry, seen from the account holder: money in or money out. */
export type CreditDebit = 'credit' | 'debit';

/**
 * One entry (transaction line) of a bank account statement.
 *
 * - `amount`: the entry's amount in integer MINOR units of `currency` (ISO 4217 exponent, via
 *   `domain/currency.ts`), always ≥ 0; `direction` says whether it is a credit or a debit.
 *   `signedAmount` is `amount` for a credit and `−amount` for a debit.
 * - `bookingDate` / `valueDate`: calendar dates `YYYY-MM-DD` as the bank states them (the bank's
 *   own day, not converted to UTC); `null` when the statement does not give one.
 * - `bankReference`: the bank's own reference of the entry (camt.053 `AcctSvcrRef`, BAI2 bank
 *   reference number, the CSV's mapped column); `customerReference`: the originator's reference
 *   (camt.053 `EndToEndId`, BAI2 customer reference number); `remittanceText`: free text naming the
 *   payment (camt.053 `RmtInf/Ustrd` and `Strd` references, `AddtlNtryInf`; BAI2 text); all `null`
 *   when absent.
 * - `reversal`: the entry reverses an earlier one (camt.053 `RvslInd`; its `direction` is the
 *   reversal's own, e.g. a returned credit is a debit with `reversal: true`).
 * - `typeCode`: the bank's transaction code (BAI2 type code `165`; camt.053 `BkTxCd` as
 *   `Domain/Family/SubFamily` or the proprietary code), `null` when absent.
 * - `booked`: `false` for a camt.053 entry whose status is not booked (`PDNG`, `INFO`); such entries
 *   are listed but not part of the balance check.
 * - `line`: 1-based line where the entry starts (BAI2, CSV; `null` for XML); `xmlPath`: the entry's
 *   element path (camt.053, e.g. `Document/BkToCstmrStmt/Stmt[1]/Ntry[3]`; `null` otherwise).
 */
export interface BankEntry {
  readonly statementId: string;
  readonly account: string;
  readonly amount: bigint;
  readonly signedAmount: bigint;
  readonly currency: CurrencyCode;
  readonly direction: CreditDebit;
  readonly bookingDate: string | null;
  readonly valueDate: string | null;
  readonly bankReference: string | null;
  readonly customerReference: string | null;
  readonly remittanceText: string | null;
  readonly reversal: boolean;
  readonly typeCode: string | null;
  readonly booked: boolean;
  readonly line: number | null;
  readonly xmlPath: string | null;
}

/**
 * One account statement of a bank file (a camt.053 `Stmt`, a BAI2 account `03`…`49`, a CSV file).
 * `opening` / `closing`: balances in signed minor units of `currency` (negative = overdrawn), `null`
 * when the file does not give them; `entries`: the statement's entries in file order.
 */
export interface BankStatement {
  readonly id: string;
  readonly account: string;
  readonly currency: CurrencyCode;
  readonly opening: bigint | null;
  readonly closing: bigint | null;
  readonly entries: readonly BankEntry[];
}
