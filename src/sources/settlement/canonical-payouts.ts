import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { isCalendarDate } from '../../domain/calendar-dates';
import type { CurrencyCode } from '../../domain/currency';
import { InputRejectedError } from '../../domain/errors';
import type { ProcessorName } from '../../domain/status';
import type { SettlementRead, SettlementSource } from '../../engine/settlement';
import type {
  SettlementChild,
  SettlementGroupKind,
  SettlementParent,
} from '../../engine/settlement-groups';
import { parseCurrency, parseMajorAmount } from '../formats/parse-values';
import type { InputEncoding } from '../text-encoding';

/**
 * The canonical settlement source (issue #15), for the bundled sample and for any processor
 * whose payouts are exported to files:
 *
 * - **Parents**: `{data-dir}/{date}/payouts_{processor}.csv`, a header row and one row per payout
 *   (UTF-8, RFC 4180, columns by name in any order, case-insensitive, other columns ignored):
 *   `payout_id`, `currency` (ISO 4217), `amount` (decimal string in MAJOR units, positive: what is
 *   paid out to the bank; converted exactly with the currency's exponent), `arrival_date`
 *   (`YYYY-MM-DD`, the payout's arrival or expected date), optional `method` (`standard`, the
 *   default, `instant` or `manual`: instant and manual payouts cannot be itemized → the group is
 *   `unattributable`). Any bad row rejects the file (a payout file is small and must be exact).
 * - **Children**: the rows of the run's processor CSV (the canonical format) that carry a
 *   non-empty `payout_id` column naming their payout: child id = `transaction_id`, gross =
 *   `amount`, net = `amount − fee` (`fee` when the row has one, else 0), category `refund` for a
 *   negative amount and `charge` otherwise. Each child is still matched to the ledger one to one
 *   as any row; a processor CSV without a `payout_id` column gives no children. A row whose
 *   amount, fee or currency cannot be read is not a child and is listed in `invalidRows` (the
 *   transaction source reports it as an invalid row too). The processor CSV is parsed a second time,
 *   in memory, only when its header has a `payout_id` column.
 */

/** The columns of a payouts file: required, then optional. */
export const PAYOUT_FILE_COLUMNS = ['payout_id', 'currency', 'amount', 'arrival_date'] as const;
export const PAYOUT_FILE_OPTIONAL_COLUMNS = ['method'] as const;

/** Payout methods of the `method` column; only `standard` payouts can be itemized. */
export const PAYOUT_METHODS = ['standard', 'instant', 'manual'] as const;

/** `{dataDir}/{date}/payouts_{processor}.csv`: where the canonical payouts file of a run is. */
export function payoutsFilePath(dataDir: string, date: string, processor: ProcessorName): string {
  return join(dataDir, date, `payouts_${processor}.csv`);
}

/** The settlement group kind of a processor's payouts (`parent_missing` groups get it too). */
export function payoutKindOf(processor: ProcessorName): SettlementGroupKind {
  switch (processor) {
    case 'stripe':
      return 'stripe_payout';
    case 'square':
      return 'square_payout';
    case 'adyen':
      return 'adyen_batch';
    case 'paypal':
      return 'paypal_payout';
  }
}

async function readText(path: string, what: string, encoding: InputEncoding): Promise<string> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new InputRejectedError(`${what} ${path} is not a file`, { location: path });
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof InputRejectedError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputRejectedError(
      code === 'ENOENT'
        ? `${what} ${path} does not exist`
        : `${what} ${path} cannot be read (${code ?? 'error'})`,
      { location: path },
    );
  }
  if (encoding === 'latin1') return bytes.toString('latin1');
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new InputRejectedError(`${what} ${path} is not ${encoding} text`, { location: path });
  }
}

/** Rows of a CSV text as records keyed by lower-case header name, with their 1-based line. */
function csvRows(
  text: string,
  path: string,
  what: string,
): { header: Set<string>; rows: { line: number; values: Map<string, string> }[] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new InputRejectedError(
      `${what} ${path}${line ? ` line ${line}` : ''}: not a readable CSV file (${(error as Error).message.split('\n')[0] ?? ''})`,
      { location: path, line },
    );
  }
  const [head, ...body] = records;
  const names = (head?.record ?? []).map((name) => name.trim().toLowerCase());
  return {
    header: new Set(names),
    rows: body.map(({ record, info }) => ({
      line: info.lines,
      values: new Map(names.map((name, index) => [name, (record[index] ?? '').trim()])),
    })),
  };
}

/**
 * Parses a payouts file's text (`path` names it in messages) into settlement parents of `kind`.
 * @throws InputRejectedError (exit 4) naming the file, line and column for a missing column, a
 *   bad amount, currency, date or method, a non-positive amount or a payout listed twice.
 */
