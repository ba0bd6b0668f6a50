import { ConfigError } from '@polystore/core';

/**
 * Options of the SQL adapter, given as `openStores(url, { adapter: { ... } })`. The table
 * prefix and PostgreSQL schema may also be given in the URL (`?prefix=ps_&schema=app`);
 * an option given both ways must agree.
 */
export interface SqlOptions {
  /**
   * Namespace: prepended to every table, index and migration table name, so several
   * stores can share a database. Lowercase letters, digits and `_`. Default `''`.
   */
  readonly prefix?: string;
  /** PostgreSQL only: the schema holding the tables, created if missing. Default `public`. */
  readonly schema?: string;
  /** PostgreSQL only: maximum connections of the pool (`pg.Pool` `max`). Default `10`. */
  readonly poolSize?: number;
  /**
   * PostgreSQL only: the fail-fast bound, in ms. Every call of a store (waiting for a pooled
   * connection, its statements, its retries) ends within it: when the server is frozen,
   * unreachable or slow, the call fails with a retriable `UnavailableError` (a write may or
   * may not have taken effect), and the same `Stores` answers again once the server does.
   * A statement that answers late is abandoned on the client side and its connection
   * dropped, so stuck connections never fill the pool. Default `5000`.
   */
  readonly failFastMs?: number;
  /**
   * PostgreSQL: server-side `statement_timeout` of every statement, in ms; a statement that
   * runs longer fails with `UnavailableError`. Keep it at most `failFastMs`. Default `5000`.
   * See https://www.postgresql.org/docs/current/runtime-config-client.html
   */
  readonly statementTimeoutMs?: number;
  /** PostgreSQL only: how long to wait for a new connection, in ms (also at open). Default `5000`. */
  readonly connectTimeoutMs?: number;
  /**
   * PostgreSQL only: the statement and client-side timeout of the statements that open a
   * store (creating the tables of a brand-new store, or expanding them), in ms. Generous:
   * DDL waits for locks and a loaded server may be slow, and it runs once. Default `60000`.
   */
  readonly openTimeoutMs?: number;
  /**
   * SQLite only: how long a write waits for another process's lock (`busy_timeout`), in ms,
   * before failing with `UnavailableError`. SQLite runs in the calling thread, so this is
   * its fail-fast bound. Default `4000`.
   * See https://www.sqlite.org/pragma.html#pragma_busy_timeout
   */
  readonly busyTimeoutMs?: number;
  /** How often a statement that lost a serialization failure or deadlock is retried. Default `5`. */
  readonly maxRetries?: number;
}

/** {@link SqlOptions} with every default applied. */
export type ResolvedSqlOptions = Required<SqlOptions>;

/** The defaults of {@link SqlOptions}. */
export const SQL_DEFAULTS: ResolvedSqlOptions = Object.freeze({
  prefix: '',
  schema: 'public',
  poolSize: 10,
  failFastMs: 5_000,
  statementTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  openTimeoutMs: 60_000,
  busyTimeoutMs: 4_000,
  maxRetries: 5,
});

const NAME = /^[a-z0-9_]{0,48}$/;
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const KEYS = Object.keys(SQL_DEFAULTS);

/** Validates adapter options and URL parameters and applies the defaults. */
export function resolveSqlOptions(
  url: URL,
  given: Readonly<Record<string, unknown>> = {},
): ResolvedSqlOptions {
  for (const key of Object.keys(given)) {
    if (!KEYS.includes(key))
      throw new ConfigError(`sql: unknown option ${key} (known: ${KEYS.join(', ')})`);
  }
  const out: Record<string, unknown> = { ...SQL_DEFAULTS };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  for (const key of ['prefix', 'schema'] as const) {
    const fromUrl = url.searchParams.get(key);
    if (fromUrl === null) continue;
    if (given[key] !== undefined && given[key] !== fromUrl) {
      throw new ConfigError(`sql: ${key} is given both in the URL and in the options, differently`);
    }
    out[key] = fromUrl;
  }
  if (typeof out.prefix !== 'string' || !NAME.test(out.prefix)) {
    throw new ConfigError('sql: prefix must be at most 48 lowercase letters, digits or _');
  }
  if (typeof out.schema !== 'string' || !SCHEMA.test(out.schema)) {
    throw new ConfigError('sql: schema must be a lowercase identifier');
  }
  // PostgreSQL's own schemas: `pg_*` names are reserved for the system, and writing tables
  // into information_schema or pg_catalog would mix the store with the catalog.
  if (out.schema === 'information_schema' || out.schema.startsWith('pg_')) {
    throw new ConfigError(
      `sql: schema ${out.schema} is a PostgreSQL system schema; choose another (default public)`,
    );
  }
  for (const key of [
    'poolSize',
    'failFastMs',
    'statementTimeoutMs',
    'connectTimeoutMs',
    'openTimeoutMs',
    'busyTimeoutMs',
  ] as const) {
    const v = out[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1)
      throw new ConfigError(`sql: ${key} must be a positive integer`);
  }
  if (!Number.isSafeInteger(out.maxRetries) || (out.maxRetries as number) < 0) {
    throw new ConfigError('sql: maxRetries must be a non-negative integer');
  }
  return Object.freeze(out as ResolvedSqlOptions);
}
