import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputRejectedError } from '../../../src/domain/errors';
import { BankStatementRejectedError, type BankEntry } from '../../../src/sources/bank/bank-entry';
import { parseCamt053 } from '../../../src/sources/bank/camt053';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'bank');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const V02 = 'camt053-v02-two-statements.xml';
const V08 = 'camt053-v08-unbalanced.xml';

function entry(fields: Partial<BankEntry> & Pick<BankEntry, 'amount' | 'direction'>): BankEntry {
  return {
    statementId: '',
    account: '',
    signedAmount: fields.direction === 'credit' ? fields.amount : -fields.amount,
    currency: 'EUR',
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

function rejection(content: string): {
  message: string;
  line: number | null;
  xmlPath: string | null;
} {
  try {
    parseCamt053(content, 'stmt.xml');
  } catch (error) {
    expect(error).toBeInstanceOf(BankStatementRejectedError);
    expect(error).toBeInstanceOf(InputRejectedError);
    const rejected = error as BankStatementRejectedError;
    return { message: rejected.message, line: rejected.line, xmlPath: rejected.xmlPath };
  }
  throw new Error('expected the document to be rejected');
}

const EUR = {
  statementId: 'STMT-EUR-20251002',
  account: 'DE89370400440532013000',
  currency: 'EUR',
};
const USD = { statementId: 'STMT-USD-20251002', account: '0975312468', currency: 'USD' };
const STMT1 = 'Document/BkToCstmrStmt/Stmt[1]';
const STMT2 = 'Document/BkToCstmrStmt/Stmt[2]';

describe('camt.053 reader', () => {
  it('reads a camt.053.001.02 document: credits, debits, a reversal, a batch entry, two currencies', () => {
    const parsed = parseCamt053(fixture(V02), V02);
    expect(parsed.entries).toEqual([
      entry({
        ...EUR,
        amount: 39028n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'BANKREF-0001',
        customerReference: 'ADYEN-BATCH-1300',
        remittanceText: 'Adyen payout batch 1300 & fees',
        typeCode: 'PMNT/RCDT/ESCT',
        xmlPath: `${STMT1}/Ntry[1]`,
      }),
      entry({
        ...EUR,
        amount: 5000n,
        direction: 'debit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'BANKREF-0002',
        remittanceText: 'Account fee October',
        typeCode: 'NCHG',
        xmlPath: `${STMT1}/Ntry[2]`,
      }),
      entry({
        ...EUR,
        amount: 2500n,
        direction: 'debit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-01',
        bankReference: 'BANKREF-0003',
        customerReference: 'E2E-RETURNED-7',
        remittanceText: 'Return of credit, account closed',
        reversal: true,
        xmlPath: `${STMT1}/Ntry[3]`,
      }),
      entry({
        ...EUR,
        amount: 2500n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-03',
        bankReference: 'BANKREF-0004',
        customerReference: 'INV-1001',
        remittanceText: 'RF18539007547034 Invoice 1002',
        xmlPath: `${STMT1}/Ntry[4]`,
      }),
      entry({
        ...USD,
        amount: 95000n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'USREF-77',
        remittanceText: 'STRIPE TRANSFER ST-A1B2C3 po_1Q2w3E4r5T6y',
        xmlPath: `${STMT2}/Ntry[1]`,
      }),
      entry({
        ...USD,
        amount: 10000n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        bankReference: 'USREF-78',
        booked: false,
        xmlPath: `${STMT2}/Ntry[2]`,
      }),
    ]);
    expect(
      parsed.statements.map((s) => [s.id, s.account, s.currency, s.opening, s.closing]),
    ).toEqual([
      ['STMT-EUR-20251002', 'DE89370400440532013000', 'EUR', 100000n, 134028n],
      ['STMT-USD-20251002', '0975312468', 'USD', -2000n, 93000n],
    ]);
    expect(parsed.findings).toEqual([
      {
        location: V02,
        check: 'statement_balance',
        severity: 'info',
        line: null,
        field: STMT1,
        reason:
          'statement STMT-EUR-20251002 (account DE89370400440532013000, EUR): entries 340.28 = closing 1340.28 − opening 1000.00',
        value: '340.28',
        count: 4,
      },
      {
        location: V02,
        check: 'statement_balance',
        severity: 'info',
        line: null,
        field: STMT2,
        reason:
          'statement STMT-USD-20251002 (account 0975312468, USD): entries 950.00 = closing 930.00 − opening -20.00',
        value: '950.00',
        count: 1,
      },
    ]);
  });

  it('reads a prefixed camt.053.001.08 document and reports a balance that does not add up', () => {
    const parsed = parseCamt053(fixture(V08), V08);
    expect(parsed.entries).toEqual([
      entry({
        statementId: 'V08-STMT-1',
        account: 'GB33BUKB20201555555555',
        currency: 'GBP',
        amount: 12050n,
        direction: 'credit',
        bookingDate: '2025-10-02',
        valueDate: '2025-10-02',
        bankReference: 'GB-REF-1',
        remittanceText: 'SQUARE PAYOUT ID PO-9F8E7D',
        xmlPath: `${STMT1}/Ntry[1]`,
      }),
    ]);
    expect(parsed.findings).toEqual([
      {
        location: V08,
        check: 'statement_balance',
        severity: 'error',
        line: null,
        field: STMT1,
        reason:
          'statement V08-STMT-1 (account GB33BUKB20201555555555, GBP): entries 120.50 != closing 120.00 − opening 0.00 = 120.00 (difference 0.50)',
        value: '120.50',
        count: 1,
      },
    ]);
  });

  it('reads any camt.053.001.* version (here 13) with the same paths', () => {
    const v13 = fixture(V08).replaceAll('camt.053.001.08', 'camt.053.001.13');
    expect(parseCamt053(v13, V08).entries).toEqual(parseCamt053(fixture(V08), V08).entries);
  });

  it('reports an entry in another currency than its statement and leaves it out of the balance', () => {
    const text = fixture(V02).replace('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="CHF">50.00</Amt>');
    const findings = parseCamt053(text, 'stmt.xml').findings;
    expect(findings.map((f) => [f.check, f.severity, f.field, f.reason])).toEqual([
      [
        'entry_currency',
        'error',
        `${STMT1}/Ntry[2]/Amt`,
        'entry in CHF in statement STMT-EUR-20251002 whose balances are in EUR: not part of the balance check',
      ],
      [
        'statement_balance',
        'error',
        STMT1,
        'statement STMT-EUR-20251002 (account DE89370400440532013000, EUR): entries 390.28 != closing 1340.28 − opening 1000.00 = 340.28 (difference 50.00)',
      ],
      [
        'statement_balance',
        'info',
        STMT2,
        'statement STMT-USD-20251002 (account 0975312468, USD): entries 950.00 = closing 930.00 − opening -20.00',
      ],
    ]);
  });

  it.each([
    [
      'text that is not XML',
      () => '01,BANK,CUST/',
      1,
      "bank statement stmt.xml line 1: not well-formed XML: char '0' is not expected.",
    ],
    [
      'an element that is not closed',
      (t: string) => t.replace('</Stmt>\n    <Stmt>', '\n    <Stmt>'),
      215,
      "bank statement stmt.xml line 215: not well-formed XML: Expected closing tag 'Stmt' (opened in line 8, col 5) instead of closing tag 'BkToCstmrStmt'.",
    ],
    [
      'another ISO 20022 message (camt.054)',
      (t: string) => t.replace('camt.053.001.02', 'camt.054.001.02'),
      'Document',
      'bank statement stmt.xml at Document: namespace urn:iso:std:iso:20022:tech:xsd:camt.054.001.02 is not a camt.053 (BankToCustomerStatement) message',
    ],
    [
      'an entry without an amount',
      (t: string) => t.replace('<Amt Ccy="EUR">50.00</Amt>', ''),
      `${STMT1}/Ntry[2]/Amt`,
      `bank statement stmt.xml at ${STMT1}/Ntry[2]/Amt: the element is missing`,
    ],
    [
      'an amount with more decimals than the currency has',
      (t: string) => t.replace('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="EUR">50.001</Amt>'),
      `${STMT1}/Ntry[2]/Amt`,
      `bank statement stmt.xml at ${STMT1}/Ntry[2]/Amt: amount '50.001' has more decimals than the currency allows (2)`,
    ],
    [
      'an amount that is not a decimal',
      (t: string) => t.replace('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="EUR">5e1</Amt>'),
      `${STMT1}/Ntry[2]/Amt`,
      `bank statement stmt.xml at ${STMT1}/Ntry[2]/Amt: amount '5e1' is not a decimal number`,
    ],
    [
      'an unknown currency',
      (t: string) => t.replace('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="EURO">50.00</Amt>'),
      `${STMT1}/Ntry[2]/Amt`,
      `bank statement stmt.xml at ${STMT1}/Ntry[2]/Amt: Ccy 'EURO' is not an ISO 4217 currency code`,
    ],
    [
      'a credit/debit indicator that is neither CRDT nor DBIT',
      (t: string) =>
        t.replace(
          '<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>',
          '<CdtDbtInd>D</CdtDbtInd>\n        <Sts>',
        ),
      `${STMT1}/Ntry[2]/CdtDbtInd`,
      `bank statement stmt.xml at ${STMT1}/Ntry[2]/CdtDbtInd: 'D' is neither CRDT nor DBIT`,
    ],
    [
      'an impossible booking date',
      (t: string) =>
        t.replace('<Dt>2025-10-01</Dt>\n        </ValDt>', '<Dt>2025-02-30</Dt>\n        </ValDt>'),
      `${STMT1}/Ntry[3]/ValDt/Dt`,
      `bank statement stmt.xml at ${STMT1}/Ntry[3]/ValDt/Dt: '2025-02-30' is not an ISO date (YYYY-MM-DD)`,
    ],
    [
      'a document type declaration',
      (t: string) =>
        t.replace('<Document', '<!DOCTYPE Document [<!ENTITY a "aaaaaaaa">]>\n<Document'),
      'DOCTYPE',
      'bank statement stmt.xml at DOCTYPE: a document type declaration is not accepted',
    ],
    [
      'a document without a statement',
      () =>
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr></BkToCstmrStmt></Document>',
      'Document/BkToCstmrStmt/Stmt',
      'bank statement stmt.xml at Document/BkToCstmrStmt/Stmt: the document has no statement',
    ],
  ])('rejects %s, naming the file and the line or XML path', (_what, mutate, where, message) => {
    const expected =
      typeof where === 'number'
        ? { message, line: where, xmlPath: null }
        : { message, line: null, xmlPath: where };
    expect(rejection(mutate(fixture(V02)))).toEqual(expected);
  });
});
