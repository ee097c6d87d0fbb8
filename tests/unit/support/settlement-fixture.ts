import type { BankEntry } from '../../../src/domain/bank-entry';
import { matchPayoutsToBank, type ExpectedPayout } from '../../../src/engine/bank-matching';
import { settlementCounts, type RunSettlement } from '../../../src/engine/settlement';
import {
  buildSettlementGroups,
  type SettlementChild,
  type SettlementParent,
} from '../../../src/engine/settlement-groups';
import type { DigestPayout, DigestSettlement } from '../../../src/reports/email-summary';

/** The business date of the fixture's run: every payout is due, po_3's bank window has closed. */
export const SETTLEMENT_DATE = '2025-10-06';

/** A booked bank credit of statement S1 (minor units), every field overridable. */
export function bankCredit(fields: Partial<BankEntry> & Pick<BankEntry, 'amount'>): BankEntry {
  return {
    statementId: 'S1',
    account: 'ACC',
    signedAmount: fields.amount,
    currency: 'USD',
    direction: 'credit',
    bookingDate: '2025-10-02',
    valueDate: '2025-10-02',
    bankReference: null,
    customerReference: null,
    remittanceText: null,
    reversal: false,
    typeCode: null,
    booked: true,
    line: null,
    xmlPath: null,
    ...fields,
  };
}

const parent = (
  key: string,
  amount: bigint,
  dueDate: string,
  more: Partial<SettlementParent> = {},
): SettlementParent => ({
  kind: 'stripe_payout',
  key,
  currency: 'USD',
  amount,
  dueDate,
  itemizable: true,
  ...more,
});

const child = (
  id: string,
  parentKey: string,
  category: SettlementChild['category'],
  gross: bigint,
  net: bigint,
): SettlementChild => ({ id, parentKey, category, currency: 'USD', gross, net });

/**
 * Builds the run's settlement from parents, children and bank entries the way the run does:
 * groups (`buildSettlementGroups`), the payouts of the groups that have a parent expected in the
 * bank on their due date (`matchPayoutsToBank`), the contract's counts.
 */
export function settlementOf(
  parents: readonly SettlementParent[],
  children: readonly SettlementChild[],
  entries: readonly BankEntry[] | null,
  asOfDate = SETTLEMENT_DATE,
): RunSettlement {
  const groups = buildSettlementGroups(parents, children, {
    asOfDate,
    orphanKind: 'stripe_payout',
  });
  const payouts: ExpectedPayout[] = parents.map((p) => ({
    id: p.key,
    currency: p.currency,
    amount: p.amount,
    expectedDate: p.dueDate ?? asOfDate,
  }));
  const bank = entries ? matchPayoutsToBank(payouts, entries, { asOfDate }) : null;
  return { groups, bank, bankEntries: entries ?? [], counts: settlementCounts(groups, bank) };
}

/**
 * One night of Stripe payouts (issue #15's examples), business date 2025-10-06:
 * - po_1: 950.00 = two charges of 500.00 gross / 15.00 fee minus a 20.00 refund → balanced, in
 *   the bank (B1, by its id in the remittance text);
 * - po_2: the same payout with the refund child missing → children 970.00, `group_sum_mismatch`
 *   +20.00; the 950.00 arrived (B2);
 * - po_3: 236.00 = a 300.00 charge (9.00 fee), a 50.00 dispute (15.00 fee), a 10.00 adjustment →
 *   balanced, due 2025-10-01, not in the bank after the 3-day window: `payout_missing_in_bank`;
 * - po_m: a manual payout of 5000 JPY (`unattributable`), in the bank by amount and date (B3);
 * - po_9: a 40.00 charge (1.20 fee) naming a payout that was not fetched: `parent_missing`;
 * - B4: a credit of 123.45 USD no payout claims; D1: a debit (never matched).
 */
export function stripeNight(): RunSettlement {
  const parents = [
    parent('po_1', 95000n, '2025-10-02'),
    parent('po_2', 95000n, '2025-10-02'),
    parent('po_3', 23600n, '2025-10-01'),
    parent('po_m', 5000n, '2025-10-03', { currency: 'JPY', itemizable: false }),
  ];
  const children = [
    child('txn_ch_1', 'po_1', 'charge', 50000n, 48500n),
    child('txn_ch_2', 'po_1', 'charge', 50000n, 48500n),
    child('txn_re_1', 'po_1', 'refund', -2000n, -2000n),
    child('txn_ch_3', 'po_2', 'charge', 50000n, 48500n),
    child('txn_ch_4', 'po_2', 'charge', 50000n, 48500n),
    child('txn_ch_5', 'po_3', 'charge', 30000n, 29100n),
    child('txn_dp_1', 'po_3', 'dispute', -5000n, -6500n),
    child('txn_adj_1', 'po_3', 'adjustment', 1000n, 1000n),
    child('txn_ch_9', 'po_9', 'charge', 4000n, 3880n),
  ];
  const entries = [
    bankCredit({ amount: 95000n, bankReference: 'B1', remittanceText: 'STRIPE TRANSFER po_1' }),
    bankCredit({
      amount: 95000n,
      bankReference: 'B2',
      remittanceText: 'STRIPE TRANSFER po_2',
      valueDate: '2025-10-03',
    }),
    bankCredit({ amount: 5000n, currency: 'JPY', bankReference: 'B3', valueDate: '2025-10-03' }),
    bankCredit({
      amount: 12345n,
      bankReference: 'B4',
      remittanceText: 'INTEREST OCT',
      line: 7,
    }),
    bankCredit({ amount: 1000n, bankReference: 'D1', direction: 'debit', signedAmount: -1000n }),
  ];
  return settlementOf(parents, children, entries);
}

/** The e-mail's digest of `stripeNight()` (what delivery reads from its JSON report). */
export const STRIPE_NIGHT_DIGEST: DigestSettlement = {
  bankRead: true,
  payouts: [
    payoutDigest('po_1', 'group_matched', '950.00', '950.00', 3, '0.00', 'payout_matched', '0.00'),
    payoutDigest(
      'po_2',
      'group_sum_mismatch',
      '950.00',
      '970.00',
      2,
      '20.00',
      'payout_matched',
      '0.00',
    ),
    payoutDigest(
      'po_3',
      'group_matched',
      '236.00',
      '236.00',
      3,
      '0.00',
      'payout_missing_in_bank',
      null,
    ),
    {
      ...payoutDigest('po_m', 'unattributable', '5000', '0', 0, null, 'payout_matched', '0'),
      currency: 'JPY',
    },
    payoutDigest('po_9', 'parent_missing', null, '38.80', 1, null, null, null),
  ],
  unmatchedCredits: [{ reference: 'B4', amount: '123.45', currency: 'USD' }],
};

/** A USD payout of a digest. */
export function payoutDigest(
  parentId: string,
  status: string,
  parentAmount: string | null,
  childrenSum: string,
  childCount: number,
  difference: string | null,
  bankStatus: string | null,
  bankDifference: string | null,
): DigestPayout {
  return {
    parentId,
    currency: 'USD',
    status,
    parentAmount,
    childrenSum,
    childCount,
    difference,
    bankStatus,
    bankDifference,
  };
}
