import { stringify } from 'csv-stringify/sync';
import type { BankEntry } from '../domain/bank-entry';
import { currencyExponent } from '../domain/currency';
import { formatMinor } from '../domain/money';
import {
  bankEntryReference,
  type PayoutBankResult,
  type PayoutBankStatus,
} from '../engine/bank-matching';
import { bankResultOf, settlementJson, type RunSettlement } from '../engine/settlement';
import type {
  ChildCategory,
  SettlementGroupResult,
  SettlementGroupStatus,
} from '../engine/settlement-groups';
import { escapeSpreadsheetText } from './spreadsheet-safe';
import { settlementBreakJson, type SettlementBreakCounts } from '../engine/settlement-breaks';

/**
 * The payouts report of issue #15: `payouts_{processor}_{date}.csv` (one row per settlement
 * group) and the JSON report's `settlement` block, both rendered from a run's `RunSettlement`
 * (`engine/settlement.ts`). Pure: no I/O. Money is written as exact decimal strings in major units
 * of each group's currency (ISO 4217 exponent), formatted by us from minor units.
 */

/**
 * Column order of `payouts_{processor}_{date}.csv`: the group (`parent_id`, `kind`, `currency`,
 * `status`, `due_date`), its payout waterfall (`charges` … `payout`, `unexplained_residual`), the
 * arithmetic (`children_sum`, `child_count`, `difference` = children_sum − payout) and the bank
 * leg (`bank_status`, `bank_entry` the statement entry's reference, `bank_amount`,
 * `bank_difference` = bank amount − payout).
 */
export const PAYOUTS_CSV_COLUMNS = [
  'parent_id',
  'kind',
  'currency',
  'status',
  'due_date',
  'charges',
  'fees',
  'refunds',
  'disputes',
  'adjustments',
  'payout',
  'unexplained_residual',
  'children_sum',
  'child_count',
  'difference',
  'bank_status',
  'bank_entry',
  'bank_amount',
  'bank_difference',
] as const;

/** Statuses whose children the JSON lists: groups that do not balance (or have no parent). */
const LISTS_CHILDREN: ReadonlySet<SettlementGroupStatus> = new Set([
  'group_sum_mismatch',
  'group_incomplete',
  'parent_missing',
]);

function amount(minor: bigint, currency: string): string {
  return formatMinor(minor, currencyExponent(currency));
}

function optionalAmount(minor: bigint | null, currency: string): string | null {
  return minor === null ? null : amount(minor, currency);
}

/**
 * The group's waterfall as decimal strings. `unexplained_residual` is null when the group has no
 * arithmetic (`parent_missing`: no payout to compare with; `unattributable`: not itemized), as its
 * `difference` is; otherwise it equals the difference (reported, never absorbed).
 */
function waterfallJson(group: SettlementGroupResult): {
  charges: string;
  fees: string;
  refunds: string;
  disputes: string;
  adjustments: string;
  payout: string;
  unexplained_residual: string | null;
} {
  const w = group.waterfall;
  const c = group.currency;
  return {
    charges: amount(w.charges, c),
    fees: amount(w.fees, c),
    refunds: amount(w.refunds, c),
    disputes: amount(w.disputes, c),
    adjustments: amount(w.adjustments, c),
    payout: amount(w.payout, c),
    unexplained_residual: group.difference === null ? null : amount(w.unexplainedResidual, c),
  };
}

/** The entry a bank result points at: the matched credit, or the referenced one of another amount. */
function entryOf(bank: PayoutBankResult | null): BankEntry | null {
  return bank?.bankEntry ?? null;
}

/** One payout's bank leg in the JSON block; null when no statement was read or not a payout. */
function bankJson(bank: PayoutBankResult | null): {
  status: PayoutBankStatus;
  matched_by: 'reference' | 'amount_date' | null;
  entry: string | null;
  amount: string | null;
  difference: string | null;
  candidates: string[];
} | null {
  if (!bank) return null;
  const entry = entryOf(bank);
  const currency = bank.payout.currency;
  return {
    status: bank.status,
    matched_by: bank.matchedBy,
    entry: entry ? bankEntryReference(entry) : null,
    amount: entry ? amount(entry.amount, entry.currency) : null,
    difference: optionalAmount(bank.difference, currency),
    candidates: bank.candidates.map(bankEntryReference),
  };
}

/** A bank credit no payout claimed, as the JSON block lists it. */
function creditJson(entry: BankEntry): {
  reference: string;
  statement_id: string;
  amount: string;
  currency: string;
  booking_date: string | null;
  value_date: string | null;
  remittance_text: string | null;
  line: number | null;
  xml_path: string | null;
} {
  return {
    reference: bankEntryReference(entry),
    statement_id: entry.statementId,
    amount: amount(entry.amount, entry.currency),
    currency: entry.currency,
    booking_date: entry.bookingDate,
    value_date: entry.valueDate,
    remittance_text: entry.remittanceText,
    line: entry.line,
    xml_path: entry.xmlPath,
  };
}

/** A child of a group that does not balance, as the JSON block lists it (signed, merchant side). */
export interface SettlementChildJson {
  readonly id: string;
  readonly category: ChildCategory;
  readonly gross: string;
  readonly net: string;
}

