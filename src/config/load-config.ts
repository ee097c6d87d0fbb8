import { dirname, join } from 'node:path';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { credentialFreeUrl } from './secret-settings';
import { ConfigError } from '../domain/errors';
import { midnightCutoff, parseCutoff, type Cutoff, type SourceCutoffs } from '../domain/cutoff';
import { KNOWN_PROCESSORS } from '../domain/status';
import type { FxRates } from '../domain/fx-rates';
import { loadFxRates } from './fx-config';
import {
  DeliveryEnvSchema,
  deliveryConfigFrom,
  deliveryUrlProblems,
  type DeliveryConfig,
} from './delivery-config';
import { collect, parseEnv, presentEnv, quotedValue } from './env-problems';
import { readFileSync } from 'node:fs';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from '../sources/http/http-client';
import {
  DEFAULT_LEDGER_API_CONFIG,
  LedgerApiConfigSchema,
  type LedgerApiConfig,
} from '../sources/http/ledger-api';
import type { PaypalApiSettings } from '../sources/http/paypal-transactions';
import type { SquareApiSettings } from '../sources/http/square-payments';
import type { StripeApiSettings } from '../sources/http/stripe-balance-transactions';
import { PROCESSOR_FORMATS } from '../sources/formats/format-registry';
import {
  AMOUNT_FIELDS,
  DEFAULT_FORMAT_SETTINGS,
  type AmountField,
  type FormatSettings,
} from '../sources/formats/processor-format';
import { INPUT_ENCODINGS, parseInputEncoding, type InputEncoding } from '../sources/text-encoding';
import type { ContainerMode } from './container';
import { LOG_FORMATS, type LogFormat } from './logger';
import type { DatabaseConfig } from '../store/database-config';
import { checkConnectionUrl, readTlsFile } from '../store/connection-url';

/** The application's configuration, from environment variables (see README "Configuration"). */
export interface AppConfig {
  /** IANA zone in which business dates are calendar days. */
  readonly timeZone: string;
  readonly database: DatabaseConfig;
  readonly logLevel: string;
  /** `RECON_LOG_FORMAT`; absent: pretty on a terminal, JSON otherwise (see `chooseLogFormat`). */
  readonly logFormat?: LogFormat;
  /** `RECON_HEALTH_RETENTION_DAYS`: `system_health` rows older than this many days are deleted. */
  readonly healthRetentionDays: number;
  /** `RECON_CONTAINER`: whether recon runs in a container (`auto`: detected). */
  readonly container: ContainerMode;
  /** Default `--data-dir` and `--reports-dir`. */
  readonly dataDir: string;
  readonly reportsDir: string;
  /** Default `--max-invalid-rate`: a decimal fraction string, e.g. `0.01`. */
  readonly maxInvalidRate: string;
  /** Default `--processors`, from RECON_PROCESSORS (comma or space separated); may be empty. */
  readonly processors: string[];
  /** HTTP APIs (for `--source api`); an API whose credentials are not set is absent. */
  readonly apis: ApiConfig;
  /** Settings of the processor export formats (README "Processor export formats"). */
  readonly formats: FormatSettings;
  /** Bound of each `recon health` check, in milliseconds (RECON_HEALTH_TIMEOUT_MS). */
  readonly healthTimeoutMs: number;
  /** Default character encoding of input CSV files (RECON_ENCODING; `--encoding`). */
  readonly encoding: InputEncoding;
  /** Optional reporting currency and its rates (RECON_REPORTING_CURRENCY, RECON_FX_RATES_FILE). */
  readonly fx: FxRates | null;
  /** S3, e-mail and their policies (README "Delivery"), validated with everything else. */
  readonly delivery: DeliveryConfig;
  /** Breaks across days (README "Breaks across days"), in calendar days. */
  readonly breaks: BreakSettings;
  /** Business-day cut-off of each side (README "Business-day cut-offs"). */
  readonly cutoffs: SourceCutoffs;
  /**
   * `RECON_CONFIG`: path of the rules file (README "Matching rules"), or `null`. Only the path:
   * the file is read and validated by `recon run` (`config/rules-file.ts`) unless `--config`
   * names another one.
   */
  readonly rulesFile: string | null;
}

/** Prefix of the cut-off settings: `RECON_CUTOFF_LEDGER`, `RECON_CUTOFF_<PROCESSOR>`. */
const CUTOFF_PREFIX = 'RECON_CUTOFF_';

