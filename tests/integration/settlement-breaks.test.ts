import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BankEntry } from '../../src/domain/bank-entry';
import { matchPayoutsToBank, type ExpectedPayout } from '../../src/engine/bank-matching';
import { matchTransactions } from '../../src/engine/match-transactions';
import { settlementCounts, type RunSettlement } from '../../src/engine/settlement';
import { buildSettlementGroups } from '../../src/engine/settlement-groups';
import { summarizeReconciliation } from '../../src/engine/summarize';
import type { Database } from '../../src/store/database';
import type { DatabaseConfig } from '../../src/store/database-config';
import { openDatabase } from '../../src/store/open-store';
import { PgliteDatabase, tryFileLock } from '../../src/store/pglite-database';
import { audit, RunStore, type RunOutcome } from '../../src/store/run-store';
import { applySchema } from '../../src/store/schema';
import { loadCarriedPayouts, SettlementBreakStore } from '../../src/store/settlement-break-store';
import { testBackends } from '../helpers/databases';

const ROOT = join(__dirname, '..', '..');

const credit = (ref: string, amount: bigint, text: string, date = '2025-10-06'): BankEntry => ({
  statementId: 'STMT-1',
  account: '123456789',
  amount,
  signedAmount: amount,
  currency: 'USD',
  direction: 'credit',
  bookingDate: date,
  valueDate: date,
  bankReference: ref,
  customerReference: null,
  remittanceText: text,
  reversal: false,
  typeCode: '165',
  booked: true,
  line: 4,
  xmlPath: null,
});

/** A run's settlement with only a bank leg: `payouts` matched to `entries` as of `date`. */
function bankOnly(payouts: ExpectedPayout[], entries: BankEntry[], date: string): RunSettlement {
  const bank = matchPayoutsToBank(payouts, entries, { asOfDate: date });
  return { groups: [], bank, bankEntries: entries, counts: settlementCounts([], bank) };
}

function outcome(settlement: RunSettlement | null): RunOutcome {
  const match = matchTransactions([], []);
  return {
    match,
    summary: summarizeReconciliation(match, [], [], 0),
    issues: [],
    invalidRows: 0,
    reportCsvPath: null,
    reportJsonPath: null,
    settlement,
  };
}

