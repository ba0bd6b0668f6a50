import type { Stores, StoresOptions } from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { resolveOptions, ZooKeeperBackend, type ZooKeeperOptions } from '../src/index.js';

/** A Stores bag over a fresh chroot of the server at `url`, with its backend (for request counts). */
export async function openFresh(
  url: string,
  options: ZooKeeperOptions & StoresOptions = {},
): Promise<{ stores: Stores; backend: ZooKeeperBackend; chroot: string }> {
  const chroot = options.chroot ?? `/${freshNamespace('zk')}`;
  const backend = await ZooKeeperBackend.open(
    resolveOptions(new URL(url), { ...options, chroot }),
    options,
  );
  return { stores: createStores(backend, options), backend, chroot };
}
