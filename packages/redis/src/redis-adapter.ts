import type { Adapter, Stores, StoresOptions } from '@polystore/core';
import {
  type AdapterOpenOptions,
  createStores,
  parseStoreUrl,
  resourcesOf,
} from '@polystore/core/adapter';
import { RedisBackend } from './redis-backend.js';
import { RedisConnection, redisEndpoint } from './redis-connection.js';
import { type RedisOptions, resolveRedisOptions } from './redis-options.js';

/** What {@link openRedisStores} takes: the Stores options and the adapter's own options. */
export type OpenRedisStoresOptions = StoresOptions & { readonly adapter?: RedisOptions };

/**
 * Connects and returns the backend (what the adapter's `open` returns). Fails with
 * `ConfigError` on a malformed URL or option, `UnavailableError` when the server cannot be
 * reached within the connect timeout.
 */
export async function openRedisBackend(
  url: string | URL,
  options: AdapterOpenOptions = {},
): Promise<RedisBackend> {
  const parsed = typeof url === 'string' ? parseStoreUrl(url) : url;
  const resources = resourcesOf(options);
  const endpoint = redisEndpoint(parsed);
  const resolved = resolveRedisOptions(parsed, options.adapter as RedisOptions | undefined);
  const connection = await RedisConnection.open(endpoint, resolved);
  const backend = new RedisBackend(connection, resolved.prefix, resolved.namespace, resources);
  try {
    await backend.recordNewSchemas();
  } catch (err) {
    await connection.close();
    throw err;
  }
  return backend;
}

/**
 * Opens a Stores bag over Redis (by default `redis://localhost:6379`, database 0).
 *
 * @example
 * ```ts
 * const stores = await openRedisStores('redis://127.0.0.1:6379/0', { adapter: { namespace: 'nova' } });
 * const ctx = createContext({ projectId: 'p1' });
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export async function openRedisStores(
  url: string | URL = 'redis://localhost:6379',
  options: OpenRedisStoresOptions = {},
): Promise<Stores> {
  const backend = await openRedisBackend(url, options as AdapterOpenOptions);
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
  open: (url, options) => openRedisBackend(url, options),
  /** A namespace is a key namespace: `?namespace=app` + `ns` -> `?namespace=app_ns` (one hash slot). */
  namespaceUrl(url, namespace) {
    const out = new URL(url);
    const had = url.searchParams.get('namespace');
    out.searchParams.set('namespace', had ? `${had}_${namespace}` : namespace);
    return out;
  },
};
Object.freeze(redisAdapter);
