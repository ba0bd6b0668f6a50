export { keyspace, MEMBER_SEPARATOR, ResourceLayout } from './layout.js';
export {
  type OpenRedisStoresOptions,
  openRedisBackend,
  openRedisStores,
  redisAdapter,
} from './redis-adapter.js';
export { RedisAddressAllocator } from './redis-address-allocator.js';
export { REDIS_CAPABILITIES, RedisBackend } from './redis-backend.js';
export { RedisConnection } from './redis-connection.js';
export { REDIS_DEFAULTS, type RedisOptions } from './redis-options.js';
export { RedisResourceDriver } from './redis-resource-driver.js';
