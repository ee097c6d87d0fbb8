import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { loadDeliveryConfig } from '../../src/config/delivery-config';
import { sslConfig } from '../../src/store/postgres-database';
import {
  ConfigError,
  describeError,
  describeErrorLines,
  UsageError,
} from '../../src/domain/errors';
import { quotedValue } from '../../src/config/env-problems';
import { exitCodeFor } from '../../src/cli/exit-codes';
import {
  DependencyUnavailableError,
  InputRejectedError,
  NotFoundError,
  ReconError,
  RunInProgressError,
} from '../../src/domain/errors';

describe('loadConfig', () => {
  it('defaults to embedded PGlite under .recon with UTC business dates', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      timeZone: 'UTC',
      dataDir: 'data',
      reportsDir: 'local_reports',
      maxInvalidRate: '0.01',
      processors: [],
      logLevel: 'info',
      database: { kind: 'pglite', settings: { dataDir: '.recon/pgdata', lockDir: '.recon/locks' } },
    });
  });

  it('reads the log format, health retention and container mode, with their defaults', () => {
    const pick = (env: NodeJS.ProcessEnv) => {
      const c = loadConfig(env);
      return [c.logFormat, c.healthRetentionDays, c.container];
    };
    expect(pick({})).toEqual([undefined, 30, 'auto']);
    expect(
      pick({ RECON_LOG_FORMAT: 'pretty', RECON_HEALTH_RETENTION_DAYS: '7', RECON_CONTAINER: 'no' }),
    ).toEqual(['pretty', 7, 'no']);
    expect(() => loadConfig({ RECON_LOG_FORMAT: 'text' })).toThrow(
      new ConfigError('RECON_LOG_FORMAT must be one of json, pretty, got "text"'),
    );
    expect(() => loadConfig({ RECON_HEALTH_RETENTION_DAYS: '0' })).toThrow(
      new ConfigError('RECON_HEALTH_RETENTION_DAYS must be at least 1, got "0"'),
    );
    expect(() => loadConfig({ RECON_CONTAINER: 'maybe' })).toThrow(
      new ConfigError('RECON_CONTAINER must be one of auto, yes, no, got "maybe"'),
    );
  });

  it('uses a server from DATABASE_URL with the configured schema and timeouts', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/recon',
      DB_SCHEMA: 'recon',
      DB_CONNECT_TIMEOUT_MS: '1500',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      settings: {
        connectionString: 'postgres://u:p@db:5432/recon',
        schema: 'recon',
        connectTimeoutMs: 1500,
        statementTimeoutMs: 300000,
        poolSize: 4,
      },
    });
  });

  it('builds a server connection from the classic DB_* variables', () => {
    const config = loadConfig({
      DB_HOST: 'db',
      DB_PORT: '6543',
      DB_USER: 'recon',
      DB_PASSWORD: 'x',
      DB_NAME: 'ledger',
    });
    expect(config.database).toMatchObject({
      kind: 'postgres',
      settings: {
        host: 'db',
        port: 6543,
        user: 'recon',
        password: 'x',
        database: 'ledger',
        schema: 'public',
      },
    });
  });

  it('treats empty variables as unset and splits RECON_PROCESSORS on commas and spaces', () => {
    const config = loadConfig({ DATABASE_URL: '', RECON_PROCESSORS: 'stripe, paypal square' });
    expect(config.database.kind).toBe('pglite');
    expect(config.processors).toEqual(['stripe', 'paypal', 'square']);
  });

  it('rejects a bad value naming the variable but not its value', () => {
    expect(() => loadConfig({ DB_PORT: 'fifty' })).toThrow(
      new ConfigError('DB_PORT must be a whole number, got "fifty"'),
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secret@h/db' })).toThrow(
      /DATABASE_URL must start with postgres/,
    );
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:secret@h/db' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
    expect(() => loadConfig({ DB_SCHEMA: 'Robert"; DROP' })).toThrow(
      /DB_SCHEMA must be a lower-case SQL identifier/,
    );
    expect(() => loadConfig({ RECON_MAX_INVALID_RATE: '5%' })).toThrow(/RECON_MAX_INVALID_RATE/);
  });

  it.each([
    ['STRIPE_API_BASE_URL', 'STRIPE_API_KEY'],
    ['PAYPAL_API_BASE_URL', 'PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET'],
    ['SQUARE_API_BASE_URL', 'SQUARE_ACCESS_TOKEN'],
    ['INTERNAL_API_BASE_URL', 'INTERNAL_API_TOKEN'],
  ])('refuses credentials in %s (they would be stored as the source location)', (name, use) => {
    const env = { [name]: 'https://svc-user:url-secret-pw@api.example.com/base?x=1' };
    expect(() => loadConfig(env)).toThrow(
      new ConfigError(`${name} must not contain credentials (user:password@); use ${use}`),
    );
  });

  it('refuses credentials in AWS_S3_ENDPOINT', () => {
    expect(() =>
      loadDeliveryConfig({ AWS_S3_ENDPOINT: 'http://minio:minio-secret-pw@127.0.0.1:9000' }),
    ).toThrow(
      new ConfigError(
        'AWS_S3_ENDPOINT must not contain credentials (user:password@); use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      ),
    );
  });

  it('rejects an unknown time zone as a configuration error naming it', () => {
    expect(() => loadConfig({ RECON_TIMEZONE: 'Mars/Olympus' })).toThrow(
      new ConfigError(
        'RECON_TIMEZONE must be an IANA time zone (e.g. UTC, America/New_York), got "Mars/Olympus"',
      ),
    );
    expect(loadConfig({ RECON_TIMEZONE: 'America/New_York' }).timeZone).toBe('America/New_York');
  });
});

