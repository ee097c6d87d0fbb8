import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../domain/errors';
import type { Database } from './database';
import { ensureStagingTables, STAGING_TABLES } from './sql-engine';

/**
 * The schema version `setup.sql` writes into `system_configuration`. 4: a completed run's results
 * are final (trigger `reconciliation_runs_results_final`) and chained into its audit entry; the
 * postgres engine's staging tables are created by `recon db init`. 5: breaks across days
 * (`breaks`, append-only `break_events`, `discrepancies.break_id`, `v_open_breaks`,
 * `v_break_ageing`). 6: business-day cut-offs (`discrepancies.processor_business_date`,
 * `internal_business_date`; the staging tables' `business_day`) and the discrepancy kind
 * `fee_mismatch` (CHECKs of `discrepancies` and `breaks`, `reconciliation_runs.fee_mismatch_count`);
 * `deliveries.channel` also takes `slack`, `webhook`, `amqp` (issue #17); matching rules
 * (issue #14): rules file SHA-256 and content on the run, `matched_with_variance` and `ambiguous`
 * kinds, tier, candidates and references on discrepancies. 7: payouts and bank statements
 * (issue #15): `settlement_groups`, `settlement_group_members`, `bank_entries`, and side `bank`
 * for data-quality findings. 8: settlement breaks across days (issue #15): `settlement_breaks` and
 * append-only `settlement_break_events` (group and bank outcomes carried, aged, resolvable by hand).
 */
export const SCHEMA_VERSION = '8';

/** Tables `setup.sql` alters or replaces when they exist (ownership needed to apply it again). */
const SCHEMA_TABLES = [
  'reconciliation_runs',
  'discrepancies',
  'data_quality_checks',
  'audit_log',
  'deliveries',
  'system_health',
  'system_configuration',
  'breaks',
  'break_events',
  'settlement_groups',
  'settlement_group_members',
  'bank_entries',
  'settlement_breaks',
  'settlement_break_events',
  STAGING_TABLES.processor,
  STAGING_TABLES.internal,
];

/**
 * Checks that the connected role may apply `setup.sql` to the current schema: a superuser, or a
 * role with CREATE on the schema that owns (or is a member of the owner of) every existing table.
 * @throws ConfigError naming the role, the schema and what it lacks (exit 2), e.g. for the app role.
 */
export async function assertCanApplySchema(db: Database): Promise<void> {
  const [who] = await db.query<{ role: string; schema: string | null; superuser: boolean }>(
    `SELECT current_user AS role, current_schema() AS schema,
            coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser`,
  );
  if (!who || who.superuser || who.schema === null) return;
  const refuse = (reason: string): ConfigError =>
    new ConfigError(
      `role ${who.role} cannot run 'recon db init' on schema ${who.schema}: ${reason}; run it as the owner role or a superuser`,
    );
  const notOwned = await db.query<{ name: string; owner: string }>(
    `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner
       FROM pg_class c
      WHERE c.relnamespace = to_regnamespace(current_schema())
        AND c.relname = ANY($1::text[])
        AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
      ORDER BY array_position($1::text[], c.relname::text)`,
    [`{${SCHEMA_TABLES.join(',')}}`],
  );
  const first = notOwned[0];
  if (first) throw refuse(`it does not own table ${first.name} (owner ${first.owner})`);
  const [create] = await db.query<{ allowed: boolean }>(
    `SELECT has_schema_privilege(current_schema(), 'CREATE') AS allowed`,
  );
  if (create?.allowed !== true) throw refuse('it has no CREATE privilege on the schema');
}

/**
 * Creates the configured schema (`DB_SCHEMA`, the first entry of the session's `search_path`)
 * when it does not exist yet, so `recon db init` works on a fresh schema name as it does on
 * `public`. Does nothing when the current schema exists (or on PGlite, whose `public` always does).
 * @throws ConfigError naming the schema, the role and the database when the role may not create
 *   it (no CREATE privilege on the database), or when the search path names no plain schema.
 */
export async function ensureSchemaExists(db: Database): Promise<void> {
  const [state] = await db.query<{
    schema: string | null;
    path: string;
    role: string;
    database: string;
    allowed: boolean;
  }>(
    `SELECT current_schema() AS schema, current_setting('search_path') AS path,
            current_user AS role, current_database() AS database,
            has_database_privilege(current_database(), 'CREATE') AS allowed`,
  );
  if (!state || state.schema !== null) return;
  const wanted = state.path.split(',')[0]?.trim() ?? '';
  if (!/^[a-z_][a-z0-9_]*$/.test(wanted)) {
    throw new ConfigError(
      `database ${db.description}: the search path (${state.path}) names no existing schema; set DB_SCHEMA to a schema name`,
    );
  }
  if (!state.allowed) {
    throw new ConfigError(
      `schema ${wanted} does not exist in database ${db.description}, and role ${state.role} may not create it (no CREATE privilege on database ${state.database}); create it as the database owner: CREATE SCHEMA ${wanted} AUTHORIZATION ${state.role}`,
    );
  }
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${wanted}`);
}

/** Absolute path of `setup.sql` at the repository (package) root. */
export function setupSqlPath(): string {
  // From src/store (ts-jest) or dist/src/store (compiled) up to the package root.
  const candidates = [
    resolve(__dirname, '..', '..', 'setup.sql'),
    resolve(__dirname, '..', '..', '..', 'setup.sql'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new ConfigError(`setup.sql not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Applies `setup.sql` (idempotent; upgrades a database of an older schema version), creates the
 * postgres engine's staging tables, and records it in the audit log.
 * @throws ConfigError when the connected role may not do it (`assertCanApplySchema`).
 */
export async function applySchema(db: Database): Promise<void> {
  await ensureSchemaExists(db);
  await assertCanApplySchema(db);
  await db.execScript(readFileSync(setupSqlPath(), 'utf8'));
  await ensureStagingTables(db);
  await db.query(`INSERT INTO audit_log (event, details) VALUES ('schema_applied', $1)`, [
    JSON.stringify({ schema_version: SCHEMA_VERSION, backend: db.kind }),
  ]);
}

/**
 * Checks that the schema exists and has the expected version.
 * @throws ConfigError naming the database and telling the user to run `recon db init`.
 */
export async function assertSchema(db: Database): Promise<void> {
  const rows = await db.query<{ value: string }>(
    `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
  );
  const version = rows[0]?.value;
  if (version !== SCHEMA_VERSION) {
    throw new ConfigError(
      `database ${db.description} has schema version ${version ?? 'none'}, expected ${SCHEMA_VERSION}; run 'recon db init'`,
    );
  }
}

/** True when the reconciliation tables exist in the current schema at the current version. */
export async function hasCurrentSchema(db: Database): Promise<boolean> {
  const rows = await db.query<{ present: boolean }>(
    `SELECT to_regclass('system_configuration') IS NOT NULL AS present`,
  );
  if (rows[0]?.present !== true) return false;
  const version = await db.query<{ value: string }>(
    `SELECT value FROM system_configuration WHERE key = 'schema_version'`,
  );
  return version[0]?.value === SCHEMA_VERSION;
}
