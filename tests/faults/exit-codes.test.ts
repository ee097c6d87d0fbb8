import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineExitCodes, EXIT_CODE_SEVERITY } from '../../src/cli/exit-codes';
import { runResultJson } from '../../src/cli/format-output';
import {
  DependencyUnavailableError,
  InputRejectedError,
  InterruptedError,
  RunInProgressError,
} from '../../src/domain/errors';
import type { RunResult } from '../../src/job/run-reconciliation';
import { tryFileLock } from '../../src/store/pglite-database';
import { jsonLines, ROOT, runCli } from '../helpers/cli';

describe('combineExitCodes: several runs give one exit code by severity, not by number', () => {
  it('is 0 for no runs and for runs that all completed', () => {
    expect(combineExitCodes([])).toBe(0);
    expect(combineExitCodes([0, 0, 0])).toBe(0);
  });

  it('lets an input rejected (4) win over another run in progress (5)', () => {
    expect(combineExitCodes([5, 4])).toBe(4);
    expect(combineExitCodes([4, 5])).toBe(4);
  });

  it('orders every documented code: interrupted, internal, input, dependency, config, integrity, breaks, delivery, in progress, ok', () => {
    const order = [143, 1, 4, 3, 2, 6, 8, 7, 5, 0];
    // Each code beats every code after it, whichever comes first in the list of runs.
    for (let i = 0; i < order.length; i += 1) {
      for (let j = i + 1; j < order.length; j += 1) {
        const [stronger = -1, weaker = -1] = [order[i], order[j]];
        expect([
          combineExitCodes([weaker, stronger]),
          combineExitCodes([stronger, weaker]),
        ]).toEqual([stronger, stronger]);
      }
    }
    expect(combineExitCodes([5, 1, 130, 4])).toBe(130);
  });

  it('keeps the first of two interruptions (130 and 143 rank the same)', () => {
    expect(combineExitCodes([130, 143])).toBe(130);
    expect(combineExitCodes([143, 130])).toBe(143);
  });

  it('ranks an unknown non-zero code like an internal error, so it is never hidden', () => {
    expect(combineExitCodes([4, 99])).toBe(99);
    expect(combineExitCodes([99, 1])).toBe(99);
    expect(combineExitCodes([143, 99])).toBe(143);
  });

  it('documents the table most severe first, each code once', () => {
    expect(EXIT_CODE_SEVERITY.map((rank) => rank.codes)).toEqual([
      [130, 143],
      [1],
      [4],
      [3],
      [2],
      [6],
      [8],
      [7],
      [5],
      [0],
    ]);
  });

  it('combines a very long list without spreading it', () => {
    const codes = new Array<number>(500_000).fill(5);
    codes[250_000] = 4;
    expect(combineExitCodes(codes)).toBe(4);
  });
});

describe('runResultJson: each run keeps its own exit code', () => {
  const base: RunResult = {
    runId: null,
    businessDate: '2025-09-30',
    processor: 'stripe',
    status: 'failed',
    dryRun: false,
    processorTransactions: 0,
    internalTransactions: 0,
    invalidRows: 0,
    counts: null,
    summary: null,
    reports: null,
    auditHead: null,
    error: null,
  };
  const cases: [string, RunResult, number][] = [
    ['completed', { ...base, status: 'completed', error: null }, 0],
    [
      'input rejected',
      { ...base, error: new InputRejectedError('missing', { location: 'x.csv' }) },
      4,
    ],
    ['dependency down', { ...base, error: new DependencyUnavailableError('database', 'down') }, 3],
    ['run in progress', { ...base, error: new RunInProgressError('2025-09-30', 'stripe') }, 5],
    ['SIGINT', { ...base, error: new InterruptedError('SIGINT') }, 130],
    ['SIGTERM', { ...base, error: new InterruptedError('SIGTERM') }, 143],
    ['a bug', { ...base, error: new TypeError('x is undefined') }, 1],
  ];
  it.each(cases)('%s', (_name, result, code) => {
    expect(runResultJson(result)).toMatchObject({ status: result.status, exit_code: code });
  });
});

describe('recon run with several processors exits with the most severe code (built CLI, PGlite)', () => {
  const DATE = '2025-09-30';
  let work = '';

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'recon-faults-exit-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('exits 4 when one processor input is missing (4) and another run is in progress (5)', async () => {
    // A data dir with stripe's inputs only: paypal's processor file is missing.
    const data = join(work, 'data');
    mkdirSync(join(data, DATE), { recursive: true });
    const samples = join(ROOT, 'data', 'samples', DATE);
    for (const name of ['stripe.csv', 'internal_stripe.csv', 'internal_paypal.csv'])
      copyFileSync(join(samples, name), join(data, DATE, name));
    const pgliteDir = join(work, 'pg', 'data');
    // The embedded database's run lock is a lock file beside its data dir (RECON_PGLITE_DIR/../locks).
    const lock = await tryFileLock(join(work, 'pg', 'locks'), `recon-run_${DATE}_stripe`);
    expect(lock).not.toBeNull();
    try {
      const result = await runCli(
        [
          'run',
          '--date',
          DATE,
          '--processors',
          'stripe,paypal',
          '--data-dir',
          data,
          '--reports-dir',
          join(work, 'reports'),
          '--json',
        ],
        { RECON_PGLITE_DIR: pgliteDir, LOG_LEVEL: 'silent' },
        work,
      );
      expect(
        jsonLines(result.stdout).map((run) => [run.processor, run.status, run.exit_code]),
      ).toEqual([
        ['stripe', 'failed', 5],
        ['paypal', 'failed', 4],
      ]);
      expect(result.code).toBe(4);
    } finally {
      await lock?.release();
    }
  });
});
