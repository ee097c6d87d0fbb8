/**
 * Matching rules (issue #14): the one home of the rule types, their validation and the
 * classification of a pair. Both engines take the same `MatchRules` value; the rules-file loader
 * (`config/rules-file.ts`) produces it, the tiers (`engine/tiers.ts`) run it on the rows still
 * unmatched after the id join. Pure: no I/O, no clock. Amounts are bigint minor units.
 *
 * The id join's key per processor (`JoinKeyRule`) is applied to both sides' rows before matching
 * (`withJoinKey`), so both engines join on it unchanged.
 *
 * A new rule type is declared here (type, `checkTier`, `classifyTierPair` / `tierThreshold`),
 * run in `engine/tiers.ts`, described in the README ("Matching rules") and, until the postgres
 * engine generates SQL for it, listed by `rulesTheSqlEngineCannotRun`.
 */

import type { Transaction } from '../domain/transaction';
import { TransactionTable } from '../domain/transaction-table';
import { DEFAULT_FEE_RULES, type FeeRules } from './fee-rules';

/** Canonical columns a tier may join on (both sides; `reference` is the optional CSV column). */
export const KEY_FIELDS = ['transaction_id', 'reference', 'description', 'merchant_id'] as const;
/** A canonical column used as a join key. */
export type KeyField = (typeof KEY_FIELDS)[number];

/**
 * Normalizations of a key, applied in the order listed: `trim` (outer white space), `upper`
 * (upper case), `alnum` (only letters and digits are kept).
 */
export const NORMALIZATIONS = ['trim', 'upper', 'alnum'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

/**
 * What the tolerance of a `tolerance` tier is a percentage of: the larger or smaller absolute
 * amount of the pair, or the processor's or the ledger's absolute amount.
 */
export const TOLERANCE_BASES = ['max', 'min', 'processor', 'ledger'] as const;
export type ToleranceBase = (typeof TOLERANCE_BASES)[number];

/** Tier types, in the order the README documents them. */
export const TIER_TYPES = ['exact', 'tolerance'] as const;
export type TierType = (typeof TIER_TYPES)[number];

/** A tier's name: lower-case identifier; `id` is reserved for the exact id join (tier 0). */
export const TIER_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** The name under which pairs of the exact id join (tier 0) are counted. */
export const ID_TIER = 'id';

/**
 * `exact` tier: pairs a processor row and a ledger row whose normalized keys (`processorKey` of
 * the processor row, `ledgerKey` of the ledger row, both non-empty), currency and amount are all
 * equal. A key match with a different amount is not consumed (a later tier may take it).
 */
export interface ExactTier {
  readonly type: 'exact';
  readonly name: string;
  readonly processorKey: KeyField;
  readonly ledgerKey: KeyField;
  readonly normalize: readonly Normalization[];
}

/**
 * `tolerance` tier: pairs rows of the same currency (and the same sign unless `allowSignChange`)
 * whose amounts differ by at most `max(absMinor, round_half_up(pctBps × base / 10000))` minor
 * units (inclusive), whose business dates are `minDays` to `maxDays` calendar days apart
 * (absolute difference, inclusive) and, when keys are given, whose normalized keys are equal.
 */
export interface ToleranceTier {
  readonly type: 'tolerance';
  readonly name: string;
  /** Both set or both `null` (no key: any row in the amount and date window is a candidate). */
  readonly processorKey: KeyField | null;
  readonly ledgerKey: KeyField | null;
  readonly normalize: readonly Normalization[];
  /** Absolute tolerance in minor units, ≥ 0. */
  readonly absMinor: bigint;
  /** Relative tolerance in basis points of `base`, integer ≥ 0 (50 = 0.5 %). */
  readonly pctBps: number;
  readonly base: ToleranceBase;
  /** Business-date window, calendar days, 0 ≤ minDays ≤ maxDays. */
  readonly minDays: number;
  readonly maxDays: number;
  /** Whether a negative amount may pair with a non-negative one (default `false`). */
  readonly allowSignChange: boolean;
}

/** One tier of a processor's rules. */
export type TierRule = ExactTier | ToleranceTier;

/**
 * The join key of the exact id join (tier 0) of one processor (rules file `key`): which canonical
 * column of the processor rows and of the ledger rows is joined on instead of `transaction_id`,
 * normalized with `normalize` (both sides). Applied before matching by `withJoinKey`.
 */
export interface JoinKeyRule {
  readonly processorKey: KeyField;
  readonly ledgerKey: KeyField;
  readonly normalize: readonly Normalization[];
}

/**
 * The rules of one processor: its tiers, run in order after the exact id join, its fee
 * settings (consumed by the fee checks, `engine/fees.ts`), optionally `groupKey`: the
 * canonical column whose value several ledger rows share when they book one processor row (the
 * N:1 ledger split of issue #15, `engine/ledger-split.ts`; absent: no ledger split) and, when the
 * rules file sets one, the join key of the id join (`key`; absent: `transaction_id` as read).
 */
export interface ProcessorRules {
  readonly tiers: readonly TierRule[];
  readonly fees: FeeRules;
  readonly groupKey?: KeyField;
  readonly key?: JoinKeyRule;
}

/**
 * Every processor's rules, and where they came from: the rules file's canonical content (JSON,
 * keys sorted) and its SHA-256, stored on the run row and in its audit entry. `source: null`
 * means no rules file (today's behaviour: id join only).
 */
export interface MatchRules {
  readonly processors: Readonly<Record<string, ProcessorRules>>;
  readonly source: {
    readonly path: string;
    readonly canonical: string;
    readonly sha256: string;
  } | null;
}

/** The rules without a rules file: no tiers, default fees, for every processor. */
export const NO_RULES: MatchRules = { processors: {}, source: null };

/** The rules of `processor` (no tiers and default fees when it has none). */
export function rulesFor(rules: MatchRules, processor: string): ProcessorRules {
  return rules.processors[processor] ?? { tiers: [], fees: DEFAULT_FEE_RULES };
}

/**
 * The problems of one tier, each as `[path in the tier, what was expected]`; empty when valid.
 * The rules-file loader checks the shape (types, unknown keys); this checks what the engine
 * needs (key pairs, ranges).
 */
export function checkTier(tier: TierRule): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (!TIER_NAME_PATTERN.test(tier.name))
    problems.push(['name', 'a lower-case name (letters, digits, _), starting with a letter']);
  if (tier.name === ID_TIER)
    problems.push(['name', `a name other than '${ID_TIER}' (reserved for the id join)`]);
  if (tier.type === 'tolerance') {
    if ((tier.processorKey === null) !== (tier.ledgerKey === null))
      problems.push(['processor_key', 'processor_key and ledger_key both set or both absent']);
    if (tier.absMinor < 0n) problems.push(['abs_minor', 'a whole number ≥ 0 (minor units)']);
    if (!Number.isInteger(tier.pctBps) || tier.pctBps < 0)
      problems.push(['pct_bps', 'a whole number ≥ 0 (basis points)']);
    if (!Number.isInteger(tier.minDays) || tier.minDays < 0)
      problems.push(['min_days', 'a whole number ≥ 0 (calendar days)']);
    if (!Number.isInteger(tier.maxDays) || tier.maxDays < tier.minDays)
      problems.push(['max_days', 'a whole number ≥ min_days (calendar days)']);
  }
  return problems;
}

