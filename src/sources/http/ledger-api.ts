import { z } from 'zod';
import { ContractViolationError, type HttpClient } from './http-client';
import type { ApiAdapter, ApiPage, FetchWindow } from './api-source';
import { getPath, isJsonObject } from './json-path';
import type { RawRecord } from '../normalize-record';

const FieldMap = z.object({
  transaction_id: z.string().min(1),
  amount: z.string().min(1),
  currency: z.string().min(1),
  status: z.string().min(1),
  merchant_id: z.string().min(1),
  created_at: z.string().min(1),
  fee: z.string().min(1).optional(),
  description: z.string().min(1).optional(),
});

/**
 * How to read the internal ledger's REST API (validated; see README "Internal ledger API").
 * `query` values may use `{processor}`, `{start}` and `{end}` (RFC 3339, UTC); field values are
 * dot paths into each item; `amount_units` says whether amounts are major-unit decimal strings
 * or minor-unit integers.
 */
export const LedgerApiConfigSchema = z
  .object({
    path: z.string().startsWith('/'),
    query: z.record(z.string(), z.string()),
    items_path: z.string().min(1),
    pagination: z.discriminatedUnion('style', [
      z
        .object({
          style: z.literal('cursor'),
          cursor_param: z.string().min(1),
          next_cursor_path: z.string().min(1),
          limit_param: z.string().min(1),
          limit: z.number().int().min(1).max(10_000),
        })
        .strict(),
      z
        .object({
          style: z.literal('page'),
          page_param: z.string().min(1),
          page_size_param: z.string().min(1),
          page_size: z.number().int().min(1).max(10_000),
          total_pages_path: z.string().min(1),
        })
        .strict(),
    ]),
    fields: FieldMap.strict(),
    amount_units: z.enum(['major', 'minor']),
  })
  .strict();

/** The validated ledger API configuration. */
export type LedgerApiConfig = z.infer<typeof LedgerApiConfigSchema>;

/** The documented default: cursor pagination over `GET /v1/ledger/transactions`, canonical field names. */
export const DEFAULT_LEDGER_API_CONFIG: LedgerApiConfig = {
  path: '/v1/ledger/transactions',
  query: { processor: '{processor}', from: '{start}', to: '{end}' },
  items_path: 'data',
  pagination: {
    style: 'cursor',
    cursor_param: 'cursor',
    next_cursor_path: 'next_cursor',
    limit_param: 'limit',
    limit: 500,
  },
  fields: {
    transaction_id: 'transaction_id',
    amount: 'amount',
    currency: 'currency',
    status: 'status',
    merchant_id: 'merchant_id',
    created_at: 'created_at',
    fee: 'fee',
    description: 'description',
  },
  amount_units: 'major',
};

/** Settings of the ledger adapter. */
export interface LedgerApiSettings {
  readonly baseUrl: string;
  /** Optional Bearer token; never logged. */
  readonly token?: string;
  readonly processor: string;
  readonly config: LedgerApiConfig;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The internal ledger's entries for one processor and business day, over a JSON REST endpoint
 * whose pagination (cursor or page) and field mapping come from a `LedgerApiConfig`.
 */
export class LedgerApiAdapter implements ApiAdapter {
  readonly service = 'internal ledger';
  readonly location: string;

  constructor(private readonly settings: LedgerApiSettings) {
    this.location = `${settings.baseUrl.replace(/\/$/, '')}${settings.config.path}`;
  }

  private url(window: FetchWindow): URL {
    const url = new URL(this.location);
    const values: Record<string, string> = {
      processor: this.settings.processor,
      start: rfc3339(window.startMs),
      end: rfc3339(window.endMs),
    };
    for (const [name, template] of Object.entries(this.settings.config.query)) {
      url.searchParams.set(
        name,
        template.replace(/\{(processor|start|end)\}/g, (_, key: string) => values[key] ?? ''),
      );
    }
    return url;
  }

