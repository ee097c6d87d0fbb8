import Big from 'big.js';
import { currencyExponent, type CurrencyCode } from '../domain/currency';
import type { Discrepancy } from '../domain/discrepancy';
import { convertToReporting, type FxRates } from '../domain/fx-rates';
import { absMinor, addToTotals, formatMinor, type CurrencyTotals } from '../domain/money';
import { asTable, type TransactionRows, type TransactionTable } from '../domain/transaction-table';
import type { MatchResult } from './match-transactions';

/** Risk of a run's discrepancies, from `RISK_THRESHOLDS`. */
export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';

/** LOW → COMPLIANT; MEDIUM, or LOW with invalid input rows → REVIEW_REQUIRED; HIGH → NON_COMPLIANT. */
export type ComplianceStatus = 'COMPLIANT' | 'REVIEW_REQUIRED' | 'NON_COMPLIANT';

/**
 * Thresholds of the risk level (documented in the README). A run is HIGH when its discrepancy
 * rate exceeds `highRate` or the discrepancy amount in any one currency reaches `highAmountMajor`
 * major units; MEDIUM above `mediumRate` or from `mediumAmountMajor`; LOW otherwise.
 * Without a reporting currency, amounts are compared per currency in that currency's major units,
 * never converted or summed. With one (`SummaryFx`), the amounts at stake of every currency that
 * has a rate on the business date are converted exactly and their total in the reporting
 * currency is compared; a currency without a rate is still compared in its own major units.
 */
export const RISK_THRESHOLDS = {
  highRate: '0.05',
  mediumRate: '0.01',
  highAmountMajor: '10000',
  mediumAmountMajor: '1000',
} as const;

/**
 * Financial summary of one reconciliation, all money per currency in minor units.
 * `discrepancyRate` = discrepancies / (matched pairs + discrepancies), a decimal string with six
 * decimals (`"0.166667"`). `discrepancyAmounts`: per currency, the absolute amount at stake
 * (missing rows, duplicates and ambiguous rows: their amount; amount and fee mismatches and
 * matches with variance: the difference; currency and status mismatches: the processor amount).
 */
export interface ReconciliationSummary {
  readonly discrepancyCount: number;
  /**
   * The processor side's fee block, one entry per currency in the order of its first row (see
   * `summarizeFees`); absent in summaries built before fees were summarized.
   */
  readonly fees?: readonly CurrencyFees[];
  readonly processorVolume: CurrencyTotals;
  readonly internalVolume: CurrencyTotals;
  readonly discrepancyAmounts: CurrencyTotals;
  readonly discrepancyRate: string;
  readonly riskLevel: RiskLevel;
  readonly complianceStatus: ComplianceStatus;
}

/**
 * Fee totals of one currency over the processor rows (README "Fees: gross, fee and net"), in minor
 * units: `grossMinor` = Σ gross, `feesMinor` = Σ fee (rows without a fee count 0), `netMinor` =
 * Σ net (the reported net, else gross − fee, else gross). `effectiveRateBps`: fees / gross in
 * basis points as a decimal string with two decimals, rounded half up (`"320.00"` = 3.20 %);
 * `null` when the gross is not positive (no rate to speak of: a day of refunds).
 */
export interface CurrencyFees {
  readonly currency: string;
  readonly grossMinor: bigint;
  readonly feesMinor: bigint;
  readonly netMinor: bigint;
  readonly effectiveRateBps: string | null;
}

/**
 * The fee block of a run: per currency of `processor` (in the order of its first row), the sums
 * of gross, fee and net and the effective fee rate (see `CurrencyFees`). Exact; pure.
 */
