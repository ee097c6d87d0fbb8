import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ProcessorName } from '../../../src/domain/status';
import type { FormatSettings } from '../../../src/sources/formats/processor-format';
import { makeTempDir } from '../support/temp-files';
import {
  DERIVED,
  feesByCurrency,
  issuesOf,
  readProcessorFile,
  SAMPLES,
  sampleText,
  statusCounts,
  totalsByCurrency,
  withBomAndCrlf,
  withoutLines,
} from './support';

const temp = makeTempDir('formats');
afterAll(() => temp.cleanup());
let counter = 0;
const write = (content: string): string => temp.write(`variant-${++counter}.csv`, content);

interface SampleCase {
  readonly file: string;
  readonly processor: ProcessorName;
  readonly settings?: Partial<FormatSettings>;
  readonly rows: number;
  readonly invalid: number;
  readonly totals: Record<string, bigint>;
  readonly fees: Record<string, bigint>;
  readonly statuses: Record<string, number>;
  readonly errors: { check: string; line: number | null }[];
}

const CASES: readonly SampleCase[] = [
  {
    file: join(SAMPLES, 'stripe', 'smashpig__settlement_report.csv'),
    processor: 'stripe',
    rows: 7,
    invalid: 0,
    // 25 - 10 + 10 - 0.5 - 0.5 + 3.35 + 24
    totals: { USD: 5135n },
    fees: { USD: 95n },
    statuses: { settled: 6, refunded: 1 },
    errors: [],
  },
  {
    file: join(SAMPLES, 'paypal', 'smashpig__stl.csv'),
    processor: 'paypal',
    rows: 4,
    invalid: 0,
    // AUD 52.00 + 5.35; GBP 8.34 - 1.34 (refund)
    totals: { AUD: 5735n, GBP: 700n },
    // AUD fees charged 2.25 + 0.75; GBP 0.87 charged, 0.47 returned on the refund
    fees: { AUD: 300n, GBP: 40n },
    statuses: { settled: 3, refunded: 1 },
    errors: [],
  },
  {
    file: join(SAMPLES, 'paypal', 'oca__statement_es.csv'),
    processor: 'paypal',
    settings: { paypalDateOrder: 'dmy' },
    rows: 4,
    invalid: 0,
    totals: { EUR: 13644n },
    fees: { EUR: 536n },
    statuses: { settled: 4 },
    errors: [],
  },
  {
    file: join(SAMPLES, 'adyen', 'oca__settlement_detail_report_batch_238.csv'),
    processor: 'adyen',
    rows: 0,
    invalid: 0,
    totals: {},
    fees: {},
    statuses: {},
    errors: [],
  },
  {
    file: join(SAMPLES, 'adyen', 'oca__settlement_detail_report_batch_100_blank_lines.csv'),
    processor: 'adyen',
    rows: 0,
    invalid: 0,
    totals: {},
    fees: {},
    statuses: {},
    errors: [],
  },
  {
    file: join(SAMPLES, 'adyen', 'oca__settlement_detail_report_batch_666_short_row.csv'),
    processor: 'adyen',
    rows: 1,
    invalid: 1,
    totals: {},
    fees: {},
    statuses: {},
    errors: [
      { check: 'invalid_row', line: 3 },
      { check: 'batch_balance', line: null },
    ],
  },
  {
    file: join(SAMPLES, 'adyen', 'smashpig__settlement_detail_report_payment_cost.csv'),
    processor: 'adyen',
    rows: 1,
    invalid: 0,
    totals: { USD: 175n },
    fees: { USD: 0n },
    statuses: { settled: 1 },
    errors: [],
  },
  {
    file: join(DERIVED, 'adyen_settlement_detail_batch_500.csv'),
    processor: 'adyen',
    rows: 5,
    invalid: 0,
    // 100.00 + 250.50 - 20.00 (refund) - 50.00 (chargeback) + 30.00
    totals: { EUR: 31050n },
    fees: { EUR: 826n },
    statuses: { settled: 3, refunded: 2 },
    errors: [],
  },
];

