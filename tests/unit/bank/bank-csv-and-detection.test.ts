import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../../src/domain/errors';
import type { BankCsvColumnMap } from '../../../src/sources/bank/bank-csv';
import { parseBankCsv } from '../../../src/sources/bank/bank-csv';
import { BankStatementRejectedError } from '../../../src/sources/bank/bank-entry';
import {
  detectBankFormat,
  parseBankStatement,
  readBankStatementFile,
} from '../../../src/sources/bank/read-bank-statement';
import { makeTempDir } from '../support/temp-files';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'bank');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const temp = makeTempDir('bank-statements');
afterAll(() => temp.cleanup());

/** A German-style export: `;` separated, `1.234,56` amounts, DD.MM.YYYY dates, signed amounts. */
const SIGNED_MAP: BankCsvColumnMap = {
  bookingDate: 'Buchungstag',
  valueDate: 'Valuta',
  amount: 'Betrag',
  currency: 'Waehrung',
  bankReference: 'Referenz',
  remittanceText: ['Verwendungszweck', 'Auftraggeber'],
  account: 'Konto',
  dateFormat: 'DD.MM.YYYY',
  decimalSeparator: ',',
  delimiter: ';',
};
const SIGNED_CSV = [
  'Konto;Buchungstag;Valuta;Betrag;Waehrung;Referenz;Verwendungszweck;Auftraggeber',
  'DE01;02.10.2025;03.10.2025;1.234,56;EUR;R-1;"ADYEN BATCH 1300; payout";Adyen N.V.',
  'DE01;02.10.2025;;-0,32;eur;R-2;Kontogebuehr;',
  '',
].join('\n');

const SPLIT_MAP: BankCsvColumnMap = {
  bookingDate: 'Date',
  credit: 'Credit',
  debit: 'Debit',
  defaultCurrency: 'USD',
  customerReference: 'Reference',
  remittanceText: 'Description',
  dateFormat: 'MM/DD/YYYY',
};
const SPLIT_CSV = [
  'Date,Description,Reference,Debit,Credit',
  '10/02/2025,"STRIPE TRANSFER, po_1Q2w3E4r5T6y",ST-1,,"1,950.00"',
  '10/03/2025,Wire fee,,25.00,',
].join('\r\n');

function rejection(run: () => unknown): { message: string; line: number | null } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BankStatementRejectedError);
    const rejected = error as BankStatementRejectedError;
    return { message: rejected.message, line: rejected.line };
  }
  throw new Error('expected a rejection');
}

describe('bank CSV reader', () => {
  it('reads signed amounts with a comma decimal separator, one statement per account', () => {
    const parsed = parseBankCsv(SIGNED_CSV, 'bank.csv', SIGNED_MAP);
    const common = {
      statementId: 'bank.csv#DE01',
      account: 'DE01',
      currency: 'EUR',
      bookingDate: '2025-10-02',
      customerReference: null,
      reversal: false,
      typeCode: null,
      booked: true,
      xmlPath: null,
    };
    expect(parsed).toEqual({
      format: 'csv',
      location: 'bank.csv',
      statements: [
        {
          id: 'bank.csv#DE01',
          account: 'DE01',
          currency: 'EUR',
          opening: null,
          closing: null,
          entries: parsed.entries,
        },
      ],
      entries: [
        {
          ...common,
          amount: 123456n,
          signedAmount: 123456n,
          direction: 'credit',
          valueDate: '2025-10-03',
          bankReference: 'R-1',
          remittanceText: 'ADYEN BATCH 1300; payout Adyen N.V.',
          line: 2,
        },
        {
          ...common,
          amount: 32n,
          signedAmount: -32n,
          direction: 'debit',
          valueDate: '2025-10-02',
          bankReference: 'R-2',
          remittanceText: 'Kontogebuehr',
          line: 3,
        },
      ],
      findings: [],
    });
  });

  it('reads separate credit and debit columns with a default currency and US dates', () => {
    const parsed = parseBankCsv(SPLIT_CSV, 'us.csv', SPLIT_MAP);
    expect(
      parsed.entries.map((e) => [
        e.direction,
        e.amount,
        e.currency,
        e.bookingDate,
        e.valueDate,
        e.customerReference,
        e.remittanceText,
        e.line,
      ]),
    ).toEqual([
      [
        'credit',
        195000n,
        'USD',
        '2025-10-02',
        '2025-10-02',
        'ST-1',
        'STRIPE TRANSFER, po_1Q2w3E4r5T6y',
        2,
      ],
      ['debit', 2500n, 'USD', '2025-10-03', '2025-10-03', null, 'Wire fee', 3],
    ]);
  });

  it('reads an unsigned amount with a direction column', () => {
    const csv = 'Date,Amount,CD,Ccy\n2025-10-02,10.00,CRDT,JPY\n2025-10-02,3,D,JPY\n';
    const map: BankCsvColumnMap = {
      bookingDate: 'Date',
      amount: 'Amount',
      direction: 'CD',
      currency: 'Ccy',
    };
    expect(
      parseBankCsv(csv, 'jp.csv', map).entries.map((e) => [e.signedAmount, e.currency]),
    ).toEqual([
      [10n, 'JPY'],
      [-3n, 'JPY'],
    ]);
  });

  it.each([
    [
      'a mapped column missing from the header',
      () => parseBankCsv(SPLIT_CSV.replace('Reference', 'Ref'), 'us.csv', SPLIT_MAP),
      "bank statement us.csv line 1: column 'Reference' is missing",
      1,
    ],
    [
      'an amount that is not a decimal',
      () => parseBankCsv(SPLIT_CSV.replace('25.00', '25.0O'), 'us.csv', SPLIT_MAP),
      "bank statement us.csv line 3: column 'Debit': amount '25.0O' is not a decimal number with '.' as decimal separator",
      3,
    ],
    [
      'a row with both a credit and a debit',
      () => parseBankCsv(SPLIT_CSV.replace('25.00,', '25.00,1.00'), 'us.csv', SPLIT_MAP),
      "bank statement us.csv line 3: column 'Credit': exactly one of 'Credit' and 'Debit' must be filled",
      3,
    ],
    [
      'a date in another layout',
      () => parseBankCsv(SPLIT_CSV.replace('10/03/2025', '2025-10-03'), 'us.csv', SPLIT_MAP),
      "bank statement us.csv line 3: column 'Date': '2025-10-03' is not a date (MM/DD/YYYY)",
      3,
    ],
    [
      'an unknown currency',
      () => parseBankCsv(SIGNED_CSV.replace(';eur;', ';EURO;'), 'bank.csv', SIGNED_MAP),
      "bank statement bank.csv line 3: column 'Waehrung': 'EURO' is not an ISO 4217 currency code",
      3,
    ],
    [
      'a map without an amount column',
      () => parseBankCsv(SPLIT_CSV, 'us.csv', { bookingDate: 'Date', defaultCurrency: 'USD' }),
      'bank statement us.csv: the column map needs an amount column, or both a credit and a debit column',
      null,
    ],
  ])('rejects %s, naming the file and line', (_what, run, message, line) => {
    expect(rejection(run)).toEqual({ message, line });
  });
});

