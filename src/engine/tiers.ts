/**
 * The matching tiers of the rules file (issue #14), run in order on the rows still unmatched
 * after the exact id join (`matchTables`): each tier pairs what it can, and what it pairs (or
 * finds ambiguous) is not offered to the tiers after it. Pure and deterministic; the outcome of
 * every row never depends on the order of the input rows.
 *
 * Candidate lookup is hashed: the ledger rows of a tier are grouped by currency, sign and key (or
 * business day when the tier has no key), each group sorted by amount, and every processor row
 * probes only its group(s) within the largest amount difference its tolerance can accept (binary
 * search), never every ledger row.
 */

import { businessDateOf } from '../domain/business-date';
import type { Discrepancy, OutcomeCounts } from '../domain/discrepancy';
import { netAmountOf, type Transaction } from '../domain/transaction';
import { daysBetween } from '../domain/cutoff';
import type { CarriedBreak, CarryResult } from './break-lifecycle';
import type { MatchResult } from './match-transactions';
import {
  classifyTierPair,
  ID_TIER,
  TIER_REJECTION_TEXT,
  tierKey,
  type ProcessorRules,
  type TierRule,
} from './rules';

/** Per tier: pairs made, and per currency their processor amount and |variance| sums (minor units). */
export interface TierMatchSummary {
  readonly tier: string;
  /** Pairs the tier made: clean matches plus matches with variance (and status mismatches). */
  readonly count: number;
  /** Sum of the processor amounts of the pairs, per currency, minor units. */
  readonly amountMinor: ReadonlyMap<string, bigint>;
  /** Sum of |processor − ledger| of the pairs, per currency, minor units. */
  readonly absVarianceMinor: ReadonlyMap<string, bigint>;
}

/**
 * The match result after the tiers: `counts.matched` includes the clean pairs of every tier;
 * `counts.matched_with_variance` and `counts.ambiguous` (rows of both sides) are set;
 * `matchesByTier` counts clean pairs per tier, `id` first; `matches` summarises every tier.
 */
export interface TieredMatchResult extends MatchResult {
  readonly matchesByTier: Readonly<Record<string, number>>;
  readonly matches: readonly TierMatchSummary[];
}

const QUARTER_HOUR_MS = 900_000;

/**
 * Days since 1970-01-01 of the business date (in `zone`) of an instant, cached per quarter hour
 * (every zone's offset is a multiple of 15 minutes, so a quarter hour never spans two dates).
 */
function dayNumbers(zone: string): (epochMs: number) => number {
  const cache = new Map<number, number>();
  return (epochMs) => {
    const quarter = Math.floor(epochMs / QUARTER_HOUR_MS);
    let day = cache.get(quarter);
    if (day === undefined) {
      const date = businessDateOf(epochMs, zone);
      day = Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
      cache.set(quarter, day);
    }
    return day;
  };
}

/**
 * The row as a tier compares it: under fee rules of basis `net`, a processor row's amount is its
 * net (reported, else gross − fee; the gross when it has neither), as in the id join
 * (`matchTables`); otherwise the row itself.
 */
export function comparedRow(
  t: Transaction,
  side: 'processor' | 'internal',
  netBasis: boolean,
): Transaction {
  if (!netBasis || side !== 'processor') return t;
  const net = netAmountOf(t);
  return net === null || net === t.amountMinor ? t : { ...t, amountMinor: net };
}

/**
 * The day number (days since 1970-01-01) of a row's business date: the date its side's cut-off
 * gave it (`Transaction.businessDate`) when set, else its instant's date in the run's zone.
 */
function tierDay(t: Transaction, dayNumber: (epochMs: number) => number): number {
  return t.businessDate !== undefined
    ? Math.round(Date.parse(`${t.businessDate}T00:00:00Z`) / 86_400_000)
    : dayNumber(t.createdAtMs);
}

interface Row {
  /** The row as the tiers compare it (`comparedRow`: the processor's net under basis `net`). */
  readonly t: Transaction;
  /** The row itself, as the discrepancies report it. */
  readonly source: Transaction;
  readonly day: number;
  /** Index in the input discrepancies. */
  readonly at: number;
}

