import type { BankEntry } from '../domain/bank-entry';
import type { CurrencyCode } from '../domain/currency';
import { bankEntryReference, type ExpectedPayout, type PayoutBankResult } from './bank-matching';
import { ageBucket, type BreakStatus } from './break-lifecycle';
import type { RunSettlement } from './settlement';

/**
 * Settlement breaks (issue #15, schema 8): the group and bank outcomes of a run's settlement leg
 * as breaks of the lifecycle of issue #10 (`break-lifecycle.ts`: pending → open → resolved |
 * written_off, reopened by hand), carried until matched and aged. Pure: what a run observed,
 * per identity; the store (`settlement-break-sync.ts`) records the events.
 *
 * Identities (at most one pending or open break each):
 * - a group outcome: `["group", processor, parent id, currency]`;
 * - a payout's bank outcome: `["payout", processor, payout id, currency]`;
 * - a statement credit no payout matched: `["bank_credit", account, entry key, value date,
 *   amount minor, currency]`, the entry key being its bank reference, else its customer
 *   reference, else `statement id@position` (line or XML path). Processor-agnostic: one
 *   statement often covers several processors, and the run of any processor that matches the
 *   entry (the entry being in a statement it reads) resolves the break.
 *
 * Kinds and their status: `payout_pending` (window still open) and `group_incomplete` (children
 * still missing while the payout is not yet due) are `pending`, every other kind `open`.
 * `group_matched` and `payout_matched` are no break: they resolve an open one. `unattributable`
 * (a manual or instant payout Stripe cannot itemize) is reported, never a break.
 */

/** Kinds of settlement break, as in the CHECKs of `settlement_breaks` (setup.sql). */
export const SETTLEMENT_BREAK_KINDS = [
  'group_sum_mismatch',
  'group_incomplete',
  'parent_missing',
  'payout_missing_in_bank',
  'payout_pending',
  'payout_amount_mismatch',
  'payout_ambiguous',
  'bank_credit_unmatched',
] as const;
export type SettlementBreakKind = (typeof SETTLEMENT_BREAK_KINDS)[number];

/** What a settlement break is about. */
export type SettlementSubject = 'group' | 'payout' | 'bank_credit';

/** The status a break of `kind` has while it is seen so: `pending` or `open`. */
export function statusOfKind(kind: SettlementBreakKind): 'pending' | 'open' {
  return kind === 'payout_pending' || kind === 'group_incomplete' ? 'pending' : 'open';
}

/** The identity of a group outcome (see the module description). */
export function groupIdentity(processor: string, parentId: string, currency: string): string {
  return JSON.stringify(['group', processor, parentId, currency]);
}

/** The identity of a payout's bank outcome (see the module description). */
export function payoutIdentity(processor: string, payoutId: string, currency: string): string {
  return JSON.stringify(['payout', processor, payoutId, currency]);
}

/** The key of a statement entry in a bank-credit identity: its references, else its position. */
export function bankEntryKey(entry: BankEntry): string {
  return bankEntryReference(entry);
}

/** The identity of a statement credit (processor-agnostic; see the module description). */
export function bankCreditIdentity(entry: BankEntry): string {
  return JSON.stringify([
    'bank_credit',
    entry.account,
    bankEntryKey(entry),
    entry.valueDate ?? entry.bookingDate,
    entry.amount.toString(),
    entry.currency,
  ]);
}

/**
 * A payout of an earlier business date whose break is still pending or open (or, for a rerun,
 * that the superseded run of this date matched): offered to this run's bank statement entries.
 * `payout.amount` minor units; `originDate` `YYYY-MM-DD`.
 */
export interface CarriedPayout {
  readonly breakId: string;
  readonly originDate: string;
  readonly payout: ExpectedPayout;
}

/** A carried payout and what this run's statements said about it. */
export interface CarriedPayoutResult {
  readonly breakId: string;
  readonly originDate: string;
  readonly result: PayoutBankResult;
}

