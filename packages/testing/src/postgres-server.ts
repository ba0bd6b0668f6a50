import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadPg } from './client-packages.js';
import { createPostgresDatabase } from './create-postgres-database.js';
import { findBinary } from './find-binary.js';
import { LOOPBACK, ManagedServer, type ServerDirs } from './managed-server.js';
import { initializeCluster } from './postgres-template.js';
import type { Command } from './run-command.js';
import type { ServerHandle, ServerOptions } from './server-handle.js';
import { runAs, type ServiceUser, serviceUser } from './service-user.js';

/** Options of {@link startPostgres}. */
export interface PostgresOptions extends ServerOptions {
  /**
   * Unsafe speed mode for unit runs: `fsync=off`, `synchronous_commit=off`,
   * `full_page_writes=off`. Never use it for fault tests: a killed server may
   * lose acknowledged commits. Default false (durable).
   */
  readonly fast?: boolean;
  /** Extra server settings, passed as `-c name=value`, e.g. `{ log_statement: 'all' }`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Directory holding `initdb` and `postgres`. Default `$POLYSTORE_PG_BIN_DIR`, else `/usr/lib/postgresql/15/bin`, else the newest `/usr/lib/postgresql/<n>/bin`, else PATH. */
  readonly binDir?: string;
}

/** A throwaway PostgreSQL server; superuser `postgres`, trust auth on 127.0.0.1. */
export interface PostgresServer extends ServerHandle<'postgres'> {
  /** The superuser to connect as (`postgres`). */
  readonly user: string;
  /** Creates a database (e.g. one per test file, named with `freshNamespace`) and returns its URL. */
  createDatabase(name: string): Promise<string>;
}

const SUPERUSER = 'postgres';

/**
 * Starts PostgreSQL (`initdb`, then `postgres`) on a free loopback port with
 * its own temp data dir, and resolves once it answers `SELECT 1`.
 *
 * When this process is root, the server runs as the `postgres` account (or
 * `nobody`), because PostgreSQL refuses to run as root.
 *
 * @example
 * ```ts
 * const pg = await startPostgres({ fast: true });
 * const url = await pg.createDatabase(freshNamespace('sql')); // postgres://postgres@127.0.0.1:41234/sql_…
 * // ...
 * await pg.stop();
 * ```
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  // The probe needs pg: a missing one fails here, not as a start that never becomes ready.
  await loadPg();
  const binDir = options.binDir ?? postgresBinDir();
  const initdb = findBinary('postgres', { name: 'initdb', dirs: [binDir] });
  const postgres = findBinary('postgres', { dirs: [binDir] });
  const user = serviceUser();
  const settings = { ...defaultSettings(options.fast ?? false), ...options.settings };
  return new PostgresProcess(initdb, postgres, user, settings, options).start();
}

class PostgresProcess extends ManagedServer<'postgres'> implements PostgresServer {
  constructor(
    initdb: string,
    postgres: string,
    user: ServiceUser | undefined,
    settings: Readonly<Record<string, string | number | boolean>>,
    options: PostgresOptions,
  ) {
    super({
      kind: 'postgres',
      user,
      // SIGTERM ("smart shutdown") would wait for every client to disconnect.
      stopSignal: 'SIGINT',
      startTimeoutMs: options.startTimeoutMs,
      stopTimeoutMs: options.stopTimeoutMs,
      url: (port) => `postgres://${SUPERUSER}@${LOOPBACK}:${port}/postgres`,
      initialize: (dirs: ServerDirs) => initializeCluster(initdb, user, dirs.dataDir),
      command: (port: number, dirs: ServerDirs): Command =>
        runAs(user, {
          file: postgres,
          args: [
            '-D',
            dirs.dataDir,
            ...Object.entries({
              ...settings,
              listen_addresses: LOOPBACK,
              port,
              // Our own socket dir: never collide with /var/run/postgresql of a system cluster.
              unix_socket_directories: dirs.root,
            }).flatMap(([name, value]) => ['-c', `${name}=${formatSetting(value)}`]),
          ],
        }),
      probe: (port) => selectOne(port),
    });
  }

  get user(): string {
    return SUPERUSER;
  }

  createDatabase(name: string): Promise<string> {
    return createPostgresDatabase(this.url, name);
  }
}

function defaultSettings(fast: boolean): Record<string, string | number | boolean> {
  return {
    fsync: !fast,
    synchronous_commit: !fast,
    full_page_writes: !fast,
    // Conformance runs open a pool per test file; 100 (the default) runs out with many projects.
    max_connections: 200,
    shared_buffers: '32MB',
    logging_collector: false,
    log_line_prefix: '%m [%p] ',
  };
}

function formatSetting(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

async function selectOne(port: number): Promise<void> {
  const pg = await loadPg();
  const client = new pg.Client({
    host: LOOPBACK,
    port,
    user: SUPERUSER,
    database: 'postgres',
    connectionTimeoutMillis: 1_000,
  });
  // A refused connection also emits 'error' on the client; the rejected connect() is what we act on.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** Finds the directory of PostgreSQL's server programs; see {@link PostgresOptions.binDir}. */
function postgresBinDir(): string {
  const fromEnv = process.env.POLYSTORE_PG_BIN_DIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(join(root, '15', 'bin', 'postgres'))) return join(root, '15', 'bin');
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  // Not a Debian layout: fall back to PATH (findBinary searches it after this dir).
  try {
    return dirname(findBinary('postgres', { name: 'initdb' }));
  } catch {
    return join(root, '15', 'bin');
  }
}
