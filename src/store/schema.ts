import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../domain/errors';
import type { Database } from './database';

/** The schema version `setup.sql` writes into `system_configuration`. */
export const SCHEMA_VERSION = '3';

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

/** Applies `setup.sql` (idempotent) and records it in the audit log. */
export async function applySchema(db: Database): Promise<void> {
  await db.execScript(readFileSync(setupSqlPath(), 'utf8'));
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
