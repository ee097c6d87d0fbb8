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
 * held. `items` is called once per rendering (so a document can be rendered more than once).
 */
export class JsonStream<T = unknown> {
  constructor(private readonly items: () => Iterable<T>) {}

  /** The items, produced afresh. */
  values(): Iterable<T> {
    return this.items();
  }

  /** The whole array, for `JSON.stringify` of a document holding this stream. */
  toJSON(): T[] {
    return [...this.items()];
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

function* parts(value: unknown, depth: number): Generator<string> {
  if (value instanceof JsonStream) {
    let first = true;
    for (const item of value.values() as Iterable<unknown>) {
      yield `${first ? '[' : ','}\n${pad(depth + 1)}`;
      first = false;
      // An item is written whole (a stream of streams is written lazily too).
      if (omitted(item)) yield 'null';
      else if (item instanceof JsonStream) yield* parts(item, depth + 1);
      else yield leaf(item, depth + 1);
    }
    yield first ? '[]' : `\n${pad(depth)}]`;
    return;
  }
  if (!isPlainObject(value) || !Object.values(value).some(holdsStream)) {
    yield leaf(value, depth);
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (omitted(member)) continue;
    yield `${first ? '{' : ','}\n${pad(depth + 1)}${JSON.stringify(key)}: `;
    first = false;
    yield* parts(member, depth + 1);
  }
  yield first ? '{}' : `\n${pad(depth)}}`;
}

/** Whether `value` is a stream or a plain object with one among its members (at any depth). */
function holdsStream(value: unknown): boolean {
  if (value instanceof JsonStream) return true;
  return isPlainObject(value) && Object.values(value).some(holdsStream);
}

/**
 * Renders `document` as `JSON.stringify(document, null, 2)` would, followed by `suffix`, in
 * chunks of about `chunkChars` characters (never holding the whole text): plain objects that hold
 * a `JsonStream` are written member by member, each stream item by item; everything else is
 * `JSON.stringify`'s own text. Values are what `JSON.stringify` accepts (a bigint throws, as
 * there).
 */
export function* jsonChunks(
  document: unknown,
  suffix = '',
  chunkChars = 1 << 16,
): Generator<string> {
  let buffered = '';
  for (const part of parts(document, 0)) {
    buffered += part;
    if (buffered.length >= chunkChars) {
      yield buffered;
      buffered = '';
    }
  }
  buffered += suffix;
  if (buffered.length > 0) yield buffered;
}
