import { InputRejectedError } from '../../domain/errors';
import { normalizeHeaderName } from './processor-format';

/**
 * A column map: logical column key → the header names it may have (any case, inner whitespace
 * collapsed; several names for localised or renamed headers) and whether the format needs it.
 */
export type ColumnMap<K extends string> = Readonly<
  Record<K, { readonly names: readonly string[]; readonly required: boolean }>
>;

/** A header resolved against a column map: each key's field index, -1 when absent. */
export interface MappedHeader<K extends string> {
  readonly index: Readonly<Record<K, number>>;
  readonly width: number;
}

/** The required keys of `map` whose names all occur in `header` (for detection). */
export function matchesColumnMap<K extends string>(
  map: ColumnMap<K>,
  header: readonly string[],
): boolean {
  const names = new Set(header.map(normalizeHeaderName));
  return (Object.keys(map) as K[]).every(
    (key) => !map[key].required || map[key].names.some((name) => names.has(name)),
  );
}

/** The first name of each required key, for messages and the README. */
export function requiredColumnNames<K extends string>(map: ColumnMap<K>): string[] {
  return (Object.keys(map) as K[])
    .filter((key) => map[key].required)
    .map((key) => map[key].names[0] as string);
}

/**
 * Finds each key's column in `header` by name.
 * @throws InputRejectedError naming the missing columns, or a column that appears twice.
 */
export function mapHeader<K extends string>(
  map: ColumnMap<K>,
  header: readonly string[],
  location: string,
  line: number,
  formatTitle: string,
): MappedHeader<K> {
  const normalized = header.map(normalizeHeaderName);
  const index = {} as Record<K, number>;
  const missing: string[] = [];
  for (const key of Object.keys(map) as K[]) {
    const found = normalized.flatMap((name, at) => (map[key].names.includes(name) ? [at] : []));
    if (found.length > 1) {
      throw new InputRejectedError(
        `processor input ${location} line ${line}: column '${header[found[1] as number]?.trim()}' appears twice`,
        { location, line },
      );
    }
    index[key] = found[0] ?? -1;
    if (found.length === 0 && map[key].required) missing.push(map[key].names[0] as string);
  }
  if (missing.length > 0) {
    throw new InputRejectedError(
      `processor input ${location} line ${line}: ${formatTitle} header is missing column(s) ${missing.join(', ')}`,
      { location, line, field: missing[0] },
    );
  }
  return { index, width: header.length };
}

/** Reads the trimmed value of `key` in `fields` (`''` when the column is absent). */
export function cell<K extends string>(
  header: MappedHeader<K>,
  fields: readonly string[],
  key: K,
): string {
  const at = header.index[key];
  return at === -1 ? '' : (fields[at] ?? '').trim();
}
