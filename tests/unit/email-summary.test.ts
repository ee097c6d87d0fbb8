import { presignedUrlExpiry } from '../../src/delivery/presign-expiry';
import { parseFxRatesCsv } from '../../src/domain/fx-rates';
import {
  formatPercent,
  groupThousands,
  rankLargest,
  renderEmailHtml,
  renderEmailText,
  renderSubject,
  BREAK_LINES,
  payoutsNeedAction,
  type DigestBreak,
  type DigestBreaks,
  type DigestDiscrepancy,
  type DigestPayout,
  type DigestSettlement,
  type RunDigest,
} from '../../src/reports/email-summary';
import { payoutDigest, STRIPE_NIGHT_DIGEST } from './support/settlement-fixture';

const RATES = parseFxRatesCsv(
  [
    'currency,rate,as_of',
    'KWD,3.20,2025-09-01',
    'KWD,3.27,2025-09-30',
    'KWD,9.99,2025-10-01',
    'JPY,0.0067,2025-09-30',
  ].join('\n'),
  'rates.csv',
  'USD',
);

function discrepancy(
  processor: string,
  id: string,
  amount: string,
  currency: string,
  businessDate = '2025-09-30',
): DigestDiscrepancy {
  return {
    processor,
    businessDate,
    kind: 'missing_in_internal',
    transactionId: id,
    amount,
    currency,
    merchantId: null,
    processorSide: { amount, currency, status: 'COMPLETED', line: 2 },
    ledgerSide: null,
  };
}

function digest(
  processor: string,
  largest: DigestDiscrepancy[],
  overrides: Partial<RunDigest> = {},
): RunDigest {
  return {
    runId: `${processor}-0000-run`,
    businessDate: '2025-09-30',
    processor,
    status: 'completed',
    error: null,
    errorLabel: null,
    processorTransactions: 1_234_567,
    internalTransactions: 1_234_560,
    invalidRows: 0,
    counts: {
      matched: 1_234_000,
      missing_in_internal: largest.length,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
    },
    discrepancyCount: largest.length,
    discrepancyAmounts: {},
    discrepancyRate: '0.000459',
    riskLevel: 'LOW',
    largest,
    quality: [],
    links: { kind: 'local', csv: null, json: null },
    ...overrides,
  };
}

describe('groupThousands and formatPercent', () => {
  it.each([
    ['0', '0'],
    ['999', '999'],
    ['1000', '1,000'],
    ['1234567.891', '1,234,567.891'],
    ['-1000000', '-1,000,000'],
    ['12345678901234567890.12', '12,345,678,901,234,567,890.12'],
    ['not a number', 'not a number'],
  ])('groups %s as %s, on the decimal string', (input, output) => {
    expect(groupThousands(input)).toBe(output);
  });

  it.each([
    ['0.258065', '25.81%'],
    ['0.016529', '1.65%'],
    ['0.000005', '0.00%'],
    ['0.000050', '0.01%'],
    ['1.000000', '100.00%'],
  ])('shows the rate %s as %s', (input, output) => {
    expect(formatPercent(input)).toBe(output);
  });
});

