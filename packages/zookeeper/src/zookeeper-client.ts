import { UnavailableError } from '@polystore/core';
import type { Client, Transaction } from 'node-zookeeper-client';
import { ConnectionGuard, setIoTimeout } from './connection-guard.js';
import { loadDriver, type ZooKeeperDriver } from './driver-loader.js';
import {
  disconnectedError,
  timeoutError,
  toCoreError,
  ZK,
  ZkOpError,
  zkOpErrorOf,
} from './errors.js';

/** How often `commit` tries again while learning which parent directories exist. */
const COMMIT_ATTEMPTS = 10;

/** One operation of a multi (`transaction()`). */
export type ZkOp =
  | { readonly type: 'create'; readonly path: string; readonly data?: Buffer }
  | { readonly type: 'set'; readonly path: string; readonly data: Buffer; readonly version: number }
  | { readonly type: 'remove'; readonly path: string; readonly version: number }
  | { readonly type: 'check'; readonly path: string; readonly version: number };

/** A znode's data and data version. */
export interface ZkData {
  readonly data: Buffer;
  readonly version: number;
}

/** How {@link ZooKeeperClient} connects. */
export interface ZooKeeperClientConfig {
  /** `host:port[,host:port...]` of the ensemble. */
  readonly servers: string;
  /** Session timeout asked of the server. */
  readonly sessionTimeoutMs: number;
  /** Longest wait for the answer to one request. */
  readonly requestTimeoutMs: number;
  /** Longest time one call of a store may take, all its requests and retries included. */
  readonly failFastMs: number;
  /** Longest wait for the first connection. */
  readonly connectTimeoutMs: number;
  /** Upper bound of the driver's random delay before reconnecting. */
  readonly spinDelayMs: number;
}

/**
 * A small promise layer over node-zookeeper-client, the only place that touches it.
 *
 * - Every request has a timeout and fails with `UnavailableError` when it passes; the
 *   connection is then given up (as ZooKeeper's own client does on a request timeout), so
 *   the calls after it fail at once while the driver reconnects, instead of each waiting.
 * - {@link bounded} holds a whole call of a store to `failFastMs`.
 * - Calls made while disconnected fail at once instead of being queued by the driver,
 *   which would otherwise send them, possibly much later, after a reconnect.
 * - An expired session, one disconnected for a whole session timeout, or a connection whose
 *   connect request went unanswered for `requestTimeoutMs` is replaced by a new client in
 *   the background; the same `ZooKeeperClient` carries on once it is connected.
 * - A replaced or closed client leaves nothing behind that could throw later
 *   ({@link ConnectionGuard}).
 * - `requests` counts requests sent, so tests can measure round trips per operation.
 */
export class ZooKeeperClient {
  readonly #config: ZooKeeperClientConfig;
  readonly #driver: ZooKeeperDriver;
  #client: Client;
  #guard: ConnectionGuard;
  #connected = false;
  #closed = false;
  #requests = 0;
  #sessions = 0;
  #lostTimer: NodeJS.Timeout | undefined;
  #waiters: (() => void)[] = [];
  /** Directories seen to exist; bounded (cleared when full), as a miss only costs a retry. */
  readonly #knownDirs = new Set<string>();
  /** The layout's fixed directories, created on open. */
  readonly #permanentDirs = new Set<string>();

