import type { DatabaseConfig } from './database-config';
import type { Database } from './database';
import { PgliteDatabase, tryFileLock } from './pglite-database';
import { PostgresDatabase } from './postgres-database';
import { RunStore } from './run-store';
import { applySchema, assertSchema, hasCurrentSchema } from './schema';

/**
 * Opens the configured database. PGlite gets `setup.sql` applied when missing or older (zero setup); a
 * server must have been initialised with `recon db init` (`assertSchema`), unless `initialise`.
 * @throws DependencyUnavailableError (unreachable), ConfigError (schema missing).
 */
export async function openDatabase(
  config: DatabaseConfig,
  options: { initialise?: boolean } = {},
): Promise<Database> {
  const db: Database =
    config.kind === 'postgres'
      ? new PostgresDatabase(config.settings)
      : await PgliteDatabase.open(config.settings);
  try {
    if (options.initialise || (config.kind === 'pglite' && !(await hasCurrentSchema(db))))
      await applySchema(db);
    else await assertSchema(db);
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A `RunStore` on the configured database, opened lazily. For PGlite, run locks are lock files
 * that do not need the database; for a server they are advisory locks.
 */
export function createRunStore(config: DatabaseConfig): RunStore {
  if (config.kind === 'pglite') {
    const lockDir = config.settings.lockDir;
    return new RunStore(
      () => openDatabase(config),
      (key) => tryFileLock(lockDir, key),
    );
  }
  const store: RunStore = new RunStore(
    () => openDatabase(config),
    async (key) => (await store.database()).tryLock(key),
  );
  return store;
}
