import { ConfigError } from '@polystore/core';
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

type Importers = { [K in DriverLibraryName]: () => Promise<DriverLibraries[K]> };

const IMPORTS: Importers = Object.freeze({
  pg: () => import('pg'),
  'better-sqlite3': () => import('better-sqlite3'),
});

const SCHEMES: Readonly<Record<DriverLibraryName, string>> = Object.freeze({
  pg: 'postgres: and postgresql:',
  'better-sqlite3': 'sqlite:',
});

let importers: Importers = { ...IMPORTS };
const loaded = new Map<DriverLibraryName, Promise<unknown>>();

/**
 * The driver library `name`, imported once per process. A library that is not installed
 * (or fails to load, e.g. a native binding built for another Node) is a `ConfigError`
 * naming the package and the `npm install` command; a failed import is tried again on the
 * next open.
 *
 * @example
 * ```ts
 * const { default: pg } = await loadDriver('pg');
 * ```
 */
export function loadDriver<K extends DriverLibraryName>(name: K): Promise<DriverLibraries[K]> {
  let library = loaded.get(name);
  if (library === undefined) {
    library = importers[name]().catch((err: unknown) => {
      loaded.delete(name);
      throw notLoaded(name, err);
    });
    loaded.set(name, library);
  }
  return library as Promise<DriverLibraries[K]>;
}

function notLoaded(name: DriverLibraryName, err: unknown): ConfigError {
  const code = (err as { code?: unknown } | null)?.code;
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to load url/.test(String((err as Error)?.message));
  const why = missing
    ? 'is not installed'
    : `failed to load (${String((err as Error)?.message ?? err)})`;
  return new ConfigError(
    `sql: ${SCHEMES[name]} URLs need the ${name} package, which ${why}: npm install ${name}`,
    { cause: err },
  );
}

/**
 * Internal, for tests: replaces how `name` is imported (`undefined` restores the real
 * import) and forgets the library if it was loaded, so the next open imports it again.
 */
export function setDriverImporter<K extends DriverLibraryName>(
  name: K,
  importer: (() => Promise<DriverLibraries[K]>) | undefined,
): void {
  importers = { ...importers, [name]: importer ?? IMPORTS[name] };
  loaded.delete(name);
}
