/**
 * Generates the bundled sample day `data/samples/2025-09-30/` (canonical CSV, both sides, for
 * stripe, paypal and square) and two quieter stripe days before it (`2025-09-28`, `2025-09-29`,
 * so a `--from/--to` range runs on bundled data) from fixed seeds, so the output is the same on
 * every machine.
 *
 * Usage: `npm run samples` (output is committed; rerunning must produce identical files).
 *
 * What the day contains (asserted by tests/e2e):
 * - stripe: 30 processor transactions, 5 missing from the ledger (missing_in_internal, one of
 *   them with a description that looks like a spreadsheet formula), one amount mismatch, one
 *   status mismatch, one ledger-only entry (missing_in_processor).
 * - paypal: 40 processor transactions in USD/EUR/JPY incl. a refund; one duplicate processor
 *   row, one currency mismatch, one ledger-only entry, one row dated the next day.
 * - square: 120 processor transactions + one invalid row (USD amount with 3 decimals), one
 *   duplicate ledger row, one amount mismatch in KWD.
 * - stripe on 2025-09-28 and 2025-09-29: 20 processor transactions each, the first one missing
 *   from the ledger (the 2025-09-30 files are unchanged by these days: separate seeds).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prng } from './seeded-random';

const DATE = '2025-09-30';
const OUT = resolve(__dirname, '..', '..', 'data', 'samples', DATE);

interface Row {
  transaction_id: string;
  amount: string;
  currency: string;
  status: string;
  merchant_id: string;
  created_at: string;
  fee: string;
  description: string;
}

const HEADER = [
  'transaction_id',
  'amount',
  'currency',
  'status',
  'merchant_id',
  'created_at',
  'fee',
  'description',
] as const;

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function toCsv(rows: readonly Row[]): string {
  return (
    [HEADER.join(','), ...rows.map((row) => HEADER.map((key) => csvCell(row[key])).join(','))].join(
      '\n',
    ) + '\n'
  );
}

const EXPONENT: Record<string, number> = { USD: 2, EUR: 2, JPY: 0, KWD: 3, GBP: 2 };

/** Formats integer minor units as a major-unit decimal string (integers only: exact). */
function major(minor: number, currency: string): string {
  const exponent = EXPONENT[currency] ?? 2;
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

function makeRows(
  random: () => number,
  count: number,
  prefix: string,
  currencies: readonly string[],
  settledStatus: string,
  date: string = DATE,
): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const currency = currencies[Math.floor(random() * currencies.length)] ?? 'USD';
    const scale = currency === 'JPY' ? 1 : currency === 'KWD' ? 1000 : 100;
    const minor = Math.floor((5 + random() * 495) * scale);
    const second = Math.floor(random() * 86_000);
    const time = new Date(Date.parse(`${date}T00:00:00Z`) + second * 1000)
      .toISOString()
      .replace('.000Z', 'Z');
    rows.push({
      transaction_id: `${prefix}${String(i + 1).padStart(4, '0')}`,
      amount: major(minor, currency),
      currency,
      status: settledStatus,
      merchant_id: `merch_${String(1 + Math.floor(random() * 12)).padStart(3, '0')}`,
      created_at: time,
      fee: major(Math.floor(minor * 0.029) + (currency === 'JPY' ? 0 : 30), currency),
      description: `Order ${1000 + Math.floor(random() * 9000)}`,
    });
  }
  return rows;
}

function ledgerCopy(row: Row): Row {
  return { ...row, status: 'settled' };
}

