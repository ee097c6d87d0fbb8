/**
 * A JSON document written in pieces (issue #16, the memory bound): the JSON report of a large run
 * holds hundreds of thousands of discrepancies and breaks, and rendering it as one object tree and
 * one `JSON.stringify` string held all of them at once, several times over. Here the large arrays
 * are `JsonStream`s, rendered item by item into chunks of a bounded size; the text is exactly
 * `JSON.stringify(document, null, 2)` (`JsonStream.toJSON` materializes the array, so a document
 * holding streams can still be given to `JSON.stringify`).
 */

/**
 * An array of a JSON document whose items are produced when it is written (`jsonChunks`), not
 * held: by an iterable (items in memory, rendered one by one) or an async iterable (e.g. rows read
 * a page at a time from a cursor). `items` is called once per rendering.
 */
export class JsonStream<T = unknown> {
  constructor(private readonly items: () => Iterable<T> | AsyncIterable<T>) {}

  /** The items, produced afresh. */
  values(): Iterable<T> | AsyncIterable<T> {
    return this.items();
  }

  /**
   * The whole array, for `JSON.stringify` of a document holding this stream.
   * @throws Error for a stream of an async iterable (only `jsonChunks` can write it).
   */
  toJSON(): T[] {
    const items = this.items();
    if (!(Symbol.iterator in items))
      throw new Error('a JsonStream of an async iterable can only be written by jsonChunks');
    return [...items];
  }
}

const PADS: string[] = [];
function pad(depth: number): string {
  return (PADS[depth] ??= ' '.repeat(2 * depth));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}

/** What `JSON.stringify` leaves out of an object (and writes as `null` in an array). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/** `JSON.stringify(value, null, 2)` for a value nested at `depth` (its later lines indented). */
function leaf(value: unknown, depth: number): string {
  const text = JSON.stringify(value, null, 2);
  // JSON text has no raw line break inside a string (they are escaped): every '\n' is layout.
  return depth === 0 ? text : text.replaceAll('\n', `\n${pad(depth)}`);
}

/** Whether `value` is a stream or a plain object with one among its members (at any depth). */
function holdsStream(value: unknown): boolean {
  if (value instanceof JsonStream) return true;
  return isPlainObject(value) && Object.values(value).some(holdsStream);
}

/** The text being written; `parts` hands it on (yields it) once it holds `chunkChars`. */
interface Output {
  text: string;
  readonly chunkChars: number;
}

async function* parts(value: unknown, depth: number, out: Output): AsyncGenerator<string> {
  if (value instanceof JsonStream) {
    let first = true;
    const items = (value as JsonStream).values();
    const write = async function* (item: unknown): AsyncGenerator<string> {
      out.text += `${first ? '[' : ','}\n${pad(depth + 1)}`;
      first = false;
      // An item is written whole (a stream of streams is written lazily too).
      if (omitted(item)) out.text += 'null';
      else if (item instanceof JsonStream) yield* parts(item, depth + 1, out);
      else out.text += leaf(item, depth + 1);
      if (out.text.length >= out.chunkChars) {
        yield out.text;
        out.text = '';
      }
    };
    if (Symbol.iterator in items) for (const item of items) yield* write(item);
    else for await (const item of items) yield* write(item);
    out.text += first ? '[]' : `\n${pad(depth)}]`;
    return;
  }
  if (!isPlainObject(value) || !Object.values(value).some(holdsStream)) {
    out.text += leaf(value, depth);
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (omitted(member)) continue;
    out.text += `${first ? '{' : ','}\n${pad(depth + 1)}${JSON.stringify(key)}: `;
    first = false;
    yield* parts(member, depth + 1, out);
  }
  out.text += first ? '{}' : `\n${pad(depth)}}`;
}

/**
 * Renders `document` as `JSON.stringify(document, null, 2)` would, followed by `suffix`, in
 * chunks of at least `chunkChars` characters (the last may be shorter; never the whole text at
 * once unless it is short): plain objects that hold a `JsonStream` are written member by member,
 * each stream item by item (an async stream's items as they come); everything else is
 * `JSON.stringify`'s own text. Values are what `JSON.stringify` accepts (a bigint throws, as
 * there); so does whatever a stream's iterable throws.
 */
export async function* jsonChunks(
  document: unknown,
  suffix = '',
  chunkChars = 1 << 16,
): AsyncGenerator<string> {
  const out: Output = { text: '', chunkChars };
  yield* parts(document, 0, out);
  out.text += suffix;
  if (out.text.length > 0) yield out.text;
}
