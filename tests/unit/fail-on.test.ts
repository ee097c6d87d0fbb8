import { loadConfig } from '../../src/config/load-config';
import { breaksTrip, exitCodeOfRun } from '../../src/cli/exit-codes';
import { parseFailOn, parseGraceDays, runRequestFrom } from '../../src/cli/options';
import { UsageError } from '../../src/domain/errors';

const breaks = (counts: { new: number; open: number; new_open?: number }) => ({
  resolved: 0,
  reclassified: 0,
  pending: 0,
  open_by_age: { '0-1': counts.open, '2-3': 0, '4-7': 0, '8-30': 0, '31+': 0 },
  older_than_escalation: 0,
  escalate_days: 7,
  ...counts,
});

describe('--fail-on new|open', () => {
  const completed = (b: ReturnType<typeof breaks> | null, dryRun = false) => ({
    status: 'completed',
    error: null,
    dryRun,
    breaks: b,
  });

  it('exits 8 for new breaks with --fail-on new, not counting new ones still pending', () => {
    expect([
      exitCodeOfRun(completed(breaks({ new: 2, new_open: 2, open: 5 })), 'new'),
      exitCodeOfRun(completed(breaks({ new: 2, new_open: 0, open: 5 })), 'new'),
      exitCodeOfRun(completed(breaks({ new: 1, open: 1 })), 'new'),
      exitCodeOfRun(completed(breaks({ new: 0, new_open: 0, open: 5 })), 'new'),
    ]).toEqual([8, 0, 8, 0]);
  });

  it('exits 8 for any open break with --fail-on open, whatever its origin date', () => {
    expect([
      exitCodeOfRun(completed(breaks({ new: 0, new_open: 0, open: 1 })), 'open'),
      exitCodeOfRun(completed(breaks({ new: 3, new_open: 0, open: 0 })), 'open'),
    ]).toEqual([8, 0]);
  });

  it('applies to dry runs, and treats a run without a breaks block as without breaks', () => {
    expect([
      exitCodeOfRun(completed(breaks({ new: 1, new_open: 1, open: 1 }), true), 'new'),
      exitCodeOfRun(completed(null, true), 'new'),
      exitCodeOfRun(completed(null), 'open'),
      breaksTrip(undefined, 'open'),
    ]).toEqual([8, 0, 0, false]);
  });

  it('counts settlement breaks (payouts, groups, bank credits) like transaction breaks', () => {
    const withSettlement = (counts: { new: number; new_open: number; open: number }) => ({
      ...completed(breaks({ new: 0, new_open: 0, open: 0 })),
      settlement: { breaks: { counts: { ...counts, resolved: 0, pending: 0 } } },
    });
    expect([
      exitCodeOfRun(withSettlement({ new: 1, new_open: 1, open: 1 }), 'new'),
      // a payout still pending in its window is new but not open
      exitCodeOfRun(withSettlement({ new: 1, new_open: 0, open: 0 }), 'new'),
      exitCodeOfRun(withSettlement({ new: 0, new_open: 0, open: 2 }), 'open'),
      exitCodeOfRun(withSettlement({ new: 0, new_open: 0, open: 0 }), 'open'),
      exitCodeOfRun(withSettlement({ new: 1, new_open: 1, open: 1 })),
    ]).toEqual([8, 0, 8, 0, 0]);
  });

  it('is off by default, and never replaces the code of a failed run', () => {
    const failed = { status: 'failed', error: new UsageError('bad'), breaks: null };
    expect([
      exitCodeOfRun(completed(breaks({ new: 4, new_open: 4, open: 4 }))),
      exitCodeOfRun(failed, 'new'),
    ]).toEqual([0, 2]);
  });

  it('accepts new and open only', () => {
    expect([parseFailOn(undefined), parseFailOn('new'), parseFailOn('open')]).toEqual([
      undefined,
      'new',
      'open',
    ]);
    expect(() => parseFailOn('any')).toThrow(
      new UsageError("--fail-on must be new or open, got 'any'"),
    );
  });
});

describe('--grace-days N', () => {
  it('parses whole days from 0 to 36500', () => {
    expect([parseGraceDays(undefined), parseGraceDays('0'), parseGraceDays('2')]).toEqual([
      undefined,
      0,
      2,
    ]);
    for (const bad of ['-1', '1.5', 'two', '36501', ''])
      expect(() => parseGraceDays(bad)).toThrow(
        new UsageError(`--grace-days must be a whole number of days from 0 to 36500, got '${bad}'`),
      );
  });

  it('overrides RECON_GRACE_DAYS in the run request, keeping the other break settings', () => {
    const config = loadConfig({ RECON_GRACE_DAYS: '5', RECON_CARRY_DAYS: '30' });
    const request = (graceDays?: string) =>
      runRequestFrom(
        { processors: ['stripe'], date: '2025-09-30', graceDays },
        config,
        {},
        0,
        'test',
      ).breaks;
    expect([request(), request('1')]).toEqual([
      { carryDays: 30, graceDays: 5, escalateDays: 7 },
      { carryDays: 30, graceDays: 1, escalateDays: 7 },
    ]);
  });

  it('passes the cut-offs of the configuration to the run request', () => {
    const config = loadConfig({ RECON_CUTOFF_SQUARE: 'America/Los_Angeles 17:00' });
    expect(
      runRequestFrom({ processors: ['square'], date: '2025-09-30' }, config, {}, 0, 'test').cutoffs,
    ).toEqual({
      ledger: { zone: 'UTC', minutes: 0 },
      processors: { square: { zone: 'America/Los_Angeles', minutes: 1020 } },
      fallback: { zone: 'UTC', minutes: 0 },
    });
  });
});
