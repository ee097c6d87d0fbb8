import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import lockfile from 'proper-lockfile';
import { DependencyUnavailableError, RunLockLostError } from '../domain/errors';
import type {
  CopyChunks,
  Database,
  RunLock,
  SqlExecutor,
  SqlValue,
  TransactionOptions,
} from './database';
import { translateDatabaseError } from './store-errors';

/** Settings of the embedded store. `dataDir` `memory://` keeps everything in memory (tests). */
export interface PgliteSettings {
  /** PGlite data directory (default `.recon/pgdata`), or `memory://`. */
  readonly dataDir: string;
  /** Directory for run-lock files (default: `<dataDir>/../locks`). */
  readonly lockDir: string;
  /** How long to wait for another recon process to release the data directory, in ms. */
  readonly dirLockWaitMs: number;
}

type PgliteLike = Pick<PGlite, 'query'> | PGliteTransaction;

class PgliteExecutor implements SqlExecutor {
  constructor(
    protected readonly db: PgliteLike,
    readonly description: string,
    /** Inside a transaction: no new statement starts once it aborted. */
    private readonly signal?: AbortSignal,
  ) {}

  async query<Row extends object>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    this.signal?.throwIfAborted();
    try {
      const result = await this.db.query<Row>(sql, params as SqlValue[]);
      return result.rows;
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
  }

  async copyFrom(table: string, columns: readonly string[], chunks: CopyChunks): Promise<number> {
    this.signal?.throwIfAborted();
    // PGlite reads a COPY from one blob: an asynchronous source is collected first (PGlite is
    // for small databases and tests; the server streams).
    let parts: (string | Uint8Array)[];
    if (Symbol.asyncIterator in chunks) {
      parts = [];
      for await (const chunk of chunks) parts.push(chunk);
    } else parts = Array.from(chunks);
    const blob = new Blob(parts);
    try {
      const result = await this.db.query(
        `COPY ${table} (${columns.join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`,
        [],
        { blob },
      );
      return result.affectedRows ?? 0;
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
  }
}

/**
 * Embedded PostgreSQL (PGlite, https://pglite.dev/docs/) persisted in a directory: the zero-setup
 * default. One process at a time may open a directory: `open` waits up to `dirLockWaitMs` for a
 * lock file held by another recon process, then fails with `DependencyUnavailableError`.
 */
export class PgliteDatabase extends PgliteExecutor implements Database {
  readonly kind = 'pglite' as const;

  private constructor(
    private readonly pglite: PGlite,
    description: string,
    private readonly settings: PgliteSettings,
    private readonly releaseDir: () => Promise<void>,
  ) {
    super(pglite, description);
  }

  /** Opens (creating if needed) the embedded database described by `settings`. */
  static async open(settings: PgliteSettings): Promise<PgliteDatabase> {
    const inMemory = settings.dataDir.startsWith('memory://');
    const description = inMemory
      ? 'embedded PGlite (in memory)'
      : `embedded PGlite at ${settings.dataDir}`;
    let releaseDir: () => Promise<void> = () => Promise.resolve();
    if (!inMemory) {
      const dir = resolve(settings.dataDir);
      await mkdir(dir, { recursive: true });
      try {
        releaseDir = await lockfile.lock(dir, {
          realpath: false,
          stale: 30_000,
          update: 10_000,
          retries: {
            retries: Math.ceil(settings.dirLockWaitMs / 1000),
            minTimeout: 1000,
            maxTimeout: 1000,
            factor: 1,
          },
        });
      } catch (error) {
        throw new DependencyUnavailableError(
          'database',
          `${description} is in use by another recon process (waited ${settings.dirLockWaitMs} ms)`,
          { cause: error },
        );
      }
    }
    try {
      const pglite = await PGlite.create(inMemory ? undefined : resolve(settings.dataDir));
      return new PgliteDatabase(pglite, description, settings, releaseDir);
    } catch (error) {
      await releaseDir().catch(() => undefined);
      throw new DependencyUnavailableError(
        'database',
        `${description} cannot be opened: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * One transaction (PGlite runs in this process: there is no other session to lose). Before
   * COMMIT it re-verifies `options.lock` (a lock file whose refresh failed or that was taken over
   * as stale is lost: `RunLockLostError`) and `options.signal`; either rolls back. A statement that
   * is already running (PGlite cannot cancel one) finishes first; no further statement starts.
   */
  async withTransaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const { lock, signal } = options;
    lock?.assertHeld();
    signal?.throwIfAborted();
    try {
      return await this.pglite.transaction(async (tx) => {
        const result = await fn(new PgliteExecutor(tx, this.description, signal));
        signal?.throwIfAborted();
        lock?.assertHeld();
        return result;
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw translateDatabaseError(error, this.description);
    }
  }

  async execScript(sql: string): Promise<void> {
    try {
      await this.pglite.exec(sql);
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
  }

  /** A lock file `<lockDir>/<key>.lock`; stale after 30 s without its owner refreshing it. */
  async tryLock(key: string): Promise<RunLock | null> {
    return tryFileLock(this.settings.lockDir, key);
  }

  async close(): Promise<void> {
    await this.pglite.close();
    await this.releaseDir().catch(() => undefined);
  }
}

/**
 * Takes the lock file for `key` under `lockDir` without waiting (proper-lockfile: an atomic
 * `mkdir`, refreshed while held, considered stale 30 s after its owner died). `null` if held.
 * If refreshing it fails or another process took it over as stale, the lock is lost (no crash):
 * `assertHeld` then throws `RunLockLostError` and the run's final transaction does not commit.
 */
export async function tryFileLock(lockDir: string, key: string): Promise<RunLock | null> {
  await mkdir(lockDir, { recursive: true });
  const target = join(lockDir, key.replace(/[^A-Za-z0-9_.-]/g, '_'));
  let lost: string | null = null;
  try {
    const release = await lockfile.lock(target, {
      realpath: false,
      stale: 30_000,
      update: 10_000,
      retries: 0,
      onCompromised: (error: Error) => {
        lost ??= error.message;
      },
    });
    let released = false;
    return {
      assertHeld: () => {
        if (lost !== null)
          throw new RunLockLostError(
            `the run lock was lost before the run committed: lock file ${target}.lock: ${lost}; the run was rolled back, run it again`,
          );
      },
      release: async () => {
        if (released) return;
        released = true;
        await release().catch(() => undefined);
      },
    };
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') return null;
    throw error;
  }
}
