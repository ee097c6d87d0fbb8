import fc from 'fast-check';
import { DateTime } from 'luxon';
import { localToInstant, type LocalDateTime } from '../../src/sources/formats/parse-values';

/**
 * `localToInstant` for IANA zones (PayPal activity downloads carry one per row): luxon decides
 * the offset, DST gaps and overlaps included, but is asked once per zone and local minute, not
 * once per row (it took ~200 µs a row).
 */
const luxonInstant = (local: LocalDateTime, zone: string): number | null => {
  const time = DateTime.fromObject({ ...local }, { zone });
  return time.isValid ? time.toMillis() : null;
};

const ZONES = ['Europe/Berlin', 'America/Los_Angeles', 'Australia/Lord_Howe', 'Asia/Kolkata'];

describe('localToInstant with an IANA zone', () => {
  it('gives luxon’s instant for any local time, DST gaps and overlaps included', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.record({
          year: fc.integer({ min: 1971, max: 2037 }),
          // Around the usual transition days, and any day.
          month: fc.constantFrom(3, 4, 10, 11, 1, 7),
          day: fc.integer({ min: 1, max: 28 }),
          hour: fc.constantFrom(0, 1, 2, 3, 12, 23),
          minute: fc.constantFrom(0, 1, 29, 30, 31, 59),
          second: fc.integer({ min: 0, max: 59 }),
        }),
        (zone, local) => {
          // Another second of the same minute first: the answer may come from what it left.
          const other = { ...local, second: (local.second + 31) % 60 };
          expect(localToInstant(other, zone)).toEqual({
            ok: true,
            value: luxonInstant(other, zone),
          });
          expect(localToInstant(local, zone)).toEqual({
            ok: true,
            value: luxonInstant(local, zone),
          });
        },
      ),
      { numRuns: 3000, seed: 20261201 },
    );
  });

  it('asks luxon once per zone and local minute, not once per row', () => {
    const spy = jest.spyOn(DateTime, 'fromObject');
    try {
      for (let second = 0; second < 60; second++) {
        for (let row = 0; row < 50; row++) {
          const local = { year: 2025, month: 9, day: 30, hour: 10, minute: 7, second };
          expect(localToInstant(local, 'Europe/Paris')).toEqual({
            ok: true,
            value: Date.UTC(2025, 8, 30, 8, 7, second),
          });
        }
      }
      expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects an unknown zone with the reason, every time', () => {
    const local = { year: 2025, month: 9, day: 30, hour: 10, minute: 7, second: 0 };
    for (let i = 0; i < 3; i++) {
      expect(localToInstant(local, 'Mars/Olympus')).toEqual({
        ok: false,
        reason: "time zone 'Mars/Olympus' is not a known abbreviation or IANA zone",
      });
    }
  });
});
