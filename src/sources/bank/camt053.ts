import type * as FastXmlParser from 'fast-xml-parser';
import { normalizeCurrency, currencyExponent, type CurrencyCode } from '../../domain/currency';
import { parseMajorAmount } from '../formats/parse-values';
import {
  rejectAtLine,
  rejectAtPath,
  statementBalanceFinding,
  type BankEntry,
  type BankFinding,
  type BankStatement,
  type CreditDebit,
  type ParsedBankFile,
} from './bank-entry';
import { isCalendarDate } from '../../domain/calendar-dates';

/**
 * ISO 20022 camt.053 "BankToCustomerStatement" reader, any version `camt.053.001.*` (02 … 13):
 * https://www.iso20022.org/iso-20022-message-definitions (Cash Management, camt.053). The element
 * paths read are the same in every version, except `Ntry/Sts`, a code (`BOOK`) up to version 07 and
 * `Sts/Cd` from version 08 on (both are read):
 *
 * - `Document/BkToCstmrStmt/Stmt` (1..n): `Id`, `Acct/Id/IBAN` or `Acct/Id/Othr/Id`, `Acct/Ccy`;
 *   `Bal` with `Tp/CdOrPrtry/Cd` `OPBD` (opening booked; else `PRCD`, previously closed booked) and
 *   `CLBD` (closing booked), `Amt@Ccy`, `CdtDbtInd`.
 * - `Stmt/Ntry` (0..n): `Amt@Ccy`, `CdtDbtInd` (`CRDT`/`DBIT`), `RvslInd`, `Sts`, `BookgDt/Dt|DtTm`,
 *   `ValDt/Dt|DtTm`, `AcctSvcrRef`, `BkTxCd`, `AddtlNtryInf`, and `NtryDtls/TxDtls` (0..n each):
 *   `Refs/AcctSvcrRef`, `Refs/EndToEndId`, `RmtInf/Ustrd`, `RmtInf/Strd/CdtrRefInf/Ref`,
 *   `AddtlTxInf`.
 *
 * Parsed with fast-xml-parser (values kept as text, never as numbers); namespace prefixes are
 * ignored. A document type declaration is rejected (a statement never has one; entities could
 * expand without bound). Amounts are decimal text converted exactly with the currency's ISO 4217
 * exponent (`100.5` EUR → 10050n). Each `Stmt` gets the `statement_balance` check.
 */

/** A parsed element: child elements by local name (always arrays), text in `#text`, attributes `@_`. */
interface XmlNode {
  readonly [key: string]: XmlNode[] | string | undefined;
}

const NAMESPACE_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';

/** fast-xml-parser, loaded on first use (only a camt.053 bank file needs it; start-up). */
function xml(): typeof FastXmlParser {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('fast-xml-parser') as typeof FastXmlParser;
}

function parser(): FastXmlParser.XMLParser {
  return new (xml().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    alwaysCreateTextNode: true,
    processEntities: true,
    htmlEntities: false,
    // Namespace prefixes (`ns2:Ntry`) are dropped from element names; xmlns attributes are kept.
    transformTagName: (name: string) => name.slice(name.indexOf(':') + 1),
    isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  });
}

function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  return Array.isArray(value) ? value : [];
}

function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

function text(node: XmlNode | undefined): string | undefined {
  const value = node?.['#text'];
  return typeof value === 'string' ? value : undefined;
}

/** The text of the element at `names` below `node` (first of each), `undefined` when absent or empty. */
function textAt(node: XmlNode | undefined, ...names: string[]): string | undefined {
  let at = node;
  for (const name of names) at = child(at, name);
  const value = text(at);
  return value === undefined || value === '' ? undefined : value;
}

