import { createHash } from 'node:crypto';
import type { Database } from './database';

/** Outcome of `verifyAuditChain`. `firstBrokenSeq` is null when the chain is intact. */
export interface AuditChainReport {
  readonly entries: number;
  /** Entries written before the chain existed (schema < 3): not verifiable. */
  readonly unchained: number;
  readonly firstBrokenSeq: number | null;
  readonly problem: string | null;
}

const GENESIS = '0'.repeat(64);

/**
 * Recomputes the audit log's hash chain (see setup.sql, `audit_log_chain`): sequence numbers
 * without gaps, each `prev_hash` equal to the previous entry's hash, and each `entry_hash` equal
 * to SHA-256(prev_hash | canonical content) of the row as it is now. An edited row, a deleted row
 * or a re-linked chain is reported with the first broken sequence number.
 */
export async function verifyAuditChain(db: Database): Promise<AuditChainReport> {
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
  let expectedSeq = 1;
  let previousHash = GENESIS;
  for (const row of rows) {
    const seq = Number(row.seq);
    const broken = (problem: string): AuditChainReport => ({
      entries: rows.length,
      unchained,
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
    expectedSeq++;
  }
  return { entries: rows.length, unchained, firstBrokenSeq: null, problem: null };
}