describe('rankLargest', () => {
  const stripe = digest('stripe', [
    discrepancy('stripe', 'ch_1', '900.00', 'USD'),
    discrepancy('stripe', 'ch_2', '800.00', 'USD'),
  ]);
  const square = digest('square', [discrepancy('square', 'sq_1', '300.000', 'KWD')]);
  const paypal = digest('paypal', [
    discrepancy('paypal', 'pp_1', '100000', 'JPY'),
    discrepancy('paypal', 'pp_2', '50.00', 'GBP'),
  ]);

  it('ranks across processors by the converted amount, currencies without a rate last', () => {
    const ranked = rankLargest([stripe, paypal, square], RATES);
    expect(ranked.converted).toBe(true);
    expect(ranked.rows.map((r) => [r.rank, r.d.transactionId, r.reporting])).toEqual([
      [1, 'sq_1', '≈ 981.00 USD'], // 300 KWD × 3.27
      [2, 'ch_1', '≈ 900.00 USD'],
      [3, 'ch_2', '≈ 800.00 USD'],
      [4, 'pp_1', '≈ 670.00 USD'], // 100,000 JPY × 0.0067
      [5, 'pp_2', null], // no GBP rate
    ]);
  });

  it('uses each discrepancy’s business date to pick the rate', () => {
    const early = digest(
      'square',
      [discrepancy('square', 'sq_old', '300.000', 'KWD', '2025-09-15')],
      {
        businessDate: '2025-09-15',
      },
    );
    expect(rankLargest([early], RATES).rows.map((r) => r.reporting)).toEqual(['≈ 960.00 USD']);
  });

  it('keeps the 10 largest across every processor', () => {
    const many = digest(
      'adyen',
      Array.from({ length: 12 }, (_, i) => discrepancy('adyen', `ad_${i}`, `${i + 1}.00`, 'USD')),
    );
    const ranked = rankLargest([many, square], RATES);
    expect(ranked.rows.map((r) => r.d.transactionId)).toEqual([
      'sq_1',
      'ad_11',
      'ad_10',
      'ad_9',
      'ad_8',
      'ad_7',
      'ad_6',
      'ad_5',
      'ad_4',
      'ad_3',
    ]);
  });

  it('without rates, groups by processor and currency and never compares currencies', () => {
    const ranked = rankLargest([stripe, paypal, square], null);
    expect(ranked.converted).toBe(false);
    expect(ranked.rows.map((r) => [r.group, r.rank, r.d.transactionId, r.reporting])).toEqual([
      ['stripe USD', 1, 'ch_1', null],
      ['stripe USD', 2, 'ch_2', null],
      ['paypal GBP', 1, 'pp_2', null],
      ['paypal JPY', 1, 'pp_1', null],
      ['square KWD', 1, 'sq_1', null],
    ]);
  });
});

describe('risk, at stake and links in both parts', () => {
  it('shows thousands separators, the converted total at stake and a currency without a rate', () => {
    const d = digest('paypal', [], {
      discrepancyAmounts: { GBP: '1000.00', JPY: '1500000' },
      riskLevel: 'MEDIUM',
    });
    const text = renderEmailText([d], '2025-10-01T01:00:00Z', RATES);
    expect(text).toContain(
      [
        '  paypal 2025-09-30 — MEDIUM risk',
        '    matched       1,234,000',
        '    discrepancies 0 (0.05%)',
        '    at stake      1,000.00 GBP, 1,500,000 JPY (≈ 10,050.00 USD + GBP (no rate))',
        '    inputs        1,234,567 processor, 1,234,560 ledger transactions',
      ].join('\n'),
    );
    const html = renderEmailHtml([d], '2025-10-01T01:00:00Z', undefined, RATES);
    expect(html).toContain(
      '1,500,000 JPY<br><span style="color:#57606a;font-size:12px">≈ 10,050.00 USD + GBP (no rate)</span>',
    );
  });

  it('says when the presigned links expire, and that the credentials cut them short', () => {
    const d = digest('stripe', [], {
      links: {
        kind: 'presigned',
        csv: 'https://bucket.s3.amazonaws.com/a.csv?X-Amz-Signature=x&a=1',
        json: null,
        expiresAt: '2025-10-01T06:30:00.000Z',
        limitedByCredentials: true,
      },
    });
    const note =
      'Links expire 2025-10-01 06:30 UTC (when the AWS credentials that signed them expire; run `recon deliver RUN_ID` for fresh links).';
    const text = renderEmailText([d], '2025-10-01T01:00:00Z');
    expect(text.slice(text.indexOf('REPORTS'))).toBe(
      [
        'REPORTS',
        `  ${note}`,
        '  stripe 2025-09-30 CSV: https://bucket.s3.amazonaws.com/a.csv?X-Amz-Signature=x&a=1',
        '',
        'Generated 2025-10-01T01:00:00Z by recon.',
      ].join('\n'),
    );
    const html = renderEmailHtml([d], '2025-10-01T01:00:00Z');
    expect(html).toContain(`${note}</p>`);
    expect(html).toContain(
      '<li>stripe 2025-09-30: <a href="https://bucket.s3.amazonaws.com/a.csv?X-Amz-Signature=x&amp;a=1">CSV</a> </li>',
    );
  });
});

