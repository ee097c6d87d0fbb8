import { createHash } from 'node:crypto';
import type { Database } from './database';
import { computeRunResults, describeResultDifference } from './run-digest';

/**
 * Outcome of `verifyAuditChain`. `problem` is null when the chain, the completed runs and the
 * expected head (if given) all check out; otherwise it says what is wrong in one line.
 */
export interface AuditChainReport {
  readonly entries: number;
  /** Entries written before the chain existed (schema < 3): not verifiable. */
  readonly unchained: number;
  /** The newest chained entry: its sequence number and hash (SHA-256 hex); null when empty. */
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** Completed and superseded runs whose stored results matched their `run_completed` entry. */
  readonly runsChecked: number;
  /** Completed runs whose audit entry predates schema 4 (no recorded results): not verifiable. */
  readonly runsUnverifiable: number;
  /** With `expectHead`: how many entries follow the expected one (0: it is the head). */
  readonly entriesAfterExpectedHead: number | null;
  /** The first broken entry's sequence number (the chain), or the run's entry (its results). */
  readonly firstBrokenSeq: number | null;
  /** The run whose stored results differ from its audit entry, or that has none. */
  readonly brokenRunId: string | null;
  /** What failed: the hash chain, a run's results, or the expected head; null when none. */
  readonly broken: 'chain' | 'run' | 'head' | null;
  readonly problem: string | null;
}

/** Options of `verifyAuditChain`. */
export interface VerifyAuditOptions {
  /**
   * Hash of an entry recorded outside the database (e.g. a run's `audit_head`): it must still be
   * in the intact chain. Entries written after it are fine; a missing one means newer entries
   * were deleted (or the chain was rewritten), which the chain alone cannot show.
   */
  readonly expectHead?: string;
}

const GENESIS = '0'.repeat(64);

interface ChainResult {
  readonly entries: number;
  readonly unchained: number;
  readonly head: { seq: number; hash: string } | null;
  readonly hashes: ReadonlyMap<string, number>;
  readonly firstBrokenSeq: number | null;
  readonly problem: string | null;
}

