import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/domain/errors';
import { checkConnectionUrl, maskConnectionUrl } from '../../src/store/connection-url';
import { sslConfig } from '../../src/store/postgres-database';
import { ROOT, runCli } from '../helpers/cli';
import { TEST_DATABASE_URL } from '../helpers/databases';
import { stderrMessages } from '../helpers/one-line-error';

const PASSWORD = 's3cret-Pw';
const SAMPLES = join(ROOT, 'data', 'samples');

describe('configuration mistakes exit 2 with one line naming the variable (built CLI)', () => {
  let work = '';
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'recon-faults-config-'));
    mkdirSync(join(work, 'a-directory'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'a DATABASE_URL whose port is not a number',
      { DATABASE_URL: `postgres://app:${PASSWORD}@db.internal:notaport/recon` },
      /^recon: environment variable DATABASE_URL is not a valid connection URL: port 'notaport' is not a number from 1 to 65535 \(postgres:\/\/app:\[REDACTED\]@db\.internal:notaport\/recon\)$/,
    ],
    [
      'a DATABASE_URL whose port is out of range',
      { DATABASE_URL: `postgres://app:${PASSWORD}@db.internal:99999/recon` },
      /^recon: environment variable DATABASE_URL is not a valid connection URL: port '99999' is not a number from 1 to 65535/,
    ],
    [
      'a DATABASE_URL with an out-of-range ?port= (it used to exit 0 without a word)',
      { DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1/recon?port=99999` },
      /^recon: environment variable DATABASE_URL is not a valid connection URL: port '99999' is not a number from 1 to 65535/,
    ],
    [
      'a DATABASE_URL with a broken host',
      { DATABASE_URL: `postgres://app:${PASSWORD}@[db/recon` },
      /^recon: environment variable DATABASE_URL is not a valid connection URL \(expected postgres:\/\/HOST:PORT\/DATABASE with USER and PASSWORD before the host, special characters percent-encoded\): postgres:\/\/app:\[REDACTED\]@\[db\/recon$/,
    ],
    [
      'a DATABASE_URL with an unknown sslmode',
      { DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:5432/recon?sslmode=bogus` },
      /^recon: environment variable DATABASE_URL: sslmode 'bogus' must be one of disable, prefer, require, verify-ca, verify-full, no-verify$/,
    ],
    [
      'a DATABASE_URL naming a missing sslrootcert file',
      {
        DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:5432/recon?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`,
      },
      /^recon: environment variable DATABASE_URL: sslrootcert file '\/nonexistent\/ca\.pem' cannot be read: no such file \(ENOENT\)$/,
    ],
    [
      'a missing DB_SSLROOTCERT file',
      {
        DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:5432/recon`,
        DB_SSLMODE: 'verify-full',
        DB_SSLROOTCERT: '/nonexistent/root.crt',
      },
      /^recon: environment variable DB_SSLROOTCERT: file '\/nonexistent\/root\.crt' cannot be read: no such file \(ENOENT\)$/,
    ],
    [
      'a DB_SSLROOTCERT that is a directory',
      { DB_HOST: '127.0.0.1', DB_SSLMODE: 'verify-ca', DB_SSLROOTCERT: '<work>/a-directory' },
      /^recon: environment variable DB_SSLROOTCERT: file '.*\/a-directory' cannot be read: it is a directory$/,
    ],
    [
      'a DB_PORT out of range (it used to exit 0 without a word)',
      { DB_HOST: '127.0.0.1', DB_PORT: '99999' },
      /^recon: DB_PORT must be a port number from 1 to 65535, got "99999"$/,
    ],
    [
      'a DB_PORT that is not a number',
      { DB_HOST: '127.0.0.1', DB_PORT: 'fivefourthreetwo' },
      /^recon: DB_PORT must be a whole number, got "fivefourthreetwo"$/,
    ],
    [
      'a DB_POOL_SIZE of 0',
      { DB_HOST: '127.0.0.1', DB_POOL_SIZE: '0' },
      /^recon: DB_POOL_SIZE must be at least 1, got "0"$/,
    ],
    [
      'a DB_CONNECT_TIMEOUT_MS of 0 (pg would wait forever)',
      { DB_HOST: '127.0.0.1', DB_CONNECT_TIMEOUT_MS: '0' },
      /^recon: DB_CONNECT_TIMEOUT_MS must be at least 1, got "0"$/,
    ],
    [
      'a timeout beyond what a Node timer holds (it would fire at once)',
      { HTTP_REQUEST_TIMEOUT_MS: '99999999999' },
      /^recon: HTTP_REQUEST_TIMEOUT_MS must be at most 2147483647, got "99999999999"$/,
    ],
  ];

  it.each(cases)('%s', async (_name, rawEnv, message) => {
    const env = Object.fromEntries(
      Object.entries(rawEnv).map(([k, v]) => [k, v.replace('<work>', work)]),
    );
    const reports = join(work, `reports-${Math.random().toString(36).slice(2)}`);
    const pglite = join(work, 'pg', 'data');
    const result = await runCli(
      [
        'run',
        '--date',
        '2025-09-30',
        '--processors',
        'stripe',
        '--data-dir',
        SAMPLES,
        '--reports-dir',
        reports,
      ],
      { ...env, RECON_PGLITE_DIR: pglite },
      work,
    );
    const { lines, stackTrace } = stderrMessages(result);
    expect({ code: result.code, count: lines.length, stackTrace }).toEqual({
      code: 2,
      count: 1,
      stackTrace: false,
    });
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toContain(PASSWORD);
    expect(result.stdout).toBe('');
    // Stopped before any side effect: no report folder, no embedded database created.
    expect([existsSync(reports), existsSync(pglite)]).toEqual([false, false]);
  });
});

describe('a delivery setting that is wrong stops recon run before any run is stored', () => {
  it('exits 2 for a non-numeric SMTP_PORT with no run stored and no report written', async () => {
    const work = mkdtempSync(join(tmpdir(), 'recon-faults-config-smtp-'));
    try {
      const pglite = join(work, 'pg', 'data');
      const reports = join(work, 'reports');
      const result = await runCli(
        [
          'run',
          '--date',
          '2025-09-30',
          '--processors',
          'stripe',
          '--data-dir',
          SAMPLES,
          '--reports-dir',
          reports,
        ],
        { RECON_PGLITE_DIR: pglite, SMTP_SERVER: 'smtp.internal', SMTP_PORT: 'twenty-five' },
        work,
      );
      expect([result.code, stderrMessages(result).lines]).toEqual([
        2,
        ['recon: SMTP_PORT must be a whole number, got "twenty-five"'],
      ]);
      expect([existsSync(reports), existsSync(pglite)]).toEqual([false, false]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

const describeServer = TEST_DATABASE_URL ? describe : describe.skip;
if (!TEST_DATABASE_URL)
  console.warn(
    'config-errors faults: PostgreSQL server case SKIPPED: TEST_DATABASE_URL is not set',
  );

describeServer(
  'TLS asked of a server without TLS (TEST_DATABASE_URL, a server without SSL)',
  () => {
    it('exits 2 naming DB_SSLMODE, not 1 with the driver error', async () => {
      const work = mkdtempSync(join(tmpdir(), 'recon-faults-config-tls-'));
      try {
        const result = await runCli(
          ['runs', 'list'],
          {
            DATABASE_URL: TEST_DATABASE_URL ?? '',
            DB_SSLMODE: 'require',
          },
          work,
        );
        const { lines, stackTrace } = stderrMessages(result);
        if (result.code === 0) {
          console.warn(
            'config-errors faults: the test server accepts TLS; TLS-refused case not exercised',
          );
          return;
        }
        expect({ code: result.code, lines: lines.length, stackTrace }).toEqual({
          code: 2,
          lines: 1,
          stackTrace: false,
        });
        expect(lines[0]).toMatch(
          /^recon: database 127\.0\.0\.1:5432\/\S+ does not accept TLS connections, but DB_SSLMODE or sslmode in DATABASE_URL asks for TLS/,
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  },
);

describe('the store reads the CA file with a ConfigError, not a raw ENOENT', () => {
  it('names DB_SSLROOTCERT when the file went missing after the configuration was loaded', () => {
    const settings = {
      host: '127.0.0.1',
      schema: 'public',
      connectTimeoutMs: 1000,
      statementTimeoutMs: 1000,
      poolSize: 1,
      sslMode: 'verify-full' as const,
      sslRootCert: '/nonexistent/root.crt',
    };
    expect(() => sslConfig(settings)).toThrow(
      new ConfigError(
        "environment variable DB_SSLROOTCERT: file '/nonexistent/root.crt' cannot be read: no such file (ENOENT)",
      ),
    );
  });

  it('loadConfig keeps a valid URL and a readable CA file as they are', () => {
    const ca = join(ROOT, 'package.json'); // any readable file: the check is about reading it
    const config = loadConfig({
      DATABASE_URL: `postgres://app:${PASSWORD}@db.internal:6432/recon?sslmode=require`,
      DB_SSLMODE: 'verify-ca',
      DB_SSLROOTCERT: ca,
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      settings: {
        connectionString: `postgres://app:${PASSWORD}@db.internal:6432/recon?sslmode=require`,
        schema: 'public',
        connectTimeoutMs: 5000,
        statementTimeoutMs: 300000,
        poolSize: 4,
        sslMode: 'verify-ca',
        sslRootCert: ca,
      },
    });
  });
});

