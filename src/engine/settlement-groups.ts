import { currencyExponent, type CurrencyCode } from '../domain/currency';
import { formatMinor } from '../domain/money';

/**
 * Settlement groups (issue #15, "1:N, keyed, never guessed"): a parent (a payout, an Adyen batch's
 * `MerchantPayout`) and the children that share its key (the balance transactions of a Stripe
 * payout, the other rows of an Adyen batch, the entries of a Square payout, the ledger rows of one
 * order). Pure arithmetic: no I/O, no clock (the business date is an argument).
 *
 * Invariant, per key AND currency, in integer minor units: `sum(children.net) = parent.amount`
 * within `toleranceMinor` (default 0). `difference = children_sum − parent_amount`.
 */

/** What produced the group; the JSON contract's `kind` (`paypal_payout`: a canonical payouts file of PayPal). */
export type SettlementGroupKind =
  'stripe_payout' | 'adyen_batch' | 'square_payout' | 'paypal_payout' | 'ledger_split';

/** Every group kind (the CHECK of `settlement_groups.kind` in setup.sql lists the same). */
export const SETTLEMENT_GROUP_KINDS: readonly SettlementGroupKind[] = [
  'stripe_payout',
  'adyen_batch',
  'square_payout',
  'paypal_payout',
  'ledger_split',
];

/**
 * Outcome of one group: `group_matched` (the children add up, within the tolerance);
 * `group_sum_mismatch` (they do not, and the payout is due); `group_incomplete` (they do not yet,
 * but the payout is not due yet: children may still come — pending in the break lifecycle's
 * sense); `parent_missing` (children name a parent that was not fetched); `unattributable` (the
 * parent cannot be itemized, e.g. Stripe manual and instant payouts: no arithmetic is done).
 */
export type SettlementGroupStatus =
  'group_matched' | 'group_sum_mismatch' | 'group_incomplete' | 'parent_missing' | 'unattributable';

/** Every group outcome, in report order. */
export const SETTLEMENT_GROUP_STATUSES: readonly SettlementGroupStatus[] = [
  'group_matched',
  'group_sum_mismatch',
  'group_incomplete',
  'parent_missing',
  'unattributable',
];

/**
 * Waterfall bucket of a child: `charge` (a payment), `refund`, `dispute` (chargebacks and their
 * reversals), `fee` (a fee row of its own: Stripe `stripe_fee`, Adyen `Fee`, `MiscCosts`,
 * `InvoiceDeduction`, `PaymentCost`), `adjustment` (anything else: adjustments, balance transfers,
 * reserve movements).
 */
export type ChildCategory = 'charge' | 'refund' | 'dispute' | 'fee' | 'adjustment';

/**
 * The parent of a group. `key`: what its children name (Stripe `po_…`, Adyen batch number,
 * Square payout id, order id); `amount`: the payout amount in MINOR units of `currency`, positive
 * for money paid out to the merchant (an Adyen `MerchantPayout` row's net debit); `dueDate`: the
 * payout's arrival or expected date `YYYY-MM-DD` (null: due now); `itemizable`: false for a parent
 * whose children cannot be listed (→ `unattributable`).
 */
export interface SettlementParent {
  readonly kind: SettlementGroupKind;
  readonly key: string;
  readonly currency: CurrencyCode;
  readonly amount: bigint;
  readonly dueDate: string | null;
  readonly itemizable: boolean;
}

/**
 * A child of a group: `id` (the child's own id, a balance transaction `txn_…`, a PSP reference),
 * `parentKey` (the key of the parent it names), `category`, and its amounts in MINOR units of
 * `currency`, signed from the merchant's side: `net` (what it adds to the payout) and `gross`
 * (before fees; `gross − net` is the fee taken from it). For a child without fees `gross = net`.
 */
export interface SettlementChild {
  readonly id: string;
  readonly parentKey: string;
  readonly category: ChildCategory;
  readonly currency: CurrencyCode;
  readonly gross: bigint;
  readonly net: bigint;
}

/**
 * The payout waterfall of a group, signed minor units of the group's currency: `charges`
 * (gross of the charges), `fees` (≤ 0 normally: the fees taken from every child plus the fee
 * rows), `refunds`, `disputes`, `adjustments` (gross of those children), `payout` (the parent
 * amount, 0 without a parent) and `unexplainedResidual` = charges + fees + refunds + disputes +
 * adjustments − payout = the group's difference (reported, never absorbed).
 */
export interface PayoutWaterfall {
  readonly charges: bigint;
  readonly fees: bigint;
  readonly refunds: bigint;
  readonly disputes: bigint;
  readonly adjustments: bigint;
  readonly payout: bigint;
  readonly unexplainedResidual: bigint;
}

/**
 * One group's result. `parentAmount` / `difference` are null for `parent_missing` (no parent) and
 * `unattributable` (no arithmetic); `childrenSum` is the sum of the children's net (0 when none);
 * `children` are the group's children in input order (listed for a mismatch).
 */
export interface SettlementGroupResult {
  readonly kind: SettlementGroupKind;
  readonly parentId: string;
  readonly currency: CurrencyCode;
  readonly parentAmount: bigint | null;
  readonly childrenSum: bigint;
  readonly difference: bigint | null;
  readonly childCount: number;
  readonly status: SettlementGroupStatus;
  readonly dueDate: string | null;
  readonly waterfall: PayoutWaterfall;
  readonly children: readonly SettlementChild[];
}

