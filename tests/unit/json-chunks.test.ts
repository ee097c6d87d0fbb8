import fc from 'fast-check';
import { jsonChunks, JsonStream } from '../../src/reports/json-chunks';

/** The document with every stream replaced by its array (what `JSON.stringify` sees). */
function materialized(value: unknown): unknown {
  if (value instanceof JsonStream) return value.toJSON().map(materialized);
  if (Array.isArray(value)) return value.map(materialized);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialized(v)]));
  return value;
}

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/** JSON values where some arrays (at any depth) are streams, with `undefined` members too. */
const documents = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1.5, 'a\nb', '"\\\u2028', '', undefined),
    fc.string({ unit: 'grapheme' }),
    fc.integer(),
    tie('object'),
    tie('array'),
    tie('stream'),
  ),
  object: fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }),
  array: fc.array(tie('value'), { maxLength: 5 }),
  stream: fc.array(tie('value'), { maxLength: 5 }).map((items) => new JsonStream(() => items)),
}));

describe('jsonChunks', () => {
  it('writes exactly the text of JSON.stringify(document, null, 2) for generated documents with streams at any depth', async () => {
    await fc.assert(
      fc.asyncProperty(
        documents.value,
        fc.integer({ min: 1, max: 64 }),
        async (document, chunkChars) => {
          const chunks = await collect(jsonChunks(document, '\n', chunkChars));
          expect(chunks.join('')).toBe(`${JSON.stringify(materialized(document), null, 2)}\n`);
          // Every chunk but the last reaches the size asked for; none is empty.
          for (const chunk of chunks.slice(0, -1))
            expect(chunk.length).toBeGreaterThanOrEqual(chunkChars);
          for (const chunk of chunks) expect(chunk.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes a report-shaped document (empty and non-empty streams, undefined members, nested objects) as JSON.stringify does', async () => {
    const document = {
      report_metadata: { run_id: 'r', dry_run: false, skipped: undefined },
      summary: { counts: { matched: 1 }, fees: undefined },
      discrepancies: new JsonStream(function* () {
        yield { kind: 'duplicate', processor: { line: 2, reference: undefined }, internal: null };
        yield { kind: 'missing_in_internal', tags: ['a', 'b'], nested: { deep: [] } };
      }),
      data_quality: { findings: new JsonStream(() => []), processor: { rows: 3 } },
      open_breaks: new JsonStream(() => [undefined, 'x']),
    };
    expect((await collect(jsonChunks(document, '\n', 1))).join('')).toBe(
      `${JSON.stringify(document, null, 2)}\n`,
    );
    expect(await collect(jsonChunks(document))).toEqual([`${JSON.stringify(document, null, 2)}`]);
  });

  it('writes a stream of an async iterable (rows read page by page) as the same array in memory', async () => {
    const rows = [
      { id: 'a', n: 1 },
      { id: 'b', n: null },
    ];
    const paged = {
      open: new JsonStream(async function* () {
        for (const row of rows) {
          await Promise.resolve();
          yield row;
        }
      }),
      empty: new JsonStream(async function* () {}),
    };
    expect((await collect(jsonChunks(paged, '\n', 1))).join('')).toBe(
      `${JSON.stringify({ open: rows, empty: [] }, null, 2)}\n`,
    );
    expect(() => JSON.stringify(paged)).toThrow(/async iterable/);
  });

  it('produces the items of a stream only while writing it, one at a time', async () => {
    const produced: number[] = [];
    const document = {
      items: new JsonStream(function* () {
        for (let i = 0; i < 3; i++) {
          produced.push(i);
          yield { i };
        }
      }),
    };
    const chunks = jsonChunks(document, '', 1);
    expect(produced).toEqual([]);
    await chunks.next();
    expect(produced).toEqual([0]);
    expect((await collect(chunks)).length).toBeGreaterThan(0);
    expect(produced).toEqual([0, 1, 2]);
  });
});
