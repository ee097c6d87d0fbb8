import Big from 'big.js';
import escapeHtml from 'escape-html';
import { currencyExponent } from '../domain/currency';
import { currentRedactor } from '../domain/redact';
import { DISCREPANCY_KINDS, type OutcomeCounts } from '../domain/discrepancy';
import { convertToReporting, type FxRates } from '../domain/fx-rates';

/** One side (processor or ledger) of a discrepancy: money as a decimal string in major units. */
export interface DigestSide {
  readonly amount: string;
  readonly currency: string;
  /** The status as the source wrote it (`COMPLETED`, `settled`). */
  readonly status: string;
  /** 1-based line of the row in its input, when read from a file. */
  readonly line: number | null;
}

/** One discrepancy line of the e-mail (money as decimal strings in major units). */
export interface DigestDiscrepancy {
  readonly processor: string;
  readonly businessDate: string;
  readonly kind: string;
  readonly transactionId: string;
  /** The absolute amount at stake (see `discrepancyImpact`), in major units of `currency`. */
  readonly amount: string;
  readonly currency: string;
  readonly merchantId: string | null;
  /** Both rows of the pair; null for the side that has none (a missing row, a duplicate). */
  readonly processorSide: DigestSide | null;
  readonly ledgerSide: DigestSide | null;
}

/** Data-quality findings of a run, summarised per check and severity. */
export interface DigestQuality {
  readonly check: string;
  readonly severity: string;
  readonly count: number;
  /** A few example rows: `file line N field: reason`. */
  readonly examples: readonly string[];
}

/** Where a run's reports are: presigned URLs when archived in S3, else local paths. */
export interface DigestLinks {
  readonly kind: 'presigned' | 'local';
  readonly csv: string | null;
  readonly json: string | null;
  /**
   * `payouts_{processor}_{date}.csv` (issue #15), shown only for a run with a settlement; absent
   * or null when there is none (or its upload failed).
   */
  readonly payouts?: string | null;
  /**
   * When presigned links stop working (ISO 8601 UTC): the requested lifetime, or earlier when
   * the AWS credentials that signed them expire first (`limitedByCredentials`). Null for paths.
   */
  readonly expiresAt?: string | null;
  readonly limitedByCredentials?: boolean;
}

/** One break line of the e-mail: money as a decimal string in major units of `currency`. */
export interface DigestBreak {
  /** `null` for a break not stored (never for a delivered run). */
  readonly breakId: string | null;
  readonly transactionId: string;
  readonly kind: string;
  readonly amount: string;
  readonly currency: string;
  readonly originDate: string;
  readonly ageDays: number;
  /** Resolved breaks: how (`late_arrival`, `not_seen_on_rerun`) and after how many days. */
  readonly resolution?: string | null;
  readonly lagDays?: number | null;
}

/**
 * What the e-mail says about a run's breaks across days (from its JSON report): the breaks it
 * opened, the open breaks of the processor after it (the e-mail derives escalations and the age
 * buckets from them) and the breaks it resolved. `escalateDays`: RECON_ESCALATE_DAYS.
 */
export interface DigestBreaks {
  readonly escalateDays: number;
  readonly newCount: number;
  readonly openCount: number;
  readonly escalatedCount: number;
  readonly opened: readonly DigestBreak[];
  readonly open: readonly DigestBreak[];
  readonly resolved: readonly DigestBreak[];
}

/**
 * One settlement group of a run for the e-mail's "Payouts" section (from the JSON report's
 * `settlement` block): money as decimal strings in major units of `currency`. `status`: the
 * group outcome (`group_matched`, `group_sum_mismatch`, `group_incomplete`, `parent_missing`,
 * `unattributable`); `difference` = children sum − payout (null without arithmetic); `bankStatus`
 * the payout's bank outcome (`payout_matched`, `payout_missing_in_bank`, `payout_amount_mismatch`,
 * `payout_ambiguous`, `payout_pending`), null without a bank statement or without a payout;
 * `bankDifference` = bank amount − payout.
 */
export interface DigestPayout {
  readonly parentId: string;
  readonly currency: string;
  readonly status: string;
  readonly parentAmount: string | null;
  readonly childrenSum: string;
  readonly childCount: number;
  readonly difference: string | null;
  readonly bankStatus: string | null;
  readonly bankDifference: string | null;
}

/**
 * What the e-mail says about a run's payouts (issue #15): its settlement groups, whether a bank
 * statement was read, and the bank credits no payout claimed (decimal strings, major units).
 */
export interface DigestSettlement {
  readonly bankRead: boolean;
  readonly payouts: readonly DigestPayout[];
  readonly unmatchedCredits: readonly {
    readonly reference: string;
    readonly amount: string;
    readonly currency: string;
  }[];
  /**
   * Open settlement breaks of the processor from earlier dates (schema 8), one line each as
   * `settlementBreakLine` writes it (`po_123 missing in bank, 4 days`), oldest first; absent for
   * a report without settlement breaks.
   */
  readonly carriedBreaks?: readonly string[];
}

/** Everything the e-mail says about one (business date, processor) run. */
export interface RunDigest {
  readonly runId: string | null;
  readonly businessDate: string;
  readonly processor: string;
  readonly status: 'completed' | 'failed';
  /** One-line error of a failed run, and a short label for the subject (`input missing`). */
  readonly error: string | null;
  readonly errorLabel: string | null;
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  readonly invalidRows: number;
  readonly counts: Readonly<OutcomeCounts> | null;
  readonly discrepancyCount: number;
  /** Per currency, decimal strings. */
  readonly discrepancyAmounts: Readonly<Record<string, string>>;
  /** A fraction with six decimals (`"0.016529"`). */
  readonly discrepancyRate: string | null;
  readonly riskLevel: 'LOW' | 'MEDIUM' | 'HIGH' | null;
  /** Per currency, the run's largest discrepancies (at most 10 each), largest first. */
  readonly largest: readonly DigestDiscrepancy[];
  readonly quality: readonly DigestQuality[];
  readonly links: DigestLinks;
  /** Ids of the earlier runs of the same date and processor that this run superseded (a rerun). */
  readonly supersedes?: readonly string[];
  /** Hash of the run's `run_completed` audit entry, to keep outside the database. */
  readonly auditHead?: string | null;
  /**
   * The processor side's fee block (JSON report `reconciliation_summary.fees`): per currency,
   * gross, fees and net as decimal strings in major units and the effective rate in basis points.
   */
  readonly fees?: Readonly<
    Record<
      string,
      {
        readonly gross: string;
        readonly fees: string;
        readonly net: string;
        readonly effective_rate_bps: string | null;
      }
    >
  >;
  /** Its breaks across days; absent for a report written before breaks were reported. */
  readonly breaks?: DigestBreaks | null;
  /** Its payouts and bank leg (issue #15); absent for a run without a settlement. */
  readonly settlement?: DigestSettlement | null;
  /**
   * With rules-file tiers (JSON report `reconciliation_summary.matches`): per tier, in order (`id`
   * first), the pairs it made and, per currency in major units, the sum of their processor
   * amounts and of their |variance|. Absent for a run without tiers.
   */
  readonly matches?: readonly DigestTierMatches[];
}

