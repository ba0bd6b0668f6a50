import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, redactUrl } from '@polystore/core';
import { keepTimerList } from '@polystore/core/adapter';
import type { Redis } from 'ioredis';
import { loadDriver } from './driver-loader.js';
import { isReplyError, toCoreError } from './errors.js';
import type { ResolvedRedisOptions } from './redis-options.js';
import { LUA_SCRIPTS } from './scripts/lua-sources.js';

/** Where to connect, from a `redis:` or `rediss:` URL. */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** Whether the URL is `rediss:` (TLS). */
  readonly secure: boolean;
}

/**
 * The endpoint of a `redis://[user:password@]host[:port][/db]` URL (`rediss:` for TLS;
 * port 6379 and database 0 by default). Throws `ConfigError` on another scheme or a path
 * that is not a database number.
 */
export function redisEndpoint(url: URL): RedisEndpoint {
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`redis: expected a redis: or rediss: URL, got ${redactUrl(url.href)}`);
  }
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) {
    throw new ConfigError(
      `redis: the URL path must be a database number, got ${redactUrl(url.href)}`,
    );
  }
  return Object.freeze({
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: path === '' ? 0 : Number(path),
    secure: url.protocol === 'rediss:',
  });
}

/** The name of a Lua script (its file name in camel case). */
export type ScriptName = keyof typeof LUA_SCRIPTS;

/** An argument of a script: text, raw bytes (bounds with NUL and 0xFF) or a number. */
export type ScriptArg = string | Buffer | number;

/** Scripts that only read; ioredis may send them to replicas. */
const READ_ONLY: ReadonlySet<ScriptName> = new Set([
  'get',
  'list',
  'count',
  'fetch',
  'versions',
  'scanVersion',
]);

/** The ioredis command name of a script. */
function commandName(name: ScriptName): string {
  return `polystore_${name}`;
}

type ScriptCommand = (...args: ScriptArg[]) => Promise<unknown>;

/** A script with the reply's field names bound in it: called with its key and arguments. */
export type BoundScript = (key: string, args: readonly ScriptArg[]) => Promise<unknown>;

/** The line of the shared scripts that {@link RedisConnection.bind} replaces (prelude.lua). */
const UNBOUND_NAMES = 'local BOUND_NAMES = nil';
/** The line of the write scripts that {@link RedisConnection.bind} replaces with a layout. */
const UNBOUND_LAYOUT = 'local BOUND_LAYOUT = nil';

/**
 * The signature of the rows of records of the fields `names` (prelude.lua ROW_HEAD): a
 * script reads a record's stored row (`w:<id>`) only if it was written for the same
 * fields in the same order, in the same row format: 'row2', whose head is the signature
 * alone. The rows of an earlier release ('row1', which a read checked against the hash's
 * revision and updatedAt) are never read: such a record is read from its hash until its
 * next write.
 */
