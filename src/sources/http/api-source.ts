import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { TransactionTable } from '../../domain/transaction-table';
import { join } from 'node:path';
import { cutoffDayBounds } from '../../domain/cutoff';
import type { DataQualityIssue } from '../../domain/data-quality';
import { InputRejectedError } from '../../domain/errors';
import type { TransactionSide } from '../../domain/transaction';
import { normalizeRecord, type RawRecord } from '../normalize-record';
import { addSideChecks } from '../side-checks';
import { STREAMED_TABLE_ROWS } from '../canonical-csv-source';
import {
  contextCutoff,
  type ReadContext,
  type SourceReadResult,
  type StreamedSide,
  type StreamingTransactionSource,
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

/** What the item loop of an API source has counted and found so far (see `normalizedTables`). */
interface ItemTotals {
  rowCount: number;
  invalidCount: number;
  /** The source's own findings in fetch order (no side checks). */
  readonly issues: DataQualityIssue[];
  /** Every page has been read. */
  done: boolean;
}

function newItemTotals(): ItemTotals {
  return { rowCount: 0, invalidCount: 0, issues: [], done: false };
}

/**
 * The item loop of every API source (one home for `read` and `readStreamed`): validates the items
 * of `pages` in order, yields the valid rows in tables of `tableRows` rows (the last fewer, not
 * yielded when empty) and fills `totals` with the counts and findings, without the side checks.
 * `onPage` runs after each page's items. Errors of `pages` and `adapter.itemsOf` propagate.
 */
async function* normalizedTables(
  adapter: ApiAdapter,
  side: TransactionSide,
  location: string,
  pages: AsyncIterable<ApiPage> | Iterable<ApiPage>,
  context: ReadContext,
  onPage: (page: ApiPage, index: number, rows: number) => Promise<void>,
  tableRows: number,
  totals: ItemTotals,
): AsyncGenerator<TransactionTable> {
  let table = new TransactionTable();
  const issues = totals.issues;
  let pageIndex = 0;
  for await (const page of pages) {
    pageIndex++;
    const items = adapter.itemsOf(page);
    for (const item of items) {
      totals.rowCount++;
      const result = normalizeRecord(
        adapter.toRecord(item),
        { side, location, position: totals.rowCount },
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
            line: totals.rowCount,
            field: 'status',
            reason: 'status is not in the status map; compared by its raw text',
            value: result.transaction.rawStatus,
            count: null,
          });
        }
        if (table.length >= tableRows) {
          yield table;
          table = new TransactionTable();
        }
      } else {
        totals.invalidCount++;
        for (const issue of result.issues) issues.push(issue);
      }
    }
    await onPage(page, pageIndex, totals.rowCount);
  }
  totals.done = true;
  if (table.length > 0) yield table;
}

/** The whole read of `tables` (one table at most, no limit): its rows and findings with the side checks. */
async function wholeRead(
  side: TransactionSide,
  location: string,
  tables: AsyncIterable<TransactionTable>,
  totals: ItemTotals,
  context: ReadContext,
): Promise<SourceReadResult> {
  let table: TransactionTable | undefined;
  for await (const read of tables) table = read;
  const { rowCount, invalidCount, issues } = totals;
  return addSideChecks(
    { side, location, table: table ?? new TransactionTable(), issues, rowCount, invalidCount },
    context,
  );
}

/** `tables` as a `StreamedSide` whose `end()` gives `totals` (side checks left to the caller). */
function streamedSide(
  location: string,
  tables: AsyncIterable<TransactionTable>,
  totals: ItemTotals,
): StreamedSide {
  return {
    tables,
    end: () => {
      if (!totals.done) throw new Error(`${location}: end() before its tables were read`);
      const { rowCount, invalidCount, issues } = totals;
      return { rowCount, invalidCount, issues, sideChecked: false };
    },
  };
}

/**
 * A `TransactionSource` that fetches one side of a business day from an HTTP API through an
 * `ApiAdapter`: bounded by one fetch deadline, each call retried by `HttpClient`, items
 * validated like CSV rows (an item's `line` is its 1-based position in the fetch). `readStreamed`
 * gives the same rows in tables of `STREAMED_TABLE_ROWS` as the pages arrive (no check needs the
 * whole fetch: the cursor-loop checks of the adapters keep only the cursors seen).
 */
export class ApiSource implements StreamingTransactionSource {
  readonly location: string;

  constructor(
    readonly side: TransactionSide,
    private readonly adapter: ApiAdapter,
    private readonly options: ApiSourceOptions,
  ) {
    this.location = adapter.location;
  }

  /** @throws as `ApiAdapter.fetchPages` / `itemsOf` and `HttpClient` (contract, deadline, HTTP). */
  read(context: ReadContext): Promise<SourceReadResult> {
    const totals = newItemTotals();
    return wholeRead(
      this.side,
      this.location,
      this.fetchTables(context, Infinity, totals),
      totals,
      context,
    );
  }

  /**
   * The rows, findings and errors of `read`, in tables of `tableRows` rows (default
   * `STREAMED_TABLE_ROWS`) as the pages are fetched (`StreamedSide`; side checks left to the caller). The fetch deadline starts with
   * the tables' iteration and includes the time the consumer takes between tables.
   */
  readStreamed(context: ReadContext, tableRows: number = STREAMED_TABLE_ROWS): StreamedSide {
    const totals = newItemTotals();
    return streamedSide(this.location, this.fetchTables(context, tableRows, totals), totals);
  }

  private async *fetchTables(
    context: ReadContext,
    tableRows: number,
    totals: ItemTotals,
  ): AsyncGenerator<TransactionTable> {
    const window = cutoffDayBounds(context.businessDate, contextCutoff(context));
    const http = new HttpClient(this.adapter.service, this.options.http, this.options.reporter);
    const deadline = AbortSignal.timeout(this.options.http.fetchDeadlineMs);
    const rawDir = this.options.saveRawDir
      ? join(this.options.saveRawDir, context.businessDate, this.options.label)
      : undefined;
    if (rawDir) await mkdir(rawDir, { recursive: true });
    const started = Date.now();
    yield* normalizedTables(
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
      tableRows,
      totals,
    );
    this.options.progress?.(`${this.options.label}: ${totals.rowCount} rows fetched\n`);
  }
}

/**
 * Replays pages saved with `--save-raw` from `{rawDir}/{date}/{label}/page-*.json`, through the
 * same adapter, so a past fetch can be reconciled again without the API. Read whole (also by the
 * postgres engine, `streamWholeRead`): its findings are located in the day's folder, which the
 * engine's streamed side checks (located at `location`, a template) would not give.
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
    const totals = newItemTotals();
    const tables = normalizedTables(
      this.adapter,
      this.side,
      dir,
      pages,
      context,
      () => Promise.resolve(),
      Infinity,
      totals,
    );
    return wholeRead(this.side, dir, tables, totals, context);
  }
}
