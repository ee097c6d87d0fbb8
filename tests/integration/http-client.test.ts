import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, DependencyUnavailableError } from '../../src/domain/errors';
import { HttpClient, parseRetryAfter, type HttpSettings } from '../../src/sources/http/http-client';

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

const FAST: HttpSettings = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 1000,
  maxAttempts: 4,
  retryBaseMs: 10,
  retryMaxMs: 50,
  retryAfterCapMs: 300,
  fetchDeadlineMs: 10_000,
};

let server: Server;
let baseUrl = '';
let handler: Handler = (_req, res) => res.end('{}');
let attempts = 0;
const pending = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    attempts++;
    pending.add(res);
    res.on('close', () => pending.delete(res));
    handler(req, res, attempts);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of pending) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  attempts = 0;
});

const warnings: object[] = [];
const observer = { warn: (details: object) => warnings.push(details) };
const sleeps: number[] = [];
const recordingSleep = (ms: number) => {
  sleeps.push(ms);
  return new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 20)));
};

function client(settings: Partial<HttpSettings> = {}): HttpClient {
  sleeps.length = 0;
  return new HttpClient('stripe', { ...FAST, ...settings }, observer, recordingSleep, () => 0.5);
}

function json(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

describe('HttpClient', () => {
  it('retries a 500 and returns the success that follows', async () => {
    handler = (_req, res, n) =>
      n === 1 ? json(res, 500, { error: 'boom' }) : json(res, 200, { ok: true });
    const response = await client().send(
      { url: new URL(`${baseUrl}/v1/x`) },
      AbortSignal.timeout(5000),
    );
    expect(response.json).toEqual({ ok: true });
    expect(attempts).toBe(2);
    expect(sleeps).toEqual([5]); // 0.5 × min(50, 10 × 2^0)
  });

  it('backs off exponentially with jitter on 429 without Retry-After', async () => {
    handler = (_req, res, n) =>
      n < 4 ? json(res, 429, { error: { code: 'rate_limit' } }) : json(res, 200, {});
    await client().send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(5000));
    expect(sleeps).toEqual([5, 10, 20]);
  });

  it('honours Retry-After in seconds and as an HTTP date, capped', async () => {
    handler = (_req, res, n) =>
      n === 1 ? json(res, 429, {}, { 'retry-after': '0' }) : json(res, 200, {});
    await client().send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(5000));
    expect(sleeps).toEqual([0]);
    handler = (_req, res, n) =>
      n === 1 ? json(res, 429, {}, { 'retry-after': '3600' }) : json(res, 200, {});
    attempts = 0;
    await client().send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(5000));
    expect(sleeps).toEqual([300]);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('gives up after the last attempt naming the service, the path and the status, not the query', async () => {
    handler = (_req, res) => json(res, 503, { message: 'maintenance' });
    const error = await client()
      .send(
        { url: new URL(`${baseUrl}/v1/balance_transactions?api_key=sk_live_secret`) },
        AbortSignal.timeout(5000),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe(
      'stripe API /v1/balance_transactions: HTTP 503: {"message":"maintenance"} (gave up after 4 attempts)',
    );
    expect(attempts).toBe(4);
  });

  it('does not retry a 401 and reports it as rejected credentials', async () => {
    handler = (_req, res) =>
      json(res, 401, { error: { message: 'Invalid API Key provided: sk_test_****' } });
    const error = await client()
      .send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(5000))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('stripe API /v1/x: HTTP 401, credentials rejected');
    expect(attempts).toBe(1);
  });

  it('does not retry other 4xx', async () => {
    handler = (_req, res) => json(res, 404, { error: 'nope' });
    await expect(
      client().send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(5000)),
    ).rejects.toThrow('HTTP 404');
    expect(attempts).toBe(1);
  });

  it('times out a slow response and retries it', async () => {
    handler = (_req, res, n) => {
      if (n === 1) return; // never answers
      json(res, 200, { late: false });
    };
    const response = await client({ connectTimeoutMs: 200 }).send(
      { url: new URL(`${baseUrl}/v1/x`) },
      AbortSignal.timeout(5000),
    );
    expect(response.json).toEqual({ late: false });
    expect(attempts).toBe(2);
  });

  it('stops at the fetch deadline', async () => {
    handler = () => undefined;
    const error = await client({ connectTimeoutMs: 5000, requestTimeoutMs: 5000 })
      .send({ url: new URL(`${baseUrl}/v1/x`) }, AbortSignal.timeout(300))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toContain('fetch deadline');
  });

  it('retries a refused connection and then reports it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await client({ maxAttempts: 2 })
      .send({ url: new URL(`http://127.0.0.1:${port}/v1/x`) }, AbortSignal.timeout(5000))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toMatch(
      /stripe API \/v1\/x: .*ECONNREFUSED.* \(gave up after 2 attempts\)/,
    );
  });
});
