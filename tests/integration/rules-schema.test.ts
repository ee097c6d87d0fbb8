import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PgliteDatabase } from '../../src/store/pglite-database';
import { applySchema } from '../../src/store/schema';
import { dropTestSchema, testBackends } from '../helpers/databases';
import { openDatabase } from '../../src/store/open-store';

const ROOT = join(__dirname, '..', '..');

describe('schema upgrade from version 5 (matching rules, issue #14)', () => {
  it('db init upgrades a schema-5 database: new kinds, tier columns, rules hash; old rows kept', async () => {
    const [backend] = testBackends();
    if (!backend) throw new Error('no backend');
    const config = await backend.config();
    if (config.kind !== 'pglite') throw new Error('expected PGlite first');
    const db = await PgliteDatabase.open(config.settings);
    try {
      await db.execScript(readFileSync(join(ROOT, 'tests/fixtures/schema/setup-v5.sql'), 'utf8'));
      const [run] = await db.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
      );
      const runId = run?.id ?? '';
      await db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
         VALUES ($1, 'missing_in_internal', 'processor', 'old', 100, 1.00, 'USD')`,
        [runId],
      );
      await applySchema(db);
      await applySchema(db); // idempotent
      expect(
        await db.query(`SELECT value FROM system_configuration WHERE key = 'schema_version'`),
      ).toEqual([{ value: '8' }]);
      await db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency,
                                    difference_minor, difference, tier, internal_transaction_id)
         VALUES ($1, 'matched_with_variance', 'both', 'ch_9', 9999, 99.99, 'USD', -1, -0.01, 'near_amount', 'INV-42')`,
        [runId],
      );
      await db.query(
        `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency, tier, candidates)
         VALUES ($1, 'ambiguous', 'processor', 'p50', 5000, 50.00, 'USD', 'near_amount', '["l1","l2"]')`,
        [runId],
      );
      await expect(
        db.query(
          `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency)
           VALUES ($1, 'matched_with_variance', 'both', 'x', 1, 0.01, 'USD')`,
          [runId],
        ),
      ).rejects.toThrow(/check constraint/);
      await db.query(
        `UPDATE reconciliation_runs SET rules_sha256 = 'abc', rules_content = '{}' WHERE id = $1`,
        [runId],
      );
      expect(
        await db.query(
          `SELECT transaction_id, kind, tier, internal_transaction_id, candidates::text AS candidates
             FROM discrepancies ORDER BY transaction_id`,
        ),
      ).toEqual([
        {
          transaction_id: 'ch_9',
          kind: 'matched_with_variance',
          tier: 'near_amount',
          internal_transaction_id: 'INV-42',
          candidates: null,
        },
        {
          transaction_id: 'old',
          kind: 'missing_in_internal',
          tier: null,
          internal_transaction_id: null,
          candidates: null,
        },
        {
          transaction_id: 'p50',
          kind: 'ambiguous',
          tier: 'near_amount',
          internal_transaction_id: null,
          candidates: '["l1", "l2"]',
        },
      ]);
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});

describe('schema set-up in one of several schemas of a database', () => {
  const postgres = testBackends().find((b) => b.name === 'postgres');
  const maybe = postgres ? it : it.skip;

  maybe(
    'gives a second schema the new kinds even when another schema already has them',
    async () => {
      if (!postgres) return;
      const configs = [await postgres.config(), await postgres.config()];
      const dbs = [];
      try {
        for (const config of configs) dbs.push(await openDatabase(config, { initialise: true }));
        const second = dbs[1];
        if (!second) throw new Error('no second database');
        const [run] = await second.query<{ id: string }>(
          `INSERT INTO reconciliation_runs (run_date, processor_name) VALUES ('2025-09-01', 'stripe') RETURNING id::text`,
        );
        await second.query(
          `INSERT INTO discrepancies (run_id, kind, side, transaction_id, amount_minor, amount, currency,
                                    difference_minor, difference)
         VALUES ($1, 'matched_with_variance', 'both', 'ch_9', 9999, 99.99, 'USD', -1, -0.01)`,
          [run?.id ?? ''],
        );
        expect(
          await second.query(`SELECT kind, difference_minor::text AS d FROM discrepancies`),
        ).toEqual([{ kind: 'matched_with_variance', d: '-1' }]);
      } finally {
        for (const db of dbs) await db.close();
        for (const config of configs)
          if (config.kind === 'postgres' && config.settings.schema)
            await dropTestSchema(config.settings.schema);
      }
    },
  );
  maybe(
    'lets runs of one date and processor in two schemas hold their run locks at once',
    async () => {
      if (!postgres) return;
      const configs = [await postgres.config(), await postgres.config()];
      const dbs = [];
      const locks = [];
      try {
        for (const config of configs) dbs.push(await openDatabase(config, { initialise: true }));
        const [first, second] = dbs;
        if (!first || !second) throw new Error('no databases');
        const key = 'recon-run_2025-09-30_stripe';
        const a = await first.tryLock(key);
        if (a) locks.push(a);
        const b = await second.tryLock(key);
        if (b) locks.push(b);
        const again = await first.tryLock(key);
        if (again) locks.push(again);
        // Each schema has its own lock; within one schema the second taker is refused.
        expect([a !== null, b !== null, again !== null]).toEqual([true, true, false]);
      } finally {
        for (const lock of locks) await lock.release();
        for (const db of dbs) await db.close();
        for (const config of configs)
          if (config.kind === 'postgres' && config.settings.schema)
            await dropTestSchema(config.settings.schema);
      }
    },
  );
});
