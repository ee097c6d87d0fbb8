import { netAmountOf, type Transaction } from '../domain/transaction';
import { normalizeKey, keyValue, type KeyField, type Normalization } from './rules';
import type { SettlementChild, SettlementParent } from './settlement-groups';

/**
 * N:1 ledger split (issue #15): the ledger books one processor payment as several rows (an order
 * paid once, booked per line item or per shipment) that share a `group_key` — a canonical column
 * such as `reference`, declared per processor in the rules file (`processors.<p>.group_key`). The
 * processor row carrying the same key in the same column is the parent, the ledger rows the
 * children, so `buildSettlementGroups` (`kind` `ledger_split`) tells `group_matched` or
 * `group_sum_mismatch` with the difference. Pure: no I/O, no clock. Amounts in minor units.
 */

/**
 * Options: `groupKey` (the canonical column read on both sides), `normalize` (applied to both
 * keys before comparing, default `['trim']`), `amountBasis` (what the ledger books, the
 * processor's `ledger_amount_basis`: `gross` compares the processor row's amount, `net` its net
 * — the reported net, else amount − fee, else the amount).
 */
export interface LedgerSplitOptions {
  readonly groupKey: KeyField;
  readonly normalize?: readonly Normalization[];
  readonly amountBasis?: 'gross' | 'net';
}

/**
 * The groups' inputs: `parents` (one per processor row whose key at least two ledger rows share,
 * in processor order; `key` = the normalized key, `amount` the row's amount on the basis, `dueDate`
 * null, `itemizable` true), `children` (those ledger rows, by key in order of first appearance, in ledger order within a key: `id` = the ledger
 * transaction id, `net` = `gross` = its amount, `category` `refund` when negative else `charge`),
 * and `ambiguousKeys`: keys two or more processor rows carry in one currency — no parent is
 * formed for them and their ledger rows are left out (N:1 is never guessed).
 */
export interface LedgerSplit {
  readonly parents: readonly SettlementParent[];
  readonly children: readonly SettlementChild[];
  readonly ambiguousKeys: readonly {
    readonly key: string;
    readonly currency: string;
    readonly processorIds: readonly string[];
  }[];
}

/**
 * Settlement parents and children of the ledger split of `processorRows` against `ledgerRows`
 * (see `LedgerSplit`). A key is a split when at least two ledger rows share it (one ledger row
 * per key is today's one-to-one matching, not a group). Ledger rows of a split key without a
 * processor row become a `parent_missing` group in `buildSettlementGroups`. Rows with an empty
 * key (after normalizing) take no part. One pass over each side, hashed by key.
 */
export function ledgerSplitGroups(
  processorRows: Iterable<Transaction>,
  ledgerRows: Iterable<Transaction>,
  options: LedgerSplitOptions,
): LedgerSplit {
  const normalize = options.normalize ?? ['trim'];
  const keyOf = (row: Transaction): string =>
    normalizeKey(keyValue(row, options.groupKey), normalize);
  const ledgerByKey = new Map<string, Transaction[]>();
  for (const row of ledgerRows) {
    const key = keyOf(row);
    if (key === '') continue;
    const list = ledgerByKey.get(key);
    if (list) list.push(row);
    else ledgerByKey.set(key, [row]);
  }
  const processorByKey = new Map<string, Transaction[]>();
  for (const row of processorRows) {
    const key = keyOf(row);
    if ((ledgerByKey.get(key)?.length ?? 0) < 2) continue;
    const slot = `${key}\u0000${row.currency}`;
    const list = processorByKey.get(slot);
    if (list) list.push(row);
    else processorByKey.set(slot, [row]);
  }
  const parents: SettlementParent[] = [];
  const ambiguous = new Set<string>();
  const ambiguousKeys: { key: string; currency: string; processorIds: string[] }[] = [];
  for (const [slot, rows] of processorByKey) {
    const [key, currency] = slot.split('\u0000') as [string, string];
    const row = rows[0] as Transaction;
    if (rows.length > 1) {
      ambiguous.add(slot);
      ambiguousKeys.push({ key, currency, processorIds: rows.map((r) => r.transactionId) });
      continue;
    }
    const amount =
      options.amountBasis === 'net' ? (netAmountOf(row) ?? row.amountMinor) : row.amountMinor;
    parents.push({
      kind: 'ledger_split',
      key,
      currency: row.currency,
      amount,
      dueDate: null,
      itemizable: true,
    });
  }
  const children: SettlementChild[] = [];
  for (const [key, rows] of ledgerByKey) {
    if (rows.length < 2) continue;
    for (const row of rows) {
      if (ambiguous.has(`${key}\u0000${row.currency}`)) continue;
      children.push({
        id: row.transactionId,
        parentKey: key,
        category: row.amountMinor < 0n ? 'refund' : 'charge',
        currency: row.currency,
        gross: row.amountMinor,
        net: row.amountMinor,
      });
    }
  }
  return { parents, children, ambiguousKeys };
}
