import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse, CsvError } from 'csv-parse';
import { InputRejectedError } from '../domain/errors';

/** One CSV record: its fields as text and the 1-based physical line it starts on. */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

/**
 * Streams the records of an RFC 4180 CSV file (UTF-8, optional BOM, LF or CRLF; empty lines
 * skipped), header row included as the first record. Records with a different number of fields
 * than the header are yielded as they are, for the caller to reject as invalid rows.
 *
 * Throws `InputRejectedError` (naming the file and line) when the file does not exist or is not
 * a file, or when the CSV structure itself is broken (e.g. an unclosed quote), since nothing after
 * such an error can be trusted.
 */
export async function* readCsvRecords(path: string, what: string): AsyncGenerator<CsvRecord> {
  await assertReadableFile(path, what);
  const parser = createReadStream(path).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  try {
    for await (const item of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const { record, info } = item;
      let newlines = 0;
      for (const field of record) {
        if (field.includes('\n')) newlines += field.split('\n').length - 1;
      }
      yield { fields: record, line: info.lines - newlines };
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line =
        typeof (error as CsvError & { lines?: number }).lines === 'number'
          ? (error as CsvError & { lines: number }).lines
          : undefined;
      throw new InputRejectedError(
        `${what} ${path}${line ? ` line ${line}` : ''}: malformed CSV (${error.message.split(':')[0] ?? error.code})`,
        { location: path, line },
        { cause: error },
      );
    }
    throw new InputRejectedError(
      `${what} ${path}: cannot be read (${(error as Error).message})`,
      { location: path },
      { cause: error },
    );
  }
}

async function assertReadableFile(path: string, what: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new InputRejectedError(`${what} ${path} is not a file`, { location: path });
  } catch (error) {
    if (error instanceof InputRejectedError) throw error;
    throw new InputRejectedError(
      `${what} not found: expected ${path}`,
      { location: path },
      { cause: error },
    );
  }
}