interface TierOutcome {
  /** processor row index → ledger row index. */
  readonly pairs: Array<[number, number]>;
  /** processor row index → its candidates (ledger indexes), for ambiguous processor rows. */
  readonly ambiguousProcessor: Map<number, number[]>;
  readonly ambiguousInternal: Map<number, number[]>;
}

function abs(minor: bigint): bigint {
  return minor < 0n ? -minor : minor;
}

/** Largest |processor − ledger| a tier can accept for a processor amount (`null`: no bound). */
function searchRadius(tier: TierRule, amount: bigint): bigint | null {
  if (tier.type === 'exact') return 0n;
  if (tier.pctBps >= 10_000) return null;
  const rest = BigInt(10_000 - tier.pctBps);
  const relative = (BigInt(tier.pctBps) * (abs(amount) + 1n) + rest - 1n) / rest + 1n;
  return relative > tier.absMinor ? relative : tier.absMinor;
}

function groupKey(tier: TierRule, t: Transaction, key: string, day: number | null): string {
  const sign =
    tier.type === 'tolerance' && tier.allowSignChange ? '' : t.amountMinor < 0n ? '-' : '+';
  return `${t.currency}\u0000${sign}\u0000${day === null ? '' : day}\u0000${key}`;
}

/** First index of `sorted` (ascending amounts) whose amount is ≥ `amount`. */
function lowerBound(sorted: readonly Row[], amount: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as Row).t.amountMinor < amount) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The candidates of every processor row under `tier` (ledger indexes, ascending). */
function candidatesOf(
  tier: TierRule,
  processor: readonly Row[],
  internal: readonly Row[],
  open: { readonly p: Uint8Array; readonly l: Uint8Array },
): Map<number, number[]> {
  const keyed = tier.processorKey !== null && tier.ledgerKey !== null;
  const byDay = !keyed && tier.type === 'tolerance';
  const groups = new Map<string, Row[]>();
  const position = new Map<Row, number>();
  internal.forEach((row, index) => {
    if (!open.l[index]) return;
    let key = '';
    if (keyed && tier.ledgerKey !== null) {
      const k = tierKey(row.t, tier.ledgerKey, tier.normalize);
      if (k === null) return;
      key = k;
    }
    const g = groupKey(tier, row.t, key, byDay ? row.day : null);
    let group = groups.get(g);
    if (!group) groups.set(g, (group = []));
    group.push(row);
    position.set(row, index);
  });
  for (const group of groups.values())
    group.sort((a, b) =>
      a.t.amountMinor < b.t.amountMinor ? -1 : a.t.amountMinor > b.t.amountMinor ? 1 : 0,
    );

  const result = new Map<number, number[]>();
  processor.forEach((row, index) => {
    if (!open.p[index]) return;
    let key = '';
    if (keyed && tier.processorKey !== null) {
      const k = tierKey(row.t, tier.processorKey, tier.normalize);
      if (k === null) return;
      key = k;
    }
    const days: Array<number | null> = [];
    if (byDay && tier.type === 'tolerance') {
      for (let d = tier.minDays; d <= tier.maxDays; d++) {
        days.push(row.day - d);
        if (d !== 0) days.push(row.day + d);
      }
    } else days.push(null);
    const radius = searchRadius(tier, row.t.amountMinor);
    const found: number[] = [];
    for (const day of days) {
      const group = groups.get(groupKey(tier, row.t, key, day));
      if (!group) continue;
      const from = radius === null ? 0 : lowerBound(group, row.t.amountMinor - radius);
      for (let k = from; k < group.length; k++) {
        const other = group[k] as Row;
        if (radius !== null && other.t.amountMinor > row.t.amountMinor + radius) break;
        const verdict = classifyTierPair(
          tier,
          { processor: row.t, internal: other.t, dayDistance: Math.abs(row.day - other.day) },
          keyed,
        );
        if (verdict === null) found.push(position.get(other) as number);
      }
    }
    if (found.length > 0)
      result.set(
        index,
        found.sort((a, b) => a - b),
      );
  });
  return result;
}

