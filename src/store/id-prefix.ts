import { AmbiguousIdError, NotFoundError, UsageError } from '../domain/errors';
import type { SqlExecutor } from './database';

/**
 * Short ids, as git accepts short commit hashes: the user may name a run (later a break or a
 * payout) by any prefix of its uuid of at least `MIN_ID_PREFIX_LENGTH` characters, as long as it
 * names exactly one record. One home for the rule, its validation and its messages, whatever the
 * table.
 */

/** Fewest characters of an id accepted as a prefix (the uuid's first group). */
export const MIN_ID_PREFIX_LENGTH = 8;

/** Length of a uuid in its canonical text form (`8-4-4-4-12` lowercase hex digits). */
export const UUID_TEXT_LENGTH = 36;

/** At most this many matches are named in an "ambiguous" message. */
export const MAX_LISTED_MATCHES = 10;

/** Where ids of one kind live: `kind` names them in messages (`run`), `table` holds a uuid `id`. */
export interface IdTable {
  /** One word for messages: `run id prefix '…' is ambiguous`. */
  readonly kind: string;
  /** A table name written in our code (never user input); it must have a `uuid` column `id`. */
  readonly table: string;
}

// Only hex digits and dashes: nothing LIKE treats specially (`%`, `_`, `\`) can get through.
const PREFIX_GRAMMAR = /^[0-9a-f-]+$/;
const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

// User input echoed in a one-line message: no control characters, no screenful of text.
function shown(input: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > UUID_TEXT_LENGTH + 4 ? `${clean.slice(0, UUID_TEXT_LENGTH)}…` : clean;
}

/**
 * The prefix to look up for `input` (surrounding blanks dropped, lowercased, since uuids print in
 * lowercase): hex digits and dashes, from `MIN_ID_PREFIX_LENGTH` to 36 characters.
 * @throws UsageError when `input` is shorter than 8 characters, longer than a uuid or holds
 *   anything but hex digits and dashes; the message names the kind of id and the input.
 */
export function parseIdPrefix(kind: string, input: string): string {
  const prefix = input.trim().toLowerCase();
  if (!PREFIX_GRAMMAR.test(prefix) || prefix.length > UUID_TEXT_LENGTH) {
    throw new UsageError(
      `${kind} id '${shown(input)}' is not a ${kind} id or a prefix of one: use hex digits and dashes, e.g. the first ${MIN_ID_PREFIX_LENGTH} characters`,
    );
  }
  if (prefix.length < MIN_ID_PREFIX_LENGTH) {
    throw new UsageError(
      `${kind} id prefix '${prefix}' is too short: give at least ${MIN_ID_PREFIX_LENGTH} characters of the ${kind} id`,
    );
  }
  return prefix;
}

/**
 * The one id among `matches` (the ids starting with `prefix`, in order, at most
 * `MAX_LISTED_MATCHES` + 1 of them) out of `total` ids starting with it.
 * @throws NotFoundError when there is none.
 * @throws AmbiguousIdError when there are several: `<kind> id prefix '<prefix>' is ambiguous:
 *   <id>, <id>` (then `, and N more` past `MAX_LISTED_MATCHES`).
 */
export function pickUniqueId(
  kind: string,
  prefix: string,
  matches: readonly string[],
  total: number,
): string {
  const [only] = matches;
  if (only === undefined) {
    throw new NotFoundError(
      prefix.length === UUID_TEXT_LENGTH
        ? `no ${kind} with id '${prefix}'`
        : `no ${kind} id starts with '${prefix}'`,
    );
  }
  if (total === 1) return only;
  const listed = matches.slice(0, MAX_LISTED_MATCHES);
  const more = total - listed.length;
  throw new AmbiguousIdError(
    `${kind} id prefix '${prefix}' is ambiguous: ${listed.join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
    prefix,
    listed,
  );
}

/**
 * Resolves a full id or a unique prefix of one (see `parseIdPrefix`) to the full id (lowercase
 * uuid text) of the one row of `target.table` it names. Reads only; one query.
 * @throws UsageError for input that is no prefix (too short, not hex), NotFoundError when no id
 *   starts with it, AmbiguousIdError when several do.
 */
export async function resolveIdPrefix(
  db: SqlExecutor,
  target: IdTable,
  input: string,
): Promise<string> {
  if (!TABLE_NAME.test(target.table)) throw new Error(`not a table name: ${target.table}`);
  const prefix = parseIdPrefix(target.kind, input);
  // A sequential scan over the ids: fine for tables of thousands of runs; the parameter is
  // validated hex, so LIKE sees no wildcard but the one we append.
  const rows = await db.query<{ id: string; total: number }>(
    `SELECT id::text AS id, (count(*) OVER ())::int AS total
       FROM ${target.table}
      WHERE id::text LIKE $1 || '%'
      ORDER BY id
      LIMIT ${MAX_LISTED_MATCHES + 1}`,
    [prefix],
  );
  return pickUniqueId(
    target.kind,
    prefix,
    rows.map((row) => row.id),
    rows[0]?.total ?? 0,
  );
}
