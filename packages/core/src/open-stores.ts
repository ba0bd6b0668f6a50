import {
  type AdapterOpenOptions,
  type AdapterRegistry,
  defaultRegistry,
  parseStoreUrl,
} from './registry.js';
import { createStores, type Stores } from './stores.js';

/** Options of {@link openStores}. */
export interface OpenStoresOptions extends AdapterOpenOptions {
  /** The adapter registry to resolve the scheme in (default: {@link defaultRegistry}). */
  readonly registry?: AdapterRegistry;
}

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
 * ```
 */
export async function openStores(url: string, options: OpenStoresOptions = {}): Promise<Stores> {
  const registry = options.registry ?? defaultRegistry;
  const parsed = parseStoreUrl(url, registry);
  const adapter = await registry.resolve(parsed.protocol.slice(0, -1));
  const backend = await adapter.open(parsed, { ...options, rawUrl: url });
  return createStores(backend, options);
}
