import {
  BusinessDayCalendar,
  businessDateAtCutoff,
  calendarDayCutoffs,
  cutoffDayBounds,
  cutoffOf,
  dateOfEpochDay,
  epochDayOf,
  daysBetween,
  formatCutoff,
  parseCutoff,
} from '../../src/domain/cutoff';
import { ConfigError } from '../../src/domain/errors';

const at = (iso: string): number => Date.parse(iso);
const iso = (bounds: {
  startMs: number;
  endMs: number;
}): { start: string; end: string; hours: number } => ({
  start: new Date(bounds.startMs).toISOString(),
  end: new Date(bounds.endMs).toISOString(),
  hours: (bounds.endMs - bounds.startMs) / 3_600_000,
});

describe('business-day cut-offs', () => {
  const square = parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE');
  const stripe = parseCutoff('UTC 00:00', 'RECON_CUTOFF_STRIPE');
  const amsterdam = parseCutoff('Europe/Amsterdam 00:00', 'RECON_CUTOFF_ADYEN');

  it('parses "<zone> <HH:MM>" and formats it back', () => {
    expect(square).toEqual({ zone: 'America/Los_Angeles', minutes: 1020 });
    expect(formatCutoff(square)).toBe('America/Los_Angeles 17:00');
  });

  it.each([
    [
      'America/Los_Angeles',
      'RECON_CUTOFF_SQUARE must be "<IANA time zone> <HH:MM>" (e.g. "America/Los_Angeles 17:00"), got "America/Los_Angeles"',
    ],
    [
      'UTC 24:00',
      'RECON_CUTOFF_SQUARE must be "<IANA time zone> <HH:MM>" (e.g. "America/Los_Angeles 17:00"), got "UTC 24:00"',
    ],
    [
      'Mars/Olympus 17:00',
      "RECON_CUTOFF_SQUARE: 'Mars/Olympus' is not an IANA time zone (e.g. UTC, Europe/Berlin)",
    ],
  ])('rejects %s with a ConfigError naming the setting', (text, message) => {
    expect(() => parseCutoff(text, 'RECON_CUTOFF_SQUARE')).toThrow(new ConfigError(message));
  });

  it("puts 16:59 PDT on 09-29 in business date 09-29 and 17:01 in 09-30 (Square's 17:00)", () => {
    expect(businessDateAtCutoff(at('2025-09-29T16:59:00-07:00'), square)).toBe('2025-09-29');
    expect(businessDateAtCutoff(at('2025-09-29T17:00:00-07:00'), square)).toBe('2025-09-30');
    expect(businessDateAtCutoff(at('2025-09-29T17:01:00-07:00'), square)).toBe('2025-09-30');
  });

  it('bounds a 17:00 business day from 17:00 the day before to 17:00 on the day', () => {
    expect(iso(cutoffDayBounds('2025-09-30', square))).toEqual({
      start: '2025-09-30T00:00:00.000Z',
      end: '2025-10-01T00:00:00.000Z',
      hours: 24,
    });
  });

  it('makes the Los Angeles days across DST 23 and 25 hours long', () => {
    // 2025-03-09 02:00 PST → 03:00 PDT; 2025-11-02 02:00 PDT → 01:00 PST.
    expect(iso(cutoffDayBounds('2025-03-09', square))).toEqual({
      start: '2025-03-09T01:00:00.000Z',
      end: '2025-03-10T00:00:00.000Z',
      hours: 23,
    });
    expect(iso(cutoffDayBounds('2025-11-02', square))).toEqual({
      start: '2025-11-02T00:00:00.000Z',
      end: '2025-11-03T01:00:00.000Z',
      hours: 25,
    });
  });

  it('makes the Amsterdam midnight days across DST 23 and 25 hours long', () => {
    expect(iso(cutoffDayBounds('2025-03-30', amsterdam))).toEqual({
      start: '2025-03-29T23:00:00.000Z',
      end: '2025-03-30T22:00:00.000Z',
      hours: 23,
    });
    expect(iso(cutoffDayBounds('2025-10-26', amsterdam))).toEqual({
      start: '2025-10-25T22:00:00.000Z',
      end: '2025-10-26T23:00:00.000Z',
      hours: 25,
    });
    expect(businessDateAtCutoff(at('2025-10-26T22:59:59Z'), amsterdam)).toBe('2025-10-26');
    expect(businessDateAtCutoff(at('2025-10-26T23:00:00Z'), amsterdam)).toBe('2025-10-27');
  });

  it('keeps UTC midnight days as calendar days', () => {
    expect(iso(cutoffDayBounds('2025-09-30', stripe))).toEqual({
      start: '2025-09-30T00:00:00.000Z',
      end: '2025-10-01T00:00:00.000Z',
      hours: 24,
    });
    expect(businessDateAtCutoff(at('2025-09-30T23:58:00Z'), stripe)).toBe('2025-09-30');
    expect(businessDateAtCutoff(at('2025-10-01T00:03:00Z'), stripe)).toBe('2025-10-01');
  });

  it('agrees between the bounds and the date of every instant around a DST change', () => {
    for (let hour = -30; hour <= 30; hour++) {
      const ms = at('2025-11-02T09:00:00Z') + hour * 3_600_000;
      const date = businessDateAtCutoff(ms, square);
      const { startMs, endMs } = cutoffDayBounds(date, square);
      expect(startMs <= ms && ms < endMs).toBe(true);
    }
  });

  it('counts calendar days between business dates', () => {
    expect([
      daysBetween('2025-09-29', '2025-09-30'),
      daysBetween('2025-09-30', '2025-09-30'),
      daysBetween('2025-03-01', '2025-02-27'),
    ]).toEqual([1, 0, -2]);
  });
});

