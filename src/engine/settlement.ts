import type { BankEntry } from '../domain/bank-entry';
import {
  bankEntryReference,
  type BankMatchCounts,
  type BankMatchResult,
  type PayoutBankResult,
} from './bank-matching';
import {
  countGroupStatuses,
  settlementGroupJson,
  type SettlementChild,
  type SettlementGroupResult,
  type SettlementGroupStatus,
  type SettlementParent,
} from './settlement-groups';
import type { CarriedPayoutResult, RunSettlementBreaks } from './settlement-breaks';

/**
 * What a settlement source read for one processor and business date (issue #15): payout parents
 * and their children (minor units, see `settlement-groups.ts`), the source's location (file path
 * or URL, for messages) and the rows it could not read (1-based line or item index, and why).
 */
export interface SettlementRead {
  readonly location: string;
  readonly parents: readonly SettlementParent[];
  readonly children: readonly SettlementChild[];
  readonly invalidRows: readonly { line: number; reason: string }[];
}

/**
 * A source of settlement groups for one processor: an Adyen settlement detail report, a Stripe
 * itemized payout reconciliation report, the Stripe payouts + balance transactions API, the Square
 * payouts + payout entries API. `read` fetches everything for the window it was built with.
 * @throws InputRejectedError (exit 4) for an unreadable file or response, DependencyError (exit 3)
 *   for an API that cannot be reached within its deadline.
 */
export interface SettlementSource {
  readonly location: string;
  read(signal?: AbortSignal): Promise<SettlementRead>;
}

/** Every settlement count of the `run --json` contract (group and bank outcomes), 0 when none. */
export type SettlementCounts = Record<SettlementGroupStatus, number> &
  Omit<BankMatchCounts, 'payout_pending'>;

/**
 * The settlement outcome of one run (processor × business date): its groups (with their
 * waterfalls), the bank leg (null when no bank statement was read), the statement entries read
 * and the counts of the contract. The statement's findings are data-quality findings of the run.
 */
export interface RunSettlement {
  readonly groups: readonly SettlementGroupResult[];
  readonly bank: BankMatchResult | null;
  readonly bankEntries: readonly BankEntry[];
  readonly counts: SettlementCounts;
  /**
   * Payouts of earlier dates still pending or missing in the bank (their breaks), offered to
   * this run's statement entries with its own payouts (schema 8): what the statements said of
   * each. Not part of `bank` nor of `counts` (those are the run's own payouts); empty when none.
   */
  readonly carried?: readonly CarriedPayoutResult[];
  /** The run's settlement breaks, once its final transaction synced them (reports, `--json`). */
  readonly breaks?: RunSettlementBreaks;
}

/** The bank result of the payout `parentId` in `currency`, or null (no bank leg, or not a payout). */
export function bankResultOf(
  settlement: RunSettlement,
  group: SettlementGroupResult,
): PayoutBankResult | null {
  if (!settlement.bank) return null;
  return (
    settlement.bank.payouts.find(
      (p) => p.payout.id === group.parentId && p.payout.currency === group.currency,
    ) ?? null
  );
}

/** The contract's counts from the groups and the bank leg (every key present). */
export function settlementCounts(
  groups: readonly SettlementGroupResult[],
  bank: BankMatchResult | null,
): SettlementCounts {
  const c = bank?.counts;
  return {
    ...countGroupStatuses(groups),
    payout_matched: c?.payout_matched ?? 0,
    payout_missing_in_bank: c?.payout_missing_in_bank ?? 0,
    bank_credit_unmatched: c?.bank_credit_unmatched ?? 0,
    payout_amount_mismatch: c?.payout_amount_mismatch ?? 0,
    payout_ambiguous: c?.payout_ambiguous ?? 0,
  };
}

/**
 * The `settlement` block of `recon run --json` (issue #15 contract): `groups` (amounts as exact
 * decimal strings, `bank_entry` the matched statement entry's reference or null) and `counts`;
 * for a stored run also `breaks` (schema 8: `new`, `new_open`, `open`, `resolved`, `pending`
 * settlement breaks, see `SettlementBreakCounts`).
 */
export function settlementJson(settlement: RunSettlement): {
  groups: ReturnType<typeof settlementGroupJson>[];
  counts: SettlementCounts;
  breaks?: RunSettlementBreaks['counts'];
} {
  return {
    ...settlementBlock(settlement),
    ...(settlement.breaks ? { breaks: settlement.breaks.counts } : {}),
  };
}

function settlementBlock(settlement: RunSettlement): {
  groups: ReturnType<typeof settlementGroupJson>[];
  counts: SettlementCounts;
} {
  return {
    groups: settlement.groups.map((group) => {
      const bank = bankResultOf(settlement, group);
      const entry = bank?.status === 'payout_matched' ? bank.bankEntry : null;
      return settlementGroupJson(group, entry ? bankEntryReference(entry) : null);
    }),
    counts: settlement.counts,
  };
}
