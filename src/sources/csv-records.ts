import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CsvError, Parser, type CsvErrorCode } from 'csv-parse';
import { InputRejectedError } from '../domain/errors';
import {
  isPlainRun,
  SegmentCutter,
  splitPlainRecords,
  splitRuns,
  type PlainRecordSink,
  type RecordDelimiter,
  type SegmentRun,
} from './fast-csv';
import {
  describeBytes,
  hex,
  latin1ToWindows1252,
  TextFaultScanner,
  type InputEncoding,
  type TextFaultKind,
} from './text-encoding';

/**
 * One CSV record: its fields as text and the 1-based physical line it starts on. `faults`: its
 * fields whose bytes are not text in the file's encoding (absent when there are none); such a
 * record is an invalid row.
 */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
  readonly faults?: readonly TextFault[];
}

/**
 * A field of a record whose bytes are not text: not UTF-8 (`invalid_utf8`, `utf-8` encoding
 * only) or a NUL byte (`nul`). `record` is the record's index in its batch, `field` the field's
 * 0-based index, `offset` the 0-based byte offset in the file of the field's first bad byte,
 * `bytes` that byte (or sequence) in hex (`E9`, `C0`), `value` the field's bytes with the bad ones
 * written `\xNN` (clipped).
 */
export interface TextFault {
  readonly record: number;
  readonly field: number;
  readonly kind: TextFaultKind;
  readonly offset: number;
  readonly bytes: string;
  readonly value: string;
}

/** The reason of a finding for `fault` in the field named `field`. */
export function textFaultReason(field: string, fault: TextFault): string {
  return fault.kind === 'nul'
    ? `${field} contains a NUL byte (at byte offset ${fault.offset})`
    : `${field} is not valid UTF-8 (byte 0x${fault.bytes} at byte offset ${fault.offset})`;
}

/**
 * An input whose bytes cannot be read as CSV text at all (a header that is not text in the
 * encoding, a UTF-16 file): the file is rejected. `line` is 1-based.
 */
export class CsvTextError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'CsvTextError';
  }
}

const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Bytes read from the file per chunk: fewer, larger chunks mean less per-chunk overhead. */
const READ_CHUNK_BYTES = 1 << 20;

/** Bytes per chunk when only the first record is wanted (`readFirstRecord`). */
const FIRST_RECORD_CHUNK_BYTES = 64 << 10;

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

/**
 * A batch of records in flat form (what the parsers produce and the worker sends): record `r`
 * has `counts[r]` fields, stored one after the other in `fields`, and starts on physical line
 * `lines[r]`. One array per batch instead of one array and one object per record.
 */
export interface CsvFieldBatch {
  readonly fields: string[];
  readonly counts: Uint32Array;
  readonly lines: Uint32Array;
  /** Number of records (`counts` and `lines` may be longer). */
  readonly length: number;
  /** Fields that are not text, by increasing `record` (see `TextFault`); usually empty. */
  readonly faults: TextFault[];
  /** The file offset just after the batch's last record (how far the file has been read). */
  readonly end?: number;
  /**
   * Records left as bytes (only when the parser was asked for them, `CsvParserOptions.rawRecords`):
   * record `r` is one when `raw.at[r] >= 0`, and its fields are then not in `fields`.
   */
  readonly raw?: RawRecords;
}

/**
 * The records of a batch that a quote-free run gave, as UTF-8 bytes (no string per field): field
 * `k` of record `r` is `bytes[bounds[at[r] + 2k], bounds[at[r] + 2k + 1])`, untrimmed, exactly
 * the bytes whose decoding is the field's text (the run is valid UTF-8 and has no quote byte).
 * `at[r]` is -1 for a record whose fields are in the batch's `fields`.
 */
export interface RawRecords {
  readonly bytes: Buffer;
  readonly at: Int32Array;
  readonly bounds: Uint32Array;
}

/**
 * The fields of record `r` of `batch` as text; `at` is the index in `batch.fields` of its first
 * field when it is not a raw record (the sum of `counts` of the earlier non-raw records).
 */
export function recordFields(batch: CsvFieldBatch, r: number, at: number): string[] {
  const raw = batch.raw;
  const count = batch.counts[r] as number;
  const first = raw ? (raw.at[r] as number) : -1;
  if (!raw || first < 0) return batch.fields.slice(at, at + count);
  const { bytes, bounds } = raw;
  const fields = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    const start = bounds[first + 2 * k] as number;
    fields[k] = bytes.toString('utf8', start, bounds[first + 2 * k + 1]);
  }
  return fields;
}

/** Initial capacity, in records, of a batch's `counts`/`lines` (grown as needed). */
const INITIAL_BATCH_RECORDS = 8192;

/**
 * The part of csv-parse's `Parser` that `RunParser.parseRun` relies on (not in its typings): the
 * state machine (`api`) whose `parse(bytes, end, push, close)` the stream methods call, its
 * mutable `state` (scalars, plus the `field` and `rawBuffer` byte buffers and the `record` array)
 * and its `info` counters.
 */
