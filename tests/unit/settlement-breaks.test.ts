import { join } from 'node:path';
import type { SettlementSource } from '../../src/engine/settlement';
import {
  bankCreditIdentity,
  settlementBreakLine,
  settlementObservations,
  statusOfKind,
  type StoredSettlementBreak,
} from '../../src/engine/settlement-breaks';
import { NO_BANK, reconcileSettlement } from '../../src/job/settlement-leg';

const SAMPLES = join(__dirname, '..', '..', 'data', 'samples');
const STATEMENT_1020 = join(SAMPLES, 'bank', 'camt053', '2025-10-20', 'statement-2025-10-20.xml');
const STATEMENT_1017 = join(SAMPLES, 'bank', 'camt053', '2025-10-17', 'statement-2025-10-17.xml');

const carriedPayout = {
  breakId: 'b-1',
  originDate: '2025-10-13',
  payout: { id: 'po_1Sample1013A', currency: 'USD', amount: 77600n, expectedDate: '2025-10-13' },
};

/** The day's own payout po_1Sample1020A (388.00 USD), balanced by one charge. */
const SOURCE_1020: SettlementSource = {
  location: 'payouts_stripe.csv',
  read: () =>
    Promise.resolve({
      location: 'payouts_stripe.csv',
      parents: [
        {
          kind: 'stripe_payout',
          key: 'po_1Sample1020A',
          currency: 'USD',
          amount: 38800n,
          dueDate: '2025-10-20',
          itemizable: true,
        },
      ],
      children: [
        {
          id: 'ch_1',
          parentKey: 'po_1Sample1020A',
          category: 'charge',
          currency: 'USD',
          gross: 40000n,
          net: 38800n,
        },
      ],
      invalidRows: [],
    }),
};

describe('settlement breaks: carried payouts in the settlement leg and what a run observed', () => {
  it("a carried payout is offered to a later statement with the day's own: matched there, its credit is not unmatched, the counts stay the day's own", async () => {
    const leg = await reconcileSettlement(
      SOURCE_1020,
      { ...NO_BANK, files: [STATEMENT_1020] },
      '2025-10-20',
      'stripe',
      undefined,
      [carriedPayout],
    );
    const s = leg.settlement;
    expect(s.counts).toMatchObject({ payout_matched: 1, bank_credit_unmatched: 0 });
    expect(s.bank?.payouts.map((p) => [p.payout.id, p.status])).toEqual([
      ['po_1Sample1020A', 'payout_matched'],
    ]);
    expect(
      s.carried?.map((c) => [c.breakId, c.result.status, c.result.bankEntry?.bankReference]),
    ).toEqual([['b-1', 'payout_matched', 'BNK1020L']]);
    const observed = settlementObservations(s, 'stripe');
    expect(observed.map((o) => [o.subject, o.subjectId, o.kind, o.matchedWith ?? null])).toEqual([
      ['group', 'po_1Sample1020A', null, null],
      ['payout', 'po_1Sample1020A', null, null],
      ['payout', 'po_1Sample1013A', null, null],
      ['bank_credit', 'BNK1020A', null, 'stripe:po_1Sample1020A'],
      ['bank_credit', 'BNK1020L', null, 'stripe:po_1Sample1013A'],
    ]);
    expect(observed.map((o) => o.identity)).toEqual([
      '["group","stripe","po_1Sample1020A","USD"]',
      '["payout","stripe","po_1Sample1020A","USD"]',
      '["payout","stripe","po_1Sample1013A","USD"]',
      '["bank_credit","123456789","BNK1020A","2025-10-20","38800","USD"]',
      // The credit's value date (2025-10-16), not its booking date.
      '["bank_credit","123456789","BNK1020L","2025-10-16","77600","USD"]',
    ]);
  });

  it('without a payouts source a run still decides its carried payouts: missing once the window passed, against no entries without a statement', async () => {
    const withStatement = await reconcileSettlement(
      null,
      { ...NO_BANK, files: [STATEMENT_1017] },
      '2025-10-17',
      'stripe',
      undefined,
      [carriedPayout],
    );
    expect(withStatement.settlement.groups).toEqual([]);
    expect(withStatement.settlement.bank?.payouts).toEqual([]);
    expect(withStatement.settlement.carried?.map((c) => c.result.status)).toEqual([
      'payout_missing_in_bank',
    ]);
    const none = await reconcileSettlement(null, NO_BANK, '2025-10-14', 'stripe', undefined, [
      carriedPayout,
    ]);
    expect([none.settlement.bank, none.settlement.carried?.map((c) => c.result.status)]).toEqual([
      null,
      ['payout_pending'],
    ]);
    expect(settlementObservations(none.settlement, 'stripe').map((o) => o.kind)).toEqual([
      'payout_pending',
    ]);
  });

  it("a carried payout the day lists again is the day's own (decided once)", async () => {
    const leg = await reconcileSettlement(
      SOURCE_1020,
      { ...NO_BANK, files: [STATEMENT_1020] },
      '2025-10-20',
      'stripe',
      undefined,
      [{ ...carriedPayout, payout: { ...carriedPayout.payout, id: 'po_1Sample1020A' } }],
    );
    expect(leg.settlement.carried).toEqual([]);
  });

  it('statuses, identities and the e-mail line', () => {
    expect(
      (['payout_pending', 'group_incomplete', 'payout_missing_in_bank'] as const).map(statusOfKind),
    ).toEqual(['pending', 'pending', 'open']);
    const entry = {
      statementId: 'S-1',
      account: 'DE00',
      amount: 100n,
      signedAmount: 100n,
      currency: 'EUR',
      direction: 'credit' as const,
      bookingDate: '2025-10-02',
      valueDate: null,
      bankReference: null,
      customerReference: null,
      remittanceText: 'X',
      reversal: false,
      typeCode: null,
      booked: true,
      line: 7,
      xmlPath: null,
    };
    // Without references an entry is named by its statement and line; its date is the booking date.
    expect(bankCreditIdentity(entry)).toBe(
      '["bank_credit","DE00","S-1@line 7","2025-10-02","100","EUR"]',
    );
    const stored: StoredSettlementBreak = {
      breakId: 'id',
      processor: 'stripe',
      subject: 'payout',
      subjectId: 'po_123',
      kind: 'payout_missing_in_bank',
      status: 'open',
      originDate: '2025-10-13',
      ageDays: 4,
      currency: 'USD',
      amount: '776.00',
      difference: null,
      expectedDate: '2025-10-13',
      account: null,
      valueDate: null,
      firstSeenRunId: 'r1',
      lastSeenRunId: 'r4',
      resolvedRunId: null,
      resolution: null,
      resolutionReason: null,
      lagDays: null,
      resolvedBy: null,
    };
    expect(settlementBreakLine(stored)).toBe('po_123 missing in bank, 4 days');
    expect(
      settlementBreakLine({
        ...stored,
        subjectId: 'po_B',
        kind: 'group_sum_mismatch',
        difference: '30.00',
        ageDays: 1,
      }),
    ).toBe('po_B does not balance (30.00 USD), 1 day');
  });
});