describe('loadConfig reports every problem at once, in plain words', () => {
  const bad = {
    SMTP_SERVER: 'smtp.internal',
    OPERATIONS_EMAIL: 'ops@example.com',
    SMTP_PORT: 'abc',
    RECON_EMAIL_ON: 'sometimes',
    AWS_S3_BUCKET_NAME: 'reports',
    AWS_S3_SSE: 'bogus',
    DB_HOST: 'db',
    DB_PORT: '0',
    RECON_ENCODING: 'ebcdic',
  };

  function problemsOf(env: NodeJS.ProcessEnv): { message: string; problems: readonly string[] } {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return { message: error.message, problems: error.problems };
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('lists every bad setting, one sentence each with the value it had', () => {
    const problems = [
      'DB_PORT must be a port number from 1 to 65535, got "0"',
      'RECON_ENCODING must be one of utf-8, latin1, windows-1252, got "ebcdic"',
      'AWS_S3_SSE must be one of AES256, aws:kms, none, got "bogus"',
      'SMTP_PORT must be a whole number, got "abc"',
      'RECON_EMAIL_ON must be one of always, discrepancies, failures, got "sometimes"',
    ];
    expect(problemsOf(bad)).toEqual({ message: problems.join('\n'), problems });
  });

  it('keeps the first problem as the one-line description, and every problem as its lines', () => {
    let caught: unknown;
    try {
      loadConfig(bad);
    } catch (error) {
      caught = error;
    }
    expect([describeError(caught), describeErrorLines(caught).length]).toEqual([
      'DB_PORT must be a port number from 1 to 65535, got "0"',
      5,
    ]);
  });

  it('adds the problems of files and URLs to those of the schema', () => {
    const problems = problemsOf({
      SMTP_PORT: 'abc',
      DATABASE_URL: 'mysql://u@h/db',
      DB_SSLROOTCERT: '/nonexistent/root.crt',
      RECON_COMPARE_AMOUNT: 'tare',
      RECON_REPORTING_CURRENCY: 'USD',
    }).problems;
    expect(problems).toEqual([
      'SMTP_PORT must be a whole number, got "abc"',
      "environment variable DB_SSLROOTCERT: file '/nonexistent/root.crt' cannot be read: no such file (ENOENT)",
      'environment variable DATABASE_URL must start with postgres:// or postgresql://',
      'RECON_COMPARE_AMOUNT must be gross, net, fee or FORMAT=FIELD pairs separated by commas (formats: stripe-balance-report, paypal-activity, paypal-stl, adyen-settlement-detail), got "tare"',
      'RECON_REPORTING_CURRENCY needs RECON_FX_RATES_FILE, a CSV file currency,rate,as_of',
    ]);
  });

  it('never shows the value of a secret setting or of a URL with credentials', () => {
    const problems = problemsOf({
      STRIPE_API_BASE_URL: 'https://user:url-secret-pw@api.example.com',
      AWS_S3_ENDPOINT: 'not a url at all secret-ish',
      SMTP_DEADLINE_MS: 'soon',
    }).problems;
    expect(problems).toEqual([
      'STRIPE_API_BASE_URL must not contain credentials (user:password@); use STRIPE_API_KEY',
      'AWS_S3_ENDPOINT must be a URL (e.g. https://api.example.com), got "not a url at all secret-ish"',
      'SMTP_DEADLINE_MS must be a whole number, got "soon"',
    ]);
    expect(quotedValue('DB_PASSWORD', 'hunter2-hunter2')).toBe('');
    expect(quotedValue('SMTP_PORT', 'x'.repeat(100))).toBe(`, got "${'x'.repeat(80)}…"`);
  });
});

describe('exit codes', () => {
  it('maps each error class to its documented exit code', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ConfigError('x'))).toBe(2);
    expect(exitCodeFor(new NotFoundError('x'))).toBe(2);
    expect(exitCodeFor(new DependencyUnavailableError('database', 'x'))).toBe(3);
    expect(exitCodeFor(new InputRejectedError('x', { location: 'f.csv' }))).toBe(4);
    expect(exitCodeFor(new RunInProgressError('2025-09-30', 'stripe'))).toBe(5);
    expect(exitCodeFor(new ReconError('INTERNAL', 'x'))).toBe(1);
    expect(exitCodeFor(new TypeError('bug'))).toBe(1);
  });
});

