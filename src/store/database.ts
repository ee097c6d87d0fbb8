/**
 * The database port: what the store needs from PostgreSQL, implemented by a `pg` server
 * connection (`postgres-database.ts`) and by embedded PGlite (`pglite-database.ts`).
 * Row types never leave `store/`.
 */

/** Runs SQL. Parameters are `$1…$n`; values are strings, numbers, booleans or null. */
export interface SqlExecutor {
  query<Row extends object>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /**
   * Bulk-loads rows with `COPY table (columns) FROM STDIN (FORMAT csv)`. `chunks` yields CSV
   * text, as strings or UTF-8 bytes, each ending at a row boundary (see `copy-csv.ts`). Returns
   * the number of rows written.
   */
  copyFrom(
    table: string,
    columns: readonly string[],
    chunks: Iterable<string | Uint8Array>,
  ): Promise<number>;
}

/** A value bound to a query parameter. Money travels as decimal or integer strings, never floats. */
export type SqlValue = string | number | boolean | null;

/** A held run lock; `release` is idempotent. */
export interface RunLock {
  release(): Promise<void>;
}

/** A database: the executor plus transactions, scripts, run locks and shutdown. */
export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Where it is, for messages: host/port/database or the PGlite directory (never a password). */
  readonly description: string;
  /** Runs `fn` in one transaction: commits when it resolves, rolls back when it throws. */
  withTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a multi-statement SQL script (e.g. `setup.sql`). */
  execScript(sql: string): Promise<void>;
  /**
   * Tries to take the exclusive lock named `key` without waiting: a PostgreSQL advisory lock on a
   * dedicated connection, or a lock file for PGlite. Returns `null` when someone else holds it.
   */
  tryLock(key: string): Promise<RunLock | null>;
  close(): Promise<void>;
}
