import type { BankEntry } from '../domain/bank-entry';
import { currencyExponent } from '../domain/currency';
import { RunLockLostError, UsageError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import { bankEntryReference } from '../engine/bank-matching';
import {
  applyManualAction,
  type BreakEventType,
  type BreakStatus,
  type ManualAction,
} from '../engine/break-lifecycle';
import type { RunSettlement } from '../engine/settlement';
import {
  settlementObservations,
  statusOfKind,
  type CarriedPayout,
  type RunSettlementBreaks,
  type SettlementBreakKind,
  type SettlementObservation,
  type SettlementSubject,
  type StoredSettlementBreak,
} from '../engine/settlement-breaks';
import { RUN_ACTOR, type AuditWriter } from './break-sync';
import type { Database, SqlExecutor, SqlValue } from './database';

/**
 * Persistence of settlement breaks (issue #15, schema 8: `settlement_breaks`, append-only
 * `settlement_break_events`; see `engine/settlement-breaks.ts` for identities and kinds): the
 * payouts a run carries, the sync in the run's final transaction, what a run's reports say, and
 * the manual workflow of `recon payouts breaks|resolve|reopen|comment`. SQL only; PostgreSQL and
 * PGlite. One statement per observed identity: a day's payouts and credits are few (hundreds),
 * unlike its transactions.
 */

const decimal = (minor: bigint, currency: string): string =>
  formatMinor(minor, currencyExponent(currency.trim()));

/** A statement entry as stored in `settlement_breaks.bank_entry` (amounts as strings). */
function entryJson(entry: BankEntry): object {
  return {
    statement_id: entry.statementId,
    account: entry.account,
    amount_minor: entry.amount.toString(),
    currency: entry.currency,
    direction: entry.direction,
    booking_date: entry.bookingDate,
    value_date: entry.valueDate,
    bank_reference: entry.bankReference,
    customer_reference: entry.customerReference,
    remittance_text: entry.remittanceText,
    type_code: entry.typeCode,
    line: entry.line,
    xml_path: entry.xmlPath,
  };
}

/**
 * The payouts of `processor` carried into the run of `businessDate` (`YYYY-MM-DD`): payout breaks
 * pending or open with an origin date before it and at most `carryDays` calendar days before it;
 * for a rerun, also those the run it supersedes matched (decided again). Oldest first.
 */
export async function loadCarriedPayouts(
  db: SqlExecutor,
  processor: string,
  businessDate: string,
  carryDays: number,
): Promise<CarriedPayout[]> {
  const rows = await db.query<{
    id: string;
    origin_date: string;
    subject_id: string;
    currency: string;
    amount_minor: string;
    expected_date: string | null;
  }>(
    `WITH prev AS (SELECT id FROM reconciliation_runs
                    WHERE run_date = $2::date AND processor_name = $1 AND status = 'completed')
     SELECT b.id::text, b.origin_date::text AS origin_date, b.subject_id, trim(b.currency) AS currency,
            b.amount_minor::text AS amount_minor, b.expected_date::text AS expected_date
       FROM settlement_breaks b
      WHERE b.processor = $1 AND b.subject = 'payout'
        AND b.origin_date < $2::date AND b.origin_date >= $2::date - $3::int
        AND (b.status IN ('pending', 'open')
             OR (b.resolution = 'matched' AND b.resolved_run_id IN (SELECT id FROM prev)))
      ORDER BY b.origin_date, b.id`,
    [processor, businessDate, carryDays],
  );
  return rows.map((row) => ({
    breakId: row.id,
    originDate: row.origin_date,
    payout: {
      id: row.subject_id,
      currency: row.currency,
      amount: BigInt(row.amount_minor),
      expectedDate: row.expected_date ?? row.origin_date,
    },
  }));
}

interface FoundBreak {
  id: string;
  status: BreakStatus;
  resolution: string | null;
  resolved_run_id: string | null;
  origin_date: string;
  seen_date: string;
}

/** Why a fine observation resolves its break (the `resolution_reason`). */
function resolutionReason(o: SettlementObservation, date: string): string {
  if (o.subject === 'group') return `the payout balances in the run of ${date}`;
  if (o.subject === 'payout')
    return `in the bank per the run of ${date}: entry ${o.entry ? bankEntryReference(o.entry) : '?'}`;
  return `matched to payout ${o.matchedWith ?? '?'} in the run of ${date}`;
}

/**
 * Brings `settlement_breaks` up to date with run `runId` (still `running`, its settlement rows
 * written), inside the run's final transaction, before the previous completed run of the same
 * date and processor is superseded. `settlement` null: the run observed no settlement. Steps:
 * 1. a rerun reopens what the run it supersedes resolved as matched and this one does not match;
 * 2. each observed identity (`settlementObservations`): a break observation is `seen` on the
 *    identity's break — its pending/open one, else the one the superseded run saw or resolved,
 *    else its latest (identities name one real payout or statement entry: whatever its status
 *    since, one resolved by a later date or by hand stays so; one resolved `not_seen_on_rerun`
 *    reopens) —, its kind and amounts updated unless a run of a later date saw it last; or
 *    `opened` as a new break (`pending` for `payout_pending` and `group_incomplete`), except for
 *    a credit that a completed run of another date or processor read already (it was matched
 *    there). A fine observation resolves the identity's pending/open break
 *    (`matched`, with the lag in days and a reason naming the run's date and the bank entry);
 * 3. breaks of origin date D the superseded run saw and this one does not: `not_seen_on_rerun`;
 *    pending groups whose due date passed open.
 * Every change is a `settlement_break_events` row; one `settlement_breaks_synced` audit entry per
 * run with a settlement leg (or that changed a break) records the counts.
 */
export async function syncSettlementBreaks(
  tx: SqlExecutor,
  runId: string,
  settlement: RunSettlement | null,
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
  const { previous, processor } = run;
  const date = run.run_date;
  const counts = { opened: 0, seen: 0, resolved: 0, reopened: 0, promoted: 0 };
  const event = async (
    breakId: string,
    type: BreakEventType,
    reason: string | null,
    details: object,
  ): Promise<void> => {
    await tx.query(
      `INSERT INTO settlement_break_events (break_id, run_id, event, actor, reason, details)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [breakId, runId, type, RUN_ACTOR, reason, JSON.stringify(details)],
    );
  };
  const observations = settlement ? settlementObservations(settlement, processor) : [];
  const fine = new Set(observations.filter((o) => o.kind === null).map((o) => o.identity));

  // 1. What the superseded run matched and this one does not match again: open again.
  if (previous) {
    const undone = await tx.query<{ id: string; identity: string; kind: SettlementBreakKind }>(
      `SELECT id::text, identity, kind FROM settlement_breaks
        WHERE resolved_run_id = $1 AND resolution = 'matched'`,
      [previous],
    );
    for (const row of undone) {
      if (fine.has(row.identity)) continue;
      await tx.query(
        `UPDATE settlement_breaks SET status = $2, resolution = NULL, resolution_reason = NULL,
                lag_days = NULL, resolved_run_id = NULL, resolved_at = NULL, resolved_by = NULL,
                updated_at = now()
          WHERE id = $1`,
        [row.id, statusOfKind(row.kind)],
      );
      await event(row.id, 'reopened', 'a rerun of its resolving date no longer matches it', {});
      counts.reopened++;
    }
  }

  // 2. Every identity the run observed.
  for (const o of observations) {
    const [found] = await tx.query<FoundBreak>(
      `SELECT b.id::text, b.status, b.resolution, b.resolved_run_id::text AS resolved_run_id,
              b.origin_date::text AS origin_date, s.run_date::text AS seen_date
         FROM settlement_breaks b JOIN reconciliation_runs s ON s.id = b.last_seen_run_id
        WHERE b.identity = $1
        ORDER BY (b.status IN ('pending', 'open')) DESC,
                 (b.last_seen_run_id = $2::uuid OR b.resolved_run_id = $2::uuid) IS TRUE DESC,
                 b.origin_date DESC, b.created_at DESC
        LIMIT 1`,
      [o.identity, previous],
    );
    const active = found?.status === 'pending' || found?.status === 'open';
    if (o.kind === null) {
      if (!found) continue;
      if (active) {
        const reason = resolutionReason(o, date);
        await tx.query(
          `UPDATE settlement_breaks SET status = 'resolved', resolution = 'matched',
                  resolution_reason = $2, lag_days = greatest(0, $3::date - origin_date),
                  resolved_run_id = $4, last_seen_run_id = $4, resolved_by = $5,
                  resolved_at = now(), updated_at = now()
            WHERE id = $1`,
          [found.id, reason, date, runId, RUN_ACTOR],
        );
        await event(found.id, 'resolved', reason, {
          ...(o.entry ? { bank_entry: bankEntryReference(o.entry) } : {}),
          ...(o.matchedWith ? { payout: o.matchedWith } : {}),
        });
        counts.resolved++;
      } else if (found.resolution === 'matched' && previous && found.resolved_run_id === previous) {
        // The superseded run matched it and this one matches it again: the rerun resolves it.
        await tx.query(
          `UPDATE settlement_breaks SET resolved_run_id = $2, last_seen_run_id = $2,
                  resolution_reason = $3, updated_at = now()
            WHERE id = $1`,
          [found.id, runId, resolutionReason(o, date)],
        );
      }
      continue;
    }
    const kind = o.kind;
    const values: SqlValue[] = [
      kind,
      o.amount.toString(),
      decimal(o.amount, o.currency),
      o.difference?.toString() ?? null,
      o.difference === null ? null : decimal(o.difference, o.currency),
      o.expectedDate,
    ];
    if (found) {
      const reopen = found.resolution === 'not_seen_on_rerun';
      // A run of an earlier date than the one that saw it last does not undo what that one saw.
      const current = found.seen_date <= date;
      const status: BreakStatus = reopen || (active && current) ? statusOfKind(kind) : found.status;
      await tx.query(
        `UPDATE settlement_breaks SET last_seen_run_id = $2, processor = $3, status = $4,
                kind = CASE WHEN $5::boolean THEN $6 ELSE kind END,
                amount_minor = CASE WHEN $5::boolean THEN $7::bigint ELSE amount_minor END,
                amount = CASE WHEN $5::boolean THEN $8::numeric ELSE amount END,
                difference_minor = CASE WHEN $5::boolean THEN $9::bigint ELSE difference_minor END,
                difference = CASE WHEN $5::boolean THEN $10::numeric ELSE difference END,
                expected_date = CASE WHEN $5::boolean THEN $11::date ELSE expected_date END,
                resolution = CASE WHEN $12::boolean THEN NULL ELSE resolution END,
                resolution_reason = CASE WHEN $12::boolean THEN NULL ELSE resolution_reason END,
                resolved_run_id = CASE WHEN $12::boolean THEN NULL ELSE resolved_run_id END,
                resolved_at = CASE WHEN $12::boolean THEN NULL ELSE resolved_at END,
                resolved_by = CASE WHEN $12::boolean THEN NULL ELSE resolved_by END,
                lag_days = CASE WHEN $12::boolean THEN NULL ELSE lag_days END,
                updated_at = now()
          WHERE id = $1`,
        [found.id, runId, processor, status, current || reopen, ...values, reopen],
      );
      if (reopen) {
        await event(found.id, 'reopened', 'a rerun of its date sees it again', { kind });
        counts.reopened++;
      } else {
        await event(found.id, 'seen', null, { kind, status });
        counts.seen++;
      }
      continue;
    }
    const e = o.entry && o.subject === 'bank_credit' ? o.entry : null;
    // A credit without a break that another run (an earlier date, another processor) read
    // already was matched there (unmatched, it would have a break): a statement sent again or
    // a cumulative one does not make it unmatched.
    if (e && (await readElsewhere(tx, e, date, processor))) continue;
    const status = statusOfKind(kind);
    const [inserted] = await insertOrLost(o.identity, () =>
      tx.query<{ id: string }>(
        `INSERT INTO settlement_breaks (identity, subject, processor, subject_id, kind, origin_kind,
              status, origin_date, currency, amount_minor, amount, difference_minor, difference,
              expected_date, account, value_date, entry_reference, bank_entry,
              first_seen_run_id, last_seen_run_id)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7::date, $8, $9, $10, $11, $12, $13::date, $14,
               $15::date, $16, $17::jsonb, $18, $18)
       RETURNING id::text`,
        [
          o.identity,
          o.subject,
          processor,
          o.subjectId,
          kind,
          status,
          date,
          o.currency,
          ...values.slice(1),
          e?.account ?? null,
          e ? (e.valueDate ?? e.bookingDate) : null,
          e ? bankEntryReference(e) : null,
          e ? JSON.stringify(entryJson(e)) : null,
          runId,
        ],
      ),
    );
    if (!inserted) throw new Error('INSERT … RETURNING id returned no row');
    await event(inserted.id, 'opened', null, { kind, status });
    counts.opened++;
  }

  // 3. What only the superseded run had seen of this date; pending groups now due.
  if (previous) {
    const gone = await tx.query<{ id: string }>(
      `UPDATE settlement_breaks SET status = 'resolved', resolution = 'not_seen_on_rerun',
              resolution_reason = 'a rerun of its date no longer sees it',
              resolved_run_id = $1, resolved_by = $3, resolved_at = now(), updated_at = now()
        WHERE origin_date = $4::date AND last_seen_run_id = $2 AND status IN ('open', 'pending')
        RETURNING id::text`,
      [runId, previous, RUN_ACTOR, date],
    );
    for (const { id } of gone) {
      await event(id, 'resolved', 'a rerun of its date no longer sees it', {});
      counts.resolved++;
    }
  }
  const promoted = await tx.query<{ id: string }>(
    `UPDATE settlement_breaks SET status = 'open', updated_at = now()
      WHERE processor = $1 AND subject = 'group' AND status = 'pending'
        AND expected_date < $2::date
      RETURNING id::text`,
    [processor, date],
  );
  for (const { id } of promoted) await event(id, 'seen', null, { status: 'open' });
  counts.promoted = promoted.length;
  // A run without a settlement leg that changed nothing records nothing (most runs of most
  // processors): the audit log stays as it was before schema 8 for them.
  if (settlement || Object.values(counts).some((n) => n > 0))
    await audit(tx, 'settlement_breaks_synced', runId, counts);
}

/**
 * True when a completed run other than those of (`date`, `processor`) read the statement entry
 * `e` (same account, entry key, value date, amount and currency): see `syncSettlementBreaks`.
 */
async function readElsewhere(
  tx: SqlExecutor,
  e: BankEntry,
  date: string,
  processor: string,
): Promise<boolean> {
  const rows = await tx.query<{ found: number }>(
    `SELECT 1 AS found FROM bank_entries x JOIN reconciliation_runs r ON r.id = x.run_id
      WHERE x.reference = $1 AND x.amount_minor = $2::bigint AND x.account = $3
        AND trim(x.currency) = $4 AND x.direction = 'credit'
        AND coalesce(x.value_date, x.booking_date) IS NOT DISTINCT FROM $5::date
        AND r.status = 'completed' AND NOT (r.run_date = $6::date AND r.processor_name = $7)
      LIMIT 1`,
    [
      bankEntryReference(e),
      e.amount.toString(),
      e.account,
      e.currency,
      e.valueDate ?? e.bookingDate,
      date,
      processor,
    ],
  );
  return rows.length > 0;
}

/**
 * Runs `insert` of a new break of `identity`; a unique violation (another process opened a break
 * of the same identity meanwhile: a bank credit seen by two processors' runs at once) becomes a
 * `RunLockLostError` (the run rolls back and says why; a rerun sees that break), not a bug.
 */
async function insertOrLost<T>(identity: string, insert: () => Promise<T>): Promise<T> {
  try {
    return await insert();
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === '23505')
      throw new RunLockLostError(
        `settlement break ${identity} was opened by another process while the run was in progress; the run's results were rolled back (run it again)`,
        { cause: error },
      );
    throw error;
  }
}

