import { type Adapter, ConfigError, type Stores, type StoresOptions } from '@polystore/core';
import {
  type AdapterOpenOptions,
  createCheckedStores,
  KeyedQueue,
  keepTimerList,
  parseStoreUrl,
  resourcesOf,
} from '@polystore/core/adapter';
import { postgresAllocate } from './dialect/postgres-allocate.js';
import { connectPostgres, POOL_IDLE_MS } from './dialect/postgres-connect.js';
import { postgresSupport } from './dialect/postgres-dialect-support.js';
import { sqliteAllocate } from './dialect/sqlite-allocate.js';
import { connectSqlite, sqlitePath } from './dialect/sqlite-connect.js';
import { sqliteSupport } from './dialect/sqlite-dialect-support.js';
import { toCoreError } from './errors.js';
import { SqlBackend } from './sql-backend.js';
import { resolveSqlOptions, type SqlOptions } from './sql-options.js';

/** Opens of one SQLite file in this process, in turn (one queue even if this module is loaded twice). */
const opening = KeyedQueue.shared('@polystore/sql/sqlite-open');

/**
 * Opens the SQL backend for a `sqlite:` or `postgres(ql)://` URL: connects, creates the
 * tables of a brand-new store (an existing one is only read), and returns the backend.
 */
export async function openSqlBackend(
  url: URL,
  options: AdapterOpenOptions = {},
): Promise<SqlBackend> {
  const resolved = resolveSqlOptions(url, options.adapter as SqlOptions | undefined);
  const resources = resourcesOf(options);
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  try {
    if (scheme === 'sqlite') {
      // Opens of one file in one process take turns: the transaction that creates a new
      // store on one connection would otherwise hold the lock while another blocks this thread.
      return await opening.run(sqlitePath(url), async () => {
        const { db, database } = await connectSqlite(url, resolved);
        const allocate = sqliteAllocate(database);
        return SqlBackend.open({
          db,
          sqlite: database,
          support: sqliteSupport,
          allocate,
          options: resolved,
          resources,
        });
      });
    }
    if (scheme === 'postgres' || scheme === 'postgresql') {
      const { db, pool } = await connectPostgres(url, resolved);
      // Each query arms a timer of the fail-fast bound (connectPostgres, PostgresRunner) and
      // pg-pool an idle timer per release: kept lists make each an append instead of a new
      // list per call (see keepTimerList).
      const timers = [keepTimerList(resolved.failFastMs), keepTimerList(POOL_IDLE_MS)];
      const release = () => {
        for (const r of timers) r();
      };
      const generous = {
        ...resolved,
        poolSize: 1,
        statementTimeoutMs: resolved.openTimeoutMs,
        failFastMs: resolved.openTimeoutMs,
      };
      return await SqlBackend.open({
        db,
        support: postgresSupport,
        allocate: postgresAllocate,
        options: resolved,
        resources,
        pool,
        connectDdl: async () => (await connectPostgres(url, generous)).db,
        onClose: release,
      }).catch((err: unknown) => {
        release();
        throw err;
      });
    }
  } catch (err) {
    throw toCoreError(err);
  }
  throw new ConfigError(
    `sql: unsupported scheme ${scheme}: (accepted: sqlite: postgres: postgresql:)`,
  );
}

/**
 * The SQL adapter, registered by core for `sqlite:`, `postgres:` and `postgresql:`.
 *
 * @example
 * ```ts
 * const stores = await openStores('postgres://app@db.internal/nova?prefix=ps_', {
 *   adapter: { poolSize: 20, failFastMs: 3_000, statementTimeoutMs: 2_500 },
 * });
 * ```
 */
export const sqlAdapter: Adapter = Object.freeze({
  name: 'sql',
  schemes: Object.freeze(['sqlite', 'postgres', 'postgresql']),
  open: (url: URL, options: AdapterOpenOptions) => openSqlBackend(url, options),
  /**
   * A namespace is a table prefix: `?prefix=app_` + `ns` -> `?prefix=app_ns_`. An in-memory
   * SQLite database has none to share: each open is a private database.
   */
  namespaceUrl: (url: URL, namespace: string) => {
    if (url.protocol === 'sqlite:' && sqlitePath(url) === ':memory:') {
      throw new ConfigError(
        'sqlite::memory: has no namespace several clients share: each open is its own private database (use sqlite:./file.db)',
      );
    }
    const out = new URL(url);
    out.searchParams.set('prefix', `${url.searchParams.get('prefix') ?? ''}${namespace}_`);
    return out;
  },
});

/**
 * Options of {@link openSqlStores}: the Stores options plus the SQL adapter's own, the same
 * shape as `openStores(url, { adapter: { ... } })`.
 */
export type OpenSqlStoresOptions = StoresOptions & {
  /** SQL adapter options (prefix, schema, pool size, timeouts), see {@link SqlOptions}. */
  readonly adapter?: SqlOptions;
  /**
   * Whether the open refuses a store that lacks elements the definitions need, with
   * `SchemaBehindError` (default `true`), as `openStores` does. Only tools that add those
   * elements turn it off.
   */
  readonly checkSchema?: boolean;
};

/**
 * Opens the Stores bag over SQLite or PostgreSQL without going through the registry, with
 * the checks `openStores` runs: a store that lacks elements the definitions need is
 * `SchemaBehindError` (the backend is closed), and queries on fields the store records as
 * write-only are refused until they are published.
 *
 * @example
 * ```ts
 * const stores = await openSqlStores('sqlite:./.data/polystore.db');
 * const vm = await stores.instances.create(ctx, { displayName: 'web-1', flavor });
 * ```
 */
export async function openSqlStores(
  url: string,
  options: OpenSqlStoresOptions = {},
): Promise<Stores> {
  const backend = await openSqlBackend(parseStoreUrl(url), options as AdapterOpenOptions);
  return createCheckedStores(backend, options, url);
}
