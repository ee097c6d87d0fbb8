import { DateTime, IANAZone } from 'luxon';
import { currencyExponent, normalizeCurrency, type CurrencyCode } from '../../domain/currency';
import { MAX_AMOUNT_MINOR } from '../../domain/input-limits';
import { parseDecimalToMinor } from '../../domain/money';

/** Result of the value parsers: the value, or a reason phrase (`"is not a decimal number"`). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A currency code and its ISO 4217 exponent. */
export interface CurrencyInfo {
  readonly code: CurrencyCode;
  readonly exponent: number;
}

/** `text` (any case, `usd`) as an ISO 4217 currency with its exponent. */
export function parseCurrency(text: string): Parsed<CurrencyInfo> {
  const code = normalizeCurrency(text);
  if (code === undefined)
    return { ok: false, reason: `'${text}' is not an ISO 4217 currency code` };
  return { ok: true, value: { code, exponent: currencyExponent(code) } };
}

/**
 * A plain decimal in MAJOR units (`12.34`, `-0.5`, `25`) → integer minor units with `exponent`
 * digits. Exact (no float). Same grammar as the canonical CSV (optional minus, digits, dot).
 */
export function parseMajorAmount(text: string, exponent: number): Parsed<bigint> {
  const parsed = parseDecimalToMinor(text, exponent);
  if (parsed.ok) return { ok: true, value: parsed.minor };
  return {
    ok: false,
    reason:
      parsed.reason === 'too_many_decimals'
        ? `has more decimals than the currency allows (${exponent})`
        : parsed.reason === 'empty'
          ? 'is empty'
          : parsed.reason === 'out_of_range'
            ? `is beyond the accepted range of ±${MAX_AMOUNT_MINOR} minor units (18 digits)`
            : 'is not a decimal number',
  };
}

const DOT_DECIMAL = /^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const COMMA_DECIMAL = /^-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$/;

/**
 * A decimal written with a locale's separators → minor units. `decimal` `.`: `1,234.56`,
 * `-0.5`; `decimal` `,`: `4.626,81`, `-1,78`. Thousands groups must be groups of three; anything
 * else (a space, a currency sign, `1,2.3`) is rejected. The separators are normalised as text, then
 * `parseDecimalToMinor` converts exactly.
 */
export function parseLocaleAmount(
  text: string,
  exponent: number,
  decimal: '.' | ',',
): Parsed<bigint> {
  const grammar = decimal === '.' ? DOT_DECIMAL : COMMA_DECIMAL;
  if (text === '') return { ok: false, reason: 'is empty' };
  if (!grammar.test(text)) {
    return {
      ok: false,
      reason: `is not a decimal number with '${decimal}' as decimal separator`,
    };
  }
  const plain =
    decimal === '.' ? text.replaceAll(',', '') : text.replaceAll('.', '').replace(',', '.');
  return parseMajorAmount(plain, exponent);
}

/**
 * Time-zone abbreviations found in processor exports, as fixed UTC offsets in minutes. US
 * readings for the ambiguous ones (`CST` = US Central, as PayPal uses it; `IST` is not listed).
 */
export const ZONE_ABBREVIATIONS: Readonly<Record<string, number>> = {
  UTC: 0,
  GMT: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  HST: -600,
  AKST: -540,
  AKDT: -480,
  PST: -480,
  PDT: -420,
  MST: -420,
  MDT: -360,
  CST: -360,
  CDT: -300,
  EST: -300,
  EDT: -240,
  AST: -240,
  ADT: -180,
  JST: 540,
  KST: 540,
  HKT: 480,
  SGT: 480,
  AWST: 480,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
};

