import { ConfigError } from '../domain/errors';
import type { SqlExecutor } from './database';
import { STAGING_TABLES } from './sql-engine';

/**
 * `recon db init --citus` (issue #16, part 3): the set-up of a Citus cluster for
 * `--engine postgres`, in one command instead of the manual SQL of docs/postgres-engine.md.
 * Run on the coordinator, by a role that may create distributed tables (usually the owner), after
 * `setup.sql` has been applied (the staging tables exist, empty). Every step is idempotent.
 *
 * Designed for Citus 11.0 or later (the report of issue #16: Citus 13.0, PostgreSQL 15, a
 * coordinator and two workers); not run against Citus here (no Citus package on these machines):
 * the detection and the refusal without Citus are tested against plain PostgreSQL and PGlite.
 */

/** What `setUpCitus` found and did. */
export interface CitusSetup {
  /** `pg_extension.extversion` of citus, e.g. `13.0-1`. */
  readonly version: string;
  /** Staging tables distributed now (empty when they already were). */
  readonly distributed: readonly string[];
  /** The database whose `citus.multi_shard_modify_mode` setting was reset to the default. */
  readonly database: string;
}

/**
 * The installed Citus version (`pg_extension`), or `undefined` when the extension is not
 * installed in this database.
 */
export async function citusVersion(db: Pick<SqlExecutor, 'query'>): Promise<string | undefined> {
  const [row] = await db.query<{ extversion: string }>(
    `SELECT extversion FROM pg_extension WHERE extname = 'citus'`,
  );
  return row?.extversion;
}

/**
 * Distributes both staging tables by `transaction_id`, co-located (so the window per id and the
 * full join on it run per shard pair on the workers), and resets the database's
 * `citus.multi_shard_modify_mode` (earlier versions of this command set it to `sequential`). The
 * run tables (`reconciliation_runs` and the tables linked to it) stay plain tables on the
 * coordinator: the postgres engine stages and classifies in a transaction that touches the
 * staging tables only, and writes the run in a transaction that touches the run tables only
 * (`RunStore.completeRunInDatabase`), so no transaction follows a parallel multi-shard statement
 * with a coordinator write (the error of issue #16) and the distributed work stays parallel.
 *
 * @param where the database's description, for messages.
 * @throws ConfigError (exit 2) when the citus extension is not installed, or when the staging
 *   tables are distributed but not co-located by `transaction_id`.
 */
export async function setUpCitus(db: SqlExecutor, where: string): Promise<CitusSetup> {
  const version = await citusVersion(db);
  if (version === undefined) {
    throw new ConfigError(
      `--citus: the citus extension is not installed in ${where} ` +
        '(CREATE EXTENSION citus; as a superuser on the coordinator, then run recon db init --citus again; ' +
        'see docs/postgres-engine.md)',
    );
  }
  const placement = async (
    table: string,
  ): Promise<{ method: string; column: string | null; colocation: number } | undefined> => {
    const [row] = await db.query<{ method: string; column: string | null; colocation: number }>(
      `SELECT partmethod::text AS method,
              CASE WHEN partmethod = 'h' THEN column_to_column_name(logicalrelid, partkey) END AS column,
              colocationid AS colocation
         FROM pg_dist_partition WHERE logicalrelid = to_regclass($1)`,
      [table],
    );
    return row;
  };
  const distributed: string[] = [];
  const processor = await placement(STAGING_TABLES.processor);
  if (processor === undefined) {
    await db.query(`SELECT create_distributed_table($1::regclass, 'transaction_id')`, [
      STAGING_TABLES.processor,
    ]);
    distributed.push(STAGING_TABLES.processor);
  }
  const internal = await placement(STAGING_TABLES.internal);
  if (internal === undefined) {
    await db.query(
      `SELECT create_distributed_table($1::regclass, 'transaction_id', colocate_with => $2)`,
      [STAGING_TABLES.internal, STAGING_TABLES.processor],
    );
    distributed.push(STAGING_TABLES.internal);
  }
  const [p, i] = [
    await placement(STAGING_TABLES.processor),
    await placement(STAGING_TABLES.internal),
  ];
  if (
    p?.method !== 'h' ||
    i?.method !== 'h' ||
    p.column !== 'transaction_id' ||
    i.column !== 'transaction_id' ||
    p.colocation !== i.colocation
  ) {
    throw new ConfigError(
      `--citus: ${STAGING_TABLES.processor} and ${STAGING_TABLES.internal} in ${where} must be ` +
        'hash-distributed by transaction_id and co-located; they hold no data between runs: ' +
        'drop both, run recon db init, then recon db init --citus',
    );
  }
  const [database] = await db.query<{ name: string }>(`SELECT current_database() AS name`);
  const name = database?.name ?? '';
  await db.query(
    `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET citus.multi_shard_modify_mode',
       current_database()); END $$`,
  );
  return { version, distributed, database: name };
}
