import type { BusinessDate } from '../domain/business-date';
import {
  AGE_BUCKETS,
  ageBucket,
  applyManualAction,
  type AgeBucket,
  type BreakEventType,
  type BreakStatus,
  type CarriedBreak,
  type ManualAction,
} from '../engine/break-lifecycle';
import { UsageError } from '../domain/errors';
import type { Database, SqlExecutor, SqlValue } from './database';
import { queryCarried } from './carried-breaks';
import { audit } from './run-store';
import { LinkedBreaks } from './linked-breaks';

export type { LinkedBreak } from './linked-breaks';

/** A break as `recon breaks list|show` prints it. Amounts as decimal strings; dates YYYY-MM-DD. */
export interface StoredBreak {
  readonly breakId: string;
  readonly processor: string;
  readonly transactionId: string;
  readonly kind: string;
  readonly side: string;
  readonly status: BreakStatus;
  readonly originDate: BusinessDate;
  /** Latest business date completed for the processor minus the origin date (≥ 0). */
  readonly ageDays: number;
  readonly amount: string;
  readonly currency: string;
  readonly processorAmount: string | null;
  readonly internalAmount: string | null;
  readonly firstSeenRunId: string;
  readonly lastSeenRunId: string;
  readonly resolvedRunId: string | null;
  readonly resolution: string | null;
  readonly lagDays: number | null;
  readonly resolvedBy: string | null;
}

/** One event of a break's history. `at` ISO 8601 UTC. */
export interface StoredBreakEvent {
  readonly event: BreakEventType;
  readonly runId: string | null;
  readonly actor: string;
  readonly reason: string | null;
  readonly details: Record<string, unknown>;
  readonly at: string;
}

/** Filters of `recon breaks list`. `status` `all` lists every status. */
export interface BreakFilter {
  readonly processor?: string;
  readonly status: BreakStatus | 'all';
  readonly olderThanDays?: number;
  readonly kind?: string;
}

/** The `breaks` block of a run: what it changed and what is open for its processor after it. */
export interface RunBreaks {
  readonly new: number;
  /** Of `new`, the breaks that are open (not pending in their grace): what `--fail-on new` counts. */
  readonly new_open?: number;
  readonly resolved: number;
  readonly reclassified: number;
  readonly pending: number;
  readonly open: number;
  readonly open_by_age: Record<AgeBucket, number>;
  /** Open breaks older than `escalate_days` (RECON_ESCALATE_DAYS), for the summary line. */
  readonly older_than_escalation: number;
  readonly escalate_days: number;
}

/**
 * What a run's reports say about breaks, read inside its final transaction once `syncBreaks`
 * ran (so break ids of new breaks are known): the `breaks` block, the break of each discrepancy,
 * the breaks the run resolved (late arrivals with `lagDays`, `not_seen_on_rerun`) and every open
 * break of the processor after it. Ages are against the run's business date.
 */
export interface RunReportBreaks {
  readonly summary: RunBreaks;
  /** The break of each discrepancy of the run, by identity (in columns: `LinkedBreaks`). */
  readonly linked: LinkedBreaks;
  /** Resolved by the run; in memory, or (`paged`) read a page at a time: see `PagedBreaks`. */
  readonly resolved: readonly StoredBreak[] | PagedBreaks;
  /** Open after the run; in memory, or (`paged`) read a page at a time. */
  readonly open: readonly StoredBreak[] | PagedBreaks;
}

/**
 * Breaks read a page at a time from a scrollable cursor of the transaction they were read in:
 * each `pages()` reads them from the first again (the same rows in the same order: a cursor's
 * result is fixed when it is opened), at most `REPORT_PAGE_ROWS` per page. Usable only while that
 * transaction is open, one `pages()` at a time.
 */
export interface PagedBreaks {
  readonly pages: () => AsyncIterable<readonly StoredBreak[]>;
}

/**
 * Rows per page of the cursors of `readRunReportBreaks` with `paged`: small, so that a page dies
 * young in V8's heap (a large page outlives a scavenge and is left as old-space garbage).
 */
