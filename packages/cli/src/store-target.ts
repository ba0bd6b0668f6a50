import {
  type Adapter,
  type AdapterRegistry,
  type Backend,
  ConfigError,
  createStores,
  parseStoreUrl,
  type Stores,
  type StoresOptions,
} from '@polystore/core';
import { CliError } from './cli-error.js';

/** An opened store: the adapter, its backend and the Stores bag over it. */
export interface StoreTarget {
  readonly url: URL;
  readonly adapter: Adapter;
  /** The driver backend; absent where the adapter opens a ready Stores bag (a remote server). */
  readonly backend: Backend | undefined;
  readonly stores: Stores;
}

/** The store URL from `--store` (which commander fills from `POLYSTORE_URL`), or a usage error. */
export function requireStoreUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CliError(
      'no store URL: pass --store URL or set POLYSTORE_URL (e.g. sqlite:./data.db, memory:)',
    );
  }
  return value;
}

/**
 * Opens a store URL the way `openStores` does, but keeps the adapter and backend at hand so
 * `doctor` can describe them.
 */
export async function openTarget(
  raw: string,
  registry: AdapterRegistry,
  options: StoresOptions = {},
): Promise<StoreTarget> {
  const url = parseStoreUrl(raw, registry);
  const adapter = await registry.resolve(url.protocol.slice(0, -1));
  if (adapter.openStores) {
    // Such an adapter reaches the store API itself (a remote server): no driver backend here.
    return { url, adapter, backend: undefined, stores: await adapter.openStores(url, options) };
  }
  const backend = await adapter.open(url, options);
  if (backend === null || typeof backend !== 'object') {
    throw new ConfigError(`adapter ${adapter.name} returned no backend`);
  }
  return { url, adapter, backend, stores: createStores(backend, options) };
}
