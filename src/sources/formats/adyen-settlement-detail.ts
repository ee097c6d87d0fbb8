import { currencyExponent } from '../../domain/currency';
import { formatMinor } from '../../domain/money';
import type { CsvRecord } from '../csv-records';
import type {
  AdyenMatchKey,
  DataQualityIssueDraft,
  FormatReader,
  FormatRow,
  ProcessorFormat,
  ReportProblem,
} from './processor-format';
import {
  localToInstant,
  parseCurrency,
  parseIsoLocal,
  parseMajorAmount,
  type CurrencyInfo,
} from './parse-values';
import {
  cell,
  mapHeader,
  matchesColumnMap,
  type ColumnMap,
  type MappedHeader,
} from './table-format';

/**
 * Adyen settlement details report (`settlement_detail_report_batch_<N>.csv`),
 * https://docs.adyen.com/reporting/settlement-detail-report: columns by name (their order and
 * number differ between the 30- and 49-column layouts). Blank lines before the header are
 * skipped by the CSV reader.
 */
const COLUMNS = {
  companyAccount: { names: ['company account'], required: true },
  merchantAccount: { names: ['merchant account'], required: true },
  pspReference: { names: ['psp reference'], required: true },
  merchantReference: { names: ['merchant reference'], required: true },
  creationDate: { names: ['creation date'], required: true },
  timeZone: { names: ['timezone', 'time zone'], required: true },
  type: { names: ['type'], required: true },
  modificationReference: { names: ['modification reference'], required: true },
  grossCurrency: { names: ['gross currency'], required: true },
  grossDebit: { names: ['gross debit (gc)'], required: true },
  grossCredit: { names: ['gross credit (gc)'], required: true },
  netCurrency: { names: ['net currency'], required: true },
  netDebit: { names: ['net debit (nc)'], required: true },
  netCredit: { names: ['net credit (nc)'], required: true },
  batchNumber: { names: ['batch number'], required: true },
  commission: { names: ['commission (nc)'], required: false },
  markup: { names: ['markup (nc)'], required: false },
  schemeFees: { names: ['scheme fees (nc)'], required: false },
  interchange: { names: ['interchange (nc)'], required: false },
  paymentMethod: { names: ['payment method'], required: false },
} as const satisfies ColumnMap<string>;

type Column = keyof typeof COLUMNS;

/** Fee columns: positive, in the net currency, already netted into Net Debit/Credit. */
const FEE_COLUMNS: readonly Column[] = ['commission', 'markup', 'schemeFees', 'interchange'];

/**
 * Record types that concern the whole batch, not one payment: read for the batch check, not
 * matched. `Fee`, `MerchantPayout`, `Balancetransfer` per the report docs; the other account-level
 * types are treated alike (they carry no PSP reference of a payment).
 */
const BATCH_LEVEL_TYPES = new Set([
  'fee',
  'merchantpayout',
  'balancetransfer',
  'misccosts',
  'depositcorrection',
  'invoicededuction',
  'matchedstatement',
  'manualcorrected',
  'bankinstructionreturned',
  'epapaid',
  'paidout',
  'paidoutreversed',
]);

/** Types whose rows move the batch's money out: the payout, and the balance carried over. */
const CARRY_TYPES = new Set(['merchantpayout', 'balancetransfer']);

/** Modifications of an earlier payment: `auto` matches them by their modification reference. */
const MODIFICATION_TYPES = new Set([
  'refunded',
  'refundedreversed',
  'chargeback',
  'secondchargeback',
  'chargebackreversed',
]);

const KEY_COLUMNS: Record<Exclude<AdyenMatchKey, 'auto'>, Column> = {
  psp_reference: 'pspReference',
  modification_reference: 'modificationReference',
  merchant_reference: 'merchantReference',
};

/** Per batch and net currency: net of the rows (minor units), and what was paid out or carried. */
interface BatchSums {
  net: bigint;
  carried: bigint;
  rows: number;
}

class AdyenSettlementDetailReader implements FormatReader {
  private header: MappedHeader<Column> | undefined;
  private readonly batches = new Map<string, BatchSums>();
  private invalidRows = 0;
  private readonly names: Partial<Record<Column, string>> = {};

