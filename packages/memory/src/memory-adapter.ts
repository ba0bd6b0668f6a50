import {
  type Adapter,
  type AnyResource,
  ConfigError,
  type Stores,
  type StoresOptions,
} from '@polystore/core';
import { checkAppliedElements, createStores } from '@polystore/core/adapter';
import { MemoryBackend } from './memory-backend.js';
import { MemoryDatabase } from './memory-database.js';
import { type MemoryOptions, resolveMemoryOptions } from './memory-options.js';

/** Options of {@link openMemoryStores}: the Stores options and the adapter's own. */
export interface OpenMemoryStoresOptions extends StoresOptions {
  /** The adapter's options, as `openStores('memory:', { adapter })` takes them. */
  readonly adapter?: MemoryOptions;
  /**
   * Shorthand for `adapter.name`, kept because most tests open named databases as
   * `openMemoryStores({ name, clock, ids })`. Given both ways, they must agree.
   */
  readonly name?: string;
}

/** The database a resolved name opens: the shared one of that name, or a fresh private one. */
function databaseFor(name: string): MemoryDatabase {
  return name === '' ? new MemoryDatabase() : MemoryDatabase.named(name);
}

/**
 * Opens an in-memory Stores bag: the reference model and the fastest test double. It is
 * synchronous (nothing to connect to); `url` defaults to `memory:` (a private database).
 * Fails with `ConfigError` on a bad URL or option.
 *
 * @example
 * ```ts
 * const stores = openMemoryStores({ clock, ids });
 * const a = openMemoryStores({ adapter: { name: 'shared' } });
 * const b = openMemoryStores('memory:shared'); // sees what a writes
 * const c = openMemoryStores({ name: 'shared' }); // the shorthand: also the same database
 * ```
 */
export function openMemoryStores(options?: OpenMemoryStoresOptions): Stores;
export function openMemoryStores(url: string | URL, options?: OpenMemoryStoresOptions): Stores;
export function openMemoryStores(
  first?: string | URL | OpenMemoryStoresOptions,
  second?: OpenMemoryStoresOptions,
): Stores {
  const withUrl = typeof first === 'string' || first instanceof URL;
  const url = parseMemoryUrl(withUrl ? first : 'memory:');
  const { adapter, name, ...storesOptions } = (withUrl ? second : first) ?? {};
  if (name !== undefined && adapter?.name !== undefined && name !== adapter.name) {
    throw new ConfigError(
      `memory: name ${JSON.stringify(name)} and adapter.name ${JSON.stringify(adapter.name)} differ`,
    );
  }
  const resolved = resolveMemoryOptions(url, name === undefined ? adapter : { ...adapter, name });
  const backend = new MemoryBackend(databaseFor(resolved.name), {
    ...storesOptions,
    name: resolved.name,
  });
  // What openStores checks, synchronously: the shared database may lack elements this
  // code needs (another definition created the table), and may hold write-only fields.
  const writeOnly = new Map<AnyResource, readonly string[]>();
  try {
    for (const [resource, applied] of backend.appliedAtOpen()) {
      const pending = checkAppliedElements(resource, applied, url.href);
      if (pending.length > 0) writeOnly.set(resource, pending);
    }
  } catch (err) {
    void backend.close();
    throw err;
  }
  return createStores(backend, storesOptions, writeOnly);
}

function parseMemoryUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new ConfigError(`memory: not a URL: ${url}`);
  }
}

/**
 * The `memory:` adapter: `memory:` opens a fresh private database, `memory:<name>` the
 * in-process database of that name, shared by every open of it.
 *
 * @example
 * ```ts
 * const stores = await openStores('memory:app', { adapters: [memoryAdapter] });
 * ```
 */
export const memoryAdapter: Adapter = {
  name: 'memory',
  schemes: ['memory'],
  async open(url, options) {
    const { name } = resolveMemoryOptions(url, options.adapter);
    return new MemoryBackend(databaseFor(name), { ...options, name });
  },
  /** A named database is one store however it was named (URL or option); `memory:` alone is private. */
  storeIdentity(url, options) {
    const { name } = resolveMemoryOptions(url, options.adapter);
    return name === '' ? undefined : `memory:${name}`;
  },
  /** A namespace is a named database: `memory:` + `ns` -> `memory:ns`, `memory:app` -> `memory:app_ns`. */
  namespaceUrl(url, namespace) {
    // `memory:<name>` has an opaque path that URL cannot set: rebuild it.
    const { name } = resolveMemoryOptions(url);
    return new URL(`memory:${encodeURIComponent(name ? `${name}_${namespace}` : namespace)}`);
  },
};
Object.freeze(memoryAdapter);
