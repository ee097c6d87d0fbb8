import { readFileSync } from 'node:fs';
import { ConfigError } from '../domain/errors';

/** `sslmode` values `pg` understands in a connection URL (pg-connection-string). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** URL query parameters that `pg` reads as files when it connects. */
const FILE_PARAMETERS = ['sslrootcert', 'sslcert', 'sslkey'];

/**
 * `url` with its password (`user:PASSWORD@`, or a `password=` query parameter) replaced by
 * `[REDACTED]` (as the redactor writes it), for messages. Masks up to the last `@`, so a password with an unencoded `@` is hidden
 * whole.
 */
export function maskConnectionUrl(url: string): string {
  return url
    .replace(/^([a-z]+:\/\/[^:/?#@]*):.*@/i, '$1:[REDACTED]@')
    .replace(/([?&]password=)[^&#]*/gi, '$1[REDACTED]');
}

function readProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT)';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    default:
      return typeof code === 'string' ? code : String((error as Error).message);
  }
}

/**
 * Reads a TLS file (CA, certificate, key) named by configuration, as UTF-8 text.
 * @param what how the message names the setting, e.g. `DB_SSLROOTCERT: file`
 * @throws ConfigError `environment variable {what} '{path}' cannot be read: {reason}` (exit 2).
 */
export function readTlsFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `environment variable ${what} '${path}' cannot be read: ${readProblem(error)}`,
      { cause: error },
    );
  }
}

/** Parses `url` the way pg-connection-string does (spaces encoded, an empty host allowed). */
function parseLikePg(url: string): URL | null {
  const text = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url)
    ? encodeURI(url).replace(/%25(\d\d)/g, '%$1')
    : url;
  try {
    return new URL(text);
  } catch {
    try {
      return new URL(text.replace('@/', '@___DUMMY___/'));
    } catch {
      return null;
    }
  }
}

/**
 * The port text of a URL that did not parse, to say what is wrong with it: what follows the host
 * after the LAST `@` (so never a part of the password) up to the path. `undefined` if none.
 */
function portOfInvalidUrl(url: string): string | undefined {
  const rest = url.replace(/^[a-z]+:\/\//i, '');
  const authority = (rest.slice(rest.lastIndexOf('@') + 1).split(/[/?#]/)[0] ?? '').replace(
    /^\[[^\]]*\]/,
    'host',
  );
  const colon = authority.lastIndexOf(':');
  return colon >= 0 ? authority.slice(colon + 1) : undefined;
}

/**
 * Checks a PostgreSQL connection URL (`DATABASE_URL`) before anything connects: the scheme, a
 * port from 1 to 65535, that it parses as a URL the way `pg` parses it, a known `sslmode`, and
 * that the files of `sslrootcert`/`sslcert`/`sslkey` can be read. Format:
 * https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS
 * @throws ConfigError naming DATABASE_URL and what is wrong; the URL appears only with its
 *   password masked (`maskConnectionUrl`).
 */
export function checkConnectionUrl(url: string, variable = 'DATABASE_URL'): void {
  const where = `environment variable ${variable}`;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(`${where} must start with postgres:// or postgresql://`);
  }
  const masked = maskConnectionUrl(url);
  const parsed = parseLikePg(url);
  // `?port=` overrides the authority's port in pg (an out-of-range one made pg drop the query).
  const port = parsed ? (parsed.searchParams.get('port') ?? parsed.port) : portOfInvalidUrl(url);
  if (
    port !== undefined &&
    port !== '' &&
    !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)
  ) {
    throw new ConfigError(
      `${where} is not a valid connection URL: port '${port}' is not a number from 1 to 65535 (${masked})`,
    );
  }
  if (!parsed) {
    throw new ConfigError(
      `${where} is not a valid connection URL (expected postgres://HOST:PORT/DATABASE with USER and PASSWORD before the host, special characters percent-encoded): ${masked}`,
    );
  }
  const sslMode = parsed.searchParams.get('sslmode');
  if (sslMode !== null && !SSL_MODES.includes(sslMode)) {
    throw new ConfigError(`${where}: sslmode '${sslMode}' must be one of ${SSL_MODES.join(', ')}`);
  }
  for (const name of FILE_PARAMETERS) {
    const path = parsed.searchParams.get(name);
    if (path !== null) readTlsFile(path, `${variable}: ${name} file`);
  }
}