describe('presignedUrlExpiry', () => {
  const now = Date.parse('2025-10-01T01:00:00Z');

  it('is the requested lifetime with long-lived keys', () => {
    expect(presignedUrlExpiry(now, 86_400, undefined)).toEqual({
      expiresAt: new Date('2025-10-02T01:00:00Z'),
      limitedByCredentials: false,
    });
  });

  it('is the credentials’ expiration when they expire first (ECS task role, STS)', () => {
    expect(presignedUrlExpiry(now, 86_400, new Date('2025-10-01T06:30:00Z'))).toEqual({
      expiresAt: new Date('2025-10-01T06:30:00Z'),
      limitedByCredentials: true,
    });
  });

  it('is the requested lifetime when the credentials outlive it', () => {
    expect(presignedUrlExpiry(now, 3600, new Date('2025-10-01T06:30:00Z'))).toEqual({
      expiresAt: new Date('2025-10-01T02:00:00Z'),
      limitedByCredentials: false,
    });
  });

  it("ends with each completed run's audit head, in both parts, to keep outside the database", () => {
    const head = 'a'.repeat(64);
    const digests = [digest('stripe', [], { auditHead: head }), digest('paypal', [])];
    const footer = `Generated 2025-10-01T01:00:00Z by recon. Audit heads (recon db verify-audit --expect-head): stripe 2025-09-30 ${head}.`;
    const text = renderEmailText(digests, '2025-10-01T01:00:00Z');
    expect(text.slice(text.lastIndexOf('\n') + 1)).toBe(footer);
    expect(renderEmailHtml(digests, '2025-10-01T01:00:00Z')).toContain(`${footer}</p>`);
  });
});