const UTC_OFFSET = /^(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?$/;

/** A calendar date and time of day, as written in an export (no zone). */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/**
 * Converts a local date-time in `zone` to epoch milliseconds (UTC). `zone` is an abbreviation
 * from `ZONE_ABBREVIATIONS` (`PST`, `CET`), `UTC+02:00`/`GMT-8`, or an IANA name
 * (`Europe/Berlin`); an IANA zone decides DST itself (a time in the spring-forward gap moves
 * forward, as luxon does).
 */
export function localToInstant(local: LocalDateTime, zone: string): Parsed<number> {
  if (!validLocal(local)) return { ok: false, reason: 'is not a valid date and time' };
  const upper = zone.trim().toUpperCase();
  let offset: number | undefined = Object.hasOwn(ZONE_ABBREVIATIONS, upper)
    ? ZONE_ABBREVIATIONS[upper]
    : undefined;
  const explicit = UTC_OFFSET.exec(upper);
  if (explicit) {
    const [, sign, hours = '0', minutes = '0'] = explicit;
    offset = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
  }
  if (offset !== undefined) {
    return { ok: true, value: localAsUtc(local) - offset * 60_000 };
  }
  if (zone.includes('/') && isIanaZone(zone.trim())) {
    const value = ianaInstant(local, zone.trim());
    if (value !== null) return { ok: true, value };
  }
  return { ok: false, reason: `time zone '${zone}' is not a known abbreviation or IANA zone` };
}

/** `local` read as a UTC date-time, in epoch milliseconds. */
function localAsUtc(local: LocalDateTime): number {
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
}

/** Zone names already checked by `IANAZone.isValidZone` (an export repeats a few on every row). */
const ianaZoneNames = new Map<string, boolean>();

function isIanaZone(name: string): boolean {
  let valid = ianaZoneNames.get(name);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(name);
    if (ianaZoneNames.size >= 1000) ianaZoneNames.clear();
    ianaZoneNames.set(name, valid);
  }
  return valid;
}

/**
 * Offset (ms: instant minus the local time read as UTC) of each zone and local minute luxon was
 * asked about, DST gaps and overlaps resolved as luxon does. Luxon takes ~200 µs a call; a
 * download's rows share a few zones and minutes. Exact because, from 1973 on, the tz database's
 * transitions fall on whole minutes; earlier years ask luxon every time. Bounded: cleared at
 * `MAX_CACHED_MINUTES` entries.
 */
const minuteOffsets = new Map<string, number | null>();
const MAX_CACHED_MINUTES = 100_000;

/** `local` in the IANA zone `name` as epoch milliseconds (luxon's answer); `null` if invalid. */
function ianaInstant(local: LocalDateTime, name: string): number | null {
  const asUtc = localAsUtc(local);
  const cacheable = local.year >= 1973;
  const key = cacheable
    ? `${name}|${local.year}-${local.month}-${local.day} ${local.hour}:${local.minute}`
    : '';
  const cached = cacheable ? minuteOffsets.get(key) : undefined;
  if (cached !== undefined) return cached === null ? null : asUtc + cached;
  const time = DateTime.fromObject({ ...local }, { zone: name });
  const offset = time.isValid ? time.toMillis() - asUtc : null;
  if (cacheable) {
    if (minuteOffsets.size >= MAX_CACHED_MINUTES) minuteOffsets.clear();
    minuteOffsets.set(key, offset);
  }
  return offset === null ? null : asUtc + offset;
}

function validLocal(local: LocalDateTime): boolean {
  const { year, month, day, hour, minute, second } = local;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= last;
}

const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** `HH:MM[:SS]` → hour, minute, second; `undefined` when malformed. */
export function parseTimeOfDay(
  text: string,
): { hour: number; minute: number; second: number } | undefined {
  const m = TIME_OF_DAY.exec(text);
  if (!m) return undefined;
  return { hour: Number(m[1]), minute: Number(m[2]), second: Number(m[3] ?? '0') };
}

const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD HH:MM:SS` (Stripe reports, Adyen) → its parts; `undefined` when malformed. */
export function parseIsoLocal(text: string): LocalDateTime | undefined {
  const m = ISO_LOCAL.exec(text);
  if (!m) return undefined;
  return {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
  };
}
