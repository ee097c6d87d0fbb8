import type { BankEntry } from '../domain/bank-entry';
import { currencyExponent } from '../domain/currency';
import { formatMinor } from '../domain/money';
import { bankEntryReference } from '../engine/bank-matching';
import { bankResultOf, type RunSettlement } from '../engine/settlement';
import type { SettlementChild, SettlementGroupResult } from '../engine/settlement-groups';
import { chunkCopyRows } from './copy-csv';
import type { SqlExecutor, SqlValue } from './database';

/**
 * Persistence of a run's settlement leg (issue #15, schema 7): `bank_entries` (every statement
 * line the run read), `settlement_groups` (one row per group, with its waterfall and bank leg)
 * and `settlement_group_members` (the children), written with COPY inside the run's one final
 * transaction, keyed by (run id, seq): a rerun is a new run with rows of its own. Reads for
 * `recon payouts list|show` look at completed runs only (a superseded run's rows stay, unread).
 */

const BANK_ENTRY_COLUMNS = [
  'run_id',
  'seq',
  'statement_id',
  'account',
  'direction',
  'amount_minor',
  'amount',
  'currency',
  'booking_date',
  'value_date',
  'bank_reference',
  'customer_reference',
  'remittance_text',
  'reversal',
  'type_code',
  'booked',
  'line',
  'xml_path',
  'reference',
] as const;

const GROUP_COLUMNS = [
  'run_id',
  'seq',
  'processor',
  'parent_id',
  'kind',
  'currency',
  'parent_amount_minor',
  'parent_amount',
  'children_sum_minor',
  'children_sum',
  'difference_minor',
  'difference',
  'child_count',
  'status',
  'due_date',
  'charges_minor',
  'fees_minor',
  'refunds_minor',
  'disputes_minor',
  'adjustments_minor',
  'payout_minor',
  'unexplained_residual_minor',
  'bank_status',
  'bank_matched_by',
  'bank_difference_minor',
  'bank_entry_seq',
  'bank_entry_ref',
] as const;

const MEMBER_COLUMNS = [
  'run_id',
  'group_seq',
  'seq',
  'child_id',
  'category',
  'currency',
  'gross_minor',
  'gross',
  'net_minor',
  'net',
] as const;

const decimal = (minor: bigint, currency: string): string =>
  formatMinor(minor, currencyExponent(currency));
const orNull = (minor: bigint | null, currency: string): string | null =>
  minor === null ? null : decimal(minor, currency);

/**
 * Writes `settlement` for run `runId` of `processor` in the caller's transaction (COPY, three
 * tables). Returns the number of groups written.
 * @throws Error when a COPY writes another number of rows than given (a bug).
 */