describe('the e-mail leads with the breaks that need action', () => {
  const brk = (over: Partial<DigestBreak>): DigestBreak => ({
    breakId: 'abcdef01-0000-4000-8000-000000000000',
    transactionId: 'ch_1',
    kind: 'missing_in_internal',
    amount: '10.00',
    currency: 'USD',
    originDate: '2025-09-30',
    ageDays: 0,
    ...over,
  });
  const stripe: DigestBreaks = {
    escalateDays: 7,
    newCount: 1,
    openCount: 4,
    escalatedCount: 2,
    opened: [brk({})],
    open: [
      brk({}),
      brk({
        breakId: 'bbbbbbbb-1',
        transactionId: 'ch_old',
        ageDays: 40,
        originDate: '2025-08-21',
        amount: '5.50',
      }),
      brk({
        breakId: 'cccccccc-1',
        transactionId: 'ch_eur',
        kind: 'amount_mismatch',
        ageDays: 9,
        originDate: '2025-09-21',
        amount: '1.10',
        currency: 'EUR',
      }),
      brk({
        breakId: 'dddddddd-1',
        transactionId: 'ch_jpy',
        ageDays: 3,
        originDate: '2025-09-27',
        amount: '1000',
        currency: 'JPY',
      }),
    ],
    resolved: [
      brk({
        breakId: 'eeeeeeee-1',
        transactionId: 'ch_late',
        kind: 'missing_in_processor',
        originDate: '2025-09-29',
        ageDays: 1,
        resolution: 'late_arrival',
        lagDays: 1,
      }),
    ],
  };
  const paypal: DigestBreaks = {
    escalateDays: 7,
    newCount: 2,
    openCount: 2,
    escalatedCount: 0,
    opened: [
      brk({ breakId: 'ffffffff-1', transactionId: 'PAY-1', amount: '0.10' }),
      brk({ breakId: 'ffffffff-2', transactionId: 'PAY-2', amount: '0.20' }),
    ],
    open: [
      brk({ breakId: 'ffffffff-1', transactionId: 'PAY-1', amount: '0.10' }),
      brk({ breakId: 'ffffffff-2', transactionId: 'PAY-2', amount: '0.20' }),
    ],
    resolved: [],
  };

  it('summarises new, open (escalated) and resolved breaks of every run in the subject', () => {
    expect(
      renderSubject([
        digest('stripe', [], { breaks: stripe }),
        digest('paypal', [], { breaks: paypal }),
      ]),
    ).toBe('[recon] 2025-09-30: 3 new breaks, 6 open (2 > 7 days), 1 resolved');
    expect(
      renderSubject([digest('stripe', [], { breaks: { ...stripe, opened: [], newCount: 1 } })]),
    ).toBe('[recon] 2025-09-30: 1 new break, 4 open (2 > 7 days), 1 resolved');
  });

  it('keeps a failed run first in the subject, then the breaks of the others', () => {
    expect(
      renderSubject([
        digest('stripe', [], { breaks: stripe }),
        digest('paypal', [], { status: 'failed', errorLabel: 'input missing', error: 'x' }),
      ]),
    ).toBe(
      '[recon] 2025-09-30 — FAILED: paypal input missing; 1 new break, 4 open (2 > 7 days), 1 resolved',
    );
  });

  it('keeps the discrepancy subject for reports without breaks', () => {
    expect(renderSubject([digest('stripe', [])])).toBe(
      '[recon] 2025-09-30 — 1 processor, 0 discrepancies, LOW risk',
    );
  });

  it('lists new breaks, escalations, open breaks by age with amounts per currency and resolved ones, first (whole text)', () => {
    const text = renderEmailText(
      [digest('stripe', [], { breaks: stripe })],
      '2025-10-01T01:00:00Z',
    );
    expect(text.slice(0, text.indexOf('OVERVIEW'))).toBe(
      [
        'Reconciliation 2025-09-30: 1 new break, 4 open (2 > 7 days), 1 resolved',
        '',
        'NEEDS ACTION',
        '  stripe 2025-09-30: 1 new break, 4 open (2 > 7 days), 1 resolved',
        '    New breaks (1)',
        '      missing in internal ch_1: 10.00 USD, opened 2025-09-30 [break abcdef01]',
        '    Escalations: open longer than 7 days (2)',
        '      missing in internal ch_old: 5.50 USD, open 40 days (since 2025-08-21) [break bbbbbbbb]',
        '      amount mismatch ch_eur: 1.10 EUR, open 9 days (since 2025-09-21) [break cccccccc]',
        '    Resolved today (1)',
        '      missing in processor ch_late: 10.00 USD, late arrival after 1 day [break eeeeeeee]',
        '    Open breaks by age (days: count, amount per currency)',
        '      0-1        1  10.00 USD',
        '      2-3        1  1,000 JPY',
        '      4-7        0  -',
        '      8-30       1  1.10 EUR',
        '      31+        1  5.50 USD',
        '',
        '',
      ].join('\n'),
    );
  });

  it('sums the amounts of a bucket exactly per currency and cuts long lists', () => {
    const many = Array.from({ length: BREAK_LINES + 3 }, (_, n) =>
      brk({
        breakId: `0000000${n % 10}-x`,
        transactionId: `t${String(n).padStart(2, '0')}`,
        amount: '0.10',
      }),
    );
    const text = renderEmailText(
      [
        digest('square', [], {
          breaks: { ...stripe, newCount: many.length, opened: many, open: many, resolved: [] },
        }),
      ],
      '2025-10-01T01:00:00Z',
    );
    expect(text).toContain(
      '      … and 3 more (open_breaks_square_2025-09-30.csv)\n    Escalations',
    );
    expect(text).toContain('      0-1       13  1.30 USD\n');
    expect(text.match(/opened 2025-09-30/g)).toHaveLength(BREAK_LINES);
  });

  it('renders the same section in the HTML part, escaped', () => {
    const hostile = { ...stripe, opened: [brk({ transactionId: '<img src=x>' })] };
    const html = renderEmailHtml(
      [digest('stripe', [], { breaks: hostile })],
      '2025-10-01T01:00:00Z',
    );
    expect(html).toContain(
      '<h3 style="font-size:15px;margin:16px 0 4px 0">Needs action: stripe 2025-09-30</h3>',
    );
    expect(html).toContain(
      'missing in internal &lt;img src=x&gt;: 10.00 USD, opened 2025-09-30 [break abcdef01]',
    );
    expect(html).not.toContain('<img src=x>');
    expect(html.indexOf('Needs action')).toBeLessThan(html.indexOf('Overview'));
    expect(html).toContain(
      '<td style="padding:6px 8px;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top;font-size:13px">31+</td>',
    );
  });
});

