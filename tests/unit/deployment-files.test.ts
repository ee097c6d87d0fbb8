import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/**
 * The container and deployment files (Dockerfile, docker-compose.yml, docs/deploy/*) cannot be
 * exercised here (no Docker engine, no cluster): these tests check what can be checked statically,
 * and that every environment variable the code reads is documented.
 */

const root = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

type Json = Record<string, unknown>;

/** Narrows an unknown YAML/JSON value to an object, failing the test with `what` otherwise. */
function obj(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a mapping: ${JSON.stringify(value)}`);
  }
  return value as Json;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list: ${JSON.stringify(value)}`);
  return value;
}

// ---- Dockerfile ---------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** 0-based index of the build stage (FROM) the instruction belongs to. */
  readonly stage: number;
}

/** Splits a Dockerfile into instructions: comment lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), stage });
  }
  return instructions;
}

/** Every rule of dockerfile-utils that is configurable, raised to an error. */
const STRICT_LINT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

const lint = (text: string): string[] =>
  validate(text, STRICT_LINT).map(
    (d) =>
      `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
  );

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const instructions = parseDockerfile(text);
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const finalStage = stages.length - 1;
  const inFinal = instructions.filter((i) => i.stage === finalStage);
  const inBuild = instructions.filter((i) => i.stage === 0);
  const runs = (list: Instruction[]): string =>
    list
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .join('\n');

  it('passes the dockerfile-utils linter with every rule as an error', () => {
    expect(lint(text)).toEqual([]);
  });

  it('lint reports a malformed Dockerfile (the check above can fail)', () => {
    const broken = 'FROM node:20\nHEALTHCHECK --interval=5x CMD true\nCOPY only-one-arg\n';
    expect(lint(broken)).toEqual([
      expect.stringContaining('unknown unit x'),
      expect.stringContaining('COPY requires at least two arguments'),
    ]);
  });

  it('builds in a named stage with dev dependencies and runs on node:26-trixie-slim (LTS)', () => {
    expect(stages.map((s) => s.args)).toEqual([
      'node:26-trixie-slim AS build',
      'node:26-trixie-slim AS runtime',
    ]);
    expect(runs(inBuild)).toMatch(/\bnpm ci\b/);
    expect(runs(inBuild)).not.toMatch(/--omit=dev/);
    expect(runs(inBuild)).toMatch(/\bnpm run build\b/);
  });

  it('copies into the build stage every folder the build compiles', () => {
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    const copied = inBuild.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const folder of buildConfig.include) {
      expect(copied).toContainEqual(expect.stringMatching(new RegExp(`^${folder} `)));
    }
  });

  it('installs only production dependencies, without scripts, and cleans the npm cache', () => {
    const installs = runs(inFinal);
    expect(installs).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(installs).toMatch(/npm cache clean --force/);
    expect(installs).not.toMatch(/npm (install|i) /);
  });

  it('installs one system package, the font of the e-mail chart, without recommends or apt lists', () => {
    const apt = runs(inFinal)
      .split('\n')
      .filter((run) => run.includes('apt-get'));
    expect(apt).toEqual([
      'apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*',
    ]);
    expect(read('src/delivery/trend-chart.ts')).toContain(
      "'/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'",
    );
  });

  it('may skip install scripts: no production dependency has one', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !entry.dev && entry.hasInstallScript)
      .map(([path]) => path);
    expect(withScripts).toEqual([]);
  });

  it('ships dist, the launcher, setup.sql and the manifests, not the sources', () => {
    const copies = inFinal.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual(
      expect.arrayContaining([
        'package.json package-lock.json ./',
        '--from=build /src/dist ./dist',
        'bin ./bin',
        'setup.sql ./',
      ]),
    );
    expect(copies.join('\n')).not.toMatch(/\bsrc\b(?!\/dist)/);
    expect(runs(inFinal)).toContain('ln -s /app/bin/recon /usr/local/bin/recon');
  });

  it('runs as a numeric non-root user that owns the report and state volumes', () => {
    const users = inFinal.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users).toEqual(['10001:10001']);
    expect(runs(inFinal)).toMatch(/useradd --system --uid 10001/);
    expect(runs(inFinal)).toMatch(/chown recon:recon \/app\/local_reports \/app\/.recon/);
    const volume = inFinal.find((i) => i.keyword === 'VOLUME');
    expect(JSON.parse(volume?.args ?? 'null')).toEqual(['/app/local_reports', '/app/.recon']);
    const userIndex = inFinal.findIndex((i) => i.keyword === 'USER');
    const entrypointIndex = inFinal.findIndex((i) => i.keyword === 'ENTRYPOINT');
    expect(userIndex).toBeGreaterThan(-1);
    expect(userIndex).toBeLessThan(entrypointIndex);
  });

  it('has WORKDIR /app, ENTRYPOINT recon, CMD run and a HEALTHCHECK on recon health', () => {
    const only = (keyword: string): string[] =>
      inFinal.filter((i) => i.keyword === keyword).map((i) => i.args);
    expect(only('WORKDIR')).toEqual(['/app']);
    expect(only('ENTRYPOINT').map((a) => JSON.parse(a) as unknown)).toEqual([['recon']]);
    expect(only('CMD').map((a) => JSON.parse(a) as unknown)).toEqual([['run']]);
    // Liveness only (the database): the full `recon health` calls every API, S3 and SMTP and is
    // for operators. `recon health` exits 3 when a dependency is down; Docker only knows 0 and 1.
    expect(only('HEALTHCHECK')).toEqual([
      '--interval=1m --timeout=15s --start-period=30s --retries=3 CMD recon health --liveness || exit 1',
    ]);
  });

  it('the package keeps supporting Node 20.12+, which the image (Node 26) satisfies', () => {
    const manifest = JSON.parse(read('package.json')) as { engines?: { node?: string } };
    expect(manifest.engines).toEqual({ node: '>=20.12' });
    const imageMajor = Number(/^node:(\d+)-/.exec(stages[finalStage]?.args ?? '')?.[1]);
    expect(imageMajor).toBeGreaterThanOrEqual(20);
    // CI runs the tests on the machine's Node: the oldest supported line stays tested.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  });

  it('keeps recon a single process: the launcher spawns nothing', () => {
    const launcher = read('bin/recon');
    expect(launcher).not.toMatch(/child_process|spawn/);
    expect(launcher).toContain("require('../dist/src/cli/main.js').main(");
  });

  it('keeps secrets, state and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining([
        'node_modules',
        'dist',
        '.git',
        'local_reports/*',
        '.recon',
        'bench-data',
        'coverage',
        '.env',
      ]),
    );
  });
});

// ---- docker-compose.yml -------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const compose = obj(parseYaml(read('docker-compose.yml'), { merge: true }), 'compose file');
  const services = obj(compose.services, 'services');
  const service = (name: string): Json => obj(services[name], `service ${name}`);
  const declaredVolumes = Object.keys(obj(compose.volumes, 'volumes'));
  /** A volume entry with `${VAR:-default}` replaced by its default, as compose does when unset. */
  const withDefaults = (entry: unknown): string =>
    String(entry).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

  it('has db, app, scheduler and pgadmin, with pgadmin only under the tools profile', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'db', 'pgadmin', 'scheduler']);
    expect(service('pgadmin').profiles).toEqual(['tools']);
    for (const name of ['db', 'app', 'scheduler']) expect(service(name).profiles).toBeUndefined();
  });

  it('initialises PostgreSQL 15 from setup.sql on a named volume, with a pg_isready healthcheck', () => {
    const db = service('db');
    expect(db.image).toBe('postgres:15');
    const volumes = arr(db.volumes, 'db volumes');
    expect(volumes).toContainEqual('pgdata:/var/lib/postgresql/data');
    expect(volumes).toContainEqual(
      expect.stringMatching(/^\.\/setup\.sql:\/docker-entrypoint-initdb\.d\/[^:]+\.sql:ro$/),
    );
    expect(declaredVolumes).toContain('pgdata');
    const healthcheck = obj(db.healthcheck, 'db healthcheck');
    expect(arr(healthcheck.test, 'db healthcheck test').join(' ')).toMatch(/pg_isready/);
  });

  it('runs app and scheduler from the same image, env from .env, against the db service', () => {
    const app = service('app');
    const scheduler = service('scheduler');
    expect(scheduler.image).toBe(app.image);
    expect(scheduler.build).toBe(app.build);
    for (const s of [app, scheduler]) {
      expect(s.env_file).toBe('.env');
      const environment = obj(s.environment, 'environment');
      // Always the server: without DATABASE_URL a container would use a throw-away embedded one.
      expect(environment).toEqual({
        DATABASE_URL:
          'postgres://${POSTGRES_USER:-recon}:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@db:5432/${POSTGRES_DB:-reconciliation}',
      });
      expect(s.depends_on).toEqual({ db: { condition: 'service_healthy' } });
      // Reports on a named volume by default: Docker creates it from the image's
      // /app/local_reports, owned by uid 10001, so the first run can write. A bind mount
      // (RECON_REPORTS_VOLUME=./local_reports) needs `chown 10001:10001` first (README).
      expect(arr(s.volumes, 'volumes')).toEqual([
        '${RECON_REPORTS_VOLUME:-reports}:/app/local_reports',
        './data:/app/data:ro',
      ]);
      expect(s.user).toBeUndefined();
    }
    expect(app.command).toEqual(['run']);
    expect(scheduler.command).toEqual(['schedule']);
    expect(scheduler.restart).toBe('unless-stopped');
    expect(app.restart).toBe('no');
  });

  it('declares every named volume it mounts', () => {
    const named = Object.values(services)
      .flatMap((s) => (obj(s, 'service').volumes as unknown[] | undefined) ?? [])
      .map((v) => withDefaults(v).split(':')[0] ?? '')
      .filter((source) => !source.startsWith('.') && !source.startsWith('/'));
    expect(named.length).toBeGreaterThan(0);
    expect([...new Set(named)].sort()).toEqual([...declaredVolumes].sort());
    expect(declaredVolumes.sort()).toEqual(['pgadmin', 'pgdata', 'reports']);
  });

  it('the scheduler inherits the image health check (liveness); the one-shot app has none', () => {
    expect(service('scheduler').healthcheck).toBeUndefined();
    expect(service('app').healthcheck).toEqual({ disable: true });
  });

  it('documents every ${VARIABLE} it substitutes in .env.example', () => {
    const used = [...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map(
      (m) => m[1] ?? '',
    );
    expect(used).toContain('POSTGRES_PASSWORD');
    const envExample = read('.env.example');
    const undocumented = [...new Set(used)].filter(
      (name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(envExample),
    );
    expect(undocumented).toEqual([]);
  });
});

// ---- environment variables ----------------------------------------------------------------------

/**
 * Variables the code may read that are not recon settings: set by test runners, CI, Node, the
 * platform (Kubernetes sets KUBERNETES_SERVICE_HOST in every pod) or a convention of terminals
 * (NO_COLOR, https://no-color.org).
 */
const NOT_SETTINGS = new Set([
  'TEST_DATABASE_URL',
  'CI',
  'NODE_OPTIONS',
  'NODE_ENV',
  'KUBERNETES_SERVICE_HOST',
  'NO_COLOR',
]);

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Names of environment variables read by src/ and bin/recon. */
function variablesReadByTheCode(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (name: string | undefined, file: string): void => {
    if (name && !NOT_SETTINGS.has(name) && !found.has(name)) found.set(name, file);
  };
  for (const file of [...filesUnder('src'), 'bin/recon']) {
    const text = read(file);
    // process.env.X, env.X, env['X'], env["X"]
    for (const m of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) {
      add(m[1] ?? m[2], file);
    }
    // Keys of the zod schemas that validate the environment (src/config/*.ts): `  NAME: z…`.
    if (file.startsWith(join('src', 'config'))) {
      for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]+):\s/gm)) add(m[1], file);
    }
  }
  return found;
}

describe('environment variables', () => {
  const variables = variablesReadByTheCode();

  it('are found in the configuration schemas and the CLI', () => {
    // Guards the collection itself: one from each kind of source.
    expect([...variables.keys()]).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'AWS_S3_BUCKET_NAME', 'RECON_SCHEDULE']),
    );
    expect(variables.size).toBeGreaterThan(60);
  });

  it('are all listed in .env.example', () => {
    const envExample = read('.env.example');
    const missing = [...variables]
      .filter(([name]) => !new RegExp(`^#?\\s*${name}=`, 'm').test(envExample))
      .map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it('are all mentioned in README.md', () => {
    const readme = read('README.md');
    const missing = [...variables]
      .filter(([name]) => !new RegExp(`\\b${name}\\b`).test(readme))
      .map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });
});