export function summarizeFees(processor: TransactionTable): CurrencyFees[] {
  const sums = processor.currencies.map(() => ({ gross: 0n, fees: 0n, net: 0n, first: -1 }));
  for (let row = 0; row < processor.length; row++) {
    const sum = sums[processor.currencyIndexAt(row)];
    if (!sum) continue;
    if (sum.first < 0) sum.first = row;
    const gross = processor.amountAt(row);
    const fee = processor.feeAt(row);
    sum.gross += gross;
    if (fee !== null) sum.fees += fee;
    sum.net += processor.netAt(row) ?? gross;
  }
  return processor.currencies
    .map((currency, index) => ({ currency, ...(sums[index] as (typeof sums)[number]) }))
    .filter((entry) => entry.first >= 0)
    .sort((a, b) => a.first - b.first)
    .map((entry) => currencyFees(entry.currency, entry.gross, entry.fees, entry.net));
}

/** One currency's fee sums (minor units) with its effective rate (see `CurrencyFees`). */
function currencyFees(currency: string, gross: bigint, fees: bigint, net: bigint): CurrencyFees {
  return {
    currency,
    grossMinor: gross,
    feesMinor: fees,
    netMinor: net,
    effectiveRateBps:
      gross <= 0n
        ? null
        : new Big(fees.toString()).times(10000).div(gross.toString()).toFixed(2, Big.roundHalfUp),
  };
}

/**
 * The per-side totals a summary needs, gathered table by table when a side is read in batches
 * (the postgres engine's streamed runs): volume per currency for both sides and the processor's
 * fee block, exactly what `summarizeReconciliation` computes from whole tables (same sums, same
 * order: currencies in the order of their first row).
 */
export class SideTotals {
  private readonly volumeSums = new Map<CurrencyCode, bigint>();
  private readonly feeSums = new Map<string, { gross: bigint; fees: bigint; net: bigint }>();

  /** Adds the rows of `table`, the next rows of the side in order. `withFees`: processor side. */
  add(table: TransactionTable, withFees: boolean): void {
    for (const [currency, minor] of table.volumeByCurrency())
      this.volumeSums.set(currency, (this.volumeSums.get(currency) ?? 0n) + minor);
    if (!withFees) return;
    for (const entry of summarizeFees(table)) {
      const sum = this.feeSums.get(entry.currency) ?? { gross: 0n, fees: 0n, net: 0n };
      sum.gross += entry.grossMinor;
      sum.fees += entry.feesMinor;
      sum.net += entry.netMinor;
      this.feeSums.set(entry.currency, sum);
    }
  }

  /** Σ amount per currency, minor units, in the order of each currency's first row. */
  volume(): CurrencyTotals {
    return new Map(this.volumeSums);
  }

  /** The fee block (`summarizeFees` of the whole side). */
  fees(): CurrencyFees[] {
    return [...this.feeSums].map(([currency, sum]) =>
      currencyFees(currency, sum.gross, sum.fees, sum.net),
    );
  }
}

/** One currency of the fee block as JSON: decimal strings in major units (`run --json`, JSON report). */
export interface CurrencyFeesJson {
  readonly gross: string;
  readonly fees: string;
  readonly net: string;
  readonly effective_rate_bps: string | null;
}

/**
 * The fee block as JSON, keyed by currency in block order:
 * `{"USD": {"gross": "100.00", "fees": "3.20", "net": "96.80", "effective_rate_bps": "320.00"}}`.
 */
export function feeBlockJson(fees: readonly CurrencyFees[]): Record<string, CurrencyFeesJson> {
  const block: Record<string, CurrencyFeesJson> = {};
  for (const entry of fees) {
    const exponent = currencyExponent(entry.currency);
    block[entry.currency] = {
      gross: formatMinor(entry.grossMinor, exponent),
      fees: formatMinor(entry.feesMinor, exponent),
      net: formatMinor(entry.netMinor, exponent),
      effective_rate_bps: entry.effectiveRateBps,
    };
  }
  return block;
}

/** The reporting currency's rates and the business date whose rates apply (README "Reporting currency"). */
export interface SummaryFx {
  readonly rates: FxRates;
  /** YYYY-MM-DD: the latest `as_of` on or before it applies. */
  readonly businessDate: string;
}

