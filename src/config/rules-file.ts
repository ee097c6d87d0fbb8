import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { normalizeCurrency } from '../domain/currency';
import { ConfigError } from '../domain/errors';
import { KNOWN_PROCESSORS } from '../domain/status';
import type { FeeRules } from '../engine/fee-rules';
import {
  checkTier,
  KEY_FIELDS,
  NORMALIZATIONS,
  TOLERANCE_BASES,
  type MatchRules,
  type ProcessorRules,
  type TierRule,
} from '../engine/rules';
import { BANK_CSV_DATE_FORMATS, type BankCsvColumnMap } from '../sources/bank/bank-csv';

/**
 * The rules file (`recon.config.yaml` or `.json`, README "Matching rules"), read only when
 * `--config` or `RECON_CONFIG` names it. Its shape, checked with zod (unknown keys rejected):
 *
 * ```yaml
 * processors:
 *   stripe:                           # a processor recon knows (KNOWN_PROCESSORS)
 *     key: {processor: reference, ledger: transaction_id, normalize: [trim, upper]}   # id join
 *     ledger_amount_basis: gross      # or net (fees, engine/fee-rules.ts)
 *     fee_schedule: [{currency: USD, payment_method: card, percentage_bps: 290, flat_minor: 30}]
 *     fee_tolerance_minor: 0
 *     tiers:
 *       - {name: by_reference, type: exact, processor_key: reference, ledger_key: reference,
 *          normalize: [trim, upper]}
 *       - {name: near_amount, type: tolerance, processor_key: reference, ledger_key: reference,
 *          normalize: [trim, upper, alnum], abs_minor: 1, pct_bps: 0, base: max,
 *          min_days: 0, max_days: 2, allow_sign_change: false}
 *     group_key: reference            # N:1 ledger split (issue #15): ledger rows sharing it
 * ```
 */

const wholeNumber = (what: string) =>
  z
    .number({ error: `a whole number ≥ 0 (${what})` })
    .int({ error: `a whole number ≥ 0 (${what})` })
    .min(0, { error: `a whole number ≥ 0 (${what})` });

const keyField = z.enum(KEY_FIELDS, { error: `one of ${KEY_FIELDS.join(', ')}` });
const normalize = z
  .array(z.enum(NORMALIZATIONS, { error: `one of ${NORMALIZATIONS.join(', ')}` }), {
    error: `a list of ${NORMALIZATIONS.join(', ')}`,
  })
  .optional();
const tierName = z.string({ error: 'a tier name (text)' });

const ExactTierSchema = z.strictObject({
  name: tierName,
  type: z.literal('exact'),
  processor_key: keyField,
  ledger_key: keyField,
  normalize,
});

const ToleranceTierSchema = z.strictObject({
  name: tierName,
  type: z.literal('tolerance'),
  processor_key: keyField.optional(),
  ledger_key: keyField.optional(),
  normalize,
  abs_minor: wholeNumber('minor units').optional(),
  pct_bps: wholeNumber('basis points').optional(),
  base: z.enum(TOLERANCE_BASES, { error: `one of ${TOLERANCE_BASES.join(', ')}` }).optional(),
  min_days: wholeNumber('calendar days').optional(),
  max_days: wholeNumber('calendar days').optional(),
  allow_sign_change: z.boolean({ error: 'true or false' }).optional(),
});

const TierSchema = z.discriminatedUnion('type', [ExactTierSchema, ToleranceTierSchema], {
  error: 'a tier with type exact or tolerance',
});

const FeeScheduleEntrySchema = z.strictObject({
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, { error: 'a three-letter ISO 4217 code' })
    .optional(),
  payment_method: z.string({ error: 'text' }).min(1).optional(),
  percentage_bps: wholeNumber('basis points'),
  flat_minor: wholeNumber('minor units'),
});

const JoinKeySchema = z.strictObject(
  { processor: keyField.optional(), ledger: keyField.optional(), normalize },
  { error: 'a key: {processor: COLUMN, ledger: COLUMN, normalize: [...]}' },
);

const ProcessorSchema = z.strictObject({
  key: JoinKeySchema.optional(),
  ledger_amount_basis: z.enum(['gross', 'net'], { error: 'gross or net' }).optional(),
  fee_schedule: z.array(FeeScheduleEntrySchema, { error: 'a list of fee entries' }).optional(),
  fee_tolerance_minor: wholeNumber('minor units').optional(),
  tiers: z.array(TierSchema, { error: 'a list of tiers' }).optional(),
  group_key: keyField.optional(),
});

const columnName = z
  .string({ error: 'a column name (text)' })
  .trim()
  .min(1, { error: 'a column name (text)' });

