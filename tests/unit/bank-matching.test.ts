import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BankEntry } from '../../src/domain/bank-entry';
import {
  bankEntryReference,
  matchPayoutsToBank,
  type ExpectedPayout,
} from '../../src/engine/bank-matching';
import { parseBai2 } from '../../src/sources/bank/bai2';
import { parseCamt053 } from '../../src/sources/bank/camt053';

const FIXTURES = join(__dirname, '..', 'fixtures', 'bank');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

let lineNo = 0;
function credit(fields: Partial<BankEntry> & Pick<BankEntry, 'amount'>): BankEntry {
  lineNo++;
  return {
    statementId: 'S1',
    account: 'ACC',
    signedAmount: fields.amount,
    currency: 'USD',
    direction: 'credit',
    bookingDate: '2025-10-02',
    valueDate: '2025-10-02',
    bankReference: `B${lineNo}`,
    customerReference: null,
    remittanceText: null,
    reversal: false,
    typeCode: null,
    booked: true,
    line: lineNo,
    xmlPath: null,
    ...fields,
  };
}

const payout = (fields: Partial<ExpectedPayout> = {}): ExpectedPayout => ({
  id: 'po_1',
  currency: 'USD',
  amount: 95000n,
  expectedDate: '2025-10-02',
  ...fields,
});
const AS_OF = { asOfDate: '2025-10-02' };

