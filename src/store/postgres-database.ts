import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { RunLockLostError } from '../domain/errors';
import type {
  CopyChunks,
  Database,
  RunLock,
  SqlExecutor,
  SqlValue,
  TransactionOptions,
} from './database';
import { readTlsFile } from './connection-url';
import { translateDatabaseError } from './store-errors';

/** How messages name the CA file setting (`readTlsFile`). */
const ROOT_CERT = 'DB_SSLROOTCERT: file';

/** Connection settings for a PostgreSQL server. Timeouts in milliseconds. */
export interface PostgresSettings {
  /** `postgres://user:pass@host:port/db`, or the discrete fields below. */
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
  /** Schema holding the tables (search_path); default `public`. */
  readonly schema: string;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly poolSize: number;
  /**
   * TLS to the server (libpq's sslmode words): `disable`, `require` (encrypted, certificate not
   * checked), `verify-ca` (signed by `sslRootCert`), `verify-full` (and the host name matches).
   * Unset: as the connection string says (`?sslmode=…`), else no TLS.
   */
  readonly sslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM file of the CA that signed the server certificate, for `verify-ca`/`verify-full`. */
  readonly sslRootCert?: string;
}

/**
 * The `ssl` option of `pg` for `settings.sslMode` (see `PostgresSettings.sslMode`).
 * @throws ConfigError naming DB_SSLROOTCERT when the CA file cannot be read.
 */
export function sslConfig(settings: PostgresSettings): pg.ClientConfig['ssl'] {
  switch (settings.sslMode) {
    case undefined:
      return undefined;
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return {
        rejectUnauthorized: true,
        ca: settings.sslRootCert ? readTlsFile(settings.sslRootCert, ROOT_CERT) : undefined,
        checkServerIdentity: () => undefined,
      };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        ca: settings.sslRootCert ? readTlsFile(settings.sslRootCert, ROOT_CERT) : undefined,
      };
  }
}

function clientConfig(settings: PostgresSettings): pg.ClientConfig {
  return {
    connectionString: settings.connectionString,
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 5000,
    application_name: applicationName('recon', settings.schema),
    options: `-c search_path=${settings.schema}`,
    ssl: sslConfig(settings),
    // A silently dropped peer (failover, NAT timeout) is noticed instead of waited on forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** Application name of the run-lock sessions in `pg_stat_activity` (one per running run). */
export const RUN_LOCK_APPLICATION_NAME = 'recon-run-lock';

/**
 * `base` for the default schema (`public`), else `base:<schema>`: the sessions of deployments
 * that share a database in separate schemas are told apart in `pg_stat_activity`.
 */
export function applicationName(base: string, schema: string): string {
  return schema === 'public' ? base : `${base}:${schema}`;
}

/**
 * The advisory-lock key of the run lock `key` in `schema`: `key` itself in `public`, else
 * `<schema>/<key>`, so runs of the same date and processor in two schemas of one database (two
 * deployments) do not block each other.
 */
export function runLockKey(key: string, schema: string): string {
  return schema === 'public' ? key : `${schema}/${key}`;
}

/**
 * A session-level advisory lock held by a dedicated connection (the run's "lock session").
 * `lostReason` is set as soon as that connection reports an error or ends: the server released
 * the lock then. The run's final transaction runs ON this session (`withTransaction` with
 * `{ lock }`), so it can only commit while the session, and thus the lock, is alive.
 */
class AdvisoryRunLock implements RunLock {
  lostReason: string | null = null;
  private released = false;

  constructor(
    readonly client: pg.Client,
    readonly key: string,
    readonly owner: PostgresDatabase,
  ) {
    client.on('error', (error: Error) => {
      this.lostReason ??= error.message.split('\n')[0] ?? 'connection error';
    });
    client.on('end', () => {
      this.lostReason ??= 'the connection ended';
    });
  }

  assertHeld(): void {
    if (this.released) throw new RunLockLostError(`the run lock ${this.key} was released`);
    if (this.lostReason !== null) throw this.lostError();
  }

  lostError(cause?: unknown): RunLockLostError {
    return new RunLockLostError(
      `the run lock was lost before the run committed: its database session ended (${this.lostReason ?? 'lock not held'}); the run was rolled back, run it again`,
      { cause },
    );
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.lostReason === null) {
      await this.client
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key])
        .catch(() => undefined);
    }
    await this.client.end().catch(() => undefined);
  }
}

// Is the advisory lock of $1 (taken with pg_try_advisory_lock(hashtextextended($1, 0))) held by
// THIS session? A bigint advisory key shows in pg_locks as classid = high 32 bits, objid = low 32
// bits, objsubid = 1.
const LOCK_HELD_SQL = `
  SELECT EXISTS (
    SELECT 1 FROM pg_locks l, (SELECT hashtextextended($1, 0) AS k) key
     WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_backend_pid()
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.objsubid = 1
       AND l.classid = ((key.k >> 32) & 4294967295)::oid
       AND l.objid = (key.k & 4294967295)::oid
  ) AS held`;

/** `host:port/database` of the settings, for messages (never the password or full URL). */
export function describePostgres(settings: PostgresSettings): string {
  if (settings.connectionString) {
    try {
      const url = new URL(settings.connectionString);
      return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
    } catch {
      return 'postgres (DATABASE_URL)';
    }
  }
  return `${settings.host ?? 'localhost'}:${settings.port ?? 5432}/${settings.database ?? ''}`;
}

class PgExecutor implements SqlExecutor {
  constructor(
    private readonly client: pg.Pool | pg.PoolClient | pg.Client,
    readonly description: string,
    /** Inside a transaction: no new statement starts once it aborted. */
    private readonly signal?: AbortSignal,
  ) {}

