import type { ApiConfig, DatabaseConfig } from '../config/load-config';
import type { DeliveryConfig } from '../config/delivery-config';
import { S3ObjectStore } from '../delivery/object-store';
import { SmtpMailer } from '../delivery/smtp-mailer';
import { describeError } from '../domain/errors';
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
}

async function timed(component: string, check: () => Promise<string>): Promise<HealthResult> {
  const started = Date.now();
  try {
    const detail = await check();
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

/** Connects to the database and checks its schema version; keeps it open in `opened`. */
function checkDatabase(
  config: DatabaseConfig,
  opened: (db: Database) => void,
): Promise<HealthResult> {
  return timed('database', async () => {
    const db = await openDatabase(config);
    opened(db);
    return `${db.description}, schema version ${SCHEMA_VERSION}`;
  });
}

/**
 * Liveness of what the container needs to do its work: the database only (connect, schema
 * version). Records nothing and calls no external service, so it can run every minute (the
 * image's HEALTHCHECK); `checkHealth` is the full check for operators. Never throws.
 */
export async function checkLiveness(database: DatabaseConfig): Promise<HealthResult[]> {
  let db: Database | undefined;
  const result = await checkDatabase(database, (opened) => (db = opened));
  await db?.close().catch(() => undefined);
  return [result];
}

/**
 * Checks every configured dependency: the database (connect, schema version), S3 (bucket
 * reachable, a tiny probe object written and deleted), SMTP (connect + EHLO + login, no mail)
 * and each configured API (one authenticated call). Results are recorded in `system_health`
 * when the database is up, and rows older than `retentionDays` deleted. Never throws; a
 * dependency that is down is a `down` result.
 */
export async function checkHealth(targets: HealthTargets): Promise<HealthResult[]> {
  let db: Database | undefined;
  const results: HealthResult[] = [];
  results.push(await checkDatabase(targets.database, (opened) => (db = opened)));
  const s3 = targets.delivery.s3;
  results.push(
    s3
      ? await timed('s3', async () => {
          const store = new S3ObjectStore(s3);
          try {
            await store.probe();
          } finally {
            store.close();
          }
          return `${store.description} reachable and writable`;
        })
      : skipped('s3', 'not configured (AWS_S3_BUCKET_NAME)'),
  );
  const smtp = targets.delivery.smtp;
  results.push(
    smtp
      ? await timed('smtp', async () => {
          const mailer = new SmtpMailer(smtp);
          await mailer.verify();
          return `${mailer.description} accepted the connection`;
        })
      : skipped('smtp', 'not configured (SMTP_SERVER, OPERATIONS_EMAIL)'),
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
    if (!adapter) {
      results.push(skipped(component, 'not configured'));
      continue;
    }
    results.push(
      await timed(component, async () => {
        await adapter.probe(
          new HttpClient(adapter.service, http, { warn: () => undefined }),
          AbortSignal.timeout(http.requestTimeoutMs),
        );
        return `${new URL(adapter.location).host} accepted the credentials`;
      }),
    );
  }
  const database = db;
  if (database) {
    try {
      await recordHealthChecks(database, results, targets.retentionDays);
    } finally {
      await database.close();
    }
  }
  return results;
}
