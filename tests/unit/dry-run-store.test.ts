import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dryRunStore } from '../../src/job/run-reconciliation';
import { RunStore } from '../../src/store/run-store';

describe('dryRunStore: where a dry run reads its breaks from', () => {
  const work = mkdtempSync(join(tmpdir(), 'recon-dry-store-'));
  const pglite = (dataDir: string) =>
    ({
      kind: 'pglite',
      settings: { dataDir, lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
    }) as const;

  it('reads nothing when the embedded database does not exist yet, and does not create it', () => {
    const dir = join(work, 'never', 'pgdata');
    expect(dryRunStore(pglite(dir))).toBeNull();
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('reads nothing from an in-memory database (nothing stored there)', () => {
    expect(dryRunStore(pglite('memory://'))).toBeNull();
  });

  it('reads an existing embedded database and any configured server (opened lazily)', () => {
    const dir = join(work, 'existing', 'pgdata');
    mkdirSync(dir, { recursive: true });
    expect(dryRunStore(pglite(dir))).toBeInstanceOf(RunStore);
    const server = dryRunStore({
      kind: 'postgres',
      settings: {
        connectionString: 'postgres://recon@127.0.0.1:1/recon',
        schema: 'public',
        connectTimeoutMs: 100,
        statementTimeoutMs: 100,
        poolSize: 1,
      },
    });
    expect(server).toBeInstanceOf(RunStore);
  });
});
