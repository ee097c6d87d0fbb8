import type { CurrencyCode } from '../domain/currency';
import type { BankEntry } from '../domain/bank-entry';
import { addDays } from '../domain/calendar-dates';

/**
 * The bank leg of issue #15: each payout to ONE bank credit. Pure (no I/O, no clock: the business
 * date is an argument). Lookups are hashed — a token index for references, a (currency, amount)
 * index for amounts — never a loop over payouts × entries.
 *
 * 1. By reference: a credit whose texts (remittance text, bank and customer references) contain
 *    one of the payout's own references (its id `po_…`, a trace id) as whole words
 *    (case-insensitive; a reference of several words needs all of them), in the payout's
 *    currency, with its value date in the window. One such credit with the payout's amount →
 *    `payout_matched`; one with another amount → `payout_amount_mismatch` (with the difference);
 *    several → the one with the payout's amount if only one has it, else `payout_ambiguous`. A
 *    credit that names two payouts is neither's (`payout_ambiguous` for both).
 * 2. Otherwise by amount and date: credits not pointed at in step 1 with the payout's currency
 *    and exact amount and a value date in the window; when there are several and the payout has a
 *    statement `descriptor` (shared by a processor's payouts, e.g. `STRIPE TRANSFER`), those whose
 *    texts contain it, if any. Exactly one, wanted by no other payout → `payout_matched`; several,
 *    or one that two payouts want → `payout_ambiguous` (never guessed).
 * 3. No candidate: `payout_missing_in_bank` once the window has passed (`asOfDate` after
 *    `expectedDate + windowDays`), else `payout_pending` (not a break yet; the window is open).
 *
 * The window is `expectedDate ± windowDays` calendar days (default 3), the value date being the
 * entry's `valueDate`, else its `bookingDate`. Only booked, non-reversal credits take part; every
 * such credit left unmatched is a `bank_credit_unmatched`.
 */

/**
 * A payout expected in the bank: `id` (e.g. `po_…`, an Adyen batch's payout reference), `amount`
 * in MINOR units of `currency` (positive), `expectedDate` (`YYYY-MM-DD`, the arrival or expected
 * date), `references` (other texts unique to this payout that the bank may show, e.g. a trace
 * id; the id is always one), `descriptor` (the processor's statement descriptor, which its payouts
 * share: only a tie-breaker among credits of the same amount).
 */
export interface ExpectedPayout {
  readonly id: string;
  readonly currency: CurrencyCode;
  readonly amount: bigint;
  readonly expectedDate: string;
  readonly references?: readonly string[];
  readonly descriptor?: string;
}

/** Outcome of one payout in the bank (see the module description). */
export type PayoutBankStatus =
  | 'payout_matched'
  | 'payout_missing_in_bank'
  | 'payout_amount_mismatch'
  | 'payout_ambiguous'
  | 'payout_pending';

/**
 * One payout's result: `matchedBy` says how its entry was found (`reference`, `amount_date`, null
 * without one); `bankEntry` the matched (or, for an amount mismatch, the referenced) credit;
 * `difference` = bank amount − payout amount in minor units (0n when matched, null without an
 * entry); `candidates` the credits it could not choose between (`payout_ambiguous`), else empty.
 */
export interface PayoutBankResult {
  readonly payout: ExpectedPayout;
  readonly status: PayoutBankStatus;
  readonly matchedBy: 'reference' | 'amount_date' | null;
  readonly bankEntry: BankEntry | null;
  readonly difference: bigint | null;
  readonly candidates: readonly BankEntry[];
}

/** Counts of the contract's bank outcomes (plus `payout_pending`), every key present. */
export interface BankMatchCounts {
  readonly payout_matched: number;
  readonly payout_missing_in_bank: number;
  readonly bank_credit_unmatched: number;
  readonly payout_amount_mismatch: number;
  readonly payout_ambiguous: number;
  readonly payout_pending: number;
}

/** The result: one entry per payout (input order), the unmatched credits (file order), counts. */
export interface BankMatchResult {
  readonly payouts: readonly PayoutBankResult[];
  readonly unmatchedCredits: readonly BankEntry[];
  readonly counts: BankMatchCounts;
}

/** `asOfDate`: the business date `YYYY-MM-DD`; `windowDays`: ± days around the expected date. */
export interface BankMatchOptions {
  readonly asOfDate: string;
  readonly windowDays?: number;
}