interface BreakRow {
  id: string;
  processor: string;
  subject: SettlementSubject;
  subject_id: string;
  kind: SettlementBreakKind;
  status: BreakStatus;
  origin_date: string;
  age_days: number;
  currency: string;
  amount_minor: string;
  difference_minor: string | null;
  expected_date: string | null;
  account: string | null;
  value_date: string | null;
  first_seen_run_id: string;
  last_seen_run_id: string;
  resolved_run_id: string | null;
  resolution: string | null;
  resolution_reason: string | null;
  lag_days: number | null;
  resolved_by: string | null;
  identity: string;
}

/** SELECT of a settlement break aged against `asOf` (SQL of a date), as `BreakRow`. */
const breakSelect = (asOf: string): string => `
  SELECT b.id::text, b.processor, b.subject, b.subject_id, b.kind, b.status,
         b.origin_date::text AS origin_date,
         greatest(0, coalesce(${asOf}, b.origin_date) - b.origin_date)::int AS age_days,
         trim(b.currency) AS currency, b.amount_minor::text AS amount_minor,
         b.difference_minor::text AS difference_minor, b.expected_date::text AS expected_date,
         b.account, b.value_date::text AS value_date,
         b.first_seen_run_id::text AS first_seen_run_id, b.last_seen_run_id::text AS last_seen_run_id,
         b.resolved_run_id::text AS resolved_run_id, b.resolution, b.resolution_reason,
         b.lag_days, b.resolved_by, b.identity
    FROM settlement_breaks b`;