describe('processor export samples', () => {
  it.each(CASES.map((c) => [c.file.split('/').slice(-2).join('/'), c] as const))(
    '%s: row count, totals per currency, statuses and rejects',
    async (_name, c) => {
      const result = await readProcessorFile(c.file, c.processor, { settings: c.settings });
      expect(result.rowCount).toBe(c.rows);
      expect(result.invalidCount).toBe(c.invalid);
      expect(result.table.toArray()).toHaveLength(c.rows - c.invalid);
      expect(totalsByCurrency(result)).toEqual(c.totals);
      expect(feesByCurrency(result)).toEqual(c.fees);
      expect(statusCounts(result)).toEqual(c.statuses);
      expect(
        result.issues
          .filter((issue) => issue.severity === 'error')
          .map((issue) => ({ check: issue.check, line: issue.line })),
      ).toEqual(c.errors);
    },
  );

  it.each(CASES.map((c) => [c.file.split('/').slice(-2).join('/'), c] as const))(
    '%s: reads the same with a BOM and CRLF line ends',
    async (_name, c) => {
      const original = await readProcessorFile(c.file, c.processor, { settings: c.settings });
      const variant = await readProcessorFile(
        write(withBomAndCrlf(sampleText(c.file))),
        c.processor,
        { settings: c.settings },
      );
      expect(variant.table.toArray()).toEqual(original.table.toArray());
      expect(variant.rowCount).toBe(original.rowCount);
      expect(variant.issues.map((i) => [i.check, i.line, i.reason])).toEqual(
        original.issues.map((i) => [i.check, i.line, i.reason]),
      );
    },
  );

  it.each([
    ['stripe', join(SAMPLES, 'stripe', 'smashpig__settlement_report.csv')],
    ['adyen', join(DERIVED, 'adyen_settlement_detail_batch_500.csv')],
    ['paypal', join(SAMPLES, 'paypal', 'oca__statement_es.csv')],
  ] as const)('%s: reads the same with the columns in reverse order', async (processor, file) => {
    const settings = { paypalDateOrder: 'dmy' } as const;
    const records: string[][] = parse(sampleText(file));
    const reversed = stringify(records.map((record) => [...record].reverse()));
    const original = await readProcessorFile(file, processor, { settings });
    const variant = await readProcessorFile(write(reversed), processor, { settings });
    expect(variant.table.toArray().length).toBeGreaterThan(0);
    expect(withoutLines(variant)).toEqual(withoutLines(original));
  });

  it('stripe: reads the same with every value quoted, numbers included', async () => {
    const file = join(SAMPLES, 'stripe', 'smashpig__settlement_report.csv');
    const records: string[][] = parse(sampleText(file));
    const quoted = stringify(records, { quoted: true });
    expect(quoted).toContain('"24","0","23.05"');
    const original = await readProcessorFile(file, 'stripe');
    const variant = await readProcessorFile(write(quoted), 'stripe');
    expect(variant.table.toArray()).toEqual(original.table.toArray());
  });
});

