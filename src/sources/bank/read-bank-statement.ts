import { readFile, stat } from 'node:fs/promises';
import { InputRejectedError } from '../../domain/errors';
import { parseBai2, looksLikeBai2 } from './bai2';
import { rejectAtLine, type BankStatementFormat, type ParsedBankFile } from './bank-entry';
import { looksLikeBankCsv, parseBankCsv, type BankCsvColumnMap } from './bank-csv';
import { looksLikeCamt053, parseCamt053 } from './camt053';

/**
 * Options of `parseBankStatement` / `readBankStatementFile`: `format` forces a format (the CLI's
 * `--bank-format`; default: detected from the content); `csvColumns` is the column map of the
 * bank's CSV export (needed to read, and to detect, a CSV statement).
 */
export interface BankStatementOptions {
  readonly format?: BankStatementFormat;
  readonly csvColumns?: BankCsvColumnMap;
}

/**
 * Detects the format of a bank file from its content: `camt053` for an XML document holding
 * `BkToCstmrStmt` (camt.053.001.*), `bai2` for a text starting with a `01,` file header, `csv` for
 * a text whose header line has every column of `csvColumns`; `undefined` for anything else.
 * A leading UTF-8 byte order mark and blank lines are ignored.
 */
export function detectBankFormat(
  content: string,
  csvColumns?: BankCsvColumnMap,
): BankStatementFormat | undefined {
  const text = content.replace(/^\uFEFF/, '');
  if (looksLikeCamt053(text)) return 'camt053';
  if (looksLikeBai2(text)) return 'bai2';
  if (csvColumns && looksLikeBankCsv(text, csvColumns)) return 'csv';
  return undefined;
}

/**
 * Reads the bank statement `content` (from `location`, a path or URL used in messages) in the
 * format given or detected. Throws `BankStatementRejectedError` (an `InputRejectedError`, exit 4)
 * when the format cannot be told or the file cannot be read in it, naming the file and the line or
 * XML path.
 */
export function parseBankStatement(
  content: string,
  location: string,
  options: BankStatementOptions = {},
): ParsedBankFile {
  const text = content.replace(/^\uFEFF/, '');
  const format = options.format ?? detectBankFormat(text, options.csvColumns);
  switch (format) {
    case 'camt053':
      return parseCamt053(text, location);
    case 'bai2':
      return parseBai2(text, location);
    case 'csv':
      if (!options.csvColumns)
        throw rejectAtLine(location, null, 'a bank CSV statement needs a column map');
      return parseBankCsv(text, location, options.csvColumns);
    case undefined:
      throw rejectAtLine(
        location,
        null,
        options.csvColumns
          ? 'not a camt.053, BAI2 or bank CSV file (the header lacks the mapped columns)'
          : 'not a camt.053 or BAI2 file (a bank CSV needs a column map)',
      );
  }
}

/**
 * Reads the bank statement file at `path` (UTF-8; a byte order mark is ignored) and parses it as
 * `parseBankStatement` does. Throws `InputRejectedError` for a missing or unreadable file, a
 * directory, or bytes that are not UTF-8 text, and `BankStatementRejectedError` for a bad file.
 */
export async function readBankStatementFile(
  path: string,
  options: BankStatementOptions = {},
): Promise<ParsedBankFile> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new InputRejectedError(`bank statement ${path} is not a file`, { location: path });
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof InputRejectedError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputRejectedError(
      code === 'ENOENT'
        ? `bank statement ${path} does not exist`
        : `bank statement ${path} cannot be read (${code ?? 'error'})`,
      { location: path },
    );
  }
  let content: string;
  try {
    content = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputRejectedError(`bank statement ${path} is not UTF-8 text`, { location: path });
  }
  return parseBankStatement(content, path, options);
}