/** One tier of a run's `matches` summary: money as decimal strings in major units, per currency. */
export interface DigestTierMatches {
  readonly tier: string;
  readonly count: number;
  readonly amount: Readonly<Record<string, string>>;
  readonly abs_variance: Readonly<Record<string, string>>;
}

/** How many lines each breaks list of the e-mail shows before `… and N more`. */
export const BREAK_LINES = 10;

/**
 * The audit heads of the runs (hash of each `run_completed` entry), for the footer: kept outside
 * the database, they let `recon db verify-audit --expect-head HASH` detect a deleted newest entry.
 */
function auditHeadsNote(digests: readonly RunDigest[]): string {
  const heads = digests
    .filter((d) => d.auditHead)
    .map((d) => `${d.processor} ${d.businessDate} ${d.auditHead ?? ''}`);
  return heads.length === 0
    ? ''
    : ` Audit heads (recon db verify-audit --expect-head): ${heads.join('; ')}.`;
}

/** A rendered e-mail: subject, plain-text and HTML bodies. */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** How many discrepancies "Largest discrepancies" lists across processors (with a reporting currency). */
export const LARGEST_ACROSS = 10;
/** Without a reporting currency: how many per processor and currency. */
export const LARGEST_PER_CURRENCY = 3;

const RISK_ORDER = { LOW: 1, MEDIUM: 2, HIGH: 3 } as const;
const RISK_COLOUR = { LOW: '#1a7f37', MEDIUM: '#9a6700', HIGH: '#cf222e' } as const;

function datesLabel(digests: readonly RunDigest[]): string {
  const dates = [...new Set(digests.map((d) => d.businessDate))].sort();
  if (dates.length === 0) return 'no runs';
  return dates.length === 1
    ? (dates[0] ?? '')
    : `${dates[0] ?? ''}..${dates[dates.length - 1] ?? ''}`;
}

function maxRisk(digests: readonly RunDigest[]): 'LOW' | 'MEDIUM' | 'HIGH' | null {
  let best: 'LOW' | 'MEDIUM' | 'HIGH' | null = null;
  for (const d of digests) {
    if (d.riskLevel && (!best || RISK_ORDER[d.riskLevel] > RISK_ORDER[best])) best = d.riskLevel;
  }
  return best;
}

function plural(n: number, word: string): string {
  return `${groupThousands(String(n))} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The night's breaks in a few words, summed over the runs that report breaks: `3 new breaks, 12
 * open (2 > 7 days), 5 resolved`; `null` when no run does (reports from before breaks).
 */
export function breaksHeadline(digests: readonly RunDigest[]): string | null {
  const withBreaks = digests.flatMap((d) =>
    d.status === 'completed' && d.breaks ? [d.breaks] : [],
  );
  const first = withBreaks[0];
  if (!first) return null;
  const sum = (of: (b: DigestBreaks) => number): number =>
    withBreaks.reduce((total, b) => total + of(b), 0);
  const opened = sum((b) => b.newCount);
  return (
    `${groupThousands(String(opened))} new ${opened === 1 ? 'break' : 'breaks'}, ` +
    `${groupThousands(String(sum((b) => b.openCount)))} open ` +
    `(${groupThousands(String(sum((b) => b.escalatedCount)))} > ${first.escalateDays} days), ` +
    `${groupThousands(String(sum((b) => b.resolved.length)))} resolved`
  );
}

/**
 * The subject tells the night at a glance and leads with what needs action: `[recon] 2025-09-30:
 * 3 new breaks, 12 open (2 > 7 days), 5 resolved` (see `breaksHeadline`). A failed run still
 * leads: `[recon] 2025-09-30 — FAILED: paypal input missing`, followed by `; 3 new breaks, …`
 * when other runs report breaks. Runs whose reports predate breaks keep the older subject
 * `[recon] 2025-09-30 — 3 processors, 12 discrepancies, HIGH risk`.
 */
export function renderSubject(digests: readonly RunDigest[]): string {
  const head = `[recon] ${datesLabel(digests)} — `;
  const headline = breaksHeadline(digests);
  const failed = digests.filter((d) => d.status === 'failed');
  const first = failed[0];
  if (first) {
    const more = failed.length > 1 ? ` (+${failed.length - 1} more)` : '';
    return `${head}FAILED: ${first.processor} ${first.errorLabel ?? 'error'}${more}${headline ? `; ${headline}` : ''}`;
  }
  if (headline) return `[recon] ${datesLabel(digests)}: ${headline}`;
  const processors = new Set(digests.map((d) => d.processor)).size;
  const discrepancies = digests.reduce((sum, d) => sum + d.discrepancyCount, 0);
  const risk = maxRisk(digests);
  const breaks = `${groupThousands(String(discrepancies))} ${discrepancies === 1 ? 'discrepancy' : 'discrepancies'}`;
  return `${head}${plural(processors, 'processor')}, ${breaks}${risk ? `, ${risk} risk` : ''}`;
}

/**
 * Inserts thousands separators into a plain decimal string, exactly (no float): `"1234567.891"` →
 * `"1,234,567.891"`, `"-1000"` → `"-1,000"`. Anything that is not a plain decimal is returned as is.
 */
export function groupThousands(decimal: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(decimal);
  if (!m) return decimal;
  const whole = (m[2] ?? '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${m[1] ?? ''}${whole}${m[3] ?? ''}`;
}