/**
 * Runs one tier: a processor row with exactly one candidate that no other processor row claims
 * is paired with it; every other row with a candidate is ambiguous, as are its candidates (the
 * rows of a connected group of more than two rows). Order-independent by construction.
 */
function runTier(
  tier: TierRule,
  processor: readonly Row[],
  internal: readonly Row[],
  open: { readonly p: Uint8Array; readonly l: Uint8Array },
): TierOutcome {
  const candidates = candidatesOf(tier, processor, internal, open);
  const claims = new Map<number, number[]>();
  for (const [p, list] of candidates) {
    for (const l of list) {
      let claimants = claims.get(l);
      if (!claimants) claims.set(l, (claimants = []));
      claimants.push(p);
    }
  }
  const pairs: Array<[number, number]> = [];
  const ambiguousProcessor = new Map<number, number[]>();
  const ambiguousInternal = new Map<number, number[]>();
  for (const [p, list] of candidates) {
    const only = list.length === 1 ? (list[0] as number) : -1;
    if (only >= 0 && (claims.get(only) as number[]).length === 1) {
      pairs.push([p, only]);
      continue;
    }
    ambiguousProcessor.set(p, list);
    for (const l of list) {
      if (!ambiguousInternal.has(l))
        ambiguousInternal.set(
          l,
          [...(claims.get(l) as number[])].sort((a, b) => a - b),
        );
    }
  }
  // A ledger row whose single claimant has other candidates is ambiguous too (set above).
  return { pairs, ambiguousProcessor, ambiguousInternal };
}

/**
 * What a pair a tier made is: `null` when clean (equal compared amounts and statuses), else the
 * two-sided discrepancy it becomes — `matched_with_variance` with processor − ledger on the
 * compared amounts, or `status_mismatch` — both rows as the sources gave them, the tier named.
 * Shared by both stages of the tiers (`applyTiers`, `tiersAgainstCarried`).
 */
function tierPairOutcome(p: Row, l: Row, tier: string): Discrepancy | null {
  const difference = p.t.amountMinor - l.t.amountMinor;
  const statusDiffers =
    p.t.status !== l.t.status ||
    (p.t.status === 'unknown' &&
      p.t.rawStatus.trim().toLowerCase() !== l.t.rawStatus.trim().toLowerCase());
  if (difference === 0n && !statusDiffers) return null;
  const kind = difference !== 0n ? 'matched_with_variance' : 'status_mismatch';
  return {
    kind,
    transactionId: p.source.transactionId,
    side: 'both',
    processor: p.source,
    internal: l.source,
    differenceMinor: kind === 'matched_with_variance' ? difference : null,
    tier,
  };
}

function addTo(map: Map<string, bigint>, currency: string, minor: bigint): void {
  map.set(currency, (map.get(currency) ?? 0n) + minor);
}

/**
 * Sum, per currency, of the processor amounts of the id join's clean pairs: every processor row
 * minus the processor rows of its discrepancies (each processor row is in at most one).
 */
function idTierSums(
  match: MatchResult,
  processorVolume: ReadonlyMap<string, bigint>,
): Map<string, bigint> {
  const sums = new Map(processorVolume);
  for (const d of match.discrepancies) {
    if (d.processor) addTo(sums, d.processor.currency, -d.processor.amountMinor);
  }
  for (const [currency, minor] of sums) if (minor === 0n) sums.delete(currency);
  return sums;
}

/**
 * Applies `rules.tiers` to the one-sided discrepancies (`missing_in_internal`,
 * `missing_in_processor`) of `match`, the result of the id join. Pairs become `matched` (counted
 * in `counts.matched` and `matchesByTier[tier]`), `matched_with_variance` (amounts differ within
 * a tolerance; the difference, processor minus ledger, is recorded) or `status_mismatch` (same
 * amount, statuses differ); rows a tier cannot decide between become `ambiguous` discrepancies,
 * one per row, listing the other side's candidates. Other discrepancies are kept as they are, in
 * their order; new two-sided ones take the place of their processor row.
 *
 * @param processorVolume the processor side's amounts per currency (for the id tier's sum)
 * @param timeZone IANA zone of business dates (date windows compare business dates)
 */
