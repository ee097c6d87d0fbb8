/**
 * Secret redaction: the ONE place that decides what of a message must never be written anywhere
 * (log lines, stored error messages, audit entries, e-mails, CLI output).
 *
 * Two nets, applied together by `Redactor.redact`:
 * 1. **Values**: every configured secret (see `config/secret-settings.ts`) in each form it can take
 *    in a message: as is, URL-encoded (`%2F` and `%2f`, `+` for space), JSON-escaped once and twice
 *    (a JSON body quoted inside a JSON log line) and HTML-escaped. Values shorter than
 *    `MIN_SECRET_LENGTH` characters are not value-redacted (they would blank out ordinary words and
 *    numbers everywhere); `tooShort` names them so the CLI can warn.
 * 2. **Patterns**, for secrets recon never saw in its configuration (an OAuth access token, a
 *    credential echoed by an API): the password of `scheme://user:password@`, the value of an
 *    `Authorization` header, `Bearer …` and `Basic …` credentials, and the value of a query, form or
 *    JSON field whose name says secret (`api_key`, `token`, `access_token`, `client_secret`,
 *    `password`, `signature`, `X-Amz-Signature`, …).
 *
 * Replacement text is `[REDACTED]`. The process-wide redactor (`installRedactor`, `redactSecrets`)
 * starts as patterns only and is replaced by the CLI with one built from the environment before
 * anything else happens; the domain stays free of configuration imports.
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** Secrets shorter than this many characters are not redacted by value (patterns still apply). */
export const MIN_SECRET_LENGTH = 8;