  constructor(
    private readonly matchKey: AdyenMatchKey,
    private readonly location: string,
  ) {}

  record(
    { fields, line }: CsvRecord,
    problem: ReportProblem,
  ): FormatRow | 'framing' | 'not-a-transaction' | undefined {
    if (!this.header) {
      const header = mapHeader(COLUMNS, fields, this.location, line, ADYEN_SETTLEMENT_DETAIL.title);
      this.header = header;
      for (const key of Object.keys(COLUMNS) as Column[]) {
        const at = header.index[key];
        if (at !== -1) this.names[key] = (fields[at] ?? '').trim();
      }
      return 'framing';
    }
    const header = this.header;
    if (fields.length !== header.width) {
      this.invalidRows++;
      problem(
        null,
        `${fields.length < header.width ? 'short row' : 'long row'}: ${fields.length} fields, header has ${header.width}`,
        fields.slice(0, 9).join(','),
      );
      return undefined;
    }
    const get = (key: Column): string => cell(header, fields, key);
    // Issues name the column as the file does (`Net Credit (NC)`).
    const name = (key: Column): string => this.names[key] ?? COLUMNS[key].names[0];
    let ok = true;
    const fail = (key: Column, reason: string, value: string): void => {
      problem(name(key), reason, value);
      ok = false;
    };
    const currencyOf = (key: 'grossCurrency' | 'netCurrency'): CurrencyInfo | undefined => {
      const text = get(key);
      if (text === '') return undefined;
      const parsed = parseCurrency(text);
      if (parsed.ok) return parsed.value;
      fail(key, `${name(key)} ${parsed.reason}`, text);
      return undefined;
    };
    const amount = (key: Column, currency: CurrencyInfo | undefined): bigint | undefined => {
      const text = get(key);
      if (text === '') return undefined;
      if (!currency) {
        fail(key, `${name(key)} has an amount but no currency`, text);
        return undefined;
      }
      const parsed = parseMajorAmount(text, currency.exponent);
      if (parsed.ok && parsed.value >= 0n) return parsed.value;
      fail(key, `${name(key)} ${parsed.ok ? 'is negative' : parsed.reason}`, text);
      return undefined;
    };

    const type = get('type');
    const typeKey = type.toLowerCase();
    if (type === '') fail('type', 'Type is empty', '');
    const netCurrency = currencyOf('netCurrency');
    if (!netCurrency && ok) fail('netCurrency', 'Net Currency is empty', '');
    const netDebit = amount('netDebit', netCurrency);
    const netCredit = amount('netCredit', netCurrency);
    const net = (netCredit ?? 0n) - (netDebit ?? 0n);
    const batch = get('batchNumber');

    if (BATCH_LEVEL_TYPES.has(typeKey)) {
      if (!ok || !netCurrency) {
        this.invalidRows++;
        return undefined;
      }
      this.addToBatch(batch, netCurrency.code, net, CARRY_TYPES.has(typeKey) && net < 0n);
      return 'not-a-transaction';
    }

    const grossCurrency = currencyOf('grossCurrency');
    const grossDebit = amount('grossDebit', grossCurrency);
    const grossCredit = amount('grossCredit', grossCurrency);
    let fee = 0n;
    for (const key of FEE_COLUMNS) fee += amount(key, netCurrency) ?? 0n;
    if (netDebit === undefined && netCredit === undefined && ok)
      fail('netCredit', 'Net Debit (NC) and Net Credit (NC) are both empty', '');

    const keyColumn =
      this.matchKey === 'auto'
        ? MODIFICATION_TYPES.has(typeKey)
          ? 'modificationReference'
          : 'pspReference'
        : KEY_COLUMNS[this.matchKey];
    const transactionId = get(keyColumn);
    if (transactionId === '') fail(keyColumn, `${name(keyColumn)} (the matching key) is empty`, '');

    const stampText = get('creationDate');
    const local = parseIsoLocal(stampText);
    let createdAtMs = 0;
    if (!local) fail('creationDate', 'Creation Date is not YYYY-MM-DD HH:MM:SS', stampText);
    else {
      const instant = localToInstant(local, get('timeZone'));
      if (instant.ok) createdAtMs = instant.value;
      else fail('timeZone', `TimeZone ${instant.reason}`, get('timeZone'));
    }
    if (!ok || !netCurrency) {
      this.invalidRows++;
      return undefined;
    }
    this.addToBatch(batch, netCurrency.code, net, false);
    // No gross columns (e.g. PaymentCost): the gross is what the net and the fees add up to.
    const hasGross = grossDebit !== undefined || grossCredit !== undefined;
    const merchantReference = get('merchantReference');
    return {
      transactionId,
      currency: netCurrency.code,
      grossCurrency: hasGross && grossCurrency ? grossCurrency.code : netCurrency.code,
      gross: hasGross ? (grossCredit ?? 0n) - (grossDebit ?? 0n) : net + fee,
      fee,
      net,
      rawStatus: type,
      merchantId: get('merchantAccount'),
      createdAtMs,
      description: merchantReference !== '' ? merchantReference : null,
      paymentMethod: get('paymentMethod') !== '' ? get('paymentMethod') : null,
    };
  }