/** The absolute amount at stake in one discrepancy, in minor units of `currency`. */
export function discrepancyImpact(d: Discrepancy): { currency: string; minor: bigint } {
  const row = d.processor ?? d.internal;
  if (!row) throw new Error(`discrepancy ${d.transactionId} has no row`);
  const minor =
    (d.kind === 'amount_mismatch' ||
      d.kind === 'fee_mismatch' ||
      d.kind === 'matched_with_variance') &&
    d.differenceMinor !== null
      ? d.differenceMinor
      : row.amountMinor;
  return { currency: row.currency, minor: absMinor(minor) };
}

function volume(rows: TransactionRows): CurrencyTotals {
  return asTable(rows).volumeByCurrency();
}

/**
 * Computes the run's summary from the match result and both sides' rows (tables or arrays). `invalidRows` is the
 * number of rejected input rows (both sides); it can raise LOW to REVIEW_REQUIRED. `fx`, when
 * given, converts the amounts at stake before they are compared with `RISK_THRESHOLDS`. Pure.
 */
export function summarizeReconciliation(
  result: MatchResult,
  processor: TransactionRows,
  internal: TransactionRows,
  invalidRows: number,
  fx?: SummaryFx,
): ReconciliationSummary {
  return summarizeWithTotals(
    result,
    {
      processorVolume: volume(processor),
      internalVolume: volume(internal),
      fees: summarizeFees(asTable(processor)),
    },
    invalidRows,
    fx,
  );
}

/**
 * `summarizeReconciliation` from the sides' totals instead of their rows (a streamed run holds no
 * side whole: see `SideTotals`). Same result for the same totals. Pure.
 */
export function summarizeWithTotals(
  result: MatchResult,
  totals: {
    readonly processorVolume: CurrencyTotals;
    readonly internalVolume: CurrencyTotals;
    readonly fees: readonly CurrencyFees[];
  },
  invalidRows: number,
  fx?: SummaryFx,
): ReconciliationSummary {
  const discrepancyAmounts: CurrencyTotals = new Map();
  for (const d of result.discrepancies) {
    const impact = discrepancyImpact(d);
    addToTotals(discrepancyAmounts, impact.currency, impact.minor);
  }
  const discrepancyCount = result.discrepancies.length;
  const outcomes = result.counts.matched + discrepancyCount;
  const rate = outcomes === 0 ? new Big(0) : new Big(discrepancyCount).div(outcomes);

  let maxAmountMajor = new Big(0);
  let convertedTotal = new Big(0);
  for (const [currency, minor] of discrepancyAmounts) {
    const major = new Big(minor.toString()).div(new Big(10).pow(currencyExponent(currency)));
    const converted = fx ? convertToReporting(fx.rates, currency, major, fx.businessDate) : null;
    if (converted) convertedTotal = convertedTotal.plus(converted);
    else if (major.gt(maxAmountMajor)) maxAmountMajor = major;
  }
  if (convertedTotal.gt(maxAmountMajor)) maxAmountMajor = convertedTotal;
  const riskLevel: RiskLevel =
    rate.gt(RISK_THRESHOLDS.highRate) || maxAmountMajor.gte(RISK_THRESHOLDS.highAmountMajor)
      ? 'HIGH'
      : rate.gt(RISK_THRESHOLDS.mediumRate) || maxAmountMajor.gte(RISK_THRESHOLDS.mediumAmountMajor)
        ? 'MEDIUM'
        : 'LOW';
  const complianceStatus: ComplianceStatus =
    riskLevel === 'HIGH'
      ? 'NON_COMPLIANT'
      : riskLevel === 'MEDIUM' || invalidRows > 0
        ? 'REVIEW_REQUIRED'
        : 'COMPLIANT';

  return {
    discrepancyCount,
    processorVolume: totals.processorVolume,
    internalVolume: totals.internalVolume,
    fees: [...totals.fees],
    discrepancyAmounts,
    discrepancyRate: rate.toFixed(6, Big.roundHalfUp),
    riskLevel,
    complianceStatus,
  };
}
