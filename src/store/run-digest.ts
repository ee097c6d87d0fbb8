import type { SqlExecutor } from './database';

/**
 * What a completed run's `run_completed` audit entry records about its results (`details.results`),
 * and what `recon db verify-audit` recomputes from the stored rows: the run row's counts, amounts
 * and classification, plus the number and a SHA-256 digest of its discrepancy rows and of its
 * data-quality findings. Computed by ONE SQL statement from what is stored, inside the run's
 * transaction, so both matching engines (and any later check) get the same value from the same
 * rows. Keys in the order `verify-audit` reports the first difference. Money as decimal strings
 * (major units, exactly as stored) and per-currency maps; never floats.
 */
export interface RunResults {
  readonly processor_transactions: number | null;
  readonly internal_transactions: number | null;
  readonly matched: number | null;
  readonly missing_in_internal: number | null;
  readonly missing_in_processor: number | null;
  readonly amount_mismatch: number | null;
  readonly currency_mismatch: number | null;
  readonly status_mismatch: number | null;
  readonly duplicate: number | null;
  readonly discrepancy_count: number | null;
  readonly invalid_rows: number | null;
  readonly discrepancy_amounts: Readonly<Record<string, string>>;
  readonly total_discrepancy_amount: string | null;
  readonly total_discrepancy_currency: string | null;
  readonly processor_volume: Readonly<Record<string, string>>;
  readonly internal_volume: Readonly<Record<string, string>>;
  readonly discrepancy_rate: string | null;
  readonly risk_level: string | null;
  readonly compliance_status: string | null;
  readonly discrepancy_rows: number;
  readonly discrepancies_sha256: string;
  /**
   * The digest of what the matching rules and cut-offs added to each discrepancy row (schemas
   * 6–7: business dates, matching tier, the ledger row's own id, candidates, references,
   * annotation), each with the row's kind, side, id and lines. Absent from the audit entries of
   * runs recorded before it existed: then not compared (`describeResultDifference`).
   */
  readonly discrepancy_details_sha256: string;
  readonly finding_rows: number;
  readonly findings_sha256: string;
  /**
   * Schema 7 (issue #15): the number of the run's settlement rows (`settlement_groups`,
   * `settlement_group_members`, `bank_entries` together) and their digest. A run recorded before
   * schema 7 has neither key in its audit entry: they are then not compared
   * (`describeResultDifference`).
   */
  readonly settlement_rows: number;
  readonly settlement_sha256: string;
}

/** The keys of `RunResults`, in the order differences are reported. */
export const RUN_RESULT_KEYS: readonly (keyof RunResults)[] = [
  'processor_transactions',
  'internal_transactions',
  'matched',
  'missing_in_internal',
  'missing_in_processor',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'duplicate',
  'discrepancy_count',
  'invalid_rows',
  'discrepancy_amounts',
  'total_discrepancy_amount',
  'total_discrepancy_currency',
  'processor_volume',
  'internal_volume',
  'discrepancy_rate',
  'risk_level',
  'compliance_status',
  'discrepancy_rows',
  'discrepancies_sha256',
  'discrepancy_details_sha256',
  'finding_rows',
  'findings_sha256',
  'settlement_rows',
  'settlement_sha256',
];

/** Keys added after runs were first recorded: compared only when the audit entry has them. */
const LATER_KEYS: ReadonlySet<keyof RunResults> = new Set([
  'discrepancy_details_sha256',
  'settlement_rows',
  'settlement_sha256',
]);

const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * SQL digest of a set of rows given as `rowText` (one canonical text per row) over `fromWhere`.
 * Canonical, independent of row order and of how the rows were written: each row's text is hashed
 * (SHA-256, hex); the row hashes are grouped by their first two hex digits into 256 buckets; each
 * bucket's hashes, sorted bytewise and concatenated, are hashed; the digest is SHA-256 over the
 * concatenation of `bucket || bucket hash` in bucket order (the SHA-256 of the empty string for
 * no rows). Buckets keep every aggregated string small, whatever the number of rows. The row
 * hashes are MATERIALIZED: inlined, the planner computed each row's text and hash twice (for the
 * bucket key and again for the aggregate), 240 of the 375 ms of a 20 000-discrepancy run's digest.
 */