/** The JSON report's `settlement` block (see `settlementReportJson`). */
export interface SettlementReportJson {
  readonly groups: readonly (ReturnType<typeof settlementJson>['groups'][number] & {
    readonly due_date: string | null;
    readonly waterfall: ReturnType<typeof waterfallJson>;
    readonly bank: ReturnType<typeof bankJson>;
    readonly children: readonly SettlementChildJson[] | null;
  })[];
  readonly counts: ReturnType<typeof settlementJson>['counts'];
  readonly unmatched_bank_credits: readonly ReturnType<typeof creditJson>[] | null;
  /** The run's settlement breaks (schema 8); absent for a run that stored none (dry run). */
  readonly breaks?: {
    readonly counts: SettlementBreakCounts;
    readonly open: readonly object[];
    readonly pending: readonly object[];
    readonly resolved: readonly object[];
  };
}

/**
 * The JSON report's `settlement` block: `settlementJson` (the `run --json` contract: `groups` and
 * `counts`), each group extended with `due_date` (`YYYY-MM-DD` or null), `waterfall` (decimal
 * strings; `unexplained_residual` null without arithmetic), `bank` (null without a bank statement
 * or for a group without a payout; else `status`, `matched_by`, `entry` reference, `amount`,
 * `difference` = bank − payout, the `candidates` of an ambiguous payout) and `children` (listed
 * for `group_sum_mismatch`, `group_incomplete` and `parent_missing`: `id`, `category`, `gross`,
 * `net`; null otherwise); then `unmatched_bank_credits` (every booked credit no payout claimed, in
 * statement order; null when no statement was read); for a stored run, `breaks` (schema 8): the
 * settlement break counts of `run --json` and the `open`, `pending` breaks of the processor after
 * the run and those it `resolved` (`settlementBreakJson`, aged against the run's date).
 */
export function settlementReportJson(settlement: RunSettlement): SettlementReportJson {
  const contract = settlementJson(settlement);
  return {
    groups: settlement.groups.map((group, index) => ({
      // settlementJson maps the same groups in the same order.
      ...(contract.groups[index] as ReturnType<typeof settlementJson>['groups'][number]),
      due_date: group.dueDate,
      waterfall: waterfallJson(group),
      bank: bankJson(bankResultOf(settlement, group)),
      children: LISTS_CHILDREN.has(group.status)
        ? group.children.map((child): SettlementChildJson => ({
            id: child.id,
            category: child.category,
            gross: amount(child.gross, child.currency),
            net: amount(child.net, child.currency),
          }))
        : null,
    })),
    counts: contract.counts,
    unmatched_bank_credits: settlement.bank
      ? settlement.bank.unmatchedCredits.map(creditJson)
      : null,
    ...(settlement.breaks
      ? {
          breaks: {
            counts: settlement.breaks.counts,
            open: settlement.breaks.active
              .filter((b) => b.status === 'open')
              .map(settlementBreakJson),
            pending: settlement.breaks.active
              .filter((b) => b.status === 'pending')
              .map(settlementBreakJson),
            resolved: settlement.breaks.resolved.map(settlementBreakJson),
          },
        }
      : {}),
  };
}

function payoutCells(settlement: RunSettlement, group: SettlementGroupResult): string[] {
  const w = waterfallJson(group);
  const bank = bankResultOf(settlement, group);
  const entry = entryOf(bank);
  const c = group.currency;
  return [
    // Ids and references come from the processor and the bank: spreadsheet-safe.
    escapeSpreadsheetText(group.parentId),
    group.kind,
    c,
    group.status,
    group.dueDate ?? '',
    w.charges,
    w.fees,
    w.refunds,
    w.disputes,
    w.adjustments,
    w.payout,
    w.unexplained_residual ?? '',
    amount(group.childrenSum, c),
    String(group.childCount),
    optionalAmount(group.difference, c) ?? '',
    bank?.status ?? '',
    entry ? escapeSpreadsheetText(bankEntryReference(entry)) : '',
    entry ? amount(entry.amount, entry.currency) : '',
    bank ? (optionalAmount(bank.difference, bank.payout.currency) ?? '') : '',
  ];
}

/**
 * Renders `payouts_{processor}_{date}.csv` in chunks of up to `rowsPerChunk` lines: a header
 * (`PAYOUTS_CSV_COLUMNS`), then one row per settlement group in the run's order. Every field is
 * quoted; ids and bank references are spreadsheet-safe; empty cells for what a group does not
 * have (no due date, no arithmetic, no bank leg).
 */
export function* renderPayoutsCsv(
  settlement: RunSettlement,
  rowsPerChunk = 5000,
): Generator<string> {
  yield stringify([[...PAYOUTS_CSV_COLUMNS]], { quoted: true });
  const groups = settlement.groups;
  for (let start = 0; start < groups.length; start += rowsPerChunk) {
    yield stringify(
      groups.slice(start, start + rowsPerChunk).map((group) => payoutCells(settlement, group)),
      { quoted: true },
    );
  }
}
