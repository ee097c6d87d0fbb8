import { join } from 'node:path';
import type { ApiConfig } from '../config/load-config';
import type { BusinessDate } from '../domain/business-date';
import { ConfigError, UsageError } from '../domain/errors';
import type { ProcessorName } from '../domain/status';
import type { TransactionSide } from '../domain/transaction';
import {
  isIdentityKey,
  withJoinKey,
  type JoinKeyRule,
  type KeyField,
  type MatchRules,
  type Normalization,
} from '../engine/rules';
import { CanonicalCsvSource } from '../sources/canonical-csv-source';
import { DetectingCsvSource, formatByName } from '../sources/formats/format-registry';
import { DEFAULT_FORMAT_SETTINGS, type FormatSettings } from '../sources/formats/processor-format';
import {
  ApiSource,
  RawReplaySource,
  type ApiAdapter,
  type FetchReporter,
} from '../sources/http/api-source';
import { DEFAULT_HTTP_SETTINGS } from '../sources/http/http-client';
import { DEFAULT_LEDGER_API_CONFIG, LedgerApiAdapter } from '../sources/http/ledger-api';
import { PaypalTransactionsAdapter } from '../sources/http/paypal-transactions';
import { SquarePaymentsAdapter } from '../sources/http/square-payments';
import { StripeBalanceTransactionsAdapter } from '../sources/http/stripe-balance-transactions';
import type {
  ReadContext,
  SourceReadResult,
  TransactionSource,
} from '../sources/transaction-source';
import type { InputEncoding } from '../sources/text-encoding';

/** Where a side's transactions come from: CSV files, the HTTP API, or API pages saved earlier. */
export type SourceKind = 'csv' | 'api' | 'raw';

/** The source choices of a run request. */
export interface SourceChoice {
  readonly processorSource: SourceKind;
  readonly internalSource: SourceKind;
  /** `{dataDir}/{date}/{processor}.csv` and `{dataDir}/{date}/internal_{processor}.csv`. */
  readonly dataDir: string;
  readonly processorFile?: string;
  readonly internalFile?: string;
  /** `--save-raw DIR`: keep every fetched API page. */
  readonly saveRawDir?: string;
  /** `--raw-dir DIR`: where `raw` sources read saved pages from. */
  readonly rawDir?: string;
  /**
   * `--format NAME`: the processor file's format (`canonical`, `stripe-balance-report`, …);
   * detected from its header when absent.
   */
  readonly format?: string;
  /** Settings of the processor export formats (from the environment). */
  readonly formatSettings?: FormatSettings;
  /** Character encoding of each side's CSV files (`--encoding`, RECON_ENCODING); default utf-8. */
  readonly processorEncoding?: InputEncoding;
  readonly internalEncoding?: InputEncoding;
  /**
   * The rules file's id-join keys per processor (`processors.<p>.key`, README "Matching rules"):
   * each side's rows are re-keyed after reading (`withJoinKey`). Absent: `transaction_id`.
   */
  readonly joinKeys?: Readonly<Partial<Record<ProcessorName, JoinKeyRule>>>;
}

/** The rules file's id-join keys of every processor that sets one (for `SourceChoice.joinKeys`). */
export function joinKeysOf(rules: MatchRules): Partial<Record<ProcessorName, JoinKeyRule>> {
  const keys: Partial<Record<ProcessorName, JoinKeyRule>> = {};
  for (const [processor, own] of Object.entries(rules.processors))
    if (own.key) keys[processor as ProcessorName] = own.key;
  return keys;
}

/**
 * The source choices of a request with the id-join keys of its rules (`joinKeysOf`): what the
 * job and `recon explain` build their `SourceFactory` from, so that a rules file's `key` applies
 * wherever its rules do. `rules` absent: no rules file.
 */
export function sourceChoiceOf(request: {
  readonly sources: SourceChoice;
  readonly rules?: MatchRules;
}): SourceChoice {
  return request.rules
    ? { ...request.sources, joinKeys: joinKeysOf(request.rules) }
    : request.sources;
}

/**
 * A source whose rows are re-keyed for the id join after reading (`withJoinKey`): the join id of
 * each row becomes its normalized `field`. Everything else (location, findings, counts) is the
 * wrapped source's.
 */
class JoinKeySource implements TransactionSource {
  constructor(
    private readonly inner: TransactionSource,
    private readonly field: KeyField,
    private readonly normalize: readonly Normalization[],
  ) {}

  get side(): TransactionSide {
    return this.inner.side;
  }

  get location(): string {
    return this.inner.location;
  }

  async read(context: ReadContext): Promise<SourceReadResult> {
    const read = await this.inner.read(context);
    return { ...read, table: withJoinKey(read.table, this.field, this.normalize) };
  }
}

function keyed(
  source: TransactionSource,
  key: JoinKeyRule | undefined,
  field: 'processorKey' | 'ledgerKey',
): TransactionSource {
  if (!key || isIdentityKey(key[field], key.normalize)) return source;
  return new JoinKeySource(source, key[field], key.normalize);
}

/** The CSV paths of one run. */
export function inputPaths(
  choice: SourceChoice,
  date: BusinessDate,
  processor: ProcessorName,
): { processor: string; internal: string } {
  return {
    processor: choice.processorFile ?? join(choice.dataDir, date, `${processor}.csv`),
    internal: choice.internalFile ?? join(choice.dataDir, date, `internal_${processor}.csv`),
  };
}

