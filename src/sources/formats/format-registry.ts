import { InputRejectedError, UsageError } from '../../domain/errors';
import type { ProcessorName } from '../../domain/status';
import type { TransactionSide } from '../../domain/transaction';
import { CANONICAL_REQUIRED_COLUMNS, CanonicalCsvSource } from '../canonical-csv-source';
import { readFirstRecord } from '../csv-records';
import { printable, type InputEncoding } from '../text-encoding';
import type { TransactionTable } from '../../domain/transaction-table';
import type {
  ReadContext,
  SourceReadResult,
  StreamedSide,
  StreamingTransactionSource,
} from '../transaction-source';
import { ADYEN_SETTLEMENT_DETAIL } from './adyen-settlement-detail';
import { FormatCsvSource } from './format-csv-source';
import { PAYPAL_ACTIVITY } from './paypal-activity';
import { PAYPAL_STL } from './paypal-stl';
import { normalizeHeaderName, type FormatSettings, type ProcessorFormat } from './processor-format';
import { STRIPE_BALANCE_REPORT } from './stripe-balance-report';

/** The project's own CSV format (README "Input: the canonical CSV format"), for any processor. */
export const CANONICAL_FORMAT_NAME = 'canonical';

/**
 * Processor export formats, in detection order. To add one: write a module like
 * `stripe-balance-report.ts` (a column map, a reader turning records into `FormatRow`s) and list
 * its `ProcessorFormat` here.
 */
export const PROCESSOR_FORMATS: readonly ProcessorFormat[] = [
  STRIPE_BALANCE_REPORT,
  PAYPAL_ACTIVITY,
  PAYPAL_STL,
  ADYEN_SETTLEMENT_DETAIL,
];

/** Every `--format` name: `canonical` and the processor formats. */
export const FORMAT_NAMES: readonly string[] = [
  CANONICAL_FORMAT_NAME,
  ...PROCESSOR_FORMATS.map((format) => format.name),
];

function isCanonicalHeader(fields: readonly string[]): boolean {
  const names = new Set(fields.map(normalizeHeaderName));
  return CANONICAL_REQUIRED_COLUMNS.every((name) => names.has(name));
}

/** A detected or chosen format: `canonical`, or one of `PROCESSOR_FORMATS`. */
export type ChosenFormat = { readonly name: 'canonical' } | ProcessorFormat;

/**
 * The format of a file whose first non-empty record is `fields`, or `undefined`. The canonical
 * header wins, so a ledger-style file is never mistaken for an export.
 */
export function detectFormat(fields: readonly string[]): ChosenFormat | undefined {
  if (isCanonicalHeader(fields)) return { name: CANONICAL_FORMAT_NAME };
  return PROCESSOR_FORMATS.find((format) => format.detect(fields));
}

/** The format named `name` (`--format`). @throws UsageError listing the names for an unknown one. */
export function formatByName(name: string): ChosenFormat {
  const wanted = name.trim().toLowerCase();
  if (wanted === CANONICAL_FORMAT_NAME) return { name: CANONICAL_FORMAT_NAME };
  const format = PROCESSOR_FORMATS.find((candidate) => candidate.name === wanted);
  if (!format) {
    throw new UsageError(`unknown --format '${name}'; known formats: ${FORMAT_NAMES.join(', ')}`);
  }
  return format;
}

/** One line per format: its name and the columns that identify it, for the unknown-header error. */
export function describeFormats(): string {
  return [
    `${CANONICAL_FORMAT_NAME} (${CANONICAL_REQUIRED_COLUMNS.join(', ')})`,
    ...PROCESSOR_FORMATS.map((format) => `${format.name} (${format.detectionColumns.join(', ')})`),
  ].join('; ');
}

/**
 * The first non-empty CSV record of `path` (all fields blank counts as empty), read in `encoding`
 * with the rules of the full reader; `undefined` when there is none.
 * @throws InputRejectedError when the file is missing or not a file, malformed CSV (an unclosed
 *   quote in the header…) or a first record that is not text (binary bytes), naming the line.
 */
