import {
  ageBucket,
  applyManualAction,
  BREAK_STATUSES,
  breakIdentity,
  carryOutcome,
  unmatchedStatus,
} from '../../src/engine/break-lifecycle';

describe('break lifecycle', () => {
  it('allows resolve from open and pending, reopen from resolved and written off, comment always', () => {
    const table = BREAK_STATUSES.map((status) => [
      status,
      applyManualAction(status, { type: 'resolve', writeOff: false }),
      applyManualAction(status, { type: 'resolve', writeOff: true }),
      applyManualAction(status, { type: 'reopen' }),
      applyManualAction(status, { type: 'comment' }),
    ]);
    expect(table).toEqual([
      [
        'pending',
        { ok: true, status: 'resolved', event: 'resolved' },
        { ok: true, status: 'written_off', event: 'written_off' },
        { ok: false, reason: 'only resolved or written-off breaks can be reopened; it is pending' },
        { ok: true, status: 'pending', event: 'commented' },
      ],
      [
        'open',
        { ok: true, status: 'resolved', event: 'resolved' },
        { ok: true, status: 'written_off', event: 'written_off' },
        { ok: false, reason: 'only resolved or written-off breaks can be reopened; it is open' },
        { ok: true, status: 'open', event: 'commented' },
      ],
      [
        'resolved',
        { ok: false, reason: 'the break is already resolved' },
        { ok: false, reason: 'the break is already resolved' },
        { ok: true, status: 'open', event: 'reopened' },
        { ok: true, status: 'resolved', event: 'commented' },
      ],
      [
        'written_off',
        { ok: false, reason: 'the break is already written off' },
        { ok: false, reason: 'the break is already written off' },
        { ok: true, status: 'open', event: 'reopened' },
        { ok: true, status: 'written_off', event: 'commented' },
      ],
    ]);
  });

  it('buckets ages inclusively: 0-1, 2-3, 4-7, 8-30, 31+', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 30, 31, 400].map(ageBucket)).toEqual([
      '0-1',
      '0-1',
      '2-3',
      '2-3',
      '4-7',
      '4-7',
      '8-30',
      '8-30',
      '31+',
      '31+',
    ]);
  });

  it('keys one-sided breaks by side and two-sided ones by id alone', () => {
    expect([
      breakIdentity('stripe', 'ch_1', 'missing_in_internal', 'processor'),
      breakIdentity('stripe', 'ch_1', 'missing_in_processor', 'internal'),
      breakIdentity('stripe', 'ch_1', 'amount_mismatch', 'both'),
      breakIdentity('stripe', 'ch_1', 'duplicate', 'processor'),
    ]).toEqual([
      '["stripe","ch_1","processor"]',
      '["stripe","ch_1","internal"]',
      '["stripe","ch_1","both"]',
      '["stripe","ch_1","both"]',
    ]);
  });

  it('keeps one-sided items pending during the grace and opens two-sided ones at once', () => {
    expect([
      unmatchedStatus('missing_in_internal', 0, 0),
      unmatchedStatus('missing_in_internal', 0, 2),
      unmatchedStatus('missing_in_internal', 1, 2),
      unmatchedStatus('missing_in_internal', 2, 2),
      unmatchedStatus('amount_mismatch', 0, 2),
    ]).toEqual(['open', 'pending', 'pending', 'open', 'open']);
  });

  it('resolves a carried break matched later, reclassifies a disagreeing pair, keeps it open otherwise', () => {
    expect([
      carryOutcome('matched', 1),
      carryOutcome('amount_mismatch', 2),
      carryOutcome(null, 3),
    ]).toEqual([
      { type: 'resolved', resolution: 'late_arrival', lagDays: 1 },
      { type: 'reclassified', kind: 'amount_mismatch' },
      { type: 'open' },
    ]);
  });
});