export function parsePayoutsFile(
  text: string,
  path: string,
  kind: SettlementGroupKind,
): SettlementParent[] {
  const what = 'payouts file';
  const { header, rows } = csvRows(text, path, what);
  const missing = PAYOUT_FILE_COLUMNS.filter((name) => !header.has(name));
  if (missing.length > 0)
    throw new InputRejectedError(
      `${what} ${path}: missing column(s) ${missing.join(', ')}; expected ${PAYOUT_FILE_COLUMNS.join(', ')} (and optionally method)`,
      { location: path, line: 1, field: missing[0] },
    );
  const seen = new Set<string>();
  return rows.map(({ line, values }) => {
    const reject = (field: string, problem: string): InputRejectedError =>
      new InputRejectedError(`${what} ${path} line ${line}: ${field} ${problem}`, {
        location: path,
        line,
        field,
      });
    const id = values.get('payout_id') ?? '';
    if (id === '') throw reject('payout_id', 'is empty');
    const currency = parseCurrency(values.get('currency') ?? '');
    if (!currency.ok) throw reject('currency', currency.reason);
    const amountText = values.get('amount') ?? '';
    const amount = parseMajorAmount(amountText, currency.value.exponent);
    if (!amount.ok) throw reject('amount', `'${amountText}' ${amount.reason}`);
    if (amount.value <= 0n) throw reject('amount', `'${amountText}' is not positive`);
    const arrival = values.get('arrival_date') ?? '';
    if (!isCalendarDate(arrival))
      throw reject('arrival_date', `'${arrival}' is not a date YYYY-MM-DD`);
    const method = (values.get('method') ?? '').toLowerCase() || 'standard';
    if (!(PAYOUT_METHODS as readonly string[]).includes(method))
      throw reject('method', `'${method}' is not one of ${PAYOUT_METHODS.join(', ')}`);
    const key = `${id}\u0000${currency.value.code}`;
    if (seen.has(key)) throw reject('payout_id', `${id} (${currency.value.code}) is listed twice`);
    seen.add(key);
    return {
      kind,
      key: id,
      currency: currency.value.code,
      amount: amount.value,
      dueDate: arrival,
      itemizable: method === 'standard',
    };
  });
}

/**
 * The children named by the `payout_id` column of a canonical processor CSV's text (see the
 * module description). Returns the children (file order) and the rows left out (line, reason).
 */
export function parsePayoutChildren(
  text: string,
  path: string,
): { children: SettlementChild[]; invalidRows: { line: number; reason: string }[] } {
  const children: SettlementChild[] = [];
  const invalidRows: { line: number; reason: string }[] = [];
  // The file was read once already by the transaction source: parse it again only when its
  // header names payouts (a large export without the column costs one line here).
  const newline = text.indexOf('\n');
  const firstLine = (newline < 0 ? text : text.slice(0, newline)).toLowerCase();
  if (!firstLine.includes('payout_id')) return { children, invalidRows };
  const { header, rows } = csvRows(text, path, 'processor file');
  if (!header.has('payout_id')) return { children, invalidRows };
  for (const { line, values } of rows) {
    const payoutId = values.get('payout_id') ?? '';
    if (payoutId === '') continue;
    const id = values.get('transaction_id') ?? '';
    const currency = parseCurrency(values.get('currency') ?? '');
    if (id === '' || !currency.ok) {
      invalidRows.push({
        line,
        reason:
          id === '' ? 'transaction_id is empty' : `currency ${currency.ok ? '' : currency.reason}`,
      });
      continue;
    }
    const code: CurrencyCode = currency.value.code;
    const amountText = values.get('amount') ?? '';
    const gross = parseMajorAmount(amountText, currency.value.exponent);
    const feeText = values.get('fee') ?? '';
    const fee =
      feeText === ''
        ? { ok: true as const, value: 0n }
        : parseMajorAmount(feeText, currency.value.exponent);
    if (!gross.ok || !fee.ok) {
      invalidRows.push({
        line,
        reason: !gross.ok
          ? `amount '${amountText}' ${gross.reason}`
          : `fee '${feeText}' ${fee.ok ? '' : fee.reason}`,
      });
      continue;
    }
    children.push({
      id,
      parentKey: payoutId,
      category: gross.value < 0n ? 'refund' : 'charge',
      currency: code,
      gross: gross.value,
      net: gross.value - fee.value,
    });
  }
  return { children, invalidRows };
}

/**
 * The canonical settlement source of one run: parents from `payoutsPath`, children from the
 * processor CSV `processorPath` (read in `encoding`). `read` throws `InputRejectedError` (exit 4)
 * for a payouts file or processor CSV that cannot be read (see `parsePayoutsFile`).
 */
export class CanonicalPayoutsSource implements SettlementSource {
  readonly location: string;

  constructor(
    private readonly processor: ProcessorName,
    private readonly payoutsPath: string,
    private readonly processorPath: string,
    private readonly encoding: InputEncoding = 'utf-8',
  ) {
    this.location = payoutsPath;
  }

  async read(): Promise<SettlementRead> {
    const parents = parsePayoutsFile(
      await readText(this.payoutsPath, 'payouts file', 'utf-8'),
      this.payoutsPath,
      payoutKindOf(this.processor),
    );
    const text = await readText(this.processorPath, 'processor file', this.encoding);
    const { children, invalidRows } = parsePayoutChildren(text, this.processorPath);
    return { location: this.payoutsPath, parents, children, invalidRows };
  }
}

/**
 * The canonical settlement source of (`date`, `processor`) when its payouts file exists under
 * `dataDir`, else `null` (the run has no settlement leg from files).
 */
export function canonicalPayoutsSourceFor(
  dataDir: string,
  date: string,
  processor: ProcessorName,
  processorPath: string,
  encoding?: InputEncoding,
): CanonicalPayoutsSource | null {
  const path = payoutsFilePath(dataDir, date, processor);
  return existsSync(path)
    ? new CanonicalPayoutsSource(processor, path, processorPath, encoding)
    : null;
}
