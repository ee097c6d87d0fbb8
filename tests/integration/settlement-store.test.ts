import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BankEntry } from '../../src/domain/bank-entry';
import { matchPayoutsToBank } from '../../src/engine/bank-matching';
import { matchTransactions } from '../../src/engine/match-transactions';
import { settlementCounts, type RunSettlement } from '../../src/engine/settlement';
import {
  buildSettlementGroups,
  type SettlementChild,
  type SettlementParent,
} from '../../src/engine/settlement-groups';
import { summarizeReconciliation } from '../../src/engine/summarize';
import type { Database } from '../../src/store/database';
import type { DatabaseConfig } from '../../src/store/database-config';
import { openDatabase } from '../../src/store/open-store';
import { PgliteDatabase, tryFileLock } from '../../src/store/pglite-database';
import { RunStore, type RunOutcome } from '../../src/store/run-store';
import { computeRunResults, describeResultDifference } from '../../src/store/run-digest';
import { applySchema } from '../../src/store/schema';
import { testBackends } from '../helpers/databases';

const ROOT = join(__dirname, '..', '..');

const parent = (
  key: string,
  amount: bigint,
  itemizable = true,
  dueDate = '2025-10-06',
): SettlementParent => ({
  kind: 'stripe_payout',
  key,
  currency: 'USD',
  amount,
  dueDate,
  itemizable,
});
const child = (
  id: string,
  parentKey: string,
  gross: bigint,
  net: bigint,
  category: SettlementChild['category'] = 'charge',
): SettlementChild => ({ id, parentKey, category, currency: 'USD', gross, net });
const credit = (ref: string, amount: bigint, text: string): BankEntry => ({
  statementId: 'STMT-1',
  account: '123456789',
  amount,
  signedAmount: amount,
  currency: 'USD',
  direction: 'credit',
  bookingDate: '2025-10-06',
  valueDate: '2025-10-06',
  bankReference: ref,
  customerReference: null,
  remittanceText: text,
  reversal: false,
  typeCode: '165',
  booked: true,
  line: 4,
  xmlPath: null,
});

/** The sample's settlement: a balanced payout, one short of a refund, a manual one not in the bank. */
function sampleSettlement(): RunSettlement {
  const groups = buildSettlementGroups(
    [parent('po_A', 95000n), parent('po_B', 60000n), parent('po_M', 40000n, false, '2025-10-02')],
    [
      child('ch_1', 'po_A', 50000n, 48500n),
      child('ch_2', 'po_A', 50000n, 48500n),
      child('re_3', 'po_A', -2000n, -2000n, 'refund'),
      child('ch_4', 'po_B', 30000n, 29100n),
      child('ch_5', 'po_B', 35000n, 33900n),
      child('ch_9', 'po_Z', 1000n, 1000n),
    ],
    { asOfDate: '2025-10-06', orphanKind: 'stripe_payout' },
  );
  const entries = [
    credit('BNK-A', 95000n, 'STRIPE TRANSFER po_A'),
    credit('BNK-B', 60000n, 'STRIPE TRANSFER po_B'),
    credit('BNK-W', 123456n, 'INCOMING WIRE, "ACME"'),
  ];
  const bank = matchPayoutsToBank(
    groups.flatMap((g) =>
      g.parentAmount === null
        ? []
        : [
            {
              id: g.parentId,
              currency: g.currency,
              amount: g.parentAmount,
              expectedDate: g.dueDate ?? '2025-10-06',
            },
          ],
    ),
    entries,
    { asOfDate: '2025-10-06' },
  );
  return { groups, bank, bankEntries: entries, counts: settlementCounts(groups, bank) };
}

function outcome(settlement: RunSettlement | null): RunOutcome {
  const match = matchTransactions([], []);
  return {
    match,
    summary: summarizeReconciliation(match, [], [], 0),
    issues: [
      {
        side: 'bank',
        location: 'stmt.xml',
        check: 'statement_balance',
        severity: 'info',
        line: null,
        field: 'Document/BkToCstmrStmt/Stmt[1]',
        reason: 'statement STMT-1 (account 123456789, USD): entries 2784.56 = closing − opening',
        value: '2784.56',
        count: 3,
      },
    ],
    invalidRows: 0,
    reportCsvPath: null,
    reportJsonPath: null,
    settlement,
  };
}

const waterfall = (fields: Partial<Record<string, string>>) => ({
  charges: '0.00',
  fees: '0.00',
  refunds: '0.00',
  disputes: '0.00',
  adjustments: '0.00',
  payout: '0.00',
  unexplainedResidual: '0.00',
  ...fields,
});

