import net from 'node:net';
import {
  type AnyResource,
  type Clock,
  computeResources,
  DuplicateError,
  ExhaustedError,
  ForbiddenError,
  type IdGenerator,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  NotSupportedError,
  PolystoreError,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import {
  type AddressAllocator,
  type Backend,
  createStores,
  type ResourceDriver,
} from '@polystore/core/adapter';
import { MEMORY_CAPABILITIES, MemoryBackend } from '@polystore/memory/internal';
import { databaseOf } from './memory-mutant.js';

/** A memory database served over TCP: a real network adapter for testing the fault group. */
export interface TcpMemoryServer {
  /** `host:port` it listens on. */
  readonly address: string;
  /** Stops serving and drops every connection. */
  close(): Promise<void>;
  /** Crashes the server: connections dropped, port closed; the data survives (it lives in the process). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Stops reading from every connection (a frozen process). */
  pause(): void;
  /** Reads again. */
  resume(): void;
}

interface Request {
  readonly id: number;
  readonly ns: string;
  readonly target: string;
  readonly method: string;
  readonly args: unknown[];
}

function serialiseError(err: unknown): Record<string, unknown> {
  if (!(err instanceof PolystoreError)) return { name: 'UnavailableError', message: String(err) };
  const e = err as unknown as Record<string, unknown>;
  return {
    name: err.constructor.name,
    message: err.message,
    resource: e.resource,
    id: e.id,
    fields: e.fields,
    issues: e.issues,
    capability: e.capability,
  };
}

function deserialiseError(e: Record<string, unknown>): Error {
  const s = (k: string) => e[k] as string;
  switch (e.name) {
    case 'NotFoundError':
      return new NotFoundError(s('resource'), s('id'));
    case 'DuplicateError':
      return new DuplicateError(s('resource'), e.fields as string[]);
    case 'ExhaustedError':
      return new ExhaustedError(s('message'));
    case 'InvalidInputError':
      return new InvalidInputError(s('resource'), e.issues as never);
    case 'InvalidQueryError':
      return new InvalidQueryError(s('message'));
    case 'ForbiddenError':
      return new ForbiddenError(s('message'));
    case 'NotSupportedError':
      return new NotSupportedError(s('capability'));
    default:
      return new UnavailableError(s('message'));
  }
}

/** Starts a server on a free loopback port; each namespace is its own memory database. */
export async function startTcpMemoryServer(): Promise<TcpMemoryServer> {
  const backends = new Map<string, MemoryBackend>();
  const backendOf = (ns: string) => {
    const b = backends.get(ns) ?? new MemoryBackend(databaseOf(`tcp:${ns}`));
    backends.set(ns, b);
    return b;
  };
  const sockets = new Set<net.Socket>();
  let paused = false;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    if (paused) socket.pause();
    socket.on('close', () => sockets.delete(socket)).on('error', () => socket.destroy());
    let buffer = '';
    // Decodes across chunks: a character split between two TCP reads stays whole.
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const req = JSON.parse(line) as Request;
        void (async () => {
          let reply: Record<string, unknown>;
          try {
            const b = backendOf(req.ns);
            const target: Record<string, (...a: unknown[]) => Promise<unknown>> =
              req.target === '@allocator'
                ? (b.allocator as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)
                : (b.driver(
                    computeResources.find((r) => r.name === req.target) as unknown as AnyResource,
                  ) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>);
            reply = {
              id: req.id,
              ok: true,
              value: (await target[req.method]!.apply(target, req.args)) ?? null,
            };
          } catch (err) {
            reply = { id: req.id, ok: false, error: serialiseError(err) };
          }
          if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        })();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    address: `127.0.0.1:${port}`,
    close: stop,
    kill: stop,
    async restart() {
      await stop();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
  };
}

/** Options of {@link openTcpMemoryStores}; the bugs are for mutants. */
export interface TcpMemoryOptions {
  /** Per-call timeout in ms, `null` for none (a bug: calls hang while the server stalls). Default 1000. */
  readonly timeoutMs?: number | null;
  /** Bug: answer reads from a cache of earlier answers when the server is unreachable. Default false. */
  readonly cacheReads?: boolean;
  /** Bug: report inserts as done once sent, without waiting for the server. Default false. */
  readonly ackWithoutConfirmation?: boolean;
}

/** One TCP connection, reconnected on demand; every failure is an `UnavailableError`. */
class Connection {
  #socket: net.Socket | undefined;
  #next = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }
  >();
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly ns: string,
    readonly timeoutMs: number | null,
  ) {}

  #connect(): net.Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    let buffer = '';
    // Decodes across chunks: a character split between two TCP reads stays whole.
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const msg = JSON.parse(buffer.slice(0, nl)) as {
          id: number;
          ok: boolean;
          value?: unknown;
          error?: Record<string, unknown>;
        };
        buffer = buffer.slice(nl + 1);
        const p = this.#pending.get(msg.id);
        if (!p) continue;
        this.#pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(deserialiseError(msg.error!));
      }
    });
    const fail = (why: string) => {
      if (this.#socket === socket) this.#socket = undefined;
      for (const [id, p] of this.#pending) {
        if ((p as { socket?: net.Socket }).socket !== socket) continue;
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new UnavailableError(`tcp-memory: ${why}`));
      }
    };
    socket.on('error', (e) => fail(e.message)).on('close', () => fail('connection closed'));
    this.#socket = socket;
    return socket;
  }

  call(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new UnavailableError('tcp-memory: closed'));
    const socket = this.#connect();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const entry: {
        resolve: (v: unknown) => void;
        reject: (e: Error) => void;
        timer?: NodeJS.Timeout;
        socket: net.Socket;
      } = { resolve, reject, socket };
      if (this.timeoutMs !== null) {
        entry.timer = setTimeout(() => {
          this.#pending.delete(id);
          // A late answer must not be taken for another call's: drop the connection.
          socket.destroy();
          reject(new UnavailableError(`tcp-memory: no answer within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
      }
      this.#pending.set(id, entry);
      socket.write(`${JSON.stringify({ id, ns: this.ns, target, method, args })}\n`);
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
  }
}

const READS = new Set(['get', 'getMany', 'list', 'count']);

/**
 * Opens a Stores bag over a {@link startTcpMemoryServer} server: `url` is
 * `tcp-memory://host:port` (route it through the suite's `deps.route`).
 */
export function openTcpMemoryStores(
  url: string,
  namespace: string,
  deps: { readonly clock: Clock; readonly ids: IdGenerator },
  options: TcpMemoryOptions = {},
): Stores {
  const u = new URL(url);
  const conn = new Connection(
    u.hostname,
    Number(u.port),
    namespace,
    options.timeoutMs === undefined ? 1000 : options.timeoutMs,
  );
  const cache = new Map<string, unknown>();
  const remote = (target: string) =>
    new Proxy(
      {},
      {
        get:
          (_t, method: string) =>
          async (...args: unknown[]) => {
            const key = JSON.stringify([target, method, args]);
            if (options.ackWithoutConfirmation && method === 'insert') {
              conn.call(target, method, args).catch(() => undefined);
              return args[0];
            }
            try {
              const value = await conn.call(target, method, args);
              if (READS.has(method)) cache.set(key, value);
              return value === null && method === 'get' ? undefined : value;
            } catch (err) {
              if (
                options.cacheReads &&
                READS.has(method) &&
                err instanceof UnavailableError &&
                cache.has(key)
              ) {
                const v = cache.get(key);
                return v === null && method === 'get' ? undefined : v;
              }
              throw err;
            }
          },
      },
    );
  const backend: Backend = {
    name: 'tcp-memory',
    capabilities: MEMORY_CAPABILITIES,
    driver: (resource) => remote(resource.name) as ResourceDriver,
    allocator: remote('@allocator') as AddressAllocator,
    close: async () => conn.close(),
  };
  return createStores(backend, deps);
}
