/**
 * CSV text of rows of strings exactly as `stringify(rows, { quoted: true })` of csv-stringify
 * writes it (issue #16, the memory bound): every non-empty field quoted with `"` (quotes
 * doubled), an empty field left empty, fields joined by `,`, each row ended by `\n`. csv-stringify
 * allocates ~8 KB per row of the open-breaks CSV (option objects, tuples and arrays per field),
 * which at 200 000 rows filled V8's young generation often enough for each chunk's rows to be
 * promoted as old-space garbage; this builds only the row's text. Only strings: anything else a
 * caller would give csv-stringify (numbers, booleans, objects, null) it casts, which this does not.
 * `tests/unit/quoted-csv.test.ts` checks it against csv-stringify on generated rows.
 */
export function quotedCsvRows(rows: Iterable<readonly string[]>): string {
  let text = '';
  for (const row of rows) text += quotedCsvRow(row);
  return text;
}

/** One row of `quotedCsvRows`, its `\n` included. */
export function quotedCsvRow(row: readonly string[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += ',';
    const value = row[i] ?? '';
    if (value === '') continue;
    line += `"${value.includes('"') ? value.replaceAll('"', '""') : value}"`;
  }
  return `${line}\n`;
}
