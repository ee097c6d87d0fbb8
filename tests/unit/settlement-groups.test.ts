import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../src/domain/errors';
import {
  buildSettlementGroups,
  countGroupStatuses,
  settlementGroupJson,
  type SettlementChild,
  type SettlementGroupResult,
  type SettlementParent,
} from '../../src/engine/settlement-groups';
import { adyenBatchGroups } from '../../src/sources/settlement/adyen-batch-groups';

const SAMPLES = join(__dirname, '..', 'fixtures', 'samples', 'adyen');
const SETTLEMENT = join(__dirname, '..', 'fixtures', 'settlement');
const read = (path: string): string => readFileSync(path, 'utf8');

const PAYOUT: SettlementParent = {
  kind: 'stripe_payout',
  key: 'po_1Q2w3E4r5T6y',
  currency: 'USD',
  amount: 95000n,
  dueDate: '2025-10-02',
  itemizable: true,
};
const charge = (id: string): SettlementChild => ({
  id,
  parentKey: 'po_1Q2w3E4r5T6y',
  category: 'charge',
  currency: 'USD',
  gross: 50000n,
  net: 48500n,
});
const REFUND: SettlementChild = {
  id: 'txn_refund_1',
  parentKey: 'po_1Q2w3E4r5T6y',
  category: 'refund',
  currency: 'USD',
  gross: -2000n,
  net: -2000n,
};
const STRIPE_CHILDREN = [charge('txn_ch_1'), charge('txn_ch_2'), REFUND];
const OPTIONS = { asOfDate: '2025-10-02', orphanKind: 'stripe_payout' } as const;

describe('settlement groups', () => {
  it('balances the Stripe payout of 950.00: two charges of 500.00 gross / 15.00 fee, a 20.00 refund', () => {
    const [group] = buildSettlementGroups([PAYOUT], STRIPE_CHILDREN, OPTIONS);
    expect(group).toEqual({
      kind: 'stripe_payout',
      parentId: 'po_1Q2w3E4r5T6y',
      currency: 'USD',
      parentAmount: 95000n,
      childrenSum: 95000n,
      difference: 0n,
      childCount: 3,
      status: 'group_matched',
      dueDate: '2025-10-02',
      waterfall: {
        charges: 100000n,
        fees: -3000n,
        refunds: -2000n,
        disputes: 0n,
        adjustments: 0n,
        payout: 95000n,
        unexplainedResidual: 0n,
      },
      children: STRIPE_CHILDREN,
    });
  });

  it('reports the same payout with the refund child dropped as a +20.00 sum mismatch, children listed', () => {
    const children = STRIPE_CHILDREN.slice(0, 2);
    const [group] = buildSettlementGroups([PAYOUT], children, OPTIONS);
    expect(group).toEqual({
      kind: 'stripe_payout',
      parentId: 'po_1Q2w3E4r5T6y',
      currency: 'USD',
      parentAmount: 95000n,
      childrenSum: 97000n,
      difference: 2000n,
      childCount: 2,
      status: 'group_sum_mismatch',
      dueDate: '2025-10-02',
      waterfall: {
        charges: 100000n,
        fees: -3000n,
        refunds: 0n,
        disputes: 0n,
        adjustments: 0n,
        payout: 95000n,
        unexplainedResidual: 2000n,
      },
      children,
    });
    expect(settlementGroupJson(group as SettlementGroupResult, null)).toEqual({
      parent_id: 'po_1Q2w3E4r5T6y',
      kind: 'stripe_payout',
      currency: 'USD',
      parent_amount: '950.00',
      children_sum: '970.00',
      difference: '20.00',
      child_count: 2,
      status: 'group_sum_mismatch',
      bank_entry: null,
    });
  });

  it('accepts a difference within tolerance_minor, and not one minor unit more', () => {
    const children = [
      ...STRIPE_CHILDREN,
      { ...REFUND, id: 'txn_adj', category: 'adjustment' as const, gross: 3n, net: 3n },
    ];
    expect(
      buildSettlementGroups([PAYOUT], children, { ...OPTIONS, toleranceMinor: 3n })[0]?.status,
    ).toBe('group_matched');
    expect(
      buildSettlementGroups([PAYOUT], children, { ...OPTIONS, toleranceMinor: 2n })[0]?.status,
    ).toBe('group_sum_mismatch');
  });

  it('calls a payout not yet due whose children do not add up group_incomplete, not a mismatch', () => {
    const notDue = { ...PAYOUT, dueDate: '2025-10-04' };
    const [group] = buildSettlementGroups([notDue], STRIPE_CHILDREN.slice(0, 1), OPTIONS);
    expect([group?.status, group?.difference, group?.childCount]).toEqual([
      'group_incomplete',
      48500n - 95000n,
      1,
    ]);
  });

  it('reports children naming a payout that was not fetched as parent_missing, per currency', () => {
    const orphans: SettlementChild[] = [
      { ...charge('txn_a'), parentKey: 'po_unknown' },
      { ...charge('txn_b'), parentKey: 'po_unknown' },
      // A child of the fetched payout but in another currency has no parent in its currency.
      { ...charge('txn_eur'), currency: 'EUR' },
    ];
    const groups = buildSettlementGroups([PAYOUT], [...STRIPE_CHILDREN, ...orphans], OPTIONS);
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: 'po_1Q2w3E4r5T6y',
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
        parent_id: 'po_unknown',
        kind: 'stripe_payout',
        currency: 'USD',
        parent_amount: null,
        children_sum: '970.00',
        difference: null,
        child_count: 2,
        status: 'parent_missing',
        bank_entry: null,
      },
      {
        parent_id: 'po_1Q2w3E4r5T6y',
        kind: 'stripe_payout',
        currency: 'EUR',
        parent_amount: null,
        children_sum: '485.00',
        difference: null,
        child_count: 1,
        status: 'parent_missing',
        bank_entry: null,
      },
    ]);
    expect(countGroupStatuses(groups)).toEqual({
      group_matched: 1,
      group_sum_mismatch: 0,
      group_incomplete: 0,
      parent_missing: 2,
      unattributable: 0,
    });
  });

  it('reports a manual or instant payout (not itemizable) as unattributable, without arithmetic', () => {
    const manual = { ...PAYOUT, key: 'po_manual', itemizable: false };
    const [group] = buildSettlementGroups([manual], [], OPTIONS);
    expect(settlementGroupJson(group as SettlementGroupResult, 'BANKREF-9')).toEqual({
      parent_id: 'po_manual',
      kind: 'stripe_payout',
      currency: 'USD',
      parent_amount: '950.00',
      children_sum: '0.00',
      difference: null,
      child_count: 0,
      status: 'unattributable',
      bank_entry: 'BANKREF-9',
    });
  });

  it('refuses two parents with the same key and currency', () => {
    expect(() => buildSettlementGroups([PAYOUT, PAYOUT], [], OPTIONS)).toThrow(
      new RangeError('two parents with key po_1Q2w3E4r5T6y in USD'),
    );
  });

  it('groups 20 000 children under 200 payouts quickly (hashed, no nested loops)', () => {
    const parents: SettlementParent[] = [];
    const children: SettlementChild[] = [];
    for (let p = 0; p < 200; p++) {
      parents.push({ ...PAYOUT, key: `po_${p}`, amount: 100n * 48500n });
      for (let c = 0; c < 100; c++)
        children.push({ ...charge(`txn_${p}_${c}`), parentKey: `po_${p}` });
    }
    const started = Date.now();
    const groups = buildSettlementGroups(parents, children, OPTIONS);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(countGroupStatuses(groups).group_matched).toBe(200);
  });
});

