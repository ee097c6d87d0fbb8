import { join } from 'node:path';
import { InputRejectedError } from '../../src/domain/errors';
import { buildSettlementGroups, settlementGroupJson } from '../../src/engine/settlement-groups';
import {
  canonicalPayoutsSourceFor,
  parsePayoutChildren,
  parsePayoutsFile,
  payoutsFilePath,
} from '../../src/sources/settlement/canonical-payouts';

const SAMPLES = join(__dirname, '..', '..', 'data', 'samples');

function rejection(run: () => unknown): { message: string; input: unknown } {
  try {
    run();
  } catch (error) {
    if (error instanceof InputRejectedError) return { message: error.message, input: error.input };
    throw error;
  }
  throw new Error('expected an InputRejectedError');
}

describe('canonical payouts file', () => {
  it('reads payouts exactly in minor units; instant and manual payouts are not itemizable', () => {
    const text =
      'Payout_ID,amount,currency,arrival_date,method,note\n' +
      'po_1,950.00,usd,2025-10-06,standard,x\n' +
      'po_2,1500,JPY,2025-10-07,,\n' +
      'po_3,0.10,USD,2025-10-02,Instant,\n' +
      'po_4,12.345,KWD,2025-10-02,manual,\n';
    expect(parsePayoutsFile(text, 'payouts_stripe.csv', 'stripe_payout')).toEqual([
      {
        kind: 'stripe_payout',
        key: 'po_1',
        currency: 'USD',
        amount: 95000n,
        dueDate: '2025-10-06',
        itemizable: true,
      },
      {
        kind: 'stripe_payout',
        key: 'po_2',
        currency: 'JPY',
        amount: 1500n,
        dueDate: '2025-10-07',
        itemizable: true,
      },
      {
        kind: 'stripe_payout',
        key: 'po_3',
        currency: 'USD',
        amount: 10n,
        dueDate: '2025-10-02',
        itemizable: false,
      },
      {
        kind: 'stripe_payout',
        key: 'po_4',
        currency: 'KWD',
        amount: 12345n,
        dueDate: '2025-10-02',
        itemizable: false,
      },
    ]);
  });

  it('rejects a bad row naming the file, line and column', () => {
    const head = 'payout_id,currency,amount,arrival_date,method\n';
    const cases: [string, string, unknown][] = [
      [
        'payout_id,currency,amount\npo_1,USD,1.00\n',
        'payouts file p.csv: missing column(s) arrival_date; expected payout_id, currency, amount, arrival_date (and optionally method)',
        { location: 'p.csv', line: 1, field: 'arrival_date' },
      ],
      [
        `${head}po_1,USD,1.001,2025-10-06,standard\n`,
        "payouts file p.csv line 2: amount '1.001' has more decimals than the currency allows (2)",
        { location: 'p.csv', line: 2, field: 'amount' },
      ],
      [
        `${head}po_1,USD,1.00,2025-10-06,standard\npo_2,USD,-5.00,2025-10-06,standard\n`,
        "payouts file p.csv line 3: amount '-5.00' is not positive",
        { location: 'p.csv', line: 3, field: 'amount' },
      ],
      [
        `${head}po_1,XXX,1.00,2025-10-06,standard\n`,
        "payouts file p.csv line 2: currency 'XXX' is not an ISO 4217 currency code",
        { location: 'p.csv', line: 2, field: 'currency' },
      ],
      [
        `${head}po_1,USD,1.00,2025-02-30,standard\n`,
        "payouts file p.csv line 2: arrival_date '2025-02-30' is not a date YYYY-MM-DD",
        { location: 'p.csv', line: 2, field: 'arrival_date' },
      ],
      [
        `${head}po_1,USD,1.00,2025-10-06,express\n`,
        "payouts file p.csv line 2: method 'express' is not one of standard, instant, manual",
        { location: 'p.csv', line: 2, field: 'method' },
      ],
      [
        `${head}po_1,USD,1.00,2025-10-06,\npo_1,usd,2.00,2025-10-06,\n`,
        'payouts file p.csv line 3: payout_id po_1 (USD) is listed twice',
        { location: 'p.csv', line: 3, field: 'payout_id' },
      ],
    ];
    for (const [text, message, input] of cases)
      expect(rejection(() => parsePayoutsFile(text, 'p.csv', 'stripe_payout'))).toEqual({
        message,
        input,
      });
  });
});

describe('payout children from the processor CSV', () => {
  it('takes the rows with a payout_id: net = amount − fee, refund when negative; bad rows listed', () => {
    const text =
      'transaction_id,amount,currency,status,merchant_id,created_at,fee,payout_id\n' +
      'ch_1,500.00,USD,succeeded,m,2025-10-06T00:00:00Z,15.00,po_1\n' +
      're_2,-20.00,USD,refunded,m,2025-10-06T00:00:00Z,,po_1\n' +
      'ch_3,75.25,USD,succeeded,m,2025-10-06T00:00:00Z,2.48,\n' +
      'ch_4,1.234,USD,succeeded,m,2025-10-06T00:00:00Z,,po_1\n';
    expect(parsePayoutChildren(text, 'stripe.csv')).toEqual({
      children: [
        {
          id: 'ch_1',
          parentKey: 'po_1',
          category: 'charge',
          currency: 'USD',
          gross: 50000n,
          net: 48500n,
        },
        {
          id: 're_2',
          parentKey: 'po_1',
          category: 'refund',
          currency: 'USD',
          gross: -2000n,
          net: -2000n,
        },
      ],
      invalidRows: [
        { line: 5, reason: "amount '1.234' has more decimals than the currency allows (2)" },
      ],
    });
  });

  it('a processor CSV without a payout_id column has no children', () => {
    expect(parsePayoutChildren('transaction_id,amount\nch_1,1.00\n', 's.csv')).toEqual({
      children: [],
      invalidRows: [],
    });
  });
});

describe('the bundled sample of 2025-10-06', () => {
  it('has a balanced payout, one short of a refund (+30.00) and a manual payout', async () => {
    expect(canonicalPayoutsSourceFor(SAMPLES, '2025-10-05', 'stripe', 'x.csv')).toBeNull();
    const source = canonicalPayoutsSourceFor(
      SAMPLES,
      '2025-10-06',
      'stripe',
      join(SAMPLES, '2025-10-06', 'stripe.csv'),
    );
    expect(source?.location).toEqual(payoutsFilePath(SAMPLES, '2025-10-06', 'stripe'));
    const read = await source?.read();
    if (!read) throw new Error('no source');
    expect(read.invalidRows).toEqual([]);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: '2025-10-06',
      orphanKind: 'stripe_payout',
    });
    expect(groups.map((group) => settlementGroupJson(group, null))).toEqual([
      {
        parent_id: 'po_1Sample1006A',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '950.00',
        children_sum: '950.00',
        difference: '0.00',
        child_count: 3,
        status: 'group_matched',
        bank_entry: null,
      },
      {
        parent_id: 'po_1Sample1006B',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '600.00',
        children_sum: '630.00',
        difference: '30.00',
        child_count: 2,
        status: 'group_sum_mismatch',
        bank_entry: null,
      },
      {
        parent_id: 'po_1Sample1002M',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: '400.00',
        children_sum: '0.00',
        difference: null,
        child_count: 0,
        status: 'unattributable',
        bank_entry: null,
      },
    ]);
  });
});