describe('BusinessDayCalendar', () => {
  const square = parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE');
  const amsterdam = parseCutoff('Europe/Amsterdam 00:00', 'RECON_CUTOFF_ADYEN');

  it("dates Square's 17:00 boundary: 16:59 PDT on 09-29 is 09-29, 17:01 is 09-30", () => {
    const calendar = new BusinessDayCalendar(square);
    expect(
      [
        '2025-09-29T16:59:00-07:00',
        '2025-09-29T17:01:00-07:00',
        '2025-09-29T16:59:59.999-07:00',
        '2025-09-30T16:59:00-07:00',
        '2025-09-30T17:00:00-07:00',
      ].map((instant) => calendar.dateAt(at(instant))),
    ).toEqual(['2025-09-29', '2025-09-30', '2025-09-29', '2025-09-30', '2025-10-01']);
  });

  it('agrees with businessDateAtCutoff for every quarter hour across the DST days of Los Angeles and Amsterdam', () => {
    for (const cutoff of [square, amsterdam]) {
      const calendar = new BusinessDayCalendar(cutoff);
      const mismatches: string[] = [];
      for (const around of [
        '2025-03-09T10:00:00Z',
        '2025-03-30T01:00:00Z',
        '2025-11-02T09:00:00Z',
        '2025-10-26T01:00:00Z',
      ]) {
        // Visit the instants out of order, so that the cache is searched, not only extended.
        for (let step = -200; step <= 200; step++) {
          const ms = at(around) + ((step * 37) % 201) * 900_000;
          const expected = businessDateAtCutoff(ms, cutoff);
          if (calendar.dateAt(ms) !== expected) mismatches.push(`${new Date(ms).toISOString()}`);
        }
      }
      expect(mismatches).toEqual([]);
    }
  });

  it('makes the 25-hour Los Angeles day of 2025-11-02 one business date from 17:00 PDT to 17:00 PST', () => {
    const calendar = new BusinessDayCalendar(square);
    expect([
      calendar.dateAt(at('2025-11-01T16:59:59-07:00')),
      calendar.dateAt(at('2025-11-01T17:00:00-07:00')),
      calendar.dateAt(at('2025-11-02T16:59:59-08:00')),
      calendar.dateAt(at('2025-11-02T17:00:00-08:00')),
    ]).toEqual(['2025-11-01', '2025-11-02', '2025-11-02', '2025-11-03']);
  });

  it('converts between business dates and epoch days', () => {
    expect([epochDayOf('1970-01-01'), epochDayOf('2025-09-30'), dateOfEpochDay(20361)]).toEqual([
      0,
      20361,
      '2025-09-30',
    ]);
  });
});

describe('cutoffOf', () => {
  it('gives the ledger its cut-off and a processor its own or the calendar-day fallback', () => {
    const square = parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE');
    const cutoffs = { ...calendarDayCutoffs('Europe/Berlin'), processors: { square } };
    expect([
      cutoffOf(cutoffs, 'internal', 'square'),
      cutoffOf(cutoffs, 'processor', 'square'),
      cutoffOf(cutoffs, 'processor', 'stripe'),
    ]).toEqual([
      { zone: 'Europe/Berlin', minutes: 0 },
      { zone: 'America/Los_Angeles', minutes: 1020 },
      { zone: 'Europe/Berlin', minutes: 0 },
    ]);
  });
});
