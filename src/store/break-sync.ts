import { currencyExponent } from '../domain/currency';
import { RunLockLostError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import type { Transaction } from '../domain/transaction';
import type { CarriedReclassification, CarriedResolution } from '../engine/break-lifecycle';
import type { SqlExecutor, SqlValue } from './database';

/**
 * What the run decided about breaks before its final transaction (`carryOver`): carried breaks
 * it resolved as late arrivals and carried breaks it reclassified, plus the grace period
 * (`RECON_GRACE_DAYS`, days; 0 = a one-sided item opens at once).
 */
export interface BreakPlan {
  readonly graceDays: number;
  readonly resolved: readonly CarriedResolution[];
  readonly reclassified: readonly CarriedReclassification[];
}

/** The plan of a run without carried breaks (the postgres engine, tests). */
export const EMPTY_BREAK_PLAN: BreakPlan = { graceDays: 0, resolved: [], reclassified: [] };

/** Who the run's own break events are by. */
export const RUN_ACTOR = 'recon';

/** Writes one hash-chained audit entry (run-store's helper, handed in to avoid an import cycle). */
export type AuditWriter = (
  db: SqlExecutor,
  event: string,
  runId: string | null,
  details: object,
) => Promise<void>;

/** Break events per INSERT of `syncBreaks` (one JSON parameter of ~100 bytes per event). */
const EVENTS_PER_STATEMENT = 5000;

/** SQL: the identity scope of a discrepancy row `d` (its side when one-sided, else 'both'). */
const SCOPE_OF_D = `CASE WHEN d.kind IN ('missing_in_internal', 'missing_in_processor') THEN d.side ELSE 'both' END`;

function sideColumns(row: Transaction | null): SqlValue[] {
  if (!row) return [null, null, null, null, null, null, null, null];
  return [
    row.amountMinor.toString(),
    row.currency,
    row.rawStatus,
    row.status,
    new Date(row.createdAtMs).toISOString(),
    row.merchantId,
    row.description,
    row.line,
  ];
}

/**
 * Brings the `breaks` of the run's processor up to date with the run `runId` (still `running`,
 * its discrepancies written), inside the run's final transaction, and links every discrepancy of
 * the run to its break (`discrepancies.break_id`). Call it before the previous completed run of
 * the same date is superseded. Steps:
 * 1. a rerun first reverts what the run it supersedes did that this one does not repeat
 *    (a late-arrival resolution is reopened, a reclassification restored);
 * 2. carried breaks in the plan are resolved (`late_arrival`, lag, resolving run) or
 *    reclassified (kind, identity 'both', the counterpart's row);
 * 3. each identity among the run's discrepancies is `seen` on its pending/open break, on the
 *    break the superseded run saw, or on the break a run of this date opened for it (origin date
 *    D and origin identity, even if a later date resolved or reclassified it since), whatever
 *    its status (a break resolved by hand stays so; one resolved `not_seen_on_rerun` reopens),
 *    or `opened` as a new break (`pending` for a one-sided item while `graceDays` > 0);
 * 4. breaks of origin date D that the superseded run saw and this one does not are resolved
 *    `not_seen_on_rerun`; pending breaks that reached the grace open.
 * Reruns therefore keep break ids: rerunning the latest date leaves the same breaks (one `opened`
 * event each), and rerunning D then every later date in order reproduces the first pass.
 * Every change is a `break_events` row; one `breaks_synced` audit entry per run records the counts.
 * A carried break a person resolved or wrote off meanwhile is left as it is.
 * @throws RunLockLostError when a carried break changed since the run read it (another process).
 */
export async function syncBreaks(
  tx: SqlExecutor,
  runId: string,
  plan: BreakPlan,
  audit: AuditWriter,
): Promise<void> {
  const [run] = await tx.query<{ run_date: string; processor: string; previous: string | null }>(
    `SELECT r.run_date::text, r.processor_name AS processor,
            (SELECT p.id::text FROM reconciliation_runs p
              WHERE p.run_date = r.run_date AND p.processor_name = r.processor_name
                AND p.status = 'completed' AND p.id <> r.id) AS previous
       FROM reconciliation_runs r WHERE r.id = $1`,
    [runId],
  );
  if (!run) throw new Error(`run ${runId} does not exist`);
  const previous = run.previous;
  const counts = { opened: 0, seen: 0, resolved: 0, reclassified: 0, reopened: 0 };
  // Events are buffered and written set-based (`flushEvents`) at the end of each step, in the
  // order they happened: a rerun of a large day sees thousands of breaks again.
  const buffered: { break_id: string; event: string; reason: string | null; details: object }[] =
    [];
  const event = (breakId: string, type: string, reason: string | null, details: object): void => {
    buffered.push({ break_id: breakId, event: type, reason, details });
  };
  const flushEvents = async (): Promise<void> => {
    for (let at = 0; at < buffered.length; at += EVENTS_PER_STATEMENT) {
      await tx.query(
        `INSERT INTO break_events (break_id, run_id, event, actor, reason, details)
         SELECT (e.item->>'break_id')::uuid, $1, e.item->>'event', $2, e.item->>'reason',
                e.item->'details'
           FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(item, n)
          ORDER BY e.n`,
        [runId, RUN_ACTOR, JSON.stringify(buffered.slice(at, at + EVENTS_PER_STATEMENT))],
      );
    }
    buffered.length = 0;
  };
  const resolvedIds = new Set(plan.resolved.map((r) => r.breakId));
  const reclassifiedIds = new Set(plan.reclassified.map((r) => r.breakId));

  // 1. Revert what the superseded run of this date did and this run does not do again.
  if (previous) {
    const undone = await tx.query<{ id: string }>(
      `SELECT id::text FROM breaks WHERE resolved_run_id = $1 AND resolution = 'late_arrival'`,
      [previous],
    );
    for (const { id } of undone) {
      if (resolvedIds.has(id)) continue;
      await tx.query(
        `UPDATE breaks SET status = 'open', resolution = NULL, lag_days = NULL,
                resolved_run_id = NULL, resolved_at = NULL, resolved_by = NULL, updated_at = now()
          WHERE id = $1`,
        [id],
      );
      event(id, 'reopened', 'a rerun of its resolving date no longer matches it', {});
      counts.reopened++;
    }
    const restored = await tx.query<{ id: string; origin_kind: string }>(
      `SELECT id::text, origin_kind FROM breaks WHERE reclassified_run_id = $1`,
      [previous],
    );
    for (const { id, origin_kind: originKind } of restored) {
      if (reclassifiedIds.has(id)) continue;
      const keep = originKind === 'missing_in_internal' ? 'processor' : 'internal';
      const drop = keep === 'processor' ? 'internal' : 'processor';
      await tx.query(
        `UPDATE breaks SET kind = origin_kind, identity_scope = origin_scope, side = origin_scope,
                currency = ${keep}_currency, amount_minor = ${keep}_amount_minor,
                ${drop}_amount_minor = NULL, ${drop}_currency = NULL, ${drop}_status = NULL,
                ${drop}_canonical_status = NULL, ${drop}_created_at = NULL,
                ${drop}_merchant_id = NULL, ${drop}_description = NULL, ${drop}_line = NULL,
                reclassified_run_id = NULL, updated_at = now()
          WHERE id = $1`,
        [id],
      );
      await tx.query(`UPDATE breaks SET amount = $2 WHERE id = $1`, [id, await decimalOf(tx, id)]);
      event(id, 'reclassified', 'a rerun of its date no longer sees the counterpart', {
        kind: originKind,
      });
      counts.reclassified++;
    }
  }

  await flushEvents();

  // 2. Carried breaks this run resolved or reclassified.
  for (const item of plan.resolved) {
    const rows = await tx.query<{ again: boolean }>(
      `UPDATE breaks b SET status = 'resolved', resolution = 'late_arrival', lag_days = $2,
              resolved_run_id = $3, last_seen_run_id = $3, resolved_by = $5,
              resolved_at = now(), updated_at = now()
         FROM (SELECT id, status AS old_status FROM breaks WHERE id = $1) o
        WHERE b.id = o.id AND (b.status IN ('open', 'pending')
                               OR (b.resolution = 'late_arrival' AND b.resolved_run_id = $4))
        RETURNING o.old_status = 'resolved' AS again`,
      [item.breakId, item.lagDays, runId, previous, RUN_ACTOR],
    );
    const [row] = rows;
    if (!row || rows.length !== 1) {
      if (await closedByHand(tx, item.breakId)) continue;
      throw changedMeanwhile(item.breakId);
    }
    if (!row.again) {
      event(
        item.breakId,
        'resolved',
        item.tier ? `late arrival, paired by tier ${item.tier}` : 'late arrival',
        {
          lag_days: item.lagDays,
          ...(item.tier ? { tier: item.tier, paired_with: item.pairedWith ?? null } : {}),
        },
      );
      counts.resolved++;
    }
  }
  for (const item of plan.reclassified) {
    const d = item.discrepancy;
    const main = d.processor ?? d.internal;
    if (!main) throw new Error(`discrepancy ${d.transactionId} has no row`);
    const rows = await tx.query<{ again: boolean }>(
      `UPDATE breaks b SET kind = $2, identity_scope = 'both', side = 'both',
              status = CASE WHEN b.status IN ('open', 'pending') THEN 'open' ELSE b.status END,
              currency = $3, amount_minor = $4, amount = $5,
              processor_amount_minor = $6, processor_currency = $7, processor_status = $8,
              processor_canonical_status = $9, processor_created_at = $10,
              processor_merchant_id = $11, processor_description = $12, processor_line = $13,
              internal_amount_minor = $14, internal_currency = $15, internal_status = $16,
              internal_canonical_status = $17, internal_created_at = $18,
              internal_merchant_id = $19, internal_description = $20, internal_line = $21,
              reclassified_run_id = $22, last_seen_run_id = $22, updated_at = now()
         FROM (SELECT id, identity_scope AS old_scope FROM breaks WHERE id = $1) o
        WHERE b.id = o.id
          AND ((b.status IN ('open', 'pending') AND b.identity_scope <> 'both')
               OR b.reclassified_run_id = $23)
        RETURNING o.old_scope = 'both' AS again`,
      [
        item.breakId,
        d.kind,
        main.currency,
        main.amountMinor.toString(),
        formatMinor(main.amountMinor, currencyExponent(main.currency)),
        ...sideColumns(d.processor),
        ...sideColumns(d.internal),
        runId,
        previous,
      ],
    );
    const [row] = rows;
    if (!row || rows.length !== 1) {
      if (await closedByHand(tx, item.breakId)) continue;
      throw changedMeanwhile(item.breakId);
    }
    if (!row.again) {
      event(item.breakId, 'reclassified', null, { from: item.from, kind: d.kind });
      counts.reclassified++;
    }
  }

  await flushEvents();

  // 3. The run's discrepancies: seen on their break, or a new break. One row per identity (the
  // first discrepancy of it, by kind then by its rows' lines in the files, so the same input
  // always gives the same description) describes the break.
  const identities = `(SELECT DISTINCT ON (d.transaction_id, ${SCOPE_OF_D})
              d.*, ${SCOPE_OF_D} AS scope
         FROM discrepancies d WHERE d.run_id = $1
        ORDER BY d.transaction_id, ${SCOPE_OF_D},
                 array_position(ARRAY['amount_mismatch', 'currency_mismatch', 'status_mismatch',
                   'missing_in_internal', 'missing_in_processor', 'duplicate'], d.kind),
                 d.processor_line NULLS LAST, d.internal_line NULLS LAST, d.id)`;
  // A break is the identity's when it is pending/open with that identity, when the superseded
  // run saw it, or when a run of this same date opened it (origin date D, origin identity): the
  // last keeps a break of D that a later date resolved or reclassified the same break when D is
  // rerun, so reruns of D and then of the later dates reproduce the first pass. Whatever its
  // status is kept (a break resolved by hand stays resolved), except that a break a previous
  // rerun of D resolved `not_seen_on_rerun` opens again when D sees it again.
  // Nested loops off for the two statements on the run's identities (as for the UPDATE below):
  // a rerun of a 1M-row run took 6.6 s in a nested loop over the breaks for each identity.
  const seen = await withoutNestedLoops(tx, () =>
    tx.query<{ id: string; promoted: boolean; reopened: boolean }>(
      `WITH d AS ${identities},
          hit AS (
            SELECT DISTINCT ON (b.id) b.id, b.status, b.resolution
              FROM breaks b JOIN d ON b.processor = $2 AND b.transaction_id = d.transaction_id
             WHERE b.last_seen_run_id <> $1
               AND ((b.identity_scope = d.scope
                     AND (b.status IN ('open', 'pending') OR b.last_seen_run_id = $3))
                    OR (b.origin_date = $4::date AND b.origin_scope = d.scope))
          )
     UPDATE breaks b SET last_seen_run_id = $1, updated_at = now(),
            status = CASE
              WHEN hit.resolution = 'not_seen_on_rerun'
                THEN CASE WHEN b.identity_scope <> 'both' AND ($4::date - b.origin_date) < $5
                          THEN 'pending' ELSE 'open' END
              WHEN b.status = 'pending' AND ($4::date - b.origin_date) >= $5 THEN 'open'
              ELSE b.status END,
            resolution = CASE WHEN hit.resolution = 'not_seen_on_rerun' THEN NULL
                              ELSE b.resolution END,
            resolved_run_id = CASE WHEN hit.resolution = 'not_seen_on_rerun' THEN NULL
                                   ELSE b.resolved_run_id END,
            resolved_at = CASE WHEN hit.resolution = 'not_seen_on_rerun' THEN NULL
                               ELSE b.resolved_at END,
            resolved_by = CASE WHEN hit.resolution = 'not_seen_on_rerun' THEN NULL
                               ELSE b.resolved_by END
       FROM hit WHERE b.id = hit.id
     RETURNING b.id::text, (hit.status = 'pending' AND b.status = 'open') AS promoted,
               (hit.resolution IS NOT DISTINCT FROM 'not_seen_on_rerun') AS reopened`,
      [runId, run.processor, previous, run.run_date, plan.graceDays],
    ),
  );
  for (const row of seen) {
    if (row.reopened) {
      event(row.id, 'reopened', 'a rerun of its date sees it again', {});
      counts.reopened++;
    } else {
      event(row.id, 'seen', null, row.promoted ? { status: 'open' } : {});
      counts.seen++;
    }
  }
  await flushEvents();
  const opened = await withoutNestedLoops(tx, () =>
    tx.query<{ count: string }>(
      `WITH d AS ${identities},
          fresh AS (
            INSERT INTO breaks (processor, transaction_id, identity_scope, origin_scope, kind,
                   origin_kind, side, status, origin_date, currency, amount_minor, amount,
                   processor_amount_minor, processor_currency, processor_status,
                   processor_line, internal_amount_minor, internal_currency, internal_status,
                   internal_line, processor_created_at, processor_merchant_id,
                   processor_description, internal_created_at, internal_merchant_id,
                   internal_description, first_seen_run_id, last_seen_run_id)
            SELECT $2, d.transaction_id, d.scope, d.scope, d.kind, d.kind, d.side,
                   CASE WHEN d.scope <> 'both' AND $5::int > 0 THEN 'pending' ELSE 'open' END,
                   $4::date, d.currency, d.amount_minor, d.amount,
                   d.processor_amount_minor, d.processor_currency, d.processor_status,
                   d.processor_line, d.internal_amount_minor, d.internal_currency,
                   d.internal_status, d.internal_line,
                   CASE WHEN d.processor_line IS NOT NULL THEN d.created_at END,
                   CASE WHEN d.processor_line IS NOT NULL THEN d.merchant_id END,
                   CASE WHEN d.processor_line IS NOT NULL THEN d.description END,
                   CASE WHEN d.processor_line IS NULL THEN d.created_at END,
                   CASE WHEN d.processor_line IS NULL THEN d.merchant_id END,
                   CASE WHEN d.processor_line IS NULL THEN d.description END,
                   $1, $1
              FROM d
             WHERE NOT EXISTS (SELECT 1 FROM breaks b
                                WHERE b.processor = $2 AND b.transaction_id = d.transaction_id
                                  AND b.last_seen_run_id = $1
                                  AND (b.identity_scope = d.scope
                                       OR (b.origin_scope = d.scope AND b.origin_date = $4::date)))
            RETURNING id, status
          ),
          events AS (
            INSERT INTO break_events (break_id, run_id, event, actor, details)
            SELECT fresh.id, $1, 'opened', $3, jsonb_build_object('status', fresh.status)
              FROM fresh
            RETURNING 1
          )
     SELECT count(*)::text AS count FROM events`,
      [runId, run.processor, RUN_ACTOR, run.run_date, plan.graceDays],
    ),
  );
  counts.opened = Number(opened[0]?.count ?? '0');
  // A hash join of the run's discrepancies with the breaks it saw: both are new in this
  // transaction, so the planner has no statistics for them and chose a nested loop (7 s for the
  // 20 000 discrepancies of a 1M-row run); nested loops are off for this one statement.
  await withoutNestedLoops(tx, () =>
    tx.query(
      `UPDATE discrepancies d SET break_id = b.id
         FROM breaks b
        WHERE d.run_id = $1 AND b.last_seen_run_id = $1 AND b.processor = $2
          AND b.transaction_id = d.transaction_id
          AND (b.identity_scope = ${SCOPE_OF_D}
               OR (b.origin_scope = ${SCOPE_OF_D} AND b.origin_date = $3::date))`,
      [runId, run.processor, run.run_date],
    ),
  );

  // 4. What only the superseded run had opened, and pending breaks that reached the grace.
  if (previous) {
    const gone = await tx.query<{ id: string }>(
      `UPDATE breaks SET status = 'resolved', resolution = 'not_seen_on_rerun',
              resolved_run_id = $1, resolved_by = $3, resolved_at = now(), updated_at = now()
        WHERE processor = $4 AND origin_date = $5::date AND last_seen_run_id = $2
          AND status IN ('open', 'pending')
        RETURNING id::text`,
      [runId, previous, RUN_ACTOR, run.processor, run.run_date],
    );
    for (const { id } of gone) {
      event(id, 'resolved', 'a rerun of its date no longer sees it', {});
      counts.resolved++;
    }
  }
  const promoted = await tx.query<{ id: string }>(
    `UPDATE breaks SET status = 'open', updated_at = now()
      WHERE processor = $1 AND status = 'pending' AND ($2::date - origin_date) >= $3
      RETURNING id::text`,
    [run.processor, run.run_date, plan.graceDays],
  );
  for (const { id } of promoted) event(id, 'seen', null, { status: 'open' });
  await flushEvents();
  await audit(tx, 'breaks_synced', runId, { ...counts, promoted: promoted.length });
}

/** Runs `work` with `enable_nestloop` off for the transaction, then restores the setting. */
async function withoutNestedLoops<T>(tx: SqlExecutor, work: () => Promise<T>): Promise<T> {
  const [row] = await tx.query<{ was: string }>(
    `SELECT current_setting('enable_nestloop') AS was, set_config('enable_nestloop', 'off', true)`,
  );
  const result = await work();
  await tx.query(`SELECT set_config('enable_nestloop', $1, true)`, [row?.was ?? 'on']);
  return result;
}

async function decimalOf(tx: SqlExecutor, breakId: string): Promise<string> {
  const [row] = await tx.query<{ amount_minor: string; currency: string }>(
    `SELECT amount_minor::text, currency FROM breaks WHERE id = $1`,
    [breakId],
  );
  if (!row) throw new Error(`break ${breakId} does not exist`);
  return formatMinor(BigInt(row.amount_minor), currencyExponent(row.currency));
}

/** True when a person resolved or wrote off the break: a rerun leaves it as it is. */
async function closedByHand(tx: SqlExecutor, breakId: string): Promise<boolean> {
  const [row] = await tx.query<{ manual: boolean }>(
    `SELECT status IN ('resolved', 'written_off') AND resolution IN ('manual', 'written_off') AS manual
       FROM breaks WHERE id = $1`,
    [breakId],
  );
  return row?.manual === true;
}

function changedMeanwhile(breakId: string): RunLockLostError {
  return new RunLockLostError(
    `break ${breakId} changed while the run was in progress (another process); the run's results were rolled back`,
  );
}
