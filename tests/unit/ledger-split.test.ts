import fc from 'fast-check';
import { buildSettlementGroups, settlementGroupJson } from '../../src/engine/settlement-groups';
import { ledgerSplitGroups } from '../../src/engine/ledger-split';
import { tx } from '../helpers/transactions';

const OPTIONS = { asOfDate: '2025-09-30', orphanKind: 'ledger_split' } as const;

describe('N:1 ledger split', () => {
  it('groups the ledger rows of one order under the processor row carrying its reference', () => {
    const processor = [
      tx('ch_1', { amountMinor: 15000n, reference: 'ORD-1001' }),
      tx('ch_2', { amountMinor: 2500n, reference: 'ORD-1002' }), // one ledger row: 1:1, no group
      tx('ch_3', { amountMinor: 9000n }), // no reference
    ];
    const ledger = [
      tx('L-1', { amountMinor: 10000n, reference: 'ORD-1001' }),
      tx('L-2', { amountMinor: 2500n, reference: 'ORD-1002' }),
      tx('L-3', { amountMinor: 5000n, reference: ' ORD-1001 ' }),
      tx('L-4', { amountMinor: 9000n }),
    ];
    const split = ledgerSplitGroups(processor, ledger, { groupKey: 'reference' });
    expect(split).toEqual({
      parents: [
        {
          kind: 'ledger_split',
          key: 'ORD-1001',
          currency: 'USD',
          amount: 15000n,
          dueDate: null,
          itemizable: true,
        },
      ],
      children: [
        {
          id: 'L-1',
          parentKey: 'ORD-1001',
          category: 'charge',
          currency: 'USD',
          gross: 10000n,
          net: 10000n,
        },
        {
          id: 'L-3',
          parentKey: 'ORD-1001',
          category: 'charge',
          currency: 'USD',
          gross: 5000n,
          net: 5000n,
        },
      ],
      ambiguousKeys: [],
    });
    const [group] = buildSettlementGroups(split.parents, split.children, OPTIONS);
    expect(group && settlementGroupJson(group, null)).toEqual({
      parent_id: 'ORD-1001',
      kind: 'ledger_split',
      currency: 'USD',
      parent_amount: '150.00',
      children_sum: '150.00',
      difference: '0.00',
      child_count: 2,
      status: 'group_matched',
      bank_entry: null,
    });
  });

  it('reports a split that does not add up as group_sum_mismatch with the difference and the rows', () => {
    const processor = [tx('ch_1', { amountMinor: 15000n, reference: 'ORD-1001' })];
    const ledger = [
      tx('L-1', { amountMinor: 10000n, reference: 'ORD-1001' }),
      tx('L-2', { amountMinor: 3000n, reference: 'ORD-1001' }),
      tx('L-3', { amountMinor: -500n, reference: 'ORD-1001' }),
    ];
    const split = ledgerSplitGroups(processor, ledger, { groupKey: 'reference' });
    const [group] = buildSettlementGroups(split.parents, split.children, OPTIONS);
    expect(group).toEqual({
      kind: 'ledger_split',
      parentId: 'ORD-1001',
      currency: 'USD',
      parentAmount: 15000n,
      childrenSum: 12500n,
      difference: -2500n,
      childCount: 3,
      status: 'group_sum_mismatch',
      dueDate: null,
      waterfall: {
        charges: 13000n,
        fees: 0n,
        refunds: -500n,
        disputes: 0n,
        adjustments: 0n,
        payout: 15000n,
        unexplainedResidual: -2500n,
      },
      children: split.children,
    });
  });

  it('compares the processor net when the ledger books net, and normalizes both keys', () => {
    const processor = [tx('ch_1', { amountMinor: 10000n, feeMinor: 320n, description: 'inv-77' })];
    const ledger = [
      tx('L-1', { amountMinor: 6000n, description: 'INV 77' }),
      tx('L-2', { amountMinor: 3680n, description: 'Inv-77' }),
    ];
    const split = ledgerSplitGroups(processor, ledger, {
      groupKey: 'description',
      normalize: ['upper', 'alnum'],
      amountBasis: 'net',
    });
    expect(
      buildSettlementGroups(split.parents, split.children, OPTIONS).map((g) =>
        settlementGroupJson(g, null),
      ),
    ).toEqual([
      {
        parent_id: 'INV77',
        kind: 'ledger_split',
        currency: 'USD',
        parent_amount: '96.80',
        children_sum: '96.80',
        difference: '0.00',
        child_count: 2,
        status: 'group_matched',
        bank_entry: null,
      },
    ]);
  });

  it('never guesses: two processor rows with one key are listed as ambiguous, ledger rows without a processor row are parent_missing', () => {
    const processor = [
      tx('ch_1', { amountMinor: 5000n, reference: 'ORD-9' }),
      tx('ch_2', { amountMinor: 5000n, reference: 'ORD-9' }),
    ];
    const ledger = [
      tx('L-1', { amountMinor: 5000n, reference: 'ORD-9' }),
      tx('L-2', { amountMinor: 5000n, reference: 'ORD-9' }),
      tx('L-3', { amountMinor: 700n, reference: 'ORD-10' }),
      tx('L-4', { amountMinor: 300n, reference: 'ORD-10' }),
    ];
    const split = ledgerSplitGroups(processor, ledger, { groupKey: 'reference' });
    expect(split.ambiguousKeys).toEqual([
      { key: 'ORD-9', currency: 'USD', processorIds: ['ch_1', 'ch_2'] },
    ]);
    expect(
      buildSettlementGroups(split.parents, split.children, OPTIONS).map((g) =>
        settlementGroupJson(g, null),
      ),
    ).toEqual([
      {
        parent_id: 'ORD-10',
        kind: 'ledger_split',
        currency: 'USD',
        parent_amount: null,
        children_sum: '10.00',
        difference: null,
        child_count: 2,
        status: 'parent_missing',
        bank_entry: null,
      },
    ]);
  });

  it('keeps currencies apart: a ledger row of the order in another currency is its own parent_missing group', () => {
    const processor = [tx('ch_1', { amountMinor: 2000n, reference: 'ORD-5' })];
    const ledger = [
      tx('L-1', { amountMinor: 2000n, reference: 'ORD-5' }),
      tx('L-2', { amountMinor: 1500n, currency: 'EUR', reference: 'ORD-5' }),
    ];
    const split = ledgerSplitGroups(processor, ledger, { groupKey: 'reference' });
    expect(
      buildSettlementGroups(split.parents, split.children, OPTIONS).map((g) => [
        g.parentId,
        g.currency,
        g.status,
        g.difference,
      ]),
    ).toEqual([
      ['ORD-5', 'USD', 'group_matched', 0n],
      ['ORD-5', 'EUR', 'parent_missing', null],
    ]);
  });

  it('accounts for every ledger row of a split key exactly once, and each group’s sums add up (property)', () => {
    const row = fc.record({
      key: fc.constantFrom('A', 'B', 'C', 'D', ''),
      amount: fc.bigInt({ min: -10_000n, max: 10_000n }),
      currency: fc.constantFrom('USD', 'EUR'),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 6 }), fc.array(row, { maxLength: 30 }), (ps, ls) => {
        const processor = ps.map((p, i) =>
          tx(`p${i}`, { amountMinor: p.amount, currency: p.currency, reference: p.key }),
        );
        const ledger = ls.map((l, i) =>
          tx(`l${i}`, { amountMinor: l.amount, currency: l.currency, reference: l.key }),
        );
        const split = ledgerSplitGroups(processor, ledger, { groupKey: 'reference' });
        const perKey = new Map<string, number>();
        for (const l of ls) if (l.key !== '') perKey.set(l.key, (perKey.get(l.key) ?? 0) + 1);
        const processorCount = new Map<string, number>();
        for (const p of ps)
          if ((perKey.get(p.key) ?? 0) >= 2) {
            const slot = `${p.key}/${p.currency}`;
            processorCount.set(slot, (processorCount.get(slot) ?? 0) + 1);
          }
        const ambiguous = new Set(
          [...processorCount].filter(([, n]) => n >= 2).map(([slot]) => slot),
        );
        expect(new Set(split.ambiguousKeys.map((a) => `${a.key}/${a.currency}`))).toEqual(
          ambiguous,
        );
        const expected = ledger
          .filter((_, i) => {
            const l = ls[i];
            return (
              l !== undefined &&
              l.key !== '' &&
              (perKey.get(l.key) ?? 0) >= 2 &&
              !ambiguous.has(`${l.key}/${l.currency}`)
            );
          })
          .map((t) => t.transactionId)
          .sort();
        expect(split.children.map((c) => c.id).sort()).toEqual(expected);
        const groups = buildSettlementGroups(split.parents, split.children, OPTIONS);
        for (const group of groups) {
          expect(group.childrenSum).toBe(group.children.reduce((sum, c) => sum + c.net, 0n));
          if (group.parentAmount !== null)
            expect(group.difference).toBe(group.childrenSum - group.parentAmount);
        }
        expect(groups.reduce((n, g) => n + g.childCount, 0)).toBe(expected.length);
      }),
    );
  });
});