describe('bank matching', () => {
  it('matches a payout by its id in the remittance text, whatever the case and punctuation', () => {
    const entry = credit({ amount: 95000n, remittanceText: 'STRIPE TRANSFER, PO_1; thanks' });
    const other = credit({ amount: 95000n });
    const result = matchPayoutsToBank([payout()], [other, entry], AS_OF);
    expect(result).toEqual({
      payouts: [
        {
          payout: payout(),
          status: 'payout_matched',
          matchedBy: 'reference',
          bankEntry: entry,
          difference: 0n,
          candidates: [],
        },
      ],
      unmatchedCredits: [other],
      counts: {
        payout_matched: 1,
        payout_missing_in_bank: 0,
        bank_credit_unmatched: 1,
        payout_amount_mismatch: 0,
        payout_ambiguous: 0,
        payout_pending: 0,
      },
    });
  });

  it('reports a referenced credit with another amount as payout_amount_mismatch, with the difference', () => {
    const entry = credit({ amount: 94950n, customerReference: 'po_1' });
    const [result] = matchPayoutsToBank([payout()], [entry], AS_OF).payouts;
    expect(result).toEqual({
      payout: payout(),
      status: 'payout_amount_mismatch',
      matchedBy: 'reference',
      bankEntry: entry,
      difference: -50n,
      candidates: [],
    });
  });

  it('matches by amount and date when no text names the payout, with one candidate only', () => {
    const entry = credit({ amount: 95000n, valueDate: '2025-10-05' });
    const wrongCurrency = credit({ amount: 95000n, currency: 'CAD' });
    const result = matchPayoutsToBank([payout()], [entry, wrongCurrency], {
      asOfDate: '2025-10-06',
    });
    expect(result.payouts.map((r) => [r.status, r.matchedBy, r.bankEntry])).toEqual([
      ['payout_matched', 'amount_date', entry],
    ]);
    expect(result.unmatchedCredits).toEqual([wrongCurrency]);
  });

  it('counts the window in days around the expected date: 3 days by default, or as given', () => {
    const inside = credit({ amount: 95000n, valueDate: '2025-10-05' });
    const outside = credit({ amount: 95000n, valueDate: '2025-10-06' });
    const before = credit({ amount: 95000n, valueDate: '2025-09-28' });
    const status = (entries: BankEntry[], windowDays?: number): string | undefined =>
      matchPayoutsToBank([payout()], entries, {
        asOfDate: '2025-10-10',
        ...(windowDays !== undefined ? { windowDays } : {}),
      }).payouts[0]?.status;
    expect(status([inside])).toBe('payout_matched');
    expect(status([outside])).toBe('payout_missing_in_bank');
    expect(status([before])).toBe('payout_missing_in_bank');
    expect(status([outside], 4)).toBe('payout_matched');
    expect(status([inside], 0)).toBe('payout_missing_in_bank');
  });

  it('calls a payout missing in the bank only after the window; before that it is pending', () => {
    const run = (asOfDate: string): string | undefined =>
      matchPayoutsToBank([payout()], [], { asOfDate }).payouts[0]?.status;
    expect(run('2025-10-02')).toBe('payout_pending');
    expect(run('2025-10-05')).toBe('payout_pending');
    expect(run('2025-10-06')).toBe('payout_missing_in_bank');
  });

  it('never guesses between two credits of the same amount and date: payout_ambiguous', () => {
    const a = credit({ amount: 95000n });
    const b = credit({ amount: 95000n, valueDate: '2025-10-03' });
    const result = matchPayoutsToBank([payout()], [a, b], AS_OF);
    expect(result.payouts[0]).toEqual({
      payout: payout(),
      status: 'payout_ambiguous',
      matchedBy: null,
      bankEntry: null,
      difference: null,
      candidates: [a, b],
    });
    expect(result.unmatchedCredits).toEqual([a, b]);
  });

  it('never gives one credit to two payouts of the same amount: both ambiguous', () => {
    const only = credit({ amount: 95000n });
    const result = matchPayoutsToBank([payout(), payout({ id: 'po_2' })], [only], AS_OF);
    expect(result.payouts.map((r) => [r.payout.id, r.status, r.candidates])).toEqual([
      ['po_1', 'payout_ambiguous', [only]],
      ['po_2', 'payout_ambiguous', [only]],
    ]);
  });

  it("uses the statement descriptor to choose among credits of the payout's amount", () => {
    const wire = credit({ amount: 95000n, remittanceText: 'WIRE FROM ACME' });
    const stripe = credit({ amount: 95000n, remittanceText: 'Stripe  Transfer ST-X1' });
    const result = matchPayoutsToBank(
      [payout({ descriptor: 'STRIPE TRANSFER' })],
      [wire, stripe],
      AS_OF,
    );
    expect(result.payouts.map((r) => [r.status, r.matchedBy, r.bankEntry])).toEqual([
      ['payout_matched', 'amount_date', stripe],
    ]);
  });

  it("does not match a payout by amount to a credit that names another payout's id", () => {
    const other = credit({ amount: 95000n, remittanceText: 'po_2' });
    const result = matchPayoutsToBank([payout(), payout({ id: 'po_2', amount: 50000n })], [other], {
      asOfDate: '2025-10-10',
    });
    expect(result.payouts.map((r) => [r.payout.id, r.status, r.difference])).toEqual([
      ['po_1', 'payout_missing_in_bank', null],
      ['po_2', 'payout_amount_mismatch', 45000n],
    ]);
  });

  it('ignores debits, reversals and pending entries, and a reference outside the window', () => {
    const debit = credit({ amount: 95000n, direction: 'debit', signedAmount: -95000n });
    const reversal = credit({ amount: 95000n, reversal: true });
    const pending = credit({ amount: 95000n, booked: false });
    const late = credit({ amount: 95000n, remittanceText: 'po_1', valueDate: '2025-10-09' });
    const result = matchPayoutsToBank([payout()], [debit, reversal, pending, late], {
      asOfDate: '2025-10-09',
    });
    expect(result.payouts[0]?.status).toBe('payout_missing_in_bank');
    expect(result.unmatchedCredits).toEqual([late]);
  });

  it('matches the payouts of the bundled camt.053 and BAI2 fixtures; one payout has not arrived', () => {
    const camt = parseCamt053(fixture('camt053-v02-two-statements.xml'), 'camt.xml');
    const bai = parseBai2(fixture('bai2-two-currencies.txt'), 'bai.txt');
    const payouts: ExpectedPayout[] = [
      payout({ id: 'po_1Q2w3E4r5T6y', amount: 95000n }),
      {
        id: '1300',
        currency: 'EUR',
        amount: 39028n,
        expectedDate: '2025-10-02',
        references: ['ADYEN-BATCH-1300'],
      },
      payout({ id: 'po_not_arrived', amount: 12345n, expectedDate: '2025-09-28' }),
    ];
    const result = matchPayoutsToBank(payouts, [...camt.entries, ...bai.entries], AS_OF);
    expect(
      result.payouts.map((r) => [
        r.payout.id,
        r.status,
        r.matchedBy,
        r.bankEntry ? bankEntryReference(r.bankEntry) : null,
        r.difference,
      ]),
    ).toEqual([
      // Named by both the camt.053 USD credit (950.00) and the BAI2 credit (5000.00): the one
      // with the payout's amount is chosen; the other stays unmatched.
      ['po_1Q2w3E4r5T6y', 'payout_matched', 'reference', 'USREF-77', 0n],
      ['1300', 'payout_matched', 'reference', 'BANKREF-0001', 0n],
      ['po_not_arrived', 'payout_missing_in_bank', null, null, null],
    ]);
    expect(result.unmatchedCredits.map(bankEntryReference)).toEqual([
      'BANKREF-0004',
      'PAYREF1',
      'WIRE77',
    ]);
    expect(result.counts).toEqual({
      payout_matched: 2,
      payout_missing_in_bank: 1,
      bank_credit_unmatched: 3,
      payout_amount_mismatch: 0,
      payout_ambiguous: 0,
      payout_pending: 0,
    });
  });

  it('matches 10 000 payouts to 10 000 credits by amount quickly (hashed lookups)', () => {
    const payouts: ExpectedPayout[] = [];
    const entries: BankEntry[] = [];
    for (let i = 0; i < 10000; i++) {
      payouts.push(payout({ id: `po_${i}`, amount: BigInt(1000 + i) }));
      entries.push(credit({ amount: BigInt(1000 + i) }));
    }
    const started = Date.now();
    const result = matchPayoutsToBank(payouts, entries, AS_OF);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.counts.payout_matched).toBe(10000);
  });

  it('refuses a negative window and a payout without a positive amount', () => {
    expect(() => matchPayoutsToBank([], [], { asOfDate: '2025-10-02', windowDays: -1 })).toThrow(
      new RangeError('window days must be a whole number ≥ 0, got -1'),
    );
    expect(() => matchPayoutsToBank([payout({ amount: 0n })], [], AS_OF)).toThrow(
      new RangeError('payout po_1 has a non-positive amount 0'),
    );
  });
});