const REPORT_PAGE_ROWS = 1000;

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `sql` with `$1` replaced by the run id as a literal (a cursor is declared without parameters). */
function withRunId(sql: string, runId: string): string {
  if (!UUID_SHAPE.test(runId)) throw new Error(`not a run id: ${runId}`);
  return sql.replaceAll('$1', `'${runId}'::uuid`);
}

/** Every row of `sql` through a cursor of `db`'s transaction, a page at a time. */
async function* cursorPages<T extends object>(
  db: SqlExecutor,
  name: string,
  sql: string,
): AsyncGenerator<readonly T[]> {
  await db.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`);
  for (;;) {
    const page = await db.query<T>(`FETCH FORWARD ${REPORT_PAGE_ROWS} FROM ${name}`);
    if (page.length > 0) yield page;
    if (page.length < REPORT_PAGE_ROWS) break;
  }
  await db.query(`CLOSE ${name}`);
}

interface BreakRow {
  id: string;
  processor: string;
  transaction_id: string;
  kind: string;
  side: string;
  status: BreakStatus;
  origin_date: string;
  age_days: number;
  amount: string;
  currency: string;
  processor_amount_minor: string | null;
  processor_currency: string | null;
  internal_amount_minor: string | null;
  internal_currency: string | null;
  first_seen_run_id: string;
  last_seen_run_id: string;
  resolved_run_id: string | null;
  resolution: string | null;
  lag_days: number | null;
  resolved_by: string | null;
}

/** SELECT of a break with its age against `asOf` (SQL of a date), as `BreakRow`. */
const breakSelect = (asOf: string): string => `
  SELECT b.id::text, b.processor, b.transaction_id, b.kind, b.side, b.status,
         b.origin_date::text AS origin_date,
         greatest(0, coalesce(${asOf}, b.origin_date) - b.origin_date)::int AS age_days,
         b.amount::text AS amount, b.currency,
         b.processor_amount_minor::text AS processor_amount_minor, b.processor_currency,
         b.internal_amount_minor::text AS internal_amount_minor, b.internal_currency,
         b.first_seen_run_id::text AS first_seen_run_id, b.last_seen_run_id::text AS last_seen_run_id,
         b.resolved_run_id::text AS resolved_run_id, b.resolution, b.lag_days, b.resolved_by
    FROM breaks b`;

/** Breaks aged against the latest business date completed for their processor (`breaks list`). */
const BREAK_SELECT = breakSelect(`(SELECT max(r.run_date) FROM reconciliation_runs r
                                WHERE r.processor_name = b.processor AND r.status = 'completed')`);

/** Breaks aged against the business date of the run `$1` (its reports). */
const BREAK_SELECT_AS_OF_RUN = breakSelect(
  `(SELECT r.run_date FROM reconciliation_runs r WHERE r.id = $1::uuid)`,
);

function minorText(minor: string | null, currency: string | null): string | null {
  if (minor === null || currency === null) return null;
  return `${minor} ${currency.trim()}`;
}

function toStoredBreak(row: BreakRow): StoredBreak {
  return {
    breakId: row.id,
    processor: row.processor,
    transactionId: row.transaction_id,
    kind: row.kind,
    side: row.side,
    status: row.status,
    originDate: row.origin_date,
    ageDays: row.age_days,
    amount: row.amount,
    currency: row.currency.trim(),
    processorAmount: minorText(row.processor_amount_minor, row.processor_currency),
    internalAmount: minorText(row.internal_amount_minor, row.internal_currency),
    firstSeenRunId: row.first_seen_run_id,
    lastSeenRunId: row.last_seen_run_id,
    resolvedRunId: row.resolved_run_id,
    resolution: row.resolution,
    lagDays: row.lag_days,
    resolvedBy: row.resolved_by,
  };
}

/**
 * Repository of breaks across days (`breaks`, `break_events`): what a run carries, the `breaks`
 * block of a run, and the manual workflow of `recon breaks`. SQL only; works on PostgreSQL and
 * PGlite. Manual changes write a break event and an audit entry in one transaction.
 */
export class BreakStore {
  constructor(private readonly db: Database) {}

  /**
   * The one-sided breaks carried into the run of (`processor`, `businessDate`): see
   * `queryCarried` (pending or open, origin date before D and within `carryDays`; for a rerun,
   * what the superseded run resolved or reclassified). Ordered by origin date then id.
   */
  async loadCarried(
    processor: string,
    businessDate: BusinessDate,
    carryDays: number,
    details = false,
  ): Promise<CarriedBreak[]> {
    return queryCarried(this.db, processor, businessDate, carryDays, undefined, details);
  }

  /**
   * The `breaks` block of run `runId`: breaks its date opened (origin date D, seen by the run),
   * resolved as late arrivals and reclassified (a rerun reports the same as the run it replaced), and the pending and open breaks of its processor after it,
   * whatever their origin date, with open ones by age bucket (age against the run's date).
   */
  async runBreaks(runId: string, escalateDays: number): Promise<RunBreaks> {
    return runBreaksOf(this.db, runId, escalateDays);
  }

  /** Breaks matching `filter`, oldest origin first. */
  async listBreaks(filter: BreakFilter): Promise<StoredBreak[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.processor) {
      params.push(filter.processor);
      where.push(`processor = $${params.length}`);
    }
    if (filter.status !== 'all') {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.kind) {
      params.push(filter.kind);
      where.push(`kind = $${params.length}`);
    }
    if (filter.olderThanDays !== undefined) {
      params.push(filter.olderThanDays);
      where.push(`age_days > $${params.length}`);
    }
    const rows = await this.db.query<BreakRow>(
      `SELECT * FROM (${BREAK_SELECT}) x ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY origin_date, processor, transaction_id, id`,
      params,
    );
    return rows.map(toStoredBreak);
  }

  /**
   * The break whose id is `idOrPrefix` or starts with it (at least 8 characters).
   * @throws UsageError (exit 2) for a short, unknown or ambiguous id.
   */
  async findBreak(idOrPrefix: string): Promise<StoredBreak> {
    return findIn(this.db, idOrPrefix);
  }

  /** The events of a break, oldest first. */
  async breakEvents(breakId: string): Promise<StoredBreakEvent[]> {
    const rows = await this.db.query<{
      event: BreakEventType;
      run_id: string | null;
      actor: string;
      reason: string | null;
      details: string;
      at: string;
    }>(
      `SELECT event, run_id::text AS run_id, actor, reason, details::text AS details,
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
         FROM break_events WHERE break_id = $1 ORDER BY occurred_at, id`,
      [breakId],
    );
    return rows.map((row) => ({
      event: row.event,
      runId: row.run_id,
      actor: row.actor,
      reason: row.reason,
      details: JSON.parse(row.details) as Record<string, unknown>,
      at: row.at,
    }));
  }

  /**
   * Applies a manual action (`recon breaks resolve|reopen|comment`) by `actor` with `reason`:
   * in ONE transaction, the status change (if any), a break event and an audit entry.
   * Returns the break after the change.
   * @throws UsageError (exit 2) for a bad id or a transition the lifecycle refuses.
   */
  async applyManual(
    idOrPrefix: string,
    action: ManualAction,
    actor: string,
    reason: string,
  ): Promise<StoredBreak> {
    return this.db.withTransaction(async (tx) => {
      const found = await findIn(tx, idOrPrefix, true);
      const transition = applyManualAction(found.status, action);
      if (!transition.ok) throw new UsageError(`break ${found.breakId}: ${transition.reason}`);
      if (transition.status !== found.status) {
        const closing = transition.status === 'resolved' || transition.status === 'written_off';
        await tx.query(
          `UPDATE breaks SET status = $2, resolution = $3, resolved_by = $4,
                  resolved_at = CASE WHEN $5::boolean THEN now() END,
                  resolved_run_id = CASE WHEN $5::boolean THEN resolved_run_id END,
                  lag_days = CASE WHEN $5::boolean THEN lag_days END, updated_at = now()
            WHERE id = $1`,
          [
            found.breakId,
            transition.status,
            closing ? (transition.status === 'written_off' ? 'written_off' : 'manual') : null,
            closing ? actor : null,
            closing,
          ],
        );
      }
      await tx.query(
        `INSERT INTO break_events (break_id, run_id, event, actor, reason, details)
         VALUES ($1, NULL, $2, $3, $4, $5)`,
        [
          found.breakId,
          transition.event,
          actor,
          reason,
          JSON.stringify({ from: found.status, to: transition.status }),
        ],
      );
      await audit(tx, `break_${transition.event}`, null, {
        break_id: found.breakId,
        processor: found.processor,
        transaction_id: found.transactionId,
        from: found.status,
        to: transition.status,
        actor,
        reason,
      });
      return findIn(tx, found.breakId);
    });
  }
}

/**
 * The `breaks` block of run `runId` (see `BreakStore.runBreaks`), read through `db`: the
 * database or the run's own final transaction (the reports of a run are rendered there, after
 * `syncBreaks`, before COMMIT).
 */
export async function runBreaksOf(
  db: SqlExecutor,
  runId: string,
  escalateDays: number,
): Promise<RunBreaks> {
  // From the breaks' state, not from events: a rerun of the date reports what the date did.
  const [events] = await db.query<{
    opened: number;
    opened_open: number;
    resolved: number;
    reclassified: number;
  }>(
    `SELECT count(*) FILTER (WHERE b.last_seen_run_id = r.id AND b.origin_date = r.run_date)::int AS opened,
            count(*) FILTER (WHERE b.last_seen_run_id = r.id AND b.origin_date = r.run_date
                               AND b.status = 'open')::int AS opened_open,
            count(*) FILTER (WHERE b.resolved_run_id = r.id AND b.resolution = 'late_arrival')::int AS resolved,
            count(*) FILTER (WHERE b.reclassified_run_id = r.id)::int AS reclassified
       FROM reconciliation_runs r
       JOIN breaks b ON b.processor = r.processor_name
                    AND r.id IN (b.last_seen_run_id, b.resolved_run_id, b.reclassified_run_id)
      WHERE r.id = $1`,
    [runId],
  );
  const ages = await db.query<{ status: BreakStatus; age: number; n: number }>(
    `SELECT b.status, (r.run_date - b.origin_date)::int AS age, count(*)::int AS n
       FROM reconciliation_runs r
       JOIN breaks b ON b.processor = r.processor_name AND b.status IN ('open', 'pending')
      WHERE r.id = $1
      GROUP BY 1, 2`,
    [runId],
  );
  const byAge = Object.fromEntries(AGE_BUCKETS.map((b) => [b, 0])) as Record<AgeBucket, number>;
  let open = 0;
  let pending = 0;
  let older = 0;
  for (const row of ages) {
    if (row.status === 'pending') {
      pending += row.n;
      continue;
    }
    open += row.n;
    const age = Math.max(0, row.age);
    byAge[ageBucket(age)] += row.n;
    if (age > escalateDays) older += row.n;
  }
  return {
    new: events?.opened ?? 0,
    new_open: events?.opened_open ?? 0,
    resolved: events?.resolved ?? 0,
    reclassified: events?.reclassified ?? 0,
    pending,
    open,
    open_by_age: byAge,
    older_than_escalation: older,
    escalate_days: escalateDays,
  };
}

/**
 * Everything the reports of run `runId` say about breaks (`RunReportBreaks`), read through `db`
 * (the run's final transaction, after `syncBreaks`). Read-only. Open breaks ordered by origin
 * date, transaction id, id; resolved ones likewise. `paged` (a stored run's reports, written
 * inside that transaction): the linked breaks are read through a cursor a page at a time, the
 * resolved and open ones are left in scrollable cursors (`PagedBreaks`), so a large run never holds all of
 * its driver rows, nor its open breaks, at once; `db` must then be a transaction that stays
 * open while the reports are written.
 */
export async function readRunReportBreaks(
  db: SqlExecutor,
  runId: string,
  escalateDays: number,
  options: { readonly paged?: boolean } = {},
): Promise<RunReportBreaks> {
  const summary = await runBreaksOf(db, runId, escalateDays);
  const linked = new LinkedBreaks();
  const link = (row: LinkedRow): void => {
    linked.add({
      breakId: row.id,
      transactionId: row.transaction_id,
      scope: row.identity_scope,
      status: row.status,
      originDate: row.origin_date,
      ageDays: row.age_days,
      firstSeenRunId: row.first_seen_run_id,
    });
  };
  if (options.paged === true) {
    for await (const page of cursorPages<LinkedRow>(
      db,
      'recon_report_linked',
      withRunId(LINKED_SQL, runId),
    ))
      for (const row of page) link(row);
  } else for (const row of await db.query<LinkedRow>(LINKED_SQL, [runId])) link(row);
  if (options.paged !== true) {
    const resolved = await db.query<BreakRow>(RESOLVED_SQL, [runId]);
    const open = await db.query<BreakRow>(OPEN_SQL, [runId]);
    return {
      summary,
      linked,
      resolved: resolved.map(toStoredBreak),
      open: open.map(toStoredBreak),
    };
  }
  return {
    summary,
    linked,
    resolved: await scrollPages(db, 'recon_report_resolved', withRunId(RESOLVED_SQL, runId)),
    open: await scrollPages(db, 'recon_report_open', withRunId(OPEN_SQL, runId)),
  };
}

/**
 * The breaks of `sql` left in a scrollable cursor of `db`'s transaction, read again from its first
 * row by each `pages()`: every file that lists them lists the same ones, as one read would.
 */
async function scrollPages(db: SqlExecutor, cursor: string, sql: string): Promise<PagedBreaks> {
  await db.query(`DECLARE ${cursor} SCROLL CURSOR FOR ${sql}`);
  const pages = async function* (): AsyncGenerator<readonly StoredBreak[]> {
    await db.query(`MOVE ABSOLUTE 0 IN ${cursor}`);
    for (;;) {
      const page = await db.query<BreakRow>(`FETCH FORWARD ${REPORT_PAGE_ROWS} FROM ${cursor}`);
      if (page.length > 0) yield page.map(toStoredBreak);
      if (page.length < REPORT_PAGE_ROWS) return;
    }
  };
  return { pages };
}

interface LinkedRow {
  id: string;
  transaction_id: string;
  identity_scope: 'processor' | 'internal' | 'both';
  status: BreakStatus;
  origin_date: string;
  age_days: number;
  first_seen_run_id: string;
}

// An uncorrelated semi-join on the run's break ids (looked up by primary key): written as a
// subquery correlated with the run row, the planner probed the run's discrepancies once per
// break (34 s for the 20 000 breaks of a 1M-row run).
const LINKED_SQL = `SELECT b.id::text, b.transaction_id, b.identity_scope, b.status,
            b.origin_date::text AS origin_date,
            greatest(0, r.run_date - b.origin_date)::int AS age_days,
            b.first_seen_run_id::text AS first_seen_run_id
       FROM breaks b
       CROSS JOIN (SELECT run_date FROM reconciliation_runs WHERE id = $1::uuid) r
      WHERE b.id IN (SELECT d.break_id FROM discrepancies d
                      WHERE d.run_id = $1::uuid AND d.break_id IS NOT NULL)`;

const RESOLVED_SQL = `${BREAK_SELECT_AS_OF_RUN} WHERE b.resolved_run_id = $1::uuid
      ORDER BY b.origin_date, b.transaction_id, b.id`;

const OPEN_SQL = `${BREAK_SELECT_AS_OF_RUN}
      WHERE b.status = 'open'
        AND b.processor = (SELECT r.processor_name FROM reconciliation_runs r WHERE r.id = $1::uuid)
      ORDER BY b.origin_date, b.transaction_id, b.id`;

async function findIn(db: SqlExecutor, idOrPrefix: string, lock = false): Promise<StoredBreak> {
  const prefix = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f-]{8,36}$/.test(prefix)) {
    throw new UsageError(
      `break id '${idOrPrefix}' must be a break id or a prefix of at least 8 of its characters`,
    );
  }
  const rows = await db.query<BreakRow>(
    `${BREAK_SELECT} WHERE b.id::text LIKE $1 || '%' ORDER BY b.id LIMIT 2${lock ? ' FOR UPDATE OF b' : ''}`,
    [prefix],
  );
  const [row, second] = rows;
  if (!row) throw new UsageError(`no break with id ${idOrPrefix}`);
  if (second) throw new UsageError(`break id prefix ${idOrPrefix} matches more than one break`);
  return toStoredBreak(row);
}
