/**
 * The CSV record parser as it was before the fast path (issue #16), kept verbatim as the
 * reference of the differential test (tests/unit/fast-csv-differential.test.ts): one csv-parse
 * `Parser` for the whole input, records numbered from its live `info.lines`. One change since:
 * the fault locator's fix for a bare line break inside a record (`locateFaults`, the same fix as
 * in src/sources/csv-records.ts), so that both readers describe such a field the same way.
 */
import { CsvError, Parser } from 'csv-parse';
import type { CsvFieldBatch, TextFault } from '../../src/sources/csv-records';
import { CsvTextError } from '../../src/sources/csv-records';
import {
  describeBytes,
  hex,
  latin1ToWindows1252,
  TextFaultScanner,
  type InputEncoding,
  type TextFaultKind,
} from '../../src/sources/text-encoding';

const CSV_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: true } as const;

/**
 * Line breaks inside a field: `physical` counts CRLF, LF and a lone CR once each; `crlf` counts
 * the CRLF pairs, which csv-parse's line counter counts twice inside quoted fields.
 */
function countBreaks(text: string): { physical: number; crlf: number } {
  let physical = 0;
  let crlf = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) {
      physical++;
      if (text.charCodeAt(i + 1) === 10) {
        crlf++;
        i++;
      }
    } else if (c === 10) physical++;
  }
  return { physical, crlf };
}

const INITIAL_BATCH_RECORDS = 8192;

/**
 * A csv-parse `Parser` that emits one flat `CsvFieldBatch` per chunk of input instead of one
 * bare record per stream object, and tags each record with its start line.
 *
 * Why: the `info: true` option builds a fresh info object (a copy of the parser's counters) for
 * every record and the object-mode stream costs a promise per record; at millions of rows both
 * dominate. The parser's live `info.lines` counter holds, at the moment a record is pushed, the
 * same value `info: true` would have copied (the line the record ends on, except that csv-parse
 * counts a CRLF inside a quoted field as two lines); the start line is that, corrected for those
 * CRLFs so far, minus the line breaks inside the record's own fields.
 */
export class LegacyLineNumberingParser extends Parser {
  private fields: string[] = [];
  private counts = new Uint32Array(INITIAL_BATCH_RECORDS);
  private lines = new Uint32Array(INITIAL_BATCH_RECORDS);
  private length = 0;
  private faults: TextFault[] = [];
  /** CRLF pairs seen inside fields so far: csv-parse's `info.lines` is ahead by this many. */
  private crlfInFields = 0;
  private readonly scanner: TextFaultScanner;
  private readonly windows1252: boolean;
  /** File offset of the next chunk; of the first byte after the last record pushed. */
  private bytesIn = 0;
  private recordStart = 0;
  /** The chunks holding the bytes from `recordStart` on (kept to locate bad bytes). */
  private chunks: { bytes: Buffer; start: number }[] = [];
  /** Next unconsumed entries of `scanner.invalid` and `scanner.nul`. */
  private invalidAt = 0;
  private nulAt = 0;
  private recordsPushed = 0;
  /** The line the next record starts on, at the earliest (for an unclosed quote). */
  private nextRecordLine = 1;
  private failure: Error | undefined;