/**
 * What a run saw of one identity. `kind` null: it is fine (`group_matched`, `payout_matched`, a
 * credit a payout matched) and resolves its break if one is pending or open; else the break kind
 * seen. `amount` minor units of `currency` (positive; the children sum for a `parent_missing`
 * group), `difference` as in the group or the bank result (null when none), `expectedDate` the
 * payout's arrival/expected date (`YYYY-MM-DD`, null for bank credits), `entry` the statement
 * entry (the credit of a bank-credit identity; the matched credit of a matched payout).
 */
export interface SettlementObservation {
  readonly identity: string;
  readonly subject: SettlementSubject;
  readonly subjectId: string;
  readonly kind: SettlementBreakKind | null;
  readonly currency: CurrencyCode;
  readonly amount: bigint;
  readonly difference: bigint | null;
  readonly expectedDate: string | null;
  readonly entry: BankEntry | null;
  /** A matched credit: the payout (`processor:id`) that matched it. */
  readonly matchedWith?: string;
}

function payoutObservation(processor: string, result: PayoutBankResult): SettlementObservation {
  const { payout } = result;
  return {
    identity: payoutIdentity(processor, payout.id, payout.currency),
    subject: 'payout',
    subjectId: payout.id,
    kind: result.status === 'payout_matched' ? null : result.status,
    currency: payout.currency,
    amount: payout.amount,
    difference: result.difference,
    expectedDate: payout.expectedDate,
    entry: result.bankEntry,
  };
}

function creditObservation(entry: BankEntry, matchedWith: string | null): SettlementObservation {
  return {
    ...(matchedWith === null ? {} : { matchedWith }),
    identity: bankCreditIdentity(entry),
    subject: 'bank_credit',
    subjectId: bankEntryKey(entry),
    kind: matchedWith === null ? 'bank_credit_unmatched' : null,
    currency: entry.currency,
    amount: entry.amount,
    difference: null,
    expectedDate: null,
    entry,
  };
}

/**
 * Every identity the run (of `processor`) observed in `settlement`, first observation of an
 * identity kept (a payout id listed twice is described by its first row): its groups (except
 * `unattributable`), the bank results of its own payouts and of the carried ones, the credits a
 * payout matched (fine) and the credits left unmatched. Without a bank leg the day's own payouts
 * and credits are not observed (a run that read no statement says nothing about them); its
 * carried payouts are (decided against no entries: pending, then missing once the window passed).
 */
export function settlementObservations(
  settlement: RunSettlement,
  processor: string,
): SettlementObservation[] {
  const seen = new Set<string>();
  const out: SettlementObservation[] = [];
  const add = (observation: SettlementObservation): void => {
    if (seen.has(observation.identity)) return;
    seen.add(observation.identity);
    out.push(observation);
  };
  for (const group of settlement.groups) {
    if (group.status === 'unattributable') continue;
    add({
      identity: groupIdentity(processor, group.parentId, group.currency),
      subject: 'group',
      subjectId: group.parentId,
      kind: group.status === 'group_matched' ? null : group.status,
      currency: group.currency,
      amount: group.parentAmount ?? group.childrenSum,
      difference: group.difference,
      expectedDate: group.dueDate,
      entry: null,
    });
  }
  const results = [
    ...(settlement.bank?.payouts ?? []),
    ...(settlement.carried ?? []).map((c) => c.result),
  ];
  for (const result of results) add(payoutObservation(processor, result));
  for (const result of results)
    if (result.bankEntry && result.status !== 'payout_ambiguous')
      add(creditObservation(result.bankEntry, `${processor}:${result.payout.id}`));
  for (const entry of settlement.bank?.unmatchedCredits ?? []) add(creditObservation(entry, null));
  return out;
}

/**
 * The `breaks` counts of a run's settlement (`run --json` `settlement.breaks`, README "Payout
 * breaks across days"): `new` breaks its date opened (pending ones included, and whatever their
 * status since, so that a rerun of the date says the same; `new_open` those still open), breaks
 * it `resolved` (matched), and the `pending` and `open` breaks of its processor
 * after it (bank credits: those a run of this processor saw last), whatever their origin date.
 */