export async function writeRunSettlement(
  tx: SqlExecutor,
  runId: string,
  processor: string,
  settlement: RunSettlement,
): Promise<number> {
  const entrySeq = new Map<BankEntry, number>();
  settlement.bankEntries.forEach((entry, index) => entrySeq.set(entry, index + 1));
  const check = (table: string, written: number, expected: number): void => {
    if (written !== expected)
      throw new Error(`COPY wrote ${written} rows into ${table}, expected ${expected}`);
  };
  if (settlement.bankEntries.length > 0) {
    const written = await tx.copyFrom(
      'bank_entries',
      BANK_ENTRY_COLUMNS,
      chunkCopyRows(settlement.bankEntries, (e): SqlValue[] => [
        runId,
        entrySeq.get(e) ?? 0,
        e.statementId,
        e.account,
        e.direction,
        e.amount.toString(),
        decimal(e.amount, e.currency),
        e.currency,
        e.bookingDate,
        e.valueDate,
        e.bankReference,
        e.customerReference,
        e.remittanceText,
        e.reversal,
        e.typeCode,
        e.booked,
        e.line,
        e.xmlPath,
        bankEntryReference(e),
      ]),
    );
    check('bank_entries', written, settlement.bankEntries.length);
  }
  if (settlement.groups.length === 0) return 0;
  const groupRow = (group: SettlementGroupResult, seq: number): SqlValue[] => {
    const bank = bankResultOf(settlement, group);
    const entry = bank?.bankEntry ?? null;
    const w = group.waterfall;
    return [
      runId,
      seq,
      processor,
      group.parentId,
      group.kind,
      group.currency,
      group.parentAmount?.toString() ?? null,
      orNull(group.parentAmount, group.currency),
      group.childrenSum.toString(),
      decimal(group.childrenSum, group.currency),
      group.difference?.toString() ?? null,
      orNull(group.difference, group.currency),
      group.childCount,
      group.status,
      group.dueDate,
      w.charges.toString(),
      w.fees.toString(),
      w.refunds.toString(),
      w.disputes.toString(),
      w.adjustments.toString(),
      w.payout.toString(),
      w.unexplainedResidual.toString(),
      bank?.status ?? null,
      bank?.matchedBy ?? null,
      bank?.difference?.toString() ?? null,
      entry ? (entrySeq.get(entry) ?? null) : null,
      entry ? bankEntryReference(entry) : null,
    ];
  };
  const indexed = settlement.groups.map((group, index) => ({ group, seq: index + 1 }));
  const groups = await tx.copyFrom(
    'settlement_groups',
    GROUP_COLUMNS,
    chunkCopyRows(indexed, ({ group, seq }) => groupRow(group, seq)),
  );
  check('settlement_groups', groups, indexed.length);
  const members = indexed.flatMap(({ group, seq }) =>
    group.children.map((child, index) => ({ child, groupSeq: seq, seq: index + 1 })),
  );
  if (members.length > 0) {
    const written = await tx.copyFrom(
      'settlement_group_members',
      MEMBER_COLUMNS,
      chunkCopyRows(
        members,
        ({
          child,
          groupSeq,
          seq,
        }: {
          child: SettlementChild;
          groupSeq: number;
          seq: number;
        }): SqlValue[] => [
          runId,
          groupSeq,
          seq,
          child.id,
          child.category,
          child.currency,
          child.gross.toString(),
          decimal(child.gross, child.currency),
          child.net.toString(),
          decimal(child.net, child.currency),
        ],
      ),
    );
    check('settlement_group_members', written, members.length);
  }
  return indexed.length;
}

/**
 * A stored payout (settlement group) as `recon payouts list|show` shows it: money as exact
 * decimal strings in major units of `currency` (null when absent), the waterfall likewise, the
 * bank leg (`bankStatus` null when the run read no bank statement), and the run it belongs to.
 */
export interface StoredPayout {
  readonly runId: string;
  readonly businessDate: string;
  readonly processor: string;
  readonly parentId: string;
  readonly kind: string;
  readonly currency: string;
  readonly parentAmount: string | null;
  readonly childrenSum: string;
  readonly difference: string | null;
  readonly childCount: number;
  readonly status: string;
  readonly dueDate: string | null;
  readonly waterfall: {
    readonly charges: string;
    readonly fees: string;
    readonly refunds: string;
    readonly disputes: string;
    readonly adjustments: string;
    readonly payout: string;
    readonly unexplainedResidual: string;
  };
  readonly bankStatus: string | null;
  readonly bankMatchedBy: string | null;
  readonly bankDifference: string | null;
  readonly bankEntry: string | null;
}

/** A child of a stored payout: amounts as decimal strings (signed, major units). */
export interface StoredPayoutChild {
  readonly childId: string;
  readonly category: string;
  readonly currency: string;
  readonly gross: string;
  readonly net: string;
}

/** A stored bank statement line (dates `YYYY-MM-DD`, amount a decimal string ≥ 0). */
export interface StoredBankEntry {
  readonly reference: string;
  readonly statementId: string;
  readonly account: string;
  readonly direction: string;
  readonly amount: string;
  readonly currency: string;
  readonly bookingDate: string | null;
  readonly valueDate: string | null;
  readonly remittanceText: string | null;
}