describe('the Payouts section', () => {
  const night = digest('stripe', [], { settlement: STRIPE_NIGHT_DIGEST });
  const section = (text: string): string =>
    text.slice(text.indexOf('PAYOUTS'), text.indexOf('\n\n', text.indexOf('PAYOUTS')) + 1);

  it('tells per processor how many payouts balance, reached the bank and which do not, by how much (whole section)', () => {
    const text = renderEmailText([night], '2025-10-07T01:00:00Z');
    expect(section(text)).toBe(
      [
        'PAYOUTS',
        '  stripe: 4 payouts, 3 in the bank, 1 mismatch (po_2 +20.00 USD), 1 parent missing (po_9, 1 child, 38.80 USD), 1 unattributable (po_m 5,000 JPY), 1 missing in the bank (po_3 236.00 USD), 1 unmatched bank credit (B4 123.45 USD)',
        '',
      ].join('\n'),
    );
    expect(text.indexOf('OVERVIEW')).toBeLessThan(text.indexOf('PAYOUTS'));
    expect(text.indexOf('PAYOUTS')).toBeLessThan(text.indexOf('REPORTS'));
  });

  it('reads like the issue’s example for a simple night, and says when no bank statement was read', () => {
    const simple = {
      bankRead: true,
      payouts: [
        payoutDigest(
          'po_1',
          'group_matched',
          '10.00',
          '10.00',
          1,
          '0.00',
          'payout_matched',
          '0.00',
        ),
        payoutDigest(
          'po_2',
          'group_matched',
          '10.00',
          '10.00',
          1,
          '0.00',
          'payout_matched',
          '0.00',
        ),
        payoutDigest(
          'po_123',
          'group_sum_mismatch',
          '80.00',
          '100.00',
          4,
          '20.00',
          'payout_pending',
          null,
        ),
      ],
      unmatchedCredits: [],
    };
    const noBank = {
      bankRead: false,
      payouts: [
        payoutDigest('sq_1', 'group_incomplete', '50.00', '30.00', 1, '-20.00', null, null),
      ],
      unmatchedCredits: [],
    };
    const text = renderEmailText(
      [
        digest('stripe', [], { settlement: simple }),
        digest('paypal', []),
        digest('square', [], { settlement: noBank }),
      ],
      '2025-10-07T01:00:00Z',
    );
    expect(section(text)).toBe(
      [
        'PAYOUTS',
        '  stripe: 3 payouts, 2 in the bank, 1 mismatch (po_123 +20.00 USD), 1 not in the bank yet (po_123 80.00 USD)',
        '  square: 1 payout, no bank statement, 1 incomplete (sq_1 -20.00 USD)',
        '',
      ].join('\n'),
    );
  });

  it('lists the open settlement breaks of earlier dates with their age (payout breaks across days)', () => {
    const carried = {
      bankRead: true,
      payouts: [],
      unmatchedCredits: [],
      carriedBreaks: ['po_1Sample1013A missing in bank, 4 days'],
    };
    const text = renderEmailText(
      [digest('stripe', [], { settlement: carried })],
      '2025-10-18T01:00:00Z',
    );
    expect(section(text)).toBe(
      [
        'PAYOUTS',
        '  stripe: 0 payouts, 0 in the bank, 1 open break from earlier dates (po_1Sample1013A missing in bank, 4 days)',
        '',
      ].join('\n'),
    );
  });

  it('names at most three payouts per part, and each run’s date when the e-mail covers several', () => {
    const many = Array.from({ length: 5 }, (_, n) =>
      payoutDigest(
        `po_${n}`,
        'group_sum_mismatch',
        '1.00',
        '2.00',
        1,
        '1.00',
        'payout_missing_in_bank',
        null,
      ),
    );
    const text = renderEmailText(
      [
        digest('stripe', [], {
          settlement: { bankRead: true, payouts: many, unmatchedCredits: [] },
        }),
        digest('stripe', [], {
          businessDate: '2025-10-01',
          settlement: { bankRead: true, payouts: [], unmatchedCredits: [] },
        }),
      ],
      '2025-10-07T01:00:00Z',
    );
    expect(section(text)).toBe(
      [
        'PAYOUTS',
        '  stripe 2025-09-30: 5 payouts, 0 in the bank, 5 mismatches (po_0 +1.00 USD, po_1 +1.00 USD, po_2 +1.00 USD, and 2 more), 5 missing in the bank (po_0 1.00 USD, po_1 1.00 USD, po_2 1.00 USD, and 2 more)',
        '  stripe 2025-10-01: 0 payouts, 0 in the bank',
        '',
      ].join('\n'),
    );
  });

  it('renders the same line in the HTML part, problems in red, escaped', () => {
    const hostile = {
      ...STRIPE_NIGHT_DIGEST,
      unmatchedCredits: [{ reference: '<b>x</b>', amount: '1.00', currency: 'USD' }],
    };
    const html = renderEmailHtml(
      [digest('stripe', [], { settlement: hostile })],
      '2025-10-07T01:00:00Z',
    );
    const red = (text: string): string =>
      `<span style="color:#cf222e;font-weight:bold">${text}</span>`;
    expect(html).toContain(
      '<h3 style="font-size:15px;margin:16px 0 4px 0">Payouts</h3><ul class="payouts" style="font-size:13px;padding-left:20px">' +
        '<li style="overflow-wrap:break-word"><strong>stripe</strong>: 4 payouts, 3 in the bank, ' +
        `${red('1 mismatch (po_2 +20.00 USD)')}, ${red('1 parent missing (po_9, 1 child, 38.80 USD)')}, ` +
        `1 unattributable (po_m 5,000 JPY), ${red('1 missing in the bank (po_3 236.00 USD)')}, ` +
        `${red('1 unmatched bank credit (&lt;b&gt;x&lt;/b&gt; 1.00 USD)')}</li></ul>`,
    );
    expect(html.indexOf('Overview')).toBeLessThan(html.indexOf('Payouts'));
  });

  it('links the payouts file under Reports for a run with a settlement only', () => {
    const links = {
      kind: 'local',
      csv: '/r/a.csv',
      json: '/r/a.json',
      payouts: '/r/p.csv',
    } as const;
    const text = renderEmailText(
      [
        digest('stripe', [], { settlement: STRIPE_NIGHT_DIGEST, links }),
        digest('paypal', [], { links }),
      ],
      '2025-10-07T01:00:00Z',
    );
    expect(text.slice(text.indexOf('REPORTS'), text.indexOf('\n\n', text.indexOf('REPORTS')))).toBe(
      [
        'REPORTS',
        '  stripe 2025-09-30 CSV: /r/a.csv',
        '  stripe 2025-09-30 JSON: /r/a.json',
        '  stripe 2025-09-30 payouts CSV: /r/p.csv',
        '  paypal 2025-09-30 CSV: /r/a.csv',
        '  paypal 2025-09-30 JSON: /r/a.json',
      ].join('\n'),
    );
    const html = renderEmailHtml(
      [
        digest('stripe', [], {
          settlement: STRIPE_NIGHT_DIGEST,
          links: { ...links, kind: 'presigned' },
        }),
      ],
      '2025-10-07T01:00:00Z',
    );
    expect(html).toContain(
      '<li>stripe 2025-09-30: <a href="/r/a.csv">CSV</a> <a href="/r/a.json">JSON</a> <a href="/r/p.csv">payouts CSV</a></li>',
    );
  });

  it('needs action for mismatches, orphans and bank problems; not for incomplete, unattributable or pending payouts', () => {
    const only = (...payouts: DigestPayout[]): DigestSettlement => ({
      bankRead: true,
      payouts,
      unmatchedCredits: [],
    });
    expect(payoutsNeedAction(STRIPE_NIGHT_DIGEST)).toBe(true);
    expect(
      payoutsNeedAction(
        only(
          payoutDigest('a', 'group_matched', '1.00', '1.00', 1, '0.00', 'payout_matched', '0.00'),
          payoutDigest('b', 'group_incomplete', '2.00', '1.00', 1, '-1.00', 'payout_pending', null),
          payoutDigest('c', 'unattributable', '3.00', '0.00', 0, null, 'payout_pending', null),
        ),
      ),
    ).toBe(false);
    expect(
      payoutsNeedAction(
        only(
          payoutDigest('d', 'group_matched', '1.00', '1.00', 1, '0.00', 'payout_ambiguous', null),
        ),
      ),
    ).toBe(true);
    expect(
      payoutsNeedAction({
        ...only(),
        unmatchedCredits: [{ reference: 'B9', amount: '1.00', currency: 'USD' }],
      }),
    ).toBe(true);
  });

  it('is absent when no run has a settlement, and the e-mail is as before', () => {
    const without = digest('stripe', []);
    const text = renderEmailText([without], '2025-10-07T01:00:00Z');
    const html = renderEmailHtml([without], '2025-10-07T01:00:00Z');
    expect(text).not.toContain('PAYOUTS');
    expect(html).not.toContain('Payouts');
    expect(renderEmailText([{ ...without, settlement: null }], '2025-10-07T01:00:00Z')).toBe(text);
    // A failed run's settlement is never shown (it has no report).
    const failed = digest('stripe', [], { status: 'failed', settlement: STRIPE_NIGHT_DIGEST });
    expect(renderEmailText([failed], '2025-10-07T01:00:00Z')).not.toContain('PAYOUTS');
  });
});

