/**
 * `@polystore/redis`: polystore's stores on Redis. Most services only name a `redis:` URL in
 * `openStores`; this package's exports are for bundling the adapter and for the typed
 * options.
 *
 * @packageDocumentation
 */
export { type OpenRedisStoresOptions, openRedisStores, redisAdapter } from './redis-adapter.js';
export type { RedisOptions } from './redis-options.js';