export function applyTiers(
  match: MatchResult,
  rules: ProcessorRules,
  processorVolume: ReadonlyMap<string, bigint>,
  timeZone: string,
): TieredMatchResult {
  const processor: Row[] = [];
  const internal: Row[] = [];
  const dayNumber = dayNumbers(timeZone);
  const netBasis = rules.fees.ledgerAmountBasis === 'net';
  match.discrepancies.forEach((d, at) => {
    if (d.kind === 'missing_in_internal' && d.processor)
      processor.push({
        t: comparedRow(d.processor, 'processor', netBasis),
        source: d.processor,
        day: tierDay(d.processor, dayNumber),
        at,
      });
    else if (d.kind === 'missing_in_processor' && d.internal)
      internal.push({
        t: d.internal,
        source: d.internal,
        day: tierDay(d.internal, dayNumber),
        at,
      });
  });
  const open = {
    p: new Uint8Array(processor.length).fill(1),
    l: new Uint8Array(internal.length).fill(1),
  };
  const counts: OutcomeCounts = { ...match.counts, matched_with_variance: 0, ambiguous: 0 };
  const replaced = new Map<number, Discrepancy>();
  const removed = new Set<number>();
  const matchesByTier: Record<string, number> = { [ID_TIER]: match.counts.matched };
  const matches: TierMatchSummary[] = [
    {
      tier: ID_TIER,
      count: match.counts.matched,
      amountMinor: idTierSums(match, processorVolume),
      absVarianceMinor: new Map(),
    },
  ];
  const ambiguous: Array<{ at: number; d: Discrepancy }> = [];

  for (const tier of rules.tiers) {
    const outcome = runTier(tier, processor, internal, open);
    let clean = 0;
    const amountMinor = new Map<string, bigint>();
    const absVarianceMinor = new Map<string, bigint>();
    for (const [pi, li] of outcome.pairs) {
      open.p[pi] = 0;
      open.l[li] = 0;
      const p = processor[pi] as Row;
      const l = internal[li] as Row;
      counts.missing_in_internal--;
      counts.missing_in_processor--;
      removed.add(l.at);
      addTo(amountMinor, p.t.currency, p.source.amountMinor);
      addTo(absVarianceMinor, p.t.currency, abs(p.t.amountMinor - l.t.amountMinor));
      const pair = tierPairOutcome(p, l, tier.name);
      if (pair === null) {
        counts.matched++;
        clean++;
        removed.add(p.at);
        continue;
      }
      counts[pair.kind] = (counts[pair.kind] ?? 0) + 1;
      replaced.set(p.at, pair);
    }
    const mark = (
      rows: readonly Row[],
      others: readonly Row[],
      found: Map<number, number[]>,
      side: 'processor' | 'internal',
    ): void => {
      for (const [index, list] of found) {
        const row = rows[index] as Row;
        if (side === 'processor') {
          open.p[index] = 0;
          counts.missing_in_internal--;
        } else {
          open.l[index] = 0;
          counts.missing_in_processor--;
        }
        counts.ambiguous = (counts.ambiguous ?? 0) + 1;
        removed.add(row.at);
        ambiguous.push({
          at: row.at,
          d: {
            kind: 'ambiguous',
            transactionId: row.t.transactionId,
            side,
            processor: side === 'processor' ? row.source : null,
            internal: side === 'internal' ? row.source : null,
            differenceMinor: null,
            tier: tier.name,
            candidates: list.map((other) => (others[other] as Row).t.transactionId).sort(),
          },
        });
      }
    };
    mark(processor, internal, outcome.ambiguousProcessor, 'processor');
    mark(internal, processor, outcome.ambiguousInternal, 'internal');
    matchesByTier[tier.name] = clean;
    matches.push({ tier: tier.name, count: outcome.pairs.length, amountMinor, absVarianceMinor });
  }

  const discrepancies: Discrepancy[] = [];
  match.discrepancies.forEach((d, at) => {
    const swap = replaced.get(at);
    if (swap) discrepancies.push(swap);
    else if (!removed.has(at)) discrepancies.push(d);
  });
  // Ambiguous rows after the others, in the order of their source rows (processor side first).
  ambiguous.sort((a, b) => a.at - b.at);
  for (const { d } of ambiguous) discrepancies.push(d);
  return { ...match, counts, discrepancies, matchesByTier, matches };
}

