import { ConfigError } from '../domain/errors';
import type { Database } from './database';
import { STAGING_TABLES } from './sql-engine';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Tables the job writes rows into, and those it also updates (only the run's own status row). */
const INSERT_TABLES = [
  'discrepancies',
  'data_quality_checks',
  'deliveries',
  'system_health',
  'audit_log',
  'breaks',
  'break_events',
  'settlement_groups',
  'settlement_group_members',
  'bank_entries',
  'settlement_breaks',
  'settlement_break_events',
];
/**
 * Columns of `breaks` a run or `recon breaks resolve|reopen` changes: its lifecycle (status,
 * kind and identity when reclassified, the counterpart row, runs, resolution). Never its id,
 * processor, transaction id, origin date or first run.
 */
const BREAK_UPDATE_COLUMNS = [
  'status',
  'kind',
  'identity_scope',
  'side',
  'currency',
  'amount_minor',
  'amount',
  'processor_amount_minor',
  'processor_currency',
  'processor_status',
  'processor_canonical_status',
  'processor_created_at',
  'processor_merchant_id',
  'processor_description',
  'processor_line',
  'internal_amount_minor',
  'internal_currency',
  'internal_status',
  'internal_canonical_status',
  'internal_created_at',
  'internal_merchant_id',
  'internal_description',
  'internal_line',
  'last_seen_run_id',
  'reclassified_run_id',
  'resolved_run_id',
  'resolution',
  'lag_days',
  'resolved_by',
  'updated_at',
  'resolved_at',
];
/**
 * Columns of `settlement_breaks` a run or `recon payouts resolve|reopen` changes: its lifecycle
 * (status, kind, amounts as last seen, processor of the run that last saw a bank credit, runs,
 * resolution). Never its id, identity, subject, origin date or first run.
 */
const SETTLEMENT_BREAK_UPDATE_COLUMNS = [
  'status',
  'kind',
  'processor',
  'amount_minor',
  'amount',
  'difference_minor',
  'difference',
  'expected_date',
  'last_seen_run_id',
  'resolved_run_id',
  'resolution',
  'resolution_reason',
  'lag_days',
  'resolved_by',
  'updated_at',
  'resolved_at',
];
const UPDATE_TABLES = ['reconciliation_runs'];
/** Tables the job deletes from: expired health checks (RECON_HEALTH_RETENTION_DAYS). */
const DELETE_TABLES = ['system_health'];
const READ_ONLY = ['system_configuration'];
/** The postgres engine's staging tables: rows live only inside a run's transaction. */
const STAGING = [STAGING_TABLES.processor, STAGING_TABLES.internal];
const VIEWS = [
  'missing_transactions',
  'v_recent_reconciliations',
  'v_high_value_missing_transactions',
  'v_daily_reconciliation_metrics',
  'v_open_breaks',
  'v_break_ageing',
];

/**
 * Creates (if missing) an owner role (NOLOGIN) that owns the schema's objects and an app role
 * (LOGIN) the job connects as, then grants the app role exactly what the job needs: SELECT and
 * INSERT everywhere it writes (no UPDATE or DELETE on results: discrepancies, findings,
 * deliveries, audit_log, break_events, settlement_break_events), UPDATE only on
 * `reconciliation_runs` (whose trigger keeps a completed run's results final), on the lifecycle
 * columns of `breaks` and `settlement_breaks` and on
 * `discrepancies.break_id`, DELETE only on `system_health` (retention of health checks), and SELECT,
 * INSERT, DELETE on the postgres engine's staging tables (created by `applySchema`; no CREATE on
 * the schema). On `audit_log` no UPDATE, DELETE or TRUNCATE (the triggers reject those for
 * everyone; the missing privileges make it visible at login time too). Idempotent.
 * Requires a user that may create roles (superuser, or CREATEROLE and membership of the owner).
 * @throws ConfigError for a role name that is not a plain lower-case SQL identifier, or when the
 *   connected user may not create roles.
 */
export async function setUpRoles(
  db: Database,
  roles: { owner: string; app: string; appPassword?: string },
): Promise<void> {
  for (const name of [roles.owner, roles.app]) {
    if (!IDENTIFIER.test(name))
      throw new ConfigError(`role name '${name}' must be a lower-case SQL identifier`);
  }
  const { owner, app } = roles;
  const [me] = await db.query<{ role: string; allowed: boolean }>(
    `SELECT rolname AS role, rolsuper OR rolcreaterole AS allowed FROM pg_roles WHERE rolname = current_user`,
  );
  if (me?.allowed !== true) {
    throw new ConfigError(
      `role ${me?.role ?? 'current_user'} cannot run 'recon db init --roles': it needs CREATEROLE (or superuser)`,
    );
  }
  await db.withTransaction(async (tx) => {
    await tx.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${owner}') THEN CREATE ROLE ${owner} NOLOGIN; END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${app}') THEN CREATE ROLE ${app} LOGIN; END IF;
    END $$`);
    if (roles.appPassword) {
      // Parameters are not allowed in utility statements; quote the literal instead.
      const [{ literal } = { literal: "''" }] = await tx.query<{ literal: string }>(
        'SELECT quote_literal($1) AS literal',
        [roles.appPassword],
      );
      await tx.query(`ALTER ROLE ${app} PASSWORD ${literal}`);
    }
    const [{ schema } = { schema: 'public' }] = await tx.query<{ schema: string }>(
      'SELECT current_schema() AS schema',
    );
    const s = `"${schema.replace(/"/g, '""')}"`;
    const [{ member } = { member: false }] = await tx.query<{ member: boolean }>(
      `SELECT pg_has_role(current_user, '${owner}', 'MEMBER') AS member`,
    );
    if (!member) await tx.query(`GRANT ${owner} TO current_user`);
    // A new owner needs CREATE on the schema (PostgreSQL's rule for ALTER … OWNER TO).
    await tx.query(`GRANT USAGE, CREATE ON SCHEMA ${s} TO ${owner}`);
    for (const table of [...INSERT_TABLES, ...UPDATE_TABLES, ...READ_ONLY, ...STAGING]) {
      await tx.query(`ALTER TABLE ${s}.${table} OWNER TO ${owner}`);
    }
    for (const view of VIEWS) await tx.query(`ALTER VIEW ${s}.${view} OWNER TO ${owner}`);
    await tx.query(`GRANT USAGE ON SCHEMA ${s} TO ${app}`);
    await tx.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${app}`);
    await tx.query(
      `GRANT SELECT, INSERT ON ${INSERT_TABLES.map((t) => `${s}.${t}`).join(', ')} TO ${app}`,
    );
    await tx.query(
      `GRANT SELECT, INSERT, UPDATE ON ${UPDATE_TABLES.map((t) => `${s}.${t}`).join(', ')} TO ${app}`,
    );
    await tx.query(`GRANT UPDATE (${BREAK_UPDATE_COLUMNS.join(', ')}) ON ${s}.breaks TO ${app}`);
    await tx.query(
      `GRANT UPDATE (${SETTLEMENT_BREAK_UPDATE_COLUMNS.join(', ')}) ON ${s}.settlement_breaks TO ${app}`,
    );
    // A run links its discrepancies to their breaks in its own transaction (nothing else).
    await tx.query(`GRANT UPDATE (break_id) ON ${s}.discrepancies TO ${app}`);
    await tx.query(`GRANT DELETE ON ${DELETE_TABLES.map((t) => `${s}.${t}`).join(', ')} TO ${app}`);
    await tx.query(
      `GRANT SELECT, INSERT, DELETE ON ${STAGING.map((t) => `${s}.${t}`).join(', ')} TO ${app}`,
    );
    await tx.query(
      `GRANT SELECT ON ${[...READ_ONLY, ...VIEWS].map((t) => `${s}.${t}`).join(', ')} TO ${app}`,
    );
    await tx.query(`INSERT INTO audit_log (event, details) VALUES ('roles_granted', $1)`, [
      JSON.stringify({ owner, app }),
    ]);
  });
}