/** Aged against the latest business date completed for the break's processor (listings). */
const BREAK_SELECT = breakSelect(`(SELECT max(r.run_date) FROM reconciliation_runs r
                                WHERE r.processor_name = b.processor AND r.status = 'completed')`);

/** Aged against the business date of the run `$1` (its reports). */
const BREAK_SELECT_AS_OF_RUN = breakSelect(
  `(SELECT r.run_date FROM reconciliation_runs r WHERE r.id = $1::uuid)`,
);

function toStored(row: BreakRow): StoredSettlementBreak {
  return {
    breakId: row.id,
    processor: row.processor,
    subject: row.subject,
    subjectId: row.subject_id,
    kind: row.kind,
    status: row.status,
    originDate: row.origin_date,
    ageDays: row.age_days,
    currency: row.currency,
    amount: decimal(BigInt(row.amount_minor), row.currency),
    difference:
      row.difference_minor === null ? null : decimal(BigInt(row.difference_minor), row.currency),
    expectedDate: row.expected_date,
    account: row.account,
    valueDate: row.value_date,
    firstSeenRunId: row.first_seen_run_id,
    lastSeenRunId: row.last_seen_run_id,
    resolvedRunId: row.resolved_run_id,
    resolution: row.resolution,
    resolutionReason: row.resolution_reason,
    lagDays: row.lag_days,
    resolvedBy: row.resolved_by,
  };
}

