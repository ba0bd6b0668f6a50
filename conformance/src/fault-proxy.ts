import net from 'node:net';

/** What the proxy does to traffic. */
export type FaultMode =
  | { readonly kind: 'pass' }
  /** Delays every chunk, both ways. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Forwards nothing and answers nothing; connections stay open (a partition). */
  | { readonly kind: 'stall' }
  /** Resets every connection, and every new one at once (the server is gone). */
  | { readonly kind: 'close' }
  /** Forwards requests but drops every response (the request went out, the answer is lost). */
  | { readonly kind: 'drop-responses' };

interface Link {
  readonly client: net.Socket;
  readonly server: net.Socket;
  /** Set once a fault has broken the request/response pairing: reset on heal. */
  tainted: boolean;
}

/**
 * A loopback TCP proxy the suite owns, between an adapter and its server. Faults apply to
 * live and new connections; {@link heal} restores traffic, resetting connections a fault
 * left half-done (as a partition that ends in a TCP reset would).
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start('127.0.0.1:6379');
 * proxy.set({ kind: 'stall' });
 * proxy.heal();
 * await proxy.close();
 * ```
 */
export class FaultProxy {
  readonly #server: net.Server;
  readonly #links = new Set<Link>();
  readonly #target: { host: string; port: number };
  #mode: FaultMode = { kind: 'pass' };
  /** Bytes forwarded to the server, so a test knows a request went out. */
  bytesUp = 0;

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Starts a proxy on a free loopback port in front of `target` (`host:port`). */
  static async start(target: string): Promise<FaultProxy> {
    const i = target.lastIndexOf(':');
    const host = target.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(target.slice(i + 1));
    if (!host || !Number.isInteger(port))
      throw new TypeError(`fault proxy target must be host:port, got ${target}`);
    const server = net.createServer();
    const proxy = new FaultProxy(server, { host, port });
    server.on('connection', (c) => proxy.#accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** `host:port` clients should connect to. */
  get address(): string {
    const a = this.#server.address() as net.AddressInfo;
    return `127.0.0.1:${a.port}`;
  }

  /** The current mode. */
  get mode(): FaultMode {
    return this.#mode;
  }

  /** Applies a fault to live and new connections. */
  set(mode: FaultMode): void {
    this.#mode = mode;
    if (mode.kind === 'close') {
      for (const l of this.#links) this.#drop(l);
    }
    if (mode.kind === 'stall' || mode.kind === 'drop-responses') {
      for (const l of this.#links) l.tainted = true;
    }
  }

  /** Back to passing traffic; connections a fault left half-done are reset. */
  heal(): void {
    for (const l of this.#links) if (l.tainted) this.#drop(l);
    this.#mode = { kind: 'pass' };
  }

  /** Stops the proxy and drops every connection. */
  async close(): Promise<void> {
    for (const l of this.#links) this.#drop(l);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #drop(l: Link): void {
    l.client.resetAndDestroy();
    l.server.destroy();
    this.#links.delete(l);
  }

  #accept(client: net.Socket): void {
    if (this.#mode.kind === 'close') {
      client.resetAndDestroy();
      return;
    }
    const server = net.connect(this.#target.port, this.#target.host);
    const link: Link = {
      client,
      server,
      tainted: this.#mode.kind !== 'pass' && this.#mode.kind !== 'latency',
    };
    this.#links.add(link);
    const end = () => this.#drop(link);
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    let upChain = Promise.resolve();
    let downChain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const m = this.#mode;
      if (m.kind === 'stall' || m.kind === 'close') return;
      const send = () => {
        this.bytesUp += chunk.length;
        if (!server.destroyed) server.write(chunk);
      };
      if (m.kind === 'latency') upChain = upChain.then(() => delay(m.ms)).then(send);
      else upChain = upChain.then(send);
    });
    server.on('data', (chunk: Buffer) => {
      const m = this.#mode;
      if (m.kind !== 'pass' && m.kind !== 'latency') return;
      const send = () => {
        if (!client.destroyed) client.write(chunk);
      };
      if (m.kind === 'latency') downChain = downChain.then(() => delay(m.ms)).then(send);
      else downChain = downChain.then(send);
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
