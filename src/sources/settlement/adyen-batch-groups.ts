import { parse } from 'csv-parse/sync';
import { currencyExponent, normalizeCurrency, type CurrencyCode } from '../../domain/currency';
import { InputRejectedError } from '../../domain/errors';
import { formatMinor } from '../../domain/money';
import type {
  ChildCategory,
  SettlementChild,
  SettlementParent,
} from '../../engine/settlement-groups';
import { parseMajorAmount } from '../formats/parse-values';

/**
 * Settlement groups of an Adyen settlement details report
 * (https://docs.adyen.com/reporting/settlement-detail-report), one per batch and net currency
 * that has a `MerchantPayout` row. Columns are found by their header name (`Batch Number`,
 * `Type`, `Net Currency`, `Net Debit (NC)`, `Net Credit (NC)`, `Gross Currency`,
 * `Gross Debit (GC)`, `Gross Credit (GC)`, `Psp Reference`, `Modification Reference`), never by
 * position: the batch number is the 23rd column of the 30-column layout and may move in others.
 *
 * - Parent: the batch's `MerchantPayout` row(s) in a currency; its amount is their net DEBIT
 *   (net debit − net credit), positive for money paid out; several payout rows of one batch and
 *   currency are added up into one parent. Key: the batch number.
 * - Children: every other row of the batch, on net credit − net debit (signed minor units):
 *   `Settled`… → charge, `Refunded`… → refund, `Chargeback`… → dispute, `Fee`, `MiscCosts`,
 *   `InvoiceDeduction`, `PaymentCost` → fee, anything else (`Balancetransfer`, corrections) →
 *   adjustment. A child's gross is its gross credit − gross debit when the row has a gross in the
 *   net currency, else its net.
 * - `Balancetransfer` is treated as the format's batch check treats it (net of the rows = paid out
 *   or carried): an incoming one is a child bringing balance in; an outgoing one (net debit) in a
 *   batch with a payout is a child with a negative net (money carried to the next batch), so the
 *   group balances exactly when that batch check does. A batch without a `MerchantPayout` row
 *   (all carried over) forms no group: it is listed in `carriedBatches`.
 * - A row whose field count differs from the header's, or whose amounts cannot be read, is left
 *   out and listed in `invalidRows` (the group then shows the difference it leaves).
 */
export interface AdyenBatchGroups {
  readonly parents: readonly SettlementParent[];
  readonly children: readonly SettlementChild[];
  /** Batches (per net currency) without a payout row: net of their rows (decimal), row count. */
  readonly carriedBatches: readonly {
    batch: string;
    currency: CurrencyCode;
    net: string;
    rows: number;
  }[];
  /** Rows left out: 1-based line and why. */
  readonly invalidRows: readonly { line: number; reason: string }[];
}

/** Required columns, lower case (matched case-insensitively), and how the report spells them. */
const REQUIRED = {
  'batch number': 'Batch Number',
  type: 'Type',
  'net currency': 'Net Currency',
  'net debit (nc)': 'Net Debit (NC)',
  'net credit (nc)': 'Net Credit (NC)',
  'psp reference': 'Psp Reference',
  'modification reference': 'Modification Reference',
} as const;
type ColumnName =
  keyof typeof REQUIRED | 'gross currency' | 'gross debit (gc)' | 'gross credit (gc)';

function categoryOf(type: string): ChildCategory {
  const key = type.toLowerCase();
  if (key.startsWith('settled')) return 'charge';
  if (key.startsWith('refunded')) return 'refund';
  if (key.includes('chargeback')) return 'dispute';
  if (['fee', 'misccosts', 'invoicededuction', 'paymentcost'].includes(key)) return 'fee';
  return 'adjustment';
}

/**
 * Reads the settlement details report `content` (from `location`) into settlement parents and
 * children for `buildSettlementGroups` (`kind` `adyen_batch`; `dueDate` null: a batch's payout is
 * due when the report lists it). Throws `InputRejectedError` when a required column is missing
 * (naming it and the header line) or the text is not CSV.
 */