// ---- docs/deploy --------------------------------------------------------------------------------

describe('docs/deploy', () => {
  it('crontab runs `recon run` without --date under flock, logging to a file', () => {
    const lines = read('docs/deploy/crontab')
      .split('\n')
      .filter((l) => /^[0-9*]/.test(l));
    expect(lines).toHaveLength(1);
    const [minute, hour, dom, month, dow, ...command] = (lines[0] ?? '').split(/\s+/);
    expect([minute, hour, dom, month, dow].every((f) => /^[0-9*,/-]+$/.test(f ?? ''))).toBe(true);
    const commandLine = command.join(' ');
    expect(commandLine).toMatch(/flock -n .*recon run >>\S+\.log 2>&1/);
    expect(commandLine).not.toMatch(/--date/);
    expect(commandLine).not.toContain('%'); // cron would turn it into a newline
  });

  it('Kubernetes CronJob never overlaps, retries boundedly and runs non-root on a read-only fs', () => {
    const docs = parseAllDocuments(read('docs/deploy/kubernetes-cronjob.yaml'));
    for (const d of docs) expect(d.errors).toEqual([]);
    const cronJob = obj(
      docs.map((d) => d.toJS() as unknown).find((d) => obj(d, 'document').kind === 'CronJob'),
      'CronJob',
    );
    expect(cronJob.apiVersion).toBe('batch/v1');
    const spec = obj(cronJob.spec, 'spec');
    expect(spec.concurrencyPolicy).toBe('Forbid');
    expect(spec.startingDeadlineSeconds).toEqual(expect.any(Number));
    const jobSpec = obj(obj(spec.jobTemplate, 'jobTemplate').spec, 'job spec');
    expect(jobSpec.backoffLimit).toEqual(expect.any(Number));
    const podSpec = obj(obj(jobSpec.template, 'template').spec, 'pod spec');
    expect(podSpec.restartPolicy).toBe('Never');
    expect(obj(podSpec.securityContext, 'pod securityContext')).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
    });
    const [container] = arr(podSpec.containers, 'containers').map((c) => obj(c, 'container'));
    expect(container?.name).toBe('recon');
    expect(arr(container?.args, 'args')[0]).toBe('run');
    expect(arr(container?.args, 'args')).not.toContain('--date');
    // DATABASE_URL required from the Secret: a pod without it does not start, instead of
    // reconciling into a throw-away embedded database.
    expect(arr(container?.env, 'env')).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'recon-secrets', key: 'DATABASE_URL', optional: false } },
    });
    const secretRefs = arr(container?.envFrom, 'envFrom')
      .map((source) => obj(source, 'envFrom source').secretRef)
      .filter((ref) => ref !== undefined);
    expect(secretRefs).toEqual([{ name: 'recon-secrets' }]);
    const resources = obj(container?.resources, 'resources');
    const requests = obj(resources.requests, 'requests');
    expect([requests.cpu, requests.memory, obj(resources.limits, 'limits').memory]).toEqual([
      '500m',
      '1Gi',
      '2Gi',
    ]);
    expect(obj(container?.securityContext, 'container securityContext')).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const emptyDirs = arr(podSpec.volumes, 'volumes')
      .map((v) => obj(v, 'volume'))
      .filter((v) => v.emptyDir !== undefined)
      .map((v) => v.name);
    const mounts = arr(container?.volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount'));
    const emptyDirPaths = mounts.filter((m) => emptyDirs.includes(m.name)).map((m) => m.mountPath);
    expect(emptyDirPaths.sort()).toEqual(['/app/local_reports', '/tmp']);
    // FailJob (no retry) for the codes a retry cannot fix; a failed container is named.
    const rules = arr(obj(jobSpec.podFailurePolicy, 'podFailurePolicy').rules, 'rules');
    expect(rules).toContainEqual({
      action: 'FailJob',
      onExitCodes: { containerName: 'recon', operator: 'In', values: [1, 2, 4, 5, 7] },
    });
  });

  it('EventBridge + ECS example is valid JSON: a schedule rule, a RunTask target, a task definition with secrets', () => {
    const aws = obj(JSON.parse(read('docs/deploy/eventbridge-ecs.json')), 'eventbridge-ecs.json');
    const rule = obj(aws.putRule, 'putRule');
    expect(rule.ScheduleExpression).toMatch(/^cron\(.+\)$/);
    const targets = obj(aws.putTargets, 'putTargets');
    expect(targets.Rule).toBe(rule.Name);
    const [target] = arr(targets.Targets, 'Targets').map((t) => obj(t, 'target'));
    expect(target?.Arn).toMatch(/^arn:aws:ecs:[^:]+:\d+:cluster\//);
    const ecs = obj(target?.EcsParameters, 'EcsParameters');
    const taskDefinition = obj(aws.registerTaskDefinition, 'registerTaskDefinition');
    expect(ecs.TaskDefinitionArn).toMatch(
      new RegExp(`:task-definition/${String(taskDefinition.family)}$`),
    );
    const [container] = arr(taskDefinition.containerDefinitions, 'containers').map((c) =>
      obj(c, 'container'),
    );
    expect(container?.command).toEqual(['run', '--source', 'api']);
    expect(container?.readonlyRootFilesystem).toBe(true);
    expect(container?.user).toMatch(/^10001/);
    const secrets = arr(container?.secrets, 'secrets').map((s) => obj(s, 'secret'));
    expect(secrets.map((s) => s.name)).toContain('DATABASE_URL');
    for (const s of secrets) expect(s.valueFrom).toMatch(/^arn:aws:secretsmanager:/);
    // Every variable the task sets is one recon reads: a typo would be silently ignored.
    const variables = variablesReadByTheCode();
    const environment = arr(container?.environment, 'environment').map((e) => obj(e, 'env'));
    const names = [...environment, ...secrets].map((e) => String(e.name));
    expect(names.filter((n) => !variables.has(n))).toEqual([]);
  });

  it('the Kubernetes ConfigMap sets only variables recon reads', () => {
    const docs = parseAllDocuments(read('docs/deploy/kubernetes-cronjob.yaml')).map(
      (d) => d.toJS() as unknown,
    );
    const configMap = obj(
      docs.find((d) => obj(d, 'document').kind === 'ConfigMap'),
      'ConfigMap',
    );
    const variables = variablesReadByTheCode();
    const names = Object.keys(obj(configMap.data, 'data'));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !variables.has(n))).toEqual([]);
  });

  it('README explains the exit codes to alert on and what was not exercised', () => {
    const readme = read('docs/deploy/README.md');
    for (const code of ['0', '1', '2', '3', '4', '5', '6', '7', '143']) {
      expect(readme).toMatch(new RegExp(`^\\| \`${code}\``, 'm'));
    }
    expect(readme).toMatch(/not built/i);
  });
});
