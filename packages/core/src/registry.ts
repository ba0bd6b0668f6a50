import type { Backend } from './driver.js';
import { ConfigError } from './errors.js';
import { redactUrl } from './redact.js';
import type { Stores, StoresOptions } from './stores.js';

/** What an adapter's `open` receives besides the URL. */
export interface AdapterOpenOptions extends StoresOptions {
  /** Adapter-specific options (pool size, timeouts, ...), documented by each adapter. */
  readonly adapter?: Readonly<Record<string, unknown>>;
  /** The store URL exactly as given: a host list like `mongodb://h1,h2/db` has no WHATWG `URL` form. */
  readonly rawUrl?: string;
}

/**
 * A storage adapter: a URL scheme and a way to open a backend.
 *
 * @example
 * ```ts
 * registry.register({ name: 'mykv', schemes: ['mykv'], open: async (url, opts) => openMyKv(url, opts) });
 * ```
 */
export interface Adapter {
  /** The adapter's name, e.g. `sql`. */
  readonly name: string;
  /** URL schemes it serves, without the colon, e.g. `['postgres', 'postgresql']`. */
  readonly schemes: readonly string[];
  /** Opens a backend for the URL. Fails with `ConfigError` or `UnavailableError`. */
  open(url: URL, options: AdapterOpenOptions): Promise<Backend>;
  /**
   * Optional: opens a ready Stores bag instead of a backend. `openStores` prefers it. For
   * adapters that reach the store API itself, not a driver (a remote server computes scope,
   * ids and versions on its side).
   */
  openStores?(url: URL, options: AdapterOpenOptions): Promise<Stores>;
  /**
   * Optional: the URL of the namespace `namespace` inside the store `url` names (a table or
   * key prefix, a chroot, a database), isolated from every other namespace; two opens of one
   * namespaced URL share data. The conformance suite and test harnesses use it to open fresh
   * stores on one server. Throws `ConfigError` for a URL whose opens share no data (an
   * in-memory SQLite database): no namespace of it can be opened twice.
   *
   * @example
   * ```ts
   * // A key-prefix scheme: mykv://h:7000?prefix=app_ + 'run1' -> mykv://h:7000?prefix=app_run1_
   * namespaceUrl: (url, ns) => {
   *   const out = new URL(url);
   *   out.searchParams.set('prefix', `${url.searchParams.get('prefix') ?? ''}${ns}_`);
   *   return out;
   * },
   * ```
   */
  namespaceUrl?(url: URL, namespace: string): URL;
  /**
   * Optional: what names the store that `url` (with `options`) opens, for the cursor key
   * `openStores` derives when given none: two opens that share data must give the same
   * text. `undefined` says the store is private to this open (its key is then random).
   * Without the hook the URL as given names the store.
   *
   * @example
   * ```ts
   * // An in-process store named by option or URL; unnamed ones are private.
   * storeIdentity: (url, options) => {
   *   const name = url.pathname || String(options.adapter?.name ?? '');
   *   return name === '' ? undefined : `mykv:${name}`;
   * },
   * ```
   */
  storeIdentity?(url: URL, options: AdapterOpenOptions): string | undefined;
}

/** Built-in schemes, the package that serves each and the name it exports its adapter under. */
const BUILTIN_PACKAGES: Readonly<Record<string, readonly [pkg: string, exportName: string]>> = {
  memory: ['@polystore/memory', 'memoryAdapter'],
  sqlite: ['@polystore/sql', 'sqlAdapter'],
  postgres: ['@polystore/sql', 'sqlAdapter'],
  postgresql: ['@polystore/sql', 'sqlAdapter'],
  redis: ['@polystore/redis', 'redisAdapter'],
  rediss: ['@polystore/redis', 'redisAdapter'],
  zookeeper: ['@polystore/zookeeper', 'zookeeperAdapter'],
  mongodb: ['@polystore/mongo', 'mongoAdapter'],
  'mongodb+srv': ['@polystore/mongo', 'mongoAdapter'],
  http: ['@polystore/remote', 'remoteAdapter'],
  https: ['@polystore/remote', 'remoteAdapter'],
};

/**
 * Maps URL schemes to adapters. Instances, not a process-global: tests and plugins may
 * use their own; {@link defaultRegistry} is what `openStores` uses unless told otherwise.
 */
export class AdapterRegistry {
  readonly #adapters = new Map<string, Adapter>();

  /** Registers an adapter under each of its schemes. Registering a taken scheme with another adapter is an error. */
  register(adapter: Adapter): this {
    for (const scheme of adapter.schemes) {
      const s = scheme.toLowerCase();
      const had = this.#adapters.get(s);
      if (had && had !== adapter)
        throw new ConfigError(`scheme ${s}: is already registered by adapter ${had.name}`);
      this.#adapters.set(s, adapter);
    }
    return this;
  }

  /** The schemes with a registered adapter, plus the built-in ones that can be imported. */
  schemes(): string[] {
    return [...new Set([...this.#adapters.keys(), ...Object.keys(BUILTIN_PACKAGES)])].sort();
  }

  /** The adapter for a scheme, importing a built-in adapter package on first use. */
  async resolve(scheme: string): Promise<Adapter> {
    const s = scheme.toLowerCase();
    const found = this.#adapters.get(s);
    if (found) return found;
    const builtin = BUILTIN_PACKAGES[s];
    if (!builtin) {
      throw new ConfigError(
        `no adapter for scheme "${s}:"; accepted schemes: ${this.schemes()
          .map((x) => `${x}:`)
          .join(' ')}`,
      );
    }
    const [pkg, exportName] = builtin;
    let mod: Record<string, unknown>;
    try {
      // A bundler cannot follow this import: bundled services pass `adapters` to openStores.
      mod = (await import(pkg)) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(
        `scheme "${s}:" needs the package ${pkg}: npm install ${pkg}, or pass its adapter to openStores(url, { adapters: [${exportName}] })`,
        { cause: err },
      );
    }
    const adapter = mod[exportName] as Adapter | undefined;
    if (!adapter) throw new ConfigError(`${pkg} does not export ${exportName}`);
    this.register(adapter);
    return adapter;
  }
}

/** The registry `openStores` uses by default. */
export const defaultRegistry = new AdapterRegistry();

/** Parses a store URL, with errors that never print its secrets. */
export function parseStoreUrl(url: string, registry: AdapterRegistry = defaultRegistry): URL {
  if (typeof url !== 'string' || url.length === 0) {
    throw new ConfigError(
      `store URL must be a non-empty string; accepted schemes: ${registry
        .schemes()
        .map((x) => `${x}:`)
        .join(' ')}`,
    );
  }
  try {
    return new URL(url);
  } catch {
    // A host list (`mongodb://h1:27017,h2:27017/db`) is valid for its driver but not for
    // WHATWG URL; parse it with one placeholder host so the scheme still resolves.
    const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#]*,[^/?#]*)(.*)$/i.exec(url);
    if (m) {
      try {
        return new URL(`${m[1]}${m[2] ?? ''}host-list${m[4]}`);
      } catch {
        // fall through to the error below
      }
    }
    throw new ConfigError(
      `malformed store URL ${redactUrl(url)}; expected e.g. sqlite:./data.db, postgres://host/db, redis://host:6379, memory:; accepted schemes: ${registry
        .schemes()
        .map((x) => `${x}:`)
        .join(' ')}`,
    );
  }
}
