import { connect, createServer, type Server, type Socket } from 'node:net';

/** Where a {@link TcpProxy} forwards to. */
export interface TcpTarget {
  /** Host name or address of the server. */
  readonly host: string;
  /** TCP port of the server. */
  readonly port: number;
}

/** What a {@link TcpProxy} does to traffic. */
export type TcpProxyMode =
  /** Forwards everything as it comes. */
  | { readonly kind: 'pass' }
  /** Delays every chunk by `ms`, both ways (a slow network). */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Forwards nothing and answers nothing; connections stay open (a partition, a frozen server). */
  | { readonly kind: 'stall' }
  /** Resets every connection, and every new one at once (the server is gone). */
  | { readonly kind: 'close' }
  /** Forwards requests but drops every response (the request went out, the answer is lost). */
  | { readonly kind: 'drop-responses' };

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  /** Set once a fault has broken the request/response pairing: reset on heal. */
  tainted: boolean;
  /** A request went up and its answer has not come down yet. */
  awaiting: boolean;
}

const PASS: TcpProxyMode = Object.freeze({ kind: 'pass' });

/**
 * A loopback TCP proxy in front of a server, to put faults between a client and its
 * server without touching the server (so it works against any server URL), and to count
 * the round trips a client makes. It sees bytes, not protocols, so it treats every driver
 * the same way.
 *
 * Faults ({@link set}) apply to live and new connections; {@link heal} restores traffic,
 * resetting the connections a fault left half-done (as a partition that ends in a TCP
 * reset would). {@link down} and {@link up} stop and restart listening on the same port,
 * like a server that went away and came back.
 *
 * @example
 * ```ts
 * const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
 * const url = `redis://${proxy.address}`;
 * proxy.set({ kind: 'stall' });
 * proxy.heal();
 * await proxy.close();
 * ```
 */
export class TcpProxy {
  readonly #target: TcpTarget;
  readonly #links = new Set<Link>();
  #server: Server | undefined;
  #port = 0;
  #mode: TcpProxyMode = PASS;
  #bytesUp = 0;
  #bytesDropped = 0;
  #exchanges = 0;
  #sequential = 0;
  /** Connections with a request not yet answered. */
  #outstanding = 0;

  private constructor(target: TcpTarget) {
    this.#target = Object.freeze({ host: target.host, port: target.port });
  }

  /** Starts a proxy on a free loopback port in front of `target` (`host:port` or `{ host, port }`). */
  static async start(target: string | TcpTarget): Promise<TcpProxy> {
    const proxy = new TcpProxy(typeof target === 'string' ? parseTarget(target) : target);
    await proxy.up();
    return proxy;
  }

  /** The port clients connect to (the same after {@link down} and {@link up}). */
  get port(): number {
    return this.#port;
  }

  /** `host:port` clients connect to. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** The current mode. */
  get mode(): TcpProxyMode {
    return this.#mode;
  }

  /** Bytes forwarded to the server, so a test knows a request went out. */
  get bytesUp(): number {
    return this.#bytesUp;
  }

  /** Bytes a fault kept from either side, so a test knows the fault was hit. */
  get bytesDropped(): number {
    return this.#bytesDropped;
  }

  /**
   * Request/response exchanges since the last {@link resetCounts}: a request (one or more
   * client chunks) followed by the answer (one or more server chunks) is one exchange, per
   * connection. Pipelined requests answered together count once, as they cost one network
   * latency; requests on two connections count twice.
   */
  get exchanges(): number {
    return this.#exchanges;
  }

  /**
   * Round trips on the critical path since the last {@link resetCounts}: periods during
   * which at least one connection waits for an answer. Requests sent in parallel on several
   * connections count once here, once per connection in {@link exchanges}.
   */
  get sequential(): number {
    return this.#sequential;
  }

  /** Counts {@link exchanges} and {@link sequential} from zero again. */
  resetCounts(): void {
    this.#exchanges = 0;
    this.#sequential = 0;
  }

  /** Applies a fault to live and new connections. */
  set(mode: TcpProxyMode): void {
    this.#mode = Object.freeze({ ...mode });
    if (mode.kind === 'close') {
      for (const l of this.#links) this.#drop(l, 'reset');
    }
    if (mode.kind === 'stall' || mode.kind === 'drop-responses') {
      for (const l of this.#links) l.tainted = true;
    }
  }

  /** Keeps connections open but forwards nothing, like a frozen server: `set({ kind: 'stall' })`. */
  stall(): void {
    this.set({ kind: 'stall' });
  }

  /** Back to passing traffic; connections a fault left half-done are reset. */
  heal(): void {
    for (const l of this.#links) if (l.tainted) this.#drop(l, 'reset');
    this.#mode = PASS;
  }

  /** Accepts connections again, on the same port, passing traffic. */
  async up(): Promise<void> {
    if (this.#server) return;
    this.#mode = PASS;
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Refuses new connections and closes the open ones, like a server that went away. */
  async down(): Promise<void> {
    await this.#stop('end');
  }

  /** Stops the proxy and resets every connection through it. */
  async close(): Promise<void> {
    await this.#stop('reset');
  }

  async #stop(how: 'reset' | 'end'): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const l of this.#links) this.#drop(l, how);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #drop(l: Link, how: 'reset' | 'end'): void {
    if (!this.#links.delete(l)) return;
    if (l.awaiting) {
      l.awaiting = false;
      this.#outstanding--;
    }
    if (how === 'reset' && !l.client.destroyed) l.client.resetAndDestroy();
    else l.client.destroy();
    l.server.destroy();
  }

  #accept(client: Socket): void {
    if (this.#mode.kind === 'close') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const server = connect(this.#target.port, this.#target.host);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const link: Link = {
      client,
      server,
      tainted: this.#mode.kind !== 'pass' && this.#mode.kind !== 'latency',
      awaiting: false,
    };
    this.#links.add(link);
    const end = () => this.#drop(link, 'end');
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    let upChain = Promise.resolve();
    let downChain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const m = this.#mode;
      if (m.kind === 'stall' || m.kind === 'close') {
        this.#bytesDropped += chunk.length;
        return;
      }
      const send = () => {
        if (server.destroyed) return;
        this.#bytesUp += chunk.length;
        if (!link.awaiting && this.#links.has(link)) {
          link.awaiting = true;
          this.#outstanding++;
        }
        server.write(chunk);
      };
      upChain =
        m.kind === 'latency' ? upChain.then(() => delay(m.ms)).then(send) : upChain.then(send);
    });
    server.on('data', (chunk: Buffer) => {
      const m = this.#mode;
      if (m.kind !== 'pass' && m.kind !== 'latency') {
        this.#bytesDropped += chunk.length;
        return;
      }
      const send = () => {
        if (client.destroyed) return;
        if (link.awaiting) {
          link.awaiting = false;
          this.#exchanges++;
          this.#outstanding--;
          if (this.#outstanding === 0) this.#sequential++;
        }
        client.write(chunk);
      };
      downChain =
        m.kind === 'latency' ? downChain.then(() => delay(m.ms)).then(send) : downChain.then(send);
    });
  }
}

function parseTarget(target: string): TcpTarget {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(target.slice(i + 1));
  if (i < 0 || !host || !Number.isInteger(port))
    throw new TypeError(`proxy target must be host:port, got ${target}`);
  return { host, port };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
