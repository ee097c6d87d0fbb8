import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CsvError, Parser, type CsvErrorCode } from 'csv-parse';
import { InputRejectedError } from '../domain/errors';

/** One CSV record: its fields as text and the 1-based physical line it starts on. */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

/** Bytes read from the file per chunk: fewer, larger chunks mean less per-chunk overhead. */
const READ_CHUNK_BYTES = 1 << 20;

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
}

/** Initial capacity, in records, of a batch's `counts`/`lines` (grown as needed). */
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
class LineNumberingParser extends Parser {
  private fields: string[] = [];
  private counts = new Uint32Array(INITIAL_BATCH_RECORDS);
  private lines = new Uint32Array(INITIAL_BATCH_RECORDS);
  private length = 0;
  /** CRLF pairs seen inside fields so far: csv-parse's `info.lines` is ahead by this many. */
  private crlfInFields = 0;

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      this.flushBatch();
      return super.push(null, encoding);
    }
    const record = chunk as string[];
    const out = this.fields;
    let breaks = 0;
    for (let i = 0; i < record.length; i++) {
      const field = record[i] as string;
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
    this.counts[this.length] = record.length;
    this.lines[this.length] = this.info.lines - this.crlfInFields - breaks;
    this.length++;
    return true;
  }

  override _transform(
    chunk: Buffer,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    super._transform(chunk, encoding, (error?: Error | null) => {
      this.flushBatch();
      callback(error);
    });
  }

  private flushBatch(): void {
    if (this.length === 0) return;
    const batch: CsvFieldBatch = {
      fields: this.fields,
      counts: this.counts.subarray(0, this.length),
      lines: this.lines.subarray(0, this.length),
      length: this.length,
    };
    this.fields = [];
    this.counts = new Uint32Array(Math.max(INITIAL_BATCH_RECORDS, this.length));
    this.lines = new Uint32Array(this.counts.length);
    this.length = 0;
    super.push(batch);
  }
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
  for await (const batch of readCsvRecordBatches(path, what)) yield* batch;
}

/** Files at least this large are parsed on a worker thread (see `parseInWorker`). */
const WORKER_MIN_BYTES = 8 << 20;

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
): AsyncGenerator<CsvRecord[]> {
  for await (const flat of readCsvFieldBatches(path, what)) {
    const { fields, counts, lines } = flat;
    const batch: CsvRecord[] = new Array<CsvRecord>(flat.length);
    let at = 0;
    for (let r = 0; r < flat.length; r++) {
      const end = at + (counts[r] as number);
      batch[r] = { fields: fields.slice(at, end), line: lines[r] as number };
      at = end;
    }
    yield batch;
  }
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
): AsyncGenerator<CsvFieldBatch> {
  const size = await assertReadableFile(path, what);
  // Only the compiled module can be loaded as a worker (not the .ts file under ts-jest).
  const batches =
    size >= WORKER_MIN_BYTES && __filename.endsWith('.js')
      ? (parseInWorker(path, undefined) as AsyncIterable<CsvFieldBatch>)
      : parseHere(path);
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
 * factory `(options) => (batch) => { value, transfer }`; `options` must be structured-cloneable.
 * `transfer` lists the `ArrayBuffer`s of `value` to move instead of copy.
 */
export interface BatchTransformSpec<Options> {
  readonly module: string;
  readonly name: string;
  readonly options: Options;
}

/** What a batch transform returns for one batch. */
export interface TransformedBatch<T> {
  readonly value: T;
  readonly transfer: ArrayBuffer[];
}

type BatchTransform = (batch: CsvFieldBatch) => TransformedBatch<unknown>;

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
): AsyncGenerator<T> {
  const size = await assertReadableFile(path, what);
  const inWorker =
    size >= WORKER_MIN_BYTES && __filename.endsWith('.js') && spec.module.endsWith('.js');
  try {
    if (inWorker) {
      for await (const value of parseInWorker(path, spec)) yield value as T;
    } else {
      const transform = loadTransform(spec);
      for await (const batch of parseHere(path)) yield transform(batch).value as T;
    }
  } catch (error) {
    throw rejection(error, path, what);
  }
}

function parseHere(path: string): AsyncIterable<CsvFieldBatch> {
  return createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }).pipe(
    new LineNumberingParser(CSV_OPTIONS),
  ) as AsyncIterable<CsvFieldBatch>;
}

/** Messages from the parsing worker. */
type WorkerMessage =
  | { type: 'batch'; batch: unknown }
  | { type: 'done' }
  | { type: 'csv-error'; code: CsvErrorCode; message: string; lines: number | undefined }
  | { type: 'error'; message: string };

interface WorkerInput {
  readonly reconCsvWorker: true;
  readonly path: string;
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
  transform: BatchTransformSpec<unknown> | undefined,
): AsyncGenerator<unknown> {
  const consumed = new Int32Array(new SharedArrayBuffer(4));
  const input: WorkerInput = { reconCsvWorker: true, path, consumed, transform };
  const worker = new Worker(__filename, { workerData: input });
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
    const parser = stream.pipe(new LineNumberingParser(CSV_OPTIONS));
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
