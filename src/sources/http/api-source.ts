import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { TransactionTable } from '../../domain/transaction-table';
import { join } from 'node:path';
import { cutoffDayBounds } from '../../domain/cutoff';
import type { DataQualityIssue } from '../../domain/data-quality';
import { InputRejectedError } from '../../domain/errors';
import type { TransactionSide } from '../../domain/transaction';
import { normalizeRecord, type RawRecord } from '../normalize-record';
import { addSideChecks } from '../side-checks';
import {
  contextCutoff,
  type ReadContext,
  type SourceReadResult,
  type TransactionSource,
} from '../transaction-source';
import { HttpClient, type HttpSettings, type RetryObserver } from './http-client';

/** One fetched page: the request path (no query secrets) and the parsed JSON body. */
export interface ApiPage {
  readonly path: string;
  readonly body: unknown;
}

/**
 * The business day as an instant window `[startMs, endMs)` (epoch milliseconds, UTC): the run's
 * business date under the side's cut-off (`cutoffDayBounds`), e.g. 17:00 PT the day before to
 * 17:00 PT on the date for `RECON_CUTOFF_SQUARE="America/Los_Angeles 17:00"`.
 */
export interface FetchWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * One API's contract: how to page through a day, how to find the items in a page (validating
 * the page), and how an item maps to a `RawRecord`. Implementations: Stripe, PayPal, Square,
 * internal ledger.
 */
export interface ApiAdapter {
  /** `stripe`, `paypal`, `square`, `internal ledger`: used in messages. */
  readonly service: string;
  /** Base URL and path, for messages and the run record (no secrets). */
  readonly location: string;
  /** Yields the day's pages in order. Throws `ContractViolationError` for a broken pagination. */
  fetchPages(window: FetchWindow, http: HttpClient, deadline: AbortSignal): AsyncGenerator<ApiPage>;
  /** The items of a page. Throws `ContractViolationError` when the page breaks the contract. */
  itemsOf(page: ApiPage): readonly unknown[];
  /** Maps one item to a record for validation. */
  toRecord(item: unknown): RawRecord;
  /** Health probe: one cheap authenticated call; throws when the API or the credentials fail. */
  probe(http: HttpClient, deadline: AbortSignal): Promise<void>;
}

/** Logging and progress of a fetch. */
export interface FetchReporter extends RetryObserver {
  info(details: object, message: string): void;
}

/** Options of an API-backed source. */
export interface ApiSourceOptions {
  readonly http: HttpSettings;
  readonly reporter: FetchReporter;
  /** When set, every fetched page is saved under `{saveRawDir}/{date}/{label}/page-NNNN.json`. */
  readonly saveRawDir?: string;
  /** `{processor}/{side}`, the folder of this source's raw pages. */
  readonly label: string;
  /** Write a progress line to stderr (when it is a TTY). */
  readonly progress?: (line: string) => void;
}

function normalizeItems(
  adapter: ApiAdapter,
  side: TransactionSide,
  location: string,
  pages: AsyncIterable<ApiPage> | Iterable<ApiPage>,
  context: ReadContext,
  onPage: (page: ApiPage, index: number, rows: number) => Promise<void>,
): Promise<SourceReadResult> {
  return (async () => {
    const table = new TransactionTable();
    const issues: DataQualityIssue[] = [];
    let rowCount = 0;
    let invalidCount = 0;
    let pageIndex = 0;
    for await (const page of pages) {
      pageIndex++;
      const items = adapter.itemsOf(page);
      for (const item of items) {
        rowCount++;
        const result = normalizeRecord(
          adapter.toRecord(item),
          { side, location, position: rowCount },
          context.statusMap,
        );
        if (result.transaction) {
          table.append(result.transaction);
          for (const issue of result.issues) issues.push(issue); // warnings (net_mismatch)
          if (result.transaction.status === 'unknown') {
            issues.push({
              side,
              location,
              check: 'unknown_status',
              severity: 'warning',
              line: rowCount,
              field: 'status',
              reason: 'status is not in the status map; compared by its raw text',
              value: result.transaction.rawStatus,
              count: null,
            });
          }
        } else {
          invalidCount++;
          for (const issue of result.issues) issues.push(issue);
        }
      }
      await onPage(page, pageIndex, rowCount);
    }
    return addSideChecks({ side, location, table, issues, rowCount, invalidCount }, context);
  })();
}