interface CsvParseApi {
  state: Record<string, unknown> & { field: unknown; rawBuffer: unknown; record: unknown };
  info: Record<string, unknown>;
  parse(
    bytes: Buffer | undefined,
    end: boolean,
    push: (record: unknown) => void,
    close: () => void,
  ): Error | undefined;
}

/** Whether `value` is one of csv-parse's resizeable buffers (it has `reset`). */
function isResettable(value: unknown): value is { reset(): void } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { reset?: unknown }).reset === 'function'
  );
}

/**
 * A csv-parse `Parser` for runs of whole records (see `LineNumberingParser`): hands each record
 * to `sink` while csv-parse's live `info` still describes it.
 *
 * One parser serves every run after the first of a file (`parseRun`): setting up a
 * csv-parse `Parser` (a stream, its options normalized, its state built) cost as much as parsing
 * the two or three records of a typical run. `parseRun` puts csv-parse's state and counters back
 * to the values they had when the parser was constructed — what a fresh parser with the same
 * options would start from — so each run is parsed exactly as by a fresh parser. Only for options
 * that csv-parse never changes while parsing (no BOM detection, a given record delimiter: every
 * run but the first); `reusable` is false when csv-parse's internals are not the expected ones
 * (another version), and the caller then makes a fresh parser per run.
 */
class RunParser extends Parser {
  /** csv-parse's `api` (its own property of the same name is left alone); undefined: not reusable. */
  private readonly machine: CsvParseApi | undefined;
  private readonly pristineState: Readonly<Record<string, unknown>> = {};
  private readonly pristineInfo: Readonly<Record<string, unknown>> = {};
  private readonly pushRecord = (record: unknown): void => {
    this.sink(record as string[], this.info);
  };

  constructor(
    options: ConstructorParameters<typeof Parser>[0],
    private readonly sink: (record: string[], info: { lines: number; bytes: number }) => void,
  ) {
    super(options);
    const api = (this as unknown as { api?: Partial<CsvParseApi> }).api;
    if (
      api &&
      typeof api.parse === 'function' &&
      api.info === (this.info as unknown) &&
      typeof api.state === 'object' &&
      api.state !== null &&
      isResettable(api.state.field) &&
      isResettable(api.state.rawBuffer) &&
      Array.isArray(api.state.record)
    ) {
      this.machine = api as CsvParseApi;
      this.pristineState = { ...api.state };
      this.pristineInfo = { ...api.info };
    }
  }

  /** Whether `parseRun` can be used (csv-parse's internals are the expected ones). */
  get reusable(): boolean {
    return this.machine !== undefined;
  }

  override push(chunk: unknown): boolean {
    if (chunk !== null) this.sink(chunk as string[], this.info);
    return true;
  }

  /**
   * Parses `bytes` (whole records) to the end, from csv-parse's state at construction; returns
   * csv-parse's error, if any (after it, the parser must not be used again).
   * @throws Error when the parser is not `reusable`.
   */
  parseRun(bytes: Buffer): Error | undefined {
    const api = this.machine;
    if (!api) throw new Error('this csv-parse parser cannot be reused');
    const state = api.state;
    Object.assign(state, this.pristineState);
    // The buffers are emptied, the record replaced (csv-parse hands its arrays to the consumer).
    (state.field as { reset(): void }).reset();
    (state.rawBuffer as { reset(): void }).reset();
    state.record = [];
    Object.assign(api.info, this.pristineInfo);
    const close = (): void => {};
    return (
      api.parse(bytes, false, this.pushRecord, close) ??
      api.parse(undefined, true, this.pushRecord, close)
    );
  }
}

/** Options of `LineNumberingParser` (tests). */
export interface CsvParserOptions {
  /** Split quote-free runs of records by hand (default); false: csv-parse for every run. */
  readonly fastPath?: boolean;
  /** `splitRuns`' `minPlain` (default `MIN_PLAIN_RUN_BYTES`). */
  readonly minPlainRunBytes?: number;
  /** Counted into, when given: records split by the fast path, runs handed to csv-parse. */
  readonly stats?: { plainRecords: number; csvRuns: number };
  /**
   * UTF-8 files only: leave the records of quote-free runs as bytes (`CsvFieldBatch.raw`) instead
   * of a string per field, for a consumer that reads them (default false).
   */
  readonly rawRecords?: boolean;
}

/**
 * The CSV record parser: a stream of file chunks in, one flat `CsvFieldBatch` per chunk out,
 * each record tagged with the line it starts on.
 *
 * The input is cut into segments of whole records at record delimiters outside quotes
 * (`SegmentCutter`), and each segment into runs (`splitRuns`): a run without any quote byte whose
 * line breaks are the record delimiter and whose bytes are text (no fault) is split by hand
 * (`splitPlainRecords`, about five times faster); every other run — and the first segment, with
 * the header, the BOM and the delimiter discovery — is parsed by csv-parse from its initial
 * state (`RunParser`: a fresh parser for the first segment, then one parser restarted per run),
 * which starts exactly as the single parser of the whole file would at that boundary. Records, line numbers, byte offsets, errors and `TextFault`s are the ones that single
 * csv-parse parser gave (tests/unit/fast-csv-differential.test.ts).
 *
 * Line numbers: csv-parse's line counter (`info.lines`) counts every line break, and a CRLF inside a
 * quoted field twice; `lineAt` is its value at the start of the current run. A record's start line
 * is that counter when the record is pushed, less the CRLF pairs inside fields so far, less the
 * line breaks inside the record's own fields.
 */
