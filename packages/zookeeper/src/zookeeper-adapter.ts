import type { Adapter, Stores } from '@polystore/core';
import { type AdapterOpenOptions, createStores, parseStoreUrl } from '@polystore/core/adapter';
import { ZooKeeperBackend } from './zookeeper-backend.js';
import { DEFAULT_CHROOT, resolveOptions, type ZooKeeperOptions } from './zookeeper-options.js';

/**
 * Opens a Stores bag over ZooKeeper. Every path lives under the URL's chroot.
 *
 * @example
 * ```ts
 * const stores = await openZooKeeperStores('zookeeper://127.0.0.1:2181/my-app', { requestTimeoutMs: 2000 });
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export async function openZooKeeperStores(
  url: string,
  options: ZooKeeperOptions & AdapterOpenOptions = {},
): Promise<Stores> {
  const backend = await ZooKeeperBackend.open(resolveOptions(parseStoreUrl(url), options), options);
  return createStores(backend, options);
}

/** The `zookeeper:` adapter, imported by core's registry on first use of the scheme. */
export const zookeeperAdapter: Adapter = Object.freeze({
  name: 'zookeeper',
  schemes: ['zookeeper'],
  async open(url: URL, options: AdapterOpenOptions) {
    return ZooKeeperBackend.open(
      resolveOptions(url, (options.adapter ?? {}) as ZooKeeperOptions),
      options,
    );
  },
  /** A namespace is a child chroot: `/app` + `ns` -> `/app/ns` (no path: `/polystore/ns`). */
  namespaceUrl(url: URL, namespace: string) {
    const out = new URL(url);
    out.pathname = `${url.pathname.replace(/\/+$/, '') || DEFAULT_CHROOT}/${namespace}`;
    return out;
  },
});
