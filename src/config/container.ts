import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** `RECON_CONTAINER`: `auto` detects a container; `yes` / `no` say so (e.g. to silence a warning). */
export type ContainerMode = 'auto' | 'yes' | 'no';

/** What detection reads from the host: files and the environment (injectable for tests). */
export interface HostProbe {
  readonly env: NodeJS.ProcessEnv;
  /** The file's text, or `undefined` when it does not exist or cannot be read. */
  readText(path: string): string | undefined;
}

/** The real host: `process.env` and the file system. */
export const REAL_HOST: HostProbe = {
  env: process.env,
  readText: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/** cgroup v1 paths of container runtimes in `/proc/1/cgroup`. */
const CGROUP_RUNTIMES = /\/(docker|kubepods|containerd|libpod|lxc|ecs)[/-]/;

/**
 * Why recon believes it runs in a container, or `null`: Docker's `/.dockerenv`, Podman's
 * `/run/.containerenv`, Kubernetes' `KUBERNETES_SERVICE_HOST`, or a runtime's path in
 * `/proc/1/cgroup` (cgroup v1; under cgroup v2 it shows `0::/`, hence the marker files first).
 * `mode` `yes` / `no` (RECON_CONTAINER) replaces detection.
 */
export function containerEvidence(mode: ContainerMode, probe: HostProbe): string | null {
  if (mode === 'no') return null;
  if (mode === 'yes') return 'RECON_CONTAINER=yes';
  for (const marker of ['/.dockerenv', '/run/.containerenv']) {
    if (probe.readText(marker) !== undefined) return marker;
  }
  if (probe.env.KUBERNETES_SERVICE_HOST) return 'KUBERNETES_SERVICE_HOST';
  if (CGROUP_RUNTIMES.test(probe.readText('/proc/1/cgroup') ?? '')) return '/proc/1/cgroup';
  return null;
}

/**
 * The mount point (other than `/`) holding `path`, from `/proc/self/mountinfo` (field 5 of each
 * line, see proc(5)); `null` when only the root file system holds it or mountinfo is unreadable.
 * Inside a container such a mount is a volume or a bind mount.
 */
export function volumeMountOf(path: string, probe: HostProbe): string | null {
  const absolute = resolve(path);
  let best: string | null = null;
  for (const line of (probe.readText('/proc/self/mountinfo') ?? '').split('\n')) {
    // Octal escapes (\040 for a space) in mount points, as the kernel writes them.
    const mountPoint = line
      .split(' ')[4]
      ?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (!mountPoint || mountPoint === '/') continue;
    const inside = absolute === mountPoint || absolute.startsWith(`${mountPoint}/`);
    if (inside && (best === null || mountPoint.length > best.length)) best = mountPoint;
  }
  return best;
}

/** The one-line warning for the embedded database used inside a container (see `containerEvidence`). */
export function embeddedDatabaseWarning(
  dataDir: string,
  evidence: string,
  volume: string | null,
): string {
  const where = `embedded database (PGlite) at ${dataDir} inside a container (${evidence})`;
  const fix = 'set DATABASE_URL to a PostgreSQL server (or RECON_CONTAINER=no to silence this)';
  return volume === null
    ? `${where} and not on a volume: run history, gaps and trends are lost with the container; ${fix}`
    : `${where}, on the volume ${volume}: run history, gaps and trends live only there and are lost with an anonymous or removed volume; ${fix}`;
}