describe.each(testBackends())('settlement breaks on $name', (backend) => {
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

  const complete = async (
    processor: 'stripe' | 'adyen',
    date: string,
    settlement: RunSettlement | null,
  ): Promise<string> => {
    const runId = await store.startRun({
      businessDate: date,
      processor,
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });
    await store.completeRun(runId, outcome(settlement));
    return runId;
  };
  const rows = (where: string, params: string[] = []) =>
    db.query<Record<string, unknown>>(
      `SELECT subject, processor, subject_id, kind, status, origin_date::text AS origin_date,
              amount::text AS amount, account, value_date::text AS value_date, resolution,
              resolution_reason, lag_days
         FROM settlement_breaks WHERE ${where} ORDER BY origin_date, subject, subject_id`,
      params,
    );

  it("a credit one processor's run leaves unmatched is resolved by another processor's run that matches it (the identity names no processor)", async () => {
    const adyenCredit = credit('BNK-ADY', 31000n, 'ADYEN PAYOUT BATCH 42');
    const entries = [credit('BNK-S', 50000n, 'STRIPE TRANSFER po_S'), adyenCredit];
    const stripePayout = {
      id: 'po_S',
      currency: 'USD',
      amount: 50000n,
      expectedDate: '2025-10-06',
    };
    await complete('stripe', '2025-10-06', bankOnly([stripePayout], entries, '2025-10-06'));
    expect(await rows(`subject = 'bank_credit'`)).toEqual([
      {
        subject: 'bank_credit',
        processor: 'stripe',
        subject_id: 'BNK-ADY',
        kind: 'bank_credit_unmatched',
        status: 'open',
        origin_date: '2025-10-06',
        amount: '310.00',
        account: '123456789',
        value_date: '2025-10-06',
        resolution: null,
        resolution_reason: null,
        lag_days: null,
      },
    ]);
    const batch = { id: '42', currency: 'USD', amount: 31000n, expectedDate: '2025-10-06' };
    await complete('adyen', '2025-10-07', bankOnly([batch], [adyenCredit], '2025-10-07'));
    expect(await rows(`subject = 'bank_credit'`)).toEqual([
      {
        subject: 'bank_credit',
        processor: 'stripe',
        subject_id: 'BNK-ADY',
        kind: 'bank_credit_unmatched',
        status: 'resolved',
        origin_date: '2025-10-06',
        amount: '310.00',
        account: '123456789',
        value_date: '2025-10-06',
        resolution: 'matched',
        resolution_reason: 'matched to payout adyen:42 in the run of 2025-10-07',
        lag_days: 1,
      },
    ]);
    // Neither payout matched on its own date became a break.
    expect(await rows(`subject = 'payout'`)).toEqual([]);
  });

  it('a statement sent again: a credit matched on an earlier date is not unmatched later, and one resolved by hand stays resolved when it shows up again', async () => {
    const matched = credit('BNK-RS1', 7000n, 'STRIPE TRANSFER po_RS1', '2025-09-20');
    const stray = credit('BNK-RS2', 4200n, 'UNKNOWN SENDER', '2025-09-20');
    await complete(
      'stripe',
      '2025-09-20',
      bankOnly(
        [{ id: 'po_RS1', currency: 'USD', amount: 7000n, expectedDate: '2025-09-20' }],
        [matched, stray],
        '2025-09-20',
      ),
    );
    const strayBreak = () => rows(`subject_id = 'BNK-RS2'`);
    expect((await strayBreak()).map((r) => r.status)).toEqual(['open']);
    const [{ id } = { id: '' }] = await db.query<{ id: string }>(
      `SELECT id::text FROM settlement_breaks WHERE subject_id = 'BNK-RS2'`,
    );
    await new SettlementBreakStore(db, audit).applyManual(
      id,
      { type: 'resolve', writeOff: false },
      'ops',
      'interest',
    );
    // The next day's statement repeats both entries; no payout of that day claims them.
    await complete('stripe', '2025-09-21', bankOnly([], [matched, stray], '2025-09-21'));
    expect(await rows(`subject_id IN ('BNK-RS1', 'BNK-RS2')`)).toEqual([
      {
        subject: 'bank_credit',
        processor: 'stripe',
        subject_id: 'BNK-RS2',
        kind: 'bank_credit_unmatched',
        status: 'resolved',
        origin_date: '2025-09-20',
        amount: '42.00',
        account: '123456789',
        value_date: '2025-09-20',
        resolution: 'manual',
        resolution_reason: 'interest',
        lag_days: null,
      },
    ]);
  });

  it('a group still incomplete is pending; once its payout is due a later run of the processor opens it', async () => {
    const groups = buildSettlementGroups(
      [
        {
          kind: 'stripe_payout',
          key: 'po_I',
          currency: 'USD',
          amount: 10000n,
          dueDate: '2025-10-09',
          itemizable: true,
        },
      ],
      [
        {
          id: 'ch_1',
          parentKey: 'po_I',
          category: 'charge',
          currency: 'USD',
          gross: 6000n,
          net: 6000n,
        },
      ],
      { asOfDate: '2025-10-08', orphanKind: 'stripe_payout' },
    );
    expect(groups.map((g) => g.status)).toEqual(['group_incomplete']);
    await complete('stripe', '2025-10-08', {
      groups,
      bank: null,
      bankEntries: [],
      counts: settlementCounts(groups, null),
    });
    expect((await rows(`subject_id = 'po_I'`)).map((r) => [r.kind, r.status])).toEqual([
      ['group_incomplete', 'pending'],
    ]);
    await complete('stripe', '2025-10-09', null);
    expect((await rows(`subject_id = 'po_I'`)).map((r) => r.status)).toEqual(['pending']);
    await complete('stripe', '2025-10-10', null);
    expect((await rows(`subject_id = 'po_I'`)).map((r) => [r.kind, r.status])).toEqual([
      ['group_incomplete', 'open'],
    ]);
  });

  it('carries the pending and open payouts of earlier dates within the carry window, oldest first', async () => {
    await complete(
      'stripe',
      '2025-10-11',
      bankOnly(
        [{ id: 'po_C', currency: 'USD', amount: 1234n, expectedDate: '2025-10-11' }],
        [],
        '2025-10-11',
      ),
    );
    const carried = await loadCarriedPayouts(db, 'stripe', '2025-10-12', 90);
    expect(carried.map((c) => ({ ...c, breakId: typeof c.breakId }))).toEqual([
      {
        breakId: 'string',
        originDate: '2025-10-11',
        payout: { id: 'po_C', currency: 'USD', amount: 1234n, expectedDate: '2025-10-11' },
      },
    ]);
    expect(await loadCarriedPayouts(db, 'stripe', '2025-10-11', 90)).toEqual([]);
    expect(await loadCarriedPayouts(db, 'stripe', '2025-10-30', 5)).toEqual([]);
    expect(await loadCarriedPayouts(db, 'adyen', '2025-10-12', 90)).toEqual([]);
  });

  it('a manual resolve writes an event and a hash-chained audit entry in one transaction; events are append-only', async () => {
    const breaks = new SettlementBreakStore(db, audit);
    const [open] = await breaks.list({ status: 'pending', processor: 'stripe' });
    if (!open) throw new Error('no pending settlement break');
    const after = await breaks.applyManual(
      open.breakId.slice(0, 8),
      { type: 'resolve', writeOff: false },
      'ops',
      'paid by cheque',
    );
    expect([after.status, after.resolution, after.resolvedBy, after.resolutionReason]).toEqual([
      'resolved',
      'manual',
      'ops',
      'paid by cheque',
    ]);
    const [entry] = await db.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_log WHERE event = 'settlement_break_resolved' ORDER BY seq DESC LIMIT 1`,
    );
    expect(entry?.details).toEqual({
      break_id: open.breakId,
      processor: 'stripe',
      subject: open.subject,
      subject_id: open.subjectId,
      kind: open.kind,
      from: 'pending',
      to: 'resolved',
      actor: 'ops',
      reason: 'paid by cheque',
    });
    expect((await breaks.events(open.breakId)).map((e) => [e.event, e.actor])).toEqual([
      ['opened', 'recon'],
      ['resolved', 'ops'],
    ]);
    await expect(db.query(`UPDATE settlement_break_events SET actor = 'x'`)).rejects.toThrow(
      /settlement_break_events is append-only: UPDATE is not allowed/,
    );
    await expect(db.query(`DELETE FROM settlement_break_events`)).rejects.toThrow(
      /settlement_break_events is append-only: DELETE is not allowed/,
    );
    // At most one pending or open break per identity.
    const [row] = await db.query<{ identity: string }>(
      `SELECT identity FROM settlement_breaks WHERE id = $1`,
      [open.breakId],
    );
    const [{ id: runId } = { id: '' }] = await db.query<{ id: string }>(
      `SELECT id::text FROM reconciliation_runs LIMIT 1`,
    );
    const insert = `INSERT INTO settlement_breaks (identity, subject, processor, subject_id, kind,
        origin_kind, status, origin_date, currency, amount_minor, amount, first_seen_run_id,
        last_seen_run_id)
      VALUES ($1, 'payout', 'stripe', 'x', 'payout_pending', 'payout_pending', 'open',
              '2025-10-01', 'USD', 1, 0.01, $2, $2)`;
    await db.query(insert, [row?.identity ?? '', runId]);
    await expect(db.query(insert, [row?.identity ?? '', runId])).rejects.toThrow(
      /ux_settlement_breaks_one_active/,
    );
  });
});

describe('schema upgrade from version 7 (settlement breaks, schema 8)', () => {
  it('db init upgrades a schema-7 database: settlement break tables and their trigger; old rows kept; twice is a no-op', async () => {
    const [backend] = testBackends();
    if (!backend) throw new Error('no backend');
    const config = await backend.config();
    if (config.kind !== 'pglite') throw new Error('expected PGlite first');
    const db = await PgliteDatabase.open(config.settings);
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v7.sql'), 'utf8'));
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      const runId = run?.id ?? '';
      await db.query(
        `INSERT INTO settlement_groups (run_id, seq, processor, parent_id, kind, currency,
            parent_amount_minor, parent_amount, children_sum_minor, children_sum, difference_minor,
            difference, child_count, status, charges_minor, fees_minor, refunds_minor,
            disputes_minor, adjustments_minor, payout_minor, unexplained_residual_minor)
         VALUES ($1, 1, 'stripe', 'po_1', 'stripe_payout', 'USD', 100, 1.00, 120, 1.20, 20, 0.20, 1,
                 'group_sum_mismatch', 120, 0, 0, 0, 0, 100, 20)`,
        [runId],
      );
      expect(await db.query(`SELECT to_regclass('settlement_breaks') IS NULL AS missing`)).toEqual([
        { missing: true },
      ]);
      await applySchema(db);
      await applySchema(db); // idempotent
      expect(
        await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
      ).toEqual([{ value: '8' }]);
      const [b] = await db.query<{ id: string }>(
        `INSERT INTO settlement_breaks (identity, subject, processor, subject_id, kind,
            origin_kind, status, origin_date, currency, amount_minor, amount, difference_minor,
            difference, first_seen_run_id, last_seen_run_id)
         VALUES ('["group","stripe","po_1","USD"]', 'group', 'stripe', 'po_1', 'group_sum_mismatch',
                 'group_sum_mismatch', 'open', '2025-09-01', 'USD', 100, 1.00, 20, 0.20, $1, $1)
         RETURNING id::text`,
        [runId],
      );
      await db.query(
        `INSERT INTO settlement_break_events (break_id, run_id, event, actor) VALUES ($1, $2, 'opened', 'recon')`,
        [b?.id ?? '', runId],
      );
      await expect(db.query(`DELETE FROM settlement_break_events`)).rejects.toThrow(/append-only/);
      // A kind outside the lifecycle's is refused.
      await expect(
        db.query(
          `INSERT INTO settlement_breaks (identity, subject, processor, subject_id, kind,
              origin_kind, status, origin_date, currency, amount_minor, amount,
              first_seen_run_id, last_seen_run_id)
           VALUES ('x', 'group', 'stripe', 'po_2', 'group_matched', 'group_matched', 'open',
                   '2025-09-01', 'USD', 1, 0.01, $1, $1)`,
          [runId],
        ),
      ).rejects.toThrow(/check constraint/);
      expect(
        await db.query(`SELECT parent_id, status FROM settlement_groups WHERE run_id = $1`, [
          runId,
        ]),
      ).toEqual([{ parent_id: 'po_1', status: 'group_sum_mismatch' }]);
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