/** A stored payout with its children (input order) and its bank entry (null without one). */
export interface StoredPayoutDetail extends StoredPayout {
  readonly children: readonly StoredPayoutChild[];
  readonly bankEntryDetail: StoredBankEntry | null;
}

/** Filters of `recon payouts list`: processor, group or bank status, business date, limit. */
export interface PayoutFilter {
  readonly processor?: string;
  readonly status?: string;
  readonly businessDate?: string;
  readonly limit: number;
}

interface GroupRow {
  run_id: string;
  run_date: string;
  seq: number;
  processor: string;
  parent_id: string;
  kind: string;
  currency: string;
  parent_amount_minor: string | null;
  children_sum_minor: string;
  difference_minor: string | null;
  child_count: number;
  status: string;
  due_date: string | null;
  charges_minor: string;
  fees_minor: string;
  refunds_minor: string;
  disputes_minor: string;
  adjustments_minor: string;
  payout_minor: string;
  unexplained_residual_minor: string;
  bank_status: string | null;
  bank_matched_by: string | null;
  bank_difference_minor: string | null;
  bank_entry_seq: number | null;
  bank_entry_ref: string | null;
}

const GROUP_SELECT = `
  SELECT g.run_id::text AS run_id, r.run_date::text AS run_date, g.seq, g.processor, g.parent_id,
         g.kind, trim(g.currency) AS currency, g.parent_amount_minor::text AS parent_amount_minor,
         g.children_sum_minor::text AS children_sum_minor, g.difference_minor::text AS difference_minor,
         g.child_count, g.status, g.due_date::text AS due_date,
         g.charges_minor::text AS charges_minor, g.fees_minor::text AS fees_minor,
         g.refunds_minor::text AS refunds_minor, g.disputes_minor::text AS disputes_minor,
         g.adjustments_minor::text AS adjustments_minor, g.payout_minor::text AS payout_minor,
         g.unexplained_residual_minor::text AS unexplained_residual_minor,
         g.bank_status, g.bank_matched_by, g.bank_difference_minor::text AS bank_difference_minor,
         g.bank_entry_seq, g.bank_entry_ref
    FROM settlement_groups g JOIN reconciliation_runs r ON r.id = g.run_id
   WHERE r.status = 'completed'`;

function toStoredPayout(row: GroupRow): StoredPayout {
  const c = row.currency;
  const money = (minor: string): string => decimal(BigInt(minor), c);
  const maybe = (minor: string | null): string | null => (minor === null ? null : money(minor));
  return {
    runId: row.run_id,
    businessDate: row.run_date,
    processor: row.processor,
    parentId: row.parent_id,
    kind: row.kind,
    currency: c,
    parentAmount: maybe(row.parent_amount_minor),
    childrenSum: money(row.children_sum_minor),
    difference: maybe(row.difference_minor),
    childCount: row.child_count,
    status: row.status,
    dueDate: row.due_date,
    waterfall: {
      charges: money(row.charges_minor),
      fees: money(row.fees_minor),
      refunds: money(row.refunds_minor),
      disputes: money(row.disputes_minor),
      adjustments: money(row.adjustments_minor),
      payout: money(row.payout_minor),
      unexplainedResidual: money(row.unexplained_residual_minor),
    },
    bankStatus: row.bank_status,
    bankMatchedBy: row.bank_matched_by,
    bankDifference: maybe(row.bank_difference_minor),
    bankEntry: row.bank_entry_ref,
  };
}

/**
 * The payouts of completed runs matching `filter` (`status`: a group status such as
 * `group_sum_mismatch`, or a bank status such as `payout_missing_in_bank`), newest business date
 * first, then processor and the run's group order.
 */
