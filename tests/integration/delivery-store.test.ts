import type { Database } from '../../src/store/database';
import { DeliveryStore, type FailedDelivery } from '../../src/store/delivery-store';
import { openDatabase } from '../../src/store/open-store';
import { testBackends } from '../helpers/databases';

if (!process.env.TEST_DATABASE_URL) {
  console.warn('delivery-store: TEST_DATABASE_URL is unset, so only PGlite is tested (no server)');
}

const csvKey = (run: string): string => `reports/2025-09-30/stripe/${run}/report.csv`;
const jsonKey = (run: string): string => `reports/2025-09-30/stripe/${run}/report.json`;

describe.each(testBackends())('failed deliveries still owed on $name', (backend) => {
  let db: Database;
  let store: DeliveryStore;
  const names = new Map<string, string>();

  beforeAll(async () => {
    db = await openDatabase(await backend.config(), { initialise: true });
    store = new DeliveryStore(() => Promise.resolve(db));
  });

  afterAll(async () => {
    await db.close();
    await backend.cleanup();
  });

  /** A run named `name` for its own business date, with `status`. */
  async function run(name: string, day: number, status = 'completed'): Promise<string> {
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO reconciliation_runs (run_date, processor_name, status, error_message)
       VALUES ($1::date, 'stripe', $2, $3) RETURNING id::text AS id`,
      [`2025-09-${String(day).padStart(2, '0')}`, status, status === 'failed' ? 'boom' : null],
    );
    const id = row?.id ?? '';
    names.set(id, name);
    return id;
  }

  /** A delivery attempt at a fixed UTC time. */
  const attempt = (
    runId: string,
    channel: 's3' | 'email',
    status: 'sent' | 'failed',
    target: string,
    at: string,
  ) =>
    db.query(
      `INSERT INTO deliveries (run_id, channel, status, target, error_message, attempted_at)
       VALUES ($1, $2, $3, $4, $5, $6::timestamptz)`,
      [runId, channel, status, target, status === 'failed' ? `${channel} down` : null, at],
    );

  const named = (list: FailedDelivery[]) =>
    list.map((d) => ({ ...d, runId: names.get(d.runId) ?? d.runId }));

  it('lists, oldest failure first, each completed run’s channel and target whose latest attempt failed since the date', async () => {
    const a = await run('a', 1);
    await attempt(a, 's3', 'sent', csvKey(a), '2025-09-30T01:00:00Z');
    await attempt(a, 's3', 'failed', jsonKey(a), '2025-09-30T01:00:01Z');
    await attempt(a, 'email', 'failed', 'ops@example.com', '2025-09-30T01:00:02Z');
    // Delivered since, to other recipients: not owed.
    const b = await run('b', 2);
    await attempt(b, 'email', 'failed', 'ops@example.com', '2025-09-30T01:00:00Z');
    await attempt(b, 'email', 'sent', 'ops@example.com, cfo@example.com', '2025-09-30T02:00:00Z');
    // The upload of the same key succeeded later: not owed.
    const c = await run('c', 3);
    await attempt(c, 's3', 'failed', csvKey(c), '2025-09-30T01:00:00Z');
    await attempt(c, 's3', 'sent', csvKey(c), '2025-09-30T03:00:00Z');
    // A later successful upload of ANOTHER key does not deliver this one.
    const d = await run('d', 4);
    await attempt(d, 's3', 'failed', jsonKey(d), '2025-09-30T00:30:00Z');
    await attempt(d, 's3', 'sent', csvKey(d), '2025-09-30T04:00:00Z');
    // Failed and superseded runs owe nothing.
    await attempt(
      await run('e', 5, 'failed'),
      'email',
      'failed',
      'ops@example.com',
      '2025-09-30T01:00:00Z',
    );
    await attempt(
      await run('f', 6, 'superseded'),
      'email',
      'failed',
      'ops@example.com',
      '2025-09-30T01:00:00Z',
    );
    // Failed twice: listed once, with the latest attempt.
    const g = await run('g', 7);
    await attempt(g, 'email', 'failed', 'ops@example.com', '2025-09-30T05:00:00Z');
    await attempt(g, 'email', 'failed', 'ops@example.com', '2025-09-30T06:00:00Z');
    // Failed before the date: not listed (but listed from an earlier date).
    const h = await run('h', 8);
    await attempt(h, 'email', 'failed', 'ops@example.com', '2025-09-28T23:59:59Z');

    expect(named(await store.failedSince('2025-09-29'))).toEqual([
      {
        runId: 'd',
        channel: 's3',
        target: jsonKey(d),
        error: 's3 down',
        attemptedAt: '2025-09-30T00:30:00.000Z',
      },
      {
        runId: 'a',
        channel: 's3',
        target: jsonKey(a),
        error: 's3 down',
        attemptedAt: '2025-09-30T01:00:01.000Z',
      },
      {
        runId: 'a',
        channel: 'email',
        target: 'ops@example.com',
        error: 'email down',
        attemptedAt: '2025-09-30T01:00:02.000Z',
      },
      {
        runId: 'g',
        channel: 'email',
        target: 'ops@example.com',
        error: 'email down',
        attemptedAt: '2025-09-30T06:00:00.000Z',
      },
    ]);
    expect(named(await store.failedSince('2025-09-28')).map((f) => f.runId)).toEqual([
      'h',
      'd',
      'a',
      'a',
      'g',
    ]);
    expect(await store.failedSince('2025-10-01')).toEqual([]);
  });

  it('no longer lists a delivery once record() stores a successful re-send', async () => {
    const i = await run('i', 9);
    await attempt(i, 'email', 'failed', 'ops@example.com', '2025-09-30T07:00:00Z');
    expect(named(await store.failedSince('2025-09-30')).map((f) => f.runId)).toContain('i');
    await store.record({ runId: i, channel: 'email', status: 'sent', target: 'ops@example.com' });
    expect(named(await store.failedSince('2025-09-30')).map((f) => f.runId)).not.toContain('i');
  });
});