describe('checkConnectionUrl and maskConnectionUrl', () => {
  it('accepts valid URLs, an @ in the query and a socket host included', () => {
    const valid = [
      'postgres://app:p%40ss@db.internal:5432/recon',
      'postgresql://app@127.0.0.1/recon?application_name=a@b:c',
      'postgres://app:pw@/recon?host=/var/run/postgresql',
      'postgres://app:pw@[::1]:6432/recon?sslmode=verify-full',
      'postgres://db.internal/recon',
    ];
    expect(
      valid.filter((url) => {
        try {
          checkConnectionUrl(url);
          return false;
        } catch {
          return true;
        }
      }),
    ).toEqual([]);
  });

  it('masks the password, an unencoded @ in it and a password= parameter', () => {
    expect(
      [
        `postgres://app:${PASSWORD}@db/recon`,
        `postgres://app:${PASSWORD}@more@db:5432/recon`,
        `postgres://app@db/recon?password=${PASSWORD}&sslmode=require`,
        'postgres://db/recon',
      ].map(maskConnectionUrl),
    ).toEqual([
      'postgres://app:[REDACTED]@db/recon',
      'postgres://app:[REDACTED]@db:5432/recon',
      'postgres://app@db/recon?password=[REDACTED]&sslmode=require',
      'postgres://db/recon',
    ]);
  });

  it('never prints the password when the text after it is not a port', () => {
    expect(() => checkConnectionUrl(`postgres://app:${PASSWORD}:x@db:5x/recon`)).toThrow(
      "environment variable DATABASE_URL is not a valid connection URL: port '5x' is not a number from 1 to 65535 (postgres://app:[REDACTED]@db:5x/recon)",
    );
  });
});