describe('bank statement format detection', () => {
  it.each([
    ['camt053-v02-two-statements.xml', 'camt053'],
    ['camt053-v08-unbalanced.xml', 'camt053'],
    ['moov-bai2__sample1.txt', 'bai2'],
    ['moov-bai2__spec-section3.txt', 'bai2'],
    ['bai2-two-currencies.txt', 'bai2'],
  ])('detects %s as %s from its content, also with a BOM', (name, format) => {
    expect(detectBankFormat(fixture(name))).toBe(format);
    expect(detectBankFormat(`\uFEFF${fixture(name)}`)).toBe(format);
  });

  it('detects a bank CSV only when its header has every mapped column', () => {
    expect(detectBankFormat(SPLIT_CSV, SPLIT_MAP)).toBe('csv');
    expect(detectBankFormat(SPLIT_CSV)).toBeUndefined();
    expect(detectBankFormat(SIGNED_CSV, SPLIT_MAP)).toBeUndefined();
  });

  it('parses what it detects, and rejects content it cannot tell', () => {
    expect(parseBankStatement(fixture('bai2-two-currencies.txt'), 'x').format).toBe('bai2');
    expect(parseBankStatement(SPLIT_CSV, 'us.csv', { csvColumns: SPLIT_MAP }).entries).toHaveLength(
      2,
    );
    expect(rejection(() => parseBankStatement('Date,Amount\n', 'x.csv'))).toEqual({
      message: 'bank statement x.csv: not a camt.053 or BAI2 file (a bank CSV needs a column map)',
      line: null,
    });
    expect(
      rejection(() =>
        parseBankStatement(fixture('moov-bai2__sample1.txt'), 'b', { format: 'camt053' }),
      ),
    ).toEqual({
      message: "bank statement b line 1: not well-formed XML: char '0' is not expected.",
      line: 1,
    });
  });

  it('reads a file from disk, and rejects a missing file or bytes that are not UTF-8', async () => {
    const path = temp.write('statement.bai', fixture('bai2-two-currencies.txt'));
    const parsed = await readBankStatementFile(path);
    expect([parsed.format, parsed.location, parsed.entries.length]).toEqual(['bai2', path, 4]);
    const missing = join(temp.dir, 'missing.xml');
    await expect(readBankStatementFile(missing)).rejects.toThrow(
      new InputRejectedError(`bank statement ${missing} does not exist`, { location: missing }),
    );
    const latin1 = temp.write('latin1.bai', Buffer.from([0x30, 0x31, 0x2c, 0xe9, 0x0a]));
    await expect(readBankStatementFile(latin1)).rejects.toThrow(
      `bank statement ${latin1} is not UTF-8 text`,
    );
    await expect(readBankStatementFile(temp.dir)).rejects.toThrow(
      `bank statement ${temp.dir} is not a file`,
    );
  });
});
