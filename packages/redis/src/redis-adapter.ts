import type { Adapter, Stores } from '@polystore/core';
import { createStores, parseStoreUrl } from '@polystore/core/adapter';
import { RedisBackend } from './redis-backend.js';
import { RedisConnection } from './redis-connection.js';
import { pickRedisOptions, type RedisOptions, resolveRedisConfig } from './redis-options.js';

/**
 * Connects and returns the backend (what the adapter's `open` returns). Fails with
 * `ConfigError` on a malformed URL or option, `UnavailableError` when the server cannot be
 * reached within the connect timeout.
 */
export async function openRedisBackend(
  url: string | URL,
  options: RedisOptions = {},
): Promise<RedisBackend> {
  const config = resolveRedisConfig(typeof url === 'string' ? parseStoreUrl(url) : url, options);
  const connection = await RedisConnection.open(config);
  return new RedisBackend(connection, config.prefix, config.namespace);
}

/**
 * Opens a Stores bag over Redis.
 *
 * @example
 * ```ts
 * const stores = await openRedisStores('redis://127.0.0.1:6379/0', { namespace: 'nova' });
 * const ctx = createContext({ projectId: 'p1' });
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export async function openRedisStores(
  url: string | URL,
  options: RedisOptions = {},
): Promise<Stores> {
  const backend = await openRedisBackend(url, options);
  try {
    return createStores(backend, options);
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/** The `redis:` / `rediss:` adapter, imported by core's registry on first use of the scheme. */
export const redisAdapter: Adapter = {
  name: 'redis',
  schemes: Object.freeze(['redis', 'rediss']),
  async open(url, options) {
    return openRedisBackend(url, {
      ...pickRedisOptions(options.adapter, 'adapter.'),
      ...(options.resources ? { resources: options.resources } : {}),
    });
  },
  /** A namespace is a key namespace: `?namespace=app` + `ns` -> `?namespace=app_ns` (one hash slot). */
  namespaceUrl(url, namespace) {
    const out = new URL(url);
    const had = url.searchParams.get('namespace');
    out.searchParams.set('namespace', had ? `${had}_${namespace}` : namespace);
    return out;
  },
};
Object.freeze(redisAdapter);
