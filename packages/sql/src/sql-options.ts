import { ConfigError } from '@polystore/core';

/**
 * Options of the SQL adapter, given as `openStores(url, { adapter: { ... } })` or as URL
 * query parameters of the same names (`?prefix=ps_&schema=app&poolSize=20`); an option
 * given both ways must agree. Every option is optional; the defaults are {@link SQL_DEFAULTS}.
 *
 * @example
 * ```ts
 * const stores = await openStores('postgres://app@db.internal/nova?prefix=ps_', {
 *   adapter: { poolSize: 20, failFastMs: 3_000, statementTimeoutMs: 2_500 },
 * });
 * ```
 */
export interface SqlOptions {
  /**
   * Namespace: prepended to every table and index name (and to `polystore_elements`, the
   * record of applied elements), so several stores can share a database. Lowercase
   * letters, digits and `_`. Default `''`.
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
   * The bound of what opening a store waits for, in ms. PostgreSQL: the statement and
   * client-side timeout of the statements that create the tables of a brand-new store and
   * of `expand` / `contract`. Both: how long an open keeps trying while other processes
   * open the same new store (SQLite: asking for WAL mode, taking the write lock).
   * Generous: it waits for locks, a loaded machine may be slow, and it runs once.
   * Default `60000`.
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

const INTEGER_OPTIONS = [
  'poolSize',
  'failFastMs',
  'statementTimeoutMs',
  'connectTimeoutMs',
  'openTimeoutMs',
  'busyTimeoutMs',
  'maxRetries',
] as const;

/** The names of every option, which are also the URL query parameters the adapter reads. */
export const SQL_OPTION_NAMES: readonly (keyof SqlOptions)[] = Object.freeze(
  Object.keys(SQL_DEFAULTS) as (keyof SqlOptions)[],
);

/** A URL query parameter as the option's type: integers are decimal digits. */
function fromUrl(key: keyof SqlOptions, text: string): string | number {
  if (!(INTEGER_OPTIONS as readonly string[]).includes(key)) return text;
  if (!/^\d{1,15}$/.test(text))
    throw new ConfigError(`sql: URL parameter ${key} must be an integer`);
  return Number(text);
}

/**
 * Validates the adapter options and the URL query parameters of the same names, and applies
 * the defaults. Unknown option keys, bad values and an option given differently in the URL
 * and in `options` are a `ConfigError`. Other URL parameters are left alone (PostgreSQL's
 * own, e.g. `sslmode`, are passed on to `pg`).
 *
 * @example
 * ```ts
 * resolveSqlOptions(new URL('sqlite:./x.db?prefix=a_'), { busyTimeoutMs: 1_000 });
 * // { ...SQL_DEFAULTS, prefix: 'a_', busyTimeoutMs: 1000 }
 * ```
 */
export function resolveSqlOptions(url: URL, options: SqlOptions = {}): ResolvedSqlOptions {
  const given = options as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) {
    if (!(SQL_OPTION_NAMES as readonly string[]).includes(key))
      throw new ConfigError(`sql: unknown option ${key} (known: ${SQL_OPTION_NAMES.join(', ')})`);
  }
  const out: Record<string, unknown> = { ...SQL_DEFAULTS };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  for (const key of SQL_OPTION_NAMES) {
    const text = url.searchParams.get(key);
    if (text === null) continue;
    const value = fromUrl(key, text);
    if (given[key] !== undefined && given[key] !== value) {
      throw new ConfigError(`sql: ${key} is given both in the URL and in the options, differently`);
    }
    out[key] = value;
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
  for (const key of INTEGER_OPTIONS) {
    const v = out[key];
    const min = key === 'maxRetries' ? 0 : 1;
    if (!Number.isSafeInteger(v) || (v as number) < min)
      throw new ConfigError(
        `sql: ${key} must be a ${min === 0 ? 'non-negative' : 'positive'} integer`,
      );
  }
  return Object.freeze(out as ResolvedSqlOptions);
}
