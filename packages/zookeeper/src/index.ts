/**
 * `@polystore/zookeeper`: the ZooKeeper adapter of polystore. Needs the optional peer
 * `node-zookeeper-client` installed.
 *
 * @example
 * ```ts
 * import { openZooKeeperStores } from '@polystore/zookeeper';
 * const stores = await openZooKeeperStores('zookeeper://127.0.0.1:2181/my-app');
 * ```
 *
 * @packageDocumentation
 */
export {
  type OpenZooKeeperStoresOptions,
  openZooKeeperStores,
  zookeeperAdapter,
} from './zookeeper-adapter.js';
export type { ZooKeeperOptions } from './zookeeper-options.js';
