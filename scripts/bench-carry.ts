/**
 * The carry-over part of `npm run bench` (`--carry N`, issue #13): seeds N open one-sided breaks
 * of the bench processor (`stripe`) with origin date D − 1 into the database of `DATABASE_URL`,
 * so that every end-to-end run of D carries them, and removes them again for the baseline runs.
 * The seeded transaction ids (`bench_carry_{n}`) never occur in the generated files: every
 * carried break is loaded (memory engine) or joined (postgres engine) and stays open, so the
 * generated counts stay what the count check expects. Half are `missing_in_internal` (processor
 * row), half `missing_in_processor` (ledger row), amounts in minor units of USD.
 */
import { loadConfig } from '../src/config/load-config';
import type { Database } from '../src/store/database';
import { openDatabase } from '../src/store/open-store';

/** Prefix of the seeded breaks' transaction ids. */
export const CARRY_PREFIX = 'bench_carry_';

async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env).database;
  if (config.kind !== 'postgres') throw new Error('--carry needs DATABASE_URL (a server)');
  const db = await openDatabase(config);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/**
 * Removes the seeded breaks (they have no events: a run that carries them without a
 * counterpart writes none). Returns how many were removed.
 * @throws Error when a seeded break has events (a run changed it: the seed ids leaked into data).
 */
export async function removeCarried(): Promise<number> {
  return withDatabase(async (db) => {
    const rows = await db.query<{ n: string }>(
      `WITH gone AS (DELETE FROM breaks WHERE transaction_id LIKE $1 || '%' RETURNING 1)
       SELECT count(*)::text AS n FROM gone`,
      [CARRY_PREFIX],
    );
    return Number(rows[0]?.n ?? '0');
  });
}

/**
 * Seeds `count` open one-sided breaks of `processor` with origin date `originDate`
 * (YYYY-MM-DD), owned by one `failed` run of that date (the breaks need a first/last seen run).
 */
export async function seedCarried(
  processor: string,
  originDate: string,
  count: number,
): Promise<void> {
  await withDatabase(async (db) => {
    await db.withTransaction(async (tx) => {
      const [run] = await tx.query<{ id: string }>(
        `INSERT INTO reconciliation_runs (run_date, processor_name, status, end_time, error_message)
         VALUES ($1, $2, 'failed', now(), 'bench: owner of the seeded carried breaks')
         RETURNING id::text`,
        [originDate, processor],
      );
      if (!run) throw new Error('could not create the owner run of the seeded breaks');
      await tx.query(
        `INSERT INTO breaks (processor, transaction_id, identity_scope, origin_scope, kind,
                origin_kind, side, status, origin_date, currency, amount_minor, amount,
                processor_amount_minor, processor_currency, processor_status,
                processor_created_at, processor_merchant_id, processor_description, processor_line,
                internal_amount_minor, internal_currency, internal_status, internal_created_at,
                internal_merchant_id, internal_description, internal_line,
                first_seen_run_id, last_seen_run_id)
         SELECT $2, $3 || g, s.side, s.side, s.kind, s.kind, s.side, 'open', $4::date, 'USD',
                1000 + g, (1000 + g)::numeric / 100,
                CASE WHEN p THEN 1000 + g END, CASE WHEN p THEN 'USD' END,
                CASE WHEN p THEN 'succeeded' END,
                CASE WHEN p THEN $4::date + time '12:00' END, CASE WHEN p THEN 'merch_001' END,
                CASE WHEN p THEN 'seeded' END, CASE WHEN p THEN g END,
                CASE WHEN NOT p THEN 1000 + g END, CASE WHEN NOT p THEN 'USD' END,
                CASE WHEN NOT p THEN 'settled' END,
                CASE WHEN NOT p THEN $4::date + time '12:00' END,
                CASE WHEN NOT p THEN 'merch_001' END, CASE WHEN NOT p THEN 'seeded' END,
                CASE WHEN NOT p THEN g END,
                $1::uuid, $1::uuid
           FROM generate_series(1, $5::int) g
          CROSS JOIN LATERAL (SELECT g % 2 = 0 AS p) k
          CROSS JOIN LATERAL (SELECT CASE WHEN p THEN 'processor' ELSE 'internal' END AS side,
                                     CASE WHEN p THEN 'missing_in_internal'
                                          ELSE 'missing_in_processor' END AS kind) s`,
        [run.id, processor, CARRY_PREFIX, originDate, count],
      );
    });
  });
}