function attribute(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** The namespace URI declared on `node` (default or prefixed), if any. */
function namespaceOf(node: XmlNode): string | undefined {
  for (const key of Object.keys(node)) {
    if (key === '@_xmlns' || key.startsWith('@_xmlns:')) {
      const value = node[key];
      if (typeof value === 'string' && value.startsWith(NAMESPACE_PREFIX)) return value;
    }
  }
  return undefined;
}

/** The `Document` element: the root, or a child of an envelope root (e.g. `BizMsgEnvlp`). */
function findDocument(root: XmlNode): XmlNode | undefined {
  const direct = child(root, 'Document');
  if (direct) return direct;
  for (const key of Object.keys(root)) {
    if (key.startsWith('@_') || key === '#text' || key.startsWith('?')) continue;
    const inner = child(child(root, key), 'Document');
    if (inner) return inner;
  }
  return undefined;
}

/**
 * Whether `content` looks like a camt.053 document: an XML text whose first element is a
 * `Document` (or an envelope) holding `BkToCstmrStmt`. Cheap: it looks at the start of the text
 * only (the first 4 KiB) for the element names, not at the structure; `parseCamt053` checks it.
 */
export function looksLikeCamt053(content: string): boolean {
  const head = content.slice(0, 4096).trimStart();
  if (!head.startsWith('<')) return false;
  return head.includes('BkToCstmrStmt') || head.includes('camt.053.001.');
}

/** `Dt` or `DtTm` of a date element, as `YYYY-MM-DD` (the date part of a date-time as written). */
function dateOf(
  element: XmlNode | undefined,
  path: string,
  location: string,
): string | null | undefined {
  if (!element) return null;
  const date = textAt(element, 'Dt');
  const dateTime = textAt(element, 'DtTm');
  const value = date ?? dateTime?.slice(0, 10);
  if (value === undefined) return null;
  if (!isCalendarDate(value))
    throw rejectAtPath(
      location,
      `${path}/${date !== undefined ? 'Dt' : 'DtTm'}`,
      `'${date ?? dateTime ?? ''}' is not an ISO date (YYYY-MM-DD)`,
    );
  return value;
}

interface AmountRead {
  readonly amount: bigint;
  readonly currency: CurrencyCode;
}

/** `Amt@Ccy` of `node` at `path`: exact minor units, non-negative, with a known currency. */
function amountOf(node: XmlNode, path: string, location: string): AmountRead {
  const amt = child(node, 'Amt');
  if (!amt) throw rejectAtPath(location, `${path}/Amt`, 'the element is missing');
  const raw = text(amt) ?? '';
  const ccyText = attribute(amt, 'Ccy');
  if (ccyText === undefined)
    throw rejectAtPath(location, `${path}/Amt`, 'attribute Ccy is missing');
  const currency = normalizeCurrency(ccyText);
  if (currency === undefined)
    throw rejectAtPath(
      location,
      `${path}/Amt`,
      `Ccy '${ccyText}' is not an ISO 4217 currency code`,
    );
  const parsed = parseMajorAmount(raw, currencyExponent(currency));
  if (!parsed.ok) throw rejectAtPath(location, `${path}/Amt`, `amount '${raw}' ${parsed.reason}`);
  if (parsed.value < 0n)
    throw rejectAtPath(location, `${path}/Amt`, `amount '${raw}' is negative (use CdtDbtInd)`);
  return { amount: parsed.value, currency };
}

function directionOf(node: XmlNode, path: string, location: string): CreditDebit {
  const indicator = textAt(node, 'CdtDbtInd');
  if (indicator === 'CRDT') return 'credit';
  if (indicator === 'DBIT') return 'debit';
  throw rejectAtPath(
    location,
    `${path}/CdtDbtInd`,
    indicator === undefined ? 'the element is missing' : `'${indicator}' is neither CRDT nor DBIT`,
  );
}

/** `BkTxCd` as `Domn/Fmly/SubFmly` (`PMNT/RCDT/ESCT`), else the proprietary code. */
function transactionCode(entry: XmlNode): string | null {
  const code = child(entry, 'BkTxCd');
  const domain = child(code, 'Domn');
  const domainCode = textAt(domain, 'Cd');
  if (domainCode !== undefined) {
    const family = child(domain, 'Fmly');
    return [domainCode, textAt(family, 'Cd'), textAt(family, 'SubFmlyCd')]
      .filter((part) => part !== undefined)
      .join('/');
  }
  return textAt(code, 'Prtry', 'Cd') ?? null;
}

function joinTexts(parts: readonly (string | undefined)[]): string | null {
  const kept = parts.filter((part): part is string => part !== undefined && part !== '');
  return kept.length === 0 ? null : kept.join(' ');
}

function readEntry(
  entry: XmlNode,
  path: string,
  statement: { id: string; account: string },
  location: string,
): BankEntry {
  const { amount, currency } = amountOf(entry, path, location);
  const direction = directionOf(entry, path, location);
  const reversalText = textAt(entry, 'RvslInd');
  if (reversalText !== undefined && reversalText !== 'true' && reversalText !== 'false')
    throw rejectAtPath(location, `${path}/RvslInd`, `'${reversalText}' is neither true nor false`);
  const status =
    textAt(entry, 'Sts') ?? textAt(entry, 'Sts', 'Cd') ?? textAt(entry, 'Sts', 'Prtry');
  const transactions = children(entry, 'NtryDtls').flatMap((details) =>
    children(details, 'TxDtls'),
  );
  const remittance: (string | undefined)[] = [];
  let customerReference: string | undefined;
  let transactionReference: string | undefined;
  for (const transaction of transactions) {
    const refs = child(transaction, 'Refs');
    customerReference ??= textAt(refs, 'EndToEndId');
    transactionReference ??= textAt(refs, 'AcctSvcrRef');
    for (const info of children(transaction, 'RmtInf')) {
      for (const line of children(info, 'Ustrd')) remittance.push(text(line));
      for (const structured of children(info, 'Strd'))
        remittance.push(textAt(structured, 'CdtrRefInf', 'Ref'));
    }
    remittance.push(textAt(transaction, 'AddtlTxInf'));
  }
  remittance.push(textAt(entry, 'AddtlNtryInf'));
  return {
    statementId: statement.id,
    account: statement.account,
    amount,
    signedAmount: direction === 'credit' ? amount : -amount,
    currency,
    direction,
    bookingDate: dateOf(child(entry, 'BookgDt'), `${path}/BookgDt`, location) ?? null,
    valueDate: dateOf(child(entry, 'ValDt'), `${path}/ValDt`, location) ?? null,
    bankReference: textAt(entry, 'AcctSvcrRef') ?? transactionReference ?? null,
    customerReference: customerReference ?? null,
    remittanceText: joinTexts(remittance),
    reversal: reversalText === 'true',
    typeCode: transactionCode(entry),
    booked: status === undefined || status === 'BOOK',
    line: null,
    xmlPath: path,
  };
}

/** The first balance of `Bal` whose type code is one of `codes` (in that order of preference). */
function balanceOf(
  statement: XmlNode,
  path: string,
  codes: readonly string[],
  location: string,
): AmountRead & { signed: bigint } {
  const balances = children(statement, 'Bal');
  for (const code of codes) {
    const index = balances.findIndex(
      (balance) => textAt(balance, 'Tp', 'CdOrPrtry', 'Cd') === code,
    );
    const balance = balances[index];
    if (!balance) continue;
    const at = `${path}/Bal[${index + 1}]`;
    const read = amountOf(balance, at, location);
    const direction = directionOf(balance, at, location);
    return { ...read, signed: direction === 'credit' ? read.amount : -read.amount };
  }
  return { amount: 0n, currency: '', signed: 0n };
}

/**
 * Parses the camt.053 document `content` read from `location` (a path or URL, used in messages).
 * Returns every statement, its entries and the `statement_balance` (and `entry_currency`)
 * findings. Throws `BankStatementRejectedError` naming the line (malformed XML) or the XML path
 * of the first element that cannot be read (missing `Amt`, unknown currency, bad date…).
 */
export function parseCamt053(content: string, location: string): ParsedBankFile {
  const validation = xml().XMLValidator.validate(content);
  if (validation !== true) {
    const { line, msg } = validation.err;
    throw rejectAtLine(location, line, `not well-formed XML: ${msg}`);
  }
  if (content.includes('<!DOCTYPE'))
    throw rejectAtPath(location, 'DOCTYPE', 'a document type declaration is not accepted');
  const parsed = parser().parse(content) as XmlNode;
  const document = findDocument(parsed);
  if (!document) throw rejectAtPath(location, 'Document', 'no ISO 20022 Document element');
  const namespace = namespaceOf(document);
  if (namespace !== undefined && !namespace.startsWith(`${NAMESPACE_PREFIX}camt.053.001.`))
    throw rejectAtPath(
      location,
      'Document',
      `namespace ${namespace} is not a camt.053 (BankToCustomerStatement) message`,
    );
  const root = child(document, 'BkToCstmrStmt');
  if (!root) throw rejectAtPath(location, 'Document/BkToCstmrStmt', 'the element is missing');
  const statements: BankStatement[] = [];
  const entries: BankEntry[] = [];
  const findings: BankFinding[] = [];
  children(root, 'Stmt').forEach((stmt, stmtIndex) => {
    const path = `Document/BkToCstmrStmt/Stmt[${stmtIndex + 1}]`;
    const id = textAt(stmt, 'Id');
    if (id === undefined) throw rejectAtPath(location, `${path}/Id`, 'the element is missing');
    const account =
      textAt(stmt, 'Acct', 'Id', 'IBAN') ?? textAt(stmt, 'Acct', 'Id', 'Othr', 'Id') ?? '';
    const opening = balanceOf(stmt, path, ['OPBD', 'PRCD'], location);
    const closing = balanceOf(stmt, path, ['CLBD'], location);
    const stmtEntries = children(stmt, 'Ntry').map((entry, entryIndex) =>
      readEntry(entry, `${path}/Ntry[${entryIndex + 1}]`, { id, account }, location),
    );
    const accountCurrencyText = textAt(stmt, 'Acct', 'Ccy');
    const currency =
      closing.currency ||
      opening.currency ||
      (accountCurrencyText !== undefined ? normalizeCurrency(accountCurrencyText) : undefined) ||
      stmtEntries[0]?.currency;
    if (currency === undefined)
      throw rejectAtPath(location, `${path}/Acct/Ccy`, 'the statement names no currency');
    if (opening.currency && closing.currency && opening.currency !== closing.currency)
      throw rejectAtPath(
        location,
        `${path}/Bal`,
        `opening balance in ${opening.currency} but closing balance in ${closing.currency}`,
      );
    const statement: BankStatement = {
      id,
      account,
      currency,
      opening: opening.currency ? opening.signed : null,
      closing: closing.currency ? closing.signed : null,
      entries: stmtEntries,
    };
    statements.push(statement);
    // One by one: a spread passes every entry as an argument, and a large statement overflows the stack.
    for (const entry of stmtEntries) entries.push(entry);
    for (const entry of stmtEntries) {
      if (entry.currency === currency) continue;
      findings.push({
        location,
        check: 'entry_currency',
        severity: 'error',
        line: null,
        field: `${entry.xmlPath ?? path}/Amt`,
        reason: `entry in ${entry.currency} in statement ${id} whose balances are in ${currency}: not part of the balance check`,
        value: entry.currency,
        count: null,
      });
    }
    const balance = statementBalanceFinding(location, statement, null, path);
    if (balance) findings.push(balance);
  });
  if (statements.length === 0)
    throw rejectAtPath(location, 'Document/BkToCstmrStmt/Stmt', 'the document has no statement');
  return { format: 'camt053', location, statements, entries, findings };
}