  async query<Row extends object>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    this.signal?.throwIfAborted();
    try {
      const result = await this.client.query<Row>(sql, params as SqlValue[]);
      return result.rows;
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
  }

  async copyFrom(table: string, columns: readonly string[], chunks: CopyChunks): Promise<number> {
    if (this.client instanceof pg.Pool) {
      let client: pg.PoolClient;
      try {
        client = await this.client.connect();
      } catch (error) {
        throw translateDatabaseError(error, this.description);
      }
      // The connection may die mid-COPY: the error is the COPY's to report, not a crash.
      const onError = (): void => undefined;
      client.on('error', onError);
      let broken = false;
      try {
        return await new PgExecutor(client, this.description).copyFrom(table, columns, chunks);
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
    this.signal?.throwIfAborted();
    const stream = this.client.query(
      copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`),
    );
    try {
      // pipeline gives both streams an error handler; a dying connection rejects it.
      await pipeline(Readable.from(chunks), stream);
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
    return stream.rowCount;
  }
}

/**
 * A PostgreSQL server reached through a `pg` pool, with bounded connect and statement timeouts.
 * Errors are translated by `translateDatabaseError` (unreachable → exit 3).
 */
export class PostgresDatabase extends PgExecutor implements Database {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(private readonly settings: PostgresSettings) {
    const pool = new pg.Pool({ ...clientConfig(settings), max: settings.poolSize });
    const description = describePostgres(settings);
    super(pool, description);
    this.pool = pool;
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
  }

  /**
   * Runs `fn` in one transaction on a pool connection, or, with `options.lock` (a lock of this
   * database), on the lock's own session. That is how exclusivity is re-verified at commit: the
   * session that holds the advisory lock is the one that commits, and just before COMMIT it checks
   * in `pg_locks` that it still holds the lock. If the lock session died at any point (before or
   * during the transaction), the server released the lock AND rolled this transaction back, so a
   * run whose lock was lost can never commit; that fails with `RunLockLostError` (exit 3). A check
   * from another connection (pid in `pg_locks`) would leave a window between check and COMMIT and
   * be fooled by a reused pid.
   * `options.signal` aborting cancels the running statement (`pg_cancel_backend` from a pool
   * connection), rolls back and rejects with the signal's reason.
   * Connection errors while the client is checked out are handled (never an unhandled 'error').
   */
  async withTransaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const { signal } = options;
    const lock =
      options.lock instanceof AdvisoryRunLock && options.lock.owner === this
        ? options.lock
        : undefined;
    options.lock?.assertHeld();
    signal?.throwIfAborted();
    let client: pg.Client | pg.PoolClient;
    if (lock) client = lock.client;
    else {
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw translateDatabaseError(error, this.description);
      }
    }
    let connectionError: Error | null = null;
    const onError = (error: Error): void => {
      connectionError ??= error;
    };
    client.on('error', onError);
    let cancelling: Promise<unknown> = Promise.resolve();
    const onAbort = (): void => {
      const pid = (client as { processID?: number | null }).processID;
      if (typeof pid === 'number') {
        cancelling = this.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let broken = false;
    let begun = false;
    try {
      await client.query('BEGIN');
      begun = true;
      const result = await fn(new PgExecutor(client, this.description, signal));
      signal?.throwIfAborted();
      if (options.lock) {
        options.lock.assertHeld();
        if (lock) {
          const held = await client.query<{ held: boolean }>(LOCK_HELD_SQL, [lock.key]);
          if (held.rows[0]?.held !== true) {
            lock.lostReason ??= 'lock not held by the session any more';
            throw lock.lostError();
          }
        }
      }
      await client.query('COMMIT');
      return result;
    } catch (error) {
      signal?.removeEventListener('abort', onAbort);
      // A cancel still on its way must hit this transaction, not a later statement.
      await cancelling;
      if (connectionError || lock?.lostReason) broken = true;
      else {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
      }
      if (signal?.aborted) throw signal.reason;
      // The lock session found dead before the transaction began: the lock was lost while the run
      // was reading and matching. Dying during the transaction is the database's failure.
      if (lock?.lostReason && !begun && !(error instanceof RunLockLostError))
        throw lock.lostError(error);
      throw translateDatabaseError(error, this.description);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      client.removeListener('error', onError);
      if (!lock) (client as pg.PoolClient).release(broken);
    }
  }

  async execScript(sql: string): Promise<void> {
    await this.query(sql);
  }

  /**
   * Session-level advisory lock on a dedicated connection (application_name `recon-run-lock`,
   * `recon-run-lock:<schema>` outside `public`; key `runLockKey`);
   * released on unlock or disconnect. The session is kept alive: TCP keepalives, and neither
   * `idle_session_timeout` nor `idle_in_transaction_session_timeout` apply to it. Should it die
   * anyway, the lock is reported lost and the run cannot commit (see `withTransaction`).
   */
  async tryLock(key: string): Promise<RunLock | null> {
    const client = new pg.Client({
      ...clientConfig(this.settings),
      application_name: applicationName(RUN_LOCK_APPLICATION_NAME, this.settings.schema),
    });
    const lockKey = runLockKey(key, this.settings.schema);
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`SET idle_in_transaction_session_timeout = 0`);
      // PostgreSQL 14+; older servers have no idle session timeout to disable.
      await client.query(`SET idle_session_timeout = 0`).catch(() => undefined);
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [lockKey],
      );
      if (result.rows[0]?.locked !== true) {
        await client.end();
        return null;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw translateDatabaseError(error, this.description);
    }
    return new AdvisoryRunLock(client, lockKey, this);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