/** A fraction as a percentage with two decimals, rounded half up: `"0.258065"` → `"25.81%"`. */
export function formatPercent(fraction: string): string {
  return `${new Big(fraction).times(100).toFixed(2, Big.roundHalfUp)}%`;
}

/** An amount in the reporting currency, rounded half up to its exponent, grouped: `≈ 1,449.11 USD`. */
function approx(amount: Big, currency: string): string {
  return `≈ ${groupThousands(amount.toFixed(currencyExponent(currency), Big.roundHalfUp))} ${currency}`;
}

function money(amount: string, currency: string): string {
  return `${groupThousands(amount)} ${currency}`;
}

function kindLabel(kind: string): string {
  return kind.replace(/_/g, ' ');
}

function shortId(id: string): string {
  return id.slice(0, 8);
}

/** One row of the overview: every value already a display string, shared by HTML and text. */
interface OverviewRow {
  readonly processor: string;
  readonly businessDate: string;
  readonly rerun: string | null;
  readonly risk: 'LOW' | 'MEDIUM' | 'HIGH' | null;
  readonly matched: string;
  readonly breaks: string;
  readonly rate: string;
  readonly kinds: readonly string[];
  readonly atStake: readonly string[];
  readonly atStakeReporting: string | null;
  readonly inputs: string;
  /** The fee block in one line (`USD 100.00 gross, 3.20 fees, 96.80 net (320.00 bps)`), or null. */
  readonly fees: string | null;
  /** One line per tier (`near_amount 2: USD 199.99, |variance| 0.01`); empty without tiers. */
  readonly matches: readonly string[];
}

/**
 * The `matches` summary of a run, one line per tier in order: `id 23`, or with pairs
 * `near_amount 2: USD 199.99, |variance| 0.01; EUR 10.00, |variance| 0.00` (currencies sorted,
 * never added together). Empty for a run without tiers.
 */
function matchesLines(d: RunDigest): string[] {
  return (d.matches ?? []).map((m) => {
    const currencies = Object.keys(m.amount).sort();
    const sums = currencies.map(
      (c) =>
        `${c} ${groupThousands(m.amount[c] ?? '0')}, |variance| ${groupThousands(m.abs_variance[c] ?? new Big(0).toFixed(currencyExponent(c)))}`,
    );
    return `${m.tier} ${groupThousands(String(m.count))}${sums.length ? `: ${sums.join('; ')}` : ''}`;
  });
}

/** The fee block of a run in one line, currencies in block order; null without fees reported. */
function feesLine(d: RunDigest): string | null {
  const entries = Object.entries(d.fees ?? {}).filter(([, f]) => !new Big(f.fees).eq(0));
  if (entries.length === 0) return null;
  return entries
    .map(
      ([currency, f]) =>
        `${currency} ${groupThousands(f.gross)} gross, ${groupThousands(f.fees)} fees, ` +
        `${groupThousands(f.net)} net${f.effective_rate_bps === null ? '' : ` (${f.effective_rate_bps} bps)`}`,
    )
    .join('; ');
}

/**
 * A ranked discrepancy with its converted amount (display string) when a rate applies. `rank` is
 * 1-based across processors, or within `group` (`stripe EUR`) without a reporting currency.
 */
export interface LargestRow {
  readonly d: DigestDiscrepancy;
  readonly reporting: string | null;
  readonly rank: number;
  readonly group: string | null;
}

function sideText(side: DigestSide | null): string {
  if (!side) return '—';
  return `${money(side.amount, side.currency)} ${side.status}${side.line === null ? '' : ` (line ${side.line})`}`;
}

function rerunLabel(d: RunDigest): string | null {
  const old = d.supersedes ?? [];
  if (old.length === 0) return null;
  return `rerun: supersedes run ${old.map(shortId).join(', ')}`;
}

function overviewRow(d: RunDigest, fx: FxRates | null): OverviewRow {
  const kinds: string[] = [];
  for (const kind of DISCREPANCY_KINDS) {
    const n = d.counts?.[kind] ?? 0;
    if (n > 0) kinds.push(`${groupThousands(String(n))} ${kindLabel(kind)}`);
  }
  const entries = Object.entries(d.discrepancyAmounts).filter(([, v]) => !new Big(v).eq(0));
  let reporting: string | null = null;
  if (fx && entries.length > 0) {
    let total = new Big(0);
    const noRate: string[] = [];
    for (const [currency, amount] of entries) {
      const converted = convertToReporting(fx, currency, amount, d.businessDate);
      if (converted) total = total.plus(converted);
      else noRate.push(currency);
    }
    reporting =
      noRate.length === entries.length
        ? `no rate for ${noRate.join(', ')}`
        : `${approx(total, fx.reportingCurrency)}${noRate.length ? ` + ${noRate.join(', ')} (no rate)` : ''}`;
  }
  return {
    processor: d.processor,
    businessDate: d.businessDate,
    rerun: rerunLabel(d),
    risk: d.riskLevel,
    matched: groupThousands(String(d.counts?.matched ?? 0)),
    breaks: groupThousands(String(d.discrepancyCount)),
    rate: d.discrepancyRate === null ? '-' : formatPercent(d.discrepancyRate),
    kinds,
    atStake: entries.length ? entries.map(([c, v]) => money(v, c)) : ['0'],
    atStakeReporting: reporting,
    fees: feesLine(d),
    matches: matchesLines(d),
    inputs: `${groupThousands(String(d.processorTransactions))} processor, ${groupThousands(String(d.internalTransactions))} ledger transactions${d.invalidRows > 0 ? `, ${plural(d.invalidRows, 'invalid row')}` : ''}`,
  };
}

function byAmountDesc(a: Big, b: Big): number {
  return b.cmp(a);
}

/**
 * The discrepancies "Largest discrepancies" shows. With a reporting currency: the
 * `LARGEST_ACROSS` largest across every processor and currency by converted amount at stake
 * (those of a currency without a rate follow, by nominal amount). Without: each processor's
 * `LARGEST_PER_CURRENCY` largest per currency, nominal amounts never compared across currencies.
 */
