import { optionalPeer } from '@polystore/core/adapter';
import type Driver from 'node-zookeeper-client';

/** node-zookeeper-client's module (its default export: `createClient`, `Exception`, ...). */
export type ZooKeeperDriver = typeof Driver;

const driver = optionalPeer<ZooKeeperDriver>({
  adapter: 'zookeeper',
  package: 'node-zookeeper-client',
  import: () => import('node-zookeeper-client'),
  // A CommonJS package: its exports object is the ES module's default export.
  pick: (module) => {
    const m = module as { default?: ZooKeeperDriver } & ZooKeeperDriver;
    return m.default ?? m;
  },
});

/**
 * node-zookeeper-client, imported on the first open of the process, so that an install of
 * polystore without ZooKeeper never loads it; missing, a `ConfigError` naming
 * `npm install node-zookeeper-client` (core's `optionalPeer`).
 *
 * @example
 * ```ts
 * const zookeeper = await loadDriver();
 * const client = zookeeper.createClient('127.0.0.1:2181');
 * ```
 */
export const loadDriver = (): Promise<ZooKeeperDriver> => driver.load();

/** Internal, for tests: replaces how the package is imported (`undefined` restores it). */
export const setDriverImporter = driver.setImporter;
