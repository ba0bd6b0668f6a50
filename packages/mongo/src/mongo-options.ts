import { ConfigError, redactUrl } from '@polystore/core';
import type { MongoClientOptions } from 'mongodb';

/**
 * Options of the MongoDB adapter, given as `openStores(url, { adapter: { ... } })` or
 * `openMongoStores(url, { adapter: { ... } })`. Each may also be given in the URL:
 * `database` as its path (`mongodb://host:27017/<database>`), every other one except
 * `clientOptions` as a query parameter of the same name (`?prefix=ps_&failFastMs=3000`).
 * Given both ways, the two must agree (else `ConfigError`). Any further query parameter is
 * a MongoDB connection-string option, handed to the driver
 * (https://www.mongodb.com/docs/manual/reference/connection-string-options/).
 */
export interface MongoOptions {
  /** The database holding the collections. Default `polystore`. URL: the path. */
  readonly database?: string;
  /**
   * A prefix of every collection name (`<prefix><resource plural>`), so several stores
   * can share one database. Default none (`''`).
   */
  readonly prefix?: string;
  /**
   * The fail-fast bound: every call (every command it needs included: the write claim, the
   * write, the reads that explain a failure, the wait for another writer) ends within it,
   * failing with a retriable `UnavailableError` when the server is frozen, unreachable or
   * slow, in ms. A write cut off may or may not have taken effect. Default 5000.
   */
  readonly failFastMs?: number;
  /**
   * How long an operation waits for a reachable server before failing with
   * `UnavailableError`, in ms. Short so calls fail fast while the server is down. Default
   * 2000, at most `failFastMs`.
   * (https://www.mongodb.com/docs/drivers/node/current/fundamentals/connection/connection-options/)
   */
  readonly serverSelectionTimeoutMS?: number;
  /** How long opening a TCP connection may take, in ms. Default 2000, at most `failFastMs`. */
  readonly connectTimeoutMS?: number;
  /**
   * How long a command may wait for the server's reply on an open connection, in ms. The
   * driver then closes the connection. Calls end within `failFastMs` whatever this is; it
   * bounds how long a command given up with its call still occupies a connection. Default
   * `failFastMs`.
   */
  readonly socketTimeoutMS?: number;
  /** Most connections the client opens to each server. Default 10. */
  readonly maxPoolSize?: number;
  /**
   * Run the conditional writes (update, delete) of each record one at a time among all
   * stores of this process. FerretDB v1.24 executes `findAndModify` as a read followed by an
   * unconditional write, so concurrent conditional updates of one record can both succeed;
   * this closes that race within a process (`claimWrites` closes it across processes, and
   * this spares claims that would only wait for each other). Default: on when the
   * server reports itself as FerretDB, off for MongoDB, whose `findAndModify` is atomic.
   */
  readonly serializeWrites?: boolean;
  /**
   * Make every conditional write (update, delete, release) exclusive across processes by
   * first claiming its revision step with a unique insert into the `<prefix>_claims`
   * collection (see `src/record-claims.ts`). FerretDB v1 does not run `findAndModify`
   * atomically, so without claims writers in different processes lose each other's
   * updates. Costs two more commands per write (claim, release). Default: on when the
   * server reports itself as FerretDB, off for MongoDB.
   */
  readonly claimWrites?: boolean;
  /**
   * How long another process's claim may stay while its record does not move before it
   * counts as left by a crashed process and is taken over, in ms. Far above any write's
   * duration, since a live claimant paused for longer could race its successor. Writes to
   * that one record wait (failing with `UnavailableError` after `failFastMs`, and
   * taking the record over on a later call) until then. Default 30 000.
   */
  readonly claimTimeoutMS?: number;
  /**
   * Further `MongoClient` options (TLS, auth, ...); the options above win. Default none.
   * Not a URL parameter: the URL's own connection-string options are its URL form.
   */
  readonly clientOptions?: MongoClientOptions;
}

/**
 * The defaults of {@link MongoOptions}. `serverSelectionTimeoutMS` and `connectTimeoutMS`
 * are capped at `failFastMs`, `socketTimeoutMS` defaults to it, and `serializeWrites` and
 * `claimWrites` (`undefined` here) are decided at open by the server: on for FerretDB.
 */
export const MONGO_DEFAULTS = Object.freeze({
  database: 'polystore',
  prefix: '',
  failFastMs: 5_000,
  serverSelectionTimeoutMS: 2_000,
  connectTimeoutMS: 2_000,
  maxPoolSize: 10,
  serializeWrites: undefined,
  claimWrites: undefined,
  claimTimeoutMS: 30_000,
  clientOptions: Object.freeze({}),
});

/**
 * {@link MongoOptions} with every default applied. `serializeWrites` and `claimWrites`
 * stay `undefined` when neither the options nor the URL set them: the server decides.
 */
