/**
 * The fast path of the CSV reader (issue #16): the parts of a file that hold no quote byte are
 * split by hand — for RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180) such text is exactly
 * "split on record delimiters, then on commas" — and everything else is left to csv-parse. This
 * module holds no CSV parser: it only finds record boundaries that are certain (`SegmentCutter`),
 * the quote-free runs of whole records between them (`splitRuns`), checks that a run's line
 * breaks are the file's record delimiter only (`isPlainRun`) and splits such a run
 * (`splitPlainRecords`). `csv-records.ts` hands every other run to csv-parse and keeps its exact
 * behaviour (errors, BOM, CRLF, empty lines, line numbers).
 *
 * Why the boundaries are certain: with csv-parse's options here (`relax_quotes: false`, quote and
 * escape `"`), every quote byte csv-parse accepts either opens a quoted field, closes it, or is one
 * of a `""` pair inside it, so "inside a quoted field" is exactly "an odd number of quote bytes
 * since the last boundary". Any other quote byte is an error csv-parse raises at that byte; the
 * byte is always inside a run handed to csv-parse (a run holding a quote never takes the fast
 * path), so the error is raised as before.
 */

/**
 * The record delimiter csv-parse uses for a file: the first line break outside quotes decides it
 * (`\r\n`, else `\n`, else `\r`); afterwards the other line-break bytes are field content.
 */
export type RecordDelimiter = '\n' | '\r\n' | '\r';

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Cuts the input, chunk by chunk, into segments of whole records: each segment ends just after a
 * record delimiter that is outside quotes (an even number of quote bytes since the segment
 * start), so a parser can start afresh at the next byte. Bytes after the last such delimiter wait
 * for the next chunk (`rest` at the end of the input). Linear in the input: each byte is searched
 * once and copied once into its segment.
 */
export class SegmentCutter {
  /** The record delimiter, once a line break outside quotes has been seen. */
  delimiter: RecordDelimiter | undefined;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** An odd number of quote bytes in `pending` (inside a quoted field at its end). */
  private odd = false;
  /** Last byte of `pending` (a CR whose LF may start the next chunk), -1 when empty. */
  private lastByte = -1;
  /** Discovery: `pending` ended on a CR outside quotes; the next byte decides CRLF or CR. */
  private crAtEnd = false;

  /** Adds `chunk`; returns the segment of whole records completed by it, if any. */
  push(chunk: Buffer): Buffer | undefined {
    if (chunk.length === 0) return undefined;
    if (this.delimiter === undefined) {
      this.delimiter = this.discover(chunk);
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      if (this.delimiter === undefined) return undefined;
      // Found: look for the last boundary in everything read so far.
      const all = this.takePending();
      this.odd = false;
      this.lastByte = -1;
      return this.cut(all);
    }
    return this.cut(chunk);
  }

  /** The bytes after the last boundary (the end of the input), or `undefined` when none. */
  rest(): Buffer | undefined {
    if (this.pendingLength === 0) return undefined;
    return this.takePending();
  }

  private takePending(): Buffer {
    const all =
      this.pending.length === 1
        ? (this.pending[0] as Buffer)
        : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    return all;
  }

  /**
   * csv-parse's delimiter discovery on `chunk`, continuing the quote parity of the bytes before
   * it: the first CR or LF outside quotes (`\r\n` before `\r`).
   */
  private discover(chunk: Buffer): RecordDelimiter | undefined {
    if (this.crAtEnd) return chunk[0] === LF ? '\r\n' : '\r';
    let odd = this.odd;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === QUOTE) odd = !odd;
      else if (!odd && byte === LF) return '\n';
      else if (!odd && byte === CR) {
        if (i + 1 === chunk.length) {
          this.crAtEnd = true;
          return undefined;
        }
        return chunk[i + 1] === LF ? '\r\n' : '\r';
      }
    }
    this.odd = odd;
    return undefined;
  }

  /** Appends `chunk` to `pending`; returns `pending` up to its last boundary, if any. */
  private cut(chunk: Buffer): Buffer | undefined {
    const delimiter = this.delimiter as RecordDelimiter;
    const quotes: number[] = [];
    for (let q = chunk.indexOf(QUOTE); q !== -1; q = chunk.indexOf(QUOTE, q + 1)) quotes.push(q);
    // Region k lies between quotes k-1 and k; it is outside quotes when the parity before it is even.
    let cutAt = -1;
    let quotesAfter = 0;
    for (let k = quotes.length; k >= 0 && cutAt === -1; k--) {
      if (this.odd !== ((k & 1) === 1)) continue;
      const start = k === 0 ? 0 : (quotes[k - 1] as number) + 1;
      const end = k === quotes.length ? chunk.length : (quotes[k] as number);
      const at = lastIndexIn(chunk, delimiter, start, end);
      if (at !== -1) cutAt = at + delimiter.length;
      else if (k === 0 && delimiter === '\r\n' && this.lastByte === CR && chunk[0] === LF) {
        cutAt = 1;
      }
      if (cutAt !== -1) quotesAfter = quotes.length - k;
    }
    const lastByte = chunk[chunk.length - 1] as number;
    if (cutAt === -1) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      if ((quotes.length & 1) === 1) this.odd = !this.odd;
      this.lastByte = lastByte;
      return undefined;
    }
    this.pending.push(chunk.subarray(0, cutAt));
    this.pendingLength += cutAt;
    const segment = this.takePending();
    if (cutAt < chunk.length) {
      this.pending.push(chunk.subarray(cutAt));
      this.pendingLength = chunk.length - cutAt;
    }
    this.odd = (quotesAfter & 1) === 1;
    this.lastByte = lastByte;
    return segment;
  }
}

