import type { DataQualityIssue } from '../../src/domain/data-quality';
import { TransactionTable } from '../../src/domain/transaction-table';
import { InputRejectedError } from '../../src/domain/errors';
import { STATUS_MAPS } from '../../src/domain/status';
import { CanonicalCsvSource } from '../../src/sources/canonical-csv-source';
import { addSideChecks, MAX_LISTED_WARNINGS } from '../../src/sources/side-checks';
import type { ReadContext, SourceReadResult } from '../../src/sources/transaction-source';
import { makeTransaction } from './support/make-transaction';
import { makeTempDir } from './support/temp-files';

const temp = makeTempDir('canonical');
afterAll(() => temp.cleanup());

const HEADER = 'transaction_id,amount,currency,status,merchant_id,created_at';
const TS = '2025-09-30T12:00:00Z';
const CONTEXT: ReadContext = {
  businessDate: '2025-09-30',
  timeZone: 'UTC',
  statusMap: STATUS_MAPS.stripe,
};

let fileCounter = 0;
async function readSide(
  content: string,
  side: 'processor' | 'internal' = 'processor',
  context: ReadContext = CONTEXT,
): Promise<SourceReadResult & { path: string }> {
  const path = temp.write(`input-${++fileCounter}.csv`, content);
  const result = await new CanonicalCsvSource(side, path).read(context);
  return { ...result, path };
}

async function rejection(content: string): Promise<InputRejectedError & { path: string }> {
  const path = temp.write(`bad-${++fileCounter}.csv`, content);
  try {
    await new CanonicalCsvSource('processor', path).read(CONTEXT);
  } catch (error) {
    expect(error).toBeInstanceOf(InputRejectedError);
    return Object.assign(error as InputRejectedError, { path });
  }
  throw new Error('expected an InputRejectedError');
}

function byCheck(issues: readonly DataQualityIssue[], check: DataQualityIssue['check']) {
  return issues.filter((issue) => issue.check === check);
}

describe('CanonicalCsvSource header', () => {
  it('finds columns by name in any order and case, with a BOM and extra columns', async () => {
    const result = await readSide(
      '\uFEFF Created_At ,STATUS,extra,Merchant_ID,Currency,AMOUNT,Transaction_Id\n' +
        `${TS},succeeded,ignored,m_1,usd,12.34,t_1\n`,
    );
    expect(result.table.toArray()).toEqual([
      {
        transactionId: 't_1',
        amountMinor: 1234n,
        currency: 'USD',
        feeMinor: null,
        status: 'settled',
        rawStatus: 'succeeded',
        merchantId: 'm_1',
        createdAtMs: Date.parse(TS),
        description: null,
        line: 2,
      },
    ]);
    expect(byCheck(result.issues, 'invalid_row')).toEqual([]);
  });

  it('rejects a header missing required columns, listing every missing column', async () => {
    const error = await rejection('transaction_id,amount,status\nt1,1.00,paid\n');
    expect(error.message).toContain('missing column(s) currency, merchant_id, created_at');
    expect(error.message).toContain(error.path);
    expect(error.message).toContain('line 1');
    expect(error.input).toEqual({ location: error.path, line: 1, field: 'currency' });
  });

  it('rejects a header that names a column twice', async () => {
    const error = await rejection(`${HEADER},AMOUNT\n`);
    expect(error.message).toContain("column 'amount' appears twice");
    expect(error.input.field).toBe('amount');
  });

  it('rejects an empty file as having no header', async () => {
    const error = await rejection('');
    expect(error.message).toBe(`processor input ${error.path} is empty: expected a header row`);
    expect(error.input).toEqual({ location: error.path, line: 1 });
  });

  it('rejects a file of blank lines as having no header', async () => {
    const error = await rejection('\n\n\n');
    expect(error.message).toContain('is empty: expected a header row');
  });

  it('names the ledger side in messages for the internal source', async () => {
    const path = temp.write('internal-missing.csv', 'transaction_id\n');
    await expect(new CanonicalCsvSource('internal', path).read(CONTEXT)).rejects.toThrow(
      `internal ledger input ${path} line 1: header is missing column(s)`,
    );
  });

  it('rejects a missing file with a message containing the path', async () => {
    const path = `${temp.dir}/nope.csv`;
    await expect(new CanonicalCsvSource('processor', path).read(CONTEXT)).rejects.toThrow(
      `processor input not found: expected ${path}`,
    );
  });

  it('accepts a header-only file with zero rows', async () => {
    const result = await readSide(`${HEADER}\n`);
    expect(result.table.toArray()).toEqual([]);
    expect(result.rowCount).toBe(0);
    expect(result.invalidCount).toBe(0);
  });
});

