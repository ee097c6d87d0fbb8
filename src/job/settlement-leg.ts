import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BankEntry, BankStatementFormat } from '../domain/bank-entry';
import type { DataQualityIssue } from '../domain/data-quality';
import { clipValue } from '../domain/data-quality';
import { InputRejectedError } from '../domain/errors';
import type { ProcessorName } from '../domain/status';
import {
  bankMatchResult,
  DEFAULT_BANK_WINDOW_DAYS,
  matchPayoutsToBank,
  type ExpectedPayout,
  type PayoutBankResult,
} from '../engine/bank-matching';
import {
  bankCreditIdentity,
  payoutIdentity,
  type CarriedPayout,
  type CarriedPayoutResult,
} from '../engine/settlement-breaks';
import { settlementCounts, type RunSettlement, type SettlementSource } from '../engine/settlement';
import { buildSettlementGroups, type SettlementGroupResult } from '../engine/settlement-groups';
import { ledgerSplitGroups } from '../engine/ledger-split';
import type { KeyField } from '../engine/rules';
import type { Transaction } from '../domain/transaction';
import type { TransactionTable } from '../domain/transaction-table';
import type { BankFinding } from '../sources/bank/bank-entry';
import type { BankCsvColumnMap } from '../sources/bank/bank-csv';
import { readBankStatementFile } from '../sources/bank/read-bank-statement';
import { payoutKindOf } from '../sources/settlement/canonical-payouts';

/**
 * The bank statements of a run request (issue #15): `files` (`--bank-file`, repeatable: read for
 * every date and processor of the request), else every file directly under `{dir}/{date}/`
 * (`RECON_BANK_DIR`; hidden files skipped; a missing date folder means no statement yet);
 * `format` (`--bank-format`, default: detected from the content); `windowDays`
 * (`--bank-window-days`, default 3: ± calendar days around a payout's arrival date);
 * `csvColumns`: the column map of a bank CSV export (the rules file's).
 */
export interface BankSettings {
  readonly files: readonly string[];
  readonly dir: string | null;
  readonly format?: BankStatementFormat;
  readonly windowDays: number;
  readonly csvColumns?: BankCsvColumnMap;
}

/** No bank statements: the default of a run request. */
export const NO_BANK: BankSettings = {
  files: [],
  dir: null,
  windowDays: DEFAULT_BANK_WINDOW_DAYS,
};

/**
 * The bank statement paths of `date`: `settings.files` when given, else the regular files
 * directly under `{settings.dir}/{date}/` sorted by name (none when the folder does not exist).
 * @throws InputRejectedError when `{dir}/{date}` exists but cannot be listed.
 */
export async function bankFilesFor(settings: BankSettings, date: string): Promise<string[]> {
  if (settings.files.length > 0) return [...settings.files];
  if (settings.dir === null) return [];
  const folder = join(settings.dir, date);
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
      .map((entry) => join(folder, entry.name))
      .sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new InputRejectedError(
      `bank statement folder ${folder} (RECON_BANK_DIR) cannot be read (${code ?? 'error'})`,
      { location: folder },
    );
  }
}

/** A bank file's finding as a data-quality finding of the run (side `bank`). */
function bankIssue(finding: BankFinding): DataQualityIssue {
  return {
    side: 'bank',
    location: finding.location,
    check: finding.check,
    severity: finding.severity,
    line: finding.line,
    field: finding.field,
    reason: finding.reason,
    value: finding.value === null ? null : clipValue(finding.value),
    count: finding.count,
  };
}

/** What the settlement leg of one run produced: the settlement and its data-quality findings. */
export interface SettlementLeg {
  readonly settlement: RunSettlement;
  readonly issues: readonly DataQualityIssue[];
}

/**
 * The settlement leg of one run (processor × business date): reads `source` (parents and
 * children; none without a source), builds the groups (`asOfDate` = the business date, tolerance
 * 0), reads the bank statements of `bank` for the date and matches every payout (a group with a
 * positive parent amount; its expected date = its due date, else the business date) to one
 * credit. `carried` (schema 8): payouts of earlier dates whose breaks are still pending or open,
 * offered to the same entries together with the day's own payouts (same window rule; a carried
 * payout the day lists again is the day's own), their results in `settlement.carried`, not in
 * `bank` nor in the counts (the run's own payouts); a credit a carried payout matched is not
 * `bank_credit_unmatched`. Without a statement the bank leg is `null`, and carried payouts are
 * decided against no entries (pending until their window passes, then missing in the bank).
 * `claimedElsewhere`: bank-credit identities (`bankCreditIdentity`) that payouts of the other
 * processors of the same run request match on the same statements (a statement shared by
 * several processors): not `bank_credit_unmatched` here (their runs match them).
 * Findings: every bank file's (`statement_balance`, …) and the rows the source could not read
 * (`settlement_row`).
 * @throws InputRejectedError (exit 4) for a payouts input or bank file that cannot be read,
 *   naming the file and the line or XML path; whatever `source.read` throws.
 */
