import type { Adapter, Stores } from '@polystore/core';
import { type AdapterOpenOptions, createStores } from '@polystore/core/adapter';
import { MongoBackend } from './mongo-backend.js';
import type { MongoOptions, OpenMongoStoresOptions } from './mongo-options.js';

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
  /** A namespace is a collection prefix: `?prefix=app_` + `ns` -> `?prefix=app_ns_`. */
  namespaceUrl: (url: URL, namespace: string) => {
    const out = new URL(url);
    out.searchParams.set('prefix', `${url.searchParams.get('prefix') ?? ''}${namespace}_`);
    return out;
  },
});