export async function listPayouts(db: SqlExecutor, filter: PayoutFilter): Promise<StoredPayout[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.processor) {
    params.push(filter.processor);
    where.push(`g.processor = $${params.length}`);
  }
  if (filter.status) {
    params.push(filter.status);
    where.push(`(g.status = $${params.length} OR g.bank_status = $${params.length})`);
  }
  if (filter.businessDate) {
    params.push(filter.businessDate);
    where.push(`r.run_date = $${params.length}`);
  }
  params.push(filter.limit);
  const rows = await db.query<GroupRow>(
    `${GROUP_SELECT} ${where.map((w) => `AND ${w}`).join(' ')}
     ORDER BY r.run_date DESC, g.processor, g.seq LIMIT $${params.length}`,
    params,
  );
  return rows.map(toStoredPayout);
}

/**
 * The payout `parentId` (optionally of one processor) from the latest completed run that has it
 * (latest business date, then latest start), with its children and bank entry; one element per
 * currency of that run's groups with this id; empty when no completed run has it.
 */
export async function showPayout(
  db: SqlExecutor,
  parentId: string,
  processor?: string,
): Promise<StoredPayoutDetail[]> {
  const params: SqlValue[] = [parentId];
  if (processor) params.push(processor);
  const latest = await db.query<{ run_id: string }>(
    `SELECT g.run_id::text AS run_id
       FROM settlement_groups g JOIN reconciliation_runs r ON r.id = g.run_id
      WHERE r.status = 'completed' AND g.parent_id = $1 ${processor ? 'AND g.processor = $2' : ''}
      ORDER BY r.run_date DESC, r.start_time DESC LIMIT 1`,
    params,
  );
  const runId = latest[0]?.run_id;
  if (!runId) return [];
  const rows = await db.query<GroupRow>(
    `${GROUP_SELECT} AND g.run_id = $1 AND g.parent_id = $2 ORDER BY g.seq`,
    [runId, parentId],
  );
  const details: StoredPayoutDetail[] = [];
  for (const row of rows) {
    const children = await db.query<{
      child_id: string;
      category: string;
      currency: string;
      gross_minor: string;
      net_minor: string;
    }>(
      `SELECT child_id, category, trim(currency) AS currency, gross_minor::text AS gross_minor,
              net_minor::text AS net_minor
         FROM settlement_group_members WHERE run_id = $1 AND group_seq = $2 ORDER BY seq`,
      [runId, row.seq],
    );
    let bankEntryDetail: StoredBankEntry | null = null;
    if (row.bank_entry_seq !== null) {
      const [entry] = await db.query<{
        reference: string;
        statement_id: string;
        account: string;
        direction: string;
        amount_minor: string;
        currency: string;
        booking_date: string | null;
        value_date: string | null;
        remittance_text: string | null;
      }>(
        `SELECT reference, statement_id, account, direction, amount_minor::text AS amount_minor,
                trim(currency) AS currency, booking_date::text AS booking_date,
                value_date::text AS value_date, remittance_text
           FROM bank_entries WHERE run_id = $1 AND seq = $2`,
        [runId, row.bank_entry_seq],
      );
      if (entry)
        bankEntryDetail = {
          reference: entry.reference,
          statementId: entry.statement_id,
          account: entry.account,
          direction: entry.direction,
          amount: decimal(BigInt(entry.amount_minor), entry.currency),
          currency: entry.currency,
          bookingDate: entry.booking_date,
          valueDate: entry.value_date,
          remittanceText: entry.remittance_text,
        };
    }
    details.push({
      ...toStoredPayout(row),
      children: children.map((child) => ({
        childId: child.child_id,
        category: child.category,
        currency: child.currency,
        gross: decimal(BigInt(child.gross_minor), child.currency),
        net: decimal(BigInt(child.net_minor), child.currency),
      })),
      bankEntryDetail,
    });
  }
  return details;
}
