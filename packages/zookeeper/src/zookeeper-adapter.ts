import {
  type Adapter,
  ConfigError,
  type OpenStoresOptions,
  openStores,
  type Stores,
  type StoresOptions,
} from '@polystore/core';
import type { AdapterOpenOptions } from '@polystore/core/adapter';
import { ZooKeeperBackend } from './zookeeper-backend.js';
import {
  resolveZooKeeperOptions,
  ZOOKEEPER_DEFAULTS,
  type ZooKeeperOptions,
} from './zookeeper-options.js';

/** The URL `openZooKeeperStores` opens when given none: a local server, chroot `/polystore`. */
const DEFAULT_URL = 'zookeeper://127.0.0.1:2181';

/** What {@link openZooKeeperStores} takes: the Stores options and the adapter's own. */
export type OpenZooKeeperStoresOptions = StoresOptions & {
  /** The adapter's options (see {@link ZooKeeperOptions}). */
  readonly adapter?: ZooKeeperOptions;
};

/** The `zookeeper:` adapter, imported by core's registry on first use of the scheme. */
export const zookeeperAdapter: Adapter = Object.freeze({
  name: 'zookeeper',
  schemes: ['zookeeper'],
  async open(url: URL, options: AdapterOpenOptions) {
    const adapter = options.adapter ?? {};
    if (typeof adapter !== 'object' || adapter === null || Array.isArray(adapter))
      throw new ConfigError('zookeeper: the adapter options must be an object');
    return ZooKeeperBackend.open(resolveZooKeeperOptions(url, adapter), options);
  },
  /** A namespace is a child chroot: `/app` + `ns` -> `/app/ns` (no path: `/polystore/ns`). */
  namespaceUrl(url: URL, namespace: string) {
    const out = new URL(url);
    out.pathname = `${url.pathname.replace(/\/+$/, '') || ZOOKEEPER_DEFAULTS.chroot}/${namespace}`;
    return out;
  },
});

/**
 * Opens a Stores bag over ZooKeeper, as `openStores(url, { ...options, adapters:
 * [zookeeperAdapter] })`: every znode lives under the URL's chroot.
 *
 * @example
 * ```ts
 * const stores = await openZooKeeperStores('zookeeper://127.0.0.1:2181/my-app', {
 *   adapter: { requestTimeoutMs: 2000 },
 * });
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export function openZooKeeperStores(
  url: string = DEFAULT_URL,
  options: OpenZooKeeperStoresOptions = {},
): Promise<Stores> {
  const { adapter, ...stores } = options;
  const open: OpenStoresOptions = {
    ...stores,
    adapter: { ...adapter },
    adapters: [zookeeperAdapter],
  };
  return openStores(url, open);
}