describe.each(testBackends())('settlement store on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;

  beforeAll(async () => {
    config = await backend.config();
    db = await openDatabase(config, { initialise: true });
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    store = new RunStore(
      () => Promise.resolve(db),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  const complete = async (settlement: RunSettlement | null, date = '2025-10-06') => {
    const runId = await store.startRun({
      businessDate: date,
      processor: 'stripe',
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });
    await store.completeRun(runId, outcome(settlement));
    return runId;
  };

  it('stores the groups, their children and the bank entries in the run transaction; lists and shows them', async () => {
    const runId = await complete(sampleSettlement());
    const common = {
      runId,
      businessDate: '2025-10-06',
      processor: 'stripe',
      kind: 'stripe_payout',
      currency: 'USD',
    };
    expect(await store.listPayouts({ limit: 100 })).toEqual([
      {
        ...common,
        parentId: 'po_A',
        parentAmount: '950.00',
        childrenSum: '950.00',
        difference: '0.00',
        childCount: 3,
        status: 'group_matched',
        dueDate: '2025-10-06',
        waterfall: waterfall({
          charges: '1000.00',
          fees: '-30.00',
          refunds: '-20.00',
          payout: '950.00',
        }),
        bankStatus: 'payout_matched',
        bankMatchedBy: 'reference',
        bankDifference: '0.00',
        bankEntry: 'BNK-A',
      },
      {
        ...common,
        parentId: 'po_B',
        parentAmount: '600.00',
        childrenSum: '630.00',
        difference: '30.00',
        childCount: 2,
        status: 'group_sum_mismatch',
        dueDate: '2025-10-06',
        waterfall: waterfall({
          charges: '650.00',
          fees: '-20.00',
          payout: '600.00',
          unexplainedResidual: '30.00',
        }),
        bankStatus: 'payout_matched',
        bankMatchedBy: 'reference',
        bankDifference: '0.00',
        bankEntry: 'BNK-B',
      },
      {
        ...common,
        parentId: 'po_M',
        parentAmount: '400.00',
        childrenSum: '0.00',
        difference: null,
        childCount: 0,
        status: 'unattributable',
        dueDate: '2025-10-02',
        waterfall: waterfall({ payout: '400.00', unexplainedResidual: '-400.00' }),
        bankStatus: 'payout_missing_in_bank',
        bankMatchedBy: null,
        bankDifference: null,
        bankEntry: null,
      },
      {
        ...common,
        parentId: 'po_Z',
        parentAmount: null,
        childrenSum: '10.00',
        difference: null,
        childCount: 1,
        status: 'parent_missing',
        dueDate: null,
        waterfall: waterfall({ charges: '10.00', unexplainedResidual: '10.00' }),
        bankStatus: null,
        bankMatchedBy: null,
        bankDifference: null,
        bankEntry: null,
      },
    ]);
    expect(
      (await store.listPayouts({ limit: 100, status: 'payout_missing_in_bank' })).map(
        (p) => p.parentId,
      ),
    ).toEqual(['po_M']);
    expect(
      (
        await store.listPayouts({ limit: 100, status: 'group_sum_mismatch', processor: 'stripe' })
      ).map((p) => p.parentId),
    ).toEqual(['po_B']);
    expect(await store.listPayouts({ limit: 100, processor: 'square' })).toEqual([]);

    const [shown, ...more] = await store.showPayout('po_A');
    expect(more).toEqual([]);
    expect(shown?.children).toEqual([
      { childId: 'ch_1', category: 'charge', currency: 'USD', gross: '500.00', net: '485.00' },
      { childId: 'ch_2', category: 'charge', currency: 'USD', gross: '500.00', net: '485.00' },
      { childId: 're_3', category: 'refund', currency: 'USD', gross: '-20.00', net: '-20.00' },
    ]);
    expect(shown?.bankEntryDetail).toEqual({
      reference: 'BNK-A',
      statementId: 'STMT-1',
      account: '123456789',
      direction: 'credit',
      amount: '950.00',
      currency: 'USD',
      bookingDate: '2025-10-06',
      valueDate: '2025-10-06',
      remittanceText: 'STRIPE TRANSFER po_A',
    });
    expect(
      await db.query(
        `SELECT seq, reference, remittance_text, amount::text AS amount FROM bank_entries WHERE run_id = $1 ORDER BY seq`,
        [runId],
      ),
    ).toEqual([
      { seq: 1, reference: 'BNK-A', remittance_text: 'STRIPE TRANSFER po_A', amount: '950.00' },
      { seq: 2, reference: 'BNK-B', remittance_text: 'STRIPE TRANSFER po_B', amount: '600.00' },
      { seq: 3, reference: 'BNK-W', remittance_text: 'INCOMING WIRE, "ACME"', amount: '1234.56' },
    ]);
    expect(
      await db.query(`SELECT side, check_name FROM data_quality_checks WHERE run_id = $1`, [runId]),
    ).toEqual([{ side: 'bank', check_name: 'statement_balance' }]);
  });

  it("the run's audit entry records its settlement rows: a changed row is a difference verify-audit reports", async () => {
    const [run] = await store.listPayouts({ limit: 1, businessDate: '2025-10-06' });
    const runId = run?.runId ?? '';
    const [entry] = await db.query<{ results: string }>(
      `SELECT (details -> 'results')::text AS results FROM audit_log
        WHERE run_id = $1 AND event = 'run_completed'`,
      [runId],
    );
    const recorded = JSON.parse(entry?.results ?? 'null') as Record<string, unknown>;
    // 4 groups, 6 children, 3 bank entries.
    expect(recorded.settlement_rows).toBe(13);
    expect(describeResultDifference(await computeRunResults(db, runId), recorded)).toBeNull();
    await db.query(
      `UPDATE bank_entries SET remittance_text = 'STRIPE TRANSFER po_X' WHERE run_id = $1 AND seq = 1`,
      [runId],
    );
    expect(describeResultDifference(await computeRunResults(db, runId), recorded)).toMatch(
      /^settlement_sha256 is [0-9a-f]{64}, recorded [0-9a-f]{64}$/,
    );
  });

  it('a rerun has rows of its own: list and show read the completed run only, the superseded one keeps its rows', async () => {
    const before = await store.listPayouts({ limit: 100, businessDate: '2025-10-06' });
    const settlement = sampleSettlement();
    const rerun = await complete({ ...settlement, groups: settlement.groups.slice(0, 1) });
    const after = await store.listPayouts({ limit: 100, businessDate: '2025-10-06' });
    expect(after.map((p) => [p.runId, p.parentId])).toEqual([[rerun, 'po_A']]);
    expect((await store.showPayout('po_A'))[0]?.runId).toEqual(rerun);
    expect(await store.showPayout('po_B')).toEqual([]);
    const [old] = await db.query<{ groups: string }>(
      `SELECT count(*)::text AS groups FROM settlement_groups WHERE run_id = $1`,
      [before[0]?.runId ?? ''],
    );
    expect(old).toEqual({ groups: '4' });
  });

  it('a run without a settlement leg stores no settlement rows', async () => {
    const runId = await complete(null, '2025-10-07');
    expect(
      await db.query(`SELECT count(*)::int AS n FROM settlement_groups WHERE run_id = $1`, [runId]),
    ).toEqual([{ n: 0 }]);
    expect(await store.listPayouts({ limit: 10, businessDate: '2025-10-07' })).toEqual([]);
  });
});

describe('schema upgrade from version 6 (payouts and bank statements, issue #15)', () => {
  it('db init upgrades a schema-6 database: settlement tables, side bank; old rows kept; twice is a no-op', async () => {
    const [backend] = testBackends();
    if (!backend) throw new Error('no backend');
    const config = await backend.config();
    if (config.kind !== 'pglite') throw new Error('expected PGlite first');
    const db = await PgliteDatabase.open(config.settings);
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v6.sql'), 'utf8'));
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      const runId = run?.id ?? '';
      await db.query(
        `INSERT INTO data_quality_checks (run_id, side, source, check_name, severity, reason)
         VALUES ($1, 'processor', 'p.csv', 'invalid_row', 'error', 'old')`,
        [runId],
      );
      await expect(
        db.query(
          `INSERT INTO data_quality_checks (run_id, side, source, check_name, severity, reason)
           VALUES ($1, 'bank', 's.xml', 'statement_balance', 'info', 'new')`,
          [runId],
        ),
      ).rejects.toThrow(/check constraint/);
      await applySchema(db);
      await applySchema(db); // idempotent
      expect(
        await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
      ).toEqual([{ value: '8' }]);
      await db.query(
        `INSERT INTO data_quality_checks (run_id, side, source, check_name, severity, reason)
         VALUES ($1, 'bank', 's.xml', 'statement_balance', 'info', 'new')`,
        [runId],
      );
      await db.query(
        `INSERT INTO settlement_groups (run_id, seq, processor, parent_id, kind, currency,
            parent_amount_minor, parent_amount, children_sum_minor, children_sum, difference_minor,
            difference, child_count, status, charges_minor, fees_minor, refunds_minor,
            disputes_minor, adjustments_minor, payout_minor, unexplained_residual_minor)
         VALUES ($1, 1, 'stripe', 'po_1', 'stripe_payout', 'USD', 100, 1.00, 100, 1.00, 0, 0.00, 1,
                 'group_matched', 100, 0, 0, 0, 0, 100, 0)`,
        [runId],
      );
      await expect(
        db.query(
          `INSERT INTO settlement_groups (run_id, seq, processor, parent_id, kind, currency,
              children_sum_minor, children_sum, child_count, status, charges_minor, fees_minor,
              refunds_minor, disputes_minor, adjustments_minor, payout_minor, unexplained_residual_minor)
           VALUES ($1, 2, 'stripe', 'po_2', 'stripe_payout', 'USD', 0, 0, 0, 'group_matched', 0, 0, 0, 0, 0, 0, 0)`,
          [runId],
        ),
      ).rejects.toThrow(/check constraint/);
      expect(
        await db.query(
          `SELECT side, reason FROM data_quality_checks WHERE run_id = $1 ORDER BY reason DESC`,
          [runId],
        ),
      ).toEqual([
        { side: 'processor', reason: 'old' },
        { side: 'bank', reason: 'new' },
      ]);
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