class LineNumberingParser extends Transform implements PlainRecordSink {
  /** The current batch's fields (`PlainRecordSink`). */
  fields: string[] = [];
  private counts = new Uint32Array(INITIAL_BATCH_RECORDS);
  private lines = new Uint32Array(INITIAL_BATCH_RECORDS);
  private length = 0;
  private faults: TextFault[] = [];
  /** CRLF pairs seen inside fields so far: csv-parse's `info.lines` is ahead by this many. */
  private crlfInFields = 0;
  private readonly scanner: TextFaultScanner;
  private readonly windows1252: boolean;
  private readonly cutter = new SegmentCutter();
  private readonly fastPath: boolean;
  private readonly minPlainRunBytes: number | undefined;
  private readonly stats: { plainRecords: number; csvRuns: number } | undefined;
  /** Raw records (`CsvParserOptions.rawRecords`): per record, -1 or its first bound; the bounds. */
  private rawAt: Int32Array | undefined;
  private rawBounds: Uint32Array<ArrayBuffer> = new Uint32Array(0);
  private rawUsed = 0;
  /** The segment the batch's raw records point into. */
  private rawBytes: Buffer | undefined;
  /** File offset of the next chunk; of the first byte after the last record pushed. */
  private bytesIn = 0;
  private recordStart = 0;
  /** File offset of the next segment's first byte. */
  private segmentStart = 0;
  /** File offset of the current run's first byte. */
  private runStart = 0;
  /** csv-parse's line counter at the start of the current run. */
  private lineAt = 1;
  /** Whether the first segment (header, BOM, delimiter discovery) has been parsed. */
  private started = false;
  /** The chunks holding the bytes from `recordStart` on (kept to locate bad bytes). */
  private chunks: { bytes: Buffer; start: number }[] = [];
  /** Next unconsumed entries of `scanner.invalid` and `scanner.nul`. */
  private invalidAt = 0;
  private nulAt = 0;
  private recordsPushed = 0;
  /** The line the next record starts on, at the earliest (for an unclosed quote). */
  private nextRecordLine = 1;
  private failure: Error | undefined;
  /** The csv-parse parser of the runs after the first (see `RunParser`), once made. */
  private runParser: RunParser | undefined;

  constructor(
    private readonly encoding: InputEncoding,
    options: CsvParserOptions = {},
  ) {
    super({ readableObjectMode: true });
    this.scanner = new TextFaultScanner(encoding === 'utf-8');
    this.windows1252 = encoding === 'windows-1252';
    this.fastPath = options.fastPath ?? true;
    this.minPlainRunBytes = options.minPlainRunBytes;
    this.stats = options.stats;
    if (options.rawRecords === true && encoding === 'utf-8') {
      this.rawAt = new Int32Array(INITIAL_BATCH_RECORDS);
      this.rawBounds = new Uint32Array(INITIAL_BATCH_RECORDS * 16);
    }
  }

  /** A record from csv-parse; `info` is its parser's live counters (relative to the run). */
  private readonly csvRecord = (record: string[], info: { lines: number; bytes: number }): void => {
    if (this.failure) return;
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
    const lines = this.lineAt - 1 + info.lines;
    const line = lines - this.crlfInFields - breaks;
    this.addRecord(record.length, line);
    // `info.bytes` is the offset just after this record (and its line break).
    const end = this.runStart + info.bytes;
    const { invalid, nul } = this.scanner;
    if (
      (this.invalidAt < invalid.length && (invalid[this.invalidAt] as number) < end) ||
      (this.nulAt < nul.length && (nul[this.nulAt] as number) < end)
    ) {
      this.locateFaults(end, line);
    }
    this.recordStart = end;
    this.nextRecordLine = lines + 1;
    this.recordsPushed++;
    this.length++;
  };

  /** `PlainRecordSink`: a record of the fast path (see `splitPlainRecords`). */
  record(count: number, lineIndex: number): void {
    const lines = this.lineAt + lineIndex;
    this.addRecord(count, lines - this.crlfInFields);
    this.nextRecordLine = lines + 1;
    this.recordsPushed++;
    this.length++;
  }

  /** Stores the counts and line of record `length` (grows the arrays as needed). */
  private addRecord(count: number, line: number): void {
    if (this.length === this.counts.length) this.growRecords();
    this.counts[this.length] = count;
    this.lines[this.length] = line;
    if (this.rawAt) this.rawAt[this.length] = -1;
  }

  private growRecords(): void {
    const counts = new Uint32Array(this.length * 2);
    counts.set(this.counts);
    this.counts = counts;
    const lines = new Uint32Array(this.length * 2);
    lines.set(this.lines);
    this.lines = lines;
    if (this.rawAt) {
      const rawAt = new Int32Array(this.length * 2);
      rawAt.set(this.rawAt);
      this.rawAt = rawAt;
    }
  }

