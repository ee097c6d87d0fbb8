import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Logger } from '../../src/config/logger';
import { parseRulesFile } from '../../src/config/rules-file';
import { formatMinor } from '../../src/domain/money';
import type { ProcessorName } from '../../src/domain/status';
import { runReconciliation, type RunResult } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import type { Database } from '../../src/store/database';
import type { DatabaseConfig } from '../../src/store/database-config';
import { openDatabase } from '../../src/store/open-store';
import { tryFileLock } from '../../src/store/pglite-database';
import { RunStore } from '../../src/store/run-store';
import { testBackends } from '../helpers/databases';

/**
 * Matching rules on both engines (issue #14, case 8): the same generated days — references in
 * other spellings, near amounts, refunds against charges, rows with several candidates, fees
 * under basis gross and net, items arriving on later days — run through the job with
 * `--engine memory` on one processor and `--engine postgres` on another, in the same database,
 * with the same rules file for both; counts, tier summaries, stored discrepancies, breaks and
 * report files must be the same.
 */

const HEADER =
  'transaction_id,amount,currency,status,merchant_id,created_at,fee,description,reference';
const ENGINES: readonly { engine: 'memory' | 'postgres'; processor: ProcessorName }[] = [
  { engine: 'memory', processor: 'stripe' },
  { engine: 'postgres', processor: 'square' },
];
const DATES = ['2025-10-01', '2025-10-02', '2025-10-03'] as const;

const logger = {
  child: () => logger,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Logger;

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  readonly day: number;
  readonly id: string;
  readonly minor: bigint;
  readonly fee: bigint | null;
  readonly status: 'settled' | 'pending' | 'refunded';
  readonly description: string;
  readonly reference: string;
}

/** Random days of processor and ledger rows that exercise every tier outcome. */
function generate(seed: number, items: number, net: boolean): { p: Row[]; l: Row[] } {
  const rand = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const p: Row[] = [];
  const l: Row[] = [];
  for (let n = 0; n < items; n++) {
    const token = `INV-${n % Math.max(1, Math.floor(items * 0.9))}`; // some tokens repeat
    const sign = rand() < 0.15 ? -1n : 1n;
    const gross = sign * BigInt(100 + Math.floor(rand() * 50_000));
    const fee = rand() < 0.7 ? BigInt(Math.floor(rand() * 300)) : null;
    const day = Math.floor(rand() * DATES.length);
    const spelling = pick([token, token.toLowerCase(), ` ${token} `, token.replace('-', ' ')]);
    const processor: Row = {
      day,
      id: `ch_${seed}_${n}`,
      minor: gross,
      fee,
      status: sign < 0n ? 'refunded' : pick(['settled', 'settled', 'pending']),
      description: pick([spelling, `order ${n}`]),
      reference: '',
    };
    if (rand() < 0.9) p.push(processor);
    const booked = net && fee !== null ? gross - fee : gross;
    const shape = rand();
    const minor =
      shape < 0.5
        ? booked
        : shape < 0.75
          ? booked + BigInt(pick([-2, -1, 1, 2]))
          : shape < 0.85
            ? -booked // a refund against a charge: never paired by a tolerance tier
            : booked + BigInt(pick([-500, 700]));
    const ledger: Row = {
      day: Math.min(DATES.length - 1, day + pick([0, 0, 0, 1])),
      id: rand() < 0.4 ? processor.id : `L-${seed}-${n}`,
      minor,
      fee: rand() < 0.3 ? fee : null,
      status: processor.status,
      description: `booking ${n}`,
      reference: pick([token, token.toUpperCase(), '']),
    };
    if (rand() < 0.9) l.push(ledger);
    // A second ledger row with the same reference and amount: several candidates.
    if (rand() < 0.05) l.push({ ...ledger, id: `L2-${seed}-${n}` });
  }
  return { p, l };
}