export function adyenBatchGroups(content: string, location: string): AdyenBatchGroups {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new InputRejectedError(
      `Adyen settlement details report ${location}: not a readable CSV file (${(error as Error).message})`,
      { location },
    );
  }
  const header = rows[0];
  if (!header)
    throw new InputRejectedError(`Adyen settlement details report ${location} is empty`, {
      location,
    });
  const at = new Map<string, number>();
  header.record.forEach((name, index) => {
    const key = name.trim().toLowerCase();
    if (!at.has(key)) at.set(key, index);
  });
  for (const [name, display] of Object.entries(REQUIRED)) {
    if (!at.has(name))
      throw new InputRejectedError(
        `Adyen settlement details report ${location} line ${header.info.lines}: column '${display}' is missing`,
        { location, line: header.info.lines, field: display },
      );
  }
  const parentSums = new Map<string, { batch: string; currency: CurrencyCode; amount: bigint }>();
  const batchRows = new Map<string, { net: bigint; rows: number }>();
  const children: { batchKey: string; child: SettlementChild }[] = [];
  const invalidRows: { line: number; reason: string }[] = [];
  for (const { record, info } of rows.slice(1)) {
    const line = info.lines;
    if (record.length !== header.record.length) {
      invalidRows.push({
        line,
        reason: `${record.length} fields, the header has ${header.record.length}`,
      });
      continue;
    }
    const get = (name: ColumnName): string => (record[at.get(name) ?? -1] ?? '').trim();
    const currency = normalizeCurrency(get('net currency'));
    if (currency === undefined) {
      invalidRows.push({ line, reason: `Net Currency '${get('net currency')}' is not ISO 4217` });
      continue;
    }
    const exponent = currencyExponent(currency);
    let bad: string | undefined;
    const amount = (name: ColumnName): bigint => {
      const text = get(name);
      if (text === '') return 0n;
      const parsed = parseMajorAmount(text, exponent);
      if (parsed.ok && parsed.value >= 0n) return parsed.value;
      bad ??= `${name} '${text}' ${parsed.ok ? 'is negative' : parsed.reason}`;
      return 0n;
    };
    const net = amount('net credit (nc)') - amount('net debit (nc)');
    const grossCurrency = normalizeCurrency(get('gross currency'));
    const hasGross =
      grossCurrency === currency &&
      (get('gross credit (gc)') !== '' || get('gross debit (gc)') !== '');
    const gross = hasGross ? amount('gross credit (gc)') - amount('gross debit (gc)') : net;
    if (bad !== undefined) {
      invalidRows.push({ line, reason: bad });
      continue;
    }
    const batch = get('batch number');
    const type = get('type');
    const batchKey = `${batch}\u0000${currency}`;
    const sums = batchRows.get(batchKey) ?? { net: 0n, rows: 0 };
    batchRows.set(batchKey, { net: sums.net + net, rows: sums.rows + 1 });
    if (type.toLowerCase() === 'merchantpayout') {
      const parent = parentSums.get(batchKey) ?? { batch, currency, amount: 0n };
      parentSums.set(batchKey, { ...parent, amount: parent.amount - net });
      continue;
    }
    const category = categoryOf(type);
    const id =
      category === 'refund' || category === 'dispute'
        ? get('modification reference') || get('psp reference')
        : get('psp reference') || get('modification reference');
    children.push({ batchKey, child: { id, parentKey: batch, category, currency, gross, net } });
  }
  const parents: SettlementParent[] = [...parentSums.values()].map((parent) => ({
    kind: 'adyen_batch',
    key: parent.batch,
    currency: parent.currency,
    amount: parent.amount,
    dueDate: null,
    itemizable: true,
  }));
  const carriedBatches = [...batchRows]
    .filter(([key]) => !parentSums.has(key))
    .map(([key, sums]) => {
      const [batch, currency] = key.split('\u0000') as [string, CurrencyCode];
      return {
        batch,
        currency,
        net: formatMinor(sums.net, currencyExponent(currency)),
        rows: sums.rows,
      };
    });
  return {
    parents,
    children: children
      .filter((entry) => parentSums.has(entry.batchKey))
      .map((entry) => entry.child),
    carriedBatches,
    invalidRows,
  };
}