/** `bank_csv:` — a bank CSV export's column map (`BankCsvColumnMap`, snake_case keys). */
const BankCsvSchema = z.strictObject({
  booking_date: columnName,
  value_date: columnName.optional(),
  amount: columnName.optional(),
  credit: columnName.optional(),
  debit: columnName.optional(),
  direction: columnName.optional(),
  currency: columnName.optional(),
  default_currency: z
    .string({ error: 'a three-letter ISO 4217 code' })
    .regex(/^[A-Za-z]{3}$/, { error: 'a three-letter ISO 4217 code' })
    .optional(),
  bank_reference: columnName.optional(),
  customer_reference: columnName.optional(),
  remittance_text: z
    .union(
      [
        columnName,
        z.array(columnName).min(1, { error: 'a column name or a list of column names' }),
      ],
      { error: 'a column name or a list of column names' },
    )
    .optional(),
  account: columnName.optional(),
  date_format: z
    .enum(BANK_CSV_DATE_FORMATS, { error: `one of ${BANK_CSV_DATE_FORMATS.join(', ')}` })
    .optional(),
  decimal_separator: z.enum(['.', ','], { error: "'.' or ','" }).optional(),
  delimiter: z
    .string({ error: 'one character other than a quote or a line break' })
    .length(1, { error: 'one character other than a quote or a line break' })
    .refine((c) => !['"', '\n', '\r'].includes(c), {
      error: 'one character other than a quote or a line break',
    })
    .optional(),
});

const RulesFileSchema = z.strictObject({
  processors: z.record(z.string(), ProcessorSchema, { error: 'a map of processor names' }),
  bank_csv: BankCsvSchema.optional(),
});

type RulesDocument = z.output<typeof RulesFileSchema>;

/**
 * The rules file's content: the matching rules and, when the file has a `bank_csv:` section, the
 * column map bank statements in CSV are read with (`sources/bank/bank-csv.ts`), else `null`.
 */
export interface RulesFile extends MatchRules {
  readonly bankCsv: BankCsvColumnMap | null;
}

/**
 * The column map of a valid `bank_csv:` section, and what the map itself gets wrong, as
 * `[path, expected]` (an amount column or credit + debit, a currency column or a default).
 */
function bankCsvOf(
  section: NonNullable<RulesDocument['bank_csv']>,
): [BankCsvColumnMap, Array<[string, string]>] {
  const problems: Array<[string, string]> = [];
  const hasSplit = section.credit !== undefined || section.debit !== undefined;
  if (section.amount === undefined && (section.credit === undefined || section.debit === undefined))
    problems.push(['amount', 'an amount column, or both a credit and a debit column']);
  if (section.amount !== undefined && hasSplit)
    problems.push(['amount', 'an amount column or credit/debit columns, not both']);
  if (section.direction !== undefined && section.amount === undefined)
    problems.push(['direction', 'a direction column only together with an amount column']);
  if (section.currency === undefined && section.default_currency === undefined)
    problems.push(['currency', 'a currency column, or a default_currency']);
  if (
    section.default_currency !== undefined &&
    normalizeCurrency(section.default_currency) === undefined
  )
    problems.push([
      'default_currency',
      `an ISO 4217 currency code ('${section.default_currency}' is not one)`,
    ]);
  const map: BankCsvColumnMap = {
    bookingDate: section.booking_date,
    ...(section.value_date !== undefined && { valueDate: section.value_date }),
    ...(section.amount !== undefined && { amount: section.amount }),
    ...(section.credit !== undefined && { credit: section.credit }),
    ...(section.debit !== undefined && { debit: section.debit }),
    ...(section.direction !== undefined && { direction: section.direction }),
    ...(section.currency !== undefined && { currency: section.currency }),
    ...(section.default_currency !== undefined && {
      defaultCurrency: section.default_currency.toUpperCase(),
    }),
    ...(section.bank_reference !== undefined && { bankReference: section.bank_reference }),
    ...(section.customer_reference !== undefined && {
      customerReference: section.customer_reference,
    }),
    ...(section.remittance_text !== undefined && { remittanceText: section.remittance_text }),
    ...(section.account !== undefined && { account: section.account }),
    ...(section.date_format !== undefined && { dateFormat: section.date_format }),
    ...(section.decimal_separator !== undefined && {
      decimalSeparator: section.decimal_separator,
    }),
    ...(section.delimiter !== undefined && { delimiter: section.delimiter }),
  };
  return [map, problems];
}

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : `${text === '' ? '' : '.'}${String(part)}`;
  }
  return text === '' ? '(document)' : text;
}

