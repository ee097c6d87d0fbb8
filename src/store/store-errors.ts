import { ConfigError, DependencyUnavailableError, ReconError } from '../domain/errors';

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

// SQLSTATE classes meaning "the server is not usable by us": connection exceptions (08),
// invalid authorization (28), insufficient resources (53), operator intervention (57), plus
// 3D000 (database does not exist).
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57)|^3D000$/;

/**
 * Translates a driver error into the project's errors: unreachable server, failed login,
 * missing database or timeout → `DependencyUnavailableError` (exit 3; a statement that ran
 * past `DB_STATEMENT_TIMEOUT_MS` says so and names the setting); a missing table →
 * `ConfigError` asking for `recon db init`; TLS asked of a server without it → `ConfigError`. Anything else is returned unchanged (a bug: exit 1).
 * Messages name the database by `description` (host:port/db), never by its URL or password.
 */
export function translateDatabaseError(error: unknown, description: string): unknown {
  if (error instanceof ReconError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // The server's statement_timeout (57014 with this text) or pg's client-side query_timeout.
  if (
    (code === '57014' && /statement timeout/i.test(message)) ||
    (code === undefined && /^Query read timeout$/i.test(message))
  ) {
    return new DependencyUnavailableError(
      'database',
      `database ${description} did not finish a statement in time (${message}): a statement may run at most DB_STATEMENT_TIMEOUT_MS (default 300000 ms); raise it for large runs or a slow server`,
      { cause: error },
    );
  }
  if (
    typeof code === 'string' &&
    (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
  ) {
    return new DependencyUnavailableError(
      'database',
      `database ${description} is unavailable: ${message}`,
      { cause: error },
    );
  }
  if (/timeout|terminated unexpectedly|Connection terminated/i.test(message) && !code) {
    return new DependencyUnavailableError(
      'database',
      `database ${description} is unavailable: ${message}`,
      { cause: error },
    );
  }
  if (/server does not support SSL/i.test(message)) {
    return new ConfigError(
      `database ${description} does not accept TLS connections, but DB_SSLMODE or sslmode in DATABASE_URL asks for TLS`,
      { cause: error },
    );
  }
  if (code === '42P01') {
    return new ConfigError(
      `database ${description} has no reconciliation schema (${message}); run 'recon db init' first`,
      { cause: error },
    );
  }
  return error;
}
