import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '@polystore/core';
import type { Database } from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { loadDriver } from '../driver-loader.js';
import { toCoreError } from '../errors.js';
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
 * several processes queue instead of failing at once. `better-sqlite3` is imported on
 * first use, so PostgreSQL users never load it (nor install it).
 */
export async function connectSqlite(
  url: URL,
  options: ResolvedSqlOptions,
): Promise<{ db: Kysely<AnyDatabase>; database: Database }> {
  const path = sqlitePath(url);
  const { default: SqliteDatabase } = await loadDriver('better-sqlite3');
  if (path !== ':memory:') preparePath(path);
  let database: Database;
  try {
    database = new SqliteDatabase(path, { timeout: options.busyTimeoutMs });
  } catch (err) {
    throw toCoreError(err, { openingFile: path });
  }
  try {
    if (path !== ':memory:') await enterWal(database, options.openTimeoutMs);
  } catch (err) {
    database.close();
    throw toCoreError(err, { openingFile: path });
  }
  database.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  // WAL with synchronous=NORMAL is durable against process crashes, not power loss.
  database.pragma('synchronous = NORMAL');
  return { db: new Kysely<AnyDatabase>({ dialect: new SqliteDialect({ database }) }), database };
}

/**
 * Switches a file to WAL mode. Several processes opening the same new file at once contend
 * for the lock this needs, and SQLite answers some of them `SQLITE_BUSY` at once, without
 * waiting through its busy handler; those try again with a short growing pause, until
 * `limitMs` (the generous open bound) has passed.
 */
async function enterWal(database: Database, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    try {
      database.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const busy = (err as { code?: unknown } | null)?.code === 'SQLITE_BUSY';
      if (!busy || Date.now() + pause > deadline) throw err;
      await delay(pause);
    }
  }
}

/**
 * Checks that `path` can be a database file and creates its missing parent directories,
 * one level at a time. Node 20's `mkdirSync(..., { recursive: true })` spins forever on a
 * pseudo file system that refuses the directory with ENOENT (`/proc/x/y.db`); a walk up to
 * the nearest existing ancestor and a plain `mkdirSync` per level cannot loop: each step
 * either goes one level up (bounded by the root) or fails. Every refusal is a `ConfigError`:
 * retrying will not make the path usable.
 */
function preparePath(path: string): void {
  const refuse = (why: string, cause?: unknown) =>
    new ConfigError(`sqlite: ${path} cannot hold a database: ${why}`, { cause });
  const existing = statOf(path);
  if (existing?.isDirectory()) throw refuse('it is a directory');
  if (existing) return;
  const missing: string[] = [];
  let dir = dirname(path);
  for (;;) {
    const stat = statOf(dir);
    if (stat) {
      if (!stat.isDirectory()) throw refuse(`${dir} is not a directory`);
      break;
    }
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) throw refuse('no part of it exists');
    dir = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      // Another process may create the same directory at the same moment.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statOf(d)?.isDirectory()) continue;
      throw refuse(`cannot create directory ${d}: ${(err as Error).message}`, err);
    }
  }
}

/** `statSync` of a path, `undefined` when it does not exist; any other failure is a `ConfigError`. */
function statOf(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR')
      throw new ConfigError(`sqlite: ${path} cannot hold a database: a parent is not a directory`, {
        cause: err,
      });
    throw new ConfigError(`sqlite: cannot use ${path}: ${(err as Error).message}`, { cause: err });
  }
}
