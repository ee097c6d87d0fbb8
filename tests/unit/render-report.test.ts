import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { DataQualityIssue } from '../../src/domain/data-quality';
import type { Transaction } from '../../src/domain/transaction';
import { DEFAULT_FEE_RULES } from '../../src/engine/fee-rules';
import { matchTransactions } from '../../src/engine/match-transactions';
import type { ProcessorRules, ToleranceTier } from '../../src/engine/rules';
import { applyTiers } from '../../src/engine/tiers';
import { summarizeReconciliation } from '../../src/engine/summarize';
import {
  breakKeyOf,
  OPEN_BREAKS_CSV_COLUMNS,
  REPORT_CSV_COLUMNS,
  RULES_CSV_COLUMNS,
  renderOpenBreaksCsv,
  renderReportCsv,
  renderReportJson,
  type ReportBreak,
  type ReportBreaks,
  type ReportContext,
  type ReportInput,
} from '../../src/reports/render-report';
import { jsonChunks } from '../../src/reports/json-chunks';
import { escapeSpreadsheetText } from '../../src/reports/spreadsheet-safe';
import { makeTransaction as tx } from './support/make-transaction';

const FIXTURES = join(__dirname, '..', 'fixtures', 'csv-injection');
const PAYLOADS = readFileSync(join(FIXTURES, 'payloadsallthethings-csv-injection.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.length > 0);
const OWASP = JSON.parse(
  readFileSync(join(FIXTURES, 'owasp-csv-injection-cases.json'), 'utf8'),
) as {
  dangerous_leading_characters: string[];
  escaping_examples: { input: string; escaped_output: string }[];
};
const DANGEROUS = ['=', '+', '-', '@', '\t', '\r', '\n', '\0'];

function input(
  processor: Transaction[],
  internal: Transaction[],
  issues: DataQualityIssue[] = [],
): ReportInput {
  const match = matchTransactions(processor, internal);
  return { match, summary: summarizeReconciliation(match, processor, internal, 0), issues };
}

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

function renderCsv(report: ReportInput, rowsPerChunk?: number): string {
  return [...renderReportCsv(report, rowsPerChunk)].join('');
}

function parseCsv(text: string): string[][] {
  return parse(text);
}

describe('escapeSpreadsheetText', () => {
  it('has 11 payloads in the PayloadsAllTheThings extract', () => {
    expect(PAYLOADS).toHaveLength(11);
  });

  it('prefixes every payload that starts with a dangerous character with a quote', () => {
    const dangerous = PAYLOADS.filter((p) => DANGEROUS.includes(p[0] as string));
    expect(dangerous).toHaveLength(10);
    for (const payload of dangerous) expect(escapeSpreadsheetText(payload)).toBe(`'${payload}`);
  });

  it('leaves a payload that does not start with a dangerous character unchanged', () => {
    const benign = PAYLOADS.filter((p) => !DANGEROUS.includes(p[0] as string));
    expect(benign).toEqual(['DDE ("cmd";"/C calc";"!A0")A0']);
    expect(escapeSpreadsheetText(benign[0] as string)).toBe(benign[0]);
  });

  it.each(OWASP.dangerous_leading_characters.concat(['\0']))(
    'prefixes text starting with %j',
    (char) => {
      expect(escapeSpreadsheetText(`${char}1+2`)).toBe(`'${char}1+2`);
    },
  );

  it('leaves ordinary text, empty text and dangerous characters after the first unchanged', () => {
    expect(escapeSpreadsheetText('Coffee')).toBe('Coffee');
    expect(escapeSpreadsheetText('')).toBe('');
    expect(escapeSpreadsheetText('a=1+2')).toBe('a=1+2');
    expect(escapeSpreadsheetText("'=1")).toBe("'=1");
  });
});

describe('renderReportCsv', () => {
  it('starts with a quoted header row of the report columns', () => {
    const csv = renderCsv(input([], []));
    expect(csv).toBe(`${REPORT_CSV_COLUMNS.map((c) => `"${c}"`).join(',')}\n`);
  });

  it.each(OWASP.escaping_examples.map((e) => [e.input, e.escaped_output]))(
    'writes the OWASP input %j as the cell %s',
    (payload, escaped) => {
      const csv = renderCsv(input([tx({ transactionId: 'a', description: payload })], []));
      const rows = csv.split('\n');
      // The description, then the four (empty, no database) break columns.
      expect(rows[1]?.endsWith(`,${escaped},,,,`)).toBe(true);
      expect(parseCsv(csv)[1]?.[14]).toBe(`'${payload}`);
    },
  );

  it('neutralises every payload in every input-derived text cell and keeps the text recoverable', () => {
    const dangerous = [...PAYLOADS, '\0=1+1', '-2+3', '+SUM(A1)', '@A1', '\t=1', '\r=1', '\n=1'];
    const processor = dangerous.map((payload, n) =>
      tx({
        transactionId: payload + String(n),
        merchantId: payload,
        rawStatus: payload,
        status: 'unknown',
        description: payload,
        line: n + 2,
      }),
    );
    const csv = renderCsv(input(processor, []));
    const [header, ...rows] = parseCsv(csv);
    expect(header).toEqual([...REPORT_CSV_COLUMNS]);
    expect(rows).toHaveLength(dangerous.length);
    const col = (name: (typeof REPORT_CSV_COLUMNS)[number]) => REPORT_CSV_COLUMNS.indexOf(name);
    rows.forEach((row, n) => {
      const payload = dangerous[n] as string;
      const unsafe = DANGEROUS.includes(payload[0] as string);
      const expected = unsafe ? `'${payload}` : payload;
      expect(row).toHaveLength(REPORT_CSV_COLUMNS.length);
      expect(row[col('transaction_id')]).toBe(unsafe ? `'${payload}${n}` : `${payload}${n}`);
      expect(row[col('merchant_id')]).toBe(expected);
      expect(row[col('processor_status')]).toBe(expected);
      expect(row[col('description')]).toBe(expected);
      // The intended text is the cell minus our one-character prefix.
      expect(unsafe ? row[col('description')]?.slice(1) : row[col('description')]).toBe(payload);
      for (const cell of row) expect(DANGEROUS.includes(cell[0] ?? '')).toBe(false);
    });
  });

  it('quotes every field so separators inside free text stay inert', () => {
    const text = 'Refund, =cmd|\' /C calc\'!A0; "quoted" @x';
    const csv = renderCsv(input([tx({ transactionId: 'a', description: text })], []));
    const line = csv.split('\n')[1] as string;
    expect(line.startsWith('"missing_in_internal","a","10.00","USD"')).toBe(true);
    expect(line.endsWith(',"Refund, =cmd|\' /C calc\'!A0; ""quoted"" @x",,,,')).toBe(true);
    expect(parseCsv(csv)[1]?.[14]).toBe(text);
  });

  it('writes amounts and differences we format ourselves without a prefix, refunds negative', () => {
    const csv = renderCsv(
      input(
        [
          tx({ transactionId: 'a', amountMinor: -1250n }),
          tx({ transactionId: 'j', amountMinor: -1500n, currency: 'JPY' }),
        ],
        [
          tx({ transactionId: 'a', amountMinor: 1000n }),
          tx({ transactionId: 'j', amountMinor: 1500n, currency: 'JPY' }),
        ],
      ),
    );
    expect(
      parseCsv(csv)
        .slice(1)
        .map((r) => r.slice(0, 7)),
    ).toEqual([
      ['amount_mismatch', 'a', '-12.50', 'USD', '10.00', 'USD', '-22.50'],
      ['amount_mismatch', 'j', '-1500', 'JPY', '1500', 'JPY', '-3000'],
    ]);
    expect(csv).toContain('"-12.50"');
    expect(csv).not.toContain("'-12.50");
  });

  it('writes one complete row per discrepancy with sides, lines and UTC timestamps', () => {
    const csv = renderCsv(
      input(
        [tx({ transactionId: 'p', line: 7, createdAtMs: Date.parse('2025-09-30T14:03:00+02:00') })],
        [
          tx({
            transactionId: 'i',
            line: 9,
            amountMinor: 1234n,
            currency: 'KWD',
            rawStatus: 'posted',
          }),
        ],
      ),
    );
    expect(parseCsv(csv).slice(1)).toEqual([
      [
        'missing_in_internal',
        'p',
        '10.00',
        'USD',
        '',
        '',
        '',
        'settled',
        '',
        'merch_1',
        '2025-09-30T12:03:00.000Z',
        'processor',
        '7',
        '',
        '',
        '',
        '',
        '',
        '',
      ],
      [
        'missing_in_processor',
        'i',
        '',
        '',
        '1.234',
        'KWD',
        '',
        '',
        'posted',
        'merch_1',
        '2025-09-30T12:00:00.000Z',
        'internal',
        '',
        '9',
        '',
        '',
        '',
        '',
        '',
      ],
    ]);
  });

  it('yields the same CSV whatever the chunk size', () => {
    const processor = Array.from({ length: 7 }, (_, n) => tx({ transactionId: `t${n}` }));
    const report = input(processor, []);
    const chunks = [...renderReportCsv(report, 3)];
    expect(chunks).toHaveLength(1 + 3);
    expect(chunks.join('')).toBe(renderCsv(report, 5000));
  });
});

describe('renderReportJson', () => {
  const context: ReportContext = {
    runId: 'run-1',
    businessDate: '2025-09-30',
    processor: 'stripe',
    timeZone: 'UTC',
    generatedAt: '2025-10-01T02:00:00.000Z',
    appVersion: '0.1.0',
    dryRun: true,
    sources: {
      processor: { location: 'p.csv', rows: 4, invalidRows: 1 },
      internal: { location: 'i.csv', rows: 2, invalidRows: 0 },
    },
  };
  const issue: DataQualityIssue = {
    side: 'processor',
    location: 'p.csv',
    check: 'invalid_row',
    severity: 'error',
    line: 4,
    field: 'amount',
    reason: 'amount is empty',
    value: '',
    count: null,
  };

  function render() {
    const processor = [
      tx({ transactionId: 'm', amountMinor: 1000n }),
      tx({
        transactionId: 'miss',
        amountMinor: -1250n,
        feeMinor: 30n,
        description: 'refund',
        line: 3,
      }),
      tx({
        transactionId: 'diff',
        amountMinor: 1500n,
        currency: 'JPY',
        line: 4,
        rawStatus: 'succeeded',
      }),
    ];
    const internal = [
      tx({ transactionId: 'm', amountMinor: 1000n }),
      tx({
        transactionId: 'diff',
        amountMinor: 1400n,
        currency: 'JPY',
        line: 3,
        rawStatus: 'posted',
      }),
    ];
    const report = input(processor, internal, [issue]);
    return JSON.parse(JSON.stringify(renderReportJson(context, report))) as Record<string, unknown>;
  }

  it('has exactly the documented top-level sections', () => {
    expect(Object.keys(render())).toEqual([
      'report_metadata',
      'reconciliation_summary',
      'missing_transactions',
      'discrepancies',
      'data_quality',
      'financial_impact',
      'breaks',
      'resolved_breaks',
      'open_breaks',
    ]);
  });

  it('writes metadata from the context and the currency table version', () => {
    expect(render().report_metadata).toEqual({
      generated_at: '2025-10-01T02:00:00.000Z',
      run_id: 'run-1',
      version: '0.1.0',
      dry_run: true,
      time_zone: 'UTC',
      currency_table: 'datasets/currency-codes@1434fbe',
    });
  });

  it('summarizes counts and per-currency volumes as decimal strings', () => {
    expect(render().reconciliation_summary).toEqual({
      date: '2025-09-30',
      processor: 'stripe',
      processor_transactions: 3,
      internal_transactions: 2,
      invalid_rows: 1,
      counts: {
        matched: 1,
        missing_in_internal: 1,
        missing_in_processor: 0,
        amount_mismatch: 1,
        currency_mismatch: 0,
        status_mismatch: 0,
        duplicate: 0,
        fee_mismatch: 0,
        basis_mismatch_suspected: 0,
      },
      discrepancy_count: 2,
      processor_volume: { JPY: '1500', USD: '-2.50' },
      internal_volume: { JPY: '1400', USD: '10.00' },
      discrepancy_amounts: { JPY: '100', USD: '12.50' },
      fees: {
        JPY: { gross: '1500', fees: '0', net: '1500', effective_rate_bps: '0.00' },
        USD: { gross: '-2.50', fees: '0.30', net: '-2.80', effective_rate_bps: null },
      },
    });
  });

  it('lists processor rows missing from the ledger with money as decimal strings', () => {
    expect(render().missing_transactions).toEqual([
      {
        transaction_id: 'miss',
        amount: '-12.50',
        currency: 'USD',
        merchant_id: 'merch_1',
        created_at: '2025-09-30T12:00:00.000Z',
      },
    ]);
  });

  it('describes every discrepancy with both sides and the difference', () => {
    expect(render().discrepancies).toEqual([
      {
        kind: 'missing_in_internal',
        transaction_id: 'miss',
        side: 'processor',
        merchant_id: 'merch_1',
        created_at: '2025-09-30T12:00:00.000Z',
        difference: null,
        processor: {
          amount: '-12.50',
          currency: 'USD',
          fee: '0.30',
          status: 'settled',
          normalized_status: 'settled',
          line: 3,
        },
        internal: null,
        break_id: null,
        break_status: null,
        origin_date: null,
        age_days: null,
      },
      {
        kind: 'amount_mismatch',
        transaction_id: 'diff',
        side: 'both',
        merchant_id: 'merch_1',
        created_at: '2025-09-30T12:00:00.000Z',
        difference: '100',
        processor: {
          amount: '1500',
          currency: 'JPY',
          fee: null,
          status: 'succeeded',
          normalized_status: 'settled',
          line: 4,
        },
        internal: {
          amount: '1400',
          currency: 'JPY',
          fee: null,
          status: 'posted',
          normalized_status: 'settled',
          line: 3,
        },
        break_id: null,
        break_status: null,
        origin_date: null,
        age_days: null,
      },
    ]);
  });

  it('reports data quality per side and every finding', () => {
    expect(render().data_quality).toEqual({
      processor: { location: 'p.csv', rows: 4, invalidRows: 1 },
      internal: { location: 'i.csv', rows: 2, invalidRows: 0 },
      findings: [
        {
          side: 'processor',
          source: 'p.csv',
          check: 'invalid_row',
          severity: 'error',
          line: 4,
          field: 'amount',
          reason: 'amount is empty',
          value: '',
          count: null,
        },
      ],
    });
  });

  it('states the financial impact with rate, risk and compliance', () => {
    expect(render().financial_impact).toEqual({
      discrepancy_rate: '0.666667',
      risk_level: 'HIGH',
      compliance_status: 'NON_COMPLIANT',
      discrepancy_amounts: { JPY: '100', USD: '12.50' },
    });
  });

  it('contains no JSON numbers for money anywhere', () => {
    const json = JSON.stringify(render());
    expect(json).not.toMatch(/"(amount|fee|difference)":\s*-?\d/);
    expect(typeof (render().financial_impact as Record<string, unknown>).discrepancy_rate).toBe(
      'string',
    );
  });
});

describe('reports with breaks across days', () => {
  const context: ReportContext = {
    runId: 'run-2',
    businessDate: '2025-10-09',
    processor: 'stripe',
    timeZone: 'UTC',
    generatedAt: '2025-10-10T02:00:00.000Z',
    appVersion: '0.1.0',
    dryRun: false,
    sources: {
      processor: { location: 'p.csv', rows: 2, invalidRows: 0 },
      internal: { location: 'i.csv', rows: 2, invalidRows: 0 },
    },
  };
  const stored = (over: Partial<ReportBreak>): ReportBreak => ({
    breakId: 'b0000000-0000-4000-8000-000000000001',
    processor: 'stripe',
    transactionId: 'old',
    kind: 'missing_in_internal',
    side: 'processor',
    status: 'open',
    originDate: '2025-09-30',
    ageDays: 9,
    amount: '-12.50',
    currency: 'USD',
    firstSeenRunId: 'run-0',
    lastSeenRunId: 'run-1',
    resolvedRunId: null,
    resolution: null,
    lagDays: null,
    resolvedBy: null,
    ...over,
  });
  const breaks: ReportBreaks = {
    block: {
      new: 1,
      resolved: 1,
      reclassified: 1,
      pending: 0,
      open: 3,
      open_by_age: { '0-1': 1, '2-3': 0, '4-7': 1, '8-30': 1, '31+': 0 },
      older_than_escalation: 1,
      escalate_days: 7,
    },
    byIdentity: new Map([
      [
        breakKeyOf('fresh', 'processor'),
        {
          breakId: 'b0000000-0000-4000-8000-00000000000a',
          status: 'open',
          originDate: '2025-10-09',
          ageDays: 0,
        },
      ],
      [
        breakKeyOf('diff', 'both'),
        {
          breakId: 'b0000000-0000-4000-8000-00000000000b',
          status: 'open',
          originDate: '2025-10-04',
          ageDays: 5,
        },
      ],
      // Same id, other side: a one-sided break is keyed by its side too.
      [
        breakKeyOf('fresh', 'internal'),
        {
          breakId: 'b0000000-0000-4000-8000-00000000000c',
          status: 'open',
          originDate: '2025-10-01',
          ageDays: 8,
        },
      ],
    ]),
    resolved: [
      stored({
        breakId: 'b0000000-0000-4000-8000-000000000002',
        transactionId: 'late',
        kind: 'missing_in_processor',
        side: 'internal',
        status: 'resolved',
        originDate: '2025-10-08',
        ageDays: 1,
        amount: '40.00',
        resolvedRunId: 'run-2',
        lastSeenRunId: 'run-2',
        resolution: 'late_arrival',
        lagDays: 1,
        resolvedBy: 'recon',
      }),
    ],
    open: [
      stored({ transactionId: '=HYPERLINK("x")' }),
      stored({
        breakId: null,
        transactionId: 'fresh',
        originDate: '2025-10-09',
        ageDays: 0,
        amount: '5',
        currency: 'JPY',
        firstSeenRunId: null,
        lastSeenRunId: null,
      }),
    ],
  };
  function report(): ReportInput {
    const processor = [
      tx({ transactionId: 'fresh', line: 2 }),
      tx({ transactionId: 'diff', amountMinor: 1500n, line: 3 }),
    ];
    const internal = [tx({ transactionId: 'diff', amountMinor: 1400n, line: 2 })];
    return { ...input(processor, internal), breaks };
  }

  it('ends every CSV row with its break id, status, origin date and age', () => {
    const rows = parseCsv(renderCsv(report()));
    expect(rows[0]?.slice(-4)).toEqual(['break_id', 'break_status', 'origin_date', 'age_days']);
    expect(rows.slice(1).map((row) => [row[0], row[1], ...row.slice(-4)])).toEqual([
      [
        'missing_in_internal',
        'fresh',
        'b0000000-0000-4000-8000-00000000000a',
        'open',
        '2025-10-09',
        '0',
      ],
      [
        'amount_mismatch',
        'diff',
        'b0000000-0000-4000-8000-00000000000b',
        'open',
        '2025-10-04',
        '5',
      ],
    ]);
  });

  it('gives every JSON discrepancy its break and adds the block, the resolved and the open breaks', () => {
    const json = JSON.parse(JSON.stringify(renderReportJson(context, report()))) as Record<
      string,
      unknown
    >;
    expect(
      (json.discrepancies as Record<string, unknown>[]).map((d) => [
        d.transaction_id,
        d.break_id,
        d.break_status,
        d.origin_date,
        d.age_days,
      ]),
    ).toEqual([
      ['fresh', 'b0000000-0000-4000-8000-00000000000a', 'open', '2025-10-09', 0],
      ['diff', 'b0000000-0000-4000-8000-00000000000b', 'open', '2025-10-04', 5],
    ]);
    expect(json.breaks).toEqual({
      new: 1,
      resolved: 1,
      reclassified: 1,
      pending: 0,
      open: 3,
      open_by_age: { '0-1': 1, '2-3': 0, '4-7': 1, '8-30': 1, '31+': 0 },
      older_than_escalation: 1,
      escalate_days: 7,
    });
    expect(json.resolved_breaks).toEqual([
      {
        break_id: 'b0000000-0000-4000-8000-000000000002',
        processor: 'stripe',
        transaction_id: 'late',
        kind: 'missing_in_processor',
        side: 'internal',
        status: 'resolved',
        origin_date: '2025-10-08',
        age_days: 1,
        amount: '40.00',
        currency: 'USD',
        first_seen_run_id: 'run-0',
        last_seen_run_id: 'run-2',
        resolved_run_id: 'run-2',
        resolution: 'late_arrival',
        lag_days: 1,
        resolved_by: 'recon',
      },
    ]);
    expect(
      (json.open_breaks as Record<string, unknown>[]).map((b) => [
        b.break_id,
        b.transaction_id,
        b.age_days,
      ]),
    ).toEqual([
      ['b0000000-0000-4000-8000-000000000001', '=HYPERLINK("x")', 9],
      [null, 'fresh', 0],
    ]);
  });

  it('renders no break fields and null or empty break sections without a database', async () => {
    const json = JSON.parse(
      JSON.stringify(renderReportJson(context, { ...report(), breaks: null })),
    ) as Record<string, unknown>;
    expect([json.breaks, json.resolved_breaks, json.open_breaks]).toEqual([null, [], []]);
    expect((await collect(renderOpenBreaksCsv(null))).join('')).toBe(
      `${OPEN_BREAKS_CSV_COLUMNS.map((c) => `"${c}"`).join(',')}\n`,
    );
  });

  it('writes open breaks read a page at a time exactly as the same breaks in memory (open-breaks CSV and JSON report)', async () => {
    const open = breaks.open as readonly ReportBreak[];
    // Pages of one break, read again from the first by each pass, as the run's cursor does.
    let passes = 0;
    const paged: ReportBreaks = {
      ...breaks,
      open: {
        pages: async function* () {
          passes++;
          for (const b of open) {
            await Promise.resolve();
            yield [b];
          }
        },
      },
    };
    const whole = { ...report(), breaks };
    const byPages = { ...report(), breaks: paged };
    expect((await collect(renderOpenBreaksCsv(paged, 1))).join('')).toBe(
      (await collect(renderOpenBreaksCsv(breaks, 1))).join(''),
    );
    expect((await collect(jsonChunks(renderReportJson(context, byPages), '\n', 10))).join('')).toBe(
      `${JSON.stringify(renderReportJson(context, whole), null, 2)}\n`,
    );
    expect(passes).toBe(2);
  });

  it('writes the open-breaks CSV: the breaks list columns, the age bucket, spreadsheet-safe', async () => {
    expect((await collect(renderOpenBreaksCsv(breaks, 1))).join('')).toBe(
      [
        '"break_id","processor","transaction_id","kind","side","status","origin_date","age_days","amount","currency","first_seen_run_id","last_seen_run_id","resolved_run_id","resolution","lag_days","resolved_by","age_bucket"',
        '"b0000000-0000-4000-8000-000000000001","stripe","\'=HYPERLINK(""x"")","missing_in_internal","processor","open","2025-09-30","9","-12.50","USD","run-0","run-1",,,,,"8-30"',
        ',"stripe","fresh","missing_in_internal","processor","open","2025-10-09","0","5","JPY",,,,,,,"0-1"',
        '',
      ].join('\n'),
    );
  });
});

describe('reports of a run with a rules file (issue #14)', () => {
  const context: ReportContext = {
    runId: 'run-1',
    businessDate: '2025-09-30',
    processor: 'stripe',
    timeZone: 'UTC',
    generatedAt: '2025-10-01T02:00:00.000Z',
    appVersion: '0.1.0',
    dryRun: true,
    sources: {
      processor: { location: 'p.csv', rows: 3, invalidRows: 0 },
      internal: { location: 'i.csv', rows: 4, invalidRows: 0 },
    },
  };
  const nearAmount: ToleranceTier = {
    type: 'tolerance',
    name: 'near_amount',
    processorKey: 'description',
    ledgerKey: 'reference',
    normalize: ['trim', 'upper'],
    absMinor: 1n,
    pctBps: 0,
    base: 'max',
    minDays: 0,
    maxDays: 2,
    allowSignChange: false,
  };
  const sameAmount: ToleranceTier = {
    ...nearAmount,
    name: 'same_amount',
    processorKey: null,
    ledgerKey: null,
    normalize: [],
    absMinor: 0n,
  };
  const processor = [
    tx({ transactionId: 'ch_9', amountMinor: 9999n, description: 'inv-42', line: 2 }),
    tx({ transactionId: 'p50', amountMinor: 5000n, line: 3 }),
    tx({ transactionId: 'ch_fee', amountMinor: 10000n, feeMinor: 320n, line: 4 }),
  ];
  const internal = [
    tx({ transactionId: 'INV-42', amountMinor: 10000n, reference: 'INV-42', line: 2 }),
    tx({ transactionId: 'l50a', amountMinor: 5000n, line: 3 }),
    tx({ transactionId: '=l50b', amountMinor: 5000n, line: 4 }),
    tx({ transactionId: 'ch_fee', amountMinor: 9680n, line: 5 }),
  ];

  function tiered(rulesFile: boolean): ReportInput {
    const own: ProcessorRules = { tiers: [nearAmount, sameAmount], fees: DEFAULT_FEE_RULES };
    const match = applyTiers(
      matchTransactions(processor, internal),
      own,
      new Map([['USD', 24999n]]),
      'UTC',
    );
    return {
      match,
      summary: summarizeReconciliation(match, processor, internal, 0),
      issues: [],
      rulesFile,
    };
  }

  it('adds tier, internal_transaction_id, candidates and annotation columns, spreadsheet-safe', () => {
    const [header, ...rows] = parseCsv(renderCsv(tiered(true)));
    expect(header).toEqual([...REPORT_CSV_COLUMNS, ...RULES_CSV_COLUMNS]);
    expect(
      rows.map((row) => [row[0], row[1], row[6], ...row.slice(REPORT_CSV_COLUMNS.length)]),
    ).toEqual([
      ['matched_with_variance', 'ch_9', '-0.01', 'near_amount', 'INV-42', '', ''],
      ['amount_mismatch', 'ch_fee', '3.20', '', '', '', 'basis_mismatch_suspected'],
      ['ambiguous', 'p50', '', 'same_amount', '', "'=l50b;l50a", ''],
      ['ambiguous', 'l50a', '', 'same_amount', '', 'p50', ''],
      ['ambiguous', "'=l50b", '', 'same_amount', '', 'p50', ''],
    ]);
  });

  it('keeps the CSV columns of a run without a rules file, whatever the discrepancies', () => {
    const [header, ...rows] = parseCsv(renderCsv(tiered(false)));
    expect(header).toEqual([...REPORT_CSV_COLUMNS]);
    for (const row of rows) expect(row).toHaveLength(REPORT_CSV_COLUMNS.length);
  });

  it('puts matches_by_tier in the counts and the per-tier matches in the JSON summary', () => {
    const summary = (
      JSON.parse(JSON.stringify(renderReportJson(context, tiered(true)))) as {
        reconciliation_summary: { counts: object; matches: object };
      }
    ).reconciliation_summary;
    expect(summary.counts).toEqual({
      matched: 0,
      missing_in_internal: 0,
      missing_in_processor: 0,
      amount_mismatch: 1,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
      matched_with_variance: 1,
      ambiguous: 3,
      basis_mismatch_suspected: 1,
      matches_by_tier: { id: 0, near_amount: 0, same_amount: 0 },
    });
    expect(summary.matches).toEqual([
      { tier: 'id', count: 0, amount: {}, abs_variance: {} },
      { tier: 'near_amount', count: 1, amount: { USD: '99.99' }, abs_variance: { USD: '0.01' } },
      { tier: 'same_amount', count: 0, amount: {}, abs_variance: {} },
    ]);
  });
});
