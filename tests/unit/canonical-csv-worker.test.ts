import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { STATUS_MAPS } from '../../src/domain/status';
import { CanonicalCsvSource } from '../../src/sources/canonical-csv-source';
import type { SourceReadResult } from '../../src/sources/transaction-source';

/**
 * Files of 8 MiB or more are validated on the parser thread (compiled build only: `npm test`
 * builds first) and cross as columnar batches. This reads one such file through the compiled
 * source (worker path) and through the TypeScript source (in-process path) and requires equal
 * results: transactions (and rows with amounts beyond the limit, absent fees, lines of multi-line
 * records), issues in order, counts.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require(resolve(__dirname, '../../dist/src/sources/canonical-csv-source.js')) as {
  CanonicalCsvSource: typeof CanonicalCsvSource;
};

function bigCsv(rows: number): string {
  const parts = [
    'transaction_id,amount,currency,status,merchant_id,created_at,fee,description\r\n',
  ];
  for (let i = 0; i < rows; i++) {
    const kind = i % 101;
    const amount =
      kind === 1
        ? '12345678901234567890123.45'
        : kind === 2
          ? '1.234'
          : kind === 3
            ? 'x'
            : `${i % 977}.${i % 10}5`;
    const currency = kind === 4 ? 'XXX' : i % 3 === 0 ? 'JPY' : 'USD';
    const fixedAmount = currency === 'JPY' && kind > 4 ? String(i % 977) : amount;
    const status = kind === 5 ? 'Mystery' : i % 7 === 0 ? 'refunded' : 'succeeded';
    const created =
      kind === 6 ? 'yesterday' : `2025-09-${kind === 7 ? '29' : '30'}T10:00:0${i % 10}.5Z`;
    const fee =
      i % 4 === 0 ? '' : kind === 8 ? '-99999999999999999999' : currency === 'JPY' ? '3' : '0.30';
    const description =
      i % 97 === 0
        ? `"multi\r\nline, ""quoted"" ${i}"`
        : i % 89 === 0
          ? `"lf\nonly ${i}"`
          : `plain ${i}`;
    const id = kind === 9 ? '' : `tx_${i % 50_000}`;
    if (kind === 10) parts.push(`${id},1.00,USD\r\n`);
    else
      parts.push(
        `${id},${fixedAmount},${currency},${status},m_${i % 13},${created},${fee},${description}\r\n`,
      );
    if (i % 5000 === 0) parts.push('\r\n');
  }
  return parts.join('');
}

describe('canonical CSV validation on the parser thread (large files)', () => {
  it('gives the same transactions, issues and counts as in-process validation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-canonical-worker-'));
    const path = join(dir, 'big.csv');
    const text = bigCsv(140_000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(8 << 20);
    writeFileSync(path, text);
    const context = {
      businessDate: '2025-09-30',
      timeZone: 'UTC',
      statusMap: STATUS_MAPS.stripe,
    };
    const [viaWorker, inProcess]: [SourceReadResult, SourceReadResult] = await Promise.all([
      new compiled.CanonicalCsvSource('processor', path).read(context),
      new CanonicalCsvSource('processor', path).read(context),
    ]);
    expect(inProcess.table.toArray().length).toBeGreaterThan(120_000);
    expect(inProcess.invalidCount).toBeGreaterThan(5000);
    // Amounts beyond 18 digits of minor units are invalid rows (README "Validation limits").
    const beyond = (field: string) =>
      inProcess.issues.filter(
        (i) => i.field === field && i.reason.includes('beyond the accepted range'),
      ).length;
    expect(beyond('amount')).toBeGreaterThan(500);
    expect(beyond('fee')).toBeGreaterThan(100);
    expect(inProcess.issues.some((i) => i.check === 'unknown_status')).toBe(true);
    expect(viaWorker.rowCount).toBe(inProcess.rowCount);
    expect(viaWorker.invalidCount).toBe(inProcess.invalidCount);
    expect(viaWorker.issues).toEqual(inProcess.issues);
    expect(viaWorker.table.toArray()).toEqual(inProcess.table.toArray());
  }, 120_000);
});
