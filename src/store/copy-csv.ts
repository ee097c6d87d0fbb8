import type { SqlValue } from './database';

/**
 * Encodes `items` as PostgreSQL COPY CSV (https://www.postgresql.org/docs/current/sql-copy.html,
 * CSV Format) in chunks of about 1 MiB: `null` → empty unquoted field (NULL), every other value
 * quoted with `"` doubled, so empty strings and text with commas, quotes or newlines round-trip
 * exactly. Written straight into `Buffer`s: building one string per row and joining them cost
 * ~6.5 µs per 22-column row, this ~1 µs.
 */
export function* chunkCopyRows<T>(
  items: Iterable<T>,
  toRow: (item: T) => readonly SqlValue[],
): Generator<Buffer> {
  const out = new CopyCsvWriter();
  for (const item of items) {
    const values = toRow(item);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) out.null();
      else out.quoted(String(value));
    }
    const chunk = out.endRow();
    if (chunk) yield chunk;
  }
  const rest = out.finish();
  if (rest) yield rest;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
/** A chunk is handed to COPY once it holds this many bytes. */
const CHUNK_BYTES = 1 << 20;

/**
 * Writes COPY CSV (https://www.postgresql.org/docs/current/sql-copy.html, CSV Format) straight
 * into ~1 MiB `Buffer` chunks, field by field: no string per row, and UTF-8 bytes already held
 * elsewhere (a `TransactionTable`'s ids and descriptions) are copied as they are. NULL is an
 * empty unquoted field; text is quoted (quotes doubled) only when it is empty or holds a quote,
 * comma, line break or backslash, exactly like the string encoder of the staging rows.
 */
export class CopyCsvWriter {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES + (CHUNK_BYTES >> 2));
  private at = 0;
  private fieldsInRow = 0;

  private ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  private separate(): void {
    if (this.fieldsInRow++ > 0) {
      this.ensure(1);
      this.buffer[this.at++] = COMMA;
    }
  }

  /** A field written as it is: numbers, or text already encoded as a field (see `csvField`). */
  plain(text: string): this {
    this.separate();
    this.ensure(text.length * 3);
    this.at += this.buffer.write(text, this.at, 'utf8');
    return this;
  }

  /** A text field, always quoted (quotes doubled). */
  quoted(text: string): this {
    this.separate();
    const escaped = text.includes('"') ? text.replace(/"/g, '""') : text;
    this.ensure(escaped.length * 3 + 2);
    this.buffer[this.at++] = QUOTE;
    this.at += this.buffer.write(escaped, this.at, 'utf8');
    this.buffer[this.at++] = QUOTE;
    return this;
  }

  /** A NULL field. */
  null(): this {
    this.separate();
    return this;
  }

  /** A text field given as UTF-8 `bytes[start, end)`, quoted only when needed. */
  bytes(bytes: Uint8Array, start: number, end: number): this {
    this.separate();
    let quote = end === start;
    for (let k = start; k < end && !quote; k++) {
      const c = bytes[k] as number;
      quote = c === QUOTE || c === COMMA || c === NEWLINE || c === CR || c === BACKSLASH;
    }
    if (!quote) {
      this.ensure(end - start);
      this.buffer.set(bytes.subarray(start, end), this.at);
      this.at += end - start;
      return this;
    }
    this.ensure(2 * (end - start) + 2);
    const out = this.buffer;
    out[this.at++] = QUOTE;
    for (let k = start; k < end; k++) {
      const c = bytes[k] as number;
      if (c === QUOTE) out[this.at++] = QUOTE;
      out[this.at++] = c;
    }
    out[this.at++] = QUOTE;
    return this;
  }

  /** Ends the row; returns a full chunk to send when one is ready, else `null`. */
  endRow(): Buffer | null {
    this.ensure(1);
    this.buffer[this.at++] = NEWLINE;
    this.fieldsInRow = 0;
    return this.at >= CHUNK_BYTES ? this.take() : null;
  }

  /** The rest (or `null` when empty), at the end. */
  finish(): Buffer | null {
    return this.at > 0 ? this.take() : null;
  }

  private take(): Buffer {
    const chunk = this.buffer.subarray(0, this.at);
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES + (CHUNK_BYTES >> 2));
    this.at = 0;
    return chunk;
  }
}

/** `value` as one COPY CSV text field (for `CopyCsvWriter.plain`): NULL empty, quotes when needed. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || /[",\r\n\\]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}
