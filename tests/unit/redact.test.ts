import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  MIN_SECRET_LENGTH,
  REDACTED,
  Redactor,
  secretForms,
  currentRedactor,
  installRedactor,
  redactSecrets,
  registerSecret,
} from '../../src/domain/redact';
import { SECRET_SETTINGS, redactorFromEnv, secretsFromEnv } from '../../src/config/secret-settings';

const ROOT = join(__dirname, '..', '..');
const SECRET = 'sk_live_"quo/te\\back slash&<x>';

describe('Redactor: configured secret values', () => {
  const redactor = new Redactor([{ name: 'STRIPE_API_KEY', value: SECRET }]);

  it.each([
    ['as is', SECRET],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['URL-encoded with lower-case hex', encodeURIComponent(SECRET).toLowerCase()],
    ['form-encoded', encodeURIComponent(SECRET).replace(/%20/g, '+')],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify(SECRET)).slice(1, -1).slice(2, -2)],
    ['HTML-escaped', 'sk_live_&quot;quo/te\\back slash&amp;&lt;x&gt;'],
    ['base64', Buffer.from(SECRET).toString('base64')],
  ])('replaces the secret %s', (_form, text) => {
    expect(redactor.redact(`before ${text} after`)).toBe(`before ${REDACTED} after`);
  });

  it('lists every form of a value, the value first', () => {
    expect(secretForms('a b/"c')).toEqual([
      'a b/"c',
      'a%20b%2F%22c',
      'a%20b%2f%22c',
      'a+b%2F%22c',
      'a%20b/%22c',
      'a b/\\"c',
      'a b/\\\\\\"c',
      'a b/&quot;c',
      'a b/&#34;c',
      'YSBiLyJj',
    ]);
  });

  it(`does not redact values shorter than ${MIN_SECRET_LENGTH} characters, and names them`, () => {
    const short = new Redactor([
      { name: 'DB_PASSWORD', value: 'pw1' },
      { name: 'EMAIL_PASSWORD', value: 'longer-secret' },
    ]);
    expect(short.tooShort).toEqual(['DB_PASSWORD']);
    expect(short.redact('pw1 in a message, longer-secret too')).toBe(
      `pw1 in a message, ${REDACTED} too`,
    );
  });

  it('prefers the longest overlapping secret, so no tail is left behind', () => {
    const overlapping = new Redactor([
      { name: 'A', value: 'abcdefgh' },
      { name: 'B', value: 'abcdefghijkl' },
    ]);
    expect(overlapping.redact('x abcdefghijkl y abcdefgh')).toBe(`x ${REDACTED} y ${REDACTED}`);
  });

  it('redacts every string of a JSON-like object and keeps its shape', () => {
    expect(
      redactor.redactObject({
        error: `HTTP 401: ${SECRET}`,
        nested: [{ detail: 'url https://u:p4ss@h/x' }, 3, null, true],
      }),
    ).toEqual({
      error: `HTTP 401: ${REDACTED}`,
      nested: [{ detail: `url https://u:${REDACTED}@h/x` }, 3, null, true],
    });
  });
});

describe('Redactor: patterns for secrets it was not told about', () => {
  const redactor = Redactor.patternsOnly;

  it.each([
    [
      'the password of a URL, keeping user, host and the rest of the query',
      'connect postgres://recon:s3cr%40t@db.internal:5432/recon?sslmode=require failed',
      `connect postgres://recon:${REDACTED}@db.internal:5432/recon?sslmode=require failed`,
    ],
    [
      'a password with an unencoded @ (a malformed URL)',
      'Invalid URL postgres://u:p@ss@host/db',
      `Invalid URL postgres://u:${REDACTED}@host/db`,
    ],
    [
      'secret-named query parameters, not the others',
      'GET https://api.example.com/v1/x?limit=10&api_key=abc123&access_token=zzz&client_secret=q1&signature=s9&X-Amz-Signature=f00&X-Amz-Credential=AKIA%2F2025&page=2&token_type=bearer',
      `GET https://api.example.com/v1/x?limit=10&api_key=${REDACTED}&access_token=${REDACTED}&client_secret=${REDACTED}&signature=${REDACTED}&X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}&page=2&token_type=bearer`,
    ],
    [
      'a form body',
      'grant_type=client_credentials&password=hunter22&username=bob',
      `grant_type=client_credentials&password=${REDACTED}&username=bob`,
    ],
    [
      'an Authorization header line',
      'Authorization: Bearer eyJhbGciOi.J9.x-y_z',
      `Authorization: Bearer ${REDACTED}`,
    ],
    [
      'an Authorization header with a custom scheme',
      'authorization=Token abcdef123',
      `authorization=Token ${REDACTED}`,
    ],
    [
      'an Authorization header without a scheme',
      'Authorization: sq0atp-123456',
      `Authorization: ${REDACTED}`,
    ],
    [
      'an authorization field in JSON',
      '{"authorization":"Basic dXNlcjpwYXNz"}',
      `{"authorization":"${REDACTED}"}`,
    ],
    ['a Bearer token anywhere', 'got bearer A21AAF.x_y- back', `got bearer ${REDACTED} back`],
    ['a Basic credential anywhere', 'echo: Basic dXNlcjpwYXNz', `echo: Basic ${REDACTED}`],
    [
      'secret-named JSON fields, not the others',
      '{"error":{"message":"bad","api_key":"sk_123","client_secret":"a\\"b","token_type":"Bearer","x-api-key":"k9"}}',
      `{"error":{"message":"bad","api_key":"${REDACTED}","client_secret":"${REDACTED}","token_type":"Bearer","x-api-key":"${REDACTED}"}}`,
    ],
    [
      'secret-named JSON fields of JSON quoted inside JSON (a body inside a log line)',
      '{"msg":"HTTP 401: {\\"access_token\\":\\"A21AA9\\",\\"scope\\":\\"x\\"}"}',
      `{"msg":"HTTP 401: {\\"access_token\\":\\"${REDACTED}\\",\\"scope\\":\\"x\\"}"}`,
    ],
  ])('redacts %s', (_case, input, expected) => {
    expect(redactor.redact(input)).toBe(expected);
  });

  it.each([
    'run completed: 8 discrepancies, risk HIGH, token_type=bearer',
    'Basic auth is not configured; idempotency_key=abc; password reset',
    'the reports are at local_reports/stripe_2025-09-30 (a path, not a secret)',
    'postgres://recon@db.internal:5432/recon (a user without a password)',
    's3://acme-recon/reports/2025-09-30/stripe/x.csv',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(redactor.redact(text)).toBe(text);
  });

  it('keeps JSON valid when it redacts inside it', () => {
    const json = JSON.stringify({
      error: 'HTTP 401: {"token":"t\\"x","url":"https://a:b\\"c@h"}',
      auth: 'Authorization: Bearer abc',
    });
    expect(() => JSON.parse(redactor.redact(json)) as unknown).not.toThrow();
  });
});

