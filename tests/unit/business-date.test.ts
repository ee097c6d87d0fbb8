import {
  businessDateOf,
  businessDateRange,
  businessDayBounds,
  checkTimeZone,
  formatInstant,
  parseBusinessDate,
  parseIsoInstant,
  previousBusinessDate,
} from '../../src/domain/business-date';
import { UsageError } from '../../src/domain/errors';

const HOUR = 3_600_000;

describe('parseBusinessDate', () => {
  it('returns a real calendar date unchanged', () => {
    expect(parseBusinessDate('2025-09-30')).toBe('2025-09-30');
    expect(parseBusinessDate('2024-02-29')).toBe('2024-02-29');
    expect(parseBusinessDate('2000-02-29')).toBe('2000-02-29');
  });

  it.each([
    ['2025-02-30'],
    ['2025-02-29'],
    ['1900-02-29'],
    ['2025-13-01'],
    ['2025-00-10'],
    ['2025-09-00'],
    ['2025-09-31'],
    ['2025-9-30'],
    ['25-09-30'],
    ['2025/09/30'],
    ['2025-09-30T00:00'],
    [' 2025-09-30'],
    [''],
    ['yesterday'],
  ])('rejects %p with a UsageError', (text) => {
    expect(() => parseBusinessDate(text)).toThrow(UsageError);
  });

  it('names the option and the bad value in the message', () => {
    expect(() => parseBusinessDate('2025-02-30', '--date')).toThrow(
      "--date must be a calendar date in YYYY-MM-DD form, got '2025-02-30'",
    );
    try {
      parseBusinessDate('2025-13-01');
      throw new Error('expected a UsageError');
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).code).toBe('USAGE');
    }
  });
});

