import { DateTime, IANAZone } from 'luxon';
import { UsageError } from './errors';

/** A business date: a calendar day `YYYY-MM-DD` in the reconciliation time zone. */
export type BusinessDate = string;

const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks that `text` is a real calendar date in `YYYY-MM-DD` form (`2025-02-30` is rejected) and
 * returns it. Throws `UsageError` naming `what` (e.g. `--date`) otherwise.
 */
export function parseBusinessDate(text: string, what = 'date'): BusinessDate {
  const parsed = DATE_SHAPE.test(text) ? DateTime.fromISO(text, { zone: 'UTC' }) : undefined;
  if (!parsed?.isValid) {
    throw new UsageError(`${what} must be a calendar date in YYYY-MM-DD form, got '${text}'`);
  }
  return text;
}

/** Checks an IANA time zone name (`UTC`, `Europe/Berlin`); throws `UsageError` if unknown. */
export function checkTimeZone(zone: string): string {
  if (!IANAZone.isValidZone(zone)) {
    throw new UsageError(
      `RECON_TIMEZONE '${zone}' is not an IANA time zone (e.g. UTC, America/New_York)`,
    );
  }
  return zone;
}

/** The business date before the one containing `nowMs` in `zone` ("yesterday" for a nightly job). */
export function previousBusinessDate(zone: string, nowMs: number): BusinessDate {
  return DateTime.fromMillis(nowMs, { zone }).minus({ days: 1 }).toISODate() ?? '';
}

/** Every business date from `from` to `to`, both included, in order. Empty when `from > to`. */
export function businessDateRange(from: BusinessDate, to: BusinessDate): BusinessDate[] {
  const dates: BusinessDate[] = [];
  let day = DateTime.fromISO(from, { zone: 'UTC' });
  const last = DateTime.fromISO(to, { zone: 'UTC' });
  while (day <= last) {
    dates.push(day.toISODate() ?? '');
    day = day.plus({ days: 1 });
  }
  return dates;
}

/** The business date (in `zone`) of the instant `epochMs` (UTC milliseconds). */
export function businessDateOf(epochMs: number, zone: string): BusinessDate {
  return DateTime.fromMillis(epochMs, { zone }).toISODate() ?? '';
}

// ISO 8601 date-time that carries its own offset: 2025-09-30T14:03:00Z, …+02:00, …+0200, .123
const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses an ISO 8601 timestamp that states its offset (`Z` or `±hh:mm`, `±hhmm`, `±hh`) into
 * epoch milliseconds (UTC); fractions beyond milliseconds are truncated. Returns `undefined` for a
 * timestamp without an offset (ambiguous), an impossible date or time, or an offset beyond ±18:00.
 * Hand-rolled over the regex above because it runs once per input row (luxon is ~10× slower).
 */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '', zulu, sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMinutes = zulu ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  if (Number(om) > 59 || Math.abs(offsetMinutes) > 18 * 60) return undefined;
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const instant = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  instant.setUTCFullYear(year);
  return instant.getTime() - offsetMinutes * 60_000;
}

/** Formats epoch milliseconds as an ISO 8601 UTC timestamp (`2025-09-30T14:03:00.000Z`). */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * The instants bounding `date` in `zone`: `[startMs, endMs)` in epoch milliseconds (UTC). A day
 * may be 23 or 25 hours long across a daylight-saving change.
 */
export function businessDayBounds(
  date: BusinessDate,
  zone: string,
): { startMs: number; endMs: number } {
  const start = DateTime.fromISO(date, { zone }).startOf('day');
  return { startMs: start.toMillis(), endMs: start.plus({ days: 1 }).toMillis() };
}