export function rankLargest(
  digests: readonly RunDigest[],
  fx: FxRates | null,
): { rows: LargestRow[]; converted: boolean } {
  const all = digests.filter((d) => d.status === 'completed').flatMap((d) => d.largest);
  const tie = (a: DigestDiscrepancy, b: DigestDiscrepancy): number =>
    a.processor.localeCompare(b.processor) || a.transactionId.localeCompare(b.transactionId);
  if (fx) {
    const withRate: { d: DigestDiscrepancy; value: Big }[] = [];
    const without: DigestDiscrepancy[] = [];
    for (const d of all) {
      const value = convertToReporting(fx, d.currency, d.amount, d.businessDate);
      if (value) withRate.push({ d, value });
      else without.push(d);
    }
    withRate.sort((a, b) => byAmountDesc(a.value, b.value) || tie(a.d, b.d));
    without.sort((a, b) => byAmountDesc(new Big(a.amount), new Big(b.amount)) || tie(a, b));
    const rows = [
      ...withRate.map(({ d, value }) => ({ d, reporting: approx(value, fx.reportingCurrency) })),
      ...without.map((d) => ({ d, reporting: null })),
    ]
      .slice(0, LARGEST_ACROSS)
      .map((row, index) => ({ ...row, rank: index + 1, group: null }));
    return { rows, converted: true };
  }
  const rows: LargestRow[] = [];
  for (const digest of digests) {
    const currencies = [...new Set(digest.largest.map((d) => d.currency))].sort();
    for (const currency of currencies) {
      const list = digest.largest
        .filter((d) => d.currency === currency)
        .sort((a, b) => byAmountDesc(new Big(a.amount), new Big(b.amount)) || tie(a, b))
        .slice(0, LARGEST_PER_CURRENCY);
      list.forEach((d, index) =>
        rows.push({
          d,
          reporting: null,
          rank: index + 1,
          group: `${digest.processor} ${currency}`,
        }),
      );
    }
  }
  return { rows, converted: false };
}

/** A list of break lines under a heading, at most `BREAK_LINES` shown. */
interface BreakList {
  readonly heading: string;
  readonly lines: readonly string[];
  /** `… and N more (open_breaks_….csv)` when the list was cut, else null. */
  readonly more: string | null;
}

/** What needs action for one run, as display strings. */
interface ActionSection {
  readonly label: string;
  readonly headline: string;
  readonly lists: readonly BreakList[];
  /** One row per age bucket: bucket, count, amounts per currency. */
  readonly ageing: readonly { bucket: string; count: string; amounts: string }[];
}

/** Everything both bodies say, as display strings: the one model they are rendered from. */
interface EmailModel {
  readonly title: string;
  readonly failed: readonly { label: string; error: string }[];
  readonly action: readonly ActionSection[];
  readonly overview: readonly OverviewRow[];
  readonly payouts: readonly PayoutsLine[];
  readonly largestHeading: string;
  readonly largestNote: string;
  readonly largest: readonly LargestRow[];
  readonly quality: readonly { label: string; examples: readonly string[] }[];
  readonly reports: readonly {
    label: string;
    kind: 'presigned' | 'local';
    csv: string | null;
    json: string | null;
    payouts: string | null;
  }[];
  readonly reportsNote: string | null;
  readonly footer: string;
}

function expiryNote(digests: readonly RunDigest[]): string | null {
  const presigned = digests.filter((d) => d.links.kind === 'presigned' && d.links.expiresAt);
  if (presigned.length === 0) return null;
  const earliest = presigned
    .map((d) => d.links)
    .sort((a, b) => ((a.expiresAt ?? '') < (b.expiresAt ?? '') ? -1 : 1))[0];
  const when = (earliest?.expiresAt ?? '').replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return `Links expire ${when}${earliest?.limitedByCredentials ? ' (when the AWS credentials that signed them expire; run `recon deliver RUN_ID` for fresh links)' : ''}.`;
}

const AGE_BUCKET_LABELS = ['0-1', '2-3', '4-7', '8-30', '31+'] as const;

function bucketOf(ageDays: number): (typeof AGE_BUCKET_LABELS)[number] {
  if (ageDays <= 1) return '0-1';
  if (ageDays <= 3) return '2-3';
  if (ageDays <= 7) return '4-7';
  if (ageDays <= 30) return '8-30';
  return '31+';
}

function days(n: number): string {
  return `${groupThousands(String(n))} ${n === 1 ? 'day' : 'days'}`;
}

function breakLine(b: DigestBreak, detail: string): string {
  const id = b.breakId ? ` [break ${shortId(b.breakId)}]` : '';
  return `${kindLabel(b.kind)} ${b.transactionId}: ${money(b.amount, b.currency)}, ${detail}${id}`;
}

function listOf(heading: string, lines: readonly string[], file: string): BreakList {
  const more = lines.length - BREAK_LINES;
  return {
    heading: `${heading} (${groupThousands(String(lines.length))})`,
    lines: lines.slice(0, BREAK_LINES),
    more: more > 0 ? `… and ${groupThousands(String(more))} more (${file})` : null,
  };
}

/** Sums decimal strings per currency exactly (big.js), currencies sorted: `996.05 USD, 387.23 EUR`. */
function amountsPerCurrency(breaks: readonly DigestBreak[]): string {
  const totals = new Map<string, Big>();
  for (const b of breaks)
    totals.set(b.currency, (totals.get(b.currency) ?? new Big(0)).plus(b.amount));
  return [...totals.keys()]
    .sort()
    .map((currency) => {
      const total = totals.get(currency) ?? new Big(0);
      return money(total.toFixed(currencyExponent(currency)), currency);
    })
    .join(', ');
}

/**
 * What needs action for one run: its new breaks, the escalations (open longer than
 * `escalateDays`, oldest first), the open breaks per age bucket with their amounts per currency
 * (never converted) and what the run resolved.
 */
