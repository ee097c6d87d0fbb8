import type { BusinessDate } from '../domain/business-date';
import { mapStatus, STATUS_MAPS } from '../domain/status';
import type { CanonicalStatus, Transaction } from '../domain/transaction';
import type { CarriedBreak } from '../engine/break-lifecycle';
import type { SqlExecutor } from './database';

interface CarriedRow {
  id: string;
  origin_kind: 'missing_in_internal' | 'missing_in_processor';
  origin_date: string;
  transaction_id: string;
  amount_minor: string | null;
  currency: string | null;
  raw_status: string | null;
  canonical_status: CanonicalStatus | null;
  created_at: string | null;
  merchant_id: string | null;
  description: string | null;
  line: number | null;
  reference?: string | null;
  business_date?: string | null;
}

/**
 * The one-sided breaks carried into the run of (`processor`, `businessDate`) (YYYY-MM-DD): pending
 * or open, origin date before D and at most `carryDays` calendar days before it. For a rerun,
 * also the breaks the run it supersedes resolved as late arrivals or reclassified (whatever their
 * status since: a hand-resolved reclassified break is decided again, never reopened), as they
 * were before it, so that the rerun decides them again. Ordered by origin date then id.
 *
 * With `counterpartsOfRun` (the postgres engine), only the breaks that have a counterpart among
 * that run's stored one-sided discrepancies of the other side (same transaction id) are returned:
 * the join happens in the database and only candidate pairs come back. `carryOver` decides the
 * same for them as for the full list, since it skips every carried break without a counterpart.
 * Amounts are minor units; `created_at` is read back as UTC epoch milliseconds.
 *
 * With `details` (runs with rules-file tiers, which offer carried breaks as candidates), each
 * row also gets its `reference` and business date, read from the discrepancy of the run that
 * first saw the break (its business date there, else the break's origin date).
 */
export async function queryCarried(
  db: SqlExecutor,
  processor: string,
  businessDate: BusinessDate,
  carryDays: number,
  counterpartsOfRun?: string,
  details = false,
): Promise<CarriedBreak[]> {
  const params = [
    processor,
    businessDate,
    carryDays,
    ...(counterpartsOfRun ? [counterpartsOfRun] : []),
  ];
  // A hash semi-join on (transaction id, kind): the run's discrepancies are new in this
  // transaction, so the planner has no statistics for them and would otherwise pick a nested
  // loop over every carried break (measured: 88 s instead of 0.07 s for 100 000 carried breaks
  // against 20 000 discrepancies); nested loops are off for this one query only.
  const counterpart = counterpartsOfRun
    ? `AND (b.transaction_id, CASE b.origin_kind WHEN 'missing_in_internal'
                                  THEN 'missing_in_processor' ELSE 'missing_in_internal' END)
           IN (SELECT d.transaction_id, d.kind FROM discrepancies d
                WHERE d.run_id = $4 AND d.kind IN ('missing_in_internal', 'missing_in_processor'))`
    : '';
  const nestloop = counterpartsOfRun
    ? (
        await db.query<{ was: string }>(
          `SELECT current_setting('enable_nestloop') AS was, set_config('enable_nestloop', 'off', true)`,
        )
      )[0]?.was
    : undefined;
  const rows = await db.query<CarriedRow>(
    `WITH prev AS (SELECT id FROM reconciliation_runs
                    WHERE run_date = $2 AND processor_name = $1 AND status = 'completed')
     SELECT b.id::text, b.origin_kind, b.origin_date::text AS origin_date, b.transaction_id,
            CASE WHEN o THEN b.processor_amount_minor ELSE b.internal_amount_minor END::text AS amount_minor,
            CASE WHEN o THEN b.processor_currency ELSE b.internal_currency END AS currency,
            CASE WHEN o THEN b.processor_status ELSE b.internal_status END AS raw_status,
            CASE WHEN o THEN b.processor_canonical_status ELSE b.internal_canonical_status END AS canonical_status,
            to_char((CASE WHEN o THEN b.processor_created_at ELSE b.internal_created_at END) AT TIME ZONE 'UTC',
                    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
            CASE WHEN o THEN b.processor_merchant_id ELSE b.internal_merchant_id END AS merchant_id,
            CASE WHEN o THEN b.processor_description ELSE b.internal_description END AS description,
            CASE WHEN o THEN b.processor_line ELSE b.internal_line END AS line
            ${
              details
                ? `, (SELECT CASE WHEN o THEN d.processor_reference ELSE d.internal_reference END
                       FROM discrepancies d
                      WHERE d.break_id = b.id AND d.run_id = b.first_seen_run_id LIMIT 1) AS reference,
                   COALESCE((SELECT (CASE WHEN o THEN d.processor_business_date
                                          ELSE d.internal_business_date END)::text
                               FROM discrepancies d
                              WHERE d.break_id = b.id AND d.run_id = b.first_seen_run_id LIMIT 1),
                            b.origin_date::text) AS business_date`
                : ''
            }
       FROM breaks b CROSS JOIN LATERAL (SELECT b.origin_kind = 'missing_in_internal' AS o) s
      WHERE b.processor = $1 AND b.origin_kind IN ('missing_in_internal', 'missing_in_processor')
        AND b.origin_date < $2::date AND b.origin_date >= $2::date - $3::int
        AND ((b.status IN ('open', 'pending') AND b.identity_scope <> 'both')
             OR (b.resolution = 'late_arrival' AND b.resolved_run_id IN (SELECT id FROM prev))
             OR b.reclassified_run_id IN (SELECT id FROM prev))
        ${counterpart}
      ORDER BY b.origin_date, b.id`,
    params,
  );
  if (nestloop !== undefined) {
    await db.query(`SELECT set_config('enable_nestloop', $1, true)`, [nestloop]);
  }
  const carried: CarriedBreak[] = [];
  for (const row of rows) {
    // A break without its origin row (never written so) cannot be matched: it stays open.
    if (row.amount_minor === null || row.currency === null) continue;
    const transaction: Transaction = {
      transactionId: row.transaction_id,
      amountMinor: BigInt(row.amount_minor),
      currency: row.currency.trim(),
      feeMinor: null,
      status: row.canonical_status ?? canonicalStatus(processor, row.origin_kind, row.raw_status),
      rawStatus: row.raw_status ?? '',
      merchantId: row.merchant_id ?? '',
      createdAtMs: row.created_at ? Date.parse(row.created_at) : 0,
      description: row.description,
      line: row.line ?? 0,
      ...(details
        ? {
            reference: row.reference ?? null,
            ...(row.business_date ? { businessDate: row.business_date } : {}),
          }
        : {}),
    };
    carried.push({
      breakId: row.id,
      kind: row.origin_kind,
      originDate: row.origin_date,
      row: transaction,
    });
  }
  return carried;
}

/**
 * The canonical status of a stored raw status (breaks opened from stored discrepancy rows keep the
 * raw text only): the status map of the side that has the row.
 */
function canonicalStatus(
  processor: string,
  kind: 'missing_in_internal' | 'missing_in_processor',
  raw: string | null,
): CanonicalStatus {
  if (raw === null) return 'unknown';
  if (kind === 'missing_in_processor') return mapStatus(raw, STATUS_MAPS.internal);
  const map = Object.entries(STATUS_MAPS).find(([name]) => name === processor)?.[1];
  return map ? mapStatus(raw, map) : 'unknown';
}