/**
 * The cut-offs from `RECON_CUTOFF_LEDGER` and `RECON_CUTOFF_<PROCESSOR>` (`"<IANA zone> HH:MM"`,
 * e.g. `RECON_CUTOFF_SQUARE="America/Los_Angeles 17:00"`); an unset one is the calendar day in
 * `timeZone` (RECON_TIMEZONE). Pushes one problem per bad value, and one per `RECON_CUTOFF_*`
 * variable that names no known processor (a typo must not silently keep the default).
 */
function loadCutoffs(
  present: Record<string, string>,
  timeZone: string,
  problems: string[],
): SourceCutoffs {
  const fallback = midnightCutoff(timeZone);
  const names = new Map<string, string>([
    ['LEDGER', 'ledger'],
    ...KNOWN_PROCESSORS.map((name): [string, string] => [name.toUpperCase(), name]),
  ]);
  let ledger = fallback;
  const processors: Record<string, Cutoff> = {};
  for (const [variable, value] of Object.entries(present)) {
    if (!variable.startsWith(CUTOFF_PREFIX)) continue;
    const name = names.get(variable.slice(CUTOFF_PREFIX.length));
    if (name === undefined) {
      problems.push(
        `${variable} names no known side: use ${[...names.keys()].map((key) => CUTOFF_PREFIX + key).join(', ')}`,
      );
      continue;
    }
    const cutoff = collect(problems, () => parseCutoff(value, variable));
    if (cutoff === undefined) continue;
    if (name === 'ledger') ledger = cutoff;
    else processors[name] = cutoff;
  }
  return { ledger, processors, fallback };
}

/**
 * Settings of breaks across days, in calendar days: `carryDays` (RECON_CARRY_DAYS, default 90):
 * how far back open one-sided breaks are carried into a run; `graceDays` (RECON_GRACE_DAYS,
 * default 0): a one-sided item younger than this is `pending`; `escalateDays`
 * (RECON_ESCALATE_DAYS, default 7): open breaks older than this are escalations.
 */
export interface BreakSettings {
  readonly carryDays: number;
  readonly graceDays: number;
  readonly escalateDays: number;
}

/** API settings. Secrets (keys, tokens) live only here and in request headers. */
export interface ApiConfig {
  readonly http: HttpSettings;
  readonly stripe?: StripeApiSettings;
  readonly paypal?: Omit<PaypalApiSettings, never>;
  readonly square?: SquareApiSettings;
  readonly ledger?: {
    readonly baseUrl: string;
    readonly token?: string;
    readonly config: LedgerApiConfig;
  };
}

/**
 * Default bound of each `recon health` check (RECON_HEALTH_TIMEOUT_MS), in milliseconds: checks
 * run side by side, so a silent dependency ends `recon health` after this, plus at most as long
 * again to record the results.
 */
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;

/** Largest delay a Node timer holds (2^31 - 1 ms); a larger timeout would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A whole-number variable from `min` (default 0) to `max` (default `MAX_TIMER_MS`, so that no
 * number becomes a timer that fires at once); `fallback` when unset.
 */
const IANA_ZONE = 'must be an IANA time zone (e.g. UTC, America/New_York)';

const positiveInt = (fallback: number, min = 0, max = MAX_TIMER_MS) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((value) => value >= min, `must be at least ${min}`)
    .refine((value) => value <= max, `must be at most ${max}`)
    .optional()
    .transform((value) => value ?? fallback);

const CoreEnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((value) => value >= 1 && value <= 65535, 'must be a port number from 1 to 65535')
    .optional()
    .transform((value) => value ?? 5432),
  DB_NAME: z.string().min(1).optional(),
  DB_USER: z.string().min(1).optional(),
  DB_PASSWORD: z.string().optional(),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .optional()
    .transform((value) => value ?? 'public'),
  // 0 would mean "no timeout" to pg: every database call must stay bounded.
  DB_CONNECT_TIMEOUT_MS: positiveInt(5000, 1),
  DB_STATEMENT_TIMEOUT_MS: positiveInt(300_000, 1),
  DB_POOL_SIZE: positiveInt(4, 1, 1000),
  DB_SSLMODE: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).optional(),
  DB_SSLROOTCERT: z.string().min(1).optional(),
  RECON_PGLITE_DIR: z
    .string()
    .min(1)
    .optional()
    .transform((value) => value ?? '.recon/pgdata'),
  RECON_PGLITE_WAIT_MS: positiveInt(60_000),
  RECON_TIMEZONE: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), IANA_ZONE)
    .optional()
    .transform((value) => value ?? 'UTC'),
  RECON_DATA_DIR: z
    .string()
    .min(1)
    .optional()
    .transform((value) => value ?? 'data'),
  RECON_REPORTS_DIR: z
    .string()
    .min(1)
    .optional()
    .transform((value) => value ?? 'local_reports'),
  RECON_MAX_INVALID_RATE: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction between 0 and 1, e.g. 0.01')
    .optional()
    .transform((value) => value ?? '0.01'),
  RECON_PROCESSORS: z.string().optional(),
  RECON_HEALTH_TIMEOUT_MS: positiveInt(DEFAULT_HEALTH_TIMEOUT_MS).refine(
    (value) => value >= 1,
    'must be at least 1',
  ),
  RECON_ENCODING: z
    .string()
    .optional()
    .transform((value) => (value === undefined ? 'utf-8' : parseInputEncoding(value)))
    .refine((value) => value !== undefined, `must be one of ${INPUT_ENCODINGS.join(', ')}`),
  STRIPE_API_KEY: z.string().optional(),
  STRIPE_API_BASE_URL: credentialFreeUrl('STRIPE_API_KEY')
    .optional()
    .transform((value) => value ?? 'https://api.stripe.com'),
  STRIPE_MATCH_KEY: z
    .enum(['source', 'id'])
    .optional()
    .transform((value) => value ?? 'source'),
  STRIPE_ACCOUNT_LABEL: z
    .string()
    .optional()
    .transform((value) => value ?? 'stripe'),
  PAYPAL_CLIENT_ID: z.string().optional(),
  PAYPAL_CLIENT_SECRET: z.string().optional(),
  PAYPAL_API_BASE_URL: credentialFreeUrl('PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET')
    .optional()
    .transform((value) => value ?? 'https://api-m.paypal.com'),
  PAYPAL_PAGE_SIZE: positiveInt(500).refine(
    (value) => value >= 1 && value <= 500,
    'must be from 1 to 500',
  ),
  SQUARE_ACCESS_TOKEN: z.string().optional(),
  SQUARE_API_BASE_URL: credentialFreeUrl('SQUARE_ACCESS_TOKEN')
    .optional()
    .transform((value) => value ?? 'https://connect.squareup.com'),
  SQUARE_VERSION: z
    .string()
    .optional()
    .transform((value) => value ?? '2025-09-24'),
  INTERNAL_API_BASE_URL: credentialFreeUrl('INTERNAL_API_TOKEN').optional(),
  INTERNAL_API_TOKEN: z.string().optional(),
  INTERNAL_API_CONFIG: z.string().optional(),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(DEFAULT_HTTP_SETTINGS.requestTimeoutMs),
  HTTP_CONNECT_TIMEOUT_MS: positiveInt(DEFAULT_HTTP_SETTINGS.connectTimeoutMs),
  HTTP_MAX_ATTEMPTS: positiveInt(DEFAULT_HTTP_SETTINGS.maxAttempts).refine(
    (value) => value >= 1,
    'must be at least 1',
  ),
  HTTP_RETRY_BASE_MS: positiveInt(DEFAULT_HTTP_SETTINGS.retryBaseMs),
  HTTP_RETRY_MAX_MS: positiveInt(DEFAULT_HTTP_SETTINGS.retryMaxMs),
  HTTP_RETRY_AFTER_CAP_MS: positiveInt(DEFAULT_HTTP_SETTINGS.retryAfterCapMs),
  HTTP_FETCH_DEADLINE_MS: positiveInt(DEFAULT_HTTP_SETTINGS.fetchDeadlineMs),
  RECON_COMPARE_AMOUNT: z.string().optional(),
  STRIPE_REPORT_MATCH_KEY: z
    .enum(['source_id', 'charge_id', 'balance_transaction_id'])
    .optional()
    .transform((value) => value ?? DEFAULT_FORMAT_SETTINGS.stripeMatchKey),
  STRIPE_REPORT_TIMEZONE: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), IANA_ZONE)
    .optional()
    .transform((value) => value ?? DEFAULT_FORMAT_SETTINGS.stripeReportTimeZone),
  RECON_PAYPAL_DATE_ORDER: z
    .enum(['auto', 'dmy', 'mdy'])
    .optional()
    .transform((value) => value ?? DEFAULT_FORMAT_SETTINGS.paypalDateOrder),
  ADYEN_MATCH_KEY: z
    .enum(['auto', 'psp_reference', 'modification_reference', 'merchant_reference'])
    .optional()
    .transform((value) => value ?? DEFAULT_FORMAT_SETTINGS.adyenMatchKey),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .transform((value) => value ?? 'info'),
  RECON_LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
  RECON_CARRY_DAYS: positiveInt(90, 0, 36_500),
  RECON_GRACE_DAYS: positiveInt(0, 0, 36_500),
  RECON_ESCALATE_DAYS: positiveInt(7, 0, 36_500),
  RECON_HEALTH_RETENTION_DAYS: positiveInt(30).refine((value) => value >= 1, 'must be at least 1'),
  RECON_CONTAINER: z
    .enum(['auto', 'yes', 'no'])
    .optional()
    .transform((value) => value ?? 'auto'),
});