  async *fetchPages(
    window: FetchWindow,
    http: HttpClient,
    deadline: AbortSignal,
  ): AsyncGenerator<ApiPage> {
    const headers: Record<string, string> = this.settings.token
      ? { authorization: `Bearer ${this.settings.token}` }
      : {};
    const pagination = this.settings.config.pagination;
    const path = this.settings.config.path;
    if (pagination.style === 'cursor') {
      const seen = new Set<string>();
      let cursor: string | undefined;
      for (let index = 1; ; index++) {
        const url = this.url(window);
        url.searchParams.set(pagination.limit_param, String(pagination.limit));
        if (cursor) url.searchParams.set(pagination.cursor_param, cursor);
        const response = await http.send({ url, headers }, deadline);
        const page: ApiPage = { path: `${path} page ${index}`, body: response.json };
        this.itemsOf(page);
        yield page;
        const next = getPath(response.json, pagination.next_cursor_path);
        if (next === undefined || next === null || next === '') return;
        if (typeof next !== 'string' && typeof next !== 'number') {
          throw new ContractViolationError(
            `internal ledger API ${path}: ${pagination.next_cursor_path} is not a cursor`,
            {
              location: this.location,
            },
          );
        }
        const nextText = String(next);
        if (seen.has(nextText)) {
          throw new ContractViolationError(
            `internal ledger API ${path}: pagination repeats a cursor`,
            { location: this.location },
          );
        }
        seen.add(nextText);
        cursor = nextText;
      }
    }
    let totalPages: number | undefined;
    for (let index = 1; totalPages === undefined || index <= totalPages; index++) {
      const url = this.url(window);
      url.searchParams.set(pagination.page_param, String(index));
      url.searchParams.set(pagination.page_size_param, String(pagination.page_size));
      const response = await http.send({ url, headers }, deadline);
      const page: ApiPage = { path: `${path} page ${index}`, body: response.json };
      this.itemsOf(page);
      const reported = getPath(response.json, pagination.total_pages_path);
      if (typeof reported !== 'number' || !Number.isInteger(reported) || reported < 0) {
        throw new ContractViolationError(
          `internal ledger API ${page.path}: ${pagination.total_pages_path} is not a whole number`,
          {
            location: this.location,
          },
        );
      }
      if (totalPages !== undefined && reported < totalPages) {
        throw new ContractViolationError(
          `internal ledger API ${page.path}: ${pagination.total_pages_path} shrank from ${totalPages} to ${reported}`,
          { location: this.location },
        );
      }
      totalPages = reported;
      yield page;
    }
  }

  /** The first page of an empty window (now, now): the endpoint answers and accepts the token. */
  async probe(http: HttpClient, deadline: AbortSignal): Promise<void> {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const headers: Record<string, string> = this.settings.token
      ? { authorization: `Bearer ${this.settings.token}` }
      : {};
    await http.send({ url: this.url({ startMs: now - 1000, endMs: now }), headers }, deadline);
  }

  itemsOf(page: ApiPage): readonly unknown[] {
    const items = getPath(page.body, this.settings.config.items_path);
    if (!isJsonObject(page.body) || !Array.isArray(items)) {
      throw new ContractViolationError(
        `internal ledger API ${page.path}: no '${this.settings.config.items_path}' array`,
        {
          location: this.location,
        },
      );
    }
    return items;
  }

  toRecord(item: unknown): RawRecord {
    const f = this.settings.config.fields;
    const units = this.settings.config.amount_units;
    return {
      transactionId: getPath(item, f.transaction_id),
      amount: { units, value: getPath(item, f.amount) },
      fee: f.fee ? { units, value: getPath(item, f.fee) } : undefined,
      currency: getPath(item, f.currency),
      status: getPath(item, f.status),
      merchantId: getPath(item, f.merchant_id),
      createdAt: getPath(item, f.created_at),
      description: f.description ? getPath(item, f.description) : undefined,
      fields: {
        transactionId: f.transaction_id,
        amount: f.amount,
        currency: f.currency,
        status: f.status,
        merchantId: f.merchant_id,
        createdAt: f.created_at,
        fee: f.fee ?? 'fee',
      },
    };
  }
}
