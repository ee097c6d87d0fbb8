import type { DatabaseConfig } from '../../src/store/database-config';
import { AmbiguousIdError, NotFoundError, UsageError } from '../../src/domain/errors';
import type { Database } from '../../src/store/database';
import { openDatabase } from '../../src/store/open-store';
import { tryFileLock } from '../../src/store/pglite-database';
import { RunStore } from '../../src/store/run-store';
import { testBackends } from '../helpers/databases';

// Crafted ids: two sharing the 8-character prefix abcd1234 (and 35 of their 36 characters), a
// neighbour one digit off, a lone one, and twelve sharing cafe0000 (more than a message lists).
const TWIN_A = 'abcd1234-0000-4000-8000-000000000001';
const TWIN_B = 'abcd1234-0000-4000-8000-000000000002';
const NEIGHBOUR = 'abcd1235-0000-4000-8000-000000000001';
const LONE = 'feed5678-9abc-4def-8123-456789abcdef';
const CROWD = Array.from(
  { length: 12 },
  (_, i) => `cafe0000-0000-4000-8000-${String(i).padStart(12, '0')}`,
);

/** The error `promise` rejects with, to assert its class and every field. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.each(testBackends())('resolving short run ids on $name', (backend) => {
  let config: DatabaseConfig;
  let db: Database;
  let store: RunStore;

  beforeAll(async () => {
    config = await backend.config();
    db = await openDatabase(config, { initialise: true });
    const lockDir = config.kind === 'pglite' ? config.settings.lockDir : '';
    store = new RunStore(
      () => Promise.resolve(db),
      (key) => (config.kind === 'pglite' ? tryFileLock(lockDir, key) : db.tryLock(key)),
    );
    const ids = [TWIN_A, TWIN_B, NEIGHBOUR, LONE, ...CROWD];
    for (const [index, id] of ids.entries()) {
      await db.query(
        `INSERT INTO reconciliation_runs (id, run_date, processor_name, status, end_time, error_message)
         VALUES ($1, DATE '2025-09-01' + $2::int, 'stripe', 'failed', now(), 'crafted for a test')`,
        [id, index],
      );
    }
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  it('resolves a full id to itself, and a run started by the store by its first 8 characters', async () => {
    await expect(store.resolveRunId(LONE)).resolves.toBe(LONE);
    const started = await store.startRun({
      businessDate: '2025-10-01',
      processor: 'paypal',
      processorSource: 'p.csv',
      internalSource: 'i.csv',
      appVersion: 'test',
    });
    await expect(store.resolveRunId(started.slice(0, 8))).resolves.toBe(started);
  });

  it('resolves a unique 8-character prefix, and a longer one that tells two twins apart', async () => {
    await expect(store.resolveRunId('feed5678')).resolves.toBe(LONE);
    await expect(store.resolveRunId('abcd1234-0000-4000-8000-000000000002')).resolves.toBe(TWIN_B);
    await expect(store.resolveRunId('abcd1235')).resolves.toBe(NEIGHBOUR);
  });

  it('accepts uppercase and surrounding blanks', async () => {
    await expect(store.resolveRunId('FEED5678')).resolves.toBe(LONE);
    await expect(store.resolveRunId(` ${TWIN_A.toUpperCase()}\n`)).resolves.toBe(TWIN_A);
  });

  it('refuses an ambiguous prefix, naming every run it matches in order', async () => {
    for (const prefix of ['abcd1234', 'ABCD1234-0000-4000-8000-00000000000']) {
      const error = await rejection(store.resolveRunId(prefix));
      expect(error).toBeInstanceOf(AmbiguousIdError);
      const lower = prefix.toLowerCase();
      expect({ ...(error as AmbiguousIdError), message: (error as Error).message }).toEqual({
        name: 'AmbiguousIdError',
        code: 'USAGE',
        prefix: lower,
        matches: [TWIN_A, TWIN_B],
        message: `run id prefix '${lower}' is ambiguous: ${TWIN_A}, ${TWIN_B}`,
      });
    }
  });

  it('names at most ten matches of an ambiguous prefix and counts the rest', async () => {
    const error = await rejection(store.resolveRunId('cafe0000'));
    expect(error).toBeInstanceOf(AmbiguousIdError);
    expect((error as AmbiguousIdError).matches).toEqual(CROWD.slice(0, 10));
    expect((error as Error).message).toBe(
      `run id prefix 'cafe0000' is ambiguous: ${CROWD.slice(0, 10).join(', ')}, and 2 more`,
    );
  });

  it('refuses a prefix shorter than 8 characters even when it is unique', async () => {
    const error = await rejection(store.resolveRunId('feed567'));
    expect(error).toBeInstanceOf(UsageError);
    expect(error).not.toBeInstanceOf(AmbiguousIdError);
    expect((error as Error).message).toBe(
      "run id prefix 'feed567' is too short: give at least 8 characters of the run id",
    );
  });

  it('says no run matches a well-formed prefix or full id that names none', async () => {
    const prefix = await rejection(store.resolveRunId('deadbeef'));
    expect(prefix).toBeInstanceOf(NotFoundError);
    expect((prefix as Error).message).toBe("no run id starts with 'deadbeef'");
    const full = await rejection(store.resolveRunId('00000000-0000-0000-0000-000000000000'));
    expect(full).toBeInstanceOf(NotFoundError);
    expect((full as Error).message).toBe("no run with id '00000000-0000-0000-0000-000000000000'");
  });

  it('treats LIKE wildcards and other text as a usage error, never as a pattern', async () => {
    for (const input of ['abcd%', 'abcd1234%', '________', 'abcd_234', 'abcd\\1234', "x' OR 1=1"]) {
      const error = await rejection(store.resolveRunId(input));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(
        `run id '${input}' is not a run id or a prefix of one: use hex digits and dashes, e.g. the first 8 characters`,
      );
    }
    const tooLong = await rejection(store.resolveRunId(`${LONE}0`));
    expect((tooLong as Error).message).toBe(
      `run id '${LONE}0' is not a run id or a prefix of one: use hex digits and dashes, e.g. the first 8 characters`,
    );
  });
});