function actionOf(d: RunDigest, breaks: DigestBreaks): ActionSection {
  const file = `open_breaks_${d.processor}_${d.businessDate}.csv`;
  const escalated = breaks.open
    .filter((b) => b.ageDays > breaks.escalateDays)
    .sort((a, b) => b.ageDays - a.ageDays || a.transactionId.localeCompare(b.transactionId));
  const lists = [
    listOf(
      'New breaks',
      breaks.opened.map((b) => breakLine(b, `opened ${b.originDate}`)),
      file,
    ),
    listOf(
      `Escalations: open longer than ${days(breaks.escalateDays)}`,
      escalated.map((b) => breakLine(b, `open ${days(b.ageDays)} (since ${b.originDate})`)),
      file,
    ),
    listOf(
      'Resolved today',
      breaks.resolved.map((b) =>
        breakLine(
          b,
          `${kindLabel(b.resolution ?? 'resolved')}${b.lagDays === null || b.lagDays === undefined ? '' : ` after ${days(b.lagDays)}`}`,
        ),
      ),
      `reconciliation_report_${d.processor}_${d.businessDate}.json`,
    ),
  ];
  return {
    label: `${d.processor} ${d.businessDate}`,
    headline: breaksHeadline([d]) ?? '',
    lists,
    ageing: AGE_BUCKET_LABELS.map((bucket) => {
      const inBucket = breaks.open.filter((b) => bucketOf(b.ageDays) === bucket);
      return {
        bucket,
        count: groupThousands(String(inBucket.length)),
        amounts: inBucket.length ? amountsPerCurrency(inBucket) : '-',
      };
    }),
  };
}

/** One part of a run's payouts line; `problem` parts need someone to look (shown in red in HTML). */
interface PayoutsPart {
  readonly text: string;
  readonly problem: boolean;
}

/** A run's line of the "Payouts" section: `stripe` and its parts, already display strings. */
interface PayoutsLine {
  readonly label: string;
  readonly parts: readonly PayoutsPart[];
}

/** How many payouts (or credits) a part names before `and N more`. */
export const PAYOUT_EXAMPLES = 3;

/** A difference with its sign, grouped: `+20.00 USD`, `-0.10 USD`, `0.00 USD`. */
function signedMoney(amount: string, currency: string): string {
  const positive = !amount.startsWith('-') && !/^[0.]+$/.test(amount);
  return `${positive ? '+' : ''}${money(amount, currency)}`;
}

/** `N word(s) (example, example, and K more)`, or null when there is none. */
function payoutsPart(
  count: number,
  singular: string,
  pluralWord: string,
  examples: readonly string[],
  problem: boolean,
): PayoutsPart | null {
  if (count === 0) return null;
  const shown = examples.slice(0, PAYOUT_EXAMPLES);
  const more = examples.length - shown.length;
  const list = more > 0 ? [...shown, `and ${groupThousands(String(more))} more`] : shown;
  return {
    text: `${groupThousands(String(count))} ${count === 1 ? singular : pluralWord}${list.length ? ` (${list.join(', ')})` : ''}`,
    problem,
  };
}

/**
 * The parts of one run's payouts line, e.g. `3 payouts, 2 in the bank, 1 mismatch (po_123 +20.00
 * USD)`: the payouts (groups with a parent), how many arrived in the bank (or `no bank
 * statement`), then only what is not zero: sum mismatches and incomplete groups with their
 * difference, children whose payout was not fetched, unattributable payouts, payouts missing in
 * the bank, arrived with another amount, ambiguous or not due yet, unmatched bank credits, and
 * the open settlement breaks of earlier dates with their age (`po_123 missing in bank, 4 days`).
 */
function payoutsParts(s: DigestSettlement): PayoutsPart[] {
  const groups = (status: string): DigestPayout[] => s.payouts.filter((p) => p.status === status);
  const bank = (status: string): DigestPayout[] => s.payouts.filter((p) => p.bankStatus === status);
  const withDifference = (list: readonly DigestPayout[]): string[] =>
    list.map((p) => `${p.parentId} ${signedMoney(p.difference ?? '0', p.currency)}`);
  const withAmount = (list: readonly DigestPayout[]): string[] =>
    list.map((p) => `${p.parentId} ${money(p.parentAmount ?? p.childrenSum, p.currency)}`);
  const mismatch = groups('group_sum_mismatch');
  const incomplete = groups('group_incomplete');
  const orphans = groups('parent_missing');
  const unattributable = groups('unattributable');
  const wrongAmount = bank('payout_amount_mismatch');
  const parts: (PayoutsPart | null)[] = [
    payoutsPart(s.payouts.length - orphans.length, 'payout', 'payouts', [], false) ?? {
      text: '0 payouts',
      problem: false,
    },
    s.bankRead
      ? {
          text: `${groupThousands(String(bank('payout_matched').length))} in the bank`,
          problem: false,
        }
      : { text: 'no bank statement', problem: false },
    payoutsPart(mismatch.length, 'mismatch', 'mismatches', withDifference(mismatch), true),
    payoutsPart(incomplete.length, 'incomplete', 'incomplete', withDifference(incomplete), false),
    payoutsPart(
      orphans.length,
      'parent missing',
      'parents missing',
      orphans.map(
        (p) =>
          `${p.parentId}, ${p.childCount === 1 ? '1 child' : `${groupThousands(String(p.childCount))} children`}, ${money(p.childrenSum, p.currency)}`,
      ),
      true,
    ),
    payoutsPart(
      unattributable.length,
      'unattributable',
      'unattributable',
      withAmount(unattributable),
      false,
    ),
    payoutsPart(
      bank('payout_missing_in_bank').length,
      'missing in the bank',
      'missing in the bank',
      withAmount(bank('payout_missing_in_bank')),
      true,
    ),
    payoutsPart(
      wrongAmount.length,
      'amount mismatch in the bank',
      'amount mismatches in the bank',
      wrongAmount.map((p) => `${p.parentId} ${signedMoney(p.bankDifference ?? '0', p.currency)}`),
      true,
    ),
    payoutsPart(
      bank('payout_ambiguous').length,
      'ambiguous in the bank',
      'ambiguous in the bank',
      withAmount(bank('payout_ambiguous')),
      true,
    ),
    payoutsPart(
      bank('payout_pending').length,
      'not in the bank yet',
      'not in the bank yet',
      withAmount(bank('payout_pending')),
      false,
    ),
    payoutsPart(
      s.unmatchedCredits.length,
      'unmatched bank credit',
      'unmatched bank credits',
      s.unmatchedCredits.map((c) => `${c.reference} ${money(c.amount, c.currency)}`),
      true,
    ),
    payoutsPart(
      s.carriedBreaks?.length ?? 0,
      'open break from earlier dates',
      'open breaks from earlier dates',
      s.carriedBreaks ?? [],
      true,
    ),
  ];
  return parts.filter((part): part is PayoutsPart => part !== null);
}

