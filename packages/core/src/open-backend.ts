import { CursorKey } from './cursor-key.js';
import type { Backend } from './driver.js';
import { ConfigError, SchemaBehindError } from './errors.js';
import { redactUrl } from './redact.js';
import {
  type Adapter,
  type AdapterOpenOptions,
  type AdapterRegistry,
  defaultRegistry,
  parseStoreUrl,
} from './registry.js';
import {
  describeElements,
  elementsMinus,
  elementsOf,
  type SchemaElements,
} from './schema/elements.js';
import type { AnyResource } from './schema/resource.js';
import { createStores, resourcesOf, type Stores, type StoresOptions } from './stores.js';

/** Options of {@link openStores} and {@link openBackend}. */
export interface OpenStoresOptions extends AdapterOpenOptions {
  /** The adapter registry to resolve the scheme in (default: {@link defaultRegistry}). */
  readonly registry?: AdapterRegistry;
  /**
   * Adapters to use before any registry lookup, e.g. `[sqlAdapter]`. Pass them where the
   * service is bundled (esbuild, webpack, Yarn PnP): the registry's lazy
   * `import('@polystore/<x>')` cannot be followed by a bundler.
   */
  readonly adapters?: readonly Adapter[];
  /**
   * Whether the open refuses a store that lacks elements the code's definitions need,
   * with {@link SchemaBehindError} (default `true`). Only tools that add those elements
   * (`polystore schema expand`) turn it off.
   */
  readonly checkSchema?: boolean;
}

/** A store opened by {@link openBackend}: the adapter, its backend and the Stores bag over it. */
export interface OpenedBackend {
  /** The parsed store URL. */
  readonly url: URL;
  /** The adapter that serves the URL's scheme. */
  readonly adapter: Adapter;
  /** The driver backend; `undefined` where the adapter opens a ready Stores bag (a remote server). */
  readonly backend: Backend | undefined;
  /** The Stores bag; closing it closes the backend. */
  readonly stores: Stores;
}

/**
 * Opens a store URL and keeps the adapter and backend at hand: the one open sequence, which
 * `openStores` and tools that describe a store (`polystore doctor`) share.
 *
 * @example
 * ```ts
 * const { adapter, backend, stores } = await openBackend('sqlite:./data.db');
 * console.log(adapter.name, backend?.describe?.());
 * await stores.close();
 * ```
 */
export async function openBackend(
  url: string,
  options: OpenStoresOptions = {},
): Promise<OpenedBackend> {
  const registry = options.registry ?? defaultRegistry;
  const parsed = parseStoreUrl(url, registry);
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  const adapter =
    options.adapters?.find((a) => a.schemes.some((x) => x.toLowerCase() === scheme)) ??
    (await registry.resolve(scheme));
  const { adapters: _adapters, registry: _registry, checkSchema: _check, ...rest } = options;
  const adapterOptions: AdapterOpenOptions = { ...rest, rawUrl: url };
  if (adapter.openStores) {
    // Such an adapter reaches the store API itself (a remote server): no driver backend here.
    const stores = await adapter.openStores(parsed, adapterOptions);
    return { url: parsed, adapter, backend: undefined, stores };
  }
  const backend = await adapter.open(parsed, adapterOptions);
  if (backend === null || typeof backend !== 'object') {
    throw new ConfigError(`adapter ${adapter.name} returned no backend`);
  }
  const stores = await createCheckedStores(
    backend,
    {
      ...options,
      cursorKey: options.cursorKey ?? defaultCursorKey(adapter, parsed, url, adapterOptions),
    },
    url,
  );
  return { url: parsed, adapter, backend, stores };
}

