import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiConfig } from '../../src/config/load-config';
import { ConfigError, InputRejectedError } from '../../src/domain/errors';
import { buildSettlementGroups, settlementGroupJson } from '../../src/engine/settlement-groups';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { AdyenFileSettlementSource } from '../../src/sources/settlement/adyen-file-source';
import {
  settlementSourceFor,
  type SettlementSourceSettings,
} from '../../src/sources/settlement/settlement-sources';
import { SquarePayoutsSource } from '../../src/sources/settlement/square-payouts-source';
import { StripePayoutsSource } from '../../src/sources/settlement/stripe-payouts-source';

const SAMPLES = join(__dirname, '..', 'fixtures', 'samples', 'adyen');
const SETTLEMENT = join(__dirname, '..', 'fixtures', 'settlement');
const DOCS_EXAMPLE = join(SETTLEMENT, 'adyen_docs_example_batch_42.csv');
const CANONICAL = join(__dirname, '..', '..', 'data', 'samples', '2025-09-30', 'stripe.csv');

const STRIPE = {
  baseUrl: 'https://api.stripe.com',
  apiKey: 'sk_test_x',
  matchKey: 'source' as const,
  accountLabel: 'stripe',
};
const SQUARE = { baseUrl: 'https://connect.squareup.com', accessToken: 't', apiVersion: 'v' };
const base: SettlementSourceSettings = {
  businessDate: '2025-10-02',
  processorSource: 'api',
  apis: { http: DEFAULT_HTTP_SETTINGS, stripe: STRIPE, square: SQUARE },
  observer: { warn: () => undefined },
};

describe('Adyen settlement details report file source', () => {
  it("reads the Adyen documentation's example batch 42 into one balanced group", async () => {
    const source = new AdyenFileSettlementSource(DOCS_EXAMPLE);
    const read = await source.read();
    expect([read.location, read.parents, read.children.length, read.invalidRows]).toEqual([
      DOCS_EXAMPLE,
      [
        {
          kind: 'adyen_batch',
          key: '42',
          currency: 'EUR',
          amount: 39028n,
          dueDate: null,
          itemizable: true,
        },
      ],
      4,
      [],
    ]);
    const groups = buildSettlementGroups(read.parents, read.children, {
      asOfDate: '2025-10-02',
      orphanKind: 'adyen_batch',
    });
    expect(groups.map((g) => settlementGroupJson(g, null))).toEqual([
      {
        parent_id: '42',
        kind: 'adyen_batch',
        currency: 'EUR',
        parent_amount: '390.28',
        children_sum: '390.28',
        difference: '0.00',
        child_count: 4,
        status: 'group_matched',
        bank_entry: null,
      },
    ]);
  });

  it('reads the real 49-column report (batch 1300, PaymentCost) and the real carried-over batches', async () => {
    const paid = await new AdyenFileSettlementSource(
      join(SAMPLES, 'smashpig__settlement_detail_report_payment_cost.csv'),
    ).read();
    expect(
      buildSettlementGroups(paid.parents, paid.children, {
        asOfDate: '2026-10-06',
        orphanKind: 'adyen_batch',
      }).map((g) => settlementGroupJson(g, null)),
    ).toEqual([
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
    const carried = new AdyenFileSettlementSource(
      join(SAMPLES, 'oca__settlement_detail_report_batch_666_short_row.csv'),
    );
    const read = await carried.read();
    expect([read.parents, read.children, read.invalidRows, carried.carriedBatches]).toEqual([
      [],
      [],
      [{ line: 3, reason: '15 fields, the header has 30' }],
      [{ batch: '666', currency: 'USD', net: '0.09', rows: 2 }],
    ]);
  });

  it('rejects a missing file naming it (exit 4)', async () => {
    await expect(new AdyenFileSettlementSource('/nonexistent/batch_1.csv').read()).rejects.toThrow(
      new InputRejectedError(
        'Adyen settlement details report /nonexistent/batch_1.csv: no such file',
        { location: '' },
      ),
    );
  });

  it('decodes a windows-1252 file when told so (0x80 is €)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-adyen-'));
    const file = join(dir, 'batch_42_cp1252.csv');
    const bytes = Buffer.from(
      readFileSync(DOCS_EXAMPLE, 'latin1').replace('Transaction Fees', 'Transaction Fees \x80'),
      'latin1',
    );
    writeFileSync(file, bytes);
    const read = await new AdyenFileSettlementSource(file, 'windows-1252').read();
    expect(read.children.filter((c) => c.category === 'fee')).toEqual([
      {
        id: 'Transaction Fees € October 01 2025',
        parentKey: '42',
        category: 'fee',
        currency: 'EUR',
        gross: -32n,
        net: -32n,
      },
    ]);
  });
});

describe('settlementSourceFor', () => {
  it('gives the payouts API sources for stripe and square in API mode, nothing for paypal', async () => {
    expect(await settlementSourceFor('stripe', base)).toBeInstanceOf(StripePayoutsSource);
    expect(await settlementSourceFor('square', base)).toBeInstanceOf(SquarePayoutsSource);
    expect(await settlementSourceFor('paypal', base)).toBeNull();
    expect((await settlementSourceFor('stripe', base))?.location).toBe(
      'https://api.stripe.com/v1/payouts',
    );
  });

  it('takes the application configuration’s API settings as they are', async () => {
    const config: ApiConfig = { http: DEFAULT_HTTP_SETTINGS, stripe: STRIPE };
    const source = await settlementSourceFor('stripe', { ...base, apis: config });
    expect(source?.location).toBe('https://api.stripe.com/v1/payouts');
  });

  it('refuses an API source without its credentials (exit 2)', async () => {
    const apis = { http: DEFAULT_HTTP_SETTINGS };
    await expect(settlementSourceFor('stripe', { ...base, apis })).rejects.toThrow(
      new ConfigError('the stripe payouts source needs STRIPE_API_KEY'),
    );
    await expect(settlementSourceFor('square', { ...base, apis })).rejects.toThrow(
      new ConfigError('the square payouts source needs SQUARE_ACCESS_TOKEN'),
    );
  });

  it('gives the Adyen file source for a settlement details report, detected or forced, and null otherwise', async () => {
    const csv = { ...base, processorSource: 'csv' as const };
    const detected = await settlementSourceFor('adyen', { ...csv, processorFile: DOCS_EXAMPLE });
    expect(detected).toBeInstanceOf(AdyenFileSettlementSource);
    expect(detected?.location).toBe(DOCS_EXAMPLE);
    const dir = mkdtempSync(join(tmpdir(), 'recon-adyen-'));
    const canonical = join(dir, 'adyen.csv');
    copyFileSync(CANONICAL, canonical);
    expect(await settlementSourceFor('adyen', { ...csv, processorFile: canonical })).toBeNull();
    expect(
      await settlementSourceFor('adyen', {
        ...csv,
        processorFile: canonical,
        format: 'adyen-settlement-detail',
      }),
    ).toBeInstanceOf(AdyenFileSettlementSource);
    expect(
      await settlementSourceFor('adyen', {
        ...csv,
        processorFile: DOCS_EXAMPLE,
        format: 'canonical',
      }),
    ).toBeNull();
    expect(await settlementSourceFor('stripe', { ...csv, processorFile: CANONICAL })).toBeNull();
    expect(await settlementSourceFor('stripe', { ...base, processorSource: 'raw' })).toBeNull();
  });
});
