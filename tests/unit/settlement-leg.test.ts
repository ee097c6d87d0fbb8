import { join } from 'node:path';
import { InputRejectedError } from '../../src/domain/errors';
import {
  settlementJson,
  type SettlementRead,
  type SettlementSource,
} from '../../src/engine/settlement';
import { loadConfig } from '../../src/config/load-config';
import { settlementSourceOf, type RunRequest } from '../../src/job/run-reconciliation';
import { NO_BANK, reconcileSettlement } from '../../src/job/settlement-leg';
import { CanonicalPayoutsSource } from '../../src/sources/settlement/canonical-payouts';

const SAMPLES = join(__dirname, '..', '..', 'data', 'samples');
const CAMT = join(SAMPLES, 'bank', 'camt053', '2025-10-06', 'statement-2025-10-06.xml');

/** A settlement source handing out what it was given (as an API source would after fetching). */
function fakeSource(read: Omit<SettlementRead, 'location'>): SettlementSource {
  return {
    location: 'https://api.example.test/v1/payouts',
    read: () => Promise.resolve({ location: 'https://api.example.test/v1/payouts', ...read }),
  };
}

const SOURCE = fakeSource({
  parents: [
    {
      kind: 'square_payout',
      key: 'po_sq_1',
      currency: 'USD',
      amount: 95000n,
      dueDate: '2025-10-06',
      itemizable: true,
    },
  ],
  children: [
    {
      id: 'e1',
      parentKey: 'po_sq_1',
      category: 'charge',
      currency: 'USD',
      gross: 100000n,
      net: 97000n,
    },
    {
      id: 'e2',
      parentKey: 'po_sq_1',
      category: 'refund',
      currency: 'USD',
      gross: -2000n,
      net: -2000n,
    },
    { id: 'e3', parentKey: 'po_sq_9', category: 'charge', currency: 'USD', gross: 500n, net: 500n },
  ],
  invalidRows: [{ line: 7, reason: 'net_amount_money.amount is not a whole number' }],
});

describe('the settlement leg of a run', () => {
  it('groups a source, matches its payouts to the statement by amount and date, and reports the findings', async () => {
    const leg = await reconcileSettlement(
      SOURCE,
      { ...NO_BANK, files: [CAMT] },
      '2025-10-06',
      'square',
    );
    expect(settlementJson(leg.settlement)).toEqual({
      groups: [
        {
          parent_id: 'po_sq_1',
          kind: 'square_payout',
          currency: 'USD',
          parent_amount: '950.00',
          children_sum: '950.00',
          difference: '0.00',
          child_count: 2,
          status: 'group_matched',
          // No reference to po_sq_1 on the statement: the only 950.00 credit in the window.
          bank_entry: 'BNK1006A',
        },
        {
          parent_id: 'po_sq_9',
          kind: 'square_payout',
          currency: 'USD',
          parent_amount: null,
          children_sum: '5.00',
          difference: null,
          child_count: 1,
          status: 'parent_missing',
          bank_entry: null,
        },
      ],
      counts: {
        group_matched: 1,
        group_sum_mismatch: 0,
        group_incomplete: 0,
        parent_missing: 1,
        unattributable: 0,
        payout_matched: 1,
        payout_missing_in_bank: 0,
        bank_credit_unmatched: 2,
        payout_amount_mismatch: 0,
        payout_ambiguous: 0,
      },
    });
    expect(leg.settlement.bankEntries).toHaveLength(4);
    expect(leg.issues.map((i) => [i.side, i.check, i.severity, i.location, i.line])).toEqual([
      ['bank', 'settlement_row', 'error', 'https://api.example.test/v1/payouts', 7],
      ['bank', 'statement_balance', 'info', CAMT, null],
    ]);
  });

  it('without a statement the bank leg is null', async () => {
    const leg = await reconcileSettlement(SOURCE, NO_BANK, '2025-10-06', 'square');
    expect([
      leg.settlement.bank,
      leg.settlement.bankEntries,
      leg.settlement.counts.payout_matched,
    ]).toEqual([null, [], 0]);
  });

  it('a missing statement file rejects the run input (exit 4)', async () => {
    await expect(
      reconcileSettlement(SOURCE, { ...NO_BANK, files: ['no/such.xml'] }, '2025-10-06', 'square'),
    ).rejects.toThrow(
      new InputRejectedError('bank statement no/such.xml does not exist', {
        location: 'no/such.xml',
      }),
    );
  });
});

describe('the settlement source of a run', () => {
  const apis = loadConfig({}).apis;
  const request = (processorSource: 'csv' | 'api'): Pick<RunRequest, 'sources'> => ({
    sources: { processorSource, internalSource: 'csv', dataDir: SAMPLES },
  });

  it('the source the wiring gives wins; else the canonical payouts file of a CSV run; else none', async () => {
    expect(
      await settlementSourceOf(
        { apis, settlementSources: () => SOURCE },
        request('csv'),
        '2025-10-06',
        'stripe',
      ),
    ).toBe(SOURCE);
    const canonical = await settlementSourceOf({ apis }, request('csv'), '2025-10-06', 'stripe');
    expect(canonical).toBeInstanceOf(CanonicalPayoutsSource);
    expect(canonical?.location).toBe(join(SAMPLES, '2025-10-06', 'payouts_stripe.csv'));
    expect(
      await settlementSourceOf(
        { apis, settlementSources: () => null },
        request('csv'),
        '2025-09-30',
        'stripe',
      ),
    ).toBeNull();
    // PayPal's API carries no payouts; a Stripe API side without a key is refused (exit 2).
    expect(await settlementSourceOf({ apis }, request('api'), '2025-10-06', 'paypal')).toBeNull();
    await expect(
      settlementSourceOf({ apis }, request('api'), '2025-10-06', 'stripe'),
    ).rejects.toThrow('the stripe payouts source needs STRIPE_API_KEY');
  });
});
