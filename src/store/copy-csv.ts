import type { SqlValue } from './database';

/**
 * Encodes one row as a line of PostgreSQL COPY CSV: `null` → empty unquoted field (NULL), every
 * other value quoted with `"` doubled, so empty strings and text with commas, quotes or newlines
 * round-trip exactly. See https://www.postgresql.org/docs/current/sql-copy.html (CSV Format).
 */
export function encodeCopyCsvRow(values: readonly SqlValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    const value = values[i];
    if (value === null || value === undefined) continue;
    const text = String(value);
    line += `"${text.includes('"') ? text.replace(/"/g, '""') : text}"`;
  }
  return `${line}\n`;
}

/** Groups encoded rows into chunks of about `rowsPerChunk` rows, for streaming to COPY. */
export function* chunkCopyRows<T>(
  items: Iterable<T>,
  toRow: (item: T) => readonly SqlValue[],
  rowsPerChunk = 5000,
): Generator<string> {
  let chunk: string[] = [];
  for (const item of items) {
    chunk.push(encodeCopyCsvRow(toRow(item)));
    if (chunk.length >= rowsPerChunk) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk.join('');
}
