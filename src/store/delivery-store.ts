import { redactSecretsIn } from '../domain/redact';
import { BreakStore } from './break-store';
import type { Database } from './database';

/**
 * A delivery channel as stored in `deliveries.channel`: report upload to object storage, the
 * e-mail to operations, a Slack message, a signed webhook, broker messages (AMQP). The same names
 * as `CHANNEL_NAMES` of src/delivery/channel.ts (declared here too: store/ imports no adapter).
 */
export type DeliveryChannel = 's3' | 'email' | 'slack' | 'webhook' | 'amqp';

/**
 * What the event channels are told about a completed run (read after COMMIT): its numbers, its
 * discrepancies with their break ids, the break events it wrote (oldest first) and its `breaks`
 * block. Amounts: decimal strings in major units plus integer minor units as strings.
 */
export interface RunFacts {
  readonly summary: {
    readonly processorTransactions: number;
    readonly internalTransactions: number;
    readonly matched: number;
    readonly discrepancies: number;
    readonly invalidRows: number;
    readonly atStake: Record<string, string>;
    readonly discrepancyRate: string | null;
    readonly riskLevel: 'LOW' | 'MEDIUM' | 'HIGH' | null;
  };
  readonly breakCounts: {
    readonly new: number;
    readonly open: number;
    readonly resolved: number;
    readonly reclassified: number;
    readonly olderThanEscalation: number;
    readonly escalateDays: number;
  };
  readonly breaks: {
    readonly breakId: string | null;
    readonly transactionId: string;
    readonly kind: string;
    readonly side: string;
    readonly amount: string;
    readonly amountMinor: string;
    readonly currency: string;
  }[];
  readonly events: {
    readonly eventId: string;
    readonly type: string;
    readonly occurredAt: string;
    readonly actor: string;
    readonly reason: string | null;
    readonly details: Record<string, unknown>;
    readonly break: {
      readonly breakId: string;
      readonly transactionId: string;
      readonly kind: string;
      readonly side: string;
      readonly status: string;
      readonly originDate: string;
      readonly amount: string;
      readonly amountMinor: string;
      readonly currency: string;
    };
  }[];
}

/** One delivery attempt to record. `target`: object key (s3) or recipients (email). */
export interface DeliveryRecord {
  readonly runId: string;
  readonly channel: DeliveryChannel;
  readonly status: 'sent' | 'failed' | 'skipped';
  readonly target: string;
  /** Presigned GET URL (s3) and its expiry (ISO 8601 UTC). */
  readonly url?: string;
  readonly urlExpiresAt?: string;
  readonly error?: string;
}

/** A recorded delivery as `recon runs show` displays it. Times are ISO 8601 UTC. */
export interface StoredDelivery extends DeliveryRecord {
  readonly attemptedAt: string;
}

/**
 * A delivery still owed: the latest attempt of a completed run on one channel and target failed,
 * and nothing was delivered on that channel since (`failedSince`). `attemptedAt`: ISO 8601 UTC.
 */
export interface FailedDelivery {
  readonly runId: string;
  readonly channel: DeliveryChannel;
  readonly target: string;
  readonly error: string;
  readonly attemptedAt: string;
}

/** One point of the discrepancy-rate trend: a processor's completed run on a business date. */
export interface TrendPoint {
  readonly businessDate: string;
  readonly processor: string;
  /** Decimal string with six decimals, e.g. `"0.016529"`. */
  readonly discrepancyRate: string;
}

/**
 * Delivery bookkeeping (table `deliveries`, the run's `storage`, audit entries) and the trend
 * query for the e-mail chart. Each `record` is its own small transaction: a delivery happens
 * after the run's results were committed and never changes them.
 */
export class DeliveryStore {
  constructor(private readonly database: () => Promise<Database>) {}

