import { spawnSync } from 'node:child_process';

/** The RabbitMQ broker tests use (`.ci/run` starts it): 127.0.0.1:5672, guest/guest. */
export const BROKER = { host: '127.0.0.1', port: 5672, user: 'guest', password: 'guest' };

/**
 * Whether the broker accepts TCP connections (checked once, synchronously, so that a test file
 * can choose `describe` or `describe.skip`). Prints why broker tests are skipped when it does not.
 */
export function brokerAvailable(): boolean {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').connect(${BROKER.port}, '${BROKER.host}');
       s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1));
       setTimeout(() => process.exit(1), 1500);`,
    ],
    { timeout: 5000 },
  );
  const up = probe.status === 0;
  if (!up)
    console.warn(
      `SKIPPED broker tests: no RabbitMQ at ${BROKER.host}:${BROKER.port} (start it with 'rabbitmq-server -detached'; .ci/run does)`,
    );
  return up;
}
