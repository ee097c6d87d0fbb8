import type { ApiConfig } from '../config/load-config';
import type { DatabaseConfig } from '../store/database-config';
import type { DeliveryConfig } from '../config/delivery-config';
import { S3ObjectStore } from '../delivery/object-store';
import { SmtpMailer } from '../delivery/smtp-mailer';
import { DependencyUnavailableError, describeError } from '../domain/errors';
import type { ApiAdapter } from '../sources/http/api-source';
import { HttpClient } from '../sources/http/http-client';
import { LedgerApiAdapter } from '../sources/http/ledger-api';
import { PaypalTransactionsAdapter } from '../sources/http/paypal-transactions';
import { SquarePaymentsAdapter } from '../sources/http/square-payments';
import { StripeBalanceTransactionsAdapter } from '../sources/http/stripe-balance-transactions';
import type { Database } from '../store/database';
import { recordHealthChecks } from '../store/health-store';
import { openDatabase } from '../store/open-store';
import { SCHEMA_VERSION } from '../store/schema';

/** The result of one dependency's check. `skipped`: not configured. Latency in milliseconds. */
export interface HealthResult {
  readonly component: string;
  readonly status: 'up' | 'down' | 'skipped';
  readonly latencyMs: number;
  readonly detail: string;
}

/** What `checkHealth` checks, from configuration. */
export interface HealthTargets {
  readonly database: DatabaseConfig;
  readonly delivery: DeliveryConfig;
  readonly apis: ApiConfig;
  /** Recorded checks older than this many days are deleted (RECON_HEALTH_RETENTION_DAYS). */
  readonly retentionDays: number;
  /** Bound of each check, in milliseconds; also of recording the results (RECON_HEALTH_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

/**
 * Settles with `work`, or rejects at `timeoutMs` with a one-line `DependencyUnavailableError`
 * after aborting the signal handed to `work` (so it can close what it opened).
 */
async function withinTimeout<T>(
  dependency: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DependencyUnavailableError(
        dependency,
        `no answer within ${timeoutMs} ms (RECON_HEALTH_TIMEOUT_MS)`,
      );
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function timed(
  component: string,
  timeoutMs: number,
  check: (signal: AbortSignal) => Promise<string>,
): Promise<HealthResult> {
  const started = Date.now();
  try {
    const detail = await withinTimeout(component, timeoutMs, check);
    return { component, status: 'up', latencyMs: Date.now() - started, detail };
  } catch (error) {
    return {
      component,
      status: 'down',
      latencyMs: Date.now() - started,
      detail: describeError(error),
    };
  }
}

function skipped(component: string, detail: string): HealthResult {
  return { component, status: 'skipped', latencyMs: 0, detail };
}

/**
 * Connects to the database and checks its schema version within `timeoutMs`; hands the open
 * database to `opened` (a connection that arrives after the deadline is closed at once).
 */
function checkDatabase(
  config: DatabaseConfig,
  timeoutMs: number,
  opened: (db: Database) => void,
): Promise<HealthResult> {
  return timed('database', timeoutMs, async (signal) => {
    const db = await openDatabase(config);
    if (signal.aborted) {
      await db.close().catch(() => undefined);
      throw signal.reason;
    }
    opened(db);
    return `${db.description}, schema version ${SCHEMA_VERSION}`;
  });
}

/**
 * Liveness of what the container needs to do its work: the database only (connect, schema
 * version). Records nothing and calls no external service, so it can run every minute (the
 * image's HEALTHCHECK); `checkHealth` is the full check for operators. Never throws.
 */
export async function checkLiveness(
  database: DatabaseConfig,
  timeoutMs: number,
): Promise<HealthResult[]> {
  let db: Database | undefined;
  const result = await checkDatabase(database, timeoutMs, (opened) => (db = opened));
  await db?.close().catch(() => undefined);
  return [result];
}

/**
 * Checks every configured dependency, side by side: the database (connect, schema version), S3
 * (bucket reachable, a tiny probe object written and deleted), SMTP (connect + EHLO + login, no
 * mail) and each configured API (one authenticated call). Each check ends within
 * `targets.timeoutMs` (a silent dependency is `down` with the reason). Results are recorded in
 * `system_health` when the database is up, within `timeoutMs` again (a failure to record makes
 * the database `down`); rows older than `retentionDays` are deleted then. Never throws. Results in
 * a fixed order: database, s3, smtp, APIs.
 */
export async function checkHealth(targets: HealthTargets): Promise<HealthResult[]> {
  const { timeoutMs } = targets;
  let db: Database | undefined;
  const checks: Promise<HealthResult>[] = [];
  checks.push(checkDatabase(targets.database, timeoutMs, (opened) => (db = opened)));
  const s3 = targets.delivery.s3;
  checks.push(
    s3
      ? timed('s3', timeoutMs, async (signal) => {
          const store = new S3ObjectStore(s3);
          const close = (): void => store.close();
          signal.addEventListener('abort', close, { once: true });
          try {
            await store.probe();
          } finally {
            signal.removeEventListener('abort', close);
            store.close();
          }
          return `${store.description} reachable and writable`;
        })
      : Promise.resolve(skipped('s3', 'not configured (AWS_S3_BUCKET_NAME)')),
  );
  const smtp = targets.delivery.smtp;
  checks.push(
    smtp
      ? timed('smtp', timeoutMs, async () => {
          const mailer = new SmtpMailer(smtp);
          await mailer.verify();
          return `${mailer.description} accepted the connection`;
        })
      : Promise.resolve(skipped('smtp', 'not configured (SMTP_SERVER, OPERATIONS_EMAIL)')),
  );
  const apis: [string, ApiAdapter | undefined][] = [
    [
      'api:stripe',
      targets.apis.stripe && new StripeBalanceTransactionsAdapter(targets.apis.stripe),
    ],
    ['api:paypal', targets.apis.paypal && new PaypalTransactionsAdapter(targets.apis.paypal)],
    ['api:square', targets.apis.square && new SquarePaymentsAdapter(targets.apis.square)],
    [
      'api:ledger',
      targets.apis.ledger && new LedgerApiAdapter({ ...targets.apis.ledger, processor: 'stripe' }),
    ],
  ];
  const http = { ...targets.apis.http, maxAttempts: 1 };
  for (const [component, adapter] of apis) {
    checks.push(
      adapter
        ? timed(component, timeoutMs, async (signal) => {
            await adapter.probe(
              new HttpClient(adapter.service, http, { warn: () => undefined }),
              AbortSignal.any([signal, AbortSignal.timeout(http.requestTimeoutMs)]),
            );
            return `${new URL(adapter.location).host} accepted the credentials`;
          })
        : Promise.resolve(skipped(component, 'not configured')),
    );
  }
  const results = await Promise.all(checks);
  const database: Database | undefined = db;
  if (!database) return results;
  try {
    await withinTimeout('database', timeoutMs, () =>
      recordHealthChecks(database, results, targets.retentionDays),
    );
  } catch (error) {
    const [first, ...rest] = results;
    if (first) {
      return [
        { ...first, status: 'down', detail: `results not recorded: ${describeError(error)}` },
        ...rest,
      ];
    }
  } finally {
    // Closing a connection whose server went silent must not hang the command either.
    await withinTimeout('database', timeoutMs, () => database.close()).catch(() => undefined);
  }
  return results;
}