describe('secret settings', () => {
  it('takes every secret setting from the environment, URL passwords decoded and as typed', () => {
    const secrets = secretsFromEnv({
      DATABASE_URL: 'postgres://recon:pa%2Fss%40word@db:5432/recon',
      STRIPE_API_KEY: 'sk_test_123456',
      PAYPAL_CLIENT_ID: 'client-1',
      PAYPAL_CLIENT_SECRET: 'paypal-secret',
      LOG_LEVEL: 'info',
    });
    expect(secrets).toEqual([
      { name: 'DATABASE_URL', value: 'pa%2Fss%40word' },
      { name: 'DATABASE_URL', value: 'pa/ss@word' },
      { name: 'DATABASE_URL', value: 'pa%2Fss%40word' },
      { name: 'DATABASE_URL', value: 'pa/ss@word' },
      { name: 'STRIPE_API_KEY', value: 'sk_test_123456' },
      { name: 'PAYPAL_CLIENT_SECRET', value: 'paypal-secret' },
      {
        name: 'PAYPAL_CLIENT_SECRET',
        value: Buffer.from('client-1:paypal-secret').toString('base64'),
      },
      {
        name: 'PAYPAL_CLIENT_SECRET',
        value: Buffer.from('\0client-1\0paypal-secret').toString('base64'),
      },
      { name: 'PAYPAL_CLIENT_SECRET', value: Buffer.from('paypal-secret').toString('base64') },
    ]);
  });

  it('finds the password of a DATABASE_URL that does not parse', () => {
    const redactor = redactorFromEnv({ DATABASE_URL: 'postgres://recon:p@ss w#rd@db:99999/x' });
    expect(redactor.redact('Invalid URL: postgres://recon:p@ss w#rd@db:99999/x')).toBe(
      `Invalid URL: postgres://recon:${REDACTED}@db:99999/x`,
    );
    expect(redactor.redact('p@ss w#rd')).toBe(REDACTED);
  });

  it('registers every secret-looking variable of .env.example and the config schemas', () => {
    const sources = [
      readFileSync(join(ROOT, '.env.example'), 'utf8'),
      ...readdirSync(join(ROOT, 'src', 'config'))
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(join(ROOT, 'src', 'config', file), 'utf8')),
    ];
    const names = new Set(
      sources.flatMap((text) => text.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? []),
    );
    const secretLooking = [...names].filter(
      (name) =>
        /(SECRET|PASSWORD|TOKEN|_API_KEY$|WEBHOOK_URL$|AMQP_URL$)/.test(name) &&
        !['MIN_SECRET_LENGTH', 'SECRET_SETTINGS'].includes(name),
    );
    const registered = SECRET_SETTINGS.map((s) => s.variable);
    expect(secretLooking.filter((name) => !registered.includes(name))).toEqual([]);
    expect(registered).toEqual(expect.arrayContaining(['DATABASE_URL', 'DB_PASSWORD']));
  });
});

describe('the process-wide redactor', () => {
  const before = currentRedactor();
  afterEach(() => installRedactor(before));

  it('uses the installed redactor and learns secrets obtained at run time', () => {
    installRedactor(new Redactor([{ name: 'X', value: 'configured-1' }]));
    registerSecret('paypal access token', 'A21AA-runtime-token');
    registerSecret('too short', 'abc');
    expect(redactSecrets('configured-1 A21AA-runtime-token abc')).toBe(
      `${REDACTED} ${REDACTED} abc`,
    );
  });
});
