import type { ConnectionOptions } from 'node:tls';
import { ConfigError, redactUrl } from '@polystore/core';

/**
 * Options of the Redis adapter, given as `openStores(url, { adapter: { ... } })` or
 * `openRedisStores(url, { adapter: { ... } })`. Every option except `tls` may also be given
 * as a URL query parameter of the same name
 * (`redis://host:6379/0?namespace=app&commandTimeoutMs=1500`); an option given both ways
 * must agree.
 *
 * The client fails fast instead of queueing while the server is down: no offline queue,
 * no retry of a command after a reconnect (a script whose reply was lost may have run, so
 * resending could apply a write twice), a bounded command timeout. It keeps reconnecting
 * in the background with the backoff below, so the same `Stores` recovers by itself.
 * See https://github.com/redis/ioredis#auto-reconnect.
 */
export interface RedisOptions {
  /**
   * Literal prefix of every key, before the namespace's hash tag. Must not contain `{` or
   * `}`. Default `polystore:`.
   */
  readonly prefix?: string;
  /**
   * The namespace: every key is `<prefix>{<namespace>}:...`, so one namespace is one Redis
   * Cluster hash slot, and two namespaces never see each other's records. Non-empty, without
   * `{` or `}`. Default `default`.
   */
  readonly namespace?: string;
  /**
   * How long a command may wait for its reply before it fails with `UnavailableError`, in ms
   * (ioredis `commandTimeout`). Default `1500`.
   */
  readonly commandTimeoutMs?: number;
  /** How long opening a TCP connection may take, in ms (ioredis `connectTimeout`). Default `2000`. */
  readonly connectTimeoutMs?: number;
  /** Delay before the first reconnect attempt, in ms; it doubles on each failed attempt. Default `50`. */
  readonly retryDelayMs?: number;
  /** Longest delay between reconnect attempts, in ms. Default `1000`. */
  readonly maxRetryDelayMs?: number;
  /** The client name shown by `CLIENT LIST`. Default `polystore`. */
  readonly connectionName?: string;
  /**
   * TLS options for `rediss:` URLs (https://nodejs.org/api/tls.html#tlsconnectoptions-callback);
   * ignored for `redis:` URLs. Not a URL parameter. Default `{}`.
   */
  readonly tls?: ConnectionOptions;
}

/** {@link RedisOptions} with every default applied. */
export type ResolvedRedisOptions = Required<RedisOptions>;

/** The defaults of {@link RedisOptions}. */
export const REDIS_DEFAULTS: ResolvedRedisOptions = Object.freeze({
  prefix: 'polystore:',
  namespace: 'default',
  commandTimeoutMs: 1500,
  connectTimeoutMs: 2000,
  retryDelayMs: 50,
  maxRetryDelayMs: 1000,
  connectionName: 'polystore',
  tls: Object.freeze({}),
});

const KEYS = Object.keys(REDIS_DEFAULTS);
const MS_KEYS = ['commandTimeoutMs', 'connectTimeoutMs', 'retryDelayMs', 'maxRetryDelayMs'];
const STRING_KEYS = ['prefix', 'namespace', 'connectionName'];

/** Older spellings of two URL parameters, still accepted. */
const URL_ALIASES: Readonly<Record<string, string>> = {
  commandTimeout: 'commandTimeoutMs',
  connectTimeout: 'connectTimeoutMs',
};

/** The options the URL's query parameters give, as typed values. */
function fromUrl(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [param, text] of url.searchParams) {
    const key = URL_ALIASES[param] ?? param;
    if (!KEYS.includes(key) || key === 'tls') {
      throw new ConfigError(
        `redis: unknown URL parameter ${param} in ${redactUrl(url.href)} (known: ${KEYS.filter((k) => k !== 'tls').join(', ')})`,
      );
    }
    const value = MS_KEYS.includes(key) && /^\d+$/.test(text) ? Number(text) : text;
    if (key in out && out[key] !== value) {
      throw new ConfigError(`redis: URL parameter ${key} is given twice, differently`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * Validates the adapter options and the URL's query parameters and applies the defaults.
 * Throws `ConfigError` on an unknown option or parameter, a malformed value, or an option
 * given in both places with different values.
 */
export function resolveRedisOptions(url: URL, options: RedisOptions = {}): ResolvedRedisOptions {
  const given = options as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) {
    if (!KEYS.includes(key)) {
      throw new ConfigError(`redis: unknown option ${key} (known: ${KEYS.join(', ')})`);
    }
  }
  const out: Record<string, unknown> = { ...REDIS_DEFAULTS };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  for (const [key, value] of Object.entries(fromUrl(url))) {
    if (given[key] !== undefined && given[key] !== value) {
      throw new ConfigError(
        `redis: ${key} is given both in the URL and in the options, differently`,
      );
    }
    out[key] = value;
  }
  for (const key of MS_KEYS) {
    if (!Number.isSafeInteger(out[key]) || (out[key] as number) <= 0) {
      throw new ConfigError(`redis: ${key} must be a positive integer (ms)`);
    }
  }
  for (const key of STRING_KEYS) {
    if (typeof out[key] !== 'string') throw new ConfigError(`redis: ${key} must be a string`);
  }
  if (typeof out.tls !== 'object' || out.tls === null) {
    throw new ConfigError('redis: tls must be an object of TLS options');
  }
  if (/[{}]/.test(out.prefix as string)) {
    throw new ConfigError('redis: prefix must not contain { or }');
  }
  if ((out.namespace as string).length === 0 || /[{}]/.test(out.namespace as string)) {
    throw new ConfigError('redis: namespace must be non-empty, without { or }');
  }
  return Object.freeze(out as ResolvedRedisOptions);
}