function rowsDigestSql(rowText: string, fromWhere: string): string {
  return `(WITH h AS MATERIALIZED (
      SELECT encode(sha256(convert_to(${rowText}, 'UTF8')), 'hex') AS h ${fromWhere}
    ), b AS (
      SELECT left(h.h, 2) AS bucket,
             encode(sha256(convert_to(string_agg(h.h, '' ORDER BY h.h COLLATE "C"), 'UTF8')), 'hex') AS hash
        FROM h GROUP BY left(h.h, 2)
    )
    SELECT encode(sha256(convert_to(coalesce(string_agg(b.bucket || b.hash, '' ORDER BY b.bucket COLLATE "C"), ''), 'UTF8')), 'hex')
      FROM b)`;
}

/**
 * One discrepancy row as canonical text: a JSON array of every column except the random `id` and
 * the `run_id`, amounts as stored (minor units as integers, major units as numeric text with their
 * scale), timestamps in UTC with microseconds (never the session's time zone).
 */
const DISCREPANCY_TEXT = `json_build_array(d.kind, d.side, d.transaction_id, d.amount_minor, d.amount::text,
    d.currency::text, d.merchant_id, to_char(d.created_at AT TIME ZONE 'UTC', ${UTC_MICROS}),
    d.processor_amount_minor, d.processor_amount::text, d.processor_currency::text,
    d.processor_status, d.processor_line,
    d.internal_amount_minor, d.internal_amount::text, d.internal_currency::text,
    d.internal_status, d.internal_line,
    d.difference_minor, d.difference::text, d.description)::text`;

/**
 * What the matching rules and cut-offs added to a discrepancy row, as canonical text, with the
 * columns that tell the row apart (kind, side, id, lines): dates as ISO text, `candidates` as
 * PostgreSQL's normalised `jsonb` text. Not `break_id` (a link to the break lifecycle, whose ids
 * differ between runs and engines).
 */
const DISCREPANCY_DETAILS_TEXT = `json_build_array(d.kind, d.side, d.transaction_id,
    d.processor_line, d.internal_line,
    d.processor_business_date::text, d.internal_business_date::text, d.tier,
    d.internal_transaction_id, d.candidates::text, d.processor_reference, d.internal_reference,
    d.annotation)::text`;

/** One data-quality finding as canonical text (every column except `id`, `run_id`, `created_at`). */
const FINDING_TEXT = `json_build_array(q.side, q.source, q.check_name, q.severity, q.line, q.field,
    q.reason, q.value, q.count)::text`;

/**
 * The settlement rows of run `r` (schema 7) as one canonical text each, tagged by table: every
 * column except `run_id`, amounts as stored, dates as text.
 */
const SETTLEMENT_ROWS = `(
    SELECT json_build_array('group', g.seq, g.processor, g.parent_id, g.kind, g.currency::text,
        g.parent_amount_minor, g.parent_amount::text, g.children_sum_minor, g.children_sum::text,
        g.difference_minor, g.difference::text, g.child_count, g.status, g.due_date::text,
        g.charges_minor, g.fees_minor, g.refunds_minor, g.disputes_minor, g.adjustments_minor,
        g.payout_minor, g.unexplained_residual_minor, g.bank_status, g.bank_matched_by,
        g.bank_difference_minor, g.bank_entry_seq, g.bank_entry_ref)::text AS t
      FROM settlement_groups g WHERE g.run_id = r.id
    UNION ALL
    SELECT json_build_array('member', m.group_seq, m.seq, m.child_id, m.category, m.currency::text,
        m.gross_minor, m.gross::text, m.net_minor, m.net::text)::text
      FROM settlement_group_members m WHERE m.run_id = r.id
    UNION ALL
    SELECT json_build_array('bank_entry', b.seq, b.statement_id, b.account, b.direction,
        b.amount_minor, b.amount::text, b.currency::text, b.booking_date::text, b.value_date::text,
        b.bank_reference, b.customer_reference, b.remittance_text, b.reversal, b.type_code,
        b.booked, b.line, b.xml_path, b.reference)::text
      FROM bank_entries b WHERE b.run_id = r.id
  ) s`;

