import { type OpenStoresOptions, openBackend } from './open-backend.js';
import type { Stores } from './stores.js';

export type { OpenStoresOptions } from './open-backend.js';

/** The embedded default store URL. */
export const DEFAULT_STORE_URL = 'sqlite:./.data/polystore.db';

/**
 * Opens the Stores bag for a URL; the scheme picks the backend.
 *
 * @example
 * ```ts
 * const stores = await openStores(process.env.POLYSTORE_URL ?? DEFAULT_STORE_URL);
 * const svc = new ComputeService(stores);
 * // postgres://…  sqlite:…  redis://…  zookeeper://host:2181/chroot  mongodb://…  memory:
 *
 * // Replicas behind a load balancer continue each other's pages: same URL, same key.
 * const shared = await openStores(url, { cursorKey: process.env.POLYSTORE_CURSOR_KEY });
 * ```
 */
export async function openStores(url: string, options: OpenStoresOptions = {}): Promise<Stores> {
  return (await openBackend(url, options)).stores;
}
