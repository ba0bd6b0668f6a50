import { Kysely, PostgresDialect } from 'kysely';
import type { ResolvedSqlOptions } from '../sql-options.js';
import type { AnyDatabase } from './dialect-support.js';

const INT8_OID = 20;

/**
 * Opens a `pg` pool for a `postgres://` URL (the adapter's own `prefix`/`schema`
 * parameters removed) behind kysely. `pg` is imported here, on first use, so SQLite users
 * never load it.
 */
export async function connectPostgres(
  url: URL,
  options: ResolvedSqlOptions,
): Promise<Kysely<AnyDatabase>> {
  const { default: pg } = await import('pg');
  const conn = new URL(url.href);
  conn.searchParams.delete('prefix');
  conn.searchParams.delete('schema');
  const pool = new pg.Pool({
    connectionString: conn.href,
    max: options.poolSize,
    statement_timeout: options.statementTimeoutMs,
    // A stalled server never enforces its statement_timeout: give up on the client side too.
    query_timeout: options.statementTimeoutMs + 2_000,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
    application_name: 'polystore',
    types: {
      // bigint columns hold safe integers only (core validates), so a number is exact.
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as never,
    },
  });
  // A client losing its server must not crash the process with an unhandled 'error' event:
  // pg-pool listens only while a client is idle, and a socket can fail between kysely's
  // query and its release. The failed query is already rejected (and mapped); the broken
  // client is not queryable any more, so the pool drops it on release.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return new Kysely<AnyDatabase>({ dialect: new PostgresDialect({ pool }) });
}