  private addToBatch(batch: string, currency: string, net: bigint, carried: boolean): void {
    const key = `${batch}\u0000${currency}`;
    let sums = this.batches.get(key);
    if (!sums) this.batches.set(key, (sums = { net: 0n, carried: 0n, rows: 0 }));
    sums.rows++;
    if (carried) sums.carried -= net;
    else sums.net += net;
  }

  /**
   * The batch check: per batch and net currency, the net of all rows (payments, fees, balance
   * brought in) must equal what the batch paid out or carried to the next batch (MerchantPayout
   * and outgoing Balancetransfer rows). `batch_balance` info when it does, error when not.
   */
  end(): DataQualityIssueDraft[] {
    const findings: DataQualityIssueDraft[] = [];
    for (const [key, sums] of this.batches) {
      const [batch, currency] = key.split('\u0000') as [string, string];
      const exponent = currencyExponent(currency);
      const net = formatMinor(sums.net, exponent);
      const carried = formatMinor(sums.carried, exponent);
      const balanced = sums.net === sums.carried;
      const invalid =
        !balanced && this.invalidRows > 0
          ? `; ${this.invalidRows} invalid row(s) in the file are not included`
          : '';
      findings.push({
        check: 'batch_balance',
        severity: balanced ? 'info' : 'error',
        line: null,
        field: 'Batch Number',
        reason: balanced
          ? `batch ${batch} ${currency}: net of the rows ${net} = paid out or carried over ${carried}`
          : `batch ${batch} ${currency}: net of the rows ${net} != paid out or carried over ${carried} ` +
            `(difference ${formatMinor(sums.net - sums.carried, exponent)})${invalid}`,
        value: batch,
        count: sums.rows,
      });
    }
    return findings;
  }
}

/**
 * Adyen settlement details report: `Gross Debit/Credit (GC)` in the gross currency, `Net
 * Debit/Credit (NC)` and the fee columns (Commission, Markup, Scheme Fees, Interchange) in the net
 * currency, all unsigned major units: gross = credit − debit, net = credit − debit, fee = the sum
 * of the fee columns. `Creation Date` is local time in the `TimeZone` column. `Type` is the raw
 * status. Batch-level rows feed the `batch_balance` check; short rows are invalid rows.
 */
export const ADYEN_SETTLEMENT_DETAIL: ProcessorFormat = {
  name: 'adyen-settlement-detail',
  processor: 'adyen',
  title: 'Adyen settlement details report',
  detectionColumns: [
    'Company Account',
    'Merchant Account',
    'Psp Reference',
    'Merchant Reference',
    'Creation Date',
    'TimeZone',
    'Type',
    'Modification Reference',
    'Gross Currency',
    'Gross Debit (GC)',
    'Gross Credit (GC)',
    'Net Currency',
    'Net Debit (NC)',
    'Net Credit (NC)',
    'Batch Number',
  ],
  detect: (fields) => matchesColumnMap(COLUMNS, fields),
  createReader: (settings, location) =>
    new AdyenSettlementDetailReader(settings.adyenMatchKey, location),
};