/** Applies `normalize` in order to `text`. */
export function normalizeKey(text: string, normalize: readonly Normalization[]): string {
  let key = text;
  for (const step of normalize) {
    if (step === 'trim') key = key.trim();
    else if (step === 'upper') key = key.toUpperCase();
    else key = key.replace(/[^\p{L}\p{N}]/gu, '');
  }
  return key;
}

/** The value of canonical column `field` of `row` (`''` when the row has none). */
export function keyValue(row: Transaction, field: KeyField): string {
  switch (field) {
    case 'transaction_id':
      return row.transactionId;
    case 'reference':
      return row.reference ?? '';
    case 'description':
      return row.description ?? '';
    case 'merchant_id':
      return row.merchantId;
  }
}

/** The normalized join key of `row` for `field`, or `null` when it is empty after normalizing. */
export function tierKey(
  row: Transaction,
  field: KeyField,
  normalize: readonly Normalization[],
): string | null {
  const key = normalizeKey(keyValue(row, field), normalize);
  return key === '' ? null : key;
}

/** Whether keying `side` by `field` with `normalize` changes nothing (`transaction_id` as read). */
export function isIdentityKey(field: KeyField, normalize: readonly Normalization[]): boolean {
  return field === 'transaction_id' && normalize.length === 0;
}

/**
 * One side's rows keyed for the id join (tier 0, see `JoinKeyRule`): a new table with the same
 * rows in the same order, each row's `transactionId` replaced by its normalized `field` (that
 * value is then its id everywhere: duplicates, reports, breaks, the store), or kept as it is
 * where that is empty (a row without a reference still has an identity). The cut-off is carried
 * over. Returns `table` itself when the key is the identity (`isIdentityKey`). O(rows).
 */