/** The default `--bank-window-days`. */
export const DEFAULT_BANK_WINDOW_DAYS = 3;

/** Whole words of `text`, upper case: runs of letters, digits, `_` and `-`. */
function words(text: string): string[] {
  return text.toUpperCase().match(/[\p{L}\p{N}_-]+/gu) ?? [];
}

function entryWords(entry: BankEntry): Set<string> {
  const texts = [entry.remittanceText, entry.bankReference, entry.customerReference];
  return new Set(texts.flatMap((text) => (text === null ? [] : words(text))));
}

/** The date compared with the window: the value date, else the booking date. */
function dateOf(entry: BankEntry): string | null {
  return entry.valueDate ?? entry.bookingDate;
}

/**
 * A short reference naming a bank entry in reports and the JSON contract (`bank_entry`): its
 * bank reference, else its customer reference, else `statement@line N` / `statement@XML path`.
 */
export function bankEntryReference(entry: BankEntry): string {
  return (
    entry.bankReference ??
    entry.customerReference ??
    `${entry.statementId}@${entry.line !== null ? `line ${entry.line}` : (entry.xmlPath ?? '?')}`
  );
}

/**
 * Matches `payouts` to the credits among `entries` as described in the module description.
 * Throws `RangeError` for a negative `windowDays` or a payout with a non-positive amount.
 */