  /**
   * The fast path without strings (`rawRecords`): splits the quote-free, fault-free run
   * `segment[start, end)` on `delimiter`, then on commas, as `splitPlainRecords` splits its text,
   * recording each field's byte bounds. Returns the number of lines the run advances csv-parse's
   * line counter by, or -1 (nothing recorded) when a line-break byte in it is not part of the
   * record delimiter (csv-parse reads such a byte as field content).
   */
  private splitRawRecords(
    segment: Buffer,
    start: number,
    end: number,
    delimiter: RecordDelimiter,
  ): number {
    if (this.rawBytes !== segment && this.rawBytes !== undefined) this.flushBatch();
    if (delimiter === '\n') return this.splitRawLines(segment, start, end);
    const length0 = this.length;
    const used0 = this.rawUsed;
    const crlf = delimiter === '\r\n';
    const breakByte = delimiter === '\r' ? CR : LF;
    let bounds = this.rawBounds;
    let used = used0;
    let recordFirst = used0;
    let lineIndex = 0;
    let lastLineIndex = -1;
    let lineStart = start;
    let fieldStart = start;
    for (let i = start; i <= end; i++) {
      let step = 0;
      if (i < end) {
        const c = segment[i] as number;
        if (c > COMMA) continue;
        if (c === COMMA) {
          if (used + 2 > bounds.length) bounds = this.growBounds(used);
          bounds[used++] = fieldStart;
          bounds[used++] = i;
          fieldStart = i + 1;
          continue;
        }
        if (c !== CR && c !== LF) continue;
        if (crlf && c === CR && i + 1 < end && segment[i + 1] === LF) step = 2;
        else if (!crlf && c === breakByte) step = 1;
        else {
          // A line-break byte that is not the record delimiter: leave the run to csv-parse.
          this.length = length0;
          return -1;
        }
      }
      if (i > lineStart) {
        if (used + 2 > bounds.length) bounds = this.growBounds(used);
        bounds[used++] = fieldStart;
        bounds[used++] = i;
        this.addRawRecord(recordFirst, used, lineIndex);
        lastLineIndex = lineIndex;
        recordFirst = used;
      }
      if (step === 0) break;
      lineIndex++;
      i += step - 1;
      lineStart = fieldStart = i + 1;
    }
    this.rawUsed = used;
    this.rawBytes = segment;
    this.recordsPushed += this.length - length0;
    if (lastLineIndex >= 0) this.nextRecordLine = this.lineAt + lastLineIndex + 1;
    return lineIndex;
  }

  /**
   * `splitRawRecords` for the usual LF delimiter: a native search for each line break, a byte
   * loop for the commas of the line only.
   */
  private splitRawLines(segment: Buffer, start: number, end: number): number {
    const run = segment.subarray(start, end);
    if (run.indexOf(CR) !== -1) return -1;
    const length0 = this.length;
    let bounds = this.rawBounds;
    let used = this.rawUsed;
    let lineIndex = 0;
    let lastLineIndex = -1;
    let pos = start;
    while (pos < end) {
      let eol = segment.indexOf(LF, pos);
      const last = eol === -1 || eol >= end;
      if (last) eol = end;
      if (eol > pos) {
        const first = used;
        let fieldStart = pos;
        for (let i = pos; i < eol; i++) {
          if (segment[i] !== COMMA) continue;
          if (used + 4 > bounds.length) bounds = this.growBounds(used);
          bounds[used++] = fieldStart;
          bounds[used++] = i;
          fieldStart = i + 1;
        }
        if (used + 2 > bounds.length) bounds = this.growBounds(used);
        bounds[used++] = fieldStart;
        bounds[used++] = eol;
        this.addRawRecord(first, used, lineIndex);
        lastLineIndex = lineIndex;
      }
      if (last) break;
      lineIndex++;
      pos = eol + 1;
    }
    this.rawUsed = used;
    this.rawBytes = segment;
    this.recordsPushed += this.length - length0;
    if (lastLineIndex >= 0) this.nextRecordLine = this.lineAt + lastLineIndex + 1;
    return lineIndex;
  }

  /** Adds the raw record whose field bounds are `rawBounds[first, used)`, on run line `lineIndex`. */
  private addRawRecord(first: number, used: number, lineIndex: number): void {
    if (this.length === this.counts.length) this.growRecords();
    const r = this.length++;
    this.counts[r] = (used - first) >> 1;
    this.lines[r] = this.lineAt + lineIndex - this.crlfInFields;
    (this.rawAt as Int32Array)[r] = first;
  }

  private growBounds(used: number): Uint32Array<ArrayBuffer> {
    const bounds = new Uint32Array(Math.max(1024, this.rawBounds.length * 2));
    bounds.set(this.rawBounds.subarray(0, used));
    this.rawBounds = bounds;
    return bounds;
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
    _encoding: BufferEncoding,
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
    let error: Error | undefined;
    const segment = this.cutter.push(chunk);
    if (segment) error = this.parseSegment(segment);
    if (this.failure) {
      callback(this.failure);
      return;
    }
    this.flushBatch();
    callback(this.explained(error));
  }

