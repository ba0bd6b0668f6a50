import {
  type Adapter,
  type AdapterRegistry,
  ConfigError,
  DEFAULT_STORE_URL,
  defaultRegistry,
  openStores,
  type Stores,
} from '@polystore/core';
import { memoryAdapter } from '@polystore/memory';
import { sqlAdapter } from '@polystore/sql';

/**
 * The adapters the service is built with (`memory:`, `sqlite:`, `postgres:`), passed to
 * `openStores` so that a bundler sees them. Other schemes (`redis:`, `zookeeper:`,
 * `mongodb:`) still resolve through core's registry when their package is installed.
 */
export const COMPUTE_ADAPTERS: readonly Adapter[] = Object.freeze([memoryAdapter, sqlAdapter]);

/** The URL used when the embedded default's SQLite binding (`better-sqlite3`) is not installed. */
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
 * Only when no URL was given and the SQLite binding (`better-sqlite3`) is not installed does
 * it fall back to `memory:`, and it says so loudly: a URL the user chose is never replaced.
 */
export async function openComputeStores(
  options: OpenComputeStoresOptions = {},
): Promise<OpenedComputeStores> {
  const open = { adapters: COMPUTE_ADAPTERS, registry: options.registry ?? defaultRegistry };
  if (options.url !== undefined && options.url !== '') {
    return { stores: await openStores(options.url, open), url: options.url };
  }
  try {
    return { stores: await openStores(DEFAULT_STORE_URL, open), url: DEFAULT_STORE_URL };
  } catch (err) {
    if (!isMissingPackage(err)) throw err;
    const warn = options.warn ?? ((m: string) => console.error(m));
    warn(
      `WARNING: the embedded default ${DEFAULT_STORE_URL} is not available (${err.message}); ` +
        `falling back to ${FALLBACK_STORE_URL}, which keeps nothing after exit. ` +
        'Set POLYSTORE_URL to choose a backend.',
    );
    return { stores: await openStores(FALLBACK_STORE_URL, open), url: FALLBACK_STORE_URL };
  }
}

/** Whether opening failed only because a package (e.g. the SQLite binding) is not installed. */
function isMissingPackage(err: unknown): err is ConfigError {
  if (!(err instanceof ConfigError)) return false;
  const cause = err.cause as { code?: unknown } | undefined;
  return cause?.code === 'ERR_MODULE_NOT_FOUND' || cause?.code === 'MODULE_NOT_FOUND';
}
