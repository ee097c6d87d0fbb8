/**
 * Calendar-date helpers of the bank statement readers. Dates are plain `YYYY-MM-DD` strings (the
 * bank's own calendar day; no time zone is implied or converted).
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `text` is a real calendar date written `YYYY-MM-DD` (`2024-02-30` is not). */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

/**
 * A BAI2 date `YYMMDD` as `YYYY-MM-DD`, or `undefined` when it is not a real date. Two-digit years
 * 00–69 are 2000–2069, 70–99 are 1970–1999 (BAI2 has no century).
 */
export function baiDate(text: string): string | undefined {
  if (!/^\d{6}$/.test(text)) return undefined;
  const yy = Number(text.slice(0, 2));
  const year = (yy < 70 ? 2000 : 1900) + yy;
  const iso = `${year}-${text.slice(2, 4)}-${text.slice(4, 6)}`;
  return isCalendarDate(iso) ? iso : undefined;
}

/** Days from `from` to `to` (both `YYYY-MM-DD`; negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  const [fy, fm, fd] = from.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = to.split('-').map(Number) as [number, number, number];
  return Math.round((Date.UTC(ty, tm - 1, td) - Date.UTC(fy, fm - 1, fd)) / 86_400_000);
}

/** `date` (`YYYY-MM-DD`) moved by `days` calendar days. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