describe('runs with rules-file tiers (issue #14)', () => {
  const tiered = digest('stripe', [], {
    processorTransactions: 1_204,
    internalTransactions: 1_203,
    counts: {
      matched: 1_190,
      missing_in_internal: 1,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 2,
      matched_with_variance: 4,
      ambiguous: 3,
    },
    discrepancyCount: 10,
    discrepancyRate: '0.008333',
    discrepancyAmounts: { USD: '150.04' },
    matches: [
      { tier: 'id', count: 1_180, amount: { USD: '118000.00' }, abs_variance: {} },
      { tier: 'by_reference', count: 10, amount: { USD: '1000.00' }, abs_variance: {} },
      {
        tier: 'near_amount',
        count: 4,
        amount: { JPY: '1500', USD: '399.97' },
        abs_variance: { JPY: '2', USD: '0.03' },
      },
      { tier: 'same_amount', count: 0, amount: {}, abs_variance: {} },
    ],
  });

  it('lists each tier’s pairs, amounts and |variance| per currency, and the tier kinds (whole text)', () => {
    expect(renderEmailText([tiered], '2025-10-01T01:00:00Z')).toBe(
      [
        'Reconciliation 2025-09-30 — 1 processor, 10 discrepancies, LOW risk',
        '',
        'OVERVIEW',
        '  stripe 2025-09-30 — LOW risk',
        '    matched       1,190',
        '    discrepancies 10 (0.83%): 1 missing in internal, 2 fee mismatch, 4 matched with variance, 3 ambiguous',
        '    at stake      150.04 USD',
        '    matches       id 1,180: USD 118,000.00, |variance| 0.00',
        '                  by_reference 10: USD 1,000.00, |variance| 0.00',
        '                  near_amount 4: JPY 1,500, |variance| 2; USD 399.97, |variance| 0.03',
        '                  same_amount 0',
        '    inputs        1,204 processor, 1,203 ledger transactions',
        '',
        'REPORTS',
        '',
        'Generated 2025-10-01T01:00:00Z by recon.',
      ].join('\n'),
    );
  });

  it('shows the same tier lines under matched in the HTML overview, escaped', () => {
    const html = renderEmailHtml([tiered], '2025-10-01T01:00:00Z');
    const small = '<br><span style="color:#57606a;font-size:12px">';
    expect(html).toContain(
      `1,190<span class="lbl"> matched</span>${small}id 1,180: USD 118,000.00, |variance| 0.00</span>` +
        `${small}by_reference 10: USD 1,000.00, |variance| 0.00</span>` +
        `${small}near_amount 4: JPY 1,500, |variance| 2; USD 399.97, |variance| 0.03</span>` +
        `${small}same_amount 0</span></td>`,
    );
  });

  it('says nothing about tiers for a run without them', () => {
    const text = renderEmailText([digest('stripe', [])], '2025-10-01T01:00:00Z');
    expect(text).not.toContain('matches');
    expect(text).toContain('    matched       1,234,000\n    discrepancies 0 (0.05%)\n');
  });
});