  override _flush(callback: (error?: Error | null) => void): void {
    // A multi-byte sequence still open at the end of the file is cut short.
    this.scanner.end();
    const rest = this.cutter.rest();
    const error = rest ? this.parseSegment(rest) : undefined;
    if (error || this.failure) {
      callback(this.explained(error) ?? this.failure);
      return;
    }
    this.flushBatch();
    callback();
  }

  /**
   * Parses `segment` (whole records, or the end of the input), which starts at file offset
   * `segmentStart`; returns csv-parse's error, if any (records before it are kept).
   */
  private parseSegment(segment: Buffer): Error | undefined {
    const base = this.segmentStart;
    this.segmentStart += segment.length;
    if (!this.started) {
      this.started = true;
      return this.parseRun(segment, 0, segment.length, base, true);
    }
    const delimiter = this.cutter.delimiter as RecordDelimiter;
    const runs: readonly SegmentRun[] = this.fastPath
      ? splitRuns(segment, delimiter, this.minPlainRunBytes)
      : [{ start: 0, end: segment.length, plain: false }];
    for (const run of runs) {
      const error =
        run.plain && this.parsePlain(segment, run.start, run.end, base, delimiter)
          ? undefined
          : this.parseRun(segment, run.start, run.end, base, false);
      if (error || this.failure) return error;
    }
    return undefined;
  }

  /**
   * The fast path for `segment[start, end)` (no quote byte): split by hand when its bytes are text
   * and its line breaks are `delimiter` only; returns false (nothing done) otherwise.
   */
  private parsePlain(
    segment: Buffer,
    start: number,
    end: number,
    base: number,
    delimiter: RecordDelimiter,
  ): boolean {
    const fileEnd = base + end;
    const { invalid, nul } = this.scanner;
    if (
      (this.invalidAt < invalid.length && (invalid[this.invalidAt] as number) < fileEnd) ||
      (this.nulAt < nul.length && (nul[this.nulAt] as number) < fileEnd)
    ) {
      return false;
    }
    if (this.rawAt) {
      const before = this.recordsPushed;
      const lines = this.splitRawRecords(segment, start, end, delimiter);
      if (lines < 0) return false;
      this.lineAt += lines;
      if (this.stats) this.stats.plainRecords += this.recordsPushed - before;
      this.recordStart = fileEnd;
      return true;
    }
    let text = segment.toString(this.encoding === 'utf-8' ? 'utf8' : 'latin1', start, end);
    if (!isPlainRun(text, delimiter)) return false;
    if (this.windows1252) text = latin1ToWindows1252(text);
    const before = this.recordsPushed;
    this.lineAt += splitPlainRecords(text, delimiter, this);
    if (this.stats) this.stats.plainRecords += this.recordsPushed - before;
    this.recordStart = fileEnd;
    return true;
  }

  /**
   * `segment[start, end)` through csv-parse, from its initial state (see `RunParser`); `first`: the start of the file (BOM,
   * record delimiter discovered by csv-parse). Returns csv-parse's error with the file's line.
   */
  private parseRun(
    segment: Buffer,
    start: number,
    end: number,
    base: number,
    first: boolean,
  ): Error | undefined {
    const utf8 = this.encoding === 'utf-8';
    let parser = first ? undefined : this.runParser;
    if (!parser) {
      parser = new RunParser(
        {
          ...CSV_OPTIONS,
          // Single-byte encodings decode every byte as Latin-1 (windows-1252 then maps
          // 0x80–0x9F); csv-parse's BOM detection would switch them to UTF-8 or UTF-16 behind
          // our back.
          bom: first && utf8,
          encoding: utf8 ? 'utf8' : 'latin1',
          ...(first ? {} : { record_delimiter: this.cutter.delimiter }),
        },
        this.csvRecord,
      );
      // Every run after the first has the same options: one parser, restarted per run.
      if (!first && parser.reusable) this.runParser = parser;
    }
    this.runStart = base + start;
    if (this.stats) this.stats.csvRuns++;
    let error: Error | null | undefined;
    const bytes = segment.subarray(start, end);
    if (!first && parser.reusable) {
      error = parser.parseRun(bytes);
    } else {
      parser._transform(bytes, 'latin1', (e) => (error = e));
      if (!error) parser._flush((e) => (error = e));
    }
    if (error) {
      this.runParser = undefined;
      if (error instanceof CsvError && typeof error.lines === 'number') {
        const shift = this.lineAt - 1;
        error.lines += shift;
        error.message = error.message.replace(
          /\b(at|on) line (\d+)/,
          (_, word: string, n: string) => `${word} line ${Number(n) + shift}`,
        );
      }
      return error;
    }
    if (first && this.cutter.delimiter !== undefined) {
      const found = parser.options.record_delimiter[0]?.toString('latin1');
      if (found !== this.cutter.delimiter) {
        return new Error(
          `CSV record delimiter: csv-parse found ${JSON.stringify(found)}, ` +
            `the reader ${JSON.stringify(this.cutter.delimiter)}`,
        );
      }
    }
    this.lineAt += parser.info.lines - 1;
    return undefined;
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
      end: this.recordStart,
      ...(this.rawAt && this.rawBytes
        ? {
            raw: {
              bytes: this.rawBytes,
              at: this.rawAt.subarray(0, this.length),
              bounds: this.rawBounds.subarray(0, this.rawUsed),
            },
          }
        : {}),
    };
    this.fields = [];
    this.faults = [];
    this.counts = new Uint32Array(Math.max(INITIAL_BATCH_RECORDS, this.length));
    this.lines = new Uint32Array(this.counts.length);
    if (this.rawAt) {
      this.rawAt = new Int32Array(this.counts.length);
      this.rawBounds = new Uint32Array(Math.max(this.rawBounds.length, 1024));
      this.rawUsed = 0;
      this.rawBytes = undefined;
    }
    this.length = 0;
    super.push(batch);
  }
}

