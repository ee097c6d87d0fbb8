/**
 * Limits every input row is validated against (README "Validation and data quality"). A value
 * beyond a limit makes its row invalid (an `invalid_row` finding), never a failed run: each limit
 * keeps the row storable and comparable exactly.
 */

/**
 * Longest accepted transaction id, in bytes of its UTF-8 form (255 ASCII characters; fewer with
 * accented or non-Latin text). Ids are indexed by PostgreSQL (`ix_discrepancies_transaction`),
 * whose btree entries fail above about 2.7 kB; 255 leaves room for every real processor id.
 */
export const MAX_TRANSACTION_ID_BYTES = 255;

/**
 * Largest accepted |amount| (and |fee|) in MINOR units: 18 digits, 999 999 999 999 999 999. The
 * database stores amounts and the differences of two amounts as `bigint` (signed 64 bits, about
 * ±9.22 × 10^18); with both operands within 10^18 their difference always fits.
 */
export const MAX_AMOUNT_MINOR = 10n ** 18n - 1n;

/** Whether `minor` is within ±`MAX_AMOUNT_MINOR`. */
export function amountInRange(minor: bigint): boolean {
  return minor <= MAX_AMOUNT_MINOR && minor >= -MAX_AMOUNT_MINOR;
}

/** The UTF-8 length in bytes of `id` when it is longer than `MAX_TRANSACTION_ID_BYTES`, else 0. */
export function overlongIdBytes(id: string): number {
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes: only ids of 86 to 255 units need counting.
  if (id.length * 3 <= MAX_TRANSACTION_ID_BYTES) return 0;
  const bytes = id.length > MAX_TRANSACTION_ID_BYTES ? id.length : Buffer.byteLength(id, 'utf8');
  return bytes > MAX_TRANSACTION_ID_BYTES ? Buffer.byteLength(id, 'utf8') : 0;
}

/** The reason phrase of an over-long id (`overlongIdBytes` > 0), prefixed by its field name. */
export function overlongIdReason(field: string, bytes: number): string {
  return `${field} is ${bytes} bytes long; at most ${MAX_TRANSACTION_ID_BYTES} bytes (UTF-8) are accepted`;
}

/** The reason phrase of an amount beyond `MAX_AMOUNT_MINOR`, prefixed by its field name. */
export function amountRangeReason(field: string): string {
  return `${field} is beyond the accepted range of ±${MAX_AMOUNT_MINOR} minor units (18 digits)`;
}
