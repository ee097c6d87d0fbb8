import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/store/database-config';

/** A database backend under test: embedded PGlite always, a server when TEST_DATABASE_URL is set. */
export interface TestBackend {
  readonly name: 'pglite' | 'postgres';
  /** Configuration for the store; for the server, a fresh schema of its own. */
  config(): Promise<DatabaseConfig>;
  /** Drops what `config` created. */
  cleanup(): Promise<void>;
}

/** The server URL for tests, or undefined (then server tests are skipped). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

/** Creates a uniquely named schema on the test server and returns its name. */
export async function createTestSchema(prefix: string): Promise<string> {
  const schema = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return schema;
}

/** Drops a schema created by `createTestSchema`. */
export async function dropTestSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** The backends to run store tests against. */
export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [
    {
      name: 'pglite',
      config: () =>
        Promise.resolve({
          kind: 'pglite',
          settings: {
            dataDir: 'memory://',
            lockDir: join(mkdtempSync(join(tmpdir(), 'recon-locks-')), 'locks'),
            dirLockWaitMs: 1000,
          },
        }),
      cleanup: () => Promise.resolve(),
    },
  ];
  if (TEST_DATABASE_URL) {
    let schema: string | undefined;
    backends.push({
      name: 'postgres',
      config: async () => {
        schema = await createTestSchema('recon_test');
        return {
          kind: 'postgres',
          settings: {
            connectionString: TEST_DATABASE_URL,
            schema,
            connectTimeoutMs: 5000,
            statementTimeoutMs: 60000,
            poolSize: 4,
          },
        };
      },
      cleanup: async () => {
        if (schema) await dropTestSchema(schema);
      },
    });
  }
  return backends;
}