/** One secret value and the name of the setting it came from (the name is never secret). */
export interface Secret {
  readonly name: string;
  readonly value: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Every form of `value` that may appear in a message, the value itself first. */
export function secretForms(value: string): string[] {
  const uri = encodeURIComponent(value);
  const forms = new Set<string>([
    value,
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    uri.replace(/%20/g, '+'),
    encodeURI(value),
    jsonEscaped(value),
    jsonEscaped(jsonEscaped(value)),
    value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c),
    value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
    Buffer.from(value, 'utf8').toString('base64'),
  ]);
  return [...forms].filter((form) => form.length > 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Field names that say "secret": the name may carry prefixes (`x-api-key`, `stripe_token`,
// `X-Amz-Signature`) but must END with one of these words (`token_type` and `idempotency_key`
// are not secrets).
const SECRET_NAME =
  '(?:[A-Za-z0-9]+[_.-])*(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|' +
  'client[_-]?secret|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|' +
  'session[_-]?token|security[_-]?token|token|secret|password|passwd|pwd|pass|signature|sig|' +
  'credentials?|authorization|auth)';

const AUTH_SCHEMES = '(?:Bearer|Basic|Token|Digest|Bot|ApiKey|AWS4-HMAC-SHA256)';

interface Pattern {
  readonly regex: RegExp;
  readonly replace: (match: string, ...groups: string[]) => string;
}

const PATTERNS: readonly Pattern[] = [
  // scheme://user:password@host → scheme://user:[REDACTED]@host (a user name alone is kept)
  {
    regex: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>:]*):([^\s/?#"'<>]*)@/gi,
    replace: (_m, scheme = '', user = '') => `${scheme}${user}:${REDACTED}@`,
  },
  // Authorization: <scheme> <credential>   (also "authorization":"…", authorization=…)
  {
    regex: new RegExp(
      `\\b((?:proxy-)?authorization)(\\\\*["']?\\s*[:=]\\s*\\\\*["']?)(${AUTH_SCHEMES}\\s+)?([^\\s"'\\\\,;]+)`,
      'gi',
    ),
    replace: (_m, name = '', sep = '', scheme = '') => `${name}${sep}${scheme}${REDACTED}`,
  },
  // Bearer <token> anywhere
  {
    regex: /\b([Bb]earer\s+)[A-Za-z0-9\-._~+/]+=*/g,
    replace: (_m, prefix = '') => `${prefix}${REDACTED}`,
  },
  // Basic <base64> anywhere; a word that only looks like base64 ("Basic authentication") is kept
  {
    regex: /\b(Basic\s+)([A-Za-z0-9+/]{8,}={0,2})/g,
    replace: (match, prefix = '', token = '') =>
      /[0-9+/=]|.[A-Z]/.test(token) ? `${prefix}${REDACTED}` : match,
  },
  // "name": "value" in JSON, also when that JSON is itself quoted inside a JSON string (\"name\")
  {
    regex: new RegExp(`(\\\\*")(${SECRET_NAME})\\1(\\s*:\\s*)\\1(?:\\\\.|[^"\\\\])*?\\1`, 'gi'),
    replace: (_m, quote = '', name = '', sep = '') =>
      `${quote}${name}${quote}${sep}${quote}${REDACTED}${quote}`,
  },
  // name=value in a query string, a form body or free text
  {
    regex: new RegExp(
      `(^|[^A-Za-z0-9_.-])(${SECRET_NAME})=(?!${AUTH_SCHEMES}\\s|\\[REDACTED\\])([^&\\s#"'<>\\\\]+)`,
      'gi',
    ),
    replace: (_m, before = '', name = '') => `${before}${name}=${REDACTED}`,
  },
];

/**
 * Removes secrets from text. Build one with the configured secrets (`Redactor` constructor) or
 * use `Redactor.patternsOnly`. Immutable and cheap to call: one regular expression for all values
 * plus a handful of patterns.
 */
export class Redactor {
  /** Patterns only: what is used before the configuration is known. */
  static readonly patternsOnly = new Redactor([]);

  /** Names of the secrets not redacted by value because they are shorter than the minimum. */
  readonly tooShort: readonly string[];
  private readonly values: RegExp | null;
  private readonly secrets: readonly Secret[];

  /** @param secrets configured secret values; empty values are ignored. */
  constructor(secrets: readonly Secret[]) {
    this.secrets = secrets;
    const short = new Set<string>();
    const needles = new Set<string>();
    for (const secret of secrets) {
      if (secret.value.length === 0) continue;
      if (secret.value.length < MIN_SECRET_LENGTH) {
        short.add(secret.name);
        continue;
      }
      for (const form of secretForms(secret.value)) needles.add(form);
    }
    this.tooShort = [...short];
    const sorted = [...needles].sort((a, b) => b.length - a.length);
    this.values = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  }

  /** A redactor with `extra` secrets added to this one's (e.g. a token obtained at run time). */
  with(extra: readonly Secret[]): Redactor {
    return new Redactor([...this.secrets, ...extra]);
  }

  /** `text` with every configured secret (all forms) and every secret-looking pattern replaced. */
  redact(text: string): string {
    return this.redactPatterns(this.redactValues(text));
  }

  /** `text` with the configured secret values replaced (no patterns: safe for presigned links). */
  redactValues(text: string): string {
    return this.values ? text.replace(this.values, REDACTED) : text;
  }

  /** `text` with the pattern-based redactions applied (URL passwords, Authorization, …). */
  redactPatterns(text: string): string {
    let out = text;
    for (const pattern of PATTERNS) {
      out = out.replace(pattern.regex, pattern.replace as (m: string, ...g: unknown[]) => string);
    }
    return out;
  }

  /**
   * A deep copy of a JSON-like value with every string (keys kept) redacted; for audit details and
   * other structured records. Non-plain objects are returned as they are. `only: 'values'`
   * applies the configured values but no patterns (for presigned links, whose signature is the
   * point of the link).
   */
  redactObject<T>(value: T, only: 'values' | 'all' = 'all'): T {
    return redactDeep(value, (text) =>
      only === 'values' ? this.redactValues(text) : this.redact(text),
    ) as T;
  }
}

function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)]),
    );
  }
  return value;
}

let active: Redactor = Redactor.patternsOnly;

/**
 * Makes `redactor` the process-wide one used by `redactSecrets` (and so by the logger,
 * `describeError`, the run store's audit entries, the e-mail and the CLI's output). The CLI calls
 * this once, from the environment, before it reads the rest of the configuration.
 */
export function installRedactor(redactor: Redactor): void {
  active = redactor;
}

/** The process-wide redactor (patterns only until `installRedactor` was called). */
export function currentRedactor(): Redactor {
  return active;
}

/**
 * Adds a secret learnt at run time (an OAuth access token) to the process-wide redactor.
 * Values shorter than `MIN_SECRET_LENGTH` are ignored.
 */
export function registerSecret(name: string, value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) active = active.with([{ name, value }]);
}

/** `text` with every secret removed, by the process-wide redactor. */
export function redactSecrets(text: string): string {
  return active.redact(text);
}

/** A deep copy of a JSON-like value with every string redacted by the process-wide redactor. */
export function redactSecretsIn<T>(value: T): T {
  return active.redactObject(value);
}
