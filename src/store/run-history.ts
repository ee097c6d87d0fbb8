import type { BusinessDate } from '../domain/business-date';
import type { Database } from './database';

/** A business date and processor without a completed run, with what happened instead (if anything). */
export interface RunGap {
  readonly businessDate: BusinessDate;
  readonly processor: string;
  /** Status of the latest run of that date and processor, or `null` when there was none. */
  readonly latestStatus: string | null;
  readonly latestError: string | null;
}

/**
 * Business dates from `from` to `to` (inclusive) and `processors` that have no `completed` run:
 * a missed night is visible. Ordered by date, then processor.
 */
export async function findRunGaps(
  db: Database,
  from: BusinessDate,
  to: BusinessDate,
  processors: readonly string[],
): Promise<RunGap[]> {
  const rows = await db.query<{
    run_date: string;
    processor_name: string;
    latest_status: string | null;
    latest_error: string | null;
  }>(
    `WITH wanted AS (
       SELECT d::date AS run_date, p AS processor_name
         FROM generate_series($1::date, $2::date, interval '1 day') AS d,
              unnest($3::text[]) AS p
     )
     SELECT w.run_date::text, w.processor_name, latest.status AS latest_status,
            latest.error_message AS latest_error
       FROM wanted w
       LEFT JOIN LATERAL (
         SELECT r.status, r.error_message FROM reconciliation_runs r
          WHERE r.run_date = w.run_date AND r.processor_name = w.processor_name
          ORDER BY r.start_time DESC LIMIT 1
       ) latest ON true
      WHERE NOT EXISTS (
        SELECT 1 FROM reconciliation_runs c
         WHERE c.run_date = w.run_date AND c.processor_name = w.processor_name AND c.status = 'completed'
      )
      ORDER BY w.run_date, w.processor_name`,
    [from, to, `{${processors.join(',')}}`],
  );
  return rows.map((row) => ({
    businessDate: row.run_date,
    processor: row.processor_name,
    latestStatus: row.latest_status,
    latestError: row.latest_error,
  }));
}
