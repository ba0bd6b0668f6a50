import { type Adapter, ConfigError, type Stores } from '@polystore/core';
import { type AdapterOpenOptions, createStores } from '@polystore/core/adapter';
import { MongoBackend } from './mongo-backend.js';
import type { MongoOptions } from './mongo-options.js';

/**
 * Opens a Stores bag over MongoDB (or FerretDB). The database is the URL path
 * (default `polystore`), `?prefix=` prefixes every collection name.
 *
 * @example
 * ```ts
 * const stores = await openMongoStores('mongodb://127.0.0.1:27017/app?prefix=ps_');
 * const vm = await stores.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
 * ```
 */
export async function openMongoStores(url: string, options: MongoOptions = {}): Promise<Stores> {
  return createStores(await MongoBackend.open(url, options), options);
}

const NUMBER_OPTIONS = [
  'failFastMs',
  'serverSelectionTimeoutMS',
  'connectTimeoutMS',
  'socketTimeoutMS',
  'maxPoolSize',
  'claimTimeoutMS',
] as const;
const STRING_OPTIONS = ['database', 'prefix'] as const;

/** The adapter-specific part of `openStores` options, checked. */
function adapterOptions(options: AdapterOpenOptions): MongoOptions {
  const given = options.adapter ?? {};
  const out: Record<string, unknown> = { ...options };
  delete out.adapter;
  delete out.rawUrl;
  for (const [key, value] of Object.entries(given)) {
    const ok =
      ((NUMBER_OPTIONS as readonly string[]).includes(key) &&
        Number.isSafeInteger(value) &&
        (value as number) > 0) ||
      ((STRING_OPTIONS as readonly string[]).includes(key) && typeof value === 'string') ||
      ((key === 'serializeWrites' || key === 'claimWrites') && typeof value === 'boolean') ||
      (key === 'clientOptions' && typeof value === 'object' && value !== null);
    if (!ok) throw new ConfigError(`mongo: bad adapter option ${key}`);
    out[key] = value;
  }
  return out as MongoOptions;
}

/** The `mongodb:` and `mongodb+srv:` adapter, imported lazily by core's registry. */
export const mongoAdapter: Adapter = Object.freeze({
  name: 'mongo',
  schemes: Object.freeze(['mongodb', 'mongodb+srv']),
  // The raw URL keeps a replica-set host list, which `URL` cannot hold.
  open: (url: URL, options: AdapterOpenOptions) =>
    MongoBackend.open(options.rawUrl ?? url, adapterOptions(options)),
  /** A namespace is a collection prefix: `?prefix=app_` + `ns` -> `?prefix=app_ns_`. */
  namespaceUrl: (url: URL, namespace: string) => {
    const out = new URL(url);
    out.searchParams.set('prefix', `${url.searchParams.get('prefix') ?? ''}${namespace}_`);
    return out;
  },
});