export type ResolvedMongoOptions = Readonly<
  Required<Omit<MongoOptions, 'serializeWrites' | 'claimWrites'>> & {
    readonly serializeWrites: boolean | undefined;
    readonly claimWrites: boolean | undefined;
  }
>;

type Kind = 'string' | 'ms' | 'count' | 'boolean' | 'object';

/** Every option and the kind of its value; `clientOptions` has no URL form. */
const OPTIONS: Readonly<Record<keyof MongoOptions, Kind>> = {
  database: 'string',
  prefix: 'string',
  failFastMs: 'ms',
  serverSelectionTimeoutMS: 'ms',
  connectTimeoutMS: 'ms',
  socketTimeoutMS: 'ms',
  maxPoolSize: 'count',
  serializeWrites: 'boolean',
  claimWrites: 'boolean',
  claimTimeoutMS: 'ms',
  clientOptions: 'object',
};

/**
 * The query parameters this adapter reads itself, by their lowercase name (MongoDB
 * connection-string options are case-insensitive), and the option each sets. Every other
 * parameter goes to the driver.
 */
const URL_PARAMS: ReadonlyMap<string, keyof MongoOptions> = new Map(
  (Object.keys(OPTIONS) as (keyof MongoOptions)[])
    .filter((k) => k !== 'database' && k !== 'clientOptions')
    .map((k) => [k.toLowerCase(), k]),
);

/** Whether a URL query parameter is one of this adapter's options (not the driver's). */
function isAdapterParam(name: string): boolean {
  return URL_PARAMS.has(name.toLowerCase());
}

/** Checks one option's value; `where` says where it came from, for the message. */
function checked(key: keyof MongoOptions, value: unknown, where: string): unknown {
  const kind = OPTIONS[key];
  const ok =
    kind === 'string'
      ? typeof value === 'string'
      : kind === 'boolean'
        ? typeof value === 'boolean'
        : kind === 'object'
          ? typeof value === 'object' && value !== null && !Array.isArray(value)
          : Number.isSafeInteger(value) && (value as number) > 0;
  if (!ok) {
    const want =
      kind === 'ms' || kind === 'count'
        ? 'a positive integer'
        : kind === 'object'
          ? 'an object of MongoClient options'
          : `a ${kind}`;
    throw new ConfigError(`mongo: ${where}${key} must be ${want}, got ${String(value)}`);
  }
  return value;
}

/** The options a URL carries: its path (the database) and this adapter's query parameters. */
function fromUrl(url: URL): Partial<Record<keyof MongoOptions, unknown>> {
  const out: Partial<Record<keyof MongoOptions, unknown>> = {};
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    try {
      out.database = decodeURIComponent(path);
    } catch {
      throw new ConfigError('mongo: malformed database name in the URL path');
    }
  }
  for (const [name, raw] of url.searchParams) {
    const key = URL_PARAMS.get(name.toLowerCase());
    if (key === undefined) continue;
    const kind = OPTIONS[key];
    const value =
      (kind === 'ms' || kind === 'count') && /^\d+$/.test(raw)
        ? Number(raw)
        : kind === 'boolean' && (raw === 'true' || raw === 'false')
          ? raw === 'true'
          : raw;
    if (key in out && out[key] !== value) {
      throw new ConfigError(`mongo: URL parameter ${key} is given twice, with different values`);
    }
    out[key] = checked(key, value, 'URL parameter ');
  }
  return out;
}

/**
 * Resolves the adapter's options from the URL (its path and query parameters), the
 * options object and {@link MONGO_DEFAULTS}. Throws `ConfigError` on an unknown option
 * key, a value of the wrong kind, or an option given in both with different values.
 *
 * @example
 * ```ts
 * resolveMongoOptions(new URL('mongodb://127.0.0.1:27017/app?prefix=ps_'), { failFastMs: 3000 });
 * // { database: 'app', prefix: 'ps_', failFastMs: 3000, serverSelectionTimeoutMS: 2000, ... }
 * ```
 */
export function resolveMongoOptions(url: URL, options: MongoOptions = {}): ResolvedMongoOptions {
  const given: Partial<Record<keyof MongoOptions, unknown>> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPTIONS, key)) {
      throw new ConfigError(
        `mongo: unknown option ${key}; known: ${Object.keys(OPTIONS).join(', ')}`,
      );
    }
    if (value !== undefined)
      given[key as keyof MongoOptions] = checked(key as keyof MongoOptions, value, '');
  }
  const inUrl = fromUrl(url);
  for (const [key, value] of Object.entries(inUrl)) {
    const k = key as keyof MongoOptions;
    if (k in given && given[k] !== value) {
      throw new ConfigError(
        `mongo: option ${k} is ${JSON.stringify(given[k])} but the URL says ${JSON.stringify(value)}`,
      );
    }
  }
  const o = { ...inUrl, ...given } as MongoOptions;
  const failFastMs = o.failFastMs ?? MONGO_DEFAULTS.failFastMs;
  return Object.freeze({
    database: o.database ?? MONGO_DEFAULTS.database,
    prefix: o.prefix ?? MONGO_DEFAULTS.prefix,
    failFastMs,
    serverSelectionTimeoutMS:
      o.serverSelectionTimeoutMS ?? Math.min(MONGO_DEFAULTS.serverSelectionTimeoutMS, failFastMs),
    connectTimeoutMS: o.connectTimeoutMS ?? Math.min(MONGO_DEFAULTS.connectTimeoutMS, failFastMs),
    socketTimeoutMS: o.socketTimeoutMS ?? failFastMs,
    maxPoolSize: o.maxPoolSize ?? MONGO_DEFAULTS.maxPoolSize,
    serializeWrites: o.serializeWrites,
    claimWrites: o.claimWrites,
    claimTimeoutMS: o.claimTimeoutMS ?? MONGO_DEFAULTS.claimTimeoutMS,
    clientOptions: o.clientOptions ?? MONGO_DEFAULTS.clientOptions,
  });
}

