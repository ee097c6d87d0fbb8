import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/domain/errors';
import { canonicalJson, parseRulesFile } from '../../src/config/rules-file';
import { rulesTheSqlEngineCannotRun } from '../../src/engine/rules';
import { parseBankCsv } from '../../src/sources/bank/bank-csv';

function problemsOf(file: string, text: string): readonly string[] {
  try {
    parseRulesFile(file, text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('no problems');
}

describe('rules file', () => {
  it('parses the contract example into tiers and fee rules, with canonical content and SHA-256', () => {
    const text = [
      'processors:',
      '  stripe:',
      '    ledger_amount_basis: net',
      '    fee_schedule: [{currency: usd, payment_method: card, percentage_bps: 290, flat_minor: 30}]',
      '    fee_tolerance_minor: 2',
      '    tiers:',
      '      - {name: by_reference, type: exact, processor_key: reference, ledger_key: reference, normalize: [trim, upper]}',
      '      - name: near_amount',
      '        type: tolerance',
      '        processor_key: reference',
      '        ledger_key: reference',
      '        normalize: [trim, upper, alnum]',
      '        abs_minor: 1',
      '        pct_bps: 0',
      '        base: max',
      '        min_days: 0',
      '        max_days: 2',
    ].join('\n');
    const rules = parseRulesFile('recon.config.yaml', text);
    expect(rules.processors).toEqual({
      stripe: {
        fees: {
          ledgerAmountBasis: 'net',
          schedule: [
            { currency: 'USD', paymentMethod: 'card', percentageBps: 290, flatMinor: 30n },
          ],
          toleranceMinor: 2n,
        },
        tiers: [
          {
            type: 'exact',
            name: 'by_reference',
            processorKey: 'reference',
            ledgerKey: 'reference',
            normalize: ['trim', 'upper'],
          },
          {
            type: 'tolerance',
            name: 'near_amount',
            processorKey: 'reference',
            ledgerKey: 'reference',
            normalize: ['trim', 'upper', 'alnum'],
            absMinor: 1n,
            pctBps: 0,
            base: 'max',
            minDays: 0,
            maxDays: 2,
            allowSignChange: false,
          },
        ],
      },
    });
    expect(rules.source?.canonical).toBe(
      canonicalJson(JSON.parse(JSON.stringify(rules.source && JSON.parse(rules.source.canonical)))),
    );
    expect(rules.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The same rules written as JSON in another key order have the same canonical content.
    const json = parseRulesFile(
      'r.json',
      JSON.stringify(JSON.parse(rules.source?.canonical ?? '{}')),
    );
    expect(json.source?.sha256).toBe(rules.source?.sha256);
  });

  it('lists every problem at once: unknown key, negative tolerance, unknown processor (issue #14 case 9)', () => {
    const text = [
      'processors:',
      '  stripe:',
      '    tiers:',
      '      - {name: near, type: tolerance, abs_minor: -5, colour: red}',
      '  venmo:',
      '    tiers: []',
      'extra: 1',
    ].join('\n');
    expect(problemsOf('bad.yaml', text)).toEqual([
      'bad.yaml: processors.stripe.tiers[0].abs_minor: expected a whole number ≥ 0 (minor units)',
      'bad.yaml: processors.stripe.tiers[0].colour: unknown key (expected one of the documented keys)',
      'bad.yaml: extra: unknown key (expected one of the documented keys)',
      'bad.yaml: processors.venmo: unknown processor (expected one of stripe, paypal, square, adyen)',
    ]);
  });

  it('rejects a tier without both keys, a bad window and a reused name', () => {
    const text = JSON.stringify({
      processors: {
        adyen: {
          tiers: [
            { name: 'a', type: 'tolerance', processor_key: 'reference', min_days: 3, max_days: 1 },
            { name: 'a', type: 'exact', processor_key: 'reference', ledger_key: 'reference' },
            { name: 'id', type: 'exact', processor_key: 'reference', ledger_key: 'nope' },
          ],
        },
      },
    });
    expect(problemsOf('r.json', text)).toEqual([
      'r.json: processors.adyen.tiers[2].ledger_key: expected one of transaction_id, reference, description, merchant_id',
    ]);
    const fixed = text.replace('"nope"', '"reference"');
    expect(problemsOf('r.json', fixed)).toEqual([
      'r.json: processors.adyen.tiers[0].processor_key: expected processor_key and ledger_key both set or both absent',
      'r.json: processors.adyen.tiers[0].max_days: expected a whole number ≥ min_days (calendar days)',
      "r.json: processors.adyen.tiers[1].name: expected a name not used by an earlier tier ('a')",
      "r.json: processors.adyen.tiers[2].name: expected a name other than 'id' (reserved for the id join)",
    ]);
  });

  it('reads a processor group_key (N:1 ledger split) and rejects a column that is not a key field', () => {
    const rules = parseRulesFile(
      'r.yaml',
      'processors:\n  stripe:\n    group_key: reference\n  square: {}\n',
    );
    expect(rules.processors).toEqual({
      stripe: {
        tiers: [],
        fees: { ledgerAmountBasis: 'gross', schedule: [], toleranceMinor: 0n },
        groupKey: 'reference',
      },
      square: {
        tiers: [],
        fees: { ledgerAmountBasis: 'gross', schedule: [], toleranceMinor: 0n },
      },
    });
    expect(problemsOf('r.yaml', 'processors:\n  stripe:\n    group_key: order_id\n')).toEqual([
      'r.yaml: processors.stripe.group_key: expected one of transaction_id, reference, description, merchant_id',
    ]);
  });

  it('reads a bank_csv column map that parses a bank CSV export exactly', () => {
    const text = [
      'processors: {}',
      'bank_csv:',
      '  delimiter: ";"',
      '  decimal_separator: ","',
      '  date_format: DD.MM.YYYY',
      '  booking_date: Buchungstag',
      '  value_date: Valuta',
      '  amount: Betrag',
      '  default_currency: eur',
      '  bank_reference: Referenz',
      '  remittance_text: [Verwendungszweck, Auftraggeber]',
    ].join('\n');
    const rules = parseRulesFile('bank.yaml', text);
    expect(rules.bankCsv).toEqual({
      bookingDate: 'Buchungstag',
      valueDate: 'Valuta',
      amount: 'Betrag',
      defaultCurrency: 'EUR',
      bankReference: 'Referenz',
      remittanceText: ['Verwendungszweck', 'Auftraggeber'],
      dateFormat: 'DD.MM.YYYY',
      decimalSeparator: ',',
      delimiter: ';',
    });
    const csv = [
      'Buchungstag;Valuta;Betrag;Referenz;Verwendungszweck;Auftraggeber',
      '02.10.2025;03.10.2025;1.234,56;B-1;STRIPE PAYOUT po_123;Stripe',
      '02.10.2025;;-12,30;B-2;Gebuehr;',
    ].join('\n');
    const parsed = parseBankCsv(csv, 'bank.csv', rules.bankCsv ?? { bookingDate: '' });
    expect(
      parsed.entries.map((e) => [
        e.signedAmount,
        e.currency,
        e.bookingDate,
        e.valueDate,
        e.bankReference,
        e.remittanceText,
        e.line,
      ]),
    ).toEqual([
      [123456n, 'EUR', '2025-10-02', '2025-10-03', 'B-1', 'STRIPE PAYOUT po_123 Stripe', 2],
      [-1230n, 'EUR', '2025-10-02', '2025-10-02', 'B-2', 'Gebuehr', 3],
    ]);
    expect(parseRulesFile('r.yaml', 'processors: {}\n').bankCsv).toBeNull();
  });

  it("accepts the README's group_key and bank_csv example", () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### N:1 ledger split (`group_key`)'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const rules = parseRulesFile('README.md', yaml);
    expect([
      rules.processors.stripe?.groupKey,
      rules.bankCsv?.amount,
      rules.bankCsv?.delimiter,
    ]).toEqual(['reference', 'Betrag', ';']);
  });

  it('lists every problem of a bad bank_csv map at once, with its path and what was expected', () => {
    const text = [
      'processors: {}',
      'bank_csv:',
      '  booking_date: ""',
      '  amount: Betrag',
      '  credit: Haben',
      '  default_currency: EURO',
      '  date_format: YYYY/MM/DD',
      '  delimiter: ";;"',
      '  remittance_text: []',
      '  colour: blue',
    ].join('\n');
    expect(problemsOf('bank.yaml', text)).toEqual([
      'bank.yaml: bank_csv.booking_date: expected a column name (text)',
      'bank.yaml: bank_csv.default_currency: expected a three-letter ISO 4217 code',
      'bank.yaml: bank_csv.remittance_text: expected a column name or a list of column names',
      'bank.yaml: bank_csv.date_format: expected one of YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY, MM/DD/YYYY',
      'bank.yaml: bank_csv.delimiter: expected one character other than a quote or a line break',
      'bank.yaml: bank_csv.colour: unknown key (expected one of the documented keys)',
    ]);
    const shapeOk = [
      'processors:',
      '  stripe: {group_key: order_id}',
      'bank_csv:',
      '  booking_date: Date',
      '  credit: Credit',
      '  direction: CD',
      '  default_currency: XXY',
    ].join('\n');
    expect(problemsOf('bank.yaml', shapeOk)).toEqual([
      'bank.yaml: processors.stripe.group_key: expected one of transaction_id, reference, description, merchant_id',
      'bank.yaml: bank_csv.amount: expected an amount column, or both a credit and a debit column',
      'bank.yaml: bank_csv.direction: expected a direction column only together with an amount column',
      "bank.yaml: bank_csv.default_currency: expected an ISO 4217 currency code ('XXY' is not one)",
    ]);
  });

  it('names the line of a YAML syntax error', () => {
    expect(problemsOf('x.yaml', 'processors:\n  stripe: [\n')).toEqual([
      expect.stringMatching(/^x\.yaml:\d+:\d+: not valid YAML \(.+\)$/),
    ]);
  });

  it('lists no rule the postgres engine cannot run (it runs every tier)', () => {
    const rules = parseRulesFile(
      'data/samples/rules/recon.config.yaml',
      readFileSync(join(__dirname, '../../data/samples/rules/recon.config.yaml'), 'utf8'),
    );
    expect(rules.processors.stripe?.tiers.length).toBe(2);
    expect(rulesTheSqlEngineCannotRun(rules)).toEqual([]);
  });
});

describe('rules file: the id join key per processor', () => {
  it('reads key with each side defaulting to transaction_id and normalize to none', () => {
    const rules = parseRulesFile(
      'k.yaml',
      [
        'processors:',
        '  stripe:',
        '    key: {processor: reference, normalize: [trim, upper]}',
        '  square:',
        '    key: {ledger: reference}',
        '  paypal:',
        '    ledger_amount_basis: gross',
      ].join('\n'),
    );
    expect(rules.processors.stripe?.key).toEqual({
      processorKey: 'reference',
      ledgerKey: 'transaction_id',
      normalize: ['trim', 'upper'],
    });
    expect(rules.processors.square?.key).toEqual({
      processorKey: 'transaction_id',
      ledgerKey: 'reference',
      normalize: [],
    });
    expect(rules.processors.paypal?.key).toBeUndefined();
  });

  it('lists an unknown column, an unknown normalization and an unknown key of key at once', () => {
    const text = [
      'processors:',
      '  stripe:',
      '    key: {processor: charge, ledger: reference, normalize: [lower], column: x}',
    ].join('\n');
    expect(problemsOf('k.yaml', text)).toEqual([
      'k.yaml: processors.stripe.key.processor: expected one of transaction_id, reference, description, merchant_id',
      'k.yaml: processors.stripe.key.normalize[0]: expected one of trim, upper, alnum',
      'k.yaml: processors.stripe.key.column: unknown key (expected one of the documented keys)',
    ]);
  });
});