/**
 * Whether a run's payouts need someone to look (what the "Payouts" line shows in red): a sum
 * mismatch, children without their payout, a payout missing in the bank, arrived with another
 * amount or ambiguous, or an unmatched bank credit. `RECON_EMAIL_ON=discrepancies` sends for it.
 */
export function payoutsNeedAction(settlement: DigestSettlement): boolean {
  return payoutsParts(settlement).some((part) => part.problem);
}

/**
 * The "Payouts" section: one line per completed run with a settlement, labelled by its processor
 * (and business date when the e-mail covers several); empty when no run has a settlement.
 */
function payoutsLines(digests: readonly RunDigest[]): PayoutsLine[] {
  const oneDate = new Set(digests.map((d) => d.businessDate)).size <= 1;
  return digests.flatMap((d) =>
    d.status === 'completed' && d.settlement
      ? [
          {
            label: oneDate ? d.processor : `${d.processor} ${d.businessDate}`,
            parts: payoutsParts(d.settlement),
          },
        ]
      : [],
  );
}

function buildModel(
  digests: readonly RunDigest[],
  generatedAt: string,
  fx: FxRates | null,
): EmailModel {
  const largest = rankLargest(digests, fx);
  const dates = [...new Set(digests.map((d) => d.businessDate))];
  const rateDates = dates.length === 1 ? `the rates of ${dates[0] ?? ''}` : 'each date’s rates';
  return {
    title: renderSubject(digests).replace(/^\[recon\] /, 'Reconciliation '),
    failed: digests
      .filter((d) => d.status === 'failed')
      .map((d) => ({ label: `${d.processor} ${d.businessDate}`, error: d.error ?? 'failed' })),
    action: digests.flatMap((d) =>
      d.status === 'completed' && d.breaks ? [actionOf(d, d.breaks)] : [],
    ),
    overview: digests.filter((d) => d.status === 'completed').map((d) => overviewRow(d, fx)),
    payouts: payoutsLines(digests),
    largestHeading: largest.converted
      ? `Largest discrepancies (across processors, ${fx?.reportingCurrency ?? ''})`
      : 'Largest discrepancies (per processor and currency)',
    largestNote: largest.converted
      ? `Ranked by the amount at stake converted to ${fx?.reportingCurrency ?? ''} at ${rateDates} in ${fx?.source ?? ''}.`
      : 'Amounts in different currencies are not comparable: set RECON_REPORTING_CURRENCY and RECON_FX_RATES_FILE to rank across them.',
    largest: largest.rows,
    quality: digests.flatMap((d) =>
      d.quality.map((q) => ({
        label: `${d.processor} ${d.businessDate}: ${groupThousands(String(q.count))} ${kindLabel(q.check)} (${q.severity})`,
        examples: q.examples,
      })),
    ),
    reports: digests
      .filter((d) => d.links.csv || d.links.json)
      .map((d) => ({
        label: `${d.processor} ${d.businessDate}`,
        kind: d.links.kind,
        csv: d.links.csv,
        json: d.links.json,
        payouts: (d.settlement && d.links.payouts) || null,
      })),
    reportsNote: expiryNote(digests),
    footer: `Generated ${generatedAt} by recon.${auditHeadsNote(digests)}`,
  };
}

/**
 * The plain-text body: the same content as the HTML (both are rendered from one model), for
 * clients that do not render HTML. `fx`: the optional reporting currency and its rates.
 */
export function renderEmailText(
  digests: readonly RunDigest[],
  generatedAt: string,
  fx: FxRates | null = null,
): string {
  const m = buildModel(digests, generatedAt, fx);
  const lines: string[] = [m.title, ''];
  if (m.failed.length) {
    lines.push('FAILED OR MISSING INPUTS');
    for (const f of m.failed) lines.push(`  ${f.label}: ${f.error}`);
    lines.push('');
  }
  if (m.action.length) {
    lines.push('NEEDS ACTION');
    for (const a of m.action) {
      lines.push(`  ${a.label}: ${a.headline}`);
      for (const list of a.lists) {
        lines.push(`    ${list.heading}`);
        for (const line of list.lines) lines.push(`      ${line}`);
        if (list.more) lines.push(`      ${list.more}`);
      }
      lines.push('    Open breaks by age (days: count, amount per currency)');
      for (const row of a.ageing)
        lines.push(`      ${row.bucket.padEnd(5)} ${row.count.padStart(6)}  ${row.amounts}`);
    }
    lines.push('');
  }
  if (m.overview.length) {
    lines.push('OVERVIEW');
    for (const r of m.overview) {
      lines.push(`  ${r.processor} ${r.businessDate} — ${r.risk ?? '-'} risk`);
      if (r.rerun) lines.push(`    ${r.rerun}`);
      lines.push(`    matched       ${r.matched}`);
      lines.push(
        `    discrepancies ${r.breaks} (${r.rate})${r.kinds.length ? `: ${r.kinds.join(', ')}` : ''}`,
      );
      lines.push(
        `    at stake      ${r.atStake.join(', ')}${r.atStakeReporting ? ` (${r.atStakeReporting})` : ''}`,
      );
      if (r.fees) lines.push(`    fees          ${r.fees}`);
      r.matches.forEach((line, index) =>
        lines.push(`    ${index === 0 ? 'matches       ' : '              '}${line}`),
      );
      lines.push(`    inputs        ${r.inputs}`);
    }
    lines.push('');
  }
  if (m.payouts.length) {
    lines.push('PAYOUTS');
    for (const p of m.payouts) lines.push(`  ${p.label}: ${p.parts.map((x) => x.text).join(', ')}`);
    lines.push('');
  }
  if (m.largest.length) {
    lines.push(m.largestHeading.toUpperCase(), `  ${m.largestNote}`);
    let group: string | null = null;
    for (const { d, reporting, rank, group: g } of m.largest) {
      if (g !== null && g !== group) lines.push(`  ${g}`);
      group = g;
      const indent = g === null ? '  ' : '    ';
      const amount = `${money(d.amount, d.currency)}${reporting ? ` ${reporting}` : ''}`;
      const pad = ' '.repeat(`${rank}. `.length);
      lines.push(
        `${indent}${rank}. ${d.processor} ${kindLabel(d.kind)} ${d.transactionId}${d.merchantId ? ` (merchant ${d.merchantId})` : ''}: ${amount}`,
        `${indent}${pad}processor ${sideText(d.processorSide)}`,
        `${indent}${pad}ledger    ${sideText(d.ledgerSide)}`,
      );
    }
    lines.push('');
  }
  if (m.quality.length) {
    lines.push('DATA QUALITY');
    for (const q of m.quality) {
      lines.push(`  ${q.label}`);
      for (const example of q.examples) lines.push(`    ${example}`);
    }
    lines.push('');
  }
  lines.push('REPORTS');
  if (m.reportsNote) lines.push(`  ${m.reportsNote}`);
  for (const r of m.reports) {
    if (r.csv) lines.push(`  ${r.label} CSV: ${r.csv}`);
    if (r.json) lines.push(`  ${r.label} JSON: ${r.json}`);
    if (r.payouts) lines.push(`  ${r.label} payouts CSV: ${r.payouts}`);
  }
  lines.push('', m.footer);
  return lines.join('\n');
}