/**
 * A store URL taken apart for the driver. The adapter's own options in it (the database
 * path, `?prefix=`, `?failFastMs=`, ...) are read by `resolveMongoOptions`.
 */
export interface MongoUrl {
  /** The URL handed to `MongoClient`, without the adapter's own query parameters. */
  readonly clientUrl: string;
  /** The host list (`host:port[,host:port…]`), for naming the server. */
  readonly hosts: string;
}

const SHAPE = /^(mongodb(?:\+srv)?:\/\/)(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;

/**
 * Parses a MongoDB connection string by hand rather than with WHATWG `URL`, which
 * refuses a replica-set seed list (`mongodb://h1:27017,h2:27017/db`).
 */
export function parseMongoUrl(url: string | URL): MongoUrl {
  const text = typeof url === 'string' ? url : url.href;
  const m = SHAPE.exec(text);
  if (!m?.[3]) {
    throw new ConfigError(
      `mongo: malformed URL ${redactUrl(text)}; expected mongodb://host:port/database?prefix=…`,
    );
  }
  const [, scheme, auth, hosts, path, query] = m as unknown as [
    string,
    string,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  const params = new URLSearchParams(query ?? '');
  for (const name of [...params.keys()]) if (isAdapterParam(name)) params.delete(name);
  const rest = params.toString();
  return {
    clientUrl: `${scheme}${auth === undefined ? '' : `${auth}@`}${hosts}/${path ?? ''}${rest ? `?${rest}` : ''}`,
    hosts,
  };
}

/** Characters MongoDB refuses in a database name (on any platform it runs on). */
const BAD_DATABASE_CHARS = /[/\\. "$*<>:|?\u0000]/;
/** The longest database name MongoDB accepts, in UTF-8 bytes (it must be shorter than 64). */
const MAX_DATABASE_BYTES = 63;
/** The longest namespace (`<database>.<collection>`) MongoDB accepts, in UTF-8 bytes. */
const MAX_NAMESPACE_BYTES = 255;

/**
 * Refuses, with `ConfigError` and before any I/O, a database name or collection prefix that
 * MongoDB would refuse or that would reach its reserved collections: a database name
 * empty, of 64 bytes or more, or with one of `/\. "$*<>:|?` or NUL; a prefix starting with
 * `system.` (MongoDB's own collections) or `.`, or holding `$` or NUL; a namespace
 * `<database>.<collection>` over 255 bytes for any of `collections`. A server may be
 * stricter still (FerretDB v1 allows only `[A-Za-z0-9_-]` in database names); what it
 * refuses at open is a `ConfigError` too (`src/errors.ts`).
 */
export function checkNamespace(
  database: string,
  prefix: string,
  collections: readonly string[],
): void {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const bad = (why: string): never => {
    throw new ConfigError(`mongo: ${why}`);
  };
  if (database === '') bad('the database name is empty');
  const char = BAD_DATABASE_CHARS.exec(database)?.[0];
  if (char !== undefined)
    bad(`the database name ${JSON.stringify(database)} contains ${JSON.stringify(char)}`);
  if (bytes(database) > MAX_DATABASE_BYTES)
    bad(`the database name is longer than ${MAX_DATABASE_BYTES} bytes`);
  if (prefix.startsWith('system.'))
    bad(`the prefix ${JSON.stringify(prefix)} names MongoDB's reserved system. collections`);
  if (prefix.startsWith('.')) bad(`the prefix ${JSON.stringify(prefix)} starts with "."`);
  const prefixChar = /[$\u0000]/.exec(prefix)?.[0];
  if (prefixChar !== undefined)
    bad(`the prefix ${JSON.stringify(prefix)} contains ${JSON.stringify(prefixChar)}`);
  const longest = Math.max(0, ...collections.map(bytes));
  if (bytes(database) + 1 + longest > MAX_NAMESPACE_BYTES)
    bad(
      `the prefix is too long: a collection's namespace would exceed ${MAX_NAMESPACE_BYTES} bytes`,
    );
}