describe('stripe-balance-report', () => {
  const file = join(SAMPLES, 'stripe', 'smashpig__settlement_report.csv');

  it('matches by source_id, falling back to balance_transaction_id for fees and payouts', async () => {
    const result = await readProcessorFile(file, 'stripe');
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual([
      'ch_123',
      're_123',
      'Re_1234',
      'txn_fee_01',
      'txn_fee_03',
      'du_1Tc2b',
      'po_123',
    ]);
    expect(result.table.toArray()[1]).toMatchObject({
      amountMinor: -1000n,
      currency: 'USD',
      status: 'refunded',
      rawStatus: 'refund',
      createdAtMs: Date.parse('2026-01-30T12:30:00Z'),
    });
  });

  it('uses charge_id or balance_transaction_id when configured', async () => {
    const byCharge = await readProcessorFile(file, 'stripe', {
      settings: { stripeMatchKey: 'charge_id' },
    });
    expect(
      byCharge.table
        .toArray()
        .slice(0, 2)
        .map((t) => t.transactionId),
    ).toEqual(['ch_123', 'ch_123']);
    expect(issuesOf(byCharge, 'duplicate_ids')[0]?.count).toBe(1);
    const byTxn = await readProcessorFile(file, 'stripe', {
      settings: { stripeMatchKey: 'balance_transaction_id' },
    });
    expect(
      byTxn.table
        .toArray()
        .map((t) => t.transactionId)
        .slice(0, 2),
    ).toEqual(['txn_001', 'txn_rfnd_002']);
  });

  it('warns about the payout row whose gross - fee is not its net', async () => {
    const result = await readProcessorFile(file, 'stripe');
    expect(issuesOf(result, 'net_mismatch')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        line: 8,
        reason: 'gross 24.00 - fee 0.00 != net 23.05 USD (difference 0.95)',
      }),
    ]);
  });

  it('compares the net amount when RECON_COMPARE_AMOUNT says so', async () => {
    const result = await readProcessorFile(file, 'stripe', {
      settings: { compareAmount: { 'stripe-balance-report': 'net' } },
    });
    expect(result.table.toArray().map((t) => t.amountMinor)).toEqual([
      2405n,
      -1000n,
      1000n,
      -50n,
      -50n,
      335n,
      2305n,
    ]);
  });

  it('reads un-suffixed timestamps in STRIPE_REPORT_TIMEZONE and *_utc ones as UTC', async () => {
    const local = await readProcessorFile(file, 'stripe', {
      settings: { stripeReportTimeZone: 'America/New_York' },
    });
    expect(local.table.toArray()[0]?.createdAtMs).toBe(Date.parse('2026-01-30T15:11:12Z'));
    const utc = await readProcessorFile(
      write(
        'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id\n' +
          'txn_1,2026-01-30 23:59:59,jpy,1500,45,1455,charge,ch_1\n',
      ),
      'stripe',
      { settings: { stripeReportTimeZone: 'America/New_York' } },
    );
    expect(utc.table.toArray()[0]).toMatchObject({
      transactionId: 'ch_1',
      amountMinor: 1500n,
      feeMinor: 45n,
      currency: 'JPY',
      createdAtMs: Date.parse('2026-01-30T23:59:59Z'),
    });
  });

  it('rejects bad amounts, currencies and timestamps with line, column and reason', async () => {
    const result = await readProcessorFile(
      write(
        'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n' +
          'txn_1,2026-01-30 10:00:00,usd,12.345,0,12.345,charge\n' +
          'txn_2,2026-01-30 10:00:00,xyz,1,0,1,charge\n' +
          'txn_3,30/01/2026 10:00,usd,1,0,1,charge\n' +
          'txn_4,2026-01-30 10:00:00,usd,"1,234.00",0,1234,charge\n' +
          'txn_5,2026-01-30 10:00:00,usd,1.50,0.05,1.45,charge\n',
      ),
      'stripe',
    );
    expect(result.rowCount).toBe(5);
    expect(result.invalidCount).toBe(4);
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual(['txn_5']);
    expect(
      issuesOf(result, 'invalid_row').map((i) => [i.line, i.field, i.reason, i.value]),
    ).toEqual([
      [2, 'gross', 'gross has more decimals than the currency allows (2)', '12.345'],
      [2, 'net', 'net has more decimals than the currency allows (2)', '12.345'],
      [3, 'currency', "currency 'xyz' is not an ISO 4217 currency code", 'xyz'],
      [4, 'created_utc', 'created_utc is not a YYYY-MM-DD HH:MM:SS timestamp', '30/01/2026 10:00'],
      [5, 'gross', 'gross is not a decimal number', '1,234.00'],
    ]);
  });
});

const ACTIVITY_HEADER =
  'Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,From Email Address,To Email Address,Transaction ID,Reference Txn ID';