/**
 * What the reports of run `runId` say about settlement breaks, read through `db` (the run's
 * final transaction, after `syncSettlementBreaks`): the counts (`SettlementBreakCounts`), the
 * pending and open breaks of its processor after it and the breaks it resolved (matched), aged
 * against the run's business date, oldest first. Read-only.
 */
export async function readRunSettlementBreaks(
  db: SqlExecutor,
  runId: string,
): Promise<RunSettlementBreaks> {
  const [counts] = await db.query<{
    new: number;
    new_open: number;
    resolved: number;
  }>(
    `SELECT count(*) FILTER (WHERE b.last_seen_run_id = r.id AND b.origin_date = r.run_date)::int AS new,
            count(*) FILTER (WHERE b.last_seen_run_id = r.id AND b.origin_date = r.run_date
                               AND b.status = 'open')::int AS new_open,
            count(*) FILTER (WHERE b.resolved_run_id = r.id AND b.resolution = 'matched')::int AS resolved
       FROM reconciliation_runs r
       JOIN settlement_breaks b ON r.id IN (b.last_seen_run_id, b.resolved_run_id)
      WHERE r.id = $1::uuid`,
    [runId],
  );
  const active = await db.query<BreakRow>(
    `${BREAK_SELECT_AS_OF_RUN}
      WHERE b.status IN ('pending', 'open')
        AND b.processor = (SELECT r.processor_name FROM reconciliation_runs r WHERE r.id = $1::uuid)
      ORDER BY b.origin_date, b.subject, b.subject_id, b.id`,
    [runId],
  );
  const resolved = await db.query<BreakRow>(
    `${BREAK_SELECT_AS_OF_RUN} WHERE b.resolved_run_id = $1::uuid AND b.resolution = 'matched'
      ORDER BY b.origin_date, b.subject, b.subject_id, b.id`,
    [runId],
  );
  return {
    counts: {
      new: counts?.new ?? 0,
      new_open: counts?.new_open ?? 0,
      open: active.filter((b) => b.status === 'open').length,
      resolved: counts?.resolved ?? 0,
      pending: active.filter((b) => b.status === 'pending').length,
    },
    active: active.map(toStored),
    resolved: resolved.map(toStored),
  };
}