const e = (value: string | number | null | undefined): string =>
  escapeHtml(value === null || value === undefined ? '' : String(value));

const CELL =
  'padding:6px 8px;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top;font-size:13px';
const CODE = 'font-size:12px;word-break:break-all';
/**
 * On a phone (≤ 520 px) the tables stack: each row becomes a block, header rows hide and the
 * inline labels (`.lbl`, hidden on wider screens) name what the header named. Clients that drop
 * <style> keep the plain table with the labels visible.
 */
const STYLE =
  '<style>.lbl{display:none}@media only screen and (max-width:520px){' +
  'table.stack tr.hdr{display:none}table.stack tr{display:block;border-bottom:1px solid #d8dee4;padding:4px 0}' +
  'table.stack td{display:block;border:0 !important;text-align:left !important;padding:2px 8px !important}' +
  '.lbl{display:inline}}</style>';
const HEAD = `${CELL};background:#f6f8fa;font-size:12px;color:#57606a`;
const TABLE = 'border-collapse:collapse;width:100%;margin:6px 0 18px 0';
const H3 = 'font-size:15px;margin:16px 0 4px 0';
const SMALL = 'color:#57606a;font-size:12px';

function riskSpan(risk: 'LOW' | 'MEDIUM' | 'HIGH' | null): string {
  const colour = risk ? RISK_COLOUR[risk] : '#57606a';
  return `<span style="color:${colour};font-weight:bold">${e(risk ?? '-')}</span>`;
}

/**
 * The HTML body, readable on a phone (fluid tables, no fixed widths): failures first, one
 * overview table (processor, matched, discrepancies by kind, at stake, risk), the "Payouts" list
 * (runs with a settlement only; what needs a look in red), the largest
 * discrepancies with both sides of each pair, data-quality findings, the trend chart (inline image
 * `cid:${chartCid}` when given) and the report links with their expiry. Every value from input or
 * configuration is HTML-escaped. Same content as `renderEmailText`.
 */
