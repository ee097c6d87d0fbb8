import type { Database } from '../../src/store/database';
import { verifyAuditChain } from '../../src/store/audit-chain';
import { openDatabase } from '../../src/store/open-store';
import { testBackends } from '../helpers/databases';

describe.each(testBackends())('audit chain on $name', (backend) => {
  let db: Database;

  beforeAll(async () => {
    db = await openDatabase(await backend.config(), { initialise: true });
    // More than nine entries, so a textual sort of sequence numbers would show.
    for (const event of [
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
      'eight',
      'nine',
      'ten',
      'eleven',
    ]) {
      await db.query(`INSERT INTO audit_log (event, details) VALUES ($1, $2)`, [
        event,
        JSON.stringify({ note: `entry ${event}`, n: 1 }),
      ]);
    }
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  /** A superuser's way around the append-only triggers, as an attacker with full rights would do. */
  async function tamper(sql: string): Promise<void> {
    await db.withTransaction(async (tx) => {
      await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
      await tx.query(sql);
      await tx.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    });
  }

  it('chains every entry: sequence numbers from 1, each linked to the previous hash', async () => {
    const rows = await db.query<{ seq: string; prev_hash: string; entry_hash: string }>(
      'SELECT a.seq::text AS seq, prev_hash, entry_hash FROM audit_log a ORDER BY a.seq',
    );
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => String(i + 1)));
    expect(rows[0]?.prev_hash).toBe('0'.repeat(64));
    expect(rows[1]?.prev_hash).toBe(rows[0]?.entry_hash);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.entry_hash))).toBe(true);
    const report = await verifyAuditChain(db);
    expect(report).toEqual({
      entries: rows.length,
      unchained: 0,
      head: { seq: rows.length, hash: rows[rows.length - 1]?.entry_hash },
      runsChecked: 0,
      runsUnverifiable: 0,
      entriesAfterExpectedHead: null,
      firstBrokenSeq: null,
      brokenRunId: null,
      broken: null,
      problem: null,
    });
  });

  it('detects an entry edited by a superuser and names its sequence number', async () => {
    const [target] = await db.query<{ seq: string }>(
      `SELECT seq::text FROM audit_log WHERE event = 'three'`,
    );
    await tamper(
      `UPDATE audit_log SET details = '{"note":"entry three","n":2}' WHERE event = 'three'`,
    );
    const report = await verifyAuditChain(db);
    expect(report.firstBrokenSeq).toBe(Number(target?.seq));
    expect(report.problem).toBe(`entry ${target?.seq ?? ''} was changed after it was written`);
    await tamper(
      `UPDATE audit_log SET details = '{"note":"entry three","n":1}' WHERE event = 'three'`,
    );
    expect((await verifyAuditChain(db)).firstBrokenSeq).toBeNull();
  });

  it('detects a deleted entry', async () => {
    const [target] = await db.query<{ seq: string }>(
      `SELECT seq::text FROM audit_log WHERE event = 'two'`,
    );
    await tamper(`DELETE FROM audit_log WHERE event = 'two'`);
    const report = await verifyAuditChain(db);
    expect(report.firstBrokenSeq).toBe(Number(target?.seq));
    expect(report.problem).toMatch(/^entry \d+ is missing \(next entry is \d+\)$/);
  });
});
