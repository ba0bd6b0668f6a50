import type { Stores, StoresOptions } from '@polystore/core';
import { openBackend } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { zookeeperAdapter } from '../src/zookeeper-adapter.js';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import type { ZooKeeperOptions } from '../src/zookeeper-options.js';

/**
 * A Stores bag over a fresh chroot of the server at `url` (or the given `chroot`), opened
 * the way `openStores` does, with its backend (for request and session counts). Takes the
 * Stores options and the adapter's in one object, for brevity.
 */
export async function openFresh(
  url: string,
  options: ZooKeeperOptions & StoresOptions = {},
): Promise<{ stores: Stores; backend: ZooKeeperBackend; chroot: string }> {
  const { clock, ids, resources, cursorKey, ...adapter } = options;
  const chroot = adapter.chroot ?? `/${freshNamespace('zk')}`;
  const opened = await openBackend(url, {
    clock,
    ids,
    resources,
    cursorKey,
    adapter: { ...adapter, chroot },
    adapters: [zookeeperAdapter],
  });
  return { stores: opened.stores, backend: opened.backend as ZooKeeperBackend, chroot };
}
