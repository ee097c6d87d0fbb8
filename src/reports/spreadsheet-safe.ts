/**
 * Neutralises spreadsheet formula injection in a text cell, as OWASP recommends
 * (https://owasp.org/www-community/attacks/CSV_Injection; OWASP ASVS 5.0 §1.2.10): a cell that
 * starts with `=`, `+`, `-`, `@`, TAB, CR, LF or NUL gets a leading `'`, so spreadsheets show it as
 * text. Quoting every field (done by the CSV writer) keeps separators inside cells inert.
 * Only for text that came from input; amounts we format ourselves are written as they are.
 */
export function escapeSpreadsheetText(value: string): string {
  return /^[=+\-@\t\r\n\0]/.test(value) ? `'${value}` : value;
}