  constructor(private readonly encoding: InputEncoding) {
    super({
      ...CSV_OPTIONS,
      // Single-byte encodings decode every byte as Latin-1 (windows-1252 then maps 0x80–0x9F);
      // csv-parse's BOM detection would switch them to UTF-8 or UTF-16 behind our back.
      bom: encoding === 'utf-8',
      encoding: encoding === 'utf-8' ? 'utf8' : 'latin1',
    });
    this.scanner = new TextFaultScanner(encoding === 'utf-8');
    this.windows1252 = encoding === 'windows-1252';
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      this.flushBatch();
      return super.push(null, encoding);
    }
    if (this.failure) return true;
    const record = chunk as string[];
    const out = this.fields;
    let breaks = 0;
    for (let i = 0; i < record.length; i++) {
      let field = record[i] as string;
      if (this.windows1252) field = latin1ToWindows1252(field);
      out.push(field);
      if (field.includes('\n') || field.includes('\r')) {
        const counted = countBreaks(field);
        breaks += counted.physical;
        this.crlfInFields += counted.crlf;
      }
    }
    if (this.length === this.counts.length) {
      const counts = new Uint32Array(this.length * 2);
      counts.set(this.counts);
      this.counts = counts;
      const lines = new Uint32Array(this.length * 2);
      lines.set(this.lines);
      this.lines = lines;
    }
    const line = this.info.lines - this.crlfInFields - breaks;
    this.counts[this.length] = record.length;
    this.lines[this.length] = line;
    // `info.bytes` is the offset just after this record (and its line break).
    const end = this.info.bytes;
    const { invalid, nul } = this.scanner;
    if (
      (this.invalidAt < invalid.length && (invalid[this.invalidAt] as number) < end) ||
      (this.nulAt < nul.length && (nul[this.nulAt] as number) < end)
    ) {
      this.locateFaults(end, line);
    }
    this.recordStart = end;
    this.nextRecordLine = this.info.lines + 1;
    this.recordsPushed++;
    this.length++;
    return true;
  }

  /**
   * Records a `TextFault` per field of the current record (bytes `recordStart` to `end`) that has
   * a bad byte, or fails the parse when it is the first record (the header).
   */
  private locateFaults(end: number, line: number): void {
    const bad: { offset: number; kind: TextFaultKind }[] = [];
    const { invalid, nul } = this.scanner;
    while (this.invalidAt < invalid.length && (invalid[this.invalidAt] as number) < end) {
      bad.push({ offset: invalid[this.invalidAt++] as number, kind: 'invalid_utf8' });
    }
    while (this.nulAt < nul.length && (nul[this.nulAt] as number) < end) {
      bad.push({ offset: nul[this.nulAt++] as number, kind: 'nul' });
    }
    bad.sort((a, b) => a.offset - b.offset);
    const bytes = this.bytesBetween(this.recordStart, end);
    const base = this.recordStart;
    // Field boundaries: delimiters outside quotes. The blank lines before the record belong to
    // the byte range too: the record starts after the last of them. A line break after the
    // record's first byte is data (csv-parse did not end the record there: a bare LF in a CRLF
    // file), not a new start.
    const fieldOf = new Int32Array(bytes.length);
    const starts: number[] = [0];
    let field = 0;
    let quoted = false;
    let content = false;
    for (let k = 0; k < bytes.length; k++) {
      const c = bytes[k] as number;
      fieldOf[k] = field;
      if (!content && (c === 0x0a || c === 0x0d)) {
        starts[0] = k + 1;
        continue;
      }
      content = true;
      if (c === 0x22) quoted = !quoted;
      else if (!quoted && c === 0x2c) {
        field++;
        starts[field] = k + 1;
      }
    }
    const reported = new Set<number>();
    for (const { offset, kind } of bad) {
      const index = fieldOf[offset - base] as number;
      if (reported.has(index)) continue;
      reported.add(index);
      const start = starts[index] as number;
      let stop = start;
      let inQuotes = false;
      while (stop < bytes.length) {
        const c = bytes[stop] as number;
        if (c === 0x22) inQuotes = !inQuotes;
        else if (!inQuotes && (c === 0x2c || c === 0x0a || c === 0x0d)) break;
        stop++;
      }
      let raw = bytes.subarray(start, stop);
      if (raw[0] === 0x22 && raw.length >= 2 && raw[raw.length - 1] === 0x22) {
        raw = raw.subarray(1, raw.length - 1);
      }
      const value = describeBytes(raw.subarray(0, 600), this.encoding).replaceAll('""', '"');
      const first = bytes[offset - base] as number;
      if (this.recordsPushed === 0 && !this.failure) {
        this.failure = new CsvTextError(
          kind === 'nul'
            ? `the header contains a NUL byte (at byte offset ${offset}): is it a CSV text file?`
            : `the header is not valid UTF-8 (byte 0x${hex(first)} at byte offset ${offset}): ` +
                'is it a CSV text file? For a latin1 or windows-1252 export, use --encoding',
          line,
        );
        return;
      }
      this.faults.push({
        record: this.length,
        field: index,
        kind,
        offset,
        bytes: hex(first),
        value: value.length > 200 ? `${value.slice(0, 200)}…` : value,
      });
    }
  }

  /** The file's bytes `[from, to)`, from the chunks kept. */
  private bytesBetween(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    for (const { bytes, start } of this.chunks) {
      const end = start + bytes.length;
      if (end <= from || start >= to) continue;
      parts.push(bytes.subarray(Math.max(from, start) - start, Math.min(to, end) - start));
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  override _transform(
    chunk: Buffer,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.bytesIn === 0 && this.failure === undefined) this.checkStart(chunk);
    if (this.failure) {
      callback(this.failure);
      return;
    }
    this.scanner.scan(chunk, this.bytesIn);
    // Keep only the chunks from the current record on, and this one.
    if (this.chunks.length > 0) {
      const last = this.chunks[this.chunks.length - 1] as { bytes: Buffer; start: number };
      if (last.start + last.bytes.length <= this.recordStart) this.chunks = [];
      else this.chunks = this.chunks.filter((c) => c.start + c.bytes.length > this.recordStart);
    }
    this.chunks.push({ bytes: chunk, start: this.bytesIn });
    this.bytesIn += chunk.length;
    super._transform(chunk, encoding, (error?: Error | null) => {
      if (this.failure) {
        callback(this.failure);
        return;
      }
      this.flushBatch();
      callback(this.explained(error));
    });
  }

  /**
   * `error`, or for an unclosed quote (which csv-parse reports at the end of the file) an error
   * naming the line of the record where it was opened.
   */
  private explained(error: Error | null | undefined): Error | null | undefined {
    if (error instanceof CsvError && error.code === 'CSV_QUOTE_NOT_CLOSED') {
      const line = this.nextRecordLine;
      return new CsvTextError(
        this.recordsPushed === 0
          ? `malformed CSV: a quote opened in the header (line ${line}) is never closed`
          : `malformed CSV: a quote opened in the record that starts on line ${line} is never closed`,
        line,
      );
    }
    return error;
  }

  override _flush(callback: (error?: Error | null) => void): void {
    // A multi-byte sequence still open at the end of the file is cut short.
    this.scanner.end();
    // A failure recorded earlier in the file (a bad header) comes first, as in `_transform`.
    super._flush((error?: Error | null) => callback(this.failure ?? this.explained(error)));
  }

  /** Rejects UTF-16 files, and a UTF-8 byte order mark when another encoding was given. */
  private checkStart(chunk: Buffer): void {
    const b0 = chunk[0];
    const b1 = chunk[1];
    if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
      this.failure = new CsvTextError(
        'starts with a UTF-16 byte order mark: export it as UTF-8 (or latin1, windows-1252)',
        1,
      );
    } else if (this.encoding !== 'utf-8' && b0 === 0xef && b1 === 0xbb && chunk[2] === 0xbf) {
      this.failure = new CsvTextError(
        `starts with a UTF-8 byte order mark, but its encoding was given as ${this.encoding}: ` +
          'it is UTF-8 (the default encoding)',
        1,
      );
    }
  }

  private flushBatch(): void {
    if (this.length === 0 || this.failure) return;
    const batch: CsvFieldBatch = {
      fields: this.fields,
      counts: this.counts.subarray(0, this.length),
      lines: this.lines.subarray(0, this.length),
      length: this.length,
      faults: this.faults,
    };
    this.fields = [];
    this.faults = [];
    this.counts = new Uint32Array(Math.max(INITIAL_BATCH_RECORDS, this.length));
    this.lines = new Uint32Array(this.counts.length);
    this.length = 0;
    super.push(batch);
  }
}
