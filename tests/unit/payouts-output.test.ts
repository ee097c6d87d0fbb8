import {
  parsePayoutStatus,
  payoutDetailText,
  payoutsTable,
  storedPayoutJson,
} from '../../src/cli/commands/payouts';
import { UsageError } from '../../src/domain/errors';
import type { StoredPayoutDetail } from '../../src/store/settlement-store';

const PAYOUT: StoredPayoutDetail = {
  runId: '0f4c2b9e-1d3a-4e5f-8a7b-6c5d4e3f2a1b',
  businessDate: '2025-10-06',
  processor: 'stripe',
  parentId: 'po_B',
  kind: 'stripe_payout',
  currency: 'USD',
  parentAmount: '600.00',
  childrenSum: '630.00',
  difference: '30.00',
  childCount: 1,
  status: 'group_sum_mismatch',
  dueDate: '2025-10-06',
  waterfall: {
    charges: '650.00',
    fees: '-20.00',
    refunds: '0.00',
    disputes: '0.00',
    adjustments: '0.00',
    payout: '600.00',
    unexplainedResidual: '30.00',
  },
  bankStatus: 'payout_matched',
  bankMatchedBy: 'reference',
  bankDifference: '0.00',
  bankEntry: 'BNK-B',
  children: [
    { childId: 'ch_1', category: 'charge', currency: 'USD', gross: '650.00', net: '630.00' },
  ],
  bankEntryDetail: {
    reference: 'BNK-B',
    statementId: 'S1',
    account: '123',
    direction: 'credit',
    amount: '600.00',
    currency: 'USD',
    bookingDate: '2025-10-06',
    valueDate: null,
    remittanceText: 'STRIPE\u001b[31m po_B',
  },
};

describe('recon payouts output', () => {
  it('lists payouts as a table, a missing amount as -', () => {
    expect(
      payoutsTable([
        PAYOUT,
        {
          ...PAYOUT,
          parentId: 'po_Z',
          parentAmount: null,
          difference: null,
          status: 'parent_missing',
          bankStatus: null,
          bankEntry: null,
        },
      ]),
    ).toBe(
      [
        'date        processor  payout  currency  amount  children    difference  status              bank            bank_entry',
        '----------  ---------  ------  --------  ------  ----------  ----------  ------------------  --------------  ----------',
        '2025-10-06  stripe     po_B    USD       600.00  630.00 (1)  30.00       group_sum_mismatch  payout_matched  BNK-B',
        '2025-10-06  stripe     po_Z    USD       -       630.00 (1)  -           parent_missing      -               -',
      ].join('\n'),
    );
    expect(payoutsTable([])).toBe('no payouts found');
  });

  it('shows one payout: facts, waterfall, children, bank entry (control characters escaped)', () => {
    expect(payoutDetailText(PAYOUT)).toBe(
      [
        'payout            po_B',
        'processor         stripe',
        'kind              stripe_payout',
        'business date     2025-10-06',
        'run               0f4c2b9e-1d3a-4e5f-8a7b-6c5d4e3f2a1b',
        'arrival date      2025-10-06',
        'amount            600.00 USD',
        'children          1, net 630.00 USD',
        'difference        30.00 USD',
        'status            group_sum_mismatch',
        'bank              payout_matched',
        '',
        'waterfall:',
        'charges  fees    refunds  disputes  adjustments  payout  unexplained_residual',
        '-------  ------  -------  --------  -----------  ------  --------------------',
        '650.00   -20.00  0.00     0.00      0.00         600.00  30.00',
        '',
        'children:',
        'id    category  gross   net',
        '----  --------  ------  ------',
        'ch_1  charge    650.00  630.00',
        '',
        'bank entry:',
        'reference         BNK-B',
        'statement         S1 (account 123)',
        'amount            600.00 USD credit',
        'value date        2025-10-06',
        'text              STRIPE\\x1B[31m po_B',
      ].join('\n'),
    );
  });

  it('JSON: snake_case, decimal strings, the waterfall signed', () => {
    expect(storedPayoutJson(PAYOUT)).toEqual({
      run_id: '0f4c2b9e-1d3a-4e5f-8a7b-6c5d4e3f2a1b',
      date: '2025-10-06',
      processor: 'stripe',
      parent_id: 'po_B',
      kind: 'stripe_payout',
      currency: 'USD',
      parent_amount: '600.00',
      children_sum: '630.00',
      difference: '30.00',
      child_count: 1,
      status: 'group_sum_mismatch',
      due_date: '2025-10-06',
      bank_status: 'payout_matched',
      bank_entry: 'BNK-B',
      bank_difference: '0.00',
      waterfall: {
        charges: '650.00',
        fees: '-20.00',
        refunds: '0.00',
        disputes: '0.00',
        adjustments: '0.00',
        payout: '600.00',
        unexplained_residual: '30.00',
      },
    });
  });

  it('--status takes a group or a bank outcome', () => {
    expect([parsePayoutStatus(undefined), parsePayoutStatus('payout_pending')]).toEqual([
      undefined,
      'payout_pending',
    ]);
    expect(() => parsePayoutStatus('matched')).toThrow(UsageError);
  });
});
