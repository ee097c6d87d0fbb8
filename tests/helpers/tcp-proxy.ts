import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server (the RabbitMQ broker in tests), to take the
 * server away mid-run without restarting it for everyone: `cutAfterBytes` drops every connection
 * once that many bytes went from client to server; `cut()` drops them now. Counts bytes so a
 * test can calibrate the cut point.
 */
export class TcpProxy {
  /** Bytes sent client → server over all connections since `reset`. */
  clientBytes = 0;
  /** Drop the connection once a connection sent more than this many bytes (undefined: never). */
  cutAfterBytes: number | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on a free port of 127.0.0.1. */
  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      let sent = 0;
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        this.clientBytes += chunk.length;
        if (this.cutAfterBytes !== undefined && sent > this.cutAfterBytes) {
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
    });
    await new Promise<void>((done) => this.server?.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The proxy's port. */
  get listenPort(): number {
    return this.port;
  }

  /** Drops every open connection now. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((done) => this.server?.close(() => done()));
  }
}
