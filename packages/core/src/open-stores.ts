import { CursorKey } from './cursor-key.js';
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
 *
 * // Replicas behind a load balancer continue each other's pages: same URL, same key.
 * const shared = await openStores(url, { cursorKey: process.env.POLYSTORE_CURSOR_KEY });
 * ```
 */
export async function openStores(url: string, options: OpenStoresOptions = {}): Promise<Stores> {
  const registry = options.registry ?? defaultRegistry;
  const parsed = parseStoreUrl(url, registry);
  const adapter = await registry.resolve(parsed.protocol.slice(0, -1));
  if (adapter.openStores) return adapter.openStores(parsed, { ...options, rawUrl: url });
  const backend = await adapter.open(parsed, { ...options, rawUrl: url });
  return createStores(backend, {
    ...options,
    cursorKey: options.cursorKey ?? defaultCursorKey(parsed, url),
  });
}

/**
 * The cursor key when `openStores` is given none. Every replica of a service opens the same
 * URL, so a key derived from it lets a page fetched from one replica continue on another
 * with no setup; it includes the URL's credentials where it has them, so a client that does
 * not know the URL cannot sign a cursor. A URL without a secret in it (a SQLite path, a
 * password-less Redis) is guessable: give such stores an explicit `cursorKey`. An unnamed
 * `memory:` store is private to this open, so its key is random: a cursor of one such
 * store is refused by every other.
 */
function defaultCursorKey(url: URL, raw: string): CursorKey {
  if (url.protocol === 'memory:' && url.pathname === '') return CursorKey.random();
  return CursorKey.fromStoreUrl(raw);
}
