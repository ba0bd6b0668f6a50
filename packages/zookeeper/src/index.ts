export { decodeString, encodeValue, ResourceLayout, STATE_INDEX, VERSION_INDEX } from './layout.js';
export {
  type OpenZooKeeperStoresOptions,
  openZooKeeperStores,
  zookeeperAdapter,
} from './zookeeper-adapter.js';
export { ZooKeeperAddressAllocator } from './zookeeper-address-allocator.js';
export { ZOOKEEPER_CAPABILITIES, ZooKeeperBackend } from './zookeeper-backend.js';
export {
  type ResolvedZooKeeperOptions,
  resolveZooKeeperOptions,
  ZOOKEEPER_DEFAULTS,
  type ZooKeeperOptions,
} from './zookeeper-options.js';
export { ZooKeeperResourceDriver } from './zookeeper-resource-driver.js';
