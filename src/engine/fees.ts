import { currencyExponent } from '../domain/currency';
import { clipValue, type DataQualityIssue } from '../domain/data-quality';
import type { Discrepancy, DiscrepancyKind } from '../domain/discrepancy';
import { formatMinor } from '../domain/money';
import type { TransactionTable } from '../domain/transaction-table';
import type { FeeRules, FeeScheduleEntry } from './fee-rules';

/**
 * The fee checks of issue #14 "Fees" (README "Fees: gross, fee and net"), pure and shared by both
 * matching engines:
 * - `basisMismatchSuspected` / `annotateBasisMismatch`: an `amount_mismatch` whose difference
 *   equals the processor fee is annotated `basis_mismatch_suspected`;
 * - `expectedFee` / `findFeeVariances`: the processor's actual fee against an expected fee
 *   schedule (`FeeRules.schedule`), outside `FeeRules.toleranceMinor` → `fee_variance`.
 * The amount basis itself (`FeeRules.ledgerAmountBasis`) and `fee_mismatch` are applied by the
 * classification (`matchTables`, and the SQL engine for the default basis).
 * Every amount is integer minor units of the row's currency.
 */

/**
 * Whether a discrepancy of `kind` with `differenceMinor` (processor minus ledger amount) looks like
 * a gross/net basis mix-up: an `amount_mismatch` whose |difference| equals the processor's fee
 * `processorFeeMinor` (a fee of 0 or none never does).
 */
export function basisMismatchSuspected(
  kind: DiscrepancyKind,
  differenceMinor: bigint | null,
  processorFeeMinor: bigint | null,
): boolean {
  if (kind !== 'amount_mismatch' || differenceMinor === null) return false;
  if (processorFeeMinor === null || processorFeeMinor === 0n) return false;
  return differenceMinor === processorFeeMinor || differenceMinor === -processorFeeMinor;
}

/** `d` with the `basis_mismatch_suspected` annotation when `basisMismatchSuspected` says so. */
export function annotateBasisMismatch(d: Discrepancy): Discrepancy {
  return basisMismatchSuspected(d.kind, d.differenceMinor, d.processor?.feeMinor ?? null)
    ? { ...d, annotation: 'basis_mismatch_suspected' }
    : d;
}

/** Number of discrepancies annotated `basis_mismatch_suspected` (the `run --json` count). */
export function countBasisMismatchSuspected(discrepancies: readonly Discrepancy[]): number {
  let n = 0;
  for (const d of discrepancies) if (d.annotation === 'basis_mismatch_suspected') n++;
  return n;
}

/**
 * The expected fee of a row of `grossMinor` under `entry`:
 * `round_half_up(|gross| × percentageBps / 10000) + flatMinor` (exact integer arithmetic; half a
 * minor unit rounds away from zero). Test case 7 of issue #14: 290 bps + 30 on 99 → 2.871 → 3,
 * + 30 = 33.
 */
export function expectedFee(entry: FeeScheduleEntry, grossMinor: bigint): bigint {
  const gross = grossMinor < 0n ? -grossMinor : grossMinor;
  const scaled = gross * BigInt(entry.percentageBps);
  return (scaled + 5000n) / 10000n + entry.flatMinor;
}

/**
 * The first entry of `schedule` that applies to a row of `currency` and `paymentMethod`
 * (compared trimmed and case-insensitively: Square's `CARD` is `card`; `null`: the source has no
 * payment method, then only entries without one apply), or `undefined`.
 */
export function findScheduleEntry(
  schedule: readonly FeeScheduleEntry[],
  currency: string,
  paymentMethod: string | null,
): FeeScheduleEntry | undefined {
  const method = paymentMethod?.trim().toLowerCase() ?? null;
  return schedule.find(
    (entry) =>
      (entry.currency === null || entry.currency === currency) &&
      (entry.paymentMethod === null || entry.paymentMethod.trim().toLowerCase() === method),
  );
}

/** `overcharge`: the processor charged more than the schedule; `undercharge`: less. */
export type FeeVarianceDirection = 'overcharge' | 'undercharge';

/**
 * One processor row whose actual fee is outside the tolerance of its expected fee.
 * `differenceMinor` = actual − expected (positive for an overcharge); `line` is the row's source line.
 */
export interface FeeVariance {
  readonly transactionId: string;
  readonly line: number;
  readonly currency: string;
  readonly grossMinor: bigint;
  readonly expectedFeeMinor: bigint;
  readonly actualFeeMinor: bigint;
  readonly differenceMinor: bigint;
  readonly direction: FeeVarianceDirection;
  readonly entry: FeeScheduleEntry;
}

/**
 * Checks every processor row that carries a fee and has a positive gross (charges; refunds and
 * chargebacks are not priced by a schedule) against the first matching schedule entry of
 * `rules` (by currency and the row's payment method, `findScheduleEntry`). Returns the rows whose |actual − expected| exceeds
 * `rules.toleranceMinor`, in table order. Empty schedule → empty result. Pure.
 */
export function findFeeVariances(processor: TransactionTable, rules: FeeRules): FeeVariance[] {
  const variances: FeeVariance[] = [];
  if (rules.schedule.length === 0) return variances;
  // The entry of each (currency, payment method) pair, looked up once.
  const entries = new Map<string, FeeScheduleEntry | undefined>();
  for (let row = 0; row < processor.length; row++) {
    const currency = processor.currencies[processor.currencyIndexAt(row)] as string;
    const method = processor.paymentMethodAt(row);
    const key = method === null ? currency : `${currency}\u0000${method}`;
    let entry = entries.get(key);
    if (entry === undefined && !entries.has(key)) {
      entry = findScheduleEntry(rules.schedule, currency, method);
      entries.set(key, entry);
    }
    if (!entry) continue;
    const fee = processor.feeAt(row);
    const gross = processor.amountAt(row);
    if (fee === null || gross <= 0n) continue;
    const expected = expectedFee(entry, gross);
    const difference = fee - expected;
    const magnitude = difference < 0n ? -difference : difference;
    if (magnitude <= rules.toleranceMinor) continue;
    variances.push({
      transactionId: processor.idAt(row),
      line: processor.lineAt(row),
      currency,
      grossMinor: gross,
      expectedFeeMinor: expected,
      actualFeeMinor: fee,
      differenceMinor: difference,
      direction: difference > 0n ? 'overcharge' : 'undercharge',
      entry,
    });
  }
  return variances;
}

/**
 * A `FeeVariance` as the data-quality finding `fee_variance` (warning) of the processor source
 * `location`: `field` `fee`, `value` the difference with its sign in major units (`+0.02`), reason
 * e.g. `fee_variance overcharge +0.02 USD on ch_1: fee 0.35, expected 0.33 (290 bps + 0.30 of gross 0.99)`.
 */
export function feeVarianceIssue(location: string, v: FeeVariance): DataQualityIssue {
  const exponent = currencyExponent(v.currency);
  const money = (minor: bigint): string => formatMinor(minor, exponent);
  const signed = `${v.differenceMinor > 0n ? '+' : ''}${money(v.differenceMinor)}`;
  return {
    side: 'processor',
    location,
    check: 'fee_variance',
    severity: 'warning',
    line: v.line,
    field: 'fee',
    reason:
      `fee_variance ${v.direction} ${signed} ${v.currency} on ${clipValue(v.transactionId, 80)}: fee ` +
      `${money(v.actualFeeMinor)}, expected ${money(v.expectedFeeMinor)} ` +
      `(${v.entry.percentageBps} bps + ${money(v.entry.flatMinor)} of gross ${money(v.grossMinor)})`,
    value: signed,
    count: null,
  };
}