describe('TLS to PostgreSQL', () => {
  const base = { schema: 'public', connectTimeoutMs: 1, statementTimeoutMs: 1, poolSize: 1 };

  it('reads DB_SSLMODE and DB_SSLROOTCERT (a file that must exist)', () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'recon-ca-')), 'rds.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');
    const config = loadConfig({
      DB_HOST: 'db',
      DB_SSLMODE: 'verify-full',
      DB_SSLROOTCERT: caFile,
    });
    expect(config.database).toMatchObject({
      settings: { sslMode: 'verify-full', sslRootCert: caFile },
    });
    expect(() => loadConfig({ DB_SSLMODE: 'prefer-maybe' })).toThrow(/DB_SSLMODE/);
  });

  it('maps sslmode words to the pg driver: require encrypts without checking, verify-full checks', () => {
    expect(sslConfig({ ...base })).toBeUndefined();
    expect(sslConfig({ ...base, sslMode: 'disable' })).toBe(false);
    expect(sslConfig({ ...base, sslMode: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(sslConfig({ ...base, sslMode: 'verify-full' })).toEqual({
      rejectUnauthorized: true,
      ca: undefined,
    });
    const verifyCa = sslConfig({ ...base, sslMode: 'verify-ca' }) as {
      rejectUnauthorized: boolean;
      checkServerIdentity: () => undefined;
    };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
  });
});

describe('business-day cut-offs (RECON_CUTOFF_*)', () => {
  it('defaults every side to the calendar day in RECON_TIMEZONE', () => {
    expect(loadConfig({ RECON_TIMEZONE: 'Europe/Berlin' }).cutoffs).toEqual({
      ledger: { zone: 'Europe/Berlin', minutes: 0 },
      processors: {},
      fallback: { zone: 'Europe/Berlin', minutes: 0 },
    });
  });

  it('reads the ledger and per-processor cut-offs', () => {
    expect(
      loadConfig({
        RECON_CUTOFF_SQUARE: 'America/Los_Angeles 17:00',
        RECON_CUTOFF_STRIPE: 'UTC 00:00',
        RECON_CUTOFF_LEDGER: 'America/New_York 23:30',
      }).cutoffs,
    ).toEqual({
      ledger: { zone: 'America/New_York', minutes: 1410 },
      processors: {
        square: { zone: 'America/Los_Angeles', minutes: 1020 },
        stripe: { zone: 'UTC', minutes: 0 },
      },
      fallback: { zone: 'UTC', minutes: 0 },
    });
  });

  it('lists every bad cut-off with the other problems, and an unknown side', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({
        RECON_CUTOFF_SQUARE: 'America/Los_Angeles 5pm',
        RECON_CUTOFF_LEDGER: 'Mars/Olympus 17:00',
        RECON_CUTOFF_STRIPEE: 'UTC 00:00',
        SMTP_PORT: 'abc',
      });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect([...problems].sort()).toEqual(
      [
        'SMTP_PORT must be a whole number, got "abc"',
        'RECON_CUTOFF_SQUARE must be "<IANA time zone> <HH:MM>" (e.g. "America/Los_Angeles 17:00"), got "America/Los_Angeles 5pm"',
        "RECON_CUTOFF_LEDGER: 'Mars/Olympus' is not an IANA time zone (e.g. UTC, Europe/Berlin)",
        'RECON_CUTOFF_STRIPEE names no known side: use RECON_CUTOFF_LEDGER, RECON_CUTOFF_STRIPE, RECON_CUTOFF_PAYPAL, RECON_CUTOFF_SQUARE, RECON_CUTOFF_ADYEN',
      ].sort(),
    );
  });
});