/** One tier's verdict on a transaction, for `recon explain`. */
export interface TierExplanation {
  /** Tier name (`id` for the id join). */
  readonly tier: string;
  readonly type: 'id' | TierRule['type'];
  /** `paired`: this tier paired it; `ambiguous`: it found several candidates; `no_candidate`. */
  readonly verdict: 'paired' | 'ambiguous' | 'no_candidate' | 'not_reached';
  /** The other side's ids this tier accepted as candidates (sorted). */
  readonly candidates: readonly string[];
  /**
   * Without a candidate: up to 3 rows of the other side nearest in amount among those that
   * passed the key (all still-unmatched rows without a key), with the reason each was refused.
   */
  readonly nearest: readonly { readonly transactionId: string; readonly reason: string }[];
}

/** What `recon explain` prints for one transaction id. */
export interface Explanation {
  readonly transactionId: string;
  /** Which side(s) the id was found on. */
  readonly sides: readonly ('processor' | 'internal')[];
  /** Final outcome: `matched` or a discrepancy kind. */
  readonly outcome: string;
  /** Tier that decided the outcome (`id` for the id join), or `null` when none did. */
  readonly decidedBy: string | null;
  /** The counterpart's id when paired. */
  readonly pairedWith: string | null;
  /** processor − ledger in minor units when paired with different amounts. */
  readonly differenceMinor: bigint | null;
  readonly tiers: readonly TierExplanation[];
}

/**
 * Explains the outcome of transaction `id` in a run: which tier matched it, or why each tier did
 * not. `untiered` is the id join's result, `tiered` the result after `applyTiers` (or the same
 * when there are no tiers). Tiers are replayed against the rows the id join left unmatched on
 * the other side (rows an earlier tier consumed are shown as such by the earlier verdicts).
 * Returns `null` when no row of either side has the id.
 */
