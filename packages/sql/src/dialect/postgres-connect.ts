import { Kysely, PostgresDialect } from 'kysely';
import type { Pool } from 'pg';
import { loadDriver } from '../driver-loader.js';
import { type ResolvedSqlOptions, SQL_OPTION_NAMES } from '../sql-options.js';
import type { AnyDatabase } from './dialect-support.js';

const INT8_OID = 20;
/** How long an idle pooled connection stays open (pg-pool's default, named so it can be kept: keepTimerList). */
export const POOL_IDLE_MS = 10_000;
const parseInt8 = (v: string): number => Number(v);

/**
 * Opens a `pg` pool for a `postgres://` URL (the adapter's own parameters removed) behind
 * kysely; the pool itself too, on which the hot statements run prepared. `pg` is imported
 * on first use, so SQLite users never load it (nor install it).
 */
export async function connectPostgres(
  url: URL,
  options: ResolvedSqlOptions,
): Promise<{ db: Kysely<AnyDatabase>; pool: Pool }> {
  const { default: pg } = await loadDriver('pg');
  const conn = new URL(url.href);
  for (const key of SQL_OPTION_NAMES) conn.searchParams.delete(key);
  const pool = new pg.Pool({
    connectionString: conn.href,
    max: options.poolSize,
    statement_timeout: options.statementTimeoutMs,
    // A frozen or stalled server never enforces its statement_timeout: give up on the
    // client side too, at the fail-fast bound (the 'connect' listener below then drops the
    // connection, whose reply would otherwise hold up every later query on it).
    query_timeout: options.failFastMs,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: POOL_IDLE_MS,
    keepAlive: true,
    application_name: 'polystore',
    types: {
      // bigint columns hold safe integers only (core validates), so a number is exact.
      // pg asks for the parser of every column of every result: one function, not a new one each time.
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as never,
    },
  });
  // A client losing its server must not crash the process with an unhandled 'error' event:
  // pg-pool listens only while a client is idle, and a socket can fail between kysely's
  // query and its release. The failed query is already rejected (and mapped); the broken
  // client is not queryable any more, so the pool drops it on release.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    dropOnReadTimeout(client);
  });
  return { db: new Kysely<AnyDatabase>({ dialect: new PostgresDialect({ pool }) }), pool };
}

/** The part of a `pg.Client` that {@link dropOnReadTimeout} uses. */
interface QueryableClient {
  query: (...args: never[]) => unknown;
  end(): Promise<void>;
}

/**
 * After a client-side query timeout (`query_timeout`), `pg` leaves the connection waiting
 * for the late reply, and queues every later query of that pooled client behind it: a
 * server that stays unreachable would make each of them time out in turn. Ending the client
 * instead closes its socket at once (the server rolls back what it had not committed), and
 * the pool, seeing it ended, replaces it on release with a fresh connection.
 */
function dropOnReadTimeout(client: QueryableClient): void {
  const drop = (err: unknown) => {
    if (err instanceof Error && err.message === 'Query read timeout') client.end().catch(() => {});
  };
  client.query = ((...args: never[]) => {
    // The class's method, looked up on each call (not bound once), so that instrumentation
    // of `pg.Client.prototype.query` still sees every query.
    const query = (Object.getPrototypeOf(client) as QueryableClient).query;
    const last = args.length - 1;
    const callback = args[last] as unknown;
    if (typeof callback === 'function') {
      // The callback form (the hot statements'): dropped before the caller sees the error
      // (and releases the client to the pool, which then discards it).
      args[last] = ((err: unknown, result: unknown) => {
        if (err) drop(err);
        callback(err, result);
      }) as never;
      return query.apply(client, args);
    }
    const result = query.apply(client, args);
    if (result instanceof Promise) result.catch(drop);
    return result;
  }) as QueryableClient['query'];
}
