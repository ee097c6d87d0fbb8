import { ConfigError } from '../../domain/errors';
import type { SettlementSource } from '../../engine/settlement';
import { detectFormat, formatByName, peekFirstRecord } from '../formats/format-registry';
import type { HttpSettings, RetryObserver } from '../http/http-client';
import type { SquareApiSettings } from '../http/square-payments';
import type { StripeApiSettings } from '../http/stripe-balance-transactions';
import type { InputEncoding } from '../text-encoding';
import { AdyenFileSettlementSource } from './adyen-file-source';
import { SquarePayoutsSource } from './square-payouts-source';
import { StripePayoutsSource } from './stripe-payouts-source';

/** The processor-export format whose files carry Adyen settlement batches. */
const ADYEN_SETTLEMENT_FORMAT = 'adyen-settlement-detail';

/**
 * What `settlementSourceFor` needs to know about one run's processor side:
 * - `businessDate` `YYYY-MM-DD` (the API sources fetch that UTC day's payouts);
 * - `processorSource`: where the processor's transactions come from (`csv`, `api`, `raw` — the
 *   run's `--processor-source`);
 * - `processorFile`: the processor CSV's path (`csv` only), `format` its `--format` when given
 *   (else detected from its header), `encoding` its character encoding;
 * - `apis`: the API settings (`AppConfig.apis` fits: `http`, and `stripe` / `square` when their
 *   credentials are configured) and `observer`, which receives the retry lines.
 */
export interface SettlementSourceSettings {
  readonly businessDate: string;
  readonly processorSource: 'csv' | 'api' | 'raw';
  readonly processorFile?: string;
  readonly format?: string;
  readonly encoding?: InputEncoding;
  readonly apis: {
    readonly http: HttpSettings;
    readonly stripe?: StripeApiSettings;
    readonly square?: SquareApiSettings;
  };
  readonly observer: RetryObserver;
}

/**
 * The settlement source for `processor`'s configured input, or `null` when that input carries no
 * settlement groups:
 * - `api` + stripe → `StripePayoutsSource` (payouts + balance transactions);
 * - `api` + square → `SquarePayoutsSource` (payouts + payout entries);
 * - `csv` + adyen, the file an Adyen settlement details report (`--format
 *   adyen-settlement-detail`, or detected from its header) → `AdyenFileSettlementSource`;
 * - anything else (PayPal, canonical CSV files, other exports, replayed `raw` pages) → `null`.
 * Reads the processor file's first record when the format must be detected (`csv` + adyen only).
 * @throws ConfigError when an API source lacks its credentials (exit 2); InputRejectedError from
 *   the header peek for a missing or unreadable processor file (exit 4); UsageError for an
 *   unknown `format` (exit 2).
 */
export async function settlementSourceFor(
  processor: string,
  settings: SettlementSourceSettings,
): Promise<SettlementSource | null> {
  const options = { http: settings.apis.http, observer: settings.observer };
  if (settings.processorSource === 'api') {
    if (processor === 'stripe') {
      if (!settings.apis.stripe)
        throw new ConfigError('the stripe payouts source needs STRIPE_API_KEY');
      return new StripePayoutsSource(settings.apis.stripe, settings.businessDate, options);
    }
    if (processor === 'square') {
      if (!settings.apis.square)
        throw new ConfigError('the square payouts source needs SQUARE_ACCESS_TOKEN');
      return new SquarePayoutsSource(settings.apis.square, settings.businessDate, options);
    }
    return null;
  }
  if (settings.processorSource !== 'csv' || processor !== 'adyen') return null;
  const file = settings.processorFile;
  if (file === undefined) return null;
  let formatName: string;
  if (settings.format !== undefined) formatName = formatByName(settings.format).name;
  else {
    const first = await peekFirstRecord(file, 'processor input', settings.encoding);
    formatName = (first && detectFormat(first)?.name) ?? '';
  }
  return formatName === ADYEN_SETTLEMENT_FORMAT
    ? new AdyenFileSettlementSource(file, settings.encoding)
    : null;
}
