import { DateTime, IANAZone } from 'luxon';
import type { BusinessDate } from './business-date';
import { ConfigError } from './errors';

/**
 * A source's business-day cut-off: an IANA time zone and the local time at which its business
 * day ENDS (and the next one starts). `UTC 00:00` (Stripe's default) means day D is
 * `[D 00:00, D+1 00:00)` UTC; `America/Los_Angeles 17:00` (Square's US default) means day D runs
 * from 17:00 on D-1 to 17:00 on D, Pacific time. Days across a daylight-saving change are 23 or 25
 * hours long. Minutes since local midnight, 0–1439.
 */
export interface Cutoff {
  readonly zone: string;
  readonly minutes: number;
}

const CUTOFF_SHAPE = /^(\S+)\s+([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * Parses `"<IANA zone> <HH:MM>"` (e.g. `America/Los_Angeles 17:00`).
 * @param what the setting's name, for the message (e.g. `RECON_CUTOFF_SQUARE`).
 * @throws ConfigError naming `what` for any other shape or an unknown zone.
 */
export function parseCutoff(text: string, what: string): Cutoff {
  const m = CUTOFF_SHAPE.exec(text.trim());
  const zone = m?.[1];
  if (!m || zone === undefined) {
    throw new ConfigError(
      `${what} must be "<IANA time zone> <HH:MM>" (e.g. "America/Los_Angeles 17:00"), got "${text}"`,
    );
  }
  if (!IANAZone.isValidZone(zone))
    throw new ConfigError(`${what}: '${zone}' is not an IANA time zone (e.g. UTC, Europe/Berlin)`);
  return { zone, minutes: Number(m[2]) * 60 + Number(m[3]) };
}

/** The cut-off of a plain calendar day in `zone` (midnight to midnight): today's behaviour. */
export function midnightCutoff(zone: string): Cutoff {
  return { zone, minutes: 0 };
}

/** Formats a cut-off back to its settings form (`America/Los_Angeles 17:00`). */
export function formatCutoff(cutoff: Cutoff): string {
  const hh = String(Math.floor(cutoff.minutes / 60)).padStart(2, '0');
  const mm = String(cutoff.minutes % 60).padStart(2, '0');
  return `${cutoff.zone} ${hh}:${mm}`;
}

function atLocal(date: BusinessDate, cutoff: Cutoff): DateTime {
  return DateTime.fromISO(date, { zone: cutoff.zone })
    .startOf('day')
    .set({ hour: Math.floor(cutoff.minutes / 60), minute: cutoff.minutes % 60 });
}

/**
 * The instants bounding business date `date` under `cutoff`: `[startMs, endMs)`, epoch
 * milliseconds (UTC). With a cut-off of 00:00 this is the calendar day; with 17:00 it is 17:00 on
 * the day before to 17:00 on `date`, in the cut-off's zone (23 or 25 hours across DST).
 */
export function cutoffDayBounds(
  date: BusinessDate,
  cutoff: Cutoff,
): { startMs: number; endMs: number } {
  const end =
    cutoff.minutes === 0
      ? DateTime.fromISO(date, { zone: cutoff.zone }).startOf('day').plus({ days: 1 })
      : atLocal(date, cutoff);
  const previous = end.minus({ days: 1 }).toISODate() ?? date;
  const start =
    cutoff.minutes === 0
      ? DateTime.fromISO(date, { zone: cutoff.zone }).startOf('day')
      : atLocal(previous, cutoff);
  return { startMs: start.toMillis(), endMs: end.toMillis() };
}

/**
 * The business date, under `cutoff`, of the instant `epochMs` (UTC milliseconds): the local date
 * when the local time is before the cut-off, the next date from the cut-off on. With 17:00 in
 * America/Los_Angeles, 16:59 PDT on 09-29 is business date 09-29 and 17:01 is 09-30.
 */
export function businessDateAtCutoff(epochMs: number, cutoff: Cutoff): BusinessDate {
  const local = DateTime.fromMillis(epochMs, { zone: cutoff.zone });
  const date = local.toISODate() ?? '';
  if (cutoff.minutes === 0) return date;
  // Compare instants, not wall-clock minutes: on a DST day the cut-off may not exist locally.
  return epochMs >= atLocal(date, cutoff).toMillis()
    ? (local.plus({ days: 1 }).toISODate() ?? date)
    : date;
}

/** Calendar days from `from` to `to` (both `YYYY-MM-DD`); negative when `to` is earlier. */
export function daysBetween(from: BusinessDate, to: BusinessDate): number {
  const a = DateTime.fromISO(from, { zone: 'UTC' });
  const b = DateTime.fromISO(to, { zone: 'UTC' });
  return Math.round(b.diff(a, 'days').days);
}

/** The epoch day (days since 1970-01-01) of a business date `YYYY-MM-DD`. */
export function epochDayOf(date: BusinessDate): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

/** The business date `YYYY-MM-DD` of an epoch day (days since 1970-01-01). */
export function dateOfEpochDay(day: number): BusinessDate {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The cut-offs of one run's two sides: the ledger's (`RECON_CUTOFF_LEDGER`) and each processor's
 * (`RECON_CUTOFF_<PROCESSOR>`). A processor without an entry uses `fallback`: the calendar day in
 * RECON_TIMEZONE (midnight to midnight), which is also the default of the ledger.
 */
export interface SourceCutoffs {
  readonly ledger: Cutoff;
  readonly processors: Readonly<Partial<Record<string, Cutoff>>>;
  readonly fallback: Cutoff;
}

/** Every side on the calendar day of `zone` (RECON_TIMEZONE): the behaviour without cut-offs. */
export function calendarDayCutoffs(zone: string): SourceCutoffs {
  const midnight = midnightCutoff(zone);
  return { ledger: midnight, processors: {}, fallback: midnight };
}

/** The cut-off of `processor`'s side of a run (`side` `internal` = the ledger's). */
export function cutoffOf(
  cutoffs: SourceCutoffs,
  side: 'processor' | 'internal',
  processor: string,
): Cutoff {
  return side === 'internal' ? cutoffs.ledger : (cutoffs.processors[processor] ?? cutoffs.fallback);
}

/**
 * Business dates of many instants under one cut-off, fast: the bounds of each business day met
 * are computed once (luxon) and kept, sorted; an instant is then placed by comparing it with the
 * last day hit or by a binary search over the days seen. Same answers as `businessDateAtCutoff`.
 * Built per side of a run (its rows are mostly in one or two business days).
 */
export class BusinessDayCalendar {
  /** Days seen, sorted by start: `[startMs, endMs)` and the epoch day of the business date. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly days: number[] = [];
  // The day last hit, as plain fields: the common case is two comparisons (an empty range at first).
  private hitStart = 0;
  private hitEnd = 0;
  private hitDay = 0;

  constructor(readonly cutoff: Cutoff) {}

  private hit(index: number): number {
    this.hitStart = this.starts[index] as number;
    this.hitEnd = this.ends[index] as number;
    this.hitDay = this.days[index] as number;
    return this.hitDay;
  }

  /** The epoch day (see `epochDayOf`) of the business date of `epochMs` (UTC milliseconds). */
  epochDayAt(epochMs: number): number {
    if (epochMs >= this.hitStart && epochMs < this.hitEnd) return this.hitDay;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (epochMs < (this.starts[mid] as number)) hi = mid - 1;
      else if (epochMs >= (this.ends[mid] as number)) lo = mid + 1;
      else return this.hit(mid);
    }
    const date = businessDateAtCutoff(epochMs, this.cutoff);
    const { startMs, endMs } = cutoffDayBounds(date, this.cutoff);
    const day = epochDayOf(date);
    if (!(epochMs >= startMs && epochMs < endMs)) return day; // an instant luxon cannot place
    this.starts.splice(lo, 0, startMs);
    this.ends.splice(lo, 0, endMs);
    this.days.splice(lo, 0, day);
    return this.hit(lo);
  }

  /** The business date `YYYY-MM-DD` of `epochMs` (UTC milliseconds). */
  dateAt(epochMs: number): BusinessDate {
    return dateOfEpochDay(this.epochDayAt(epochMs));
  }
}
