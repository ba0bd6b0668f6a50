import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server, to cut or stall the connection without
 * touching the server (so it works against any `MONGO_URL`).
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;
  #stalled = false;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** Starts a proxy to `host:port` on a free loopback port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.up();
    return proxy;
  }

  /** The proxy's port (the same after `down()` and `up()`). */
  get port(): number {
    return this.#port;
  }

  /** Accepts connections again (on the same port). */
  async up(): Promise<void> {
    this.#stalled = false;
    const server = createServer((client) => this.#pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Refuses new connections and cuts the open ones, like a server that went away. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps connections open but forwards nothing, like a frozen server. */
  stall(): void {
    this.#stalled = true;
  }

  #pipe(client: Socket): void {
    const upstream = connect(this.#target.port, this.#target.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      from.on('data', (chunk) => {
        if (!this.#stalled) to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.#sockets.delete(from);
        to.destroy();
      });
    }
  }
}
