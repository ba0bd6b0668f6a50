import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server that counts round trips: a request (one or
 * more client chunks) followed by the server's answer (one or more server chunks) is one
 * exchange, per connection. Pipelined requests answered together count once, as they
 * cost one network latency; requests on two connections count twice. It sees bytes, not
 * protocols, so it measures every driver the same way.
 */
export class RoundTripProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #exchanges = 0;
  #sequential = 0;
  /** Connections with a request not yet answered. */
  #outstanding = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts a proxy on a free loopback port that forwards to `host:port`. */
  static async start(host: string, port: number): Promise<RoundTripProxy> {
    const server = createServer();
    const proxy = new RoundTripProxy(server);
    server.on('connection', (client) => proxy.#accept(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /** Exchanges counted since the last {@link reset}. */
  get exchanges(): number {
    return this.#exchanges;
  }

  /**
   * Round trips on the critical path since the last {@link reset}: periods during which at
   * least one connection waits for an answer. Requests sent in parallel on several
   * connections count once here, once per connection in {@link exchanges}.
   */
  get sequential(): number {
    return this.#sequential;
  }

  /** Starts counting from zero. */
  reset(): void {
    this.#exchanges = 0;
    this.#sequential = 0;
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, host: string, port: number): void {
    const upstream = connect({ host, port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    let awaiting = false;
    const answered = () => {
      awaiting = false;
      this.#outstanding--;
      if (this.#outstanding === 0) this.#sequential++;
    };
    client.on('data', (chunk) => {
      if (!awaiting) {
        awaiting = true;
        this.#outstanding++;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (awaiting) {
        this.#exchanges++;
        answered();
      }
      client.write(chunk);
    });
    const end = () => {
      if (awaiting) {
        awaiting = false;
        this.#outstanding--;
      }
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }
}
