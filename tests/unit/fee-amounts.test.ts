import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amountsOf, netAmountOf } from '../../src/domain/transaction';
import { netMismatchIssue } from '../../src/domain/transaction-amounts';
import { ColumnBuilder } from '../../src/domain/transaction-columns';
import { TransactionTable } from '../../src/domain/transaction-table';
import { makeTransaction } from './support/make-transaction';
import { readProcessorFile } from './formats/support';

const origin = { side: 'processor' as const, location: 'stripe.csv', line: 7 };

describe('gross − fee = net check (netMismatchIssue)', () => {
  it('finds nothing when gross 100.00 − fee 3.20 is the net 96.80', () => {
    expect(netMismatchIssue(origin, 'USD', 10000n, 320n, 9680n)).toBeNull();
  });

  it('reports net 96.00 against gross 100.00 and fee 3.20 as net_mismatch with the difference 0.80', () => {
    expect(netMismatchIssue(origin, 'USD', 10000n, 320n, 9600n)).toEqual({
      side: 'processor',
      location: 'stripe.csv',
      check: 'net_mismatch',
      severity: 'warning',
      line: 7,
      field: 'net',
      reason: 'gross 100.00 - fee 3.20 != net 96.00 USD (difference 0.80)',
      value: '96.00',
      count: null,
    });
  });

  it('formats the difference in the currency of the row (JPY has no decimals, a negative difference)', () => {
    expect(netMismatchIssue(origin, 'JPY', 1500n, 45n, 1460n)?.reason).toBe(
      'gross 1500 - fee 45 != net 1460 JPY (difference -5)',
    );
  });

  it('does not check a row without a fee or without a reported net', () => {
    expect(netMismatchIssue(origin, 'USD', 10000n, null, 9600n)).toBeNull();
    expect(netMismatchIssue(origin, 'USD', 10000n, 320n, null)).toBeNull();
  });
});

describe('the three amounts of a transaction', () => {
  it('takes the reported net, else gross − fee, else none', () => {
    expect(
      amountsOf(makeTransaction({ amountMinor: 10000n, feeMinor: 320n, netMinor: 9600n })),
    ).toEqual({
      gross: 10000n,
      fee: 320n,
      net: 9600n,
    });
    expect(netAmountOf(makeTransaction({ amountMinor: 10000n, feeMinor: 320n }))).toBe(9680n);
    expect(netAmountOf(makeTransaction({ amountMinor: 10000n, feeMinor: null }))).toBeNull();
  });

  it('keeps gross, fee and net (also beyond 64 bits) through a table', () => {
    const wide = 2n ** 70n;
    const rows = [
      makeTransaction({ transactionId: 'a', amountMinor: 10000n, feeMinor: 320n, netMinor: 9680n }),
      makeTransaction({ transactionId: 'b', amountMinor: 10000n, feeMinor: 320n }),
      makeTransaction({ transactionId: 'c', amountMinor: wide, feeMinor: 1n, netMinor: wide - 1n }),
      makeTransaction({ transactionId: 'd' }),
    ];
    const table = TransactionTable.fromTransactions(rows);
    expect(table.toArray()).toEqual(rows);
    expect([0, 1, 2, 3].map((row) => [table.reportedNetAt(row), table.netAt(row)])).toEqual([
      [9680n, 9680n],
      [null, 9680n],
      [wide - 1n, wide - 1n],
      [null, null],
    ]);
    // The parser threads' path: columns built apart, then appended.
    const columns = new ColumnBuilder(4);
    for (const t of rows) {
      columns.push(
        t.transactionId,
        t.amountMinor,
        0,
        t.feeMinor,
        0,
        0,
        t.createdAtMs,
        null,
        t.line,
        t.netMinor ?? null,
      );
    }
    const copy = new TransactionTable();
    const maps = {
      currencies: [copy.currencyIndex('USD')],
      statuses: [copy.statusIndex('settled', 'settled')],
      merchants: [copy.merchantIndex('merch_1')],
    };
    copy.appendColumns(columns.toColumns(), maps);
    expect(copy.toArray()).toEqual(rows);
  });
});

describe('export formats carry gross, fee and net', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recon-fees-'));
  let files = 0;
  const write = (text: string): string => {
    const path = join(dir, `export-${++files}.csv`);
    writeFileSync(path, text);
    return path;
  };

  it('reads a Stripe balance report row as gross 100.00, fee 3.20, net 96.80, and flags a net of 96.00', async () => {
    const path = write(
      'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id\n' +
        'txn_1,2026-01-01 10:00:00,usd,100.00,3.20,96.80,charge,ch_1\n' +
        'txn_2,2026-01-01 11:00:00,usd,100.00,3.20,96.00,charge,ch_2\n',
    );
    const result = await readProcessorFile(path, 'stripe');
    expect(result.table.toArray().map((t) => [t.transactionId, amountsOf(t)])).toEqual([
      ['ch_1', { gross: 10000n, fee: 320n, net: 9680n }],
      ['ch_2', { gross: 10000n, fee: 320n, net: 9600n }],
    ]);
    expect(result.issues.filter((i) => i.check === 'net_mismatch')).toEqual([
      {
        side: 'processor',
        location: path,
        check: 'net_mismatch',
        severity: 'warning',
        line: 3,
        field: 'net',
        reason: 'gross 100.00 - fee 3.20 != net 96.00 USD (difference 0.80)',
        value: '96.00',
        count: null,
      },
    ]);
  });

  it('keeps the payment method of a Stripe report (payment_method_type) for the fee schedule', async () => {
    const result = await readProcessorFile(
      write(
        'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,payment_method_type\n' +
          'txn_1,2026-01-01 10:00:00,usd,100.00,3.20,96.80,charge,ch_1,card\n' +
          'txn_2,2026-01-01 11:00:00,usd,100.00,3.20,96.80,charge,ch_2,\n',
      ),
      'stripe',
    );
    expect(result.table.toArray().map((t) => [t.transactionId, t.paymentMethod ?? null])).toEqual([
      ['ch_1', 'card'],
      ['ch_2', null],
    ]);
  });

  it('reads a PayPal activity row (fee written negative) as gross, positive fee and net', async () => {
    const result = await readProcessorFile(
      write(
        'Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,From Email Address,To Email Address,Transaction ID,Reference Txn ID\n' +
          '01/01/2026,10:00:00,UTC,A,Express Checkout Payment,Completed,USD,100.00,-3.20,96.80,a@x,b@x,PP1,\n',
      ),
      'paypal',
      { settings: { paypalDateOrder: 'mdy' } },
    );
    expect(result.table.toArray().map(amountsOf)).toEqual([
      { gross: 10000n, fee: 320n, net: 9680n },
    ]);
    expect(result.issues.filter((i) => i.check === 'net_mismatch')).toEqual([]);
  });
});
