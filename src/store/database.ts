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
   * the number of rows written. `chunks` may be asynchronous (the postgres engine streams rows
   * into its staging tables as they are parsed); an error it throws ends the COPY, which then
   * writes nothing, and is rethrown as it is.
   */
  copyFrom(table: string, columns: readonly string[], chunks: CopyChunks): Promise<number>;
}

/** What `SqlExecutor.copyFrom` reads: CSV text in pieces, synchronously or not. */
export type CopyChunks = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** A value bound to a query parameter. Money travels as decimal or integer strings, never floats. */
export type SqlValue = string | number | boolean | null;

/**
 * A held run lock (one run per business date and processor). `release` is idempotent.
 * A lock can be lost while held: its database session ends (server `idle_session_timeout`,
 * failover, `pg_terminate_backend`) or its lock file is taken over as stale. A lost lock is not a
 * lock: the run's final transaction re-verifies it (`TransactionOptions.lock`) and does not commit.
 */
export interface RunLock {
  release(): Promise<void>;
  /** @throws RunLockLostError when the lock is already known to be lost. */
  assertHeld(): void;
}

/** Options of `Database.withTransaction`. */
export interface TransactionOptions {
  /**
   * The run lock the transaction's commit depends on: the transaction commits only if the lock is
   * still held at its end, else it rolls back with `RunLockLostError` (see each implementation).
   */
  readonly lock?: RunLock;
  /**
   * Aborting it (SIGTERM/SIGINT) cancels the running statement, rolls back and rejects with the
   * signal's reason (an `InterruptedError`).
   */
  readonly signal?: AbortSignal;
}

/** A database: the executor plus transactions, scripts, run locks and shutdown. */
export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Where it is, for messages: host/port/database or the PGlite directory (never a password). */
  readonly description: string;
  /**
   * Runs `fn` in one transaction: commits when it resolves, rolls back when it throws, when
   * `options.signal` aborts or when `options.lock` turns out to be lost (see `TransactionOptions`).
   */
  withTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Runs a multi-statement SQL script (e.g. `setup.sql`). */
  execScript(sql: string): Promise<void>;
  /**
   * Tries to take the exclusive lock named `key` without waiting: a PostgreSQL advisory lock on a
   * dedicated connection, or a lock file for PGlite. Returns `null` when someone else holds it.
   */
  tryLock(key: string): Promise<RunLock | null>;
  close(): Promise<void>;
}