export function explainTransaction(
  id: string,
  untiered: MatchResult,
  tiered: MatchResult,
  rules: ProcessorRules,
  timeZone: string,
  present: { readonly processor: boolean; readonly internal: boolean },
): Explanation | null {
  const sides: ('processor' | 'internal')[] = [];
  if (present.processor) sides.push('processor');
  if (present.internal) sides.push('internal');
  const tierOfPair = (d: Discrepancy): string | null => d.tier ?? null;
  const involves = (d: Discrepancy): boolean =>
    d.processor?.transactionId === id || d.internal?.transactionId === id;
  const final = tiered.discrepancies.find(involves) ?? null;
  const initial = untiered.discrepancies.find(involves) ?? null;
  if (sides.length === 0 && !final && !initial) return null;

  const idVerdict: TierExplanation = {
    tier: ID_TIER,
    type: 'id',
    verdict: present.processor && present.internal ? 'paired' : 'no_candidate',
    candidates: present.processor && present.internal ? [id] : [],
    nearest: [],
  };
  if (present.processor && present.internal) {
    return {
      transactionId: id,
      sides,
      outcome: initial ? initial.kind : 'matched',
      decidedBy: ID_TIER,
      pairedWith: id,
      differenceMinor: initial?.differenceMinor ?? null,
      tiers: [idVerdict, ...rules.tiers.map((t) => notReached(t))],
    };
  }
  // The row as the id join left it (one-sided, or a duplicate), and the other side's open rows.
  const row = initial?.processor?.transactionId === id ? initial.processor : initial?.internal;
  const onProcessorSide = initial?.kind === 'missing_in_internal';
  const dayNumber = dayNumbers(timeZone);
  const others = untiered.discrepancies
    .filter((d) => d.kind === (onProcessorSide ? 'missing_in_processor' : 'missing_in_internal'))
    .map((d) => (onProcessorSide ? d.internal : d.processor))
    .filter((t): t is Transaction => t !== null);
  const decided =
    final &&
    final.kind !== 'missing_in_internal' &&
    final.kind !== 'missing_in_processor' &&
    final.kind !== 'duplicate'
      ? tierOfPair(final)
      : null;
  // A clean tier pair leaves no discrepancy: find which tier by replaying.
  const cleanlyMatched = !final && initial !== null && row !== undefined && row !== null;
  const verdicts: TierExplanation[] = [idVerdict];
  let reachedEnd = false;
  let decidedBy: string | null = decided;
  for (const tier of rules.tiers) {
    if (
      reachedEnd ||
      !row ||
      (initial?.kind !== 'missing_in_internal' && initial?.kind !== 'missing_in_processor')
    ) {
      verdicts.push(notReached(tier));
      continue;
    }
    const candidates: string[] = [];
    const refused: Array<{ transactionId: string; reason: string; distance: bigint }> = [];
    for (const other of others) {
      const netBasis = rules.fees.ledgerAmountBasis === 'net';
      const pair = onProcessorSide
        ? { processor: comparedRow(row, 'processor', netBasis), internal: other }
        : { processor: comparedRow(other, 'processor', netBasis), internal: row };
      const verdict = classifyTierPair(tier, {
        ...pair,
        dayDistance: Math.abs(tierDay(row, dayNumber) - tierDay(other, dayNumber)),
      });
      if (verdict === null) candidates.push(other.transactionId);
      else if (verdict !== 'key_missing' && verdict !== 'key_differs')
        refused.push({
          transactionId: other.transactionId,
          reason: TIER_REJECTION_TEXT[verdict],
          distance: abs(pair.processor.amountMinor - pair.internal.amountMinor),
        });
    }
    refused.sort((a, b) =>
      a.distance < b.distance
        ? -1
        : a.distance > b.distance
          ? 1
          : a.transactionId < b.transactionId
            ? -1
            : 1,
    );
    const isDecider =
      decided === tier.name || (cleanlyMatched && decidedBy === null && candidates.length > 0);
    const verdict: TierExplanation['verdict'] = isDecider
      ? final?.kind === 'ambiguous'
        ? 'ambiguous'
        : 'paired'
      : candidates.length > 0
        ? 'ambiguous'
        : 'no_candidate';
    if (isDecider) {
      decidedBy = tier.name;
      reachedEnd = true;
    }
    verdicts.push({
      tier: tier.name,
      type: tier.type,
      verdict,
      candidates: candidates.sort(),
      nearest:
        candidates.length > 0
          ? []
          : refused.slice(0, 3).map(({ transactionId, reason }) => ({ transactionId, reason })),
    });
  }
  return {
    transactionId: id,
    sides,
    outcome: final ? final.kind : 'matched',
    decidedBy,
    pairedWith:
      final && final.side === 'both'
        ? ((onProcessorSide ? final.internal : final.processor)?.transactionId ?? null)
        : cleanlyMatched
          ? (verdicts.find((v) => v.tier === decidedBy)?.candidates[0] ?? null)
          : null,
    differenceMinor: final?.differenceMinor ?? null,
    tiers: verdicts,
  };
}

function notReached(tier: TierRule): TierExplanation {
  return { tier: tier.name, type: tier.type, verdict: 'not_reached', candidates: [], nearest: [] };
}

