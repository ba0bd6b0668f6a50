import type { Adapter, Stores } from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { MemoryBackend } from './memory-backend.js';
import type { MemoryOptions } from './memory-options.js';
import { MemoryDatabase } from './memory-table.js';

const named = new Map<string, MemoryDatabase>();

function databaseFor(name: string | undefined): MemoryDatabase {
  if (!name) return new MemoryDatabase();
  let db = named.get(name);
  if (!db) {
    db = new MemoryDatabase();
    named.set(name, db);
  }
  return db;
}

/**
 * Opens an in-memory Stores bag: the reference model and the fastest test double.
 *
 * @example
 * ```ts
 * const stores = openMemoryStores();
 * const a = openMemoryStores({ name: 'shared' });
 * const b = openMemoryStores({ name: 'shared' }); // sees what a writes
 * ```
 */
export function openMemoryStores(options: MemoryOptions = {}): Stores {
  return createStores(new MemoryBackend(databaseFor(options.name), options), options);
}

/** The `memory:` adapter; `memory:<name>` shares a named in-process database. */
export const memoryAdapter: Adapter = {
  name: 'memory',
  schemes: ['memory'],
  async open(url, options) {
    const name = decodeURIComponent(url.pathname);
    return new MemoryBackend(databaseFor(name || undefined), name ? { ...options, name } : options);
  },
  /** A namespace is a named database: `memory:` + `ns` -> `memory:ns`, `memory:app` -> `memory:app_ns`. */
  namespaceUrl(url, namespace) {
    // `memory:<name>` has an opaque path that URL cannot set: rebuild it.
    const name = decodeURIComponent(url.pathname);
    return new URL(
      `memory:${encodeURIComponent(name ? `${name}_${namespace}` : namespace)}${url.search}`,
    );
  },
};
Object.freeze(memoryAdapter);
