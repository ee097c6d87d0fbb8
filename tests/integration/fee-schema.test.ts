import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../../src/store/database';
import { PgliteDatabase } from '../../src/store/pglite-database';
import { PostgresDatabase } from '../../src/store/postgres-database';
import { applySchema } from '../../src/store/schema';
import { testBackends } from '../helpers/databases';

const ROOT = join(__dirname, '..', '..');

/** The CHECK constraints the fee_mismatch kind changes, as PostgreSQL prints them. */
async function feeChecks(db: Database): Promise<{ name: string; fee: boolean }[]> {
  return db.query<{ name: string; fee: boolean }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) LIKE '%fee_mismatch%' AS fee
       FROM pg_constraint
      WHERE conname IN ('discrepancies_kind_check', 'discrepancies_check',
                        'discrepancies_difference_check', 'breaks_kind_check',
                        'breaks_origin_kind_check')
        AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      ORDER BY conname`,
  );
}

describe.each(testBackends())('schema upgrade from version 5 to 6 (fees) on $name', (backend) => {
  let db: Database;
  beforeAll(async () => {
    const config = await backend.config();
    db =
      config.kind === 'pglite'
        ? await PgliteDatabase.open(config.settings)
        : new PostgresDatabase(config.settings);
  });
  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  it('db init upgrades a schema-5 database: fee_mismatch becomes a kind with a difference, old rows stay', async () => {
    await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v5.sql'), 'utf8'));
    const [run] = await db.query<{ id: string }>(
      `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
    );
    const runId = run?.id ?? '';
    await db.query(
      `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency,
          difference_minor, difference)
       VALUES ($1, 'amount_mismatch', 'both', 'old', 100, 1.00, 'USD', 5, 0.05)`,
      [runId],
    );
    await expect(
      db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency,
            difference_minor, difference)
         VALUES ($1, 'fee_mismatch', 'both', 'early', 100, 1.00, 'USD', 20, 0.20)`,
        [runId],
      ),
    ).rejects.toThrow(/violates check constraint "discrepancies_(kind_)?check"/);
    expect((await feeChecks(db)).map((c) => c.fee)).toEqual([false, false, false, false]);

    await applySchema(db);
    await applySchema(db); // idempotent: applying it again changes nothing

    expect(
      await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
    ).toEqual([{ value: '8' }]);
    expect(await feeChecks(db)).toEqual([
      { name: 'breaks_kind_check', fee: true },
      { name: 'breaks_origin_kind_check', fee: true },
      { name: 'discrepancies_difference_check', fee: true },
      { name: 'discrepancies_kind_check', fee: true },
    ]);
    await db.query(
      `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency,
          difference_minor, difference)
       VALUES ($1, 'fee_mismatch', 'both', 'new', 100, 1.00, 'USD', 20, 0.20)`,
      [runId],
    );
    await expect(
      db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
         VALUES ($1, 'fee_mismatch', 'both', 'no-difference', 100, 1.00, 'USD')`,
        [runId],
      ),
    ).rejects.toThrow(/discrepancies_difference_check/);
    await expect(
      db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
         VALUES ($1, 'bogus', 'both', 'bogus', 100, 1.00, 'USD')`,
        [runId],
      ),
    ).rejects.toThrow(/discrepancies_kind_check/);
    expect(
      await db.query(
        `SELECT transaction_id, kind, difference_minor::text AS difference_minor
           FROM discrepancies ORDER BY transaction_id`,
      ),
    ).toEqual([
      { transaction_id: 'new', kind: 'fee_mismatch', difference_minor: '20' },
      { transaction_id: 'old', kind: 'amount_mismatch', difference_minor: '5' },
    ]);
    expect(
      await db.query(`SELECT fee_mismatch_count FROM reconciliation_runs WHERE id = $1`, [runId]),
    ).toEqual([{ fee_mismatch_count: null }]);
  });
});
