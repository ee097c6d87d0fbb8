import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request the receiver got: path, headers and the raw body exactly as sent. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * How the receiver answers: `ok` 200; `fail-first` 500 to the first request of each
 * `Idempotency-Key` (or body) then 200; `always` a fixed status; `stall` never answers.
 */
export type ReceiverMode =
  | { readonly kind: 'ok' }
  | { readonly kind: 'fail-first'; readonly status: number }
  | { readonly kind: 'always'; readonly status: number }
  | { readonly kind: 'stall' };

/** A local HTTP server that records every request (webhook and Slack payloads in tests). */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  mode: ReceiverMode = { kind: 'ok' };
  private readonly seen = new Set<string>();
  private server: Server | undefined;
  private port = 0;

  /** Starts listening on 127.0.0.1 (a free port). */
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ path: req.url ?? '', headers: req.headers, body });
        const mode = this.mode;
        if (mode.kind === 'stall') return;
        const key = String(req.headers['idempotency-key'] ?? body);
        let status = 200;
        if (mode.kind === 'always') status = mode.status;
        if (mode.kind === 'fail-first' && !this.seen.has(key)) status = mode.status;
        this.seen.add(key);
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'internal_error');
      });
    });
    await new Promise<void>((done) => this.server?.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** `http://127.0.0.1:PORT` + `path`. */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The origin (`http://127.0.0.1:PORT`), as delivery records it. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Forgets the requests and the retry memory; answers 200 again. */
  reset(): void {
    this.requests.length = 0;
    this.seen.clear();
    this.mode = { kind: 'ok' };
  }

  /** Stops the server, dropping stalled connections. */
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((done) => this.server?.close(() => done()));
  }
}
