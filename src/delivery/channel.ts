/**
 * The delivery channel port (README "Delivery channels"). A channel takes what one invocation
 * produced — for each run its summary, its breaks and break events, where its reports are — and
 * sends it somewhere (Slack, a webhook, a message broker…). Channels are independent: the job
 * calls each configured channel, records every attempt it returns (`deliveries`, audit log), and
 * one failing channel never stops the others. Adding a channel = one file implementing
 * `DeliveryChannel`, one line in `channels.ts`, its settings in the config schema, README, tests.
 */

import type { AmqpSettings } from './amqp-channel';
import type { SlackSettings } from './slack-channel';
import type { WebhookSettings } from './webhook-channel';

/** Every channel name, as stored in `deliveries.channel` and given to `recon deliver --channel`. */
export const CHANNEL_NAMES = ['s3', 'email', 'slack', 'webhook', 'amqp'] as const;

/** A channel name (`deliveries.channel`). */
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/**
 * The settings the channels of `channels.ts` read (a subset of the app's `DeliveryConfig`,
 * declared here so that `delivery/` does not import `config/`). Unset = not configured.
 */
export interface ChannelSettings {
  readonly slack?: SlackSettings;
  readonly webhook?: WebhookSettings;
  readonly amqp?: AmqpSettings;
}

/** A run's numbers for the channels. Counts are row counts; amounts decimal strings (major units). */
export interface ChannelRunSummary {
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  readonly matched: number;
  readonly discrepancies: number;
  readonly invalidRows: number;
  /** Amount at stake per ISO 4217 currency, decimal strings in major units (never converted). */
  readonly atStake: Readonly<Record<string, string>>;
  /** Share of discrepancies, decimal string with six decimals (`"0.016529"`), or null. */
  readonly discrepancyRate: string | null;
  readonly riskLevel: 'LOW' | 'MEDIUM' | 'HIGH' | null;
}

/** What the run changed in the breaks across days (null before schema 5 or for a failed run). */
export interface ChannelBreakCounts {
  readonly new: number;
  readonly open: number;
  readonly resolved: number;
  readonly reclassified: number;
  /** Open breaks older than `escalateDays`. */
  readonly olderThanEscalation: number;
  readonly escalateDays: number;
}

/**
 * One discrepancy of the run. `amount`: decimal string in major units of `currency` (the amount
 * at stake: the side that has the row, processor side first); `amountMinor`: the same in integer
 * minor units, as a decimal integer string (a bigint). `breakId` null before schema 5.
 */
export interface ChannelBreak {
  readonly breakId: string | null;
  readonly transactionId: string;
  readonly kind: string;
  readonly side: string;
  readonly amount: string;
  readonly amountMinor: string;
  readonly currency: string;
}

/**
 * One break event the run wrote (`break_events`): `type` is `break.<event>` (`break.opened`,
 * `break.resolved`, `break.reclassified`, `break.seen`…); `eventId` its uuid (a stable message id
 * consumers deduplicate on); `occurredAt` ISO 8601 UTC. Amounts as in `ChannelBreak`.
 */
export interface ChannelBreakEvent {
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: string;
  readonly reason: string | null;
  readonly details: Readonly<Record<string, unknown>>;
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
}

/**
 * Where a run's reports are: local paths, or presigned S3 links (this call's uploads) that stop
 * working at `expiresAt` (ISO 8601 UTC).
 */
export interface ReportLocations {
  readonly kind: 'local' | 'presigned';
  readonly csv: string | null;
  readonly json: string | null;
  readonly expiresAt: string | null;
}

/**
 * One run as the channels see it. `status` `failed`: `error` says why (one line, redacted) and
 * `summary`/`breakCounts` are null, `breaks`/`events` empty.
 */
export interface ChannelRun {
  readonly runId: string;
  readonly processor: string;
  /** `YYYY-MM-DD`. */
  readonly businessDate: string;
  readonly status: 'completed' | 'failed';
  readonly error: string | null;
  readonly summary: ChannelRunSummary | null;
  readonly breakCounts: ChannelBreakCounts | null;
  readonly breaks: readonly ChannelBreak[];
  readonly events: readonly ChannelBreakEvent[];
  readonly reports: ReportLocations;
}

/** What a channel is handed: every run of the invocation, and the time (epoch ms). */
export interface ChannelInput {
  readonly runs: readonly ChannelRun[];
  readonly now: number;
}

/**
 * One attempt a channel made. `target`: where it went, WITHOUT secrets (a URL's origin, an
 * exchange); `error`: one line, secrets redacted; `runIds`: the runs it was for.
 */
export interface ChannelAttempt {
  readonly status: 'sent' | 'failed' | 'skipped';
  readonly target: string;
  readonly error: string | null;
  readonly runIds: readonly string[];
}

/** Something to tell the operator while delivering (a pino logger fits). */
export interface ChannelLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * A delivery channel. `isConfigured(settings)`: whether its settings are present. `deliver`
 * sends `input` with `settings` and returns every attempt; it must not throw for a failure of
 * the destination (that is a `failed` attempt), and every network call in it is bounded.
 * The event channels (Slack, webhook, AMQP) take `ChannelSettings` and `ChannelInput`; S3 and
 * the e-mail (src/job/deliver-results.ts) take the job's collaborators and its shared state
 * (the links S3 makes are what the e-mail and the event channels show), and record their own
 * attempts as they go.
 */
export interface DeliveryChannel<Settings = ChannelSettings, Input = ChannelInput> {
  readonly name: ChannelName;
  isConfigured(settings: Settings): boolean;
  deliver(settings: Settings, input: Input, log: ChannelLog): Promise<ChannelAttempt[]>;
}
