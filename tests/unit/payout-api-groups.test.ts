import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../src/domain/errors';
import { buildSettlementGroups, settlementGroupJson } from '../../src/engine/settlement-groups';
import {
  squarePayoutChildren,
  squarePayoutParent,
  stripePayoutChildren,
  stripePayoutParent,
  type StripeBalanceTransactionObject,
} from '../../src/sources/settlement/payout-api-groups';

const STRIPE_SAMPLE = join(__dirname, '..', 'fixtures', 'samples', 'stripe');

const PAYOUT = {
  id: 'po_123',
  object: 'payout',
  amount: 95000,
  currency: 'usd',
  arrival_date: 1759363200, // 2025-10-02T00:00:00Z
  automatic: true,
  method: 'standard',
};
const bt = (
  id: string,
  type: string,
  amount: number,
  net: number,
): StripeBalanceTransactionObject => ({ id, type, amount, net, currency: 'usd' });
const TRANSACTIONS = [
  bt('txn_ch_1', 'charge', 50000, 48500),
  bt('txn_ch_2', 'charge', 50000, 48500),
  bt('txn_re_1', 'refund', -2000, -2000),
  bt('txn_po_123', 'payout', -95000, -95000),
];

describe('payout API groups', () => {
  it('maps a Stripe payout and its balance transactions (the payout transaction excluded)', () => {
    const parent = stripePayoutParent(PAYOUT, 'stripe payouts');
    expect(parent).toEqual({
      kind: 'stripe_payout',
      key: 'po_123',
      currency: 'USD',
      amount: 95000n,
      dueDate: '2025-10-02',
      itemizable: true,
    });
    const children = stripePayoutChildren('po_123', TRANSACTIONS, 'stripe balance transactions');
    expect(children).toEqual([
      {
        id: 'txn_ch_1',
        parentKey: 'po_123',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
      {
        id: 'txn_ch_2',
        parentKey: 'po_123',
        category: 'charge',
        currency: 'USD',
        gross: 50000n,
        net: 48500n,
      },
      {
        id: 'txn_re_1',
        parentKey: 'po_123',
        category: 'refund',
        currency: 'USD',
        gross: -2000n,
        net: -2000n,
      },
    ]);
    const [group] = buildSettlementGroups([parent], children, {
      asOfDate: '2025-10-02',
      orphanKind: 'stripe_payout',
    });
    expect([group?.status, group?.waterfall]).toEqual([
      'group_matched',
      {
        charges: 100000n,
        fees: -3000n,
        refunds: -2000n,
        disputes: 0n,
        adjustments: 0n,
        payout: 95000n,
        unexplainedResidual: 0n,
      },
    ]);
  });

  it('marks manual and instant Stripe payouts as not itemizable (unattributable)', () => {
    const manual = stripePayoutParent({ ...PAYOUT, automatic: false }, 'x');
    const instant = stripePayoutParent({ ...PAYOUT, id: 'po_i', method: 'instant' }, 'x');
    const groups = buildSettlementGroups([manual, instant], [], {
      asOfDate: '2025-10-02',
      orphanKind: 'stripe_payout',
    });
    expect(groups.map((g) => [g.parentId, g.status])).toEqual([
      ['po_123', 'unattributable'],
      ['po_i', 'unattributable'],
    ]);
  });

  it('maps the real Stripe list sample: a transfer is an adjustment child', () => {
    const list = JSON.parse(
      readFileSync(join(STRIPE_SAMPLE, 'airbyte__balance_transactions_list.json'), 'utf8'),
    ) as { data: StripeBalanceTransactionObject[] };
    expect(stripePayoutChildren('po_x', list.data, 'sample')).toEqual([
      {
        id: 'txn_1MiN3gLkdIwHu7ixxapQrznl',
        parentKey: 'po_x',
        category: 'adjustment',
        currency: 'USD',
        gross: -400n,
        net: -400n,
      },
    ]);
  });

  it('maps a Square payout and its payout entries on net amounts', () => {
    const parent = squarePayoutParent(
      {
        id: 'po_sq_1',
        amount_money: { amount: 9412, currency: 'USD' },
        arrival_date: '2025-10-03',
      },
      'square payouts',
    );
    const children = squarePayoutChildren(
      [
        {
          id: 'poe_1',
          payout_id: 'po_sq_1',
          type: 'CHARGE',
          gross_amount_money: { amount: 10000, currency: 'USD' },
          net_amount_money: { amount: 9709, currency: 'USD' },
        },
        {
          id: 'poe_2',
          payout_id: 'po_sq_1',
          type: 'REFUND',
          gross_amount_money: { amount: -300, currency: 'USD' },
          net_amount_money: { amount: -297, currency: 'USD' },
        },
      ],
      'square payout entries',
    );
    const groups = buildSettlementGroups([parent], children, {
      asOfDate: '2025-10-02',
      orphanKind: 'square_payout',
    });
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: 'po_sq_1',
        kind: 'square_payout',
        currency: 'USD',
        parent_amount: '94.12',
        children_sum: '94.12',
        difference: '0.00',
        child_count: 2,
        status: 'group_matched',
        bank_entry: null,
      },
    ]);
    expect(groups[0]?.waterfall).toEqual({
      charges: 10000n,
      fees: -288n,
      refunds: -300n,
      disputes: 0n,
      adjustments: 0n,
      payout: 9412n,
      unexplainedResidual: 0n,
    });
  });

  it('rejects an amount that is not a whole number of minor units, naming the object', () => {
    expect(() =>
      stripePayoutChildren('po_123', [bt('txn_bad', 'charge', 500.5, 485)], 'stripe response'),
    ).toThrow(
      new InputRejectedError(
        "stripe response: balance transaction txn_bad amount: '500.5' is not a whole number of minor units",
        { location: 'stripe response' },
      ),
    );
  });
});