export async function peekFirstRecord(
  path: string,
  what: string,
  encoding: InputEncoding = 'utf-8',
): Promise<string[] | undefined> {
  return readFirstRecord(path, what, encoding);
}

/**
 * The `csv` source of the processor side: reads the file's first record, picks the format
 * (`--format` when given, else detection) and delegates to `CanonicalCsvSource` or a
 * `FormatCsvSource`. A detected processor format must belong to the processor being reconciled.
 */
export class DetectingCsvSource implements StreamingTransactionSource {
  constructor(
    readonly side: TransactionSide,
    readonly location: string,
    private readonly processor: ProcessorName,
    private readonly settings: FormatSettings,
    private readonly formatName?: string,
    readonly encoding: InputEncoding = 'utf-8',
  ) {
    if (formatName !== undefined) formatByName(formatName);
  }

  /**
   * @throws InputRejectedError for a missing or empty file, an unrecognised header (listing the
   *   known formats and their columns), or a format of another processor.
   */
  async read(context: ReadContext): Promise<SourceReadResult> {
    const format = await this.chooseFormat();
    if (!('processor' in format)) {
      return new CanonicalCsvSource(this.side, this.location, this.encoding).read(context);
    }
    return new FormatCsvSource(this.side, this.location, format, this.settings, this.encoding).read(
      context,
    );
  }

  /**
   * `read` batch by batch: a canonical file through `CanonicalCsvSource.readStreamed`, a
   * processor's own export through `FormatCsvSource.readStreamed` (both in tables of
   * `STREAMED_TABLE_ROWS` rows, the side checks left to the caller; an export's tables of
   * `tableRows` when given). Errors as `read`, from the tables' iteration.
   */
  readStreamed(context: ReadContext, tableRows?: number): StreamedSide {
    let inner: StreamedSide | null = null;
    const tables = async function* (this: DetectingCsvSource): AsyncGenerator<TransactionTable> {
      const format = await this.chooseFormat();
      inner = !('processor' in format)
        ? new CanonicalCsvSource(this.side, this.location, this.encoding).readStreamed(context)
        : new FormatCsvSource(
            this.side,
            this.location,
            format,
            this.settings,
            this.encoding,
          ).readStreamed(context, tableRows);
      yield* inner.tables;
    }.call(this);
    return {
      tables,
      end: () => {
        if (!inner) throw new Error(`${this.location}: end() before its tables were read`);
        return inner.end();
      },
    };
  }

  /**
   * The file's format: `--format` when given, else detected from its first record; a processor
   * format must be the run's processor's.
   * @throws InputRejectedError as `read`.
   */
  private async chooseFormat(): Promise<ChosenFormat> {
    const what = this.side === 'processor' ? 'processor input' : 'internal ledger input';
    let format: ChosenFormat;
    if (this.formatName !== undefined) format = formatByName(this.formatName);
    else {
      const first = await peekFirstRecord(this.location, what, this.encoding);
      if (!first) {
        throw new InputRejectedError(`${what} ${this.location} is empty: expected a header row`, {
          location: this.location,
          line: 1,
        });
      }
      const detected = detectFormat(first);
      if (!detected) {
        const found = printable(first.map((field) => field.trim()).join(', '));
        throw new InputRejectedError(
          `${what} ${this.location}: unrecognised header (found: ${found.length > 300 ? `${found.slice(0, 300)}…` : found}); ` +
            `known formats and the columns they need: ${describeFormats()}; use --format to choose one`,
          { location: this.location, line: 1 },
        );
      }
      format = detected;
    }
    if (!('processor' in format)) return format;
    if (format.processor !== this.processor) {
      throw new InputRejectedError(
        `${what} ${this.location} is in format ${format.name} (${format.title}) ` +
          `of ${format.processor}, but this run reconciles ${this.processor}`,
        { location: this.location, line: 1 },
      );
    }
    return format;
  }
}
