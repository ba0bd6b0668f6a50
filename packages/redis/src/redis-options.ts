import type { ConnectionOptions } from 'node:tls';
import { ConfigError, redactUrl, type StoresOptions } from '@polystore/core';

/**
 * Options of the Redis adapter. Every option can also be given to `openStores(url, {
 * adapter: { ... } })`; `prefix`, `namespace`, `commandTimeout` and `connectTimeout` also as
 * URL query parameters (`redis://host:6379/0?namespace=app&commandTimeout=1500`). Explicit
 * options win over the URL.
 *
 * The client fails fast instead of queueing while the server is down: no offline queue,
 * no retry of a command after a reconnect (a script whose reply was lost may have run, so
 * resending could apply a write twice), a bounded command timeout. It keeps reconnecting
 * in the background with the backoff below, so the same `Stores` recovers by itself.
 * See https://github.com/redis/ioredis#auto-reconnect.
 */
export interface RedisOptions extends StoresOptions {
  /**
   * Literal prefix of every key, before the namespace's hash tag. Must not contain `{` or
   * `}`. Default `polystore:`. URL: `?prefix=`.
   */
  readonly prefix?: string;
  /**
   * The namespace: every key is `<prefix>{<namespace>}:...`, so one namespace is one Redis
   * Cluster hash slot, and two namespaces never see each other's records. Non-empty, without
   * `{` or `}`. Default `default`. URL: `?namespace=`.
   */
  readonly namespace?: string;
  /**
   * How long a command may wait for its reply before it fails with `UnavailableError`, in ms
   * (ioredis `commandTimeout`). Default 1500. URL: `?commandTimeout=`.
   */
  readonly commandTimeoutMs?: number;
  /** How long opening a TCP connection may take, in ms (ioredis `connectTimeout`). Default 2000. URL: `?connectTimeout=`. */
  readonly connectTimeoutMs?: number;
  /** Delay before the first reconnect attempt, in ms; it doubles on each failed attempt. Default 50. */
  readonly retryDelayMs?: number;
  /** Longest delay between reconnect attempts, in ms. Default 1000. */
  readonly maxRetryDelayMs?: number;
  /** The client name shown by `CLIENT LIST`. Default `polystore`. */
  readonly connectionName?: string;
  /** TLS options for `rediss:` URLs (https://nodejs.org/api/tls.html#tlsconnectoptions-callback). Default `{}`. */
  readonly tls?: ConnectionOptions;
}

/** The defaults of {@link RedisOptions}. */
export const REDIS_DEFAULTS = Object.freeze({
  prefix: 'polystore:',
  namespace: 'default',
  commandTimeoutMs: 1500,
  connectTimeoutMs: 2000,
  retryDelayMs: 50,
  maxRetryDelayMs: 1000,
  connectionName: 'polystore',
});

/** Everything needed to connect, resolved from the URL, the options and the defaults. */
export interface RedisConfig {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: ConnectionOptions | undefined;
  readonly prefix: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly connectionName: string;
}

const URL_PARAMS: Readonly<Record<string, keyof RedisOptions>> = {
  prefix: 'prefix',
  namespace: 'namespace',
  commandTimeout: 'commandTimeoutMs',
  connectTimeout: 'connectTimeoutMs',
};

const OPTION_KEYS = new Set<string>([
  'prefix',
  'namespace',
  'commandTimeoutMs',
  'connectTimeoutMs',
  'retryDelayMs',
  'maxRetryDelayMs',
  'connectionName',
  'tls',
]);

const MS_KEYS = new Set<string>([
  'commandTimeoutMs',
  'connectTimeoutMs',
  'retryDelayMs',
  'maxRetryDelayMs',
]);

/**
 * Picks the adapter options out of an options bag and checks their types. With `strict`,
 * an unknown key is an error (adapter options, URL parameters); without, it is left out
 * (a {@link RedisOptions} object also holds the `StoresOptions`).
 */
export function pickRedisOptions(
  options: Readonly<Record<string, unknown>> | undefined,
  where: string,
  strict = true,
): Partial<RedisOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined || (!strict && !OPTION_KEYS.has(key))) continue;
    if (!OPTION_KEYS.has(key)) {
      throw new ConfigError(
        `redis: unknown option ${where}${key}; known: ${[...OPTION_KEYS].join(', ')}`,
      );
    }
    if (MS_KEYS.has(key)) {
      if (!Number.isSafeInteger(value) || (value as number) <= 0) {
        throw new ConfigError(`redis: ${where}${key} must be a positive integer (ms)`);
      }
    } else if (key === 'tls') {
      if (typeof value !== 'object' || value === null) {
        throw new ConfigError(`redis: ${where}tls must be an object of TLS options`);
      }
    } else if (typeof value !== 'string') {
      throw new ConfigError(`redis: ${where}${key} must be a string`);
    }
    out[key] = value;
  }
  return out as Partial<RedisOptions>;
}

function fromUrl(url: URL): Partial<RedisOptions> {
  const raw: Record<string, unknown> = {};
  for (const [name, value] of url.searchParams) {
    const key = URL_PARAMS[name];
    if (!key) {
      throw new ConfigError(
        `redis: unknown URL parameter ${name} in ${redactUrl(url.href)}; known: ${Object.keys(URL_PARAMS).join(', ')}`,
      );
    }
    raw[key] = MS_KEYS.has(key) && /^\d+$/.test(value) ? Number(value) : value;
  }
  return pickRedisOptions(raw, 'URL parameter ');
}

/**
 * Resolves the connection settings of a `redis:` or `rediss:` URL
 * (`redis://[user:password@]host[:port][/db][?prefix=&namespace=&commandTimeout=&connectTimeout=]`)
 * and the options. Throws `ConfigError` on anything malformed.
 */
export function resolveRedisConfig(url: URL, options: RedisOptions = {}): RedisConfig {
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`redis: expected a redis: or rediss: URL, got ${redactUrl(url.href)}`);
  }
  const merged = {
    ...REDIS_DEFAULTS,
    ...fromUrl(url),
    ...pickRedisOptions(options as Readonly<Record<string, unknown>>, '', false),
  };
  if (/[{}]/.test(merged.prefix)) throw new ConfigError('redis: prefix must not contain { or }');
  if (merged.namespace.length === 0 || /[{}]/.test(merged.namespace)) {
    throw new ConfigError('redis: namespace must be non-empty, without { or }');
  }
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) {
    throw new ConfigError(
      `redis: the URL path must be a database number, got ${redactUrl(url.href)}`,
    );
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  return Object.freeze({
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:' ? { ...(merged.tls ?? {}) } : undefined,
    prefix: merged.prefix,
    namespace: merged.namespace,
    commandTimeoutMs: merged.commandTimeoutMs,
    connectTimeoutMs: merged.connectTimeoutMs,
    retryDelayMs: merged.retryDelayMs,
    maxRetryDelayMs: merged.maxRetryDelayMs,
    connectionName: merged.connectionName,
  });
}