/** One event of a settlement break's history. `at` ISO 8601 UTC. */
export interface StoredSettlementBreakEvent {
  readonly event: BreakEventType;
  readonly runId: string | null;
  readonly actor: string;
  readonly reason: string | null;
  readonly details: Record<string, unknown>;
  readonly at: string;
}

/** Filters of `recon payouts breaks`: status (`all`: every status), processor, kind. */
export interface SettlementBreakFilter {
  readonly status: BreakStatus | 'all';
  readonly processor?: string;
  readonly kind?: string;
}

/**
 * Repository of settlement breaks for `recon payouts breaks|resolve|reopen|comment`. Manual
 * changes write an event and an audit entry in one transaction (`settlement_break_<event>`).
 */
export class SettlementBreakStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditWriter,
  ) {}

  /** Breaks matching `filter`, oldest origin first, aged against their processor's latest date. */
  async list(filter: SettlementBreakFilter): Promise<StoredSettlementBreak[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.status !== 'all') {
      params.push(filter.status);
      where.push(`b.status = $${params.length}`);
    }
    if (filter.processor) {
      params.push(filter.processor);
      where.push(`b.processor = $${params.length}`);
    }
    if (filter.kind) {
      params.push(filter.kind);
      where.push(`b.kind = $${params.length}`);
    }
    const rows = await this.db.query<BreakRow>(
      `${BREAK_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY b.origin_date, b.processor, b.subject, b.subject_id, b.id`,
      params,
    );
    return rows.map(toStored);
  }

  /**
   * The break whose id is `idOrPrefix` or starts with it (at least 8 characters).
   * @throws UsageError (exit 2) for a short, unknown or ambiguous id.
   */
  async find(idOrPrefix: string): Promise<StoredSettlementBreak> {
    return toStored(await findIn(this.db, idOrPrefix));
  }

  /** The events of a settlement break, oldest first. */
  async events(breakId: string): Promise<StoredSettlementBreakEvent[]> {
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
         FROM settlement_break_events WHERE break_id = $1 ORDER BY occurred_at, id`,
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
   * Applies a manual action by `actor` with `reason` (the rules of `applyManualAction`): in ONE
   * transaction the status change (if any), an event and an audit entry. Returns the break after.
   * @throws UsageError (exit 2) for a bad id, a transition the lifecycle refuses, or a reopen
   *   while another break of the same identity is pending or open.
   */
  async applyManual(
    idOrPrefix: string,
    action: ManualAction,
    actor: string,
    reason: string,
  ): Promise<StoredSettlementBreak> {
    return this.db.withTransaction(async (tx) => {
      const row = await findIn(tx, idOrPrefix, true);
      const found = toStored(row);
      const transition = applyManualAction(found.status, action);
      if (!transition.ok)
        throw new UsageError(`settlement break ${found.breakId}: ${transition.reason}`);
      if (transition.status === 'open' && transition.event === 'reopened') {
        const [other] = await tx.query<{ id: string }>(
          `SELECT id::text FROM settlement_breaks
            WHERE identity = $1 AND status IN ('pending', 'open') AND id <> $2`,
          [row.identity, found.breakId],
        );
        if (other)
          throw new UsageError(
            `settlement break ${found.breakId}: break ${other.id} of the same payout or credit is open; resolve it first`,
          );
      }
      if (transition.status !== found.status) {
        const closing = transition.status === 'resolved' || transition.status === 'written_off';
        await tx.query(
          `UPDATE settlement_breaks SET status = $2, resolution = $3, resolved_by = $4,
                  resolution_reason = CASE WHEN $5::boolean THEN $6 END,
                  resolved_at = CASE WHEN $5::boolean THEN now() END,
                  resolved_run_id = NULL, lag_days = NULL, updated_at = now()
            WHERE id = $1`,
          [
            found.breakId,
            transition.status,
            closing ? (transition.status === 'written_off' ? 'written_off' : 'manual') : null,
            closing ? actor : null,
            closing,
            reason,
          ],
        );
      }
      await tx.query(
        `INSERT INTO settlement_break_events (break_id, run_id, event, actor, reason, details)
         VALUES ($1, NULL, $2, $3, $4, $5)`,
        [
          found.breakId,
          transition.event,
          actor,
          reason,
          JSON.stringify({ from: found.status, to: transition.status }),
        ],
      );
      await this.audit(tx, `settlement_break_${transition.event}`, null, {
        break_id: found.breakId,
        processor: found.processor,
        subject: found.subject,
        subject_id: found.subjectId,
        kind: found.kind,
        from: found.status,
        to: transition.status,
        actor,
        reason,
      });
      return toStored(await findIn(tx, found.breakId));
    });
  }
}

async function findIn(db: SqlExecutor, idOrPrefix: string, lock = false): Promise<BreakRow> {
  const prefix = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f-]{8,36}$/.test(prefix)) {
    throw new UsageError(
      `settlement break id '${idOrPrefix}' must be a break id or a prefix of at least 8 of its characters`,
    );
  }
  const rows = await db.query<BreakRow>(
    `${BREAK_SELECT} WHERE b.id::text LIKE $1 || '%' ORDER BY b.id LIMIT 2${lock ? ' FOR UPDATE OF b' : ''}`,
    [prefix],
  );
  const [row, second] = rows;
  if (!row) throw new UsageError(`no settlement break with id ${idOrPrefix}`);
  if (second)
    throw new UsageError(`settlement break id prefix ${idOrPrefix} matches more than one break`);
  return row;
}
