import {
  type AdapterRegistry,
  ConfigError,
  DEFAULT_STORE_URL,
  defaultRegistry,
  openStores,
  type Stores,
} from '@polystore/core';

/** The URL used when the embedded default's adapter is not installed. */
export const FALLBACK_STORE_URL = 'memory:';

/** Options of {@link openComputeStores}. */
export interface OpenComputeStoresOptions {
  /** The store URL; absent or empty means the embedded default {@link DEFAULT_STORE_URL}. */
  readonly url?: string | undefined;
  /** The registry to resolve schemes in (default: core's `defaultRegistry`). */
  readonly registry?: AdapterRegistry;
  /** Where the fallback warning goes (default: stderr). */
  readonly warn?: (message: string) => void;
}

/** The opened stores and the URL they were opened with. */
export interface OpenedComputeStores {
  readonly stores: Stores;
  /** The URL actually opened (may hold a password: print it with `redactUrl`). */
  readonly url: string;
}

/**
 * Opens the service's stores: the given URL, else the embedded SQLite default.
 *
 * Only when no URL was given and the SQLite adapter package is not installed does it fall
 * back to `memory:`, and it says so loudly: a URL the user chose is never replaced.
 */
export async function openComputeStores(
  options: OpenComputeStoresOptions = {},
): Promise<OpenedComputeStores> {
  const registry = options.registry ?? defaultRegistry;
  const explicit = options.url !== undefined && options.url !== '';
  if (explicit) {
    const url = options.url as string;
    return { stores: await openStores(url, { registry }), url };
  }
  try {
    await registry.resolve(new URL(DEFAULT_STORE_URL).protocol.slice(0, -1));
  } catch (err) {
    if (!isMissingPackage(err)) throw err;
    const warn = options.warn ?? ((m: string) => console.error(m));
    warn(
      `WARNING: the embedded default ${DEFAULT_STORE_URL} is not available (${err.message}); ` +
        `falling back to ${FALLBACK_STORE_URL}, which keeps nothing after exit. ` +
        'Set POLYSTORE_URL to choose a backend.',
    );
    return { stores: await openStores(FALLBACK_STORE_URL, { registry }), url: FALLBACK_STORE_URL };
  }
  return { stores: await openStores(DEFAULT_STORE_URL, { registry }), url: DEFAULT_STORE_URL };
}

/** Whether resolving an adapter failed only because its package is not installed. */
function isMissingPackage(err: unknown): err is ConfigError {
  if (!(err instanceof ConfigError)) return false;
  const cause = err.cause as { code?: unknown } | undefined;
  return cause?.code === 'ERR_MODULE_NOT_FOUND';
}
