import { STATUS_MAPS } from '../../src/domain/status';
import { CanonicalCsvSource } from '../../src/sources/canonical-csv-source';
import type { ReadContext } from '../../src/sources/transaction-source';
import { makeTempDir } from './support/temp-files';

// The canonical CSV's optional `reference` column (issue #14), on the small-file path and on the
// worker-thread path of files ≥ 8 MiB.
const temp = makeTempDir('canonical-reference');
afterAll(() => temp.cleanup());

const CONTEXT: ReadContext = {
  businessDate: '2025-09-30',
  timeZone: 'UTC',
  statusMap: STATUS_MAPS.internal,
};
const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at,reference';

describe('canonical CSV reference column', () => {
  it('keeps a trimmed reference and leaves an empty one out', async () => {
    const path = temp.write(
      'small.csv',
      `${HEADER}\nINV-1,1.00,USD,settled,m1,2025-09-30T10:00:00Z, INV-42 \nINV-2,2.00,USD,settled,m1,2025-09-30T10:00:00Z,\n`,
    );
    const side = await new CanonicalCsvSource('internal', path).read(CONTEXT);
    expect(side.table.toArray().map((t) => [t.transactionId, t.reference ?? null])).toEqual([
      ['INV-1', 'INV-42'],
      ['INV-2', null],
    ]);
    expect(side.table.referenceAt(0)).toBe('INV-42');
    expect(side.table.referenceAt(1)).toBeNull();
  });

  it('keeps references of a file parsed on worker threads', async () => {
    const rows: string[] = [HEADER];
    const n = 130_000;
    for (let k = 0; k < n; k++)
      rows.push(
        `INV-${k},1${k % 100}.00,USD,settled,merchant_000${k % 7},2025-09-30T10:00:00Z,${k % 3 === 0 ? `REF-${k}` : ''}`,
      );
    const text = `${rows.join('\n')}\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(8 * 1024 * 1024);
    const path = temp.write('large.csv', text);
    const side = await new CanonicalCsvSource('internal', path).read(CONTEXT);
    expect(side.table.length).toBe(n);
    let withReference = 0;
    const wrong: string[] = [];
    for (let row = 0; row < n; row++) {
      const reference = side.table.referenceAt(row);
      const id = side.table.idAt(row);
      const expected = Number(id.slice(4)) % 3 === 0 ? `REF-${id.slice(4)}` : null;
      if (reference !== null) withReference++;
      if (reference !== expected) wrong.push(id);
    }
    expect(wrong).toEqual([]);
    expect(withReference).toBe(Math.ceil(n / 3));
  }, 60_000);
});
