import type { Adapter, Stores, StoresOptions } from '@polystore/core';
import { type AdapterOpenOptions, createStores } from '@polystore/core/adapter';
import { MongoBackend } from './mongo-backend.js';
import type { MongoOptions } from './mongo-options.js';

/**
 * The options of `openMongoStores` and `MongoBackend.open`: the store options of core
 * (`resources`, `clock`, `ids`, `cursorKey`) and this adapter's own under `adapter`, the
 * same shape as `openStores(url, { adapter: { ... } })`.
 */
export type OpenMongoStoresOptions = StoresOptions & { readonly adapter?: MongoOptions };

/** The URL `openMongoStores` opens when given none: a local server, database `polystore`. */
const DEFAULT_URL = 'mongodb://127.0.0.1:27017/polystore';

/**
 * Opens a Stores bag over MongoDB (or FerretDB). The database is the URL path (default
 * `polystore`); the adapter's options go under `adapter` (see `MongoOptions`), or in the URL.
 * A replica-set seed list (`mongodb://h1:27017,h2:27017/db`) is accepted as it is.
 *
 * @example
 * ```ts
 * const stores = await openMongoStores('mongodb://127.0.0.1:27017/app?prefix=ps_', {
 *   adapter: { failFastMs: 3000 },
 * });
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export async function openMongoStores(
  url: string = DEFAULT_URL,
  options: OpenMongoStoresOptions = {},
): Promise<Stores> {
  return createStores(await MongoBackend.open(url, options), options);
}

/** The `mongodb:` and `mongodb+srv:` adapter, imported lazily by core's registry. */
export const mongoAdapter: Adapter = Object.freeze({
  name: 'mongo',
  schemes: Object.freeze(['mongodb', 'mongodb+srv']),
  // The raw URL keeps a replica-set host list, which `URL` cannot hold.
  open: (url: URL, options: AdapterOpenOptions) =>
    MongoBackend.open(options.rawUrl ?? url, {
      ...options,
      adapter: options.adapter as MongoOptions | undefined,
    }),
  /**
   * In a URL that names a database, a namespace is a collection prefix in it:
   * `/db?prefix=app_` + `ns` -> `/db?prefix=app_ns_`. In one that names none (`mongodb://h/`),
   * it is a database of its own: `ns` -> `mongodb://h/ns`, so namespaces that share nothing
   * share no FerretDB file either (it keeps a database in one file: no contention for its
   * lock, no DDL slowed by thousands of other stores' tables).
   */
  namespaceUrl: (url: URL, namespace: string) => {
    const out = new URL(url);
    if (url.pathname === '' || url.pathname === '/') out.pathname = `/${namespace}`;
    else out.searchParams.set('prefix', `${url.searchParams.get('prefix') ?? ''}${namespace}_`);
    return out;
  },
});
