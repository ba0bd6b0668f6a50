import { type OptionalPeer, optionalPeer } from '@polystore/core/adapter';
import type BetterSqlite3 from 'better-sqlite3';
import type Pg from 'pg';

/**
 * The client libraries of the dialects, as their modules' default exports. Each is an
 * optional peer dependency of this package, imported the first time a URL of its dialect is
 * opened: a PostgreSQL user installs and loads only `pg`, a SQLite user only `better-sqlite3`.
 */
export interface DriverLibraries {
  /** PostgreSQL's client, for `postgres:` and `postgresql:` URLs. */
  readonly pg: { readonly default: typeof Pg };
  /** SQLite's binding, for `sqlite:` URLs. */
  readonly 'better-sqlite3': { readonly default: typeof BetterSqlite3 };
}

/** The npm name of a driver library. */
export type DriverLibraryName = keyof DriverLibraries;

const PEERS: { readonly [K in DriverLibraryName]: OptionalPeer<DriverLibraries[K]> } = {
  pg: optionalPeer({
    adapter: 'sql',
    package: 'pg',
    neededBy: 'postgres: and postgresql: URLs',
    import: () => import('pg'),
  }),
  'better-sqlite3': optionalPeer({
    adapter: 'sql',
    package: 'better-sqlite3',
    neededBy: 'sqlite: URLs',
    import: () => import('better-sqlite3'),
  }),
};

/**
 * The driver library `name`, imported once per process; missing or failing to load (a
 * native binding built for another Node), a `ConfigError` naming `npm install <name>`
 * (core's `optionalPeer`), tried again on the next open.
 *
 * @example
 * ```ts
 * const { default: pg } = await loadDriver('pg');
 * ```
 */
export function loadDriver<K extends DriverLibraryName>(name: K): Promise<DriverLibraries[K]> {
  return PEERS[name].load();
}

/**
 * Internal, for tests: replaces how `name` is imported (`undefined` restores the real
 * import) and forgets the library if it was loaded, so the next open imports it again.
 */
export function setDriverImporter<K extends DriverLibraryName>(
  name: K,
  importer: (() => Promise<DriverLibraries[K]>) | undefined,
): void {
  PEERS[name].setImporter(importer);
}
