import type { Stores, StoresOptions } from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { zookeeperAdapter } from '../src/zookeeper-adapter.js';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import type { ZooKeeperOptions } from '../src/zookeeper-options.js';

/**
 * A Stores bag over a fresh chroot of the server at `url` (or the given `chroot`), opened
 * through the adapter, with its backend (for request and session counts). Takes the Stores
 * options and the adapter's in one object, for brevity. Like `createStores` (and the memory
 * model), cursors are unkeyed unless a `cursorKey` is given, so the two compare equal.
 */
export async function openFresh(
  url: string,
  options: ZooKeeperOptions & StoresOptions = {},
): Promise<{ stores: Stores; backend: ZooKeeperBackend; chroot: string }> {
  const { clock, ids, resources, cursorKey, ...adapter } = options;
  const chroot = adapter.chroot ?? `/${freshNamespace('zk')}`;
  const stores = { clock, ids, resources, cursorKey };
  const backend = (await zookeeperAdapter.open(new URL(url), {
    ...stores,
    adapter: { ...adapter, chroot },
  })) as ZooKeeperBackend;
  return { stores: createStores(backend, stores), backend, chroot };
}
