import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../helpers/cli';
import { createTestSchema, dropTestSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { stderrMessages } from '../helpers/one-line-error';
import { citusVersion } from '../../src/store/citus';

/**
 * `recon db init --citus` (issue #16) on databases without Citus (there is no Citus package on
 * these machines): one clear exit-2 line naming the database, no stack trace, and the schema
 * itself still applied (the staging tables exist, not distributed).
 */

const work = mkdtempSync(join(tmpdir(), 'recon-e2e-citus-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('recon db init --citus without Citus', () => {
  it('refuses on the embedded database with one exit-2 line naming it', async () => {
    const dir = join(work, 'pgdata');
    const result = await runCli(['db', 'init', '--citus'], { RECON_PGLITE_DIR: dir });
    expect({ code: result.code, ...stderrMessages(result) }).toEqual({
      code: 2,
      lines: [
        `recon: --citus: the citus extension is not installed in embedded PGlite at ${dir} (CREATE EXTENSION citus; ` +
          'as a superuser on the coordinator, then run recon db init --citus again; see ' +
          'docs/postgres-engine.md)',
      ],
      stackTrace: false,
    });
    expect(result.stdout).toBe(`schema applied to embedded PGlite at ${dir}\n`);
  });

  (TEST_DATABASE_URL ? describe : describe.skip)('on a PostgreSQL server', () => {
    let schema = '';
    beforeAll(async () => {
      schema = await createTestSchema('recon_e2e_citus');
    });
    afterAll(async () => dropTestSchema(schema));

    it('refuses with one exit-2 line naming the server, after applying the schema', async () => {
      const env = { DATABASE_URL: TEST_DATABASE_URL ?? '', DB_SCHEMA: schema };
      const result = await runCli(['db', 'init', '--citus'], env);
      const where = result.stdout.replace(/^schema applied to /, '').trim();
      expect({ code: result.code, ...stderrMessages(result) }).toEqual({
        code: 2,
        lines: [
          `recon: --citus: the citus extension is not installed in ${where} (CREATE EXTENSION ` +
            'citus; as a superuser on the coordinator, then run recon db init --citus again; see ' +
            'docs/postgres-engine.md)',
        ],
        stackTrace: false,
      });
      expect(where).toMatch(/^127\.0\.0\.1:5432\//);
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        const executor = {
          query: async <Row extends object>(sql: string): Promise<Row[]> =>
            (await client.query<Row>(sql)).rows,
        };
        expect(await citusVersion(executor)).toBeUndefined();
        const tables = await client.query<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables
            WHERE table_schema = $1 AND table_name LIKE 'recon_stage_%' ORDER BY 1`,
          [schema],
        );
        expect(tables.rows).toEqual([
          { name: 'recon_stage_internal' },
          { name: 'recon_stage_processor' },
        ]);
      } finally {
        await client.end();
      }
    });
  });
});