describe('paypal-activity', () => {
  const spanish = join(SAMPLES, 'paypal', 'oca__statement_es.csv');

  it('reads the Spanish statement day-first in its IANA zone, with decimal commas', async () => {
    const result = await readProcessorFile(spanish, 'paypal', {
      settings: { paypalDateOrder: 'dmy' },
    });
    expect(result.table.toArray()[0]).toEqual({
      transactionId: 'TID1',
      amountMinor: 4937n,
      currency: 'EUR',
      feeMinor: 178n,
      netMinor: 4759n,
      status: 'settled',
      rawStatus: 'Completed',
      merchantId: '',
      // 2/1/2020 11:05:56 in Europe/Berlin (CET, UTC+1)
      createdAtMs: Date.parse('2020-01-02T10:05:56Z'),
      description: 'Pago estándar_1',
      line: 2,
    });
    expect(issuesOf(result, 'net_mismatch')).toEqual([]);
  });

  it('rejects a file whose dates fit both orders when the order is auto', async () => {
    await expect(readProcessorFile(spanish, 'paypal')).rejects.toThrow(
      /the date order is ambiguous \(line 2: '2\/1\/2020'.*set RECON_PAYPAL_DATE_ORDER=dmy/,
    );
  });

  it('decides month-first from a date such as 1/13/2026 and reads abbreviations, quoted thousands and refunds', async () => {
    const result = await readProcessorFile(
      write(
        `${ACTIVITY_HEADER}\n` +
          '1/2/2026,10:00:00,PST,Ann,Express Checkout Payment,Completed,USD,"1,234.56",-36.10,"1,198.46",ann@example.com,shop@example.com,1AB,\n' +
          '1/13/2026,23:30:00,America/Los_Angeles,Bob,Payment Refund ,Completed,USD,-10.00,0.59,-9.41,,bob@example.com,2CD,1AB\n' +
          '1/13/2026,08:00:00,CET,Cy,Withdraw Funds to Bank Account,Pending,EUR,-500,0,-500,,,3EF,\n',
      ),
      'paypal',
    );
    expect(result.invalidCount).toBe(0);
    expect(
      result.table
        .toArray()
        .map((t) => [
          t.transactionId,
          t.amountMinor,
          t.feeMinor,
          t.status,
          new Date(t.createdAtMs).toISOString(),
        ]),
    ).toEqual([
      ['1AB', 123456n, 3610n, 'settled', '2026-01-02T18:00:00.000Z'],
      ['2CD', -1000n, -59n, 'refunded', '2026-01-14T07:30:00.000Z'],
      ['3EF', -50000n, 0n, 'pending', '2026-01-13T07:00:00.000Z'],
    ]);
  });

  it('rejects dates that contradict each other', async () => {
    await expect(
      readProcessorFile(
        write(
          `${ACTIVITY_HEADER}\n` +
            '13/1/2026,10:00:00,PST,A,Payment,Completed,USD,1.00,0,1.00,,,1,\n' +
            '1/14/2026,10:00:00,PST,B,Payment,Completed,USD,1.00,0,1.00,,,2,\n',
        ),
        'paypal',
      ),
    ).rejects.toThrow(/day-first at line 2 \('13\/1\/2026'\) but month-first at line 3/);
  });

  it('with an explicit order, a date impossible in it is an invalid row', async () => {
    const result = await readProcessorFile(
      write(
        `${ACTIVITY_HEADER}\n` +
          '13/1/2026,10:00:00,PST,A,Payment,Completed,USD,1.00,0,1.00,,,1,\n' +
          '1/12/2026,10:00:00,XYZ,B,Payment,Completed,USD,1.00,0,1.00,,,2,\n' +
          '1/12/2026,10:00:00,PST,C,Payment,Completed,USD,"1.000,00",0,1.00,,,3,\n',
      ),
      'paypal',
      { settings: { paypalDateOrder: 'mdy' } },
    );
    expect(result.table.toArray()).toHaveLength(0);
    expect(issuesOf(result, 'invalid_row').map((i) => [i.line, i.field, i.value])).toEqual([
      [2, 'Date', '13/1/2026'],
      [3, 'TimeZone', 'XYZ'],
      [4, 'Gross', '1.000,00'],
    ]);
  });
});

const STL_CH =
  '"CH","Transaction ID","Invoice ID","PayPal Reference ID","PayPal Reference ID Type","Transaction Event Code","Transaction Initiation Date","Transaction Completion Date","Transaction  Debit or Credit","Gross Transaction Amount","Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency","Custom Field","Consumer ID","Payment Tracking ID","Store ID","Bank Reference ID","Credit Transactional Fee","Credit Promotional Fee","Credit Term"';

function stlBody(id: string, sign: string, amount: string, currency: string, fee = '10'): string {
  return `"SB","${id}","","","TXN","T0006",2026/01/06 10:00:00 -0800,2026/01/06 10:00:00 -0800,"${sign}",${amount},"${currency}","DR",${fee},"${currency}","","","","","",,,`;
}

describe('paypal-stl', () => {
  it('checks SC and RC record counts against the body: an error on mismatch', async () => {
    const result = await readProcessorFile(
      write(
        [
          '"RH",2026/01/07 02:44:19 -0800,"A","ACCOUNT1",009,',
          '"FH",01',
          '"SH",2026/01/06 00:00:00 -0800,2026/01/06 23:59:59 -0800,"","ACCOUNT1",""',
          STL_CH,
          stlBody('A1', 'CR', '1000', 'USD'),
          stlBody('A2', 'DR', '250', 'USD'),
          '"SF","USD",1000,250,20,0',
          '"SC",2',
          '"RF","USD",1000,250,20,0',
          '"RC",3',
          '"FF",01',
          '',
        ].join('\n'),
      ),
      'paypal',
    );
    expect(result.table.toArray().map((t) => [t.transactionId, t.amountMinor, t.feeMinor])).toEqual(
      [
        ['A1', 1000n, 10n],
        ['A2', -250n, 10n],
      ],
    );
    expect(result.table.toArray()[0]?.merchantId).toBe('ACCOUNT1');
    expect(issuesOf(result, 'footer_count').map((i) => [i.severity, i.line, i.reason])).toEqual([
      ['info', 8, 'section record count (SC) 2 matches the 2 SB record(s)'],
      ['error', 10, 'report record count (RC) says 3 SB record(s), the body has 2'],
    ]);
    expect(issuesOf(result, 'footer_total')).toEqual([]);
  });

  it('warns when a footer total differs from the body (the sample AUD footer)', async () => {
    const result = await readProcessorFile(join(SAMPLES, 'paypal', 'smashpig__stl.csv'), 'paypal');
    expect(issuesOf(result, 'footer_total').map((i) => [i.severity, i.line, i.field])).toEqual([
      ['warning', 8, 'AUD'],
      ['warning', 10, 'AUD'],
    ]);
    const refund = result.table.toArray().find((t) => t.transactionId === '6899');
    expect(refund).toMatchObject({
      amountMinor: -134n,
      feeMinor: -47n,
      status: 'refunded',
      createdAtMs: Date.parse('2026-01-07T07:31:39Z'),
    });
  });

  it('rejects a JPY amount with cents and an unknown record type', async () => {
    const result = await readProcessorFile(
      write(
        [
          '"SH",2026/01/06 00:00:00 +0900,2026/01/06 23:59:59 +0900,"ACC"',
          STL_CH,
          stlBody('J1', 'CR', '150000', 'JPY', '4500'),
          stlBody('J2', 'CR', '150050', 'JPY', '4500'),
          '"XX",1',
          '',
        ].join('\n'),
      ),
      'paypal',
    );
    // 150000 = 1500.00 JPY (two implied decimals, per PayPal's doc) = 1500 minor units
    expect(result.table.toArray().map((t) => [t.transactionId, t.amountMinor, t.feeMinor])).toEqual(
      [['J1', 1500n, 45n]],
    );
    expect(issuesOf(result, 'invalid_row').map((i) => [i.line, i.field])).toEqual([
      [4, 'Gross Transaction Amount'],
      [5, null],
    ]);
  });
});

describe('adyen-settlement-detail', () => {
  const batch500 = join(DERIVED, 'adyen_settlement_detail_batch_500.csv');

  it('signs debits and credits, sums the fee columns and matches refunds by modification reference', async () => {
    const result = await readProcessorFile(batch500, 'adyen');
    expect(
      result.table.toArray().map((t) => [t.transactionId, t.amountMinor, t.feeMinor, t.rawStatus]),
    ).toEqual([
      ['8815000000000001', 10000n, 235n, 'Settled'],
      ['8815000000000002', 25050n, 550n, 'Settled'],
      ['8825000000000003', -2000n, 12n, 'Refunded'],
      ['8825000000000004', -5000n, 0n, 'Chargeback'],
      ['8815000000000005', 3000n, 29n, 'Settled'],
    ]);
    // 23:30 CET is 22:30 UTC
    expect(result.table.toArray()[4]?.createdAtMs).toBe(Date.parse('2026-03-01T22:30:00Z'));
    expect(issuesOf(result, 'net_mismatch')).toEqual([]);
    expect(issuesOf(result, 'batch_balance')).toEqual([
      expect.objectContaining({
        severity: 'info',
        reason: 'batch 500 EUR: net of the rows 302.15 = paid out or carried over 302.15',
        count: 7,
      }),
    ]);
    expect(issuesOf(result, 'non_transaction_rows')[0]?.count).toBe(2);
  });

  it('reports a batch whose payout is not the sum of its net amounts', async () => {
    const text = sampleText(batch500).replace('302.15', '302.00');
    const result = await readProcessorFile(write(text), 'adyen');
    expect(issuesOf(result, 'batch_balance')).toEqual([
      expect.objectContaining({
        severity: 'error',
        reason:
          'batch 500 EUR: net of the rows 302.15 != paid out or carried over 302.00 (difference 0.15)',
      }),
    ]);
  });

  it('reports a short row as invalid and the batch it unbalances', async () => {
    const result = await readProcessorFile(
      join(SAMPLES, 'adyen', 'oca__settlement_detail_report_batch_666_short_row.csv'),
      'adyen',
    );
    expect(issuesOf(result, 'invalid_row')).toEqual([
      expect.objectContaining({ line: 3, reason: 'short row: 15 fields, header has 30' }),
    ]);
    expect(issuesOf(result, 'batch_balance')[0]?.reason).toBe(
      'batch 666 USD: net of the rows 454331.99 != paid out or carried over 454331.90 (difference 0.09); 1 invalid row(s) in the file are not included',
    );
  });

  it('uses the PSP reference for every row when ADYEN_MATCH_KEY=psp_reference', async () => {
    const result = await readProcessorFile(batch500, 'adyen', {
      settings: { adyenMatchKey: 'psp_reference' },
    });
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual([
      '8815000000000001',
      '8815000000000002',
      '8815000000000003',
      '8815000000000004',
      '8815000000000005',
    ]);
  });

  it('reads the 49-column layout with its Booking Date columns and quoted payout reference', async () => {
    const result = await readProcessorFile(
      join(SAMPLES, 'adyen', 'smashpig__settlement_detail_report_payment_cost.csv'),
      'adyen',
    );
    expect(result.table.toArray()).toEqual([
      expect.objectContaining({
        transactionId: 'PAYMENTCOSTPSP01',
        amountMinor: 175n,
        rawStatus: 'PaymentCost',
        merchantId: 'WikimediaDonations',
        // 2026-05-20 00:06:43 PDT (UTC-7)
        createdAtMs: Date.parse('2026-05-20T07:06:43Z'),
      }),
    ]);
  });
});