/** JSON of `value` with object keys sorted, no spaces: the rules' canonical content. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function tierOf(tier: RulesDocument['processors'][string]['tiers'] & object): TierRule[] {
  return tier.map((t): TierRule => {
    if (t.type === 'exact') {
      return {
        type: 'exact',
        name: t.name,
        processorKey: t.processor_key,
        ledgerKey: t.ledger_key,
        normalize: t.normalize ?? [],
      };
    }
    return {
      type: 'tolerance',
      name: t.name,
      processorKey: t.processor_key ?? null,
      ledgerKey: t.ledger_key ?? null,
      normalize: t.normalize ?? [],
      absMinor: BigInt(t.abs_minor ?? 0),
      pctBps: t.pct_bps ?? 0,
      base: t.base ?? 'max',
      minDays: t.min_days ?? 0,
      maxDays: t.max_days ?? 0,
      allowSignChange: t.allow_sign_change ?? false,
    };
  });
}

/**
 * Parses and validates the rules file's text. `file` names it in messages.
 * @throws ConfigError listing EVERY problem at once, one line each:
 *   `{file}: {path in the document}: expected {what}` (exit 2).
 */
export function parseRulesFile(file: string, text: string): RulesFile {
  const problems: string[] = [];
  let data: unknown;
  if (extname(file).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(
        `${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  } else {
    // Loaded on first use: yaml is ~70 ms of start-up, and only a YAML rules file needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseDocument } = require('yaml') as typeof Yaml;
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const at = e.linePos?.[0];
          return `${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML (${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')})`;
        }),
      );
    }
    data = doc.toJS();
  }
  const parsed = RulesFileSchema.safeParse(data ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          problems.push(
            `${file}: ${pathText([...issue.path, key])}: unknown key (expected one of the documented keys)`,
          );
      } else problems.push(`${file}: ${pathText(issue.path)}: expected ${issue.message}`);
    }
  }
  const processors: Record<string, ProcessorRules> = {};
  const rawProcessors =
    data !== null && typeof data === 'object' && 'processors' in data ? data.processors : null;
  if (rawProcessors !== null && typeof rawProcessors === 'object') {
    for (const name of Object.keys(rawProcessors)) {
      if (!(KNOWN_PROCESSORS as readonly string[]).includes(name))
        problems.push(
          `${file}: processors.${name}: unknown processor (expected one of ${KNOWN_PROCESSORS.join(', ')})`,
        );
    }
  }
  if (parsed.success) {
    for (const [name, own] of Object.entries(parsed.data.processors)) {
      const tiers = tierOf(own.tiers ?? []);
      const seen = new Set<string>();
      tiers.forEach((tier, index) => {
        for (const [field, what] of checkTier(tier))
          problems.push(`${file}: processors.${name}.tiers[${index}].${field}: expected ${what}`);
        if (seen.has(tier.name))
          problems.push(
            `${file}: processors.${name}.tiers[${index}].name: expected a name not used by an earlier tier ('${tier.name}')`,
          );
        seen.add(tier.name);
      });
      const fees: FeeRules = {
        ledgerAmountBasis: own.ledger_amount_basis ?? 'gross',
        schedule: (own.fee_schedule ?? []).map((entry) => ({
          currency: entry.currency ? entry.currency.toUpperCase() : null,
          paymentMethod: entry.payment_method ?? null,
          percentageBps: entry.percentage_bps,
          flatMinor: BigInt(entry.flat_minor),
        })),
        toleranceMinor: BigInt(own.fee_tolerance_minor ?? 0),
      };
      processors[name] = {
        tiers,
        fees,
        ...(own.group_key ? { groupKey: own.group_key } : {}),
        // The id join's key (README "Matching rules": keys); each side defaults to transaction_id.
        ...(own.key
          ? {
              key: {
                processorKey: own.key.processor ?? 'transaction_id',
                ledgerKey: own.key.ledger ?? 'transaction_id',
                normalize: own.key.normalize ?? [],
              },
            }
          : {}),
      };
    }
  }
  let bankCsv: BankCsvColumnMap | null = null;
  // Checked apart from the whole document, so that a mistake elsewhere does not hide the map's.
  const rawBankCsv =
    data !== null && typeof data === 'object' && 'bank_csv' in data ? data.bank_csv : undefined;
  const bankSection = rawBankCsv === undefined ? null : BankCsvSchema.safeParse(rawBankCsv);
  if (bankSection?.success) {
    const [map, mapProblems] = bankCsvOf(bankSection.data);
    for (const [path, what] of mapProblems)
      problems.push(`${file}: bank_csv.${path}: expected ${what}`);
    bankCsv = map;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const canonical = canonicalJson(data);
  return {
    bankCsv,
    processors,
    source: {
      path: file,
      canonical,
      sha256: createHash('sha256').update(canonical).digest('hex'),
    },
  };
}

/**
 * Reads and validates the rules file at `path` (`.json` is parsed as JSON, anything else as YAML).
 * @throws ConfigError for a file that cannot be read, or listing every problem (see `parseRulesFile`).
 */
export function loadRulesFile(path: string): RulesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `rules file ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`}`,
    );
  }
  return parseRulesFile(path, text);
}
