import { deliveryAttemptLines, deliveryText, redeliveryText } from '../../src/cli/delivery-output';
import {
  combineExitCodes,
  deliveryExitCode,
  EXIT_CODES,
  exitCodeFor,
} from '../../src/cli/exit-codes';
import { DeliveryFailedError } from '../../src/domain/errors';
import { defaultRedeliverySince, type DeliveryAttempt } from '../../src/job/deliver-results';

const RUN = '0b8e5a55-2b7c-4a54-9d7e-3f1f0d0c2a11';
const sent: DeliveryAttempt = {
  channel: 'email',
  status: 'sent',
  target: 'ops@example.com',
  error: null,
  runIds: [RUN],
};
const failed: DeliveryAttempt = {
  channel: 's3',
  status: 'failed',
  target: `reports/2025-09-30/stripe/${RUN}/reconciliation_report_stripe_2025-09-30.csv`,
  error: 'connect ECONNREFUSED 127.0.0.1:9',
  runIds: [RUN],
};
const skipped: DeliveryAttempt = {
  channel: 'email',
  status: 'skipped',
  target: 'ops@example.com',
  error: 'RECON_EMAIL_ON=failures: nothing to report',
  runIds: [RUN],
};

describe('the exit code of a delivery', () => {
  it('is 7 when any attempt failed, the results being stored', () => {
    expect(deliveryExitCode([sent, failed], false)).toBe(7);
    expect(EXIT_CODES.DELIVERY_FAILED).toBe(7);
    expect(exitCodeFor(new DeliveryFailedError('e-mail failed'))).toBe(7);
  });

  it('is 0 when every attempt was sent or skipped, or nothing was attempted', () => {
    expect([
      deliveryExitCode([sent], false),
      deliveryExitCode([skipped], false),
      deliveryExitCode([], false),
    ]).toEqual([0, 0, 0]);
  });

  it('is 0 for a failed delivery when failures are allowed (--allow-delivery-failure)', () => {
    expect(deliveryExitCode([failed], true)).toBe(0);
  });

  it('ranks 7 below a failed run (4) and "breaks found" (8), above another run in progress (5)', () => {
    expect([
      combineExitCodes([0, 7]),
      combineExitCodes([7, 4]),
      combineExitCodes([8, 7]),
      combineExitCodes([7, 5]),
    ]).toEqual([7, 4, 8, 7]);
  });
});

describe('what recon deliver prints', () => {
  it('prints one line per attempt of this call: channel, status, target and error', () => {
    expect(deliveryAttemptLines([failed, sent, skipped])).toEqual([
      `s3 failed reports/2025-09-30/stripe/${RUN}/reconciliation_report_stripe_2025-09-30.csv — connect ECONNREFUSED 127.0.0.1:9`,
      'email sent ops@example.com',
      'email skipped ops@example.com — RECON_EMAIL_ON=failures: nothing to report',
    ]);
  });

  it('says nothing configured when no channel asked for is configured', () => {
    expect(deliveryText({ attempts: [], failures: [], emailSent: false, configured: false })).toBe(
      'nothing configured',
    );
  });

  it('names the runs it re-delivered with --failed, or that nothing was owed', () => {
    const base = { failures: [], emailSent: true, configured: true };
    expect([
      redeliveryText({ ...base, runIds: [RUN], attempts: [sent] }, '2025-09-24'),
      redeliveryText({ ...base, runIds: [], attempts: [] }, '2025-09-24'),
      redeliveryText({ ...base, configured: false, runIds: [], attempts: [] }, '2025-09-24'),
    ]).toEqual([
      `re-sending failed deliveries of 1 run since 2025-09-24: ${RUN}\nemail sent ops@example.com`,
      'nothing to re-send: no failed delivery since 2025-09-24',
      'nothing configured',
    ]);
  });
});

describe('the default --since of recon deliver --failed', () => {
  it('is the UTC date 7 days before today, across a month and a year boundary', () => {
    expect([
      defaultRedeliverySince(Date.parse('2026-12-01T10:33:00Z')),
      defaultRedeliverySince(Date.parse('2026-01-03T23:59:59Z')),
      defaultRedeliverySince(Date.parse('2024-03-07T00:00:00Z')),
    ]).toEqual(['2026-11-24', '2025-12-27', '2024-02-29']);
  });
});