/**
 * Streams the records of an RFC 4180 CSV file (in `encoding`: UTF-8 by default, optional BOM; LF
 * or CRLF; empty lines skipped), header row included as the first record. Records with a
 * different number of fields than the header are yielded as they are, for the caller to reject as
 * invalid rows; so are records with bytes that are not text in the encoding (bytes that are not
 * UTF-8, a NUL byte), with their `faults`.
 *
 * Throws `InputRejectedError` (naming the file and line) when the file does not exist or is not
 * a file, when the CSV structure itself is broken (e.g. an unclosed quote, named by the line of
 * the record where it opened), or when the first record (the header) is not text or the file is
 * UTF-16, since nothing after such an error can be trusted.
 */
export async function* readCsvRecords(
  path: string,
  what: string,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvRecordBatches(path, what, encoding)) yield* batch;
}

/** Files at least this large are parsed on a worker thread (see `parseInWorker`). */
const WORKER_MIN_BYTES = 8 << 20;

/**
 * Heap limits of a parsing worker (issue #16, the memory bound): a young generation of 16 MB
 * instead of V8's default (up to 48 MB on 64-bit); the parse's garbage is short-lived, so this
 * trades a few more scavenges for a smaller thread (see BENCHMARKS.md "Issue #16: the memory bound").
 */
const PARSER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 16 } as const;

/** Batches the worker may send ahead of the consumer (bounds memory). */
const MAX_BATCHES_IN_FLIGHT = 8;

const CSV_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: true } as const;

/**
 * Like `readCsvRecords`, but yields the records in batches (in file order, never empty), which
 * is much cheaper per record for large files. Same records, lines and errors.
 */