/** Index of the last `delimiter` lying wholly in `bytes[start, end)`, or -1. */
function lastIndexIn(
  bytes: Buffer,
  delimiter: RecordDelimiter,
  start: number,
  end: number,
): number {
  const from = end - delimiter.length;
  if (from < start) return -1;
  const at =
    delimiter === '\r\n'
      ? bytes.lastIndexOf(CRLF, from)
      : bytes.lastIndexOf(delimiter === '\n' ? LF : CR, from);
  return at >= start ? at : -1;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * A run of whole records of a segment: `[start, end)` byte offsets in it; `plain` when it holds
 * no quote byte.
 */
export interface SegmentRun {
  readonly start: number;
  readonly end: number;
  readonly plain: boolean;
}

/**
 * Quoted runs closer than this many bytes are handed to csv-parse as one run: a fresh csv-parse
 * per run costs a few microseconds, a plain run saves about a microsecond per 100 bytes (more
 * when its records are validated from their bytes: 1M rows of the bench's data with 1% quoted
 * records, parse and validation 1.48 s of CPU at 4096, 1.27 s at 1024, 1.2 s at 256).
 */
export const MIN_PLAIN_RUN_BYTES = 1024;

/**
 * Splits `segment` (whole records from a boundary, see `SegmentCutter`; at the end of the input
 * its last record may lack the delimiter, or hold an unclosed quote) into consecutive runs of
 * whole records, each either without any quote byte (`plain`) or holding the quoted records. A
 * quoted run starts at the record of its first quote and ends after the first delimiter outside
 * quotes after its last quote; quoted runs with less than `minPlain` bytes between them are one.
 */
export function splitRuns(
  segment: Buffer,
  delimiter: RecordDelimiter,
  minPlain: number = MIN_PLAIN_RUN_BYTES,
): SegmentRun[] {
  const runs: SegmentRun[] = [];
  const length = segment.length;
  const needle = delimiter === '\r\n' ? CRLF : delimiter === '\n' ? LF : CR;
  let pos = 0;
  while (pos < length) {
    let quote = segment.indexOf(QUOTE, pos);
    if (quote === -1) {
      runs.push({ start: pos, end: length, plain: true });
      break;
    }
    // The quoted run starts after the last delimiter before its first quote (outside quotes).
    const before = lastIndexIn(segment, delimiter, pos, quote);
    const start = before === -1 ? pos : before + delimiter.length;
    if (start > pos) runs.push({ start: pos, end: start, plain: true });
    // Walk its quotes in pairs; after a closing quote, the next delimiter before the next quote
    // ends the run, unless another quote follows within `minPlain` bytes.
    let end = length;
    for (;;) {
      const closing = segment.indexOf(QUOTE, quote + 1);
      if (closing === -1) break; // unclosed at the end of the input: csv-parse says so
      const next = segment.indexOf(QUOTE, closing + 1);
      const limit = next === -1 ? length : next;
      const at = segment.indexOf(needle, closing + 1);
      if (at !== -1 && at + delimiter.length <= limit) {
        const after = at + delimiter.length;
        if (next === -1 || next - after >= minPlain) {
          end = after;
          break;
        }
      }
      if (next === -1) break; // the last record lacks its delimiter (end of the input)
      quote = next;
    }
    runs.push({ start, end, plain: false });
    pos = end;
  }
  return runs;
}

/**
 * Whether the line breaks of `text` (a quote-free run) are all the record delimiter: csv-parse
 * reads a line-break byte that is not part of the delimiter as field content (and counts it as a
 * line), so such a run is left to it.
 */
export function isPlainRun(text: string, delimiter: RecordDelimiter): boolean {
  if (delimiter === '\n') return !text.includes('\r');
  if (delimiter === '\r') return !text.includes('\n');
  return !LONE_BREAK.test(text);
}

const LONE_BREAK = /\r(?!\n)|(?<!\r)\n/;

/** Where `splitPlainRecords` writes: each record's fields are pushed to `fields`, then `record`. */
export interface PlainRecordSink {
  readonly fields: string[];
  /**
   * A record of `count` fields (the last `count` pushed) on `lineIndex`, the 0-based index of its
   * line in the run.
   */
  record(count: number, lineIndex: number): void;
}

/**
 * Splits `text` (a quote-free run of whole records, `isPlainRun`) on `delimiter`, then on commas,
 * as csv-parse does with our options: empty lines are skipped (but counted), every other line is a
 * record. The last line may lack the delimiter (end of the input). Returns the number of lines
 * the run advances csv-parse's line counter by (one per delimiter).
 */
export function splitPlainRecords(
  text: string,
  delimiter: RecordDelimiter,
  sink: PlainRecordSink,
): number {
  const fields = sink.fields;
  const step = delimiter.length;
  const length = text.length;
  let lineIndex = 0;
  let pos = 0;
  let comma = text.indexOf(',');
  if (comma === -1) comma = length;
  while (pos < length) {
    let eol = text.indexOf(delimiter, pos);
    const last = eol === -1;
    if (last) eol = length;
    if (eol > pos) {
      let count = 0;
      let start = pos;
      while (comma < eol) {
        fields.push(text.slice(start, comma));
        count++;
        start = comma + 1;
        comma = text.indexOf(',', start);
        if (comma === -1) comma = length;
      }
      fields.push(text.slice(start, eol));
      sink.record(count + 1, lineIndex);
    }
    if (last) break;
    lineIndex++;
    pos = eol + step;
  }
  return lineIndex;
}