/**
 * The second stage of the tiers (issue #14: "candidates include the open one-sided breaks carried
 * in"): after the tiers paired D's own rows (`applyTiers`) and the carry-over paired carried
 * breaks by id (`carryOver`), every tier runs, in order, between D's rows still one-sided and the
 * carried breaks still open on the other side (never two D rows, never two carried rows).
 * - A clean pair resolves the carried break as a late arrival (`resolved`, with the tier and the
 *   D row's id) and D's row is counted in `timing`, as for a late arrival by id.
 * - A pair inside a tolerance but not equal (or with another status) also resolves the carried
 *   break, and D's row becomes the two-sided `matched_with_variance` (or `status_mismatch`) with
 *   both rows: a break of date D, so the difference is reported, never hidden.
 * - A D row with several candidates (or whose candidate another D row claims) becomes
 *   `ambiguous`, listing the candidates; the carried breaks involved stay as they are.
 * D's rows are paired first among themselves (stage one), so a D row with one D candidate and
 * one carried candidate is paired with the D row. Pure and order-independent, like `applyTiers`.
 * @param carry the result of `carryOver` on the tiered match (its `resolved`/`reclassified` breaks
 *   are not offered again)
 * @param carried every carried break the run loaded (`queryCarried`, with references)
 * @param businessDate D (YYYY-MM-DD): lags are D − origin date
 * @param timeZone zone of business dates for rows without one (see `tierDay`)
 */
