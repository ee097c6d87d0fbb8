import {
  containerEvidence,
  embeddedDatabaseWarning,
  volumeMountOf,
  type HostProbe,
} from '../../src/config/container';

/** A host made of the given files (path → content) and environment. */
function host(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): HostProbe {
  return {
    env,
    readText: (path) => files[path],
  };
}

// Two lines of a real /proc/self/mountinfo (Docker, overlay root and one named volume).
const MOUNTINFO =
  '612 540 0:52 / / rw,relatime master:236 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n' +
  '640 612 8:1 /var/lib/docker/volumes/recon_state/_data /app/.recon rw,relatime - ext4 /dev/sda1 rw\n';

describe('containerEvidence', () => {
  it('finds Docker by /.dockerenv, Podman by /run/.containerenv, Kubernetes by its variable', () => {
    expect(containerEvidence('auto', host({ '/.dockerenv': '' }))).toBe('/.dockerenv');
    expect(containerEvidence('auto', host({ '/run/.containerenv': '' }))).toBe(
      '/run/.containerenv',
    );
    expect(containerEvidence('auto', host({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }))).toBe(
      'KUBERNETES_SERVICE_HOST',
    );
  });

  it('finds a container runtime in /proc/1/cgroup (cgroup v1 paths)', () => {
    expect(
      containerEvidence('auto', host({ '/proc/1/cgroup': '12:memory:/docker/3f2a9c\n' })),
    ).toBe('/proc/1/cgroup');
    expect(
      containerEvidence('auto', host({ '/proc/1/cgroup': '0::/kubepods/burstable/pod1/abc\n' })),
    ).toBe('/proc/1/cgroup');
  });

  it('finds nothing on a plain host, and obeys RECON_CONTAINER=yes|no over detection', () => {
    const plain = host({ '/proc/1/cgroup': '0::/init.scope\n' });
    expect(containerEvidence('auto', plain)).toBeNull();
    expect(containerEvidence('yes', plain)).toBe('RECON_CONTAINER=yes');
    expect(containerEvidence('no', host({ '/.dockerenv': '' }))).toBeNull();
  });
});

describe('volumeMountOf', () => {
  it('names the mount that holds a path, or null when only the root file system does', () => {
    const probe = host({ '/proc/self/mountinfo': MOUNTINFO });
    expect(volumeMountOf('/app/.recon/pgdata', probe)).toBe('/app/.recon');
    expect(volumeMountOf('/app/state/pgdata', probe)).toBeNull();
    expect(volumeMountOf('/app/.recon-other', probe)).toBeNull();
    expect(volumeMountOf('/app/.recon/pgdata', host({}))).toBeNull();
  });
});

describe('embeddedDatabaseWarning', () => {
  it('says the history is lost with the container when the directory is not on a volume', () => {
    expect(embeddedDatabaseWarning('/app/state/pgdata', '/.dockerenv', null)).toBe(
      'embedded database (PGlite) at /app/state/pgdata inside a container (/.dockerenv) and not ' +
        'on a volume: run history, gaps and trends are lost with the container; set DATABASE_URL ' +
        'to a PostgreSQL server (or RECON_CONTAINER=no to silence this)',
    );
  });

  it('says an anonymous or removed volume loses it too when the directory is on a volume', () => {
    expect(
      embeddedDatabaseWarning('/app/.recon/pgdata', 'KUBERNETES_SERVICE_HOST', '/app/.recon'),
    ).toBe(
      'embedded database (PGlite) at /app/.recon/pgdata inside a container ' +
        '(KUBERNETES_SERVICE_HOST), on the volume /app/.recon: run history, gaps and trends ' +
        'live only there and are lost with an anonymous or removed volume; set DATABASE_URL ' +
        'to a PostgreSQL server (or RECON_CONTAINER=no to silence this)',
    );
  });
});
