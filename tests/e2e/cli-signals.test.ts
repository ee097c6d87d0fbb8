import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_FLAGS, ROOT, runCli } from '../helpers/cli';
import {
  canonicalSamplePath,
  loadCanonicalRows,
  startFakeLedger,
  startFakeStripe,
  toLedgerEntry,
  toStripeBalanceTransaction,
  type FakeServer,
} from '../helpers/fake-apis';

const DATE = '2025-09-30';
const work = mkdtempSync(join(tmpdir(), 'recon-e2e-signals-'));
const servers: FakeServer[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  const stripe = await startFakeStripe({
    apiKey: 'sk_test_signals',
    transactions: loadCanonicalRows(canonicalSamplePath('stripe')).map(toStripeBalanceTransaction),
  });
  // The ledger answers its first page after 30 s: the run is mid-fetch when the signal comes.
  const ledger = await startFakeLedger({
    style: 'cursor',
    entries: loadCanonicalRows(canonicalSamplePath('internal_stripe')).map((row) =>
      toLedgerEntry(row, 'stripe'),
    ),
    faults: [{ kind: 'slow', onRequest: 1, times: 10, delayMs: 30_000 }],
  });
  servers.push(stripe, ledger);
  env = {
    STRIPE_API_KEY: 'sk_test_signals',
    STRIPE_API_BASE_URL: stripe.baseUrl,
    INTERNAL_API_BASE_URL: ledger.baseUrl,
    HTTP_CONNECT_TIMEOUT_MS: '60000',
    HTTP_REQUEST_TIMEOUT_MS: '60000',
    RECON_PGLITE_DIR: join(work, 'db', 'pgdata'),
  };
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

function runUntilStarted(
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((done, fail) => {
    const reports = join(work, 'reports');
    const child = spawn(
      process.execPath,
      [
        ...NODE_FLAGS,
        resolve(ROOT, 'bin/recon'),
        'run',
        '--date',
        DATE,
        '--processors',
        'stripe',
        '--source',
        'api',
        '--reports-dir',
        reports,
      ],
      { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sentAt && stderr.includes('"msg":"page fetched"')) {
        sentAt = Date.now();
        child.kill(signal);
      }
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr, ms: Date.now() - sentAt }));
  });
}

describe('signals during a run', () => {
  it('SIGTERM mid-fetch: exits 143 within seconds, run failed as interrupted, nothing partial left', async () => {
    const result = await runUntilStarted('SIGTERM');
    expect(result.code).toBe(143);
    expect(result.ms).toBeLessThan(8000);
    expect(result.stderr).toContain('recon: SIGTERM received, stopping the current run');
    const list = await runCli(['runs', 'list', '--json'], env);
    const runs = JSON.parse(list.stdout) as {
      status: string;
      error: string | null;
      discrepancy_count: number | null;
    }[];
    expect(runs).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: 'interrupted by SIGTERM',
        discrepancy_count: null,
      }),
    ]);
    const reports = join(work, 'reports');
    expect(existsSync(reports) ? readdirSync(reports, { recursive: true }) : []).toEqual([]);
  }, 30_000);

  it('SIGINT: exits 130', async () => {
    const result = await runUntilStarted('SIGINT');
    expect(result.code).toBe(130);
  }, 30_000);
});