export interface SettlementBreakCounts {
  readonly new: number;
  readonly new_open: number;
  readonly open: number;
  readonly resolved: number;
  readonly pending: number;
}

/**
 * A settlement break as the reports, the e-mail and `recon payouts breaks` show it: amounts as
 * exact decimal strings in major units of `currency` (`difference` null when none), dates
 * `YYYY-MM-DD`, `ageDays` ≥ 0 against the run's (or the latest completed) business date.
 */
export interface StoredSettlementBreak {
  readonly breakId: string;
  readonly processor: string;
  readonly subject: SettlementSubject;
  readonly subjectId: string;
  readonly kind: SettlementBreakKind;
  readonly status: BreakStatus;
  readonly originDate: string;
  readonly ageDays: number;
  readonly currency: string;
  readonly amount: string;
  readonly difference: string | null;
  readonly expectedDate: string | null;
  readonly account: string | null;
  readonly valueDate: string | null;
  readonly firstSeenRunId: string;
  readonly lastSeenRunId: string;
  readonly resolvedRunId: string | null;
  readonly resolution: string | null;
  readonly resolutionReason: string | null;
  readonly lagDays: number | null;
  readonly resolvedBy: string | null;
}

/** What a run's reports say about its settlement breaks (read in its final transaction). */
export interface RunSettlementBreaks {
  readonly counts: SettlementBreakCounts;
  /** Pending and open breaks of the run's processor after it (oldest first). */
  readonly active: readonly StoredSettlementBreak[];
  /** Breaks the run resolved (matched). */
  readonly resolved: readonly StoredSettlementBreak[];
}

/** The JSON object of a settlement break (reports, `recon payouts breaks --json`). */
export function settlementBreakJson(b: StoredSettlementBreak): object {
  return {
    break_id: b.breakId,
    processor: b.processor,
    subject: b.subject,
    subject_id: b.subjectId,
    kind: b.kind,
    status: b.status,
    origin_date: b.originDate,
    age_days: b.ageDays,
    age_bucket: ageBucket(b.ageDays),
    currency: b.currency,
    amount: b.amount,
    difference: b.difference,
    expected_date: b.expectedDate,
    account: b.account,
    value_date: b.valueDate,
    first_seen_run_id: b.firstSeenRunId,
    last_seen_run_id: b.lastSeenRunId,
    resolved_run_id: b.resolvedRunId,
    resolution: b.resolution,
    resolution_reason: b.resolutionReason,
    lag_days: b.lagDays,
    resolved_by: b.resolvedBy,
  };
}

/** One line of the e-mail: `po_123 missing in bank, 4 days` (kind in words, age in days). */
export function settlementBreakLine(
  b: Pick<
    StoredSettlementBreak,
    'subject' | 'subjectId' | 'account' | 'kind' | 'difference' | 'currency' | 'amount' | 'ageDays'
  >,
): string {
  const what: Record<SettlementBreakKind, string> = {
    group_sum_mismatch: `does not balance (${b.difference ?? '?'} ${b.currency})`,
    group_incomplete: 'incomplete',
    parent_missing: 'has no payout',
    payout_missing_in_bank: 'missing in bank',
    payout_pending: 'not in the bank yet',
    payout_amount_mismatch: `in the bank with another amount (${b.difference ?? '?'} ${b.currency})`,
    payout_ambiguous: 'ambiguous in the bank',
    bank_credit_unmatched: `bank credit ${b.amount} ${b.currency} unmatched`,
  };
  const name =
    b.subject === 'bank_credit' ? `${b.account ?? ''} ${b.subjectId}`.trim() : b.subjectId;
  return `${name} ${what[b.kind]}, ${b.ageDays} day${b.ageDays === 1 ? '' : 's'}`;
}