/** Recomputes the hash chain itself (see `verifyAuditChain`). */
async function verifyChain(db: Database): Promise<ChainResult> {
  const rows = await db.query<{
    seq: string;
    prev_hash: string;
    entry_hash: string;
    canonical: string;
  }>(
    `SELECT seq::text, prev_hash, entry_hash,
            audit_log_canonical(seq, occurred_at, run_id, event, actor, details) AS canonical
       FROM audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq`,
  );
  const legacy = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM audit_log WHERE seq IS NULL`,
  );
  const unchained = Number(legacy[0]?.n ?? '0');
  const hashes = new Map<string, number>();
  let expectedSeq = 1;
  let previousHash = GENESIS;
  let head: { seq: number; hash: string } | null = null;
  for (const row of rows) {
    const seq = Number(row.seq);
    const broken = (problem: string): ChainResult => ({
      entries: rows.length,
      unchained,
      head,
      hashes,
      firstBrokenSeq: Math.min(seq, expectedSeq),
      problem,
    });
    if (seq !== expectedSeq)
      return broken(`entry ${expectedSeq} is missing (next entry is ${seq})`);
    if (row.prev_hash !== previousHash)
      return broken(`entry ${seq} does not link to entry ${seq - 1}`);
    const hash = createHash('sha256')
      .update(`${row.prev_hash}|${row.canonical}`, 'utf8')
      .digest('hex');
    if (hash !== row.entry_hash) return broken(`entry ${seq} was changed after it was written`);
    previousHash = row.entry_hash;
    hashes.set(row.entry_hash, seq);
    head = { seq, hash: row.entry_hash };
    expectedSeq++;
  }
  return { entries: rows.length, unchained, head, hashes, firstBrokenSeq: null, problem: null };
}

interface RunCheck {
  readonly checked: number;
  readonly unverifiable: number;
  readonly brokenRunId: string | null;
  readonly seq: number | null;
  readonly problem: string | null;
}

/**
 * Checks every completed and superseded run against its first chained `run_completed` entry:
 * the results recomputed from the stored rows (`computeRunResults`) must equal those recorded.
 * A run without such an entry, or with two, is a problem; one whose entry predates schema 4 (no
 * `results`) or the chain is counted as unverifiable.
 */
async function verifyRuns(db: Database): Promise<RunCheck> {
  const runs = await db.query<{
    id: string;
    label: string;
    chained: string;
    unchained: string;
    seq: string | null;
    results: string | null;
  }>(
    `SELECT r.id::text, r.processor_name || ' ' || r.run_date::text AS label,
            (SELECT count(*) FROM audit_log a
              WHERE a.run_id = r.id AND a.event = 'run_completed' AND a.seq IS NOT NULL)::text AS chained,
            (SELECT count(*) FROM audit_log a
              WHERE a.run_id = r.id AND a.event = 'run_completed' AND a.seq IS NULL)::text AS unchained,
            e.seq::text AS seq, (e.details -> 'results')::text AS results
       FROM reconciliation_runs r
       LEFT JOIN LATERAL (
            SELECT a.seq, a.details FROM audit_log a
             WHERE a.run_id = r.id AND a.event = 'run_completed' AND a.seq IS NOT NULL
             ORDER BY a.seq LIMIT 1) e ON true
      WHERE r.status IN ('completed', 'superseded')
      ORDER BY r.start_time, r.id`,
  );
  let checked = 0;
  let unverifiable = 0;
  for (const run of runs) {
    const name = `run ${run.id} (${run.label})`;
    const broken = (seq: number | null, problem: string): RunCheck => ({
      checked,
      unverifiable,
      brokenRunId: run.id,
      seq,
      problem,
    });
    if (run.seq === null) {
      if (Number(run.unchained) > 0) {
        unverifiable++;
        continue;
      }
      return broken(null, `${name} is completed but has no run_completed audit entry`);
    }
    const seq = Number(run.seq);
    if (Number(run.chained) > 1)
      return broken(seq, `${name} has ${run.chained} run_completed audit entries, expected one`);
    if (run.results === null) {
      unverifiable++;
      continue;
    }
    const difference = describeResultDifference(
      await computeRunResults(db, run.id),
      JSON.parse(run.results) as unknown,
    );
    if (difference)
      return broken(
        seq,
        `${name} differs from its run_completed audit entry (seq ${seq}): ${difference}`,
      );
    checked++;
  }
  return { checked, unverifiable, brokenRunId: null, seq: null, problem: null };
}

/**
 * Verifies the audit log and what it vouches for:
 * 1. the hash chain (see setup.sql, `audit_log_chain`): sequence numbers without gaps, each
 *    `prev_hash` equal to the previous entry's hash, and each `entry_hash` equal to
 *    SHA-256(prev_hash | canonical content) of the row as it is now — an edited row, a deleted
 *    row (except the newest ones) or a re-linked chain is reported with the first broken
 *    sequence number;
 * 2. every completed or superseded run's stored results (counts, amounts, digests of its
 *    discrepancies and findings) against its `run_completed` entry (`run-digest.ts`);
 * 3. with `expectHead`, that the entry with that hash is still in the chain.
 * Stops at the first problem.
 */
export async function verifyAuditChain(
  db: Database,
  options: VerifyAuditOptions = {},
): Promise<AuditChainReport> {
  const chain = await verifyChain(db);
  const base = {
    entries: chain.entries,
    unchained: chain.unchained,
    head: chain.head,
    runsChecked: 0,
    runsUnverifiable: 0,
    entriesAfterExpectedHead: null,
    brokenRunId: null,
    broken: null,
  };
  if (chain.problem)
    return {
      ...base,
      broken: 'chain',
      firstBrokenSeq: chain.firstBrokenSeq,
      problem: chain.problem,
    };
  const runs = await verifyRuns(db);
  const counted = { ...base, runsChecked: runs.checked, runsUnverifiable: runs.unverifiable };
  if (runs.problem)
    return {
      ...counted,
      brokenRunId: runs.brokenRunId,
      firstBrokenSeq: runs.seq,
      broken: 'run',
      problem: runs.problem,
    };
  if (options.expectHead !== undefined) {
    const expected = options.expectHead.toLowerCase();
    const seq = chain.hashes.get(expected);
    if (seq === undefined) {
      const newest = chain.head
        ? `its newest entry is ${chain.head.seq}, ${chain.head.hash}`
        : 'it is empty';
      return {
        ...counted,
        firstBrokenSeq: chain.head ? chain.head.seq + 1 : 1,
        broken: 'head',
        problem: `the expected head ${expected} is not in the audit log (${newest}): newer entries were deleted or the chain was rewritten`,
      };
    }
    return {
      ...counted,
      entriesAfterExpectedHead: chain.entries - seq,
      firstBrokenSeq: null,
      problem: null,
    };
  }
  return { ...counted, firstBrokenSeq: null, problem: null };
}
