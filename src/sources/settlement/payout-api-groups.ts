import { normalizeCurrency, type CurrencyCode } from '../../domain/currency';
import { InputRejectedError } from '../../domain/errors';
import type {
  ChildCategory,
  SettlementChild,
  SettlementParent,
} from '../../engine/settlement-groups';

/**
 * Settlement parents and children from the processors' payout APIs (issue #15), as pure mappers
 * of the JSON objects the API adapters will fetch next round (no I/O here). Amounts in those APIs
 * are already integers in minor units.
 *
 * - Stripe (https://docs.stripe.com/api/payouts/object, /api/balance_transactions/object): parent
 *   = the payout `po_…` (`amount`, `currency`, `arrival_date` in Unix seconds, `automatic`,
 *   `method`); children = the balance transactions of `GET /v1/balance_transactions?payout=po_…`
 *   (`amount` = gross, `net`), the `payout`-type transaction itself excluded. Manual
 *   (`automatic: false`) and instant (`method: instant`) payouts cannot be itemized by Stripe:
 *   `itemizable: false` (→ `unattributable`).
 * - Square (https://developer.squareup.com/reference/square/payouts-api): parent = the payout
 *   (`amount_money`, `arrival_date` `YYYY-MM-DD`); children = its payout entries
 *   (`ListPayoutEntries`: `type`, `gross_amount_money`, `net_amount_money`), on net amounts.
 */

/** The fields of a Stripe payout object read here (others are ignored). */
export interface StripePayoutObject {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
  readonly arrival_date: number;
  readonly automatic?: boolean;
  readonly method?: string;
}

/** The fields of a Stripe balance transaction read here. */
export interface StripeBalanceTransactionObject {
  readonly id: string;
  readonly amount: number;
  readonly net: number;
  readonly currency: string;
  readonly type: string;
  readonly reporting_category?: string;
}

/** A Square `Money` (`amount` in minor units, `currency` ISO 4217). */
export interface SquareMoney {
  readonly amount: number;
  readonly currency: string;
}

/** The fields of a Square payout read here. */
export interface SquarePayoutObject {
  readonly id: string;
  readonly amount_money: SquareMoney;
  readonly arrival_date?: string;
}

/** The fields of a Square payout entry read here. */
export interface SquarePayoutEntryObject {
  readonly id: string;
  readonly payout_id: string;
  readonly type: string;
  readonly gross_amount_money?: SquareMoney;
  readonly net_amount_money: SquareMoney;
}

function reject(location: string, what: string, problem: string): InputRejectedError {
  return new InputRejectedError(`${location}: ${what}: ${problem}`, { location, field: what });
}

function minor(value: unknown, location: string, what: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw reject(location, what, `'${String(value)}' is not a whole number of minor units`);
  return BigInt(value);
}

function currencyOf(value: unknown, location: string, what: string): CurrencyCode {
  const code = typeof value === 'string' ? normalizeCurrency(value) : undefined;
  if (code === undefined)
    throw reject(location, what, `'${String(value)}' is not an ISO 4217 currency code`);
  return code;
}

/** Stripe `reporting_category` (else `type`) → waterfall bucket; `undefined`: not a child. */
function stripeCategory(transaction: StripeBalanceTransactionObject): ChildCategory | undefined {
  const key = (transaction.reporting_category ?? transaction.type).toLowerCase();
  if (key === 'payout' || key === 'payout_reversal' || transaction.type === 'payout')
    return undefined;
  if (key === 'charge' || key === 'payment') return 'charge';
  if (key.includes('refund')) return 'refund';
  if (key.startsWith('dispute')) return 'dispute';
  if (key === 'fee' || key.endsWith('_fee')) return 'fee';
  return 'adjustment';
}

/**
 * A Stripe payout as a settlement parent (`dueDate`: its `arrival_date` as a UTC calendar date).
 * `location` names the API response in messages. Throws `InputRejectedError` for a field that is
 * not a whole number or a currency.
 */
export function stripePayoutParent(payout: StripePayoutObject, location: string): SettlementParent {
  const amount = minor(payout.amount, location, `payout ${payout.id} amount`);
  const arrival = payout.arrival_date;
  if (!Number.isSafeInteger(arrival))
    throw reject(location, `payout ${payout.id} arrival_date`, 'is not a Unix time');
  return {
    kind: 'stripe_payout',
    key: payout.id,
    currency: currencyOf(payout.currency, location, `payout ${payout.id} currency`),
    amount,
    dueDate: new Date(arrival * 1000).toISOString().slice(0, 10),
    itemizable: payout.automatic !== false && payout.method !== 'instant',
  };
}

/**
 * The balance transactions of Stripe payout `payoutId` as its children (`gross` = `amount`, `net`
 * = `net`, signed as Stripe gives them), the `payout` transaction itself left out.
 */
export function stripePayoutChildren(
  payoutId: string,
  transactions: readonly StripeBalanceTransactionObject[],
  location: string,
): SettlementChild[] {
  const children: SettlementChild[] = [];
  for (const transaction of transactions) {
    const category = stripeCategory(transaction);
    if (category === undefined) continue;
    const what = `balance transaction ${transaction.id}`;
    children.push({
      id: transaction.id,
      parentKey: payoutId,
      category,
      currency: currencyOf(transaction.currency, location, `${what} currency`),
      gross: minor(transaction.amount, location, `${what} amount`),
      net: minor(transaction.net, location, `${what} net`),
    });
  }
  return children;
}

/** Square payout entry `type` → waterfall bucket. */
function squareCategory(type: string): ChildCategory {
  const key = type.toUpperCase();
  if (key === 'CHARGE') return 'charge';
  if (key.includes('REFUND')) return 'refund';
  if (key.startsWith('DISPUTE')) return 'dispute';
  if (key.includes('FEE')) return 'fee';
  return 'adjustment';
}

/** A Square payout as a settlement parent (`dueDate`: its `arrival_date`, else null). */
export function squarePayoutParent(payout: SquarePayoutObject, location: string): SettlementParent {
  const what = `payout ${payout.id} amount_money`;
  return {
    kind: 'square_payout',
    key: payout.id,
    currency: currencyOf(payout.amount_money.currency, location, `${what}.currency`),
    amount: minor(payout.amount_money.amount, location, `${what}.amount`),
    dueDate: payout.arrival_date ?? null,
    itemizable: true,
  };
}

/** Square payout entries as children of the payout they name (`payout_id`), on net amounts. */
export function squarePayoutChildren(
  entries: readonly SquarePayoutEntryObject[],
  location: string,
): SettlementChild[] {
  return entries.map((entry) => {
    const what = `payout entry ${entry.id}`;
    const net = minor(entry.net_amount_money.amount, location, `${what} net_amount_money.amount`);
    const gross = entry.gross_amount_money
      ? minor(entry.gross_amount_money.amount, location, `${what} gross_amount_money.amount`)
      : net;
    return {
      id: entry.id,
      parentKey: entry.payout_id,
      category: squareCategory(entry.type),
      currency: currencyOf(
        entry.net_amount_money.currency,
        location,
        `${what} net_amount_money.currency`,
      ),
      gross,
      net,
    };
  });
}