function stripe(): { processor: Row[]; internal: Row[] } {
  const random = prng(20250930);
  const processor = makeRows(random, 30, 'ch_3Sample', ['USD', 'USD', 'USD', 'EUR'], 'succeeded');
  const p = (index: number): Row => processor[index] as Row;
  p(2).description = '=HYPERLINK("http://example.invalid","click")';
  p(11).amount = '-25.00';
  p(11).currency = 'USD';
  p(11).status = 'refunded';
  p(11).description = 'Refund for order 4711';
  const internal = processor.slice(5).map(ledgerCopy); // the first 5 are missing in the ledger
  const i = (id: string): Row => internal.find((row) => row.transaction_id === id) as Row;
  i(p(11).transaction_id).status = 'refunded';
  i(p(9).transaction_id).amount = major(Number(p(9).amount.replace('.', '')) - 100, p(9).currency); // 1.00 short
  i(p(13).transaction_id).status = 'pending';
  internal.push({
    ...ledgerCopy(p(20)),
    transaction_id: 'ch_3SampleLEDGER01',
    amount: '42.00',
    currency: 'USD',
  });
  return { processor, internal };
}

function paypal(): { processor: Row[]; internal: Row[] } {
  const random = prng(7);
  const processor = makeRows(random, 40, 'PAYID-NS', ['USD', 'EUR', 'JPY'], 'Completed');
  const p = (index: number): Row => processor[index] as Row;
  p(3).amount = p(3).currency === 'JPY' ? '-1200' : '-12.00';
  p(3).status = 'Refunded';
  p(3).description = 'Partial refund';
  p(25).created_at = '2025-10-01T00:30:00Z'; // dated outside the business date
  const internal = processor.map(ledgerCopy);
  const i = (index: number): Row => internal[index] as Row;
  i(3).status = 'refunded';
  i(17).currency = p(17).currency === 'EUR' ? 'USD' : 'EUR';
  if (p(17).currency === 'JPY') i(17).amount = `${p(17).amount}.00`;
  processor.push({ ...p(30) }); // the processor file lists one transaction twice
  internal.push({
    ...ledgerCopy(p(0)),
    transaction_id: 'PAYID-NSLEDGER01',
    amount: '99.99',
    currency: 'USD',
  });
  return { processor, internal };
}

function square(): { processor: Row[]; internal: Row[] } {
  const random = prng(4242);
  const processor = makeRows(random, 120, 'sq_pay_', ['USD', 'USD', 'KWD', 'JPY'], 'COMPLETED');
  const p = (index: number): Row => processor[index] as Row;
  const internal = processor.map(ledgerCopy);
  const kwd = processor.findIndex((row) => row.currency === 'KWD');
  const i = (index: number): Row => internal[index] as Row;
  i(kwd).amount = major(Number(p(kwd).amount.replace('.', '')) + 5, 'KWD'); // 0.005 KWD more in the ledger
  internal.splice(60, 0, { ...i(59) }); // the ledger booked one transaction twice
  processor.splice(50, 0, {
    ...p(49),
    transaction_id: 'sq_pay_INVALID',
    amount: '12.345', // USD has two decimals: an invalid row
    currency: 'USD',
  });
  return { processor, internal };
}

/** A quiet stripe day before the sample day: one transaction missing from the ledger. */
function stripeQuietDay(date: string, seed: number): { processor: Row[]; internal: Row[] } {
  const random = prng(seed);
  const prefix = `ch_3S${date.slice(5).replace('-', '')}x`;
  const processor = makeRows(random, 20, prefix, ['USD', 'USD', 'EUR'], 'succeeded', date);
  return { processor, internal: processor.slice(1).map(ledgerCopy) };
}

for (const [date, seed] of [
  ['2025-09-28', 20250928],
  ['2025-09-29', 20250929],
] as const) {
  const dir = join(OUT, '..', date);
  const sides = stripeQuietDay(date, seed);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stripe.csv'), toCsv(sides.processor));
  writeFileSync(join(dir, 'internal_stripe.csv'), toCsv(sides.internal));
}

mkdirSync(OUT, { recursive: true });
for (const [name, sides] of Object.entries({
  stripe: stripe(),
  paypal: paypal(),
  square: square(),
})) {
  writeFileSync(join(OUT, `${name}.csv`), toCsv(sides.processor));
  writeFileSync(join(OUT, `internal_${name}.csv`), toCsv(sides.internal));
}
console.log(`sample day written to ${OUT}`);
