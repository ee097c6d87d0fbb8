/**
 * The lifecycle of a break (a discrepancy that lives across business dates), as pure functions:
 * statuses, the manual transitions of `recon breaks resolve|reopen`, what a carried one-sided
 * break becomes when a later run sees its counterpart, grace and ageing. No database, no clock:
 * the store records the events these functions decide.
 */

import type { DiscrepancyKind } from '../domain/discrepancy';

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