export async function* readCsvRecordBatches(
  path: string,
  what: string,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<CsvRecord[]> {
  for await (const flat of readCsvFieldBatches(path, what, encoding)) {
    const { fields, counts, lines } = flat;
    const batch: CsvRecord[] = new Array<CsvRecord>(flat.length);
    let at = 0;
    for (let r = 0; r < flat.length; r++) {
      const end = at + (counts[r] as number);
      batch[r] = { fields: fields.slice(at, end), line: lines[r] as number };
      at = end;
    }
    for (let k = 0; k < flat.faults.length;) {
      const record = (flat.faults[k] as TextFault).record;
      const faults: TextFault[] = [];
      for (; k < flat.faults.length && flat.faults[k]?.record === record; k++) {
        faults.push(flat.faults[k] as TextFault);
      }
      batch[record] = { ...(batch[record] as CsvRecord), faults };
    }
    yield batch;
  }
}

/**
 * The first record of `path` whose fields are not all blank (normally the header), read with the
 * same rules as `readCsvRecords`; `undefined` when the file has none.
 * @throws InputRejectedError as `readCsvRecords` does (missing file, malformed CSV or a first
 *   record that is not text, naming the line).
 */
export async function readFirstRecord(
  path: string,
  what: string,
  encoding: InputEncoding = 'utf-8',
): Promise<string[] | undefined> {
  await assertReadableFile(path, what);
  try {
    // Small chunks: the header is in the first one, and csv-parse parses the whole first chunk.
    for await (const batch of parseHere(path, encoding, {}, FIRST_RECORD_CHUNK_BYTES)) {
      let at = 0;
      for (let r = 0; r < batch.length; r++) {
        const end = at + (batch.counts[r] as number);
        const fields = batch.fields.slice(at, end);
        if (fields.some((field) => field.trim() !== '')) return fields;
        at = end;
      }
    }
  } catch (error) {
    throw rejection(error, path, what);
  }
  return undefined;
}

/**
 * Like `readCsvRecordBatches`, but yields each batch in flat form (`CsvFieldBatch`, never
 * empty): the cheapest form for large files. Same records, lines and errors.
 *
 * Large files are parsed by csv-parse on a worker thread while the caller validates the previous
 * batch on this one (CSV parsing is about half the CPU time of reading a file).
 */
export async function* readCsvFieldBatches(
  path: string,
  what: string,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<CsvFieldBatch> {
  const size = await assertReadableFile(path, what);
  // Only the compiled module can be loaded as a worker (not the .ts file under ts-jest).
  const batches =
    size >= WORKER_MIN_BYTES && __filename.endsWith('.js')
      ? (parseInWorker(path, encoding, undefined) as AsyncIterable<CsvFieldBatch>)
      : parseHere(path, encoding);
  try {
    for await (const batch of batches) {
      yield batch;
    }
  } catch (error) {
    throw rejection(error, path, what);
  }
}

/** The `InputRejectedError` for a failed read: CSV errors name the line. */
function rejection(error: unknown, path: string, what: string): InputRejectedError {
  if (error instanceof InputRejectedError) return error;
  if (error instanceof CsvTextError) {
    return new InputRejectedError(
      `${what} ${path} line ${error.line}: ${error.message}`,
      { location: path, line: error.line },
      { cause: error },
    );
  }
  if (error instanceof CsvError) {
    const line =
      typeof (error as CsvError & { lines?: number }).lines === 'number'
        ? (error as CsvError & { lines: number }).lines
        : undefined;
    return new InputRejectedError(
      `${what} ${path}${line ? ` line ${line}` : ''}: malformed CSV (${error.message.split(':')[0] ?? error.code})`,
      { location: path, line },
      { cause: error },
    );
  }
  return new InputRejectedError(
    `${what} ${path}: cannot be read (${(error as Error).message})`,
    { location: path },
    { cause: error },
  );
}

/**
 * A per-file transformation of flat batches that may run on the parser thread: `module` (the
 * absolute path of a compiled CommonJS module, e.g. the caller's `__filename`) exports `name`, a
 * factory `(options) => (batch) => { value, transfer }` (a `BatchTransform`, which may have an
 * `end`); `options` must be structured-cloneable.
 * `transfer` lists the `ArrayBuffer`s of `value` to move instead of copy.
 */
export interface BatchTransformSpec<Options> {
  readonly module: string;
  readonly name: string;
  readonly options: Options;
  /** The transform reads `CsvFieldBatch.raw` (records of quote-free runs as bytes; UTF-8 only). */
  readonly rawRecords?: boolean;
}

/** What a batch transform returns for one batch. */
export interface TransformedBatch<T> {
  readonly value: T;
  readonly transfer: ArrayBuffer[];
}

/**
 * A batch transform; its optional `end` is called once after the last batch (not after an error),
 * and what it returns is yielded after the last batch's value (rows it held back, for instance).
 */
export type BatchTransform<T = unknown> = ((batch: CsvFieldBatch) => TransformedBatch<T>) & {
  readonly end?: () => TransformedBatch<T> | undefined;
};

function loadTransform(spec: BatchTransformSpec<unknown>): BatchTransform {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exports = require(spec.module) as Record<string, unknown>;
  const factory = exports[spec.name];
  if (typeof factory !== 'function') throw new Error(`${spec.module} has no export ${spec.name}`);
  return (factory as (options: unknown) => BatchTransform)(spec.options);
}

/**
 * Like `readCsvFieldBatches`, but yields `transform(batch).value` for each batch: for large
 * files the transform runs on the parser thread (per-row work such as validation leaves the main
 * thread, and only its compact result crosses), else on this one. Same records, lines and errors
 * as `readCsvFieldBatches`.
 */
export async function* readTransformedCsvBatches<T, Options>(
  path: string,
  what: string,
  spec: BatchTransformSpec<Options>,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<T> {
  const size = await assertReadableFile(path, what);
  const inWorker =
    size >= WORKER_MIN_BYTES && __filename.endsWith('.js') && spec.module.endsWith('.js');
  try {
    if (inWorker) {
      for await (const value of parseInWorker(path, encoding, spec)) yield value as T;
    } else {
      const transform = loadTransform(spec);
      const batches = parseHere(path, encoding, { rawRecords: spec.rawRecords === true });
      for await (const batch of batches) yield transform(batch).value as T;
      const last = transform.end?.();
      if (last) yield last.value as T;
    }
  } catch (error) {
    throw rejection(error, path, what);
  }
}

function parseHere(
  path: string,
  encoding: InputEncoding,
  options: CsvParserOptions = {},
  chunkBytes: number = READ_CHUNK_BYTES,
): AsyncIterable<CsvFieldBatch> {
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  const parser = stream.pipe(new LineNumberingParser(encoding, options));
  // `pipe` does not forward read errors; end the parse with them instead of waiting forever.
  stream.on('error', (error) => parser.destroy(error));
  parser.on('close', () => stream.destroy());
  return parser as AsyncIterable<CsvFieldBatch>;
}

/**
 * The records of `chunks` (a file's bytes, in pieces of any size) parsed as `readCsvFieldBatches`
 * parses a file read in such pieces: one batch per piece that completes records. For tests of
 * chunk boundaries and of the fast path (`options.fastPath: false` hands every run to
 * csv-parse). Errors are the parser's own (`CsvError`, `CsvTextError`), not yet an
 * `InputRejectedError`.
 */
export function parseCsvChunks(
  chunks: readonly Buffer[],
  encoding: InputEncoding = 'utf-8',
  options: CsvParserOptions = {},
): AsyncIterable<CsvFieldBatch> {
  const parser = new LineNumberingParser(encoding, options);
  for (const chunk of chunks) {
    if (parser.destroyed) break;
    parser.write(chunk);
  }
  if (!parser.destroyed) parser.end();
  return parser as AsyncIterable<CsvFieldBatch>;
}

/** Messages from the parsing worker. */
type WorkerMessage =
  | { type: 'batch'; batch: unknown }
  | { type: 'done' }
  | { type: 'csv-error'; code: CsvErrorCode; message: string; lines: number | undefined }
  | { type: 'text-error'; message: string; line: number }
  | { type: 'error'; message: string };

interface WorkerInput {
  readonly reconCsvWorker: true;
  readonly path: string;
  readonly encoding: InputEncoding;
  /** [0]: batches consumed by the main thread (flow control). */
  readonly consumed: Int32Array;
  /** Applied to each batch on the worker before sending (see `readTransformedCsvBatches`). */
  readonly transform: BatchTransformSpec<unknown> | undefined;
}

/**
 * Runs `parseHere` on a worker thread and yields its batches. The worker sends at most
 * `MAX_BATCHES_IN_FLIGHT` batches ahead; csv-parse errors come back as `CsvError`s with the same
 * code, message and line.
 */
async function* parseInWorker(
  path: string,
  encoding: InputEncoding,
  transform: BatchTransformSpec<unknown> | undefined,
): AsyncGenerator<unknown> {
  const consumed = new Int32Array(new SharedArrayBuffer(4));
  const input: WorkerInput = { reconCsvWorker: true, path, encoding, consumed, transform };
  const worker = new Worker(__filename, {
    workerData: input,
    resourceLimits: PARSER_RESOURCE_LIMITS,
  });
  const queue: (WorkerMessage | { type: 'exit'; code: number })[] = [];
  let head = 0;
  let wake: (() => void) | undefined;
  const enqueue = (message: (typeof queue)[number]): void => {
    queue.push(message);
    wake?.();
  };
  worker.on('message', enqueue);
  worker.on('error', (error: Error) => enqueue({ type: 'error', message: error.message }));
  worker.on('exit', (code: number) => enqueue({ type: 'exit', code }));
  try {
    for (;;) {
      while (head === queue.length) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const message = queue[head] as (typeof queue)[number];
      queue[head++] = { type: 'done' };
      if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      switch (message.type) {
        case 'batch': {
          Atomics.add(consumed, 0, 1);
          Atomics.notify(consumed, 0);
          yield message.batch;
          break;
        }
        case 'done':
          return;
        case 'csv-error':
          throw new CsvError(message.code, message.message, undefined, { lines: message.lines });
        case 'text-error':
          throw new CsvTextError(message.message, message.line);
        case 'error':
          throw new Error(message.message);
        case 'exit':
          throw new Error(`CSV parser thread stopped (exit code ${message.code})`);
      }
    }
  } finally {
    await worker.terminate();
  }
}

/** Body of the parsing worker: parse, send batches, wait when too far ahead. */
async function runCsvWorker(input: WorkerInput): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const { consumed } = input;
  let sent = 0;
  try {
    const stream = createReadStream(input.path, { highWaterMark: READ_CHUNK_BYTES });
    const parser = stream.pipe(
      new LineNumberingParser(input.encoding, { rawRecords: input.transform?.rawRecords === true }),
    );
    // `pipe` does not forward read errors; end the parse with them instead of waiting forever.
    stream.on('error', (error) => parser.destroy(error));
    const transform = input.transform ? loadTransform(input.transform) : undefined;
    for await (const batch of parser as AsyncIterable<CsvFieldBatch>) {
      if (transform) {
        const { value, transfer } = transform(batch);
        port.postMessage({ type: 'batch', batch: value } satisfies WorkerMessage, transfer);
      } else {
        // Each batch has its own buffers (see `flushBatch`): move them instead of copying.
        port.postMessage({ type: 'batch', batch } satisfies WorkerMessage, [
          batch.counts.buffer as ArrayBuffer,
          batch.lines.buffer as ArrayBuffer,
        ]);
      }
      sent++;
      for (let done = Atomics.load(consumed, 0); sent - done > MAX_BATCHES_IN_FLIGHT;) {
        Atomics.wait(consumed, 0, done, 1000);
        done = Atomics.load(consumed, 0);
      }
    }
    const last = transform?.end?.();
    if (last) {
      port.postMessage({ type: 'batch', batch: last.value } satisfies WorkerMessage, last.transfer);
    }
    port.postMessage({ type: 'done' } satisfies WorkerMessage);
  } catch (error) {
    const message: WorkerMessage =
      error instanceof CsvError
        ? {
            type: 'csv-error',
            code: error.code,
            message: error.message,
            lines: typeof error.lines === 'number' ? error.lines : undefined,
          }
        : error instanceof CsvTextError
          ? { type: 'text-error', message: error.message, line: error.line }
          : { type: 'error', message: (error as Error).message };
    port.postMessage(message);
  }
}

if (!isMainThread && (workerData as Partial<WorkerInput> | null)?.reconCsvWorker === true) {
  void runCsvWorker(workerData as WorkerInput);
}

/** Returns the file's size in bytes. */
async function assertReadableFile(path: string, what: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new InputRejectedError(`${what} ${path} is not a file`, { location: path });
    return info.size;
  } catch (error) {
    if (error instanceof InputRejectedError) throw error;
    throw new InputRejectedError(
      `${what} not found: expected ${path}`,
      { location: path },
      { cause: error },
    );
  }
}