export function withJoinKey(
  table: TransactionTable,
  field: KeyField,
  normalize: readonly Normalization[],
): TransactionTable {
  if (isIdentityKey(field, normalize)) return table;
  const keyed = new TransactionTable();
  for (let row = 0; row < table.length; row++) {
    const t = table.at(row);
    const key = tierKey(t, field, normalize);
    keyed.append(key === null || key === t.transactionId ? t : { ...t, transactionId: key });
  }
  keyed.setCutoff(table.cutoff);
  return keyed;
}

function abs(minor: bigint): bigint {
  return minor < 0n ? -minor : minor;
}

/**
 * The amount tolerance of a tolerance tier for one pair, in minor units:
 * `max(absMinor, round_half_up(pctBps × base / 10000))` where `base` is the absolute amount the
 * tier's `base` names. Exact integer arithmetic (no floats).
 */
export function tierThreshold(
  tier: ToleranceTier,
  processorMinor: bigint,
  ledgerMinor: bigint,
): bigint {
  const p = abs(processorMinor);
  const l = abs(ledgerMinor);
  const base =
    tier.base === 'max'
      ? p > l
        ? p
        : l
      : tier.base === 'min'
        ? p < l
          ? p
          : l
        : tier.base === 'processor'
          ? p
          : l;
  const scaled = BigInt(tier.pctBps) * base;
  // round half up of scaled / 10000 for scaled ≥ 0
  const relative = (scaled * 2n + 10000n) / 20000n;
  return relative > tier.absMinor ? relative : tier.absMinor;
}

/** Why a tier does not pair two rows, or `null` when it does (see `classifyTierPair`). */
export type TierRejection =
  | 'key_missing'
  | 'key_differs'
  | 'currency_differs'
  | 'sign_differs'
  | 'amount_differs'
  | 'outside_tolerance'
  | 'outside_date_window';

/** One pair as a tier sees it: both rows and their business dates' distance in calendar days. */
export interface TierPair {
  readonly processor: Transaction;
  readonly internal: Transaction;
  /** |business date of the processor row − business date of the ledger row|, calendar days. */
  readonly dayDistance: number;
}

/**
 * Whether `tier` accepts `pair` as a candidate: `null` when it does, else the first reason it
 * does not (key, currency, sign, amount/tolerance, date window, in that order). The tiers and
 * `recon explain` both decide with this function. `keysChecked`: the caller already grouped the
 * rows by their normalized keys (the tiers' hashed lookup), so the keys are not compared again.
 */
export function classifyTierPair(
  tier: TierRule,
  pair: TierPair,
  keysChecked = false,
): TierRejection | null {
  const { processor: p, internal: l } = pair;
  if (!keysChecked && tier.processorKey !== null && tier.ledgerKey !== null) {
    const pk = tierKey(p, tier.processorKey, tier.normalize);
    const lk = tierKey(l, tier.ledgerKey, tier.normalize);
    if (pk === null || lk === null) return 'key_missing';
    if (pk !== lk) return 'key_differs';
  }
  if (p.currency !== l.currency) return 'currency_differs';
  if (tier.type === 'exact') return p.amountMinor === l.amountMinor ? null : 'amount_differs';
  if (!tier.allowSignChange && p.amountMinor < 0n !== l.amountMinor < 0n) return 'sign_differs';
  if (abs(p.amountMinor - l.amountMinor) > tierThreshold(tier, p.amountMinor, l.amountMinor))
    return 'outside_tolerance';
  if (pair.dayDistance < tier.minDays || pair.dayDistance > tier.maxDays)
    return 'outside_date_window';
  return null;
}

/** Plain-English text of a `TierRejection` (for `recon explain`). */
export const TIER_REJECTION_TEXT: Readonly<Record<TierRejection, string>> = {
  key_missing: 'one of the rows has no value for the key',
  key_differs: 'the keys differ',
  currency_differs: 'the currencies differ',
  sign_differs: 'one amount is negative and the other is not (refund vs charge)',
  amount_differs: 'the amounts differ',
  outside_tolerance: 'the amount difference is larger than the tolerance',
  outside_date_window: 'the business dates are outside the date window',
};

/**
 * Rules the postgres engine cannot run, as `[path, reason]`: none. Its SQL does the id join, and
 * the tiers run in process on the bounded remainder of that join (the same `applyTiers` as the
 * memory engine; README "Matching rules"). Kept as the port's place for a future rule that only
 * one engine can run.
 */
export function rulesTheSqlEngineCannotRun(rules: MatchRules): Array<[string, string]> {
  void rules;
  return [];
}