describe('checkTimeZone', () => {
  it('accepts IANA zones and rejects other names', () => {
    expect(checkTimeZone('UTC')).toBe('UTC');
    expect(checkTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(UsageError);
    expect(() => checkTimeZone('Mars/Olympus')).toThrow("RECON_TIMEZONE 'Mars/Olympus'");
  });
});

describe('previousBusinessDate', () => {
  it('is the UTC calendar day before now in UTC', () => {
    expect(previousBusinessDate('UTC', Date.parse('2025-10-01T02:00:00Z'))).toBe('2025-09-30');
    expect(previousBusinessDate('UTC', Date.parse('2025-01-01T00:00:00Z'))).toBe('2024-12-31');
    expect(previousBusinessDate('UTC', Date.parse('2024-03-01T23:59:59.999Z'))).toBe('2024-02-29');
  });

  it('uses the calendar day of the given zone, not of UTC', () => {
    // 02:00Z on Oct 1 is 19:00 on Sep 30 in Los Angeles (PDT, UTC-7).
    expect(previousBusinessDate('America/Los_Angeles', Date.parse('2025-10-01T02:00:00Z'))).toBe(
      '2025-09-29',
    );
    // 23:30Z on Sep 30 is already Oct 1 in Tokyo (UTC+9).
    expect(previousBusinessDate('Asia/Tokyo', Date.parse('2025-09-30T23:30:00Z'))).toBe(
      '2025-09-30',
    );
  });
});

describe('businessDateRange', () => {
  it('lists every date from start to end inclusive, across month and leap-day boundaries', () => {
    expect(businessDateRange('2024-02-27', '2024-03-02')).toEqual([
      '2024-02-27',
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
      '2024-03-02',
    ]);
    expect(businessDateRange('2024-12-31', '2025-01-01')).toEqual(['2024-12-31', '2025-01-01']);
  });

  it('returns one date when start equals end and none when start is after end', () => {
    expect(businessDateRange('2025-09-30', '2025-09-30')).toEqual(['2025-09-30']);
    expect(businessDateRange('2025-10-01', '2025-09-30')).toEqual([]);
  });

  it('is not shifted by a daylight-saving change in the host zone', () => {
    const range = businessDateRange('2025-03-28', '2025-04-01');
    expect(range).toEqual(['2025-03-28', '2025-03-29', '2025-03-30', '2025-03-31', '2025-04-01']);
  });
});

describe('businessDayBounds', () => {
  it('is exactly 24 hours from midnight UTC in UTC', () => {
    expect(businessDayBounds('2025-09-30', 'UTC')).toEqual({
      startMs: Date.parse('2025-09-30T00:00:00Z'),
      endMs: Date.parse('2025-10-01T00:00:00Z'),
    });
  });

  it('starts at local midnight in another zone', () => {
    expect(businessDayBounds('2025-09-30', 'America/Los_Angeles')).toEqual({
      startMs: Date.parse('2025-09-30T07:00:00Z'),
      endMs: Date.parse('2025-10-01T07:00:00Z'),
    });
  });

  it('is 25 hours long on the autumn daylight-saving change in Europe/Berlin', () => {
    const { startMs, endMs } = businessDayBounds('2025-10-26', 'Europe/Berlin');
    expect(startMs).toBe(Date.parse('2025-10-25T22:00:00Z'));
    expect(endMs).toBe(Date.parse('2025-10-26T23:00:00Z'));
    expect(endMs - startMs).toBe(25 * HOUR);
  });

  it('is 23 hours long on the spring daylight-saving change in Europe/Berlin', () => {
    const { startMs, endMs } = businessDayBounds('2025-03-30', 'Europe/Berlin');
    expect(startMs).toBe(Date.parse('2025-03-29T23:00:00Z'));
    expect(endMs - startMs).toBe(23 * HOUR);
  });
});

describe('businessDateOf and formatInstant', () => {
  it('gives the calendar day of an instant in the zone', () => {
    const instant = Date.parse('2025-10-01T02:00:00Z');
    expect(businessDateOf(instant, 'UTC')).toBe('2025-10-01');
    expect(businessDateOf(instant, 'America/Los_Angeles')).toBe('2025-09-30');
  });

  it('formats an instant as ISO 8601 UTC with milliseconds', () => {
    expect(formatInstant(Date.parse('2025-09-30T14:03:00Z'))).toBe('2025-09-30T14:03:00.000Z');
  });
});

describe('parseIsoInstant', () => {
  it.each([
    ['2025-09-30T14:03:00Z', '2025-09-30T14:03:00.000Z'],
    ['2025-09-30T14:03:00z', '2025-09-30T14:03:00.000Z'],
    ['2025-09-30 14:03:00Z', '2025-09-30T14:03:00.000Z'],
    ['2025-09-30T14:03Z', '2025-09-30T14:03:00.000Z'],
    ['2025-09-30T14:03:00+02:00', '2025-09-30T12:03:00.000Z'],
    ['2025-09-30T14:03:00+0200', '2025-09-30T12:03:00.000Z'],
    ['2025-09-30T14:03:00+02', '2025-09-30T12:03:00.000Z'],
    ['2025-09-30T14:03:00-05:30', '2025-09-30T19:33:00.000Z'],
    ['2025-09-30T00:30:00+01:00', '2025-09-29T23:30:00.000Z'],
    ['2025-09-30T14:03:00-00:00', '2025-09-30T14:03:00.000Z'],
    ['2025-09-30T14:03:00.5Z', '2025-09-30T14:03:00.500Z'],
    ['2025-09-30T14:03:00.123Z', '2025-09-30T14:03:00.123Z'],
    ['2025-09-30T14:03:00,123Z', '2025-09-30T14:03:00.123Z'],
    ['2025-09-30T14:03:00.123456789Z', '2025-09-30T14:03:00.123Z'],
    ['2025-09-30T14:03:00.9999+01:00', '2025-09-30T13:03:00.999Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000Z'],
    ['2025-09-30T14:03:00+18:00', '2025-09-29T20:03:00.000Z'],
    ['2025-09-30T14:03:00-18:00', '2025-10-01T08:03:00.000Z'],
  ])('parses %p as %p', (text, iso) => {
    expect(parseIsoInstant(text)).toBe(Date.parse(iso));
  });

  it.each([
    ['no offset', '2025-09-30T14:03:00'],
    ['date only', '2025-09-30'],
    ['impossible day', '2025-02-30T10:00:00Z'],
    ['Feb 29 in a common year', '2025-02-29T10:00:00Z'],
    ['month 13', '2025-13-01T10:00:00Z'],
    ['month 0', '2025-00-01T10:00:00Z'],
    ['day 0', '2025-09-00T10:00:00Z'],
    ['hour 24', '2025-09-30T24:00:00Z'],
    ['minute 60', '2025-09-30T10:60:00Z'],
    ['second 60', '2025-09-30T10:00:60Z'],
    ['offset beyond 18h', '2025-09-30T10:00:00+19:00'],
    ['offset 18:01', '2025-09-30T10:00:00+18:01'],
    ['offset minutes 60', '2025-09-30T10:00:00+01:60'],
    ['single-digit month', '2025-9-30T10:00:00Z'],
    ['ten fraction digits', '2025-09-30T10:00:00.1234567890Z'],
    ['empty fraction', '2025-09-30T10:00:00.Z'],
    ['leading space', ' 2025-09-30T10:00:00Z'],
    ['trailing text', '2025-09-30T10:00:00Z junk'],
    ['epoch number', '1759240980000'],
    ['empty', ''],
  ])('rejects a timestamp with %s (%p)', (_label, text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });

  it('agrees with Date.parse on random valid timestamps with offsets', () => {
    // A deterministic sweep instead of fast-check: offsets every 15 minutes, every month.
    for (let month = 1; month <= 12; month++) {
      for (let offset = -18 * 60; offset <= 18 * 60; offset += 45) {
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        const hh = String(Math.floor(abs / 60)).padStart(2, '0');
        const mm = String(abs % 60).padStart(2, '0');
        const text = `2025-${String(month).padStart(2, '0')}-15T07:08:09.010${sign}${hh}:${mm}`;
        expect(parseIsoInstant(text)).toBe(Date.parse(text));
      }
    }
  });

  it('maps years before 100 to their own century, not to 19xx', () => {
    expect(parseIsoInstant('0099-01-01T00:00:00Z')).toBe(Date.parse('0099-01-01T00:00:00Z'));
  });
});