describe('CanonicalCsvSource rows', () => {
  it('normalizes valid rows: bigint minor units, upper-case currency, mapped status, fee, description', async () => {
    const result = await readSide(
      `${HEADER},fee,description\n` +
        `t1,12.34,usd,succeeded,m1,${TS},0.30,Coffee\n` +
        `t2,-5.00,EUR,refunded,m2,2025-09-30T14:00:00+02:00,,\n` +
        `t3,1500,jpy,available,m3,2025-09-30T23:59:59.999Z,15,\n` +
        `t4,1.234,KWD,Pending,m4,${TS},,"multi\nline"\n`,
    );
    expect(
      result.table
        .toArray()
        .map((t) => [
          t.transactionId,
          t.amountMinor,
          t.currency,
          t.feeMinor,
          t.status,
          t.rawStatus,
          t.description,
          t.line,
        ]),
    ).toEqual([
      ['t1', 1234n, 'USD', 30n, 'settled', 'succeeded', 'Coffee', 2],
      ['t2', -500n, 'EUR', null, 'refunded', 'refunded', null, 3],
      ['t3', 1500n, 'JPY', 15n, 'settled', 'available', null, 4],
      ['t4', 1234n, 'KWD', null, 'pending', 'Pending', 'multi\nline', 5],
    ]);
    expect(result.table.toArray()[1]?.createdAtMs).toBe(Date.parse('2025-09-30T12:00:00Z'));
    expect(result.rowCount).toBe(4);
    expect(result.invalidCount).toBe(0);
  });

  it('trims spaces around cells', async () => {
    const result = await readSide(`${HEADER}\n  t1 , 1.00 , usd , paid , m1 , ${TS} \n`);
    expect(result.table.toArray()[0]).toMatchObject({
      transactionId: 't1',
      amountMinor: 100n,
      currency: 'USD',
      rawStatus: 'paid',
      status: 'settled',
      merchantId: 'm1',
    });
  });

  it('maps statuses with the status map of the context', async () => {
    const content = `${HEADER}\nt1,1.00,USD,posted,m1,${TS}\nt2,1.00,USD,voided,m1,${TS}\n`;
    const internal = await readSide(content, 'internal', {
      ...CONTEXT,
      statusMap: STATUS_MAPS.internal,
    });
    expect(internal.table.toArray().map((t) => t.status)).toEqual(['settled', 'cancelled']);
    const stripe = await readSide(content);
    expect(stripe.table.toArray().map((t) => t.status)).toEqual(['unknown', 'unknown']);
  });

  it('keeps a row with an unknown status and warns about it', async () => {
    const result = await readSide(`${HEADER}\nt1,1.00,USD,on_hold,m1,${TS}\n`);
    expect(result.table.toArray()).toHaveLength(1);
    expect(result.table.toArray()[0]).toMatchObject({ status: 'unknown', rawStatus: 'on_hold' });
    expect(byCheck(result.issues, 'unknown_status')).toEqual([
      {
        side: 'processor',
        location: result.path,
        check: 'unknown_status',
        severity: 'warning',
        line: 2,
        field: 'status',
        reason: 'status is not in the status map; compared by its raw text',
        value: 'on_hold',
        count: null,
      },
    ]);
    expect(result.invalidCount).toBe(0);
  });

  it('treats statuses named like Object.prototype members as unknown', async () => {
    const result = await readSide(
      `${HEADER}\nt1,1.00,USD,constructor,m1,${TS}\nt2,1.00,USD,__proto__,m1,${TS}\n`,
    );
    expect(result.table.toArray().map((t) => t.status)).toEqual(['unknown', 'unknown']);
    expect(byCheck(result.issues, 'unknown_status').map((i) => i.line)).toEqual([2, 3]);
  });

  it('reports a row with the wrong number of fields as an invalid row with its line', async () => {
    const result = await readSide(
      `${HEADER}\nt1,1.00,USD,paid,m1\nt2,1.00,USD,paid,m1,${TS},extra\nt3,1.00,USD,paid,m1,${TS}\n`,
    );
    expect(result.table.toArray().map((t) => t.transactionId)).toEqual(['t3']);
    expect(byCheck(result.issues, 'invalid_row')).toEqual([
      {
        side: 'processor',
        location: result.path,
        check: 'invalid_row',
        severity: 'error',
        line: 2,
        field: null,
        reason: 'row has 5 fields, header has 6',
        value: null,
        count: null,
      },
      expect.objectContaining({ line: 3, field: null, reason: 'row has 7 fields, header has 6' }),
    ]);
    expect(result.rowCount).toBe(3);
    expect(result.invalidCount).toBe(2);
  });

  it.each([
    ['transaction_id', `,1.00,USD,paid,m1,${TS}`, 'transaction_id is empty', ''],
    ['amount', `t1,,USD,paid,m1,${TS}`, 'amount is empty', ''],
    ['currency', `t1,1.00,,paid,m1,${TS}`, 'currency is empty', ''],
    ['status', `t1,1.00,USD,,m1,${TS}`, 'status is empty', ''],
    ['merchant_id', `t1,1.00,USD,paid,  ,${TS}`, 'merchant_id is empty', ''],
    ['created_at', 't1,1.00,USD,paid,m1,', 'created_at is empty', ''],
    [
      'amount',
      `t1,"1,000.00",USD,paid,m1,${TS}`,
      'amount is not a plain decimal number (digits, optional minus and dot) (USD has 2 decimals)',
      '1,000.00',
    ],
    [
      'amount',
      `t1,1e3,USD,paid,m1,${TS}`,
      'amount is not a plain decimal number (digits, optional minus and dot) (USD has 2 decimals)',
      '1e3',
    ],
    [
      'amount',
      `t1,1500.5,JPY,paid,m1,${TS}`,
      'amount has more decimals than the currency allows (JPY has 0 decimals)',
      '1500.5',
    ],
    [
      'amount',
      `t1,12.345,usd,paid,m1,${TS}`,
      'amount has more decimals than the currency allows (USD has 2 decimals)',
      '12.345',
    ],
    [
      'fee',
      `t1,12.34,USD,paid,m1,${TS},0.001`,
      'fee has more decimals than the currency allows (USD has 2 decimals)',
      '0.001',
    ],
    ['currency', `t1,1.00,XAU,paid,m1,${TS}`, "currency 'XAU' is not an ISO 4217 code", 'XAU'],
    [
      'currency',
      `t1,1.00,dollars,paid,m1,${TS}`,
      "currency 'dollars' is not an ISO 4217 code",
      'dollars',
    ],
    [
      'created_at',
      't1,1.00,USD,paid,m1,2025-09-30T12:00:00',
      'created_at is not an ISO 8601 timestamp with an offset or Z',
      '2025-09-30T12:00:00',
    ],
    [
      'created_at',
      't1,1.00,USD,paid,m1,2025-02-30T12:00:00Z',
      'created_at is not an ISO 8601 timestamp with an offset or Z',
      '2025-02-30T12:00:00Z',
    ],
  ])(
    'reports an invalid %s (%p) with field, line and reason',
    async (field, row, reason, value) => {
      const header = row.split(',').length > 6 && !row.includes('"') ? `${HEADER},fee` : HEADER;
      const result = await readSide(
        `${header}\nok,1.00,USD,paid,m1,${TS}${header === HEADER ? '' : ','}\n${row}\n`,
      );
      expect(result.table.toArray().map((t) => t.transactionId)).toEqual(['ok']);
      expect(byCheck(result.issues, 'invalid_row')).toEqual([
        {
          side: 'processor',
          location: result.path,
          check: 'invalid_row',
          severity: 'error',
          line: 3,
          field,
          reason,
          value,
          count: null,
        },
      ]);
      expect(result.invalidCount).toBe(1);
      expect(result.rowCount).toBe(2);
    },
  );

  it('reports every problem of a row, counting the row once as invalid', async () => {
    const result = await readSide(`${HEADER}\n,abc,USD,,m1,yesterday\n`);
    expect(byCheck(result.issues, 'invalid_row').map((i) => i.field)).toEqual([
      'transaction_id',
      'status',
      'amount',
      'created_at',
    ]);
    expect(result.invalidCount).toBe(1);
    expect(result.table.toArray()).toEqual([]);
  });

  it('clips a very long offending value to 200 characters', async () => {
    const long = '9'.repeat(150) + 'x'.repeat(150);
    const result = await readSide(`${HEADER}\nt1,${long},USD,paid,m1,${TS}\n`);
    const [issue] = byCheck(result.issues, 'invalid_row');
    expect(issue?.value).toBe(`${long.slice(0, 200)}…`);
  });

  it('reports the start line of a row that follows a multi-line quoted description', async () => {
    const result = await readSide(
      `${HEADER},description\nt1,1.00,USD,paid,m1,${TS},"a\nb\nc"\nt2,1.00,USD,paid,m1,bad,\n`,
    );
    expect(result.table.toArray()[0]?.line).toBe(2);
    expect(byCheck(result.issues, 'invalid_row').map((i) => [i.line, i.field])).toEqual([
      [5, 'created_at'],
    ]);
  });
});

