/**
 * The lifecycle of a break (a discrepancy that lives across business dates), as pure functions:
 * statuses, the manual transitions of `recon breaks resolve|reopen`, what a carried one-sided
 * break becomes when a later run sees its counterpart, grace and ageing. No database, no clock:
 * the store records the events these functions decide.
 */

import { daysBetween } from '../domain/cutoff';
import type { Discrepancy, DiscrepancyKind, OutcomeClass } from '../domain/discrepancy';
import { netAmountOf, type Transaction } from '../domain/transaction';
import { DEFAULT_FEE_RULES, type FeeRules } from './fee-rules';
import type { MatchResult } from './match-transactions';

/** Where a break is in its life. `pending`: one-sided and younger than the grace period. */
export const BREAK_STATUSES = ['pending', 'open', 'resolved', 'written_off'] as const;
export type BreakStatus = (typeof BREAK_STATUSES)[number];

/** Append-only events of a break, in the order they happen. */
export const BREAK_EVENT_TYPES = [
  'opened',
  'seen',
  'reclassified',
  'resolved',
  'written_off',
  'reopened',
  'commented',
] as const;
export type BreakEventType = (typeof BREAK_EVENT_TYPES)[number];

/** What a person can do to a break. */
export type ManualAction =
  | { readonly type: 'resolve'; readonly writeOff: boolean }
  | { readonly type: 'reopen' }
  | { readonly type: 'comment' };

/** The outcome of a manual action: the new status and the event to record, or why it is refused. */
export type ManualTransition =
  | { readonly ok: true; readonly status: BreakStatus; readonly event: BreakEventType }
  | { readonly ok: false; readonly reason: string };

/**
 * Applies a manual action to a break in `status`. `resolve` applies to open and pending breaks
 * (`written_off` with `writeOff`), `reopen` to resolved and written-off ones, `comment` to any;
 * every other combination is refused with a one-line reason (the CLI exits 2 with it).
 */
export function applyManualAction(status: BreakStatus, action: ManualAction): ManualTransition {
  switch (action.type) {
    case 'comment':
      return { ok: true, status, event: 'commented' };
    case 'resolve':
      if (status === 'open' || status === 'pending') {
        return action.writeOff
          ? { ok: true, status: 'written_off', event: 'written_off' }
          : { ok: true, status: 'resolved', event: 'resolved' };
      }
      return { ok: false, reason: `the break is already ${status.replace('_', ' ')}` };
    case 'reopen':
      if (status === 'resolved' || status === 'written_off')
        return { ok: true, status: 'open', event: 'reopened' };
      return {
        ok: false,
        reason: `only resolved or written-off breaks can be reopened; it is ${status}`,
      };
  }
}

/** Kinds of break that concern one side only: these are carried to later dates and can resolve by themselves. */
export function isOneSided(kind: DiscrepancyKind): boolean {
  return kind === 'missing_in_internal' || kind === 'missing_in_processor';
}

/**
 * The identity of a break: (processor, transaction id, side) for a one-sided item, (processor,
 * transaction id) for a two-sided one. At most one break per identity is open at a time.
 */
export function breakIdentity(
  processor: string,
  transactionId: string,
  kind: DiscrepancyKind,
  side: 'processor' | 'internal' | 'both',
): string {
  const scope = isOneSided(kind) ? side : 'both';
  return JSON.stringify([processor, transactionId, scope]);
}