export async function reconcileSettlement(
  source: SettlementSource | null,
  bank: BankSettings,
  businessDate: string,
  processor: ProcessorName,
  signal?: AbortSignal,
  carried: readonly CarriedPayout[] = [],
  claimedElsewhere: ReadonlySet<string> = new Set(),
): Promise<SettlementLeg> {
  const read = source
    ? await source.read(signal)
    : { location: '', parents: [], children: [], invalidRows: [] };
  const issues: DataQualityIssue[] = read.invalidRows.map((row) => ({
    side: 'bank',
    location: read.location,
    check: 'settlement_row',
    severity: 'error',
    line: row.line,
    field: null,
    reason: row.reason,
    value: null,
    count: null,
  }));
  const groups = buildSettlementGroups(read.parents, read.children, {
    asOfDate: businessDate,
    orphanKind: payoutKindOf(processor),
  });
  const files = await bankFilesFor(bank, businessDate);
  const entries: BankEntry[] = [];
  for (const path of files) {
    const parsed = await readBankStatementFile(path, {
      format: bank.format,
      csvColumns: bank.csvColumns,
    });
    // One by one: a spread overflows the stack on a large statement.
    for (const entry of parsed.entries) entries.push(entry);
    for (const finding of parsed.findings) issues.push(bankIssue(finding));
  }
  const payouts: ExpectedPayout[] = [];
  const own = new Set<string>();
  for (const group of groups) {
    if (group.parentAmount === null || group.parentAmount <= 0n) continue;
    payouts.push({
      id: group.parentId,
      currency: group.currency,
      amount: group.parentAmount,
      expectedDate: group.dueDate ?? businessDate,
    });
    own.add(payoutIdentity(processor, group.parentId, group.currency));
  }
  const offered = carried.filter(
    (c) => !own.has(payoutIdentity(processor, c.payout.id, c.payout.currency)),
  );
  const ownCount = files.length > 0 ? payouts.length : 0;
  const all =
    files.length > 0 ? [...payouts, ...offered.map((c) => c.payout)] : offered.map((c) => c.payout);
  const matched =
    all.length > 0 || files.length > 0
      ? matchPayoutsToBank(all, entries, { asOfDate: businessDate, windowDays: bank.windowDays })
      : null;
  const unmatched =
    matched && claimedElsewhere.size > 0
      ? matched.unmatchedCredits.filter((e) => !claimedElsewhere.has(bankCreditIdentity(e)))
      : (matched?.unmatchedCredits ?? []);
  const ownBank =
    matched && files.length > 0
      ? bankMatchResult(matched.payouts.slice(0, ownCount), unmatched)
      : null;
  const carriedResults: CarriedPayoutResult[] = matched
    ? offered.map((c, index) => ({
        breakId: c.breakId,
        originDate: c.originDate,
        result: matched.payouts[ownCount + index] as PayoutBankResult,
      }))
    : [];
  return {
    settlement: {
      groups,
      bank: ownBank,
      bankEntries: entries,
      counts: settlementCounts(groups, ownBank),
      carried: carriedResults,
    },
    issues,
  };
}

/**
 * The bank credits the payouts of `leg` (the day's own and the carried ones) matched or found
 * with another amount, as bank-credit identities (`bankCreditIdentity`): what this processor
 * claims of a statement it shares with others.
 */
export function claimedCredits(leg: SettlementLeg): Set<string> {
  const claimed = new Set<string>();
  const results = [
    ...(leg.settlement.bank?.payouts ?? []),
    ...(leg.settlement.carried ?? []).map((c) => c.result),
  ];
  for (const result of results)
    if (result.bankEntry && result.status !== 'payout_ambiguous')
      claimed.add(bankCreditIdentity(result.bankEntry));
  return claimed;
}

/** Every row of `table` as a `Transaction`, in order. */
function* rowsOf(table: TransactionTable): Generator<Transaction> {
  for (let row = 0; row < table.length; row++) yield table.at(row);
}

/**
 * The N:1 ledger split of a run (issue #15, `engine/ledger-split.ts`): with the processor's
 * `group_key` (rules file), the ledger rows sharing a key are the children of the processor row
 * carrying it (`ledger_split` groups, on `amountBasis`; no bank leg: they are not payouts). A key
 * two processor rows carry is never guessed: a `settlement_row` warning (side `processor`,
 * `location` the processor input) and no group.
 */
export function ledgerSplitLeg(
  processor: TransactionTable,
  ledger: TransactionTable,
  options: {
    groupKey: KeyField;
    amountBasis: 'gross' | 'net';
    businessDate: string;
    location: string;
  },
): { groups: SettlementGroupResult[]; issues: DataQualityIssue[] } {
  const split = ledgerSplitGroups(rowsOf(processor), rowsOf(ledger), {
    groupKey: options.groupKey,
    amountBasis: options.amountBasis,
  });
  const groups = buildSettlementGroups(split.parents, split.children, {
    asOfDate: options.businessDate,
    orphanKind: 'ledger_split',
  });
  const issues: DataQualityIssue[] = split.ambiguousKeys.map((a) => ({
    side: 'processor',
    location: options.location,
    check: 'settlement_row',
    severity: 'warning',
    line: null,
    field: options.groupKey,
    reason: `${options.groupKey} '${a.key}' (${a.currency}) is carried by ${a.processorIds.length} processor rows (${a.processorIds.join(', ')}): no ledger split group (never guessed)`,
    value: clipValue(a.key),
    count: a.processorIds.length,
  }));
  return { groups, issues };
}

/**
 * `settlement` with `extra` groups appended (the ledger split's), its counts recomputed; a new
 * settlement without a bank leg when there was none.
 */
export function withGroups(
  settlement: RunSettlement | null,
  extra: readonly SettlementGroupResult[],
): RunSettlement | null {
  if (extra.length === 0) return settlement;
  const groups = [...(settlement?.groups ?? []), ...extra];
  const bank = settlement?.bank ?? null;
  return {
    groups,
    bank,
    bankEntries: settlement?.bankEntries ?? [],
    counts: settlementCounts(groups, bank),
    carried: settlement?.carried ?? [],
  };
}