/**
 * `createStores` for an adapter's own `open<X>Stores`, with what `openStores` checks: the
 * store must have every element the opened resources' current versions need (else
 * `SchemaBehindError`, unless `checkSchema: false`), and queries on fields the store
 * records as write-only are refused. Closes the backend when it fails.
 *
 * @example
 * ```ts
 * export async function openMyKvStores(url: string, options: OpenMyKvStoresOptions = {}) {
 *   return createCheckedStores(await MyKvBackend.open(url, options), options, url);
 * }
 * ```
 */
export async function createCheckedStores(
  backend: Backend,
  options: StoresOptions & { readonly checkSchema?: boolean } = {},
  url = backend.name,
): Promise<Stores> {
  try {
    const writeOnly =
      options.checkSchema === false
        ? await readWriteOnly(backend, resourcesOf(options))
        : await checkSchema(backend, resourcesOf(options), url);
    return createStores(backend, options, writeOnly);
  } catch (err) {
    // A refused schema or a bad Stores option must not leave the adapter's connections behind.
    await backend.close().catch(() => {});
    throw err;
  }
}

/**
 * Refuses a store that lacks elements the opened resources' current versions need (newer
 * code on a store nobody expanded): before any call is served, so nothing is written in a
 * layout the code cannot keep. Elements the store has beyond them (newer code expanded it)
 * are fine. Backends that do not record their elements are not checked. Returns the
 * write-only fields of each resource.
 */
async function checkSchema(
  backend: Backend,
  resources: readonly AnyResource[],
  url: string,
): Promise<Map<AnyResource, readonly string[]>> {
  const writeOnly = new Map<AnyResource, readonly string[]>();
  if (typeof backend.appliedElements !== 'function') return writeOnly;
  for (const resource of resources) {
    const pending = checkAppliedElements(resource, await backend.appliedElements(resource), url);
    if (pending.length > 0) writeOnly.set(resource, pending);
  }
  return writeOnly;
}

/**
 * Throws `SchemaBehindError` when `applied` (what a store records for `resource`) lacks an
 * element the resource's current version needs; returns the write-only fields. The check
 * `openStores` runs, for an adapter whose open reads its elements synchronously.
 */
export function checkAppliedElements(
  resource: AnyResource,
  applied: SchemaElements,
  url: string,
): readonly string[] {
  const missing = describeElements(elementsMinus(elementsOf(resource), applied));
  if (missing.length > 0) {
    throw new SchemaBehindError(
      resource.name,
      missing,
      `polystore schema expand --store ${redactUrl(url)} --module <the module that exports ${resource.name}>`,
    );
  }
  return applied.pending ?? [];
}

/** The write-only fields the store records, for a store opened without the check. */
async function readWriteOnly(
  backend: Backend,
  resources: readonly AnyResource[],
): Promise<Map<AnyResource, readonly string[]>> {
  const writeOnly = new Map<AnyResource, readonly string[]>();
  if (typeof backend.appliedElements !== 'function') return writeOnly;
  for (const resource of resources) {
    const { pending } = await backend.appliedElements(resource);
    if (pending?.length) writeOnly.set(resource, pending);
  }
  return writeOnly;
}

/**
 * The cursor key when `openStores` is given none. Every replica of a service opens the same
 * URL, so a key derived from it lets a page fetched from one replica continue on another
 * with no setup; it includes the URL's credentials where it has them, so a client that does
 * not know the URL cannot sign a cursor. A URL without a secret in it (a SQLite path, a
 * password-less Redis) is guessable: give such stores an explicit `cursorKey`. An adapter
 * names its stores otherwise through `Adapter.storeIdentity` (memory: the database's name,
 * or none for a private `memory:` store, whose key is then random so that a cursor of one
 * such store is refused by every other).
 */
function defaultCursorKey(
  adapter: Adapter,
  url: URL,
  raw: string,
  options: AdapterOpenOptions,
): CursorKey {
  const identity = adapter.storeIdentity ? adapter.storeIdentity(url, options) : raw;
  return identity === undefined ? CursorKey.random() : CursorKey.fromStoreUrl(identity);
}
