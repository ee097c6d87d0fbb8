/**
 * Hostile inputs (issue #11): bytes that are not the declared encoding, NUL bytes, over-long ids,
 * amounts beyond 64 bits, a million invalid rows, a malformed header. Each is a data-quality
 * finding on its row (never a match, never exit 1) or a one-line rejection of the file (exit 4).
 * End to end through the built CLI (`npm run build` first), on PGlite and, with
 * TEST_DATABASE_URL, with `--engine postgres` on the server.
 */
import { mkdtempSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

const DATE = '2025-09-30';
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,description';
const TS = '2025-09-30T12:00:00Z';
const work = mkdtempSync(join(tmpdir(), 'recon-hostile-'));
const pgliteEnv = { RECON_PGLITE_DIR: join(work, 'db', 'pgdata') };
let fileCounter = 0;

/** Writes `content` (text as UTF-8, or exact bytes) to a new file under the test's temp dir. */
function writeInput(content: string | Buffer): string {
  const path = join(work, `input-${++fileCounter}.csv`);
  writeFileSync(path, content);
  return path;
}

/** No line of `text` looks like a stack frame. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

/** The lines of stderr that are not JSON log lines. */
function messageLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

describe('a million invalid rows', () => {
  it('are counted and rejected by the invalid-rate check (exit 4), not a stack overflow', async () => {
    const rows = 1_000_000;
    const path = join(work, 'million-invalid.csv');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, `${HEADER}\n`);
      const chunk: string[] = [];
      for (let i = 0; i < rows; i++) {
        chunk.push(`t${i},not-an-amount,USD,completed,m1,${TS},\n`);
        if (chunk.length === 50_000) {
          writeSync(fd, chunk.join(''));
          chunk.length = 0;
        }
      }
      writeSync(fd, chunk.join(''));
    } finally {
      closeSync(fd);
    }
    const ledger = writeInput(`${HEADER}\nt1,1.00,USD,completed,m1,${TS},\n`);
    const result = await runCli(
      [
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--processor-file',
        path,
        '--internal-file',
        ledger,
        '--dry-run',
        '--reports-dir',
        join(work, 'reports-million'),
      ],
      { ...pgliteEnv, LOG_LEVEL: 'silent' },
    );
    expectNoStack(result.stderr);
    expect(messageLines(result.stderr)).toEqual([
      `recon: stripe ${DATE}: ${path}: 1000000 of 1000000 rows are invalid (100.00% > 1.00% allowed by --max-invalid-rate); first at line 2: amount is not a plain decimal number (digits, optional minus and dot) (USD has 2 decimals)`,
    ]);
    expect(result.code).toBe(4);
  }, 60_000);
});
