/**
 * Fee settings of one processor, as declared in the rules file (`recon.config.yaml`, issue #14
 * "Fees"). The rules-file loader (`engine/rules.ts`) produces them; the fee checks
 * (`engine/fees.ts`) consume them. Amounts are integer minor units of the row's currency.
 */
export interface FeeRules {
  /**
   * What the ledger books for a processor row (YAML `ledger_amount_basis`): the processor's `gross`
   * amount (default, today's behaviour) or its `net` amount (gross − fee).
   */
  readonly ledgerAmountBasis: 'gross' | 'net';
  /** Expected fee schedule (YAML `fee_schedule`), first matching entry wins; empty = no fee check. */
  readonly schedule: readonly FeeScheduleEntry[];
  /**
   * Largest accepted |actual fee − expected fee| in minor units before a `fee_variance`
   * (YAML `fee_tolerance_minor`, default 0).
   */
  readonly toleranceMinor: bigint;
}

/**
 * One entry of an expected fee schedule: `fee = round_half_up(gross × percentageBps / 10000) + flatMinor`.
 * `currency` / `paymentMethod` `null` match any row (YAML `currency`, `payment_method`,
 * `percentage_bps`, `flat_minor`).
 */
export interface FeeScheduleEntry {
  /** ISO 4217 code, upper case, or `null` for any currency. */
  readonly currency: string | null;
  /** The source's payment method (e.g. `card`), or `null` for any. */
  readonly paymentMethod: string | null;
  /** Percentage part in basis points (integer, ≥ 0): 290 = 2.90 %. */
  readonly percentageBps: number;
  /** Flat part in minor units (≥ 0). */
  readonly flatMinor: bigint;
}

/** The fee settings without a rules file: ledger books gross, no schedule, no tolerance. */
export const DEFAULT_FEE_RULES: FeeRules = {
  ledgerAmountBasis: 'gross',
  schedule: [],
  toleranceMinor: 0n,
};
