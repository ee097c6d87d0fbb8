import type { Database } from './database';

/** One dependency check as stored in `system_health`. Latency in milliseconds. */
export interface HealthRecord {
  readonly component: string;
  readonly status: 'up' | 'down' | 'skipped';
  readonly latencyMs: number;
  readonly detail: string;
}

/**
 * Stores `results` in `system_health` (one row each, `details` = `{"detail": …}`) and deletes the
 * rows checked more than `retentionDays` days ago (RECON_HEALTH_RETENTION_DAYS), in one
 * transaction, so the table stays bounded however often `recon health` runs. Returns the number
 * of rows deleted. `retentionDays`: a positive number of days (fractions allowed).
 */
export async function recordHealthChecks(
  db: Database,
  results: readonly HealthRecord[],
  retentionDays: number,
): Promise<number> {
  return db.withTransaction(async (tx) => {
    for (const r of results) {
      await tx.query(
        `INSERT INTO system_health (component, status, latency_ms, details) VALUES ($1, $2, $3, $4)`,
        [r.component, r.status, r.latencyMs, JSON.stringify({ detail: r.detail })],
      );
    }
    const deleted = await tx.query<{ id: string }>(
      `DELETE FROM system_health WHERE checked_at < now() - $1 * interval '1 day' RETURNING id`,
      [retentionDays],
    );
    return deleted.length;
  });
}
