import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelAttempt, ChannelRun, DeliveryChannel } from './channel';
import { postWithRetries, urlOrigin, type HttpDeliverySettings } from './http-delivery';

/** Settings of the webhook channel (README "Webhook"). `url` and `secret` are secrets. */
export interface WebhookSettings {
  /** `RECON_WEBHOOK_URL`: https unless `RECON_ALLOW_HTTP_DELIVERY=1`. */
  readonly url: string;
  /** `RECON_WEBHOOK_SECRET`: HMAC-SHA256 key; without it the POST is not signed. */
  readonly secret?: string;
  readonly http: HttpDeliverySettings;
}

/** Version of the webhook's JSON body (`schema_version`); bumped on any incompatible change. */
export const WEBHOOK_SCHEMA_VERSION = 1;

/** The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'Recon-Signature';

/**
 * The `Idempotency-Key` of a run's webhook: stable per (run, channel, schema version), so a
 * receiver drops retries and `recon deliver` re-sends alike.
 */
export function webhookIdempotencyKey(runId: string): string {
  return `recon:${runId}:webhook:v${WEBHOOK_SCHEMA_VERSION}`;
}

/** The JSON body of one run's webhook (schema version 1, README "Webhook"). */
export interface WebhookBody {
  readonly schema_version: number;
  readonly type: 'run.completed' | 'run.failed';
  readonly idempotency_key: string;
  readonly run: {
    readonly run_id: string;
    readonly processor: string;
    readonly business_date: string;
    readonly status: 'completed' | 'failed';
    readonly error: string | null;
  };
  readonly counts: {
    readonly processor_transactions: number;
    readonly internal_transactions: number;
    readonly matched: number;
    readonly discrepancies: number;
    readonly invalid_rows: number;
  } | null;
  /** Per ISO 4217 currency, decimal strings in major units. */
  readonly at_stake: Readonly<Record<string, string>>;
  readonly discrepancy_rate: string | null;
  readonly risk_level: string | null;
  readonly breaks_summary: {
    readonly new: number;
    readonly open: number;
    readonly resolved: number;
    readonly reclassified: number;
    readonly older_than_escalation: number;
    readonly escalate_days: number;
  } | null;
  readonly breaks: readonly {
    readonly break_id: string | null;
    readonly transaction_id: string;
    readonly kind: string;
    readonly side: string;
    /** Decimal string, major units. */
    readonly amount: string;
    /** Integer minor units as a decimal string (exact for any size). */
    readonly amount_minor: string;
    readonly currency: string;
  }[];
  readonly reports: {
    readonly kind: 'local' | 'presigned';
    readonly csv: string | null;
    readonly json: string | null;
    readonly expires_at: string | null;
  };
}

/** The webhook body for `run` (deterministic: the same run gives the same bytes). */
export function webhookBody(run: ChannelRun): WebhookBody {
  const s = run.summary;
  const b = run.breakCounts;
  return {
    schema_version: WEBHOOK_SCHEMA_VERSION,
    type: run.status === 'completed' ? 'run.completed' : 'run.failed',
    idempotency_key: webhookIdempotencyKey(run.runId),
    run: {
      run_id: run.runId,
      processor: run.processor,
      business_date: run.businessDate,
      status: run.status,
      error: run.error,
    },
    counts: s && {
      processor_transactions: s.processorTransactions,
      internal_transactions: s.internalTransactions,
      matched: s.matched,
      discrepancies: s.discrepancies,
      invalid_rows: s.invalidRows,
    },
    at_stake: s?.atStake ?? {},
    discrepancy_rate: s?.discrepancyRate ?? null,
    risk_level: s?.riskLevel ?? null,
    breaks_summary: b && {
      new: b.new,
      open: b.open,
      resolved: b.resolved,
      reclassified: b.reclassified,
      older_than_escalation: b.olderThanEscalation,
      escalate_days: b.escalateDays,
    },
    breaks: run.breaks.map((d) => ({
      break_id: d.breakId,
      transaction_id: d.transactionId,
      kind: d.kind,
      side: d.side,
      amount: d.amount,
      amount_minor: d.amountMinor,
      currency: d.currency,
    })),
    reports: {
      kind: run.reports.kind,
      csv: run.reports.csv,
      json: run.reports.json,
      expires_at: run.reports.expiresAt,
    },
  };
}

/**
 * The `Recon-Signature` value for `body` sent at `unixSeconds`: `t=<t>,v1=<hex>` where hex is
 * HMAC-SHA256 with `secret` of `"<t>.<body>"` (the scheme of Stripe's webhook signatures,
 * https://docs.stripe.com/webhooks#verify-manually).
 */
export function signWebhook(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * The receiver's check (README "Webhook", "Verifying the signature"): true when `header` holds a
 * `t` within `toleranceSeconds` of `nowSeconds` and a `v1` equal (constant time) to the HMAC of
 * `"<t>.<rawBody>"` — `rawBody` exactly as received, before any JSON parsing.
 */
export function verifyWebhookSignature(
  header: string,
  rawBody: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = parts.get('t') ?? '';
  const v1 = parts.get('v1') ?? '';
  if (!/^\d+$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/**
 * The webhook channel: one signed JSON POST per run (`webhookBody`), with `Idempotency-Key`
 * and, when a secret is set, `Recon-Signature` (fresh `t` per attempt, same body), retried as
 * `postWithRetries` says. One attempt per run; the target is the URL's origin.
 */
export const webhookChannel: DeliveryChannel = {
  name: 'webhook',
  isConfigured: (settings) => settings.webhook !== undefined,
  async deliver(settings, input, log) {
    const webhook = settings.webhook;
    if (!webhook) return [];
    const target = urlOrigin(webhook.url);
    const attempts: ChannelAttempt[] = [];
    for (const run of input.runs) {
      const body = JSON.stringify(webhookBody(run));
      const key = webhookIdempotencyKey(run.runId);
      const result = await postWithRetries(
        {
          url: webhook.url,
          body,
          headers: () => ({
            'content-type': 'application/json',
            'user-agent': 'recon-webhook/1',
            'idempotency-key': key,
            ...(webhook.secret
              ? {
                  [SIGNATURE_HEADER]: signWebhook(
                    webhook.secret,
                    Math.floor(Date.now() / 1000),
                    body,
                  ),
                }
              : {}),
          }),
        },
        webhook.http,
      );
      if (result.ok)
        log.info({ run_id: run.runId, target, attempts: result.attempts }, 'webhook sent');
      else log.warn({ run_id: run.runId, target, err_message: result.error }, 'webhook failed');
      attempts.push({
        status: result.ok ? 'sent' : 'failed',
        target,
        error: result.ok ? null : result.error,
        runIds: [run.runId],
      });
    }
    return attempts;
  },
};