export function tiersAgainstCarried(
  carry: CarryResult,
  carried: readonly CarriedBreak[],
  rules: ProcessorRules,
  businessDate: string,
  timeZone: string,
): CarryResult {
  const decided = new Set([
    ...carry.resolved.map((r) => r.breakId),
    ...carry.reclassified.map((r) => r.breakId),
  ]);
  const waiting = carried.filter((c) => !decided.has(c.breakId));
  if (rules.tiers.length === 0 || waiting.length === 0) return carry;
  const dayNumber = dayNumbers(timeZone);
  const netBasis = rules.fees.ledgerAmountBasis === 'net';
  const match = carry.match as TieredMatchResult;
  const dProcessor: Row[] = [];
  const dInternal: Row[] = [];
  match.discrepancies.forEach((d, at) => {
    if (d.kind === 'missing_in_internal' && d.processor)
      dProcessor.push({
        t: comparedRow(d.processor, 'processor', netBasis),
        source: d.processor,
        day: tierDay(d.processor, dayNumber),
        at,
      });
    else if (d.kind === 'missing_in_processor' && d.internal)
      dInternal.push({
        t: d.internal,
        source: d.internal,
        day: tierDay(d.internal, dayNumber),
        at,
      });
  });
  // Carried rows: `at` is the index in `waiting`.
  const carriedRow = (c: CarriedBreak, at: number): Row => {
    const side = c.kind === 'missing_in_internal' ? 'processor' : 'internal';
    return {
      t: comparedRow(c.row, side, netBasis),
      source: c.row,
      day: tierDay(c.row, dayNumber),
      at,
    };
  };
  const cProcessor: Row[] = [];
  const cInternal: Row[] = [];
  waiting.forEach((c, at) =>
    (c.kind === 'missing_in_internal' ? cProcessor : cInternal).push(carriedRow(c, at)),
  );

  const counts: OutcomeCounts = { ...match.counts };
  const removed = new Set<number>();
  const replaced = new Map<number, Discrepancy>();
  const resolved = [...carry.resolved];
  const matchesByTier: Record<string, number> = { ...(match.matchesByTier ?? {}) };
  const summaries = new Map((match.matches ?? []).map((m) => [m.tier, m]));
  let timing = carry.timing;

  // Two directions: D's processor rows against carried ledger rows, carried processor rows
  // against D's ledger rows. `dSide` names which of the two pools holds D's rows.
  const directions = [
    { processor: dProcessor, internal: cInternal, dSide: 'processor' as const },
    { processor: cProcessor, internal: dInternal, dSide: 'internal' as const },
  ];
  for (const { processor, internal, dSide } of directions) {
    if (processor.length === 0 || internal.length === 0) continue;
    const open = {
      p: new Uint8Array(processor.length).fill(1),
      l: new Uint8Array(internal.length).fill(1),
    };
    for (const tier of rules.tiers) {
      const outcome = runTier(tier, processor, internal, open);
      let clean = 0;
      const amountMinor = new Map<string, bigint>();
      const absVarianceMinor = new Map<string, bigint>();
      for (const [pi, li] of outcome.pairs) {
        open.p[pi] = 0;
        open.l[li] = 0;
        const p = processor[pi] as Row;
        const l = internal[li] as Row;
        const dRow = dSide === 'processor' ? p : l;
        const cRow = dSide === 'processor' ? l : p;
        const item = waiting[cRow.at] as CarriedBreak;
        const dKind = dSide === 'processor' ? 'missing_in_internal' : 'missing_in_processor';
        counts[dKind]--;
        addTo(amountMinor, p.t.currency, p.source.amountMinor);
        addTo(absVarianceMinor, p.t.currency, abs(p.t.amountMinor - l.t.amountMinor));
        resolved.push({
          breakId: item.breakId,
          transactionId: item.row.transactionId,
          lagDays: daysBetween(item.originDate, businessDate),
          tier: tier.name,
          pairedWith: dRow.source.transactionId,
        });
        const pair = tierPairOutcome(p, l, tier.name);
        if (pair === null) {
          timing++;
          clean++;
          removed.add(dRow.at);
          continue;
        }
        counts[pair.kind] = (counts[pair.kind] ?? 0) + 1;
        replaced.set(dRow.at, pair);
      }
      // Ambiguity: D's rows involved become `ambiguous`; carried rows involved are closed for
      // the later tiers (they stay open breaks).
      const dFound = dSide === 'processor' ? outcome.ambiguousProcessor : outcome.ambiguousInternal;
      const cFound = dSide === 'processor' ? outcome.ambiguousInternal : outcome.ambiguousProcessor;
      const dRows = dSide === 'processor' ? processor : internal;
      const cRows = dSide === 'processor' ? internal : processor;
      for (const index of cFound.keys()) {
        if (dSide === 'processor') open.l[index] = 0;
        else open.p[index] = 0;
      }
      for (const [index, list] of dFound) {
        if (dSide === 'processor') open.p[index] = 0;
        else open.l[index] = 0;
        const row = dRows[index] as Row;
        const dKind = dSide === 'processor' ? 'missing_in_internal' : 'missing_in_processor';
        counts[dKind]--;
        counts.ambiguous = (counts.ambiguous ?? 0) + 1;
        replaced.set(row.at, {
          kind: 'ambiguous',
          transactionId: row.source.transactionId,
          side: dSide,
          processor: dSide === 'processor' ? row.source : null,
          internal: dSide === 'internal' ? row.source : null,
          differenceMinor: null,
          tier: tier.name,
          candidates: list.map((other) => (cRows[other] as Row).source.transactionId).sort(),
        });
      }
      if (outcome.pairs.length === 0) continue;
      matchesByTier[tier.name] = (matchesByTier[tier.name] ?? 0) + clean;
      const before = summaries.get(tier.name);
      const merged = (a: ReadonlyMap<string, bigint> | undefined, b: Map<string, bigint>) => {
        const out = new Map(a ?? []);
        for (const [currency, minor] of b) addTo(out, currency, minor);
        return out;
      };
      summaries.set(tier.name, {
        tier: tier.name,
        count: (before?.count ?? 0) + outcome.pairs.length,
        amountMinor: merged(before?.amountMinor, amountMinor),
        absVarianceMinor: merged(before?.absVarianceMinor, absVarianceMinor),
      });
    }
  }
  if (removed.size === 0 && replaced.size === 0) return carry;
  const discrepancies: Discrepancy[] = [];
  match.discrepancies.forEach((d, at) => {
    if (removed.has(at)) return;
    discrepancies.push(replaced.get(at) ?? d);
  });
  const tieredMatch: TieredMatchResult = {
    ...match,
    counts,
    discrepancies,
    matchesByTier,
    matches: [...summaries.values()],
  };
  return { ...carry, match: tieredMatch, timing, resolved };
}