export function renderEmailHtml(
  digests: readonly RunDigest[],
  generatedAt: string,
  chartCid?: string,
  fx: FxRates | null = null,
): string {
  const m = buildModel(digests, generatedAt, fx);
  const parts: string[] = [];
  parts.push(`<h2 style="font-size:18px;margin:0 0 12px 0">${e(m.title)}</h2>`);
  if (m.failed.length) {
    parts.push(
      `<div style="border:2px solid #cf222e;background:#ffebe9;padding:8px 12px;margin-bottom:16px"><strong>Failed or missing inputs</strong><ul style="margin:6px 0;padding-left:20px">${m.failed
        .map((f) => `<li><strong>${e(f.label)}</strong>: ${e(f.error)}</li>`)
        .join('')}</ul></div>`,
    );
  }
  for (const a of m.action) {
    parts.push(
      `<h3 style="${H3}">Needs action: ${e(a.label)}</h3><p style="font-size:13px;margin:0 0 6px 0"><strong>${e(a.headline)}</strong></p>` +
        a.lists
          .map(
            (list) =>
              `<p style="font-size:13px;margin:8px 0 2px 0"><strong>${e(list.heading)}</strong></p>` +
              (list.lines.length || list.more
                ? `<ul style="font-size:13px;padding-left:20px;margin:0">${list.lines
                    .map((line) => `<li style="overflow-wrap:break-word">${e(line)}</li>`)
                    .join('')}${list.more ? `<li style="${SMALL}">${e(list.more)}</li>` : ''}</ul>`
                : ''),
          )
          .join('') +
        `<table class="ageing" style="${TABLE}"><tr><th style="${HEAD}">open, days</th><th style="${HEAD}">breaks</th><th style="${HEAD}">amount per currency</th></tr>${a.ageing
          .map(
            (row) =>
              `<tr><td style="${CELL}">${e(row.bucket)}</td><td style="${CELL};text-align:right">${e(row.count)}</td><td style="${CELL}">${e(row.amounts)}</td></tr>`,
          )
          .join('')}</table>`,
    );
  }
  if (m.overview.length) {
    const head = ['processor', 'matched', 'discrepancies', 'at stake', 'risk'];
    parts.push(
      `<h3 style="${H3}">Overview</h3><table class="overview stack" style="${TABLE}"><tr class="hdr">${head
        .map((h) => `<th style="${HEAD}">${h}</th>`)
        .join('')}</tr>${m.overview
        .map(
          (r) =>
            `<tr><td style="${CELL}"><strong>${e(r.processor)}</strong><br><span style="${SMALL}">${e(r.businessDate)}</span>${
              r.rerun
                ? `<br><span style="color:#9a6700;font-size:12px;font-weight:bold">${e(r.rerun)}</span>`
                : ''
            }<br><span style="${SMALL}">${e(r.inputs)}</span>${
              r.fees ? `<br><span style="${SMALL}">fees ${e(r.fees)}</span>` : ''
            }</td>` +
            `<td style="${CELL};text-align:right">${e(r.matched)}<span class="lbl"> matched</span>${r.matches
              .map((line) => `<br><span style="${SMALL}">${e(line)}</span>`)
              .join('')}</td>` +
            `<td style="${CELL}"><strong>${e(r.breaks)}</strong><span class="lbl"> discrepancies</span> (${e(r.rate)})${r.kinds.map((k) => `<br><span style="${SMALL}">${e(k)}</span>`).join('')}</td>` +
            `<td style="${CELL};text-align:right;white-space:nowrap"><span class="lbl">at stake </span>${r.atStake.map(e).join('<br>')}${
              r.atStakeReporting ? `<br><span style="${SMALL}">${e(r.atStakeReporting)}</span>` : ''
            }</td>` +
            `<td style="${CELL}">${riskSpan(r.risk)}<span class="lbl"> risk</span></td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  if (m.payouts.length) {
    parts.push(
      `<h3 style="${H3}">Payouts</h3><ul class="payouts" style="font-size:13px;padding-left:20px">${m.payouts
        .map(
          (p) =>
            `<li style="overflow-wrap:break-word"><strong>${e(p.label)}</strong>: ${p.parts
              .map((x) =>
                x.problem
                  ? `<span style="color:#cf222e;font-weight:bold">${e(x.text)}</span>`
                  : e(x.text),
              )
              .join(', ')}</li>`,
        )
        .join('')}</ul>`,
    );
  }
  if (m.largest.length) {
    const head = ['#', 'discrepancy', 'processor side / ledger side', 'at stake'];
    parts.push(
      `<h3 style="${H3}">${e(m.largestHeading)}</h3><p style="${SMALL};margin:0 0 4px 0">${e(m.largestNote)}</p><table class="largest stack" style="${TABLE}"><tr class="hdr">${head
        .map((h) => `<th style="${HEAD}">${h}</th>`)
        .join('')}</tr>${m.largest
        .map(
          ({ d, reporting, rank, group }, index) =>
            (group !== null && group !== m.largest[index - 1]?.group
              ? `<tr><td colspan="4" style="${HEAD};font-weight:bold;color:#1f2328">${e(group)}</td></tr>`
              : '') +
            `<tr><td style="${CELL}"><span class="lbl">#</span>${rank}</td>` +
            `<td style="${CELL}"><strong>${e(d.processor)}</strong> ${e(kindLabel(d.kind))}<br><code style="${CODE}">${e(d.transactionId)}</code>${
              d.merchantId ? `<br><span style="${SMALL}">merchant ${e(d.merchantId)}</span>` : ''
            }</td>` +
            `<td style="${CELL}">processor ${e(sideText(d.processorSide))}<br>ledger ${e(sideText(d.ledgerSide))}</td>` +
            `<td style="${CELL};text-align:right;white-space:nowrap"><strong>${e(money(d.amount, d.currency))}</strong>${
              reporting ? `<br><span style="${SMALL}">${e(reporting)}</span>` : ''
            }</td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  if (m.quality.length) {
    parts.push(
      `<h3 style="${H3}">Data quality</h3><ul style="font-size:13px;padding-left:20px">${m.quality
        .map(
          (q) =>
            `<li>${e(q.label)}${
              q.examples.length
                ? `<ul style="padding-left:16px">${q.examples.map((x) => `<li style="overflow-wrap:break-word">${e(x)}</li>`).join('')}</ul>`
                : ''
            }</li>`,
        )
        .join('')}</ul>`,
    );
  }
  if (chartCid) {
    parts.push(
      `<h3 style="${H3}">Trend</h3><img src="cid:${e(chartCid)}" alt="discrepancy rate per processor over the last 14 business dates" width="720" style="width:100%;max-width:720px;height:auto">`,
    );
  }
  parts.push(`<h3 style="${H3}">Reports</h3>`);
  if (m.reportsNote) parts.push(`<p style="${SMALL};margin:0 0 4px 0">${e(m.reportsNote)}</p>`);
  if (m.reports.length) {
    parts.push(
      `<ul style="font-size:13px;padding-left:20px">${m.reports
        .map((r) => {
          const item = (label: string, target: string | null): string =>
            !target
              ? ''
              : r.kind === 'presigned'
                ? `<a href="${e(target)}">${label}</a>`
                : `<br>${label}: <code style="${CODE}">${e(target)}</code>`;
          return `<li>${e(r.label)}: ${item('CSV', r.csv)} ${item('JSON', r.json)}${r.payouts ? ` ${item('payouts CSV', r.payouts)}` : ''}</li>`;
        })
        .join('')}</ul>`,
    );
  }
  parts.push(`<p style="${SMALL}">${e(m.footer)}</p>`);
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${STYLE}</head><body style="font-family:Arial,Helvetica,sans-serif;color:#1f2328;max-width:760px;margin:0 auto;padding:12px">${parts.join('\n')}</body></html>`;
}

/** Subject, text and HTML of the invocation's e-mail; `fx`: the optional reporting currency. Secrets redacted (`domain/redact.ts`). */
export function renderEmail(
  digests: readonly RunDigest[],
  generatedAt: string,
  chartCid?: string,
  fx: FxRates | null = null,
): RenderedEmail {
  // Secrets out of everything the e-mail says; the links keep their presigned signature (a link
  // without it is useless) and lose only configured secret values.
  const safe = digests.map((digest) => ({
    ...currentRedactor().redactObject({ ...digest, links: null }),
    links: currentRedactor().redactObject(digest.links, 'values'),
  }));
  return {
    subject: renderSubject(safe),
    text: renderEmailText(safe, generatedAt, fx),
    html: renderEmailHtml(safe, generatedAt, chartCid, fx),
  };
}
