import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { describeError } from '../domain/errors';
import type { ChannelAttempt, ChannelRun, DeliveryChannel } from './channel';

/** Settings of the message-broker channel (README "Message broker"). `url` holds a password. */
export interface AmqpSettings {
  /** `RECON_AMQP_URL`: `amqp://` or `amqps://user:password@host:port/vhost`. */
  readonly url: string;
  /** `RECON_AMQP_EXCHANGE` (default `recon.events`): a durable topic exchange, declared if absent. */
  readonly exchange: string;
  /** `RECON_AMQP_ROUTING_KEY_PREFIX` (default empty): routing key = prefix + event type. */
  readonly routingKeyPrefix: string;
  /** `RECON_AMQP_TIMEOUT_MS` (default 10000): connect, and the whole publish of one call. */
  readonly timeoutMs: number;
}

/** Version of the message bodies (`schema_version`). */
export const AMQP_SCHEMA_VERSION = 1;

/** One message to publish: its id (= event id), type (= routing key without prefix) and body. */
export interface AmqpMessage {
  readonly messageId: string;
  readonly type: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Where the broker is, without credentials: `amqp://host:port/vhost exchange recon.events`. */
export function amqpTarget(settings: AmqpSettings): string {
  try {
    const url = new URL(settings.url);
    const port = url.port || (url.protocol === 'amqps:' ? '5671' : '5672');
    const vhost = url.pathname && url.pathname !== '/' ? url.pathname : '/';
    return `${url.protocol}//${url.hostname}:${port}${vhost} exchange ${settings.exchange}`;
  } catch {
    return `(invalid URL) exchange ${settings.exchange}`;
  }
}

/** The id of a run's closing message: stable per run, so a re-send can be deduplicated. */
export function runMessageId(runId: string): string {
  return `${runId}:run.completed`;
}

/**
 * The messages of one run, in order: one per break event the run wrote (`break.opened`,
 * `break.resolved`, `break.reclassified`, `break.seen`…; message id = the event's id), then
 * `run.completed` (or `run.failed`) with the run's numbers. Amounts: decimal strings in major
 * units plus `amount_minor` (integer minor units as a string).
 */
export function amqpMessages(run: ChannelRun, now: number): AmqpMessage[] {
  const runRef = { run_id: run.runId, processor: run.processor, business_date: run.businessDate };
  const messages: AmqpMessage[] = run.events.map((e) => ({
    messageId: e.eventId,
    type: e.type,
    body: {
      schema_version: AMQP_SCHEMA_VERSION,
      event_id: e.eventId,
      type: e.type,
      occurred_at: e.occurredAt,
      run: runRef,
      break: {
        break_id: e.break.breakId,
        transaction_id: e.break.transactionId,
        kind: e.break.kind,
        side: e.break.side,
        status: e.break.status,
        origin_date: e.break.originDate,
        amount: e.break.amount,
        amount_minor: e.break.amountMinor,
        currency: e.break.currency,
      },
      actor: e.actor,
      reason: e.reason,
      details: e.details,
    },
  }));
  const s = run.summary;
  const b = run.breakCounts;
  const type = run.status === 'completed' ? 'run.completed' : 'run.failed';
  messages.push({
    messageId: runMessageId(run.runId),
    type,
    body: {
      schema_version: AMQP_SCHEMA_VERSION,
      event_id: runMessageId(run.runId),
      type,
      occurred_at: new Date(now).toISOString(),
      run: { ...runRef, status: run.status, error: run.error },
      counts: s && {
        processor_transactions: s.processorTransactions,
        internal_transactions: s.internalTransactions,
        matched: s.matched,
        discrepancies: s.discrepancies,
        invalid_rows: s.invalidRows,
      },
      at_stake: s?.atStake ?? {},
      risk_level: s?.riskLevel ?? null,
      breaks_summary: b && {
        new: b.new,
        open: b.open,
        resolved: b.resolved,
        reclassified: b.reclassified,
        older_than_escalation: b.olderThanEscalation,
      },
      break_events: run.events.length,
    },
  });
  return messages;
}

/** Ends a connection's socket at once (after the broker went away, or a close that hangs). */
function destroy(model: ChannelModel): void {
  const stream = (model.connection as unknown as { stream?: { destroy?: () => void } }).stream;
  stream?.destroy?.();
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function publishAll(
  channel: ConfirmChannel,
  settings: AmqpSettings,
  messages: readonly AmqpMessage[],
  closed: Promise<never>,
): Promise<void> {
  for (const m of messages) {
    const content = Buffer.from(JSON.stringify(m.body), 'utf8');
    const ok = channel.publish(settings.exchange, settings.routingKeyPrefix + m.type, content, {
      persistent: true,
      messageId: m.messageId,
      type: m.type,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      appId: 'recon',
      timestamp: Math.floor(Date.now() / 1000),
    });
    // Backpressure: wait for the channel to drain (or to close) before the next message.
    if (!ok) await Promise.race([new Promise((resolve) => channel.once('drain', resolve)), closed]);
  }
  await Promise.race([channel.waitForConfirms(), closed]);
}

/**
 * The message-broker channel (AMQP 0-9-1): one connection per call, a confirm channel, the
 * durable topic exchange asserted, then per run its messages (`amqpMessages`), persistent, and
 * `waitForConfirms` before the run counts as sent. One attempt per run; a broker that goes away
 * mid-way fails the unconfirmed runs cleanly (`recon deliver --channel amqp` re-sends them; the
 * message ids let consumers drop what they already have). Bounded by `timeoutMs`.
 */
export const amqpChannel: DeliveryChannel = {
  name: 'amqp',
  isConfigured: (settings) => settings.amqp !== undefined,
  async deliver(settings, input, log) {
    const amqp = settings.amqp;
    if (!amqp || input.runs.length === 0) return [];
    const target = amqpTarget(amqp);
    const attempts: ChannelAttempt[] = [];
    const fail = (runs: readonly ChannelRun[], error: unknown): void => {
      const message = `${target}: ${describeError(error)}`;
      log.warn({ target, err_message: message }, 'broker delivery failed');
      for (const run of runs)
        attempts.push({ status: 'failed', target, error: message, runIds: [run.runId] });
    };
    let model: ChannelModel | undefined;
    let lost: Error | undefined;
    // Loaded on first use: a run without a broker does not pay for amqplib at start-up.
    const { connect } = await import('amqplib');
    const connecting = connect(amqp.url, { timeout: amqp.timeoutMs });
    try {
      model = await withDeadline(connecting, amqp.timeoutMs, 'connect');
    } catch (error) {
      // A connection that opens after the deadline is closed, not leaked.
      connecting.then((late) => destroy(late)).catch(() => undefined);
      fail(input.runs, error);
      return attempts;
    }
    const connection = model;
    // Every client has an error handler: a broker going away is an attempt failure, not a crash.
    const closed = new Promise<never>((_, reject) => {
      connection.on('error', (error: Error) => {
        lost = error;
        reject(error);
      });
      connection.on('close', (error?: Error) => {
        lost = lost ?? error ?? new Error('connection closed by the broker');
        reject(lost);
      });
    });
    closed.catch(() => undefined);
    const started = Date.now();
    try {
      const channel = await withDeadline(
        Promise.race([connection.createConfirmChannel(), closed]),
        amqp.timeoutMs,
        'open channel',
      );
      channel.on('error', (error: Error) => {
        lost = error;
      });
      await withDeadline(
        Promise.race([channel.assertExchange(amqp.exchange, 'topic', { durable: true }), closed]),
        amqp.timeoutMs,
        'declare exchange',
      );
      for (const [index, run] of input.runs.entries()) {
        const left = amqp.timeoutMs - (Date.now() - started);
        try {
          const messages = amqpMessages(run, input.now);
          await withDeadline(
            publishAll(channel, amqp, messages, closed),
            Math.max(1, left),
            'publisher confirms',
          );
          attempts.push({ status: 'sent', target, error: null, runIds: [run.runId] });
          log.info({ run_id: run.runId, target, messages: messages.length }, 'events published');
        } catch (error) {
          fail(input.runs.slice(index), lost ?? error);
          break;
        }
      }
    } catch (error) {
      fail(
        input.runs.filter((r) => !attempts.some((a) => a.runIds.includes(r.runId))),
        lost ?? error,
      );
    } finally {
      if (lost) destroy(connection);
      else await withDeadline(connection.close(), 2000, 'close').catch(() => destroy(connection));
    }
    return attempts;
  },
};