/** Every variable `loadConfig` reads through a schema: the core settings and delivery's. */
const EnvSchema = CoreEnvSchema.extend(DeliveryEnvSchema.shape);

/**
 * Reads and validates the WHOLE configuration from `env` (normally `process.env`, after `.env` was
 * loaded): database, delivery, APIs, formats, reporting currency, logging. Called once by every
 * command before any side effect. A server is used when `DATABASE_URL` or `DB_HOST` is set;
 * otherwise embedded PGlite. Empty strings count as unset. Files the settings name (CA file,
 * ledger API mapping, FX rates) are read and checked now.
 * @throws ConfigError whose `problems` list EVERY bad setting, one plain sentence each naming the
 *   variable, what it must be and the value it had (`SMTP_PORT must be a whole number, got
 *   "abc"`); the value of a secret setting is never shown.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const present = presentEnv(env);
  const problems: string[] = [];
  const e = parseEnv(EnvSchema, present, problems);
  // The checks below read the raw variables, so that they run (and report) even when the schema
  // found problems elsewhere.
  if (present.DB_SSLROOTCERT) {
    const file = present.DB_SSLROOTCERT;
    collect(problems, () => readTlsFile(file, 'DB_SSLROOTCERT: file'));
  }
  if (present.DATABASE_URL) {
    const url = present.DATABASE_URL;
    collect(problems, () => checkConnectionUrl(url));
  }
  const compareAmount = collect(problems, () => parseCompareAmount(present.RECON_COMPARE_AMOUNT));
  const ledgerConfig = present.INTERNAL_API_BASE_URL
    ? collect(problems, () => loadLedgerConfig(present.INTERNAL_API_CONFIG))
    : DEFAULT_LEDGER_API_CONFIG;
  const fx = collect(problems, () => loadFxRates(env));
  const cutoffs = loadCutoffs(present, e?.RECON_TIMEZONE ?? 'UTC', problems);
  if (e !== undefined) problems.push(...deliveryUrlProblems(e));
  if (
    problems.length > 0 ||
    e === undefined ||
    compareAmount === undefined ||
    ledgerConfig === undefined ||
    fx === undefined
  ) {
    throw new ConfigError(problems);
  }
  return {
    timeZone: e.RECON_TIMEZONE,
    database: databaseConfig(e),
    apis: loadApis(e, ledgerConfig),
    formats: {
      compareAmount,
      stripeMatchKey: e.STRIPE_REPORT_MATCH_KEY,
      stripeReportTimeZone: e.STRIPE_REPORT_TIMEZONE,
      paypalDateOrder: e.RECON_PAYPAL_DATE_ORDER,
      adyenMatchKey: e.ADYEN_MATCH_KEY,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.RECON_LOG_FORMAT,
    healthRetentionDays: e.RECON_HEALTH_RETENTION_DAYS,
    breaks: {
      carryDays: e.RECON_CARRY_DAYS,
      graceDays: e.RECON_GRACE_DAYS,
      escalateDays: e.RECON_ESCALATE_DAYS,
    },
    cutoffs,
    container: e.RECON_CONTAINER,
    dataDir: e.RECON_DATA_DIR,
    reportsDir: e.RECON_REPORTS_DIR,
    maxInvalidRate: e.RECON_MAX_INVALID_RATE,
    encoding: e.RECON_ENCODING ?? 'utf-8',
    processors: (e.RECON_PROCESSORS ?? '').split(/[\s,]+/).filter(Boolean),
    healthTimeoutMs: e.RECON_HEALTH_TIMEOUT_MS,
    fx,
    delivery: deliveryConfigFrom(e),
    rulesFile: present.RECON_CONFIG ?? null,
  };
}

/** The database settings from validated variables (see `loadConfig`). */
function databaseConfig(e: z.output<typeof EnvSchema>): DatabaseConfig {
  const common = {
    schema: e.DB_SCHEMA,
    connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    poolSize: e.DB_POOL_SIZE,
    sslMode: e.DB_SSLMODE,
    sslRootCert: e.DB_SSLROOTCERT,
  };
  if (e.DATABASE_URL) {
    return { kind: 'postgres', settings: { connectionString: e.DATABASE_URL, ...common } };
  }
  if (e.DB_HOST) {
    return {
      kind: 'postgres',
      settings: {
        host: e.DB_HOST,
        port: e.DB_PORT,
        database: e.DB_NAME ?? 'reconciliation',
        user: e.DB_USER,
        password: e.DB_PASSWORD,
        ...common,
      },
    };
  }
  return {
    kind: 'pglite',
    settings: {
      dataDir: e.RECON_PGLITE_DIR,
      lockDir: e.RECON_PGLITE_DIR.startsWith('memory://')
        ? join('.recon', 'locks')
        : join(dirname(e.RECON_PGLITE_DIR), 'locks'),
      dirLockWaitMs: e.RECON_PGLITE_WAIT_MS,
    },
  };
}

