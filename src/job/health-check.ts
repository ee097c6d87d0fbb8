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

/**
 * Checks every configured dependency: the database (connect, schema version), S3 (bucket
 * reachable, a tiny probe object written and deleted), SMTP (connect + EHLO + login, no mail)
 * and each configured API (one authenticated call). Results are recorded in `system_health`
 * when the database is up. Never throws; a dependency that is down is a `down` result.
 */
export async function checkHealth(targets: HealthTargets): Promise<HealthResult[]> {
  let db: Database | undefined;
  const results: HealthResult[] = [];
  results.push(
    await timed('database', async () => {
      db = await openDatabase(targets.database);
      return `${db.description}, schema version ${SCHEMA_VERSION}`;
    }),
  );
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
      for (const r of results) {
        await database.query(
          `INSERT INTO system_health (component, status, latency_ms, details) VALUES ($1, $2, $3, $4)`,
          [r.component, r.status, r.latencyMs, JSON.stringify({ detail: r.detail })],
        );
      }
    } finally {
      await database.close();
    }
  }
  return results;
}