describe('side checks', () => {
  it('adds a row_count info finding with the counts', async () => {
    const result = await readSide(`${HEADER}\nt1,1.00,USD,paid,m1,${TS}\nt2,x,USD,paid,m1,${TS}\n`);
    expect(byCheck(result.issues, 'row_count')).toEqual([
      {
        side: 'processor',
        location: result.path,
        check: 'row_count',
        severity: 'info',
        line: null,
        field: null,
        reason: '2 data rows read, 1 invalid',
        value: null,
        count: 2,
      },
    ]);
  });

  it('warns once with the number of ids that occur more than once', async () => {
    const result = await readSide(
      `${HEADER}\n` +
        ['a', 'b', 'a', 'c', 'b', 'a'].map((id) => `${id},1.00,USD,paid,m1,${TS}`).join('\n'),
    );
    expect(result.table.toArray()).toHaveLength(6);
    expect(byCheck(result.issues, 'duplicate_ids')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        line: null,
        count: 2,
        reason: '2 transaction id(s) occur more than once',
      }),
    ]);
  });

  it('does not warn about duplicates when every id is unique', async () => {
    const result = await readSide(
      `${HEADER}\na,1.00,USD,paid,m1,${TS}\nb,1.00,USD,paid,m1,${TS}\n`,
    );
    expect(byCheck(result.issues, 'duplicate_ids')).toEqual([]);
    expect(byCheck(result.issues, 'outside_business_date')).toEqual([]);
  });

  it('warns about each row dated outside the business date, plus a count', async () => {
    const result = await readSide(
      `${HEADER}\n` +
        `in_start,1.00,USD,paid,m1,2025-09-30T00:00:00Z\n` +
        `before,1.00,USD,paid,m1,2025-09-29T23:59:59.999Z\n` +
        `in_end,1.00,USD,paid,m1,2025-09-30T23:59:59.999Z\n` +
        `after,1.00,USD,paid,m1,2025-10-01T00:00:00Z\n`,
    );
    expect(byCheck(result.issues, 'outside_business_date')).toEqual([
      {
        side: 'processor',
        location: result.path,
        check: 'outside_business_date',
        severity: 'warning',
        line: 3,
        field: 'created_at',
        reason: 'dated 2025-09-29, not the business date 2025-09-30 (UTC)',
        value: '2025-09-29T23:59:59.999Z',
        count: null,
      },
      expect.objectContaining({
        line: 5,
        reason: 'dated 2025-10-01, not the business date 2025-09-30 (UTC)',
        value: '2025-10-01T00:00:00.000Z',
      }),
      expect.objectContaining({
        line: null,
        field: null,
        count: 2,
        reason: '2 row(s) dated outside the business date 2025-09-30',
      }),
    ]);
  });

  it('judges the business date in the context time zone', async () => {
    // 2025-10-01T02:00Z is 2025-09-30 19:00 in Los Angeles: inside; 2025-09-30T05:00Z is Sep 29 there.
    const result = await readSide(
      `${HEADER}\nin,1.00,USD,paid,m1,2025-10-01T02:00:00Z\nout,1.00,USD,paid,m1,2025-09-30T05:00:00Z\n`,
      'processor',
      { ...CONTEXT, timeZone: 'America/Los_Angeles' },
    );
    const rows = byCheck(result.issues, 'outside_business_date').filter((i) => i.line !== null);
    expect(rows.map((i) => [i.line, i.reason])).toEqual([
      [3, 'dated 2025-09-29, not the business date 2025-09-30 (America/Los_Angeles)'],
    ]);
  });

  it('lists at most MAX_LISTED_WARNINGS rows outside the business date but counts them all', () => {
    const total = MAX_LISTED_WARNINGS + 5;
    const transactions = Array.from({ length: total }, (_, n) =>
      makeTransaction({ transactionId: `t${n}`, createdAtMs: Date.parse('2025-01-01T00:00:00Z') }),
    );
    const result = addSideChecks(
      {
        side: 'internal',
        location: 'mem',
        table: TransactionTable.fromTransactions(transactions),
        issues: [],
        rowCount: total,
        invalidCount: 0,
      },
      CONTEXT,
    );
    const outside = byCheck(result.issues, 'outside_business_date');
    expect(outside.filter((i) => i.line !== null)).toHaveLength(MAX_LISTED_WARNINGS);
    expect(outside.filter((i) => i.line === null)).toEqual([
      expect.objectContaining({ count: total, side: 'internal' }),
    ]);
    expect(result.table.toArray()).toEqual(transactions);
  });
});