/**
 * RECON_COMPARE_AMOUNT: which amount of a processor export row is compared with the ledger.
 * `net` (every format) or `adyen-settlement-detail=net,stripe-balance-report=gross`; `*` stands
 * for every format. Unset: gross.
 */
function parseCompareAmount(text: string | undefined): Record<string, AmountField> {
  const result: Record<string, AmountField> = {};
  if (!text) return result;
  const names = PROCESSOR_FORMATS.map((format) => format.name);
  const isField = (value: string): value is AmountField =>
    (AMOUNT_FIELDS as readonly string[]).includes(value);
  const entries = text.split(',').map((part) => part.trim());
  for (const entry of entries.filter(Boolean)) {
    const [left = '', right] = entry.split('=').map((part) => part.trim());
    const name = right === undefined ? '*' : left;
    const field = right === undefined ? left : right;
    if (!isField(field) || (name !== '*' && !names.includes(name))) {
      throw new ConfigError(
        `RECON_COMPARE_AMOUNT must be ${AMOUNT_FIELDS.join(', ')} or FORMAT=FIELD pairs ` +
          `separated by commas (formats: ${names.join(', ')})${quotedValue('RECON_COMPARE_AMOUNT', entry)}`,
      );
    }
    result[name] = field;
  }
  return result;
}

function loadLedgerConfig(path: string | undefined): LedgerApiConfig {
  if (!path) return DEFAULT_LEDGER_API_CONFIG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigError(
      `INTERNAL_API_CONFIG ${path} cannot be read as JSON: ${(error as Error).message}`,
    );
  }
  const parsed = LedgerApiConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(
      `INTERNAL_API_CONFIG ${path}: ${first?.path.join('.') || '(root)'} ${first?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}

function loadApis(e: z.output<typeof EnvSchema>, ledgerConfig: LedgerApiConfig): ApiConfig {
  const http: HttpSettings = {
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    connectTimeoutMs: e.HTTP_CONNECT_TIMEOUT_MS,
    maxAttempts: e.HTTP_MAX_ATTEMPTS,
    retryBaseMs: e.HTTP_RETRY_BASE_MS,
    retryMaxMs: e.HTTP_RETRY_MAX_MS,
    retryAfterCapMs: e.HTTP_RETRY_AFTER_CAP_MS,
    fetchDeadlineMs: e.HTTP_FETCH_DEADLINE_MS,
  };
  return {
    http,
    stripe: e.STRIPE_API_KEY
      ? {
          baseUrl: e.STRIPE_API_BASE_URL,
          apiKey: e.STRIPE_API_KEY,
          matchKey: e.STRIPE_MATCH_KEY,
          accountLabel: e.STRIPE_ACCOUNT_LABEL,
        }
      : undefined,
    paypal:
      e.PAYPAL_CLIENT_ID && e.PAYPAL_CLIENT_SECRET
        ? {
            baseUrl: e.PAYPAL_API_BASE_URL,
            clientId: e.PAYPAL_CLIENT_ID,
            clientSecret: e.PAYPAL_CLIENT_SECRET,
            pageSize: e.PAYPAL_PAGE_SIZE,
          }
        : undefined,
    square: e.SQUARE_ACCESS_TOKEN
      ? {
          baseUrl: e.SQUARE_API_BASE_URL,
          accessToken: e.SQUARE_ACCESS_TOKEN,
          apiVersion: e.SQUARE_VERSION,
        }
      : undefined,
    ledger: e.INTERNAL_API_BASE_URL
      ? {
          baseUrl: e.INTERNAL_API_BASE_URL,
          token: e.INTERNAL_API_TOKEN,
          config: ledgerConfig,
        }
      : undefined,
  };
}