  private constructor(config: ZooKeeperClientConfig, driver: ZooKeeperDriver) {
    this.#config = Object.freeze({ ...config });
    this.#driver = driver;
    [this.#client, this.#guard] = this.#newClient();
  }

  /**
   * Loads node-zookeeper-client (a `ConfigError` when it is not installed) and connects,
   * or fails with `UnavailableError` after `connectTimeoutMs`.
   */
  static async connect(config: ZooKeeperClientConfig): Promise<ZooKeeperClient> {
    const c = new ZooKeeperClient(config, await loadDriver());
    try {
      await c.waitConnected(config.connectTimeoutMs);
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** How many requests were sent since the client was made. */
  get requests(): number {
    return this.#requests;
  }

  /** How many sessions were started (more than one after an expiry). */
  get sessions(): number {
    return this.#sessions;
  }

  /** The current session's id and password (fault tests take the session over to expire it). */
  get session(): { readonly id: Buffer; readonly password: Buffer } {
    return { id: this.#client.getSessionId(), password: this.#client.getSessionPassword() };
  }

  /** Whether the client is connected now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves once connected, or fails with `UnavailableError` after `ms`. */
  waitConnected(ms: number): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setIoTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(timeoutError(`connect to ${this.#config.servers}`, ms));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  /**
   * Runs one call of a store, failing with a retriable `UnavailableError` when it has not
   * settled within `failFastMs`. The abandoned work goes on in the background and its
   * outcome is ignored (its requests time out on their own), so a write that timed out may
   * still take effect: the error says so. Whatever `run` throws leaves as a core error
   * ({@link toCoreError}).
   */
  async bounded<T>(what: string, run: () => Promise<T>): Promise<T> {
    const ms = this.#config.failFastMs;
    const work = run();
    // It may settle after the deadline, unobserved: keep its rejection from being unhandled.
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setIoTimeout(
            () =>
              reject(
                new UnavailableError(
                  `zookeeper: ${what}: no answer within ${ms} ms (failFastMs); a write may or may not have taken effect`,
                ),
              ),
            ms,
          );
        }),
      ]);
    } catch (err) {
      throw toCoreError(err, { what });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A znode's data and version, or `undefined` if it does not exist. */
  getData(path: string): Promise<ZkData | undefined> {
    return this.#call<ZkData | undefined>(`getData ${path}`, (client, done) =>
      client.getData(path, (err, data, stat) =>
        err ? done(err) : done(null, { data: data ?? Buffer.alloc(0), version: stat.version }),
      ),
    ).catch(absentAsUndefined);
  }