/**
 * A `TransactionSource` that fetches one side of a business day from an HTTP API through an
 * `ApiAdapter`: bounded by one fetch deadline, each call retried by `HttpClient`, items
 * validated like CSV rows (an item's `line` is its 1-based position in the fetch).
 */
export class ApiSource implements TransactionSource {
  readonly location: string;

  constructor(
    readonly side: TransactionSide,
    private readonly adapter: ApiAdapter,
    private readonly options: ApiSourceOptions,
  ) {
    this.location = adapter.location;
  }

  async read(context: ReadContext): Promise<SourceReadResult> {
    const window = cutoffDayBounds(context.businessDate, contextCutoff(context));
    const http = new HttpClient(this.adapter.service, this.options.http, this.options.reporter);
    const deadline = AbortSignal.timeout(this.options.http.fetchDeadlineMs);
    const rawDir = this.options.saveRawDir
      ? join(this.options.saveRawDir, context.businessDate, this.options.label)
      : undefined;
    if (rawDir) await mkdir(rawDir, { recursive: true });
    const started = Date.now();
    const result = await normalizeItems(
      this.adapter,
      this.side,
      this.location,
      this.adapter.fetchPages(window, http, deadline),
      context,
      async (page, index, rows) => {
        if (rawDir) {
          const file = join(rawDir, `page-${String(index).padStart(4, '0')}.json`);
          await writeFile(
            file,
            `${JSON.stringify({ path: page.path, body: page.body }, null, 1)}\n`,
          );
        }
        this.options.progress?.(
          `${this.options.label}: ${index} page(s), ${rows} rows, ${Math.round((Date.now() - started) / 1000)} s`,
        );
        this.options.reporter.info(
          { service: this.adapter.service, side: this.side, page: index, rows },
          'page fetched',
        );
      },
    );
    this.options.progress?.(`${this.options.label}: ${result.rowCount} rows fetched\n`);
    return result;
  }
}

/**
 * Replays pages saved with `--save-raw` from `{rawDir}/{date}/{label}/page-*.json`, through the
 * same adapter, so a past fetch can be reconciled again without the API.
 * @throws InputRejectedError when the folder is missing or a page file is not valid JSON.
 */
export class RawReplaySource implements TransactionSource {
  readonly location: string;

  constructor(
    readonly side: TransactionSide,
    private readonly adapter: ApiAdapter,
    private readonly rawDir: string,
    private readonly label: string,
  ) {
    this.location = join(rawDir, '{date}', label);
  }

  async read(context: ReadContext): Promise<SourceReadResult> {
    const dir = join(this.rawDir, context.businessDate, this.label);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => /^page-\d+\.json$/.test(name)).sort();
    } catch (error) {
      throw new InputRejectedError(
        `saved API pages not found: expected ${dir}`,
        { location: dir },
        { cause: error },
      );
    }
    const pages: ApiPage[] = [];
    for (const name of names) {
      const file = join(dir, name);
      try {
        const saved = JSON.parse(await readFile(file, 'utf8')) as {
          path?: unknown;
          body?: unknown;
        };
        pages.push({ path: typeof saved.path === 'string' ? saved.path : file, body: saved.body });
      } catch (error) {
        throw new InputRejectedError(
          `${file}: not a saved API page (${(error as Error).message})`,
          { location: file },
        );
      }
    }
    return normalizeItems(this.adapter, this.side, dir, pages, context, () => Promise.resolve());
  }
}
