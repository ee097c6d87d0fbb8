import { z } from 'zod';
import { Redactor, type Secret } from '../domain/redact';

/**
 * How a setting holds a secret:
 * - `value`: the whole value is secret (an API key, a password, a webhook URL with its token);
 * - `url-password`: a URL whose password (`scheme://user:PASSWORD@host`, or a `password` query
 *   parameter) is secret; the rest of the URL may appear in messages.
 */
export type SecretKind = 'value' | 'url-password';

/** One secret setting: an environment variable and how it holds its secret. */
export interface SecretSetting {
  readonly variable: string;
  readonly kind: SecretKind;
}

/**
 * EVERY setting holding a secret. A new secret setting is registered here with one line; a unit
 * test fails when `.env.example` or a config schema names a secret-looking variable that is not
 * listed. Settings that are not read yet (Slack, webhooks, AMQP) are listed ahead of time: an
 * unset variable costs nothing.
 */
export const SECRET_SETTINGS: readonly SecretSetting[] = [
  { variable: 'DATABASE_URL', kind: 'url-password' },
  { variable: 'DB_PASSWORD', kind: 'value' },
  { variable: 'RECON_APP_PASSWORD', kind: 'value' },
  { variable: 'STRIPE_API_KEY', kind: 'value' },
  { variable: 'PAYPAL_CLIENT_SECRET', kind: 'value' },
  { variable: 'SQUARE_ACCESS_TOKEN', kind: 'value' },
  { variable: 'INTERNAL_API_TOKEN', kind: 'value' },
  { variable: 'AWS_SECRET_ACCESS_KEY', kind: 'value' },
  { variable: 'AWS_SESSION_TOKEN', kind: 'value' },
  { variable: 'EMAIL_PASSWORD', kind: 'value' },
  // Read by docker-compose, not by recon; listed because `.env` is loaded into recon's environment.
  { variable: 'POSTGRES_PASSWORD', kind: 'value' },
  { variable: 'PGADMIN_DEFAULT_PASSWORD', kind: 'value' },
  { variable: 'SLACK_WEBHOOK_URL', kind: 'value' },
  // The webhook URL's path may carry a token (issue #17): the whole URL is treated as secret.
  { variable: 'RECON_WEBHOOK_URL', kind: 'value' },
  { variable: 'RECON_WEBHOOK_SECRET', kind: 'value' },
  { variable: 'RECON_AMQP_URL', kind: 'url-password' },
];

/**
 * Pairs sent together as HTTP Basic (`base64(user:secret)`) or SMTP AUTH PLAIN
 * (`base64(\0user\0secret)`): those encodings are secrets too.
 */
export const CREDENTIAL_PAIRS: readonly (readonly [user: string, secret: string])[] = [
  ['PAYPAL_CLIENT_ID', 'PAYPAL_CLIENT_SECRET'],
  ['EMAIL_USER', 'EMAIL_PASSWORD'],
  ['DB_USER', 'DB_PASSWORD'],
];

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The secret parts of a URL-valued setting, also when the URL does not parse. */
function urlPasswords(text: string): string[] {
  const found: string[] = [];
  try {
    const url = new URL(text);
    if (url.password) found.push(url.password, safeDecode(url.password));
    const query = url.searchParams.get('password');
    if (query) found.push(query);
  } catch {
    // A malformed URL is printed in errors too: take what lies between "user:" and the last "@".
  }
  const loose = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:(.*)@[^@]*$/is.exec(text);
  if (loose?.[1]) found.push(loose[1], safeDecode(loose[1]));
  return found;
}

/**
 * The secret values configured in `env` (normally `process.env` after `.env` was read), named by
 * their variable. Never throws, whatever the values look like.
 */
export function secretsFromEnv(env: NodeJS.ProcessEnv): Secret[] {
  const secrets: Secret[] = [];
  for (const { variable, kind } of SECRET_SETTINGS) {
    const value = env[variable];
    if (!value) continue;
    if (kind === 'value') secrets.push({ name: variable, value });
    else for (const part of urlPasswords(value)) secrets.push({ name: variable, value: part });
  }
  for (const [userVariable, secretVariable] of CREDENTIAL_PAIRS) {
    const user = env[userVariable] ?? '';
    const secret = env[secretVariable];
    if (!secret) continue;
    secrets.push(
      { name: secretVariable, value: base64(`${user}:${secret}`) },
      { name: secretVariable, value: base64(`\0${user}\0${secret}`) },
      { name: secretVariable, value: base64(secret) },
    );
  }
  return secrets;
}

/** The redactor for the secrets configured in `env` plus the built-in patterns. */
export function redactorFromEnv(env: NodeJS.ProcessEnv): Redactor {
  return new Redactor(secretsFromEnv(env));
}

/**
 * A URL setting that must not carry `user:password@`: the URL would be stored and printed as a
 * source location or endpoint, and its credential belongs in the named secret settings (`use`).
 * The error names the variable (via the config loader), never the value.
 */
export function credentialFreeUrl(use: string) {
  return z
    .url()
    .refine(
      (value) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value),
      `must not contain credentials (user:password@); use ${use}`,
    );
}