function line(row: Row, date: string, ordinal: number): string {
  const at = `${date}T${String(1 + (ordinal % 20)).padStart(2, '0')}:00:00Z`;
  const fee = row.fee === null ? '' : formatMinor(row.fee, 2);
  const quote = (text: string) => (/[",]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  return [
    row.id,
    formatMinor(row.minor, 2),
    'USD',
    row.status,
    'merch_001',
    at,
    fee,
    quote(row.description),
    quote(row.reference),
  ].join(',');
}

function writeDays(dataDir: string, processor: string, data: { p: Row[]; l: Row[] }): void {
  DATES.forEach((date, day) => {
    const dir = join(dataDir, date);
    mkdirSync(dir, { recursive: true });
    const lines = (rows: Row[]) =>
      rows.flatMap((row, ordinal) => (row.day === day ? [line(row, date, ordinal)] : []));
    writeFileSync(join(dir, `${processor}.csv`), [HEADER, ...lines(data.p), ''].join('\n'));
    writeFileSync(
      join(dir, `internal_${processor}.csv`),
      [HEADER, ...lines(data.l), ''].join('\n'),
    );
  });
}

function rulesText(basis: 'gross' | 'net'): string {
  const one = `    ledger_amount_basis: ${basis}
    tiers:
      - name: by_reference
        type: exact
        processor_key: description
        ledger_key: reference
        normalize: [trim, upper]
      - name: near_amount
        type: tolerance
        processor_key: description
        ledger_key: reference
        normalize: [trim, upper, alnum]
        abs_minor: 2
        pct_bps: 10
        base: max
        min_days: 0
        max_days: 1
`;
  return `processors:\n  stripe:\n${one}  square:\n${one}`;
}

describe.each(testBackends())('matching rules on both engines on $name', (backend) => {
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
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  /** A run's stored discrepancies without ids, as sorted JSON texts. */
  const stored = async (runId: string | null): Promise<string[]> =>
    (
      await db.query<{ row: string }>(
        `SELECT (to_jsonb(d) - 'id' - 'run_id' - 'break_id')::text AS row
           FROM discrepancies d WHERE run_id = $1`,
        [runId],
      )
    )
      .map((r) => r.row)
      .sort();

  /** The breaks of a processor: what they are and where they are, without ids. */
  const breaksOf = async (processor: string): Promise<string[]> =>
    (
      await db.query<{ row: string }>(
        `SELECT jsonb_build_array(transaction_id, origin_kind, kind, status, origin_date::text,
                                  resolution)::text AS row
           FROM breaks WHERE processor = $1`,
        [processor],
      )
    )
      .map((r) => r.row)
      .sort();

  const runDay = async (
    seed: number,
    dataDir: string,
    date: string,
    basis: 'gross' | 'net',
  ): Promise<RunResult[]> => {
    const rules = parseRulesFile('recon.config.yaml', rulesText(basis));
    const results: RunResult[] = [];
    for (const { engine, processor } of ENGINES) {
      const [result] = await runReconciliation(
        {
          store,
          logger,
          now: () => Date.parse(`${date}T23:00:00Z`),
          apis: { http: DEFAULT_HTTP_SETTINGS },
        },
        {
          dates: [date],
          processors: [processor],
          timeZone: 'UTC',
          sources: { processorSource: 'csv', internalSource: 'csv', dataDir },
          reportsDir: join(dataDir, `reports-${seed}-${engine}`),
          dryRun: false,
          maxInvalidRate: '0.5',
          appVersion: 'test',
          engine,
          rules,
        },
      );
      if (!result || result.status !== 'completed')
        throw new Error(`${engine} run of ${date} did not complete: ${String(result?.error)}`);
      results.push(result);
    }
    return results;
  };

  /** Report text with the run's own names replaced (ids, processor), so both engines compare. */
  const report = (result: RunResult, kind: 'csv' | 'json'): string => {
    const path = result.reports?.[kind];
    if (!path) throw new Error('no report');
    return readFileSync(path, 'utf8')
      .replaceAll(result.runId ?? '?', 'RUN')
      .replaceAll(/\b(stripe|square)\b/g, 'PROCESSOR')
      .replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
  };

  async function assertEnginesAgree(seed: number, items: number, basis: 'gross' | 'net') {
    const dataDir = mkdtempSync(join(tmpdir(), 'recon-rules-engines-'));
    const data = generate(seed, items, basis === 'net');
    for (const { processor } of ENGINES) writeDays(dataDir, processor, data);
    const seen = { tiers: 0, variance: 0, ambiguous: 0 };
    for (const date of DATES) {
      const [memory, postgres] = await runDay(seed, dataDir, date, basis);
      if (!memory || !postgres) throw new Error('missing run');
      expect({ seed, date, counts: postgres.counts, tiers: postgres.tiers }).toEqual({
        seed,
        date,
        counts: memory.counts,
        tiers: memory.tiers,
      });
      expect(postgres.timing).toBe(memory.timing);
      expect(postgres.summary).toEqual(memory.summary);
      expect(await stored(postgres.runId)).toEqual(await stored(memory.runId));
      expect(report(postgres, 'csv')).toEqual(report(memory, 'csv'));
      seen.tiers += Object.entries(memory.tiers?.matchesByTier ?? {})
        .filter(([tier]) => tier !== 'id')
        .reduce((sum, [, n]) => sum + n, 0);
      seen.variance += memory.counts?.matched_with_variance ?? 0;
      seen.ambiguous += memory.counts?.ambiguous ?? 0;
    }
    expect(await breaksOf('square')).toEqual(await breaksOf('stripe'));
    const byTier = async (processor: string): Promise<number> =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM break_events e JOIN breaks b ON b.id = e.break_id
            WHERE b.processor = $1 AND e.reason LIKE 'late arrival, paired by tier%'`,
          [processor],
        )
      )[0]?.n ?? -1;
    const carriedByTier = await byTier('stripe');
    expect(await byTier('square')).toBe(carriedByTier);
    return { ...seen, carriedByTier };
  }

  it('gives the same results on three days of generated data with tiers, basis gross', async () => {
    const seen = await assertEnginesAgree(7, 600, 'gross');
    // The data really reaches every tier outcome.
    expect(seen.tiers).toBeGreaterThan(20);
    expect(seen.variance).toBeGreaterThan(20);
    expect(seen.ambiguous).toBeGreaterThan(2);
    // Ledger rows booked a day after the processor's pair with carried breaks through the tiers.
    expect(seen.carriedByTier).toBeGreaterThan(5);
  }, 180_000);

  it('gives the same results with basis net (the ledger books the processor net)', async () => {
    const seen = await assertEnginesAgree(11, 600, 'net');
    expect(seen.tiers).toBeGreaterThan(20);
    expect(seen.variance).toBeGreaterThan(10);
  }, 180_000);

  it('agrees on random small inputs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.nat(25),
        fc.constantFrom('gross' as const, 'net' as const),
        async (seed, items, basis) => {
          await assertEnginesAgree(seed, items, basis);
        },
      ),
      { numRuns: 4 },
    );
  }, 300_000);
});
