import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../../src/domain/errors';
import { parseBai2 } from '../../../src/sources/bank/bai2';
import { BankStatementRejectedError, type BankEntry } from '../../../src/sources/bank/bank-entry';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'bank');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const TWO = 'bai2-two-currencies.txt';

/** A BAI2 entry with the fields every detail of these files shares. */
function entry(fields: Partial<BankEntry> & Pick<BankEntry, 'amount' | 'direction'>): BankEntry {
  return {
    statementId: '',
    account: '',
    signedAmount: fields.direction === 'credit' ? fields.amount : -fields.amount,
    currency: 'USD',
    bookingDate: null,
    valueDate: null,
    bankReference: null,
    customerReference: null,
    remittanceText: null,
    reversal: false,
    typeCode: null,
    booked: true,
    line: null,
    xmlPath: null,
    ...fields,
  };
}

function rejection(content: string): { message: string; line: number | null } {
  try {
    parseBai2(content, 'bank.bai');
  } catch (error) {
    expect(error).toBeInstanceOf(BankStatementRejectedError);
    expect(error).toBeInstanceOf(InputRejectedError);
    const rejected = error as BankStatementRejectedError;
    return { message: rejected.message, line: rejected.line };
  }
  throw new Error('expected the file to be rejected');
}

describe('BAI2 reader', () => {
  it('reads the moov-io sample: two account days, signed balances, an 88 of a 03, padded text', () => {
    const parsed = parseBai2(fixture('moov-bai2__sample1.txt'), 'sample1.txt');
    expect(
      parsed.statements.map((s) => [s.id, s.currency, s.opening, s.closing, s.entries.length]),
    ).toEqual([
      ['10200123456:2006-03-17:1', 'CAD', 0n, 0n, 11],
      ['10200123456:2006-03-17:2', 'CAD', 0n, 0n, 6],
    ]);
    expect(parsed.entries).toHaveLength(17);
    expect(parsed.entries[0]).toEqual(
      entry({
        statementId: '10200123456:2006-03-17:1',
        account: '10200123456',
        amount: 2500n,
        direction: 'debit',
        currency: 'CAD',
        bookingDate: '2006-03-17',
        valueDate: '2006-03-16',
        remittanceText: 'RETURNED CHEQUE',
        typeCode: '409',
        line: 5,
      }),
    );
    expect(parsed.entries[3]).toEqual(
      entry({
        statementId: '10200123456:2006-03-17:1',
        account: '10200123456',
        amount: 203500n,
        direction: 'credit',
        currency: 'CAD',
        bookingDate: '2006-03-17',
        valueDate: '2006-03-16',
        remittanceText: 'TFR 1020 0345678',
        typeCode: '108',
        line: 8,
      }),
    );
    expect(parsed.findings.map((f) => [f.check, f.severity, f.line, f.reason])).toEqual([
      [
        'statement_balance',
        'info',
        3,
        'statement 10200123456:2006-03-17:1 (account 10200123456, CAD): entries 0.00 = closing 0.00 − opening 0.00',
      ],
      [
        'summary_total',
        'info',
        3,
        'account 10200123456 (CAD): total credits 100 2085.00 in 3 items = detail credits 2085.00 in 3 items',
      ],
      [
        'summary_total',
        'info',
        3,
        'account 10200123456 (CAD): total debits 400 2085.00 in 8 items = detail debits 2085.00 in 8 items',
      ],
      [
        'statement_balance',
        'info',
        17,
        'statement 10200123456:2006-03-17:2 (account 10200123456, CAD): entries 0.00 = closing 0.00 − opening 0.00',
      ],
      [
        'summary_total',
        'info',
        17,
        'account 10200123456 (CAD): total credits 100 1115.00 in 2 items = detail credits 1115.00 in 2 items',
      ],
      [
        'summary_total',
        'info',
        17,
        'account 10200123456 (CAD): total debits 400 1115.00 in 4 items = detail debits 1115.00 in 4 items',
      ],
    ]);
  });

  it("reads the specification's section 3 example: a 16 text not ended by '/', USD by default", () => {
    const parsed = parseBai2(fixture('moov-bai2__spec-section3.txt'), 'spec.txt');
    expect(parsed).toEqual({
      format: 'bai2',
      location: 'spec.txt',
      statements: [
        {
          id: '0975312468:2004-06-20:1',
          account: '0975312468',
          currency: 'USD',
          opening: null,
          closing: null,
          entries: parsed.entries,
        },
      ],
      entries: [
        entry({
          statementId: '0975312468:2004-06-20:1',
          account: '0975312468',
          amount: 1500000n,
          direction: 'credit',
          bookingDate: '2004-06-20',
          valueDate: '2004-06-20',
          bankReference: 'DD1620',
          remittanceText: 'DEALER PAYMENTS',
          typeCode: '165',
          line: 4,
        }),
      ],
      findings: [],
    });
  });

  it('reads continuations, text with commas and slashes, funds types V/S/Z and two currencies', () => {
    const parsed = parseBai2(fixture(TWO), TWO);
    const usd = { statementId: '1111111111:2025-10-02:1', account: '1111111111' };
    const jpy = { statementId: '2222222222:2025-10-02:2', account: '2222222222', currency: 'JPY' };
    expect(parsed.entries).toEqual([
      entry({
        ...usd,
        amount: 500000n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-03',
        bankReference: 'PAYREF1',
        customerReference: 'CUST1',
        remittanceText: 'STRIPE PAYOUT po_1Q2w3E4r5T6y, REF/A1',
        typeCode: '165',
        line: 4,
      }),
      entry({
        ...usd,
        amount: 50000n,
        direction: 'debit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'CHK0042',
        remittanceText: 'CHECK PAID',
        typeCode: '475',
        line: 5,
      }),
      entry({
        ...usd,
        amount: 12500n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'WIRE77',
        remittanceText: 'INCOMING WIRE FROM ACME, INV 2025/0042',
        typeCode: '195',
        line: 6,
      }),
      entry({
        ...jpy,
        amount: 20000n,
        direction: 'debit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'OUT1',
        remittanceText: 'FEE JPY',
        typeCode: '495',
        line: 11,
      }),
    ]);
    expect(
      parsed.statements.map((s) => [s.id, s.currency, s.opening, s.closing, s.entries.length]),
    ).toEqual([
      ['1111111111:2025-10-02:1', 'USD', 1000000n, 1462500n, 3],
      ['2222222222:2025-10-02:2', 'JPY', 500000n, 480000n, 1],
    ]);
    expect(parsed.findings).toEqual([
      {
        location: TWO,
        check: 'statement_balance',
        severity: 'info',
        line: 3,
        field: 'balance',
        reason:
          'statement 1111111111:2025-10-02:1 (account 1111111111, USD): entries 4625.00 = closing 14625.00 − opening 10000.00',
        value: '4625.00',
        count: 3,
      },
      {
        location: TWO,
        check: 'summary_total',
        severity: 'info',
        line: 3,
        field: '100',
        reason:
          'account 1111111111 (USD): total credits 100 5125.00 in 2 items = detail credits 5125.00 in 2 items',
        value: '5125.00',
        count: 2,
      },
      {
        location: TWO,
        check: 'summary_total',
        severity: 'info',
        line: 3,
        field: '400',
        reason:
          'account 1111111111 (USD): total debits 400 500.00 in 1 items = detail debits 500.00 in 1 items',
        value: '500.00',
        count: 1,
      },
      {
        location: TWO,
        check: 'unknown_type_code',
        severity: 'warning',
        line: 12,
        field: 'type code',
        reason:
          'detail type code 890 is neither a credit (100–399) nor a debit (400–699): not read as an entry',
        value: '890',
        count: null,
      },
      {
        location: TWO,
        check: 'statement_balance',
        severity: 'info',
        line: 10,
        field: 'balance',
        reason:
          'statement 2222222222:2025-10-02:2 (account 2222222222, JPY): entries -20000 = closing 480000 − opening 500000',
        value: '-20000',
        count: 1,
      },
    ]);
  });

  it('reads a CRLF copy exactly as the LF file', () => {
    const lf = parseBai2(fixture(TWO), TWO);
    expect(parseBai2(fixture(TWO).replaceAll('\n', '\r\n'), TWO)).toEqual(lf);
  });

  it('reports a statement whose entries do not add up to closing − opening as an error finding', () => {
    // Closing ledger 1.00 lower; the control totals are adjusted so that the file itself is valid.
    const text = fixture(TWO)
      .replace('015,+1462500', '015,+1462400')
      .replace('49,3587500,7/', '49,3587400,7/')
      .replace('98,4587500,2,13/', '98,4587400,2,13/')
      .replace('99,4587500,1,15/', '99,4587400,1,15/');
    const findings = parseBai2(text, 'bank.bai').findings.filter(
      (f) => f.check === 'statement_balance' && f.severity === 'error',
    );
    expect(findings).toEqual([
      {
        location: 'bank.bai',
        check: 'statement_balance',
        severity: 'error',
        line: 3,
        field: 'balance',
        reason:
          'statement 1111111111:2025-10-02:1 (account 1111111111, USD): entries 4625.00 != closing 14624.00 − opening 10000.00 = 4624.00 (difference 1.00)',
        value: '4625.00',
        count: 3,
      },
    ]);
  });

  it('reports a total credits summary (100) that the details do not add up to', () => {
    const text = fixture(TWO)
      .replace('100,512500,2,', '100,512600,2,')
      .replace('49,3587500,7/', '49,3587600,7/')
      .replace('98,4587500,2,13/', '98,4587600,2,13/')
      .replace('99,4587500,1,15/', '99,4587600,1,15/');
    const finding = parseBai2(text, 'bank.bai').findings.find((f) => f.field === '100');
    expect(finding).toEqual({
      location: 'bank.bai',
      check: 'summary_total',
      severity: 'error',
      line: 3,
      field: '100',
      reason:
        'account 1111111111 (USD): total credits 100 5126.00 in 2 items != detail credits 5125.00 in 2 items',
      value: '5126.00',
      count: 2,
    });
  });

  it.each([
    [
      'a wrong account control total',
      (t: string) => t.replace('49,3587500,7/', '49,3587501,7/'),
      9,
      'bank statement bank.bai line 9: account 1111111111 control total 3587501 != sum of its amounts 3587500 (35875.00 USD)',
    ],
    [
      'a wrong account record count (88 records count)',
      (t: string) => t.replace('49,3587500,7/', '49,3587500,5/'),
      9,
      'bank statement bank.bai line 9: account 1111111111 record count 5 != 7 records (03 to 49, 88 included)',
    ],
    [
      'a wrong group record count',
      (t: string) => t.replace('98,4587500,2,13/', '98,4587500,2,12/'),
      14,
      'bank statement bank.bai line 14: group record count 12 != 13 records (02 to 98, 88 included)',
    ],
    [
      'a wrong group account count',
      (t: string) => t.replace('98,4587500,2,13/', '98,4587500,3,13/'),
      14,
      'bank statement bank.bai line 14: group account count 3 != 2 accounts',
    ],
    [
      'a wrong file control total',
      (t: string) => t.replace('99,4587500,1,15/', '99,4587000,1,15/'),
      15,
      'bank statement bank.bai line 15: file control total 4587000 != sum of its group totals 4587500',
    ],
    [
      'a truncated file (no 99 trailer)',
      (t: string) => t.split('\n').slice(0, 13).join('\n'),
      13,
      'bank statement bank.bai line 13: the file ends without a 99 file trailer (truncated?)',
    ],
    [
      'an amount with a decimal point',
      (t: string) => t.replace('16,475,50000,', '16,475,500.00,'),
      5,
      "bank statement bank.bai line 5: amount '500.00' is not an unsigned whole number of minor units",
    ],
    [
      'an unknown record type',
      (t: string) => t.replace('16,475,', '17,475,'),
      5,
      "bank statement bank.bai line 5: unknown BAI2 record type '17'",
    ],
    [
      'a detail outside an account',
      (t: string) => t.replace('49,1000000,4/\n', '49,1000000,4/\n16,165,1,0,,,X/\n'),
      14,
      'bank statement bank.bai line 14: detail record 16 outside an account (03 missing)',
    ],
    [
      'an impossible value date',
      (t: string) => t.replace('V,251003,', 'V,251303,'),
      4,
      "bank statement bank.bai line 4: value date '251303' is not a date (YYMMDD)",
    ],
    [
      'an unknown currency',
      (t: string) => t.replace('2222222222,JPY,', '2222222222,XYZ,'),
      10,
      "bank statement bank.bai line 10: currency 'XYZ' is not an ISO 4217 code",
    ],
    [
      'an unknown funds type',
      (t: string) => t.replace('16,495,20000,Z,', '16,495,20000,Q,'),
      11,
      "bank statement bank.bai line 11: funds type 'Q' is not one of 0, 1, 2, V, S, D, Z",
    ],
    [
      'a record after the file trailer',
      (t: string) => `${t}01,X,Y,251003,0600,8,,,2/\n`,
      16,
      'bank statement bank.bai line 16: record 01 after the 99 file trailer',
    ],
  ])('rejects %s, naming the file and line', (_what, mutate, line, message) => {
    expect(rejection(mutate(fixture(TWO)))).toEqual({ message, line });
  });

  it('rejects an empty file', () => {
    expect(rejection('\n\n')).toEqual({
      message: 'bank statement bank.bai: the file is empty (no 01 file header)',
      line: null,
    });
  });
});