describe('Adyen batch groups', () => {
  it("balances the Adyen documentation's example: 297.60 + 147.00 − 54.00 − 0.32 = 390.28", () => {
    const batches = adyenBatchGroups(
      read(join(SETTLEMENT, 'adyen_docs_example_batch_42.csv')),
      'batch_42.csv',
    );
    expect(batches.parents).toEqual([
      {
        kind: 'adyen_batch',
        key: '42',
        currency: 'EUR',
        amount: 39028n,
        dueDate: null,
        itemizable: true,
      },
    ]);
    expect(batches.children).toEqual([
      {
        id: '8815000000000001',
        parentKey: '42',
        category: 'charge',
        currency: 'EUR',
        gross: 30000n,
        net: 29760n,
      },
      {
        id: '8815000000000002',
        parentKey: '42',
        category: 'charge',
        currency: 'EUR',
        gross: 15000n,
        net: 14700n,
      },
      {
        id: '8825000000000009',
        parentKey: '42',
        category: 'refund',
        currency: 'EUR',
        gross: -5400n,
        net: -5400n,
      },
      {
        id: 'Transaction Fees October 01 2025',
        parentKey: '42',
        category: 'fee',
        currency: 'EUR',
        gross: -32n,
        net: -32n,
      },
    ]);
    const [group] = buildSettlementGroups(batches.parents, batches.children, {
      asOfDate: '2025-10-02',
      orphanKind: 'adyen_batch',
    });
    expect([group?.status, group?.childrenSum, group?.difference, group?.waterfall]).toEqual([
      'group_matched',
      39028n,
      0n,
      {
        charges: 45000n,
        fees: -572n,
        refunds: -5400n,
        disputes: 0n,
        adjustments: 0n,
        payout: 39028n,
        unexplainedResidual: 0n,
      },
    ]);
  });

  it('finds Batch Number by its name when the columns are in another order', () => {
    const text = read(join(SETTLEMENT, 'adyen_docs_example_batch_42.csv'));
    // Move the last column (Batch Number is the 23rd) to the front, in every row.
    const reordered = text
      .trimEnd()
      .split('\n')
      .map((line) => {
        const fields = line.match(/("[^"]*"|[^,]*)(,|$)/g)?.map((f) => f.replace(/,$/, '')) ?? [];
        const trimmed = fields.slice(0, 30);
        const batch = trimmed.splice(22, 1);
        return [...batch, ...trimmed].join(',');
      })
      .join('\n');
    expect(reordered.split('\n')[0]?.startsWith('Batch Number,Company Account')).toBe(true);
    const original = adyenBatchGroups(text, 'a.csv');
    expect(adyenBatchGroups(reordered, 'b.csv')).toEqual(original);
  });

  it('reads the real 49-column Adyen report: batch 1300, its PaymentCost child and its payout', () => {
    const batches = adyenBatchGroups(
      read(join(SAMPLES, 'smashpig__settlement_detail_report_payment_cost.csv')),
      'payment_cost.csv',
    );
    const groups = buildSettlementGroups(batches.parents, batches.children, {
      asOfDate: '2026-10-06',
      orphanKind: 'adyen_batch',
    });
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: '1300',
        kind: 'adyen_batch',
        currency: 'USD',
        parent_amount: '1.75',
        children_sum: '1.75',
        difference: '0.00',
        child_count: 1,
        status: 'group_matched',
        bank_entry: null,
      },
    ]);
    expect([batches.carriedBatches, batches.invalidRows]).toEqual([[], []]);
  });

  it.each([
    ['oca__settlement_detail_report_batch_238.csv', '238', []],
    ['oca__settlement_detail_report_batch_100_blank_lines.csv', '100', []],
    [
      'oca__settlement_detail_report_batch_666_short_row.csv',
      '666',
      [{ line: 3, reason: '15 fields, the header has 30' }],
    ],
  ])(
    'forms no group for the real batch without a payout in %s (all carried over)',
    (file, batch, invalidRows) => {
      const batches = adyenBatchGroups(read(join(SAMPLES, file)), file);
      expect(batches.parents).toEqual([]);
      expect(batches.children).toEqual([]);
      expect(batches.invalidRows).toEqual(invalidRows);
      // In 454331.99 from the previous batch, fee 0.09, out 454331.90 to the next: net 0.00
      // (the short row's fee is left out: net 454331.99 − 454331.90 = 0.09).
      expect(batches.carriedBatches).toEqual([
        {
          batch,
          currency: 'USD',
          net: invalidRows.length > 0 ? '0.09' : '0.00',
          rows: invalidRows.length > 0 ? 2 : 3,
        },
      ]);
    },
  );

  it('counts an outgoing Balancetransfer of a paid-out batch as a negative child (carried over)', () => {
    const text = read(join(SETTLEMENT, 'adyen_docs_example_batch_42.csv')).replace(
      ',MerchantPayout,"TX0000000042XT batch 42, TestMerchant",,,,,EUR,390.28,',
      ',MerchantPayout,"TX0000000042XT batch 42, TestMerchant",,,,,EUR,290.28,',
    );
    const withTransfer = `${text}TestCompany,TestMerchant,,,,2025-10-02 02:00:00,CET,Balancetransfer,Balancetransfer,,,,,EUR,100.00,,,,,,,Balancetransfer to batch 43,42,,,,,,,\n`;
    const batches = adyenBatchGroups(withTransfer, 'x.csv');
    const [group] = buildSettlementGroups(batches.parents, batches.children, {
      asOfDate: '2025-10-02',
      orphanKind: 'adyen_batch',
    });
    expect([
      group?.status,
      group?.parentAmount,
      group?.childrenSum,
      group?.waterfall.adjustments,
    ]).toEqual(['group_matched', 29028n, 29028n, -10000n]);
  });

  it('rejects a report without a Batch Number column, naming the column and line', () => {
    const text = read(join(SETTLEMENT, 'adyen_docs_example_batch_42.csv')).replace(
      'Batch Number',
      'Batch',
    );
    expect(() => adyenBatchGroups(text, 'x.csv')).toThrow(
      new InputRejectedError(
        "Adyen settlement details report x.csv line 1: column 'Batch Number' is missing",
        {
          location: 'x.csv',
        },
      ),
    );
  });
});
