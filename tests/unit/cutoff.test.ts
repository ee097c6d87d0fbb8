import {
  businessDateAtCutoff,
  cutoffDayBounds,
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