/**
 * Builds the two sides' sources of runs, keeping one API adapter per processor and side for the
 * whole invocation (so PayPal's OAuth token is reused across dates until it expires).
 */
export class SourceFactory {
  private readonly adapters = new Map<string, ApiAdapter>();

  constructor(
    private readonly choice: SourceChoice,
    private readonly apis: ApiConfig,
    private readonly reporter: FetchReporter,
    private readonly progress?: (line: string) => void,
  ) {
    // An unknown --format is a usage mistake: fail before any run starts.
    if (choice.format !== undefined) formatByName(choice.format);
  }

  /**
   * The processor-side and ledger-side sources of one run. `reporter` receives their retry and
   * page lines: the run's own logger, so that those carry its `run_id` (default: the factory's).
   * @throws ConfigError when an API source lacks its credentials; UsageError for an API that
   *   does not exist (Adyen) or a `raw` source without `--raw-dir`.
   */
  sourcesFor(
    date: BusinessDate,
    processor: ProcessorName,
    reporter: FetchReporter = this.reporter,
  ): [TransactionSource, TransactionSource] {
    const paths = inputPaths(this.choice, date, processor);
    const key = this.choice.joinKeys?.[processor];
    return [
      keyed(
        this.build('processor', this.choice.processorSource, processor, paths.processor, reporter),
        key,
        'processorKey',
      ),
      keyed(
        this.build('internal', this.choice.internalSource, processor, paths.internal, reporter),
        key,
        'ledgerKey',
      ),
    ];
  }

  private build(
    side: TransactionSide,
    kind: SourceKind,
    processor: ProcessorName,
    csvPath: string,
    reporter: FetchReporter,
  ): TransactionSource {
    if (kind === 'csv') {
      // The ledger file is always canonical; the processor file may be a processor's own export.
      if (side === 'internal')
        return new CanonicalCsvSource(side, csvPath, this.choice.internalEncoding);
      return new DetectingCsvSource(
        side,
        csvPath,
        processor,
        this.choice.formatSettings ?? DEFAULT_FORMAT_SETTINGS,
        this.choice.format,
        this.choice.processorEncoding,
      );
    }
    const adapter = this.adapter(side, processor, kind === 'api');
    const label = `${processor}/${side}`;
    if (kind === 'raw') {
      if (!this.choice.rawDir)
        throw new UsageError(
          'a raw source needs --raw-dir (the --save-raw folder of an earlier run)',
        );
      return new RawReplaySource(side, adapter, this.choice.rawDir, label);
    }
    return new ApiSource(side, adapter, {
      http: this.apis.http,
      reporter,
      saveRawDir: this.choice.saveRawDir,
      label,
      progress: this.progress,
    });
  }

  /** `online`: the adapter will call the API, so its credentials are required. */
  private adapter(side: TransactionSide, processor: ProcessorName, online: boolean): ApiAdapter {
    const key = `${processor}/${side}/${online ? 'api' : 'raw'}`;
    const cached = this.adapters.get(key);
    if (cached) return cached;
    const apis: ApiConfig = online ? this.apis : { ...OFFLINE_APIS, ...definedOnly(this.apis) };
    const adapter =
      side === 'internal' ? ledgerAdapter(apis, processor) : processorAdapter(apis, processor);
    this.adapters.set(key, adapter);
    return adapter;
  }
}

/** Placeholder settings for replaying saved pages: no request is made, so no secret is needed. */
const OFFLINE_APIS: ApiConfig = {
  http: DEFAULT_HTTP_SETTINGS,
  stripe: {
    baseUrl: 'https://api.stripe.com',
    apiKey: '',
    matchKey: 'source',
    accountLabel: 'stripe',
  },
  paypal: { baseUrl: 'https://api-m.paypal.com', clientId: '', clientSecret: '', pageSize: 500 },
  square: { baseUrl: 'https://connect.squareup.com', accessToken: '', apiVersion: '' },
  ledger: { baseUrl: 'https://ledger.invalid', config: DEFAULT_LEDGER_API_CONFIG },
};

function definedOnly(apis: ApiConfig): Partial<ApiConfig> {
  return Object.fromEntries(Object.entries(apis).filter(([, value]) => value !== undefined));
}

function ledgerAdapter(apis: ApiConfig, processor: ProcessorName): ApiAdapter {
  const ledger = apis.ledger;
  if (!ledger) throw new ConfigError('the internal ledger API source needs INTERNAL_API_BASE_URL');
  return new LedgerApiAdapter({
    baseUrl: ledger.baseUrl,
    token: ledger.token,
    processor,
    config: ledger.config,
  });
}

function processorAdapter(apis: ApiConfig, processor: ProcessorName): ApiAdapter {
  switch (processor) {
    case 'stripe':
      if (!apis.stripe) throw new ConfigError('the stripe API source needs STRIPE_API_KEY');
      return new StripeBalanceTransactionsAdapter(apis.stripe);
    case 'paypal':
      if (!apis.paypal) {
        throw new ConfigError(
          'the paypal API source needs PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET',
        );
      }
      return new PaypalTransactionsAdapter(apis.paypal);
    case 'square':
      if (!apis.square) throw new ConfigError('the square API source needs SQUARE_ACCESS_TOKEN');
      return new SquarePaymentsAdapter(apis.square);
    case 'adyen':
      throw new UsageError(
        'adyen has no API source; use its settlement detail report as a CSV file',
      );
  }
}
