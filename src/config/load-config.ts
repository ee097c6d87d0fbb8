import { dirname, join } from 'node:path';
import { z } from 'zod';
import { checkTimeZone } from '../domain/business-date';
import { ConfigError } from '../domain/errors';
import type { PgliteSettings } from '../store/pglite-database';
import type { PostgresSettings } from '../store/postgres-database';

/** Where runs are stored: a PostgreSQL server, or embedded PGlite (the zero-setup default). */
export type DatabaseConfig =
  | { readonly kind: 'postgres'; readonly settings: PostgresSettings }
  | { readonly kind: 'pglite'; readonly settings: PgliteSettings };

/** The application's configuration, from environment variables (see README "Configuration"). */
export interface AppConfig {
  /** IANA zone in which business dates are calendar days. */
  readonly timeZone: string;
  readonly database: DatabaseConfig;
  readonly logLevel: string;
  /** Default `--data-dir` and `--reports-dir`. */
  readonly dataDir: string;
  readonly reportsDir: string;
  /** Default `--max-invalid-rate`: a decimal fraction string, e.g. `0.01`. */
  readonly maxInvalidRate: string;
  /** Default `--processors`, from RECON_PROCESSORS (comma or space separated); may be empty. */
  readonly processors: string[];
}

const positiveInt = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .optional()
    .transform((value) => value ?? fallback);

const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: positiveInt(5432),
  DB_NAME: z.string().min(1).optional(),
  DB_USER: z.string().min(1).optional(),
  DB_PASSWORD: z.string().optional(),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .optional()
    .transform((value) => value ?? 'public'),
  DB_CONNECT_TIMEOUT_MS: positiveInt(5000),
  DB_STATEMENT_TIMEOUT_MS: positiveInt(300_000),
  DB_POOL_SIZE: positiveInt(4),
  RECON_PGLITE_DIR: z
    .string()
    .min(1)
    .optional()
    .transform((value) => value ?? '.recon/pgdata'),
  RECON_PGLITE_WAIT_MS: positiveInt(60_000),
  RECON_TIMEZONE: z
    .string()
    .min(1)
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
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .transform((value) => value ?? 'info'),
});

/**
 * Reads and validates the configuration from `env` (normally `process.env`, after `.env` was
 * loaded). A server is used when `DATABASE_URL` or `DB_HOST` is set; otherwise embedded PGlite.
 * Empty strings count as unset.
 * @throws ConfigError naming the variable and what is wrong with it (never its value).
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(
      `environment variable ${String(first?.path[0] ?? '?')} ${first?.message ?? 'is invalid'}`,
    );
  }
  const e = parsed.data;
  const timeZone = checkTimeZone(e.RECON_TIMEZONE);
  const common = {
    schema: e.DB_SCHEMA,
    connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    poolSize: e.DB_POOL_SIZE,
  };
  let database: DatabaseConfig;
  if (e.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(e.DATABASE_URL)) {
      throw new ConfigError(
        'environment variable DATABASE_URL must start with postgres:// or postgresql://',
      );
    }
    database = { kind: 'postgres', settings: { connectionString: e.DATABASE_URL, ...common } };
  } else if (e.DB_HOST) {
    database = {
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
  } else {
    database = {
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
  return {
    timeZone,
    database,
    logLevel: e.LOG_LEVEL,
    dataDir: e.RECON_DATA_DIR,
    reportsDir: e.RECON_REPORTS_DIR,
    maxInvalidRate: e.RECON_MAX_INVALID_RATE,
    processors: (e.RECON_PROCESSORS ?? '').split(/[\s,]+/).filter(Boolean),
  };
}
