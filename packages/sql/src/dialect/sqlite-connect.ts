import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '@polystore/core';
import type { Database } from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { ResolvedSqlOptions } from '../sql-options.js';
import type { AnyDatabase } from './dialect-support.js';

/** The database file of a `sqlite:` URL (`:memory:` for an in-memory database). */
export function sqlitePath(url: URL): string {
  if (url.host !== '')
    throw new ConfigError(
      'sqlite: URL must be sqlite:./file.db, sqlite:/abs/file.db or sqlite::memory:',
    );
  const path = decodeURIComponent(url.pathname);
  if (path === '') throw new ConfigError('sqlite: URL names no file (e.g. sqlite:./data.db)');
  return path === ':memory:' ? path : resolve(path);
}

/**
 * Opens a `better-sqlite3` database for a `sqlite:` URL behind kysely, creating the parent
 * directory: WAL mode (readers never block the writer), a busy timeout so that writers of
 * several processes queue instead of failing at once. `better-sqlite3` is imported here,
 * on first use.
 */
export async function connectSqlite(
  url: URL,
  options: ResolvedSqlOptions,
): Promise<{ db: Kysely<AnyDatabase>; database: Database }> {
  const path = sqlitePath(url);
  const { default: SqliteDatabase } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path, { timeout: options.busyTimeoutMs });
  if (path !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  // WAL with synchronous=NORMAL is durable against process crashes, not power loss.
  database.pragma('synchronous = NORMAL');
  return { db: new Kysely<AnyDatabase>({ dialect: new SqliteDialect({ database }) }), database };
}