/**
 * Options of `buildSettlementGroups`: `asOfDate` (the business date, `YYYY-MM-DD`: a parent whose
 * `dueDate` is after it is not due yet), `toleranceMinor` (the allowed |difference| in minor units
 * of each group's currency, default 0n), `orphanKind` (the `kind` of `parent_missing` groups).
 */
export interface SettlementGroupOptions {
  readonly asOfDate: string;
  readonly toleranceMinor?: bigint;
  readonly orphanKind: SettlementGroupKind;
}

const groupKey = (key: string, currency: string): string => `${key}\u0000${currency}`;

/** The waterfall of `children` paid out as `payout` (minor units). */
export function payoutWaterfall(
  children: readonly SettlementChild[],
  payout: bigint,
): PayoutWaterfall {
  let charges = 0n;
  let fees = 0n;
  let refunds = 0n;
  let disputes = 0n;
  let adjustments = 0n;
  for (const child of children) {
    if (child.category === 'fee') {
      fees += child.net;
      continue;
    }
    fees += child.net - child.gross;
    if (child.category === 'charge') charges += child.gross;
    else if (child.category === 'refund') refunds += child.gross;
    else if (child.category === 'dispute') disputes += child.gross;
    else adjustments += child.gross;
  }
  return {
    charges,
    fees,
    refunds,
    disputes,
    adjustments,
    payout,
    unexplainedResidual: charges + fees + refunds + disputes + adjustments - payout,
  };
}

/**
 * Groups `children` under `parents` by (key, currency) with one hash lookup per child, and
 * classifies every group. One result per parent (in input order), then one `parent_missing`
 * result per (key, currency) that children name but no parent has (in order of first child).
 * Throws `RangeError` when two parents share a key and currency (the caller must merge them: a
 * payout is one parent).
 */
export function buildSettlementGroups(
  parents: readonly SettlementParent[],
  children: readonly SettlementChild[],
  options: SettlementGroupOptions,
): SettlementGroupResult[] {
  const tolerance = options.toleranceMinor ?? 0n;
  const byKey = new Map<string, SettlementChild[]>();
  for (const child of children) {
    const key = groupKey(child.parentKey, child.currency);
    const list = byKey.get(key);
    if (list) list.push(child);
    else byKey.set(key, [child]);
  }
  const seen = new Set<string>();
  const results: SettlementGroupResult[] = [];
  for (const parent of parents) {
    const key = groupKey(parent.key, parent.currency);
    if (seen.has(key))
      throw new RangeError(`two parents with key ${parent.key} in ${parent.currency}`);
    seen.add(key);
    const members = byKey.get(key) ?? [];
    const childrenSum = members.reduce((sum, child) => sum + child.net, 0n);
    const common = {
      kind: parent.kind,
      parentId: parent.key,
      currency: parent.currency,
      childrenSum,
      childCount: members.length,
      dueDate: parent.dueDate,
      children: members,
    };
    if (!parent.itemizable) {
      results.push({
        ...common,
        parentAmount: parent.amount,
        difference: null,
        status: 'unattributable',
        waterfall: payoutWaterfall(members, parent.amount),
      });
      continue;
    }
    const difference = childrenSum - parent.amount;
    const within = (difference < 0n ? -difference : difference) <= tolerance;
    const due = parent.dueDate === null || parent.dueDate <= options.asOfDate;
    results.push({
      ...common,
      parentAmount: parent.amount,
      difference,
      status: within ? 'group_matched' : due ? 'group_sum_mismatch' : 'group_incomplete',
      waterfall: payoutWaterfall(members, parent.amount),
    });
  }
  for (const [key, members] of byKey) {
    if (seen.has(key)) continue;
    const first = members[0] as SettlementChild;
    results.push({
      kind: options.orphanKind,
      parentId: first.parentKey,
      currency: first.currency,
      parentAmount: null,
      childrenSum: members.reduce((sum, child) => sum + child.net, 0n),
      difference: null,
      childCount: members.length,
      status: 'parent_missing',
      dueDate: null,
      waterfall: payoutWaterfall(members, 0n),
      children: members,
    });
  }
  return results;
}

/** How many groups have each outcome (every outcome present, 0 when none). */
export function countGroupStatuses(
  groups: readonly SettlementGroupResult[],
): Record<SettlementGroupStatus, number> {
  const counts = Object.fromEntries(SETTLEMENT_GROUP_STATUSES.map((s) => [s, 0])) as Record<
    SettlementGroupStatus,
    number
  >;
  for (const group of groups) counts[group.status]++;
  return counts;
}

/**
 * A group as the `settlement.groups[]` element of `recon run --json` (issue #15 contract), amounts
 * as exact decimal strings in major units of the group's currency (null when absent);
 * `bankEntry` is the matched bank statement entry's reference, or null.
 */
export function settlementGroupJson(
  group: SettlementGroupResult,
  bankEntry: string | null,
): {
  parent_id: string;
  kind: SettlementGroupKind;
  currency: string;
  parent_amount: string | null;
  children_sum: string;
  difference: string | null;
  child_count: number;
  status: SettlementGroupStatus;
  bank_entry: string | null;
} {
  const exponent = currencyExponent(group.currency);
  const show = (minor: bigint | null): string | null =>
    minor === null ? null : formatMinor(minor, exponent);
  return {
    parent_id: group.parentId,
    kind: group.kind,
    currency: group.currency,
    parent_amount: show(group.parentAmount),
    children_sum: formatMinor(group.childrenSum, exponent),
    difference: show(group.difference),
    child_count: group.childCount,
    status: group.status,
    bank_entry: bankEntry,
  };
}