/** `RunResults` of the run `$1` as one JSON text column `results`; no row for an unknown run. */
const RUN_RESULTS_SQL = `
SELECT json_build_object(
    'processor_transactions', r.processor_transaction_count,
    'internal_transactions', r.internal_transaction_count,
    'matched', r.matched_count,
    'missing_in_internal', r.missing_transaction_count,
    'missing_in_processor', r.missing_in_processor_count,
    'amount_mismatch', r.amount_mismatch_count,
    'currency_mismatch', r.currency_mismatch_count,
    'status_mismatch', r.status_mismatch_count,
    'duplicate', r.duplicate_count,
    'discrepancy_count', r.discrepancy_count,
    'invalid_rows', r.invalid_row_count,
    'discrepancy_amounts', r.discrepancy_amounts,
    'total_discrepancy_amount', r.total_discrepancy_amount::text,
    'total_discrepancy_currency', r.total_discrepancy_currency::text,
    'processor_volume', r.processor_volume,
    'internal_volume', r.internal_volume,
    'discrepancy_rate', r.discrepancy_rate::text,
    'risk_level', r.risk_level,
    'compliance_status', r.compliance_status,
    'discrepancy_rows', (SELECT count(*) FROM discrepancies d WHERE d.run_id = r.id),
    'discrepancies_sha256', ${rowsDigestSql(DISCREPANCY_TEXT, 'FROM discrepancies d WHERE d.run_id = r.id')},
    'discrepancy_details_sha256', ${rowsDigestSql(DISCREPANCY_DETAILS_TEXT, 'FROM discrepancies d WHERE d.run_id = r.id')},
    'finding_rows', (SELECT count(*) FROM data_quality_checks q WHERE q.run_id = r.id),
    'findings_sha256', ${rowsDigestSql(FINDING_TEXT, 'FROM data_quality_checks q WHERE q.run_id = r.id')},
    'settlement_rows', (SELECT count(*) FROM ${SETTLEMENT_ROWS}),
    'settlement_sha256', ${rowsDigestSql('s.t', `FROM ${SETTLEMENT_ROWS}`)}
  )::text AS results
  FROM reconciliation_runs r
 WHERE r.id = $1`;

/**
 * Computes the `RunResults` of run `runId` from its stored rows (see `RunResults`). Call it inside
 * the run's transaction after its results are written, and again to verify them.
 * @throws Error when the run does not exist (a bug: callers pass ids they just read).
 */
export async function computeRunResults(db: SqlExecutor, runId: string): Promise<RunResults> {
  const rows = await db.query<{ results: string }>(RUN_RESULTS_SQL, [runId]);
  const text = rows[0]?.results;
  if (text === undefined) throw new Error(`run ${runId} does not exist`);
  return JSON.parse(text) as RunResults;
}

/** A value as canonical JSON (object keys sorted), to compare recorded and recomputed values. */
function canonicalJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The first key (in `RUN_RESULT_KEYS` order) whose value differs between the results `now`
 * computed from the stored rows and those `recorded` in the audit entry, as
 * `key is <now>, recorded <recorded>`; `null` when all agree. Keys added later (`LATER_KEYS`:
 * schema 7's settlement keys, the discrepancy details' digest) are compared only when `recorded`
 * has them (an entry written before they existed has not).
 */
export function describeResultDifference(now: RunResults, recorded: unknown): string | null {
  const old =
    recorded !== null && typeof recorded === 'object' ? (recorded as Record<string, unknown>) : {};
  for (const key of RUN_RESULT_KEYS) {
    // A run recorded before a key existed has no such key (schema 7's settlement keys, the
    // discrepancy details' digest): it is not compared.
    if (LATER_KEYS.has(key) && !(key in old)) continue;
    const a = canonicalJson(now[key]);
    const b = canonicalJson(old[key]);
    if (a !== b) return `${key} is ${a.replace(/^"|"$/g, '')}, recorded ${b.replace(/^"|"$/g, '')}`;
  }
  return null;
}
