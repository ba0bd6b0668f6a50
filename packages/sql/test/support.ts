import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNamespace, type PostgresServer, startPostgres } from '@polystore/testing';
import { afterAll, beforeAll } from 'vitest';

/** The dialects every spec runs on. */
export const DIALECTS = ['sqlite', 'postgres'] as const;
/** One of {@link DIALECTS}. */
export type Dialect = (typeof DIALECTS)[number];

/** Where a test file's stores live: a temp dir for SQLite files and a throwaway PostgreSQL server. */
export interface TestBackends {
  /** A URL of a fresh, empty namespace (own SQLite file, own table prefix on PostgreSQL). */
  url(dialect: Dialect, ns?: string): string;
  /** The PostgreSQL database URL (without prefix). */
  readonly postgresUrl: string;
  /** The temp dir of SQLite files. */
  readonly dir: string;
  /** The PostgreSQL server of the file, for fault tests. */
  readonly server: PostgresServer;
}

/**
 * Registers hooks that start PostgreSQL (fast mode unless `durable`; none with `postgres: false`) and make a
 * temp dir for the file, and stop and remove them afterwards. A server that cannot start fails the file's tests.
 */
export function useBackends(options: { postgres?: boolean; durable?: boolean } = {}): TestBackends {
  let server: PostgresServer | undefined;
  let postgresUrl = '';
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polystore-sql-'));
    if (options.postgres === false) return;
    // Fast mode may lose acknowledged commits when the server is killed: fault tests ask for a durable one.
    server = await startPostgres({ fast: !options.durable });
    postgresUrl = await server.createDatabase(freshNamespace('sql'));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    url(dialect: Dialect, ns = freshNamespace('t')): string {
      return dialect === 'sqlite'
        ? `sqlite:${join(dir, `${ns}.db`)}`
        : `${postgresUrl}?prefix=${ns}_`;
    },
    get postgresUrl() {
      return postgresUrl;
    },
    get dir() {
      return dir;
    },
    get server() {
      if (!server) throw new Error('the PostgreSQL server is not started');
      return server;
    },
  };
}
