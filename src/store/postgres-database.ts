import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { Database, RunLock, SqlExecutor, SqlValue } from './database';
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
    application_name: 'recon',
    options: `-c search_path=${settings.schema}`,
    ssl: sslConfig(settings),
  };
}

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
    private readonly client: pg.Pool | pg.PoolClient,
    readonly description: string,
  ) {}

  async query<Row extends object>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    try {
      const result = await this.client.query<Row>(sql, params as SqlValue[]);
      return result.rows;
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
  }

  async copyFrom(
    table: string,
    columns: readonly string[],
    chunks: Iterable<string | Uint8Array>,
  ): Promise<number> {
    if (!('release' in this.client)) {
      const client = await this.client.connect();
      try {
        return await new PgExecutor(client, this.description).copyFrom(table, columns, chunks);
      } finally {
        client.release();
      }
    }
    const stream = this.client.query(
      copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`),
    );
    try {
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

  async withTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDatabaseError(error, this.description);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(new PgExecutor(client, this.description));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw translateDatabaseError(error, this.description);
    } finally {
      client.release(broken);
    }
  }

  async execScript(sql: string): Promise<void> {
    await this.query(sql);
  }

  /** Session-level advisory lock on a dedicated connection; released on unlock or disconnect. */
  async tryLock(key: string): Promise<RunLock | null> {
    const client = new pg.Client(clientConfig(this.settings));
    client.on('error', () => undefined);
    try {
      await client.connect();
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [key],
      );
      if (result.rows[0]?.locked !== true) {
        await client.end();
        return null;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw translateDatabaseError(error, this.description);
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await client
          .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
          .catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