/** Age buckets of open breaks, in days, inclusive. */
export const AGE_BUCKETS = ['0-1', '2-3', '4-7', '8-30', '31+'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

/** The bucket of an age in calendar days (0 on the day the break opened). */
export function ageBucket(ageDays: number): AgeBucket {
  if (ageDays <= 1) return '0-1';
  if (ageDays <= 3) return '2-3';
  if (ageDays <= 7) return '4-7';
  if (ageDays <= 30) return '8-30';
  return '31+';
}

/**
 * The status of a one-sided item still unmatched at `ageDays` with a grace of `graceDays`
 * (`RECON_GRACE_DAYS`, default 0): `pending` while younger than the grace, `open` from then on.
 * Two-sided breaks open at once.
 */
export function unmatchedStatus(
  kind: DiscrepancyKind,
  ageDays: number,
  graceDays: number,
): 'pending' | 'open' {
  return isOneSided(kind) && ageDays < graceDays ? 'pending' : 'open';
}

/**
 * What a carried one-sided break becomes when a later run sees a row with its id on the other
 * side: `resolved` (late arrival) when the pair matches cleanly, `reclassified` to the pair's
 * kind when it disagrees (amount, currency or status; the break keeps its id, origin date and
 * age), `open` when nothing was seen.
 */
export type CarryOutcome =
  | { readonly type: 'resolved'; readonly resolution: 'late_arrival'; readonly lagDays: number }
  | { readonly type: 'reclassified'; readonly kind: DiscrepancyKind }
  | { readonly type: 'open' };

/**
 * Decides a carried break's fate from the classification of its pair in the run of a later date.
 * @param pair `matched`, a two-sided kind, or `null` when the counterpart did not arrive.
 * @param lagDays business date of the run minus the break's origin date (≥ 1).
 */
export function carryOutcome(
  pair: 'matched' | DiscrepancyKind | null,
  lagDays: number,
): CarryOutcome {
  if (pair === null) return { type: 'open' };
  if (pair === 'matched') return { type: 'resolved', resolution: 'late_arrival', lagDays };
  if (isOneSided(pair)) return { type: 'open' };
  return { type: 'reclassified', kind: pair };
}

/**
 * An open (or pending) one-sided break of an earlier business date, carried into the run of a
 * later date: `row` is the side that has the transaction (`processor` for `missing_in_internal`,
 * `internal` for `missing_in_processor`). `originDate` is its origin business date (YYYY-MM-DD).
 */
export interface CarriedBreak {
  readonly breakId: string;
  readonly kind: 'missing_in_internal' | 'missing_in_processor';
  readonly originDate: string;
  readonly row: Transaction;
}

/** A carried break that the run resolved (late arrival) or reclassified, by break id. */
export interface CarriedResolution {
  readonly breakId: string;
  readonly transactionId: string;
  readonly lagDays: number;
  /** Set when a rules-file tier (not the id) paired it: the tier and the row of D it paired. */
  readonly tier?: string;
  readonly pairedWith?: string;
}
export interface CarriedReclassification {
  readonly breakId: string;
  readonly transactionId: string;
  readonly from: 'missing_in_internal' | 'missing_in_processor';
  readonly discrepancy: Discrepancy;
}

/**
 * The run's match result with its carried breaks folded in. `match`: D's own rows, where a row
 * that completed a carried break is no longer a one-sided discrepancy (a clean pair is counted in
 * `timing`, a disagreeing pair replaces the row's discrepancy with the two-sided one, both rows
 * set). `checkAccounting` holds for the match BEFORE folding; after it, D's rows are
 * matched + timing + discrepancy rows.
 */
export interface CarryResult {
  readonly match: MatchResult;
  readonly timing: number;
  readonly resolved: readonly CarriedResolution[];
  readonly reclassified: readonly CarriedReclassification[];
}

/**
 * The processor amount compared with the ledger under fee rules of basis `net` (`netBasis`): its
 * net (reported, else gross − fee; the gross when it has neither), else its gross.
 */
function comparedAmount(processor: Transaction, netBasis: boolean): bigint {
  return netBasis ? (netAmountOf(processor) ?? processor.amountMinor) : processor.amountMinor;
}

/**
 * How a pair (same id, one row per side) classifies: the precedence of `matchTables` (currency,
 * amount — the processor's net with `netBasis` — then status).
 */
export function classifyPair(
  processor: Transaction,
  internal: Transaction,
  netBasis = false,
): OutcomeClass {
  if (processor.currency !== internal.currency) return 'currency_mismatch';
  if (comparedAmount(processor, netBasis) !== internal.amountMinor) return 'amount_mismatch';
  const differs =
    processor.status !== internal.status ||
    (processor.status === 'unknown' &&
      processor.rawStatus.trim().toLowerCase() !== internal.rawStatus.trim().toLowerCase());
  return differs ? 'status_mismatch' : 'matched';
}

/**
 * Matches carried one-sided breaks against D's one-sided discrepancies of the other side with
 * the same transaction id (a hash join on the id), and decides each pair with `carryOutcome`.
 * Pure: the store applies the result in the run's transaction.
 * @param businessDate D (YYYY-MM-DD); lags are D − origin date in calendar days.
 * @param fees the processor's fee rules: with basis `net` the ledger amount is compared with the
 *   processor's net, as in the id join (default: gross).
 */
export function carryOver(
  match: MatchResult,
  carried: readonly CarriedBreak[],
  businessDate: string,
  fees: FeeRules = DEFAULT_FEE_RULES,
): CarryResult {
  const netBasis = fees.ledgerAmountBasis === 'net';
  if (carried.length === 0) return { match, timing: 0, resolved: [], reclassified: [] };
  // D's one-sided rows by side and id: the first of each (later ones are D's duplicates).
  const waiting = new Map<string, number>();
  match.discrepancies.forEach((d, index) => {
    if (!isOneSided(d.kind)) return;
    const key = `${d.kind}\u0000${d.transactionId}`;
    if (!waiting.has(key)) waiting.set(key, index);
  });
  const counts = { ...match.counts };
  const removed = new Set<number>();
  const replaced = new Map<number, Discrepancy>();
  const resolved: CarriedResolution[] = [];
  const reclassified: CarriedReclassification[] = [];
  let timing = 0;
  for (const item of carried) {
    const other =
      item.kind === 'missing_in_internal' ? 'missing_in_processor' : 'missing_in_internal';
    const index = waiting.get(`${other}\u0000${item.row.transactionId}`);
    if (index === undefined) continue;
    const d = match.discrepancies[index];
    const counterpart = d?.processor ?? d?.internal;
    if (!d || !counterpart) continue;
    waiting.delete(`${other}\u0000${item.row.transactionId}`);
    const processorRow = item.kind === 'missing_in_internal' ? item.row : counterpart;
    const internalRow = item.kind === 'missing_in_internal' ? counterpart : item.row;
    const lagDays = daysBetween(item.originDate, businessDate);
    const outcome = carryOutcome(classifyPair(processorRow, internalRow, netBasis), lagDays);
    if (outcome.type === 'open') continue;
    counts[other]--;
    if (outcome.type === 'resolved') {
      timing++;
      removed.add(index);
      resolved.push({ breakId: item.breakId, transactionId: item.row.transactionId, lagDays });
    } else {
      counts[outcome.kind]++;
      const discrepancy: Discrepancy = {
        kind: outcome.kind,
        transactionId: item.row.transactionId,
        side: 'both',
        processor: processorRow,
        internal: internalRow,
        differenceMinor:
          outcome.kind === 'amount_mismatch'
            ? comparedAmount(processorRow, netBasis) - internalRow.amountMinor
            : null,
      };
      replaced.set(index, discrepancy);
      reclassified.push({
        breakId: item.breakId,
        transactionId: item.row.transactionId,
        from: item.kind,
        discrepancy,
      });
    }
  }
  if (removed.size === 0 && replaced.size === 0) {
    return { match, timing: 0, resolved: [], reclassified: [] };
  }
  const discrepancies: Discrepancy[] = [];
  match.discrepancies.forEach((d, index) => {
    if (removed.has(index)) return;
    discrepancies.push(replaced.get(index) ?? d);
  });
  return { match: { ...match, counts, discrepancies }, timing, resolved, reclassified };
}