export function rowSignature(names: readonly string[]): string {
  return createHash('sha1')
    .update(`row2${JSON.stringify(names)}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * A Lua function that makes the layout table a descriptor's JSON decodes to (prelude.lua's
 * `lay`), afresh at each call, since the scripts add to its lists (with_applied).
 */
function layoutMaker(descriptor: string): string {
  const d = JSON.parse(descriptor) as {
    n: string;
    s: readonly string[];
    e: readonly string[];
    u: readonly (readonly string[])[];
    g: boolean;
  };
  const list = (xs: readonly string[]) => `{ ${xs.map(luaString).join(', ')} }`;
  const uniques = `{ ${d.u.map(list).join(', ')} }`;
  return `function() return { n = ${luaString(d.n)}, s = ${list(d.s)}, e = ${list(d.e)}, u = ${uniques}, g = ${d.g ? 'true' : 'false'} } end`;
}

/**
 * A string as a Lua literal: every byte but letters, digits and `_` as a decimal escape, so
 * no name can end the literal or hide code.
 */
function luaString(text: string): string {
  let out = "'";
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_]/.test(c) ? c : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}'`;
}

/**
 * One ioredis client with the polystore scripts defined on it (ioredis sends EVALSHA,
 * and EVAL once per connection or after `NOSCRIPT`), and every failure mapped to a core
 * error. Shared by every driver of a backend.
 */
export class RedisConnection {
  /** The underlying client (tests use it to look at the keys). */
  readonly client: Redis;
  readonly #options: ResolvedRedisOptions;
  #closed: Promise<void> | undefined;
  /** The scripts {@link bind} defined, by script name and names. */
  readonly #bound = new Map<string, BoundScript>();
  /** Releases the timer list every command's `commandTimeout` timer goes in (keepTimerList). */
  readonly #releaseTimers: () => void;
  /** The socket a plain command went out on in this tick (see {@link #batch}), if any. */
  #sent: unknown;
  /** The socket held corked until the end of this tick (see {@link #batch}), if it is. */
  #corked: { uncork(): void } | undefined;

  private constructor(client: Redis, options: ResolvedRedisOptions) {
    this.client = client;
    this.#options = options;
    this.#releaseTimers = keepTimerList(options.commandTimeoutMs);
  }

  /** Connects, failing with `UnavailableError` when the server cannot be reached in time. */
  static async open(
    endpoint: RedisEndpoint,
    options: ResolvedRedisOptions,
  ): Promise<RedisConnection> {
    const config = { ...endpoint, ...options };
    const scripts: Record<string, { lua: string; numberOfKeys: number; readOnly: boolean }> = {};
    for (const [name, lua] of Object.entries(LUA_SCRIPTS)) {
      scripts[commandName(name as ScriptName)] = {
        lua,
        numberOfKeys: 1,
        readOnly: READ_ONLY.has(name as ScriptName),
      };
    }
    const { Redis } = await loadDriver();
    const client = new Redis({
      host: config.host,
      port: config.port,
      username: config.username,
      password: config.password,
      db: config.db,
      tls: config.secure ? { ...(config.tls as ConnectionOptions) } : undefined,
      connectionName: config.connectionName,
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      // Fail fast while disconnected instead of queueing; never resend a command after a
      // reconnect: its script may already have run, and running it again could write twice.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Keep reconnecting forever, so the same client recovers when the server is back.
      retryStrategy: (times) =>
        Math.min(config.retryDelayMs * 2 ** Math.min(times - 1, 16), config.maxRetryDelayMs),
      scripts,
    });
    // Failures reach callers through their commands; without a listener ioredis would also
    // print every reconnect error. During the handshake the listener keeps the server's
    // refusal (wrong credentials, a database it lacks): ioredis reports it only as an event,
    // and the caller would otherwise see a lost connection, or none at all.
    let refusal: unknown;
    client.on('error', (err: unknown) => {
      if (client.status !== 'ready' && isReplyError(err)) refusal ??= err;
    });
    const where = `connect to ${config.host}:${config.port}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no ready connection within ${config.connectTimeoutMs} ms`)),
            config.connectTimeoutMs + config.commandTimeoutMs,
          );
        }),
      ]);
      // ioredis goes on in database 0 when the handshake's SELECT is refused, so ask again
      // and wait for the answer: two stores set apart by their database must never share one.
      if (config.db !== 0) await client.select(config.db);
    } catch (err) {
      client.disconnect();
      throw toCoreError(refusal ?? err, where);
    } finally {
      clearTimeout(timer);
    }
    if (refusal !== undefined) {
      client.disconnect();
      throw toCoreError(refusal, where);
    }
    return new RedisConnection(client, options);
  }

  /**
   * Batches the plain commands callers issue in one tick (concurrent `get`s and `count`s
   * resuming together): the first goes at once, the socket then holds the writes of the
   * rest until the tick ends and sends them in one `writev` instead of one system call
   * each. A lone command is not delayed. Scripts are never held (see {@link #flush}): the
   * server spends tens of microseconds on one, and a script that waited for the rest of the
   * tick would leave the server idle meanwhile (measured: holding them too cut update
   * throughput by a quarter to a third). Commands keep their order, so each its reply.
   */
  #batch(): void {
    if (this.#corked) return;
    const stream = this.client.stream;
    if (this.#sent !== stream) {
      this.#sent = stream;
      process.nextTick(this.#endTick);
      return;
    }
    if (!stream?.writable) return;
    stream.cork();
    this.#corked = stream;
  }

  /** Sends what {@link #batch} holds now (before a script, which is sent at once). */
  #flush(): void {
    const stream = this.#corked;
    if (stream === undefined) return;
    this.#corked = undefined;
    stream.uncork();
  }

  /** The end of a tick in which a plain command went out: what is held goes too. */
  readonly #endTick = (): void => {
    this.#sent = undefined;
    this.#flush();
  };

  /** Runs a script with one key (which routes it) and its arguments. */
  async script(name: ScriptName, key: string, args: readonly ScriptArg[]): Promise<unknown> {
    const command = (this.client as unknown as Record<string, ScriptCommand>)[commandName(name)]!;
    this.#flush();
    try {
      return await command.call(this.client, key, ...args);
    } catch (err) {
      throw toCoreError(err, name);
    }
  }

  /**
   * The script `name` with the field names of its replies bound in it (prelude.lua's
   * BOUND_NAMES): its calls send `'-'` where the shared script takes the names. With a
   * layout (`ResourceLayout.descriptor`), a script that reads one (layout_of)
   * has it bound too (BOUND_LAYOUT), and its calls send `'-'` in its place as well. One
   * command is defined per script, names and layout, however many drivers ask; ioredis
   * sends EVALSHA, and EVAL after `NOSCRIPT`, as for the shared scripts.
   *
   * @example
   * ```ts
   * const get = connection.bind('get', ['id', 'projectId', 'name']);
   * const row = await get(layout.recordKey(id), [layout.base, id, '-']);
   * ```
   */
  bind(name: ScriptName, names: readonly string[], layout?: string): BoundScript {
    const cacheKey = `${name}\0${names.join('\0')}\0\0${layout ?? ''}`;
    const known = this.#bound.get(cacheKey);
    if (known) return known;
    const shared = LUA_SCRIPTS[name];
    if (!shared.includes(UNBOUND_NAMES)) {
      throw new ConfigError(`redis: the ${name} script reads no bound field names`);
    }
    let lua = shared.replace(
      UNBOUND_NAMES,
      () =>
        `local BOUND_NAMES = { ${names.map(luaString).join(', ')}, sig = '${rowSignature(names)}' }`,
    );
    if (layout !== undefined && lua.includes(UNBOUND_LAYOUT)) {
      lua = lua.replace(UNBOUND_LAYOUT, () => `local BOUND_LAYOUT = ${layoutMaker(layout)}`);
    }
    const command = `${commandName(name)}_bound${this.#bound.size}`;
    this.client.defineCommand(command, {
      lua,
      numberOfKeys: 1,
      readOnly: READ_ONLY.has(name),
    });
    const fn = (this.client as unknown as Record<string, ScriptCommand>)[command]!;
    const bound: BoundScript = async (key, args) => {
      this.#flush();
      try {
        return await fn.call(this.client, key, ...args);
      } catch (err) {
        throw toCoreError(err, name);
      }
    };
    this.#bound.set(cacheKey, bound);
    return bound;
  }

  /** The size of a sorted set (`ZCARD`); 0 when the key is missing. */
  async sortedSetSize(key: string, operation: string): Promise<number> {
    this.#batch();
    try {
      return await this.client.zcard(key);
    } catch (err) {
      throw toCoreError(err, operation);
    }
  }

  /** The value of a string key, or `undefined` when the key is missing. */
  async text(key: string, operation: string): Promise<string | undefined> {
    this.#batch();
    try {
      return ((await this.client.call('GET', key)) as string | null) ?? undefined;
    } catch (err) {
      throw toCoreError(err, operation);
    }
  }

  /** How many of `keys` exist, in one `EXISTS` (the keys of one namespace share a slot). */
  async countExisting(keys: readonly string[], operation: string): Promise<number> {
    this.#batch();
    try {
      return (await this.client.call('EXISTS', ...keys)) as number;
    } catch (err) {
      throw toCoreError(err, operation);
    }
  }

  /** Sets a string key unless it exists. */
  async setIfAbsent(key: string, value: string, operation: string): Promise<void> {
    this.#batch();
    try {
      await this.client.call('SET', key, value, 'NX');
    } catch (err) {
      throw toCoreError(err, operation);
    }
  }

  /** Closes the connection: `QUIT` when the server answers in time, else drops it. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.client.quit(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, this.#options.commandTimeoutMs);
          }),
        ]);
      } catch {
        // Closing a broken connection: nothing to report.
      } finally {
        clearTimeout(timer);
        this.client.disconnect();
        this.#releaseTimers();
      }
    })();
    return this.#closed;
  }
}
