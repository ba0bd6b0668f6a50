import { loadPg } from './client-packages.js';

/**
 * Creates a database on a PostgreSQL server and returns its URL.
 *
 * Tests give each file its own database (named with {@link freshNamespace})
 * instead of their own server: a database costs milliseconds, a server a second.
 *
 * @example
 * ```ts
 * const url = await createPostgresDatabase(sharedServerUrl('postgres'), freshNamespace('sql'));
 * // postgres://postgres@127.0.0.1:41234/sql_k3v9q0xw2m1
 * ```
 */
export async function createPostgresDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new TypeError(
      `database name must match /^[a-z_][a-z0-9_]{0,62}$/, got ${JSON.stringify(name)}`,
    );
  }
  // Imported lazily: pg is an optional peer, installed only by users of PostgreSQL.
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // The name is checked above; quoting keeps it exactly as given.
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
