import { renderTable, runResultText, runsTable } from '../../src/cli/format-output';
import { settlementCounts } from '../../src/engine/settlement';
import type { RunResult } from '../../src/job/run-reconciliation';
import type { StoredRun } from '../../src/store/run-store';

describe('renderTable', () => {
  it('aligns columns to the widest cell and replaces control characters', () => {
    expect(
      renderTable(
        ['id', 'n'],
        [
          ['a\u001b[31m', '1'],
          ['bb', '22'],
        ],
      ),
    ).toBe(['id      n', '------  --', 'a?[31m  1', 'bb      22'].join('\n'));
  });

  it('refuses a row whose cells do not line up with the headings', () => {
    expect(() => renderTable(['id', 'n'], [['a', '1', 'extra']])).toThrow(
      'table row 1 has 3 cells under 2 headings (id, n)',
    );
  });

  it('renders more rows than a spread argument list can hold', () => {
    const rows = Array.from({ length: 1_000_000 }, (_, i) => [String(i), 'x']);
    const lines = renderTable(['row', 'v'], rows).split('\n');
    expect([lines.length, lines[0], lines[2], lines.at(-1)]).toEqual([
      1_000_002,
      'row     v',
      '0       x',
      '999999  x',
    ]);
  });
});

/** A completed run with every column known, as `RunStore.listRuns` returns it. */
const completedRun: StoredRun = {
  runId: '0f4c2b9e-1d3a-4e5f-8a7b-6c5d4e3f2a1b',
  businessDate: '2025-09-30',
  processor: 'stripe',
  status: 'completed',
  startTime: '2025-10-01T01:00:00.000Z',
  endTime: '2025-10-01T01:00:04.250Z',
  processorTransactions: 30,
  internalTransactions: 26,
  counts: {
    matched: 23,
    missing_in_internal: 5,
    missing_in_processor: 1,
    amount_mismatch: 1,
    currency_mismatch: 0,
    status_mismatch: 1,
    duplicate: 0,
    fee_mismatch: 0,
  },
  discrepancyCount: 8,
  invalidRows: 0,
  discrepancyAmounts: { EUR: '306.62', USD: '1204.17' },
  totalDiscrepancyAmount: null,
  discrepancyRate: '0.2667',
  riskLevel: 'HIGH',
  complianceStatus: 'NON_COMPLIANT',
  reportCsvPath: 'r.csv',
  reportJsonPath: 'r.json',
  supersededBy: null,
  errorMessage: null,
};

/** A failed run: no counts, no risk. */
const failedRun: StoredRun = {
  ...completedRun,
  runId: '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
  processor: 'paypal',
  status: 'failed',
  startTime: '2025-10-01T01:00:05.000Z',
  endTime: '2025-10-01T01:00:05.120Z',
  processorTransactions: null,
  internalTransactions: null,
  counts: null,
  discrepancyCount: null,
  invalidRows: null,
  discrepancyAmounts: {},
  discrepancyRate: null,
  riskLevel: null,
  complianceStatus: null,
  reportCsvPath: null,
  reportJsonPath: null,
  errorMessage: 'input rejected',
};

describe('runsTable', () => {
  it('renders one heading over every column, the delivery outcome under "delivered"', () => {
    const delivered = new Map([[completedRun.runId, { s3: 'sent', email: 'failed' }]]);
    expect(runsTable([completedRun, failedRun], delivered).split('\n')).toEqual([
      'run_id                                date        processor  status     processor_txns  matched  discrepancies  missing  risk  delivered              started',
      '------------------------------------  ----------  ---------  ---------  --------------  -------  -------------  -------  ----  ---------------------  ------------------------',
      '0f4c2b9e-1d3a-4e5f-8a7b-6c5d4e3f2a1b  2025-09-30  stripe     completed  30              23       8              5        HIGH  s3 sent, email failed  2025-10-01T01:00:00.000Z',
      '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d  2025-09-30  paypal     failed                                                            -                      2025-10-01T01:00:05.000Z',
    ]);
  });

  it('says so when there are no runs', () => {
    expect(runsTable([])).toBe('no runs found');
  });
});

describe('runResultText', () => {
  const result: RunResult = {
    runId: null,
    businessDate: '2025-09-30',
    processor: 'stripe',
    status: 'completed',
    dryRun: true,
    processorTransactions: 2,
    internalTransactions: 1,
    invalidRows: 1,
    counts: {
      matched: 1,
      missing_in_internal: 1,
      missing_in_processor: 0,
      amount_mismatch: 0,
      currency_mismatch: 0,
      status_mismatch: 0,
      duplicate: 0,
      fee_mismatch: 0,
    },
    summary: {
      discrepancyCount: 1,
      processorVolume: new Map(),
      internalVolume: new Map(),
      discrepancyAmounts: new Map([['USD', 1250n]]),
      discrepancyRate: '0.333333',
      riskLevel: 'LOW',
      complianceStatus: 'COMPLIANT',
    },
    reports: null,
    auditHead: null,
    error: null,
  };

  it('says "1 discrepancy" and "1 invalid row" in the singular', () => {
    expect(runResultText(result)).toBe(
      [
        'stripe 2025-09-30: completed (dry run, nothing stored) — 2 processor / 1 ledger transactions, 1 matched, 1 discrepancy (1 missing in internal), 1 invalid row, risk LOW',
        '  at stake: 12.50 USD',
      ].join('\n'),
    );
  });

  it('says what the run did to payout breaks after its payouts line', () => {
    const settlement = {
      groups: [],
      bank: null,
      bankEntries: [],
      counts: settlementCounts([], null),
      breaks: {
        counts: { new: 1, new_open: 0, open: 2, resolved: 1, pending: 1 },
        active: [],
        resolved: [],
      },
    };
    expect(
      runResultText({ ...result, settlement })
        .split('\n')
        .slice(2),
    ).toEqual([
      '  payouts: 0; bank: no statement',
      '  payout breaks: 1 new, 1 resolved, 2 open, 1 pending',
    ]);
  });
});