  /** Records one attempt, and for a sent upload marks the run's storage `s3`; audits it. */
  async record(delivery: DeliveryRecord): Promise<void> {
    const db = await this.database();
    await db.withTransaction(async (tx) => {
      await tx.query(
        `INSERT INTO deliveries (run_id, channel, status, target, url, url_expires_at, error_message)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          delivery.runId,
          delivery.channel,
          delivery.status,
          delivery.target,
          delivery.url ?? null,
          delivery.urlExpiresAt ?? null,
          delivery.error ?? null,
        ],
      );
      if (delivery.channel === 's3' && delivery.status === 'sent') {
        await tx.query(`UPDATE reconciliation_runs SET storage = 's3' WHERE id = $1`, [
          delivery.runId,
        ]);
      }
      await tx.query(`INSERT INTO audit_log (run_id, event, details) VALUES ($1, $2, $3)`, [
        delivery.runId,
        `delivery_${delivery.channel}_${delivery.status}`,
        JSON.stringify(redactSecretsIn({ target: delivery.target, error: delivery.error ?? null })),
      ]);
    });
  }

  /** Every delivery attempt of a run, oldest first. */
  async list(runId: string): Promise<StoredDelivery[]> {
    const db = await this.database();
    const rows = await db.query<{
      channel: DeliveryChannel;
      status: 'sent' | 'failed' | 'skipped';
      target: string;
      url: string | null;
      url_expires_at: string | null;
      error_message: string | null;
      attempted_at: string;
    }>(
      `SELECT channel, status, target, url,
              to_char(url_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS url_expires_at,
              error_message,
              to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS attempted_at
         FROM deliveries WHERE run_id = $1 ORDER BY attempted_at, id`,
      [runId],
    );
    return rows.map((row) => ({
      runId,
      channel: row.channel,
      status: row.status,
      target: row.target,
      url: row.url ?? undefined,
      urlExpiresAt: row.url_expires_at ?? undefined,
      error: row.error_message ?? undefined,
      attemptedAt: row.attempted_at,
    }));
  }

  /**
   * The latest outcome per channel for each run, e.g. `{ s3: 'sent', email: 'failed' }`, for
   * `recon runs list`. Runs without deliveries are absent from the map.
   */
  async latestOutcomes(
    runIds: readonly string[],
  ): Promise<Map<string, Partial<Record<DeliveryChannel, string>>>> {
    const out = new Map<string, Partial<Record<DeliveryChannel, string>>>();
    if (runIds.length === 0) return out;
    const db = await this.database();
    const rows = await db.query<{ run_id: string; channel: DeliveryChannel; status: string }>(
      `SELECT DISTINCT ON (run_id, channel) run_id::text, channel, status
         FROM deliveries WHERE run_id = ANY($1::uuid[])
        ORDER BY run_id, channel, attempted_at DESC, id`,
      [`{${runIds.join(',')}}`],
    );
    for (const row of rows)
      out.set(row.run_id, { ...out.get(row.run_id), [row.channel]: row.status });
    return out;
  }

  /**
   * Deliveries to re-send (`recon deliver --failed`): for every run that is `completed` (not
   * failed, not superseded by a rerun), each (channel, target) whose LATEST attempt failed on or
   * after `since` (a `YYYY-MM-DD` date, from 00:00 UTC), unless the run was delivered on that
   * channel since that failure — for S3 the same object key, for the e-mail any recipients (a
   * changed `OPERATIONS_EMAIL` does not make an e-mail owed again). Oldest failure first.
   */
  async failedSince(since: string): Promise<FailedDelivery[]> {
    const db = await this.database();
    const rows = await db.query<{
      run_id: string;
      channel: DeliveryChannel;
      target: string;
      error_message: string | null;
      attempted_at: string;
    }>(
      `SELECT f.run_id::text AS run_id, f.channel, f.target, f.error_message,
              to_char(f.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS attempted_at
         FROM (SELECT DISTINCT ON (run_id, channel, target)
                      run_id, channel, target, status, error_message, attempted_at
                 FROM deliveries
                ORDER BY run_id, channel, target, attempted_at DESC) AS f
         JOIN reconciliation_runs AS r ON r.id = f.run_id
        WHERE f.status = 'failed'
          AND r.status = 'completed'
          AND f.attempted_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
          AND NOT EXISTS (
                SELECT 1 FROM deliveries AS s
                 WHERE s.run_id = f.run_id AND s.channel = f.channel AND s.status = 'sent'
                   AND (s.channel = 'email' OR s.target = f.target)
                   AND s.attempted_at > f.attempted_at)
        ORDER BY f.attempted_at, f.run_id, f.channel, f.target`,
      [since],
    );
    return rows.map((row) => ({
      runId: row.run_id,
      channel: row.channel,
      target: row.target,
      error: row.error_message ?? '',
      attemptedAt: row.attempted_at,
    }));
  }

  /**
   * The runs each of `runIds` superseded (`reconciliation_runs.superseded_by` of the old rows),
   * oldest first: a rerun's e-mail says which run it replaces. Runs that superseded none are absent.
   */
  async supersededBy(runIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (runIds.length === 0) return out;
    const db = await this.database();
    const rows = await db.query<{ id: string; superseded_by: string }>(
      `SELECT id::text, superseded_by::text FROM reconciliation_runs
        WHERE superseded_by = ANY($1::uuid[]) ORDER BY start_time, id`,
      [`{${runIds.join(',')}}`],
    );
    for (const row of rows)
      out.set(row.superseded_by, [...(out.get(row.superseded_by) ?? []), row.id]);
    return out;
  }

  /**
   * The facts of run `runId` for the event channels (`RunFacts`), or null when the run is unknown.
   * `escalateDays`: RECON_ESCALATE_DAYS, for the `breaks` block. Discrepancies in the order the
   * report lists them (kind, transaction id); events oldest first.
   */
  async runFacts(runId: string, escalateDays: number): Promise<RunFacts | null> {
    const db = await this.database();
    const [run] = await db.query<{
      processor_transaction_count: number | null;
      internal_transaction_count: number | null;
      matched_count: number | null;
      discrepancy_count: number | null;
      invalid_row_count: number | null;
      discrepancy_amounts: string;
      discrepancy_rate: string | null;
      risk_level: 'LOW' | 'MEDIUM' | 'HIGH' | null;
    }>(
      `SELECT processor_transaction_count, internal_transaction_count, matched_count,
              discrepancy_count, invalid_row_count, discrepancy_amounts::text AS discrepancy_amounts,
              discrepancy_rate::text AS discrepancy_rate, risk_level
         FROM reconciliation_runs WHERE id = $1`,
      [runId],
    );
    if (!run) return null;
    const breaks = await db.query<{
      break_id: string | null;
      transaction_id: string;
      kind: string;
      side: string;
      amount: string;
      amount_minor: string;
      currency: string;
    }>(
      `SELECT break_id::text AS break_id, transaction_id, kind, side, amount::text AS amount,
              amount_minor::text AS amount_minor, currency
         FROM discrepancies WHERE run_id = $1 ORDER BY kind, transaction_id, id`,
      [runId],
    );
    const events = await db.query<{
      id: string;
      event: string;
      occurred_at: string;
      actor: string;
      reason: string | null;
      details: string;
      break_id: string;
      transaction_id: string;
      kind: string;
      side: string;
      status: string;
      origin_date: string;
      amount: string;
      amount_minor: string;
      currency: string;
    }>(
      `SELECT e.id::text AS id, e.event,
              to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
              e.actor, e.reason, e.details::text AS details, b.id::text AS break_id,
              b.transaction_id, b.kind, b.side, b.status, b.origin_date::text AS origin_date,
              b.amount::text AS amount, b.amount_minor::text AS amount_minor, b.currency
         FROM break_events e JOIN breaks b ON b.id = e.break_id
        WHERE e.run_id = $1
        ORDER BY e.occurred_at, e.id`,
      [runId],
    );
    const counts = await new BreakStore(db).runBreaks(runId, escalateDays);
    const amounts = JSON.parse(run.discrepancy_amounts) as Record<string, unknown>;
    return {
      summary: {
        processorTransactions: run.processor_transaction_count ?? 0,
        internalTransactions: run.internal_transaction_count ?? 0,
        matched: run.matched_count ?? 0,
        discrepancies: run.discrepancy_count ?? 0,
        invalidRows: run.invalid_row_count ?? 0,
        atStake: Object.fromEntries(
          Object.entries(amounts).map(([currency, value]) => [currency, String(value)]),
        ),
        discrepancyRate: run.discrepancy_rate,
        riskLevel: run.risk_level,
      },
      breakCounts: {
        new: counts.new,
        open: counts.open,
        resolved: counts.resolved,
        reclassified: counts.reclassified,
        olderThanEscalation: counts.older_than_escalation,
        escalateDays: counts.escalate_days,
      },
      breaks: breaks.map((d) => ({
        breakId: d.break_id,
        transactionId: d.transaction_id,
        kind: d.kind,
        side: d.side,
        amount: d.amount,
        amountMinor: d.amount_minor,
        currency: d.currency.trim(),
      })),
      events: events.map((e) => ({
        eventId: e.id,
        type: `break.${e.event}`,
        occurredAt: e.occurred_at,
        actor: e.actor,
        reason: e.reason,
        details: JSON.parse(e.details) as Record<string, unknown>,
        break: {
          breakId: e.break_id,
          transactionId: e.transaction_id,
          kind: e.kind,
          side: e.side,
          status: e.status,
          originDate: e.origin_date,
          amount: e.amount,
          amountMinor: e.amount_minor,
          currency: e.currency.trim(),
        },
      })),
    };
  }

  /**
   * Discrepancy rate per processor over the last `days` business dates up to `lastDate`
   * (completed runs only), oldest first.
   */
  async trend(lastDate: string, days: number): Promise<TrendPoint[]> {
    const db = await this.database();
    const rows = await db.query<{
      run_date: string;
      processor_name: string;
      discrepancy_rate: string;
    }>(
      `SELECT run_date::text, processor_name, discrepancy_rate::text
         FROM reconciliation_runs
        WHERE status = 'completed' AND discrepancy_rate IS NOT NULL
          AND run_date > $1::date - $2::int AND run_date <= $1::date
        ORDER BY run_date, processor_name`,
      [lastDate, days],
    );
    return rows.map((row) => ({
      businessDate: row.run_date,
      processor: row.processor_name,
      discrepancyRate: row.discrepancy_rate,
    }));
  }
}