export function matchPayoutsToBank(
  payouts: readonly ExpectedPayout[],
  entries: readonly BankEntry[],
  options: BankMatchOptions,
): BankMatchResult {
  const windowDays = options.windowDays ?? DEFAULT_BANK_WINDOW_DAYS;
  if (!Number.isInteger(windowDays) || windowDays < 0)
    throw new RangeError(`window days must be a whole number ≥ 0, got ${windowDays}`);
  const credits = entries.filter((e) => e.direction === 'credit' && !e.reversal && e.booked);
  // Indexes: word → credit indexes (with each credit's word set), (currency, amount) → indexes.
  const creditWords = credits.map(entryWords);
  const byWord = new Map<string, number[]>();
  const byAmount = new Map<string, number[]>();
  credits.forEach((credit, index) => {
    for (const word of creditWords[index] ?? []) {
      const list = byWord.get(word);
      if (list) list.push(index);
      else byWord.set(word, [index]);
    }
    const key = `${credit.currency}\u0000${credit.amount}`;
    const list = byAmount.get(key);
    if (list) list.push(index);
    else byAmount.set(key, [index]);
  });
  // The window of each payout, computed once: [expected − days, expected + days].
  // (Payouts share few expected dates: each date's window is computed once.)
  const byDate = new Map<string, readonly [string, string]>();
  const windows = new Map<ExpectedPayout, readonly [string, string]>();
  for (const payout of payouts) {
    let window = byDate.get(payout.expectedDate);
    if (!window) {
      window = [
        addDays(payout.expectedDate, -windowDays),
        addDays(payout.expectedDate, windowDays),
      ];
      byDate.set(payout.expectedDate, window);
    }
    windows.set(payout, window);
  }
  const inWindow = (payout: ExpectedPayout, index: number): boolean => {
    const credit = credits[index] as BankEntry;
    const date = dateOf(credit);
    const [from, to] = windows.get(payout) ?? ['', ''];
    return credit.currency === payout.currency && date !== null && date >= from && date <= to;
  };
  const referenceCandidates = (payout: ExpectedPayout): number[] => {
    const found = new Set<number>();
    for (const reference of [payout.id, ...(payout.references ?? [])]) {
      const [first, ...rest] = words(reference);
      if (first === undefined) continue;
      for (const index of byWord.get(first) ?? []) {
        const set = creditWords[index] as Set<string>;
        if (rest.every((word) => set.has(word)) && inWindow(payout, index)) found.add(index);
      }
    }
    return [...found].sort((a, b) => a - b);
  };

  for (const payout of payouts) {
    if (payout.amount <= 0n)
      throw new RangeError(`payout ${payout.id} has a non-positive amount ${payout.amount}`);
  }
  const results: (PayoutBankResult | undefined)[] = payouts.map(() => undefined);
  const claimed = new Set<number>();

  // Step 1: by reference. A credit wanted by two payouts' references is no one's.
  const byReference = payouts.map(referenceCandidates);
  const wanted = new Map<number, number>();
  for (const list of byReference)
    for (const index of list) wanted.set(index, (wanted.get(index) ?? 0) + 1);
  payouts.forEach((payout, p) => {
    const list = byReference[p] ?? [];
    if (list.length === 0) return;
    const own = list.filter((index) => wanted.get(index) === 1);
    const exact = own.filter((index) => (credits[index] as BankEntry).amount === payout.amount);
    const chosen =
      exact.length === 1 ? exact[0] : own.length === 1 && list.length === 1 ? own[0] : undefined;
    if (chosen === undefined) {
      results[p] = {
        payout,
        status: 'payout_ambiguous',
        matchedBy: null,
        bankEntry: null,
        difference: null,
        candidates: list.map((index) => credits[index] as BankEntry),
      };
      return;
    }
    const entry = credits[chosen] as BankEntry;
    claimed.add(chosen);
    const difference = entry.amount - payout.amount;
    results[p] = {
      payout,
      status: difference === 0n ? 'payout_matched' : 'payout_amount_mismatch',
      matchedBy: 'reference',
      bankEntry: entry,
      difference,
      candidates: [],
    };
  });
  // Every credit a reference points at is kept out of the amount-and-date step.
  for (const list of byReference) for (const index of list) claimed.add(index);

  // Step 2: by amount and date, among credits no reference claimed.
  const byAmountCandidates = payouts.map((payout, p) => {
    if (results[p] !== undefined) return [];
    const list = (byAmount.get(`${payout.currency}\u0000${payout.amount}`) ?? []).filter(
      (index) => !claimed.has(index) && inWindow(payout, index),
    );
    const descriptor = words(payout.descriptor ?? '');
    if (list.length < 2 || descriptor.length === 0) return list;
    const narrowed = list.filter((index) => {
      const set = creditWords[index] as Set<string>;
      return descriptor.every((word) => set.has(word));
    });
    return narrowed.length > 0 ? narrowed : list;
  });
  const wantedByAmount = new Map<number, number>();
  for (const list of byAmountCandidates)
    for (const index of list) wantedByAmount.set(index, (wantedByAmount.get(index) ?? 0) + 1);
  payouts.forEach((payout, p) => {
    if (results[p] !== undefined) return;
    const list = byAmountCandidates[p] ?? [];
    const only = list[0];
    if (list.length === 1 && only !== undefined && wantedByAmount.get(only) === 1) {
      claimed.add(only);
      results[p] = {
        payout,
        status: 'payout_matched',
        matchedBy: 'amount_date',
        bankEntry: credits[only] as BankEntry,
        difference: 0n,
        candidates: [],
      };
    } else if (list.length > 0) {
      results[p] = {
        payout,
        status: 'payout_ambiguous',
        matchedBy: null,
        bankEntry: null,
        difference: null,
        candidates: list.map((index) => credits[index] as BankEntry),
      };
    } else {
      const windowEnd = windows.get(payout)?.[1] ?? payout.expectedDate;
      results[p] = {
        payout,
        status: options.asOfDate > windowEnd ? 'payout_missing_in_bank' : 'payout_pending',
        matchedBy: null,
        bankEntry: null,
        difference: null,
        candidates: [],
      };
    }
  });

  const matchedEntries = new Set<BankEntry>();
  for (const result of results) if (result?.bankEntry) matchedEntries.add(result.bankEntry);
  const unmatchedCredits = credits.filter((credit) => !matchedEntries.has(credit));
  return bankMatchResult(results as PayoutBankResult[], unmatchedCredits);
}

/**
 * A `BankMatchResult` of `payouts` (one result per payout) and the `unmatchedCredits` left, with
 * its counts (every key present).
 */
export function bankMatchResult(
  payouts: readonly PayoutBankResult[],
  unmatchedCredits: readonly BankEntry[],
): BankMatchResult {
  const count = (status: PayoutBankStatus): number =>
    payouts.filter((result) => result.status === status).length;
  return {
    payouts,
    unmatchedCredits,
    counts: {
      payout_matched: count('payout_matched'),
      payout_missing_in_bank: count('payout_missing_in_bank'),
      bank_credit_unmatched: unmatchedCredits.length,
      payout_amount_mismatch: count('payout_amount_mismatch'),
      payout_ambiguous: count('payout_ambiguous'),
      payout_pending: count('payout_pending'),
    },
  };
}