  /** A znode's child names, or `undefined` if it does not exist. */
  getChildren(path: string): Promise<string[] | undefined> {
    return this.#call<string[] | undefined>(`getChildren ${path}`, (client, done) =>
      client.getChildren(path, (err, children) => (err ? done(err) : done(null, children))),
    ).catch(absentAsUndefined);
  }

  /** How many children a znode has, or `undefined` if it does not exist. */
  countChildren(path: string): Promise<number | undefined> {
    return this.#call<number | undefined>(`exists ${path}`, (client, done) =>
      client.exists(path, (err, stat) =>
        err ? done(err) : done(null, stat ? stat.numChildren : undefined),
      ),
    );
  }

  /** Creates a persistent znode; `false` if it already exists. Throws `ZkOpError(NO_NODE)` if the parent is missing. */
  create(path: string, data?: Buffer): Promise<boolean> {
    return this.#call<boolean>(`create ${path}`, (client, done) =>
      data
        ? client.create(path, data, (err) => (err ? done(err) : done(null, true)))
        : client.create(path, (err) => (err ? done(err) : done(null, true))),
    ).catch((err: unknown) => {
      if (err instanceof ZkOpError && err.code === ZK.NODE_EXISTS) return false;
      throw err;
    });
  }

  /** Creates a znode and its missing ancestors (each `create` one request). */
  async ensurePath(path: string): Promise<void> {
    try {
      await this.create(path);
    } catch (err) {
      if (!(err instanceof ZkOpError && err.code === ZK.NO_NODE)) throw err;
      await this.ensurePath(path.slice(0, path.lastIndexOf('/')));
      await this.create(path);
    }
  }

  /** Removes a znode if it is empty; `false` if it is gone or has children. */
  removeIfEmpty(path: string): Promise<boolean> {
    return this.#call<boolean>(`remove ${path}`, (client, done) =>
      client.remove(path, -1, (err) => (err ? done(err) : done(null, true))),
    ).catch((err: unknown) => {
      if (err instanceof ZkOpError && (err.code === ZK.NO_NODE || err.code === ZK.NOT_EMPTY))
        return false;
      throw err;
    });
  }

  /**
   * Commits the ops as one atomic multi. A refused op throws `ZkOpError` with its
   * `index`; nothing is applied then.
   */
  multi(ops: readonly ZkOp[]): Promise<void> {
    return this.#call<void>(`multi of ${ops.length} ops`, (client, done) => {
      const tx = client.transaction();
      for (const op of ops) addOp(tx, op);
      tx.commit((err, results: { type: number; err: number }[] | undefined) => {
        if (!err) return done(null, undefined);
        // The driver reports the code only; the results say which op failed.
        const index = results?.findIndex((r) => r.err !== 0 && r.err !== undefined);
        done(zkOpErrorOf(err, index === undefined || index < 0 ? undefined : index) ?? err);
      });
    });
  }

  /** Records directories that exist for good (the layout's fixed znodes), so writes never create them. */
  markPermanent(paths: Iterable<string>): void {
    for (const p of paths) this.#permanentDirs.add(p);
  }

  /**
   * Commits the ops as one multi, creating the missing parent directories of its
   * `create` ops in the same multi (index value directories are made on first use).
   * Parents not known to exist are created optimistically; if one exists after all, the
   * multi fails on it, the directory is remembered and the multi is tried again without
   * it. Op indexes of a thrown `ZkOpError` refer to `ops`.
   */
  async commit(ops: readonly ZkOp[]): Promise<void> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const dirs = this.#unknownParents(ops);
      try {
        await this.multi([...dirs.map((path): ZkOp => ({ type: 'create', path })), ...ops]);
        this.#remember(dirs);
        return;
      } catch (err) {
        if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
        if (err.index < dirs.length && err.code === ZK.NODE_EXISTS) {
          // Some directories exist after all (another writer made them): learn which, in one round.
          const counts = await Promise.all(dirs.map((d) => this.countChildren(d)));
          this.#remember(dirs.filter((_, i) => counts[i] !== undefined));
          continue;
        }
        const index = err.index - dirs.length;
        if (err.code === ZK.NO_NODE && (index < 0 || ops[index]?.type === 'create')) {
          // A directory thought to exist is gone (swept): forget what is known and retry.
          this.#knownDirs.clear();
          continue;
        }
        if (index < 0) throw toCoreError(err, { what: `creating ${dirs[err.index]}` });
        throw new ZkOpError(err.code, index);
      }
    }
    throw new UnavailableError(
      `zookeeper: index directories kept changing during ${COMMIT_ATTEMPTS} attempts`,
    );
  }

  /**
   * The parent directories `commit` would create along with `ops` (not known to exist),
   * outermost first: a caller that probes them in a read it sends anyway and passes those
   * found to {@link rememberDirs} spares the multi refused on a directory that exists.
   */
  unknownParents(ops: readonly ZkOp[]): string[] {
    return this.#unknownParents(ops);
  }

  /** Records directories seen to exist, so `commit` does not create them. */
  rememberDirs(dirs: readonly string[]): void {
    this.#remember(dirs);
  }

  /** The ancestors of the created paths not known to exist, outermost first. */
  #unknownParents(ops: readonly ZkOp[]): string[] {
    const created = new Set(ops.filter((o) => o.type === 'create').map((o) => o.path));
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (dir: string) => {
      if (
        dir === '' ||
        seen.has(dir) ||
        created.has(dir) ||
        this.#permanentDirs.has(dir) ||
        this.#knownDirs.has(dir)
      ) {
        return;
      }
      seen.add(dir);
      visit(parentOf(dir));
      out.push(dir);
    };
    for (const path of created) visit(parentOf(path));
    return out;
  }

  #remember(dirs: readonly string[]): void {
    if (this.#knownDirs.size + dirs.length > 50_000) this.#knownDirs.clear();
    for (const d of dirs) this.#knownDirs.add(d);
  }

  /** Closes the session. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearTimeout(this.#lostTimer);
    this.#guard.close(this.#config.requestTimeoutMs);
  }

  #newClient(): [Client, ConnectionGuard] {
    this.#sessions++;
    const client = this.#driver.createClient(this.#config.servers, {
      sessionTimeout: this.#config.sessionTimeoutMs,
      spinDelay: this.#config.spinDelayMs,
      retries: 0,
    });
    // Before connect(): the guard wraps what the driver binds to each new socket.
    const guard = new ConnectionGuard(client, {
      connectReplyTimeoutMs: this.#config.requestTimeoutMs,
      onConnectReplyTimeout: () => this.#replace(client),
    });
    client.on('connected', () => {
      if (client !== this.#client || this.#closed) return;
      this.#connected = true;
      clearTimeout(this.#lostTimer);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
    client.on('disconnected', () => {
      if (client !== this.#client || this.#closed || !this.#connected) return;
      this.#connected = false;
      // A session disconnected for longer than its timeout is over, whatever the server
      // says; and a server that lost its last transactions (restarted without them)
      // refuses the old session's zxid forever. Either way: start a new session.
      clearTimeout(this.#lostTimer);
      this.#lostTimer = setIoTimeout(() => {
        if (!this.#connected) this.#replace(client);
      }, this.#config.sessionTimeoutMs);
      this.#lostTimer.unref();
    });
    client.on('expired', () => this.#replace(client));
    client.connect();
    return [client, guard];
  }

  /** Replaces `client` (if still current) with a new one on a fresh session. */
  #replace(client: Client): void {
    if (client !== this.#client || this.#closed) return;
    this.#connected = false;
    clearTimeout(this.#lostTimer);
    this.#guard.close(this.#config.requestTimeoutMs);
    [this.#client, this.#guard] = this.#newClient();
  }

  #call<T>(
    what: string,
    run: (client: Client, done: (err: unknown, value?: T) => void) => void,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(disconnectedError(`${what} (client closed)`));
    if (!this.#connected) return Promise.reject(disconnectedError(what));
    this.#requests++;
    const ms = this.#config.requestTimeoutMs;
    const guard = this.#guard;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setIoTimeout(() => {
        if (settled) return; // answered while the loop was busy
        settled = true;
        // No answer in time: the server is frozen, cut off or overloaded. Give the
        // connection up so the next calls fail at once instead of each waiting as long.
        guard.drop();
        reject(timeoutError(what, ms));
      }, ms);
      const done = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(zkOpErrorOf(err) ?? toCoreError(err, { what }));
        else resolve(value as T);
      };
      try {
        run(this.#client, done);
      } catch (err) {
        // The driver asserts on its arguments synchronously.
        done(err);
      }
    });
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

function absentAsUndefined(err: unknown): undefined {
  if (err instanceof ZkOpError && err.code === ZK.NO_NODE) return undefined;
  throw err;
}

/**
 * Adds one op to a transaction. node-zookeeper-client 1.1.3 writes `version || -1`, so
 * version 0 (every znode's first version) would silently become "any version"; the
 * queued op's version is set again here to keep the compare-and-swap.
 */
function addOp(tx: Transaction, op: ZkOp): void {
  switch (op.type) {
    case 'create':
      if (op.data) tx.create(op.path, op.data);
      else tx.create(op.path);
      return;
    case 'set':
      tx.setData(op.path, op.data, op.version);
      break;
    case 'remove':
      tx.remove(op.path, op.version);
      break;
    case 'check':
      tx.check(op.path, op.version);
      break;
  }
  const queued = (tx as unknown as { ops: { version: number }[] }).ops;
  queued[queued.length - 1]!.version = op.version;
}
