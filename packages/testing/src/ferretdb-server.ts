import { connect } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadMongodb } from './client-packages.js';
import { createPostgresDatabase } from './create-postgres-database.js';
import { findBinary } from './find-binary.js';
import { freshNamespace } from './fresh-namespace.js';
import { LOOPBACK, ManagedServer, type ServerDirs } from './managed-server.js';
import { type PostgresServer, startPostgres } from './postgres-server.js';
import type { ServerHandle, ServerOptions, StopOptions } from './server-handle.js';

/** Options of {@link startFerretDb}. */
export interface FerretDbOptions extends ServerOptions {
  /**
   * Where FerretDB keeps the data (https://docs.ferretdb.io/v1.24/configuration/flags/):
   * `sqlite` (default) is a directory of SQLite files in the data dir, with no
   * other server to run; `postgresql` uses {@link FerretDbOptions.postgresUrl}
   * or a dedicated PostgreSQL that the handle starts and stops with itself.
   */
  readonly backend?: 'sqlite' | 'postgresql';
  /** PostgreSQL server URL for the `postgresql` backend; a fresh database is created on it. */
  readonly postgresUrl?: string;
  /** Path of the `ferretdb` binary. Default `$POLYSTORE_FERRETDB_BIN`, else `$GOBIN`, `$GOPATH/bin`, `~/go/bin`, PATH. */
  readonly binary?: string;
}

/** A throwaway FerretDB v1 server, spoken to with the MongoDB driver. */
export interface FerretDbServer extends ServerHandle<'ferretdb'> {
  /** Which storage backend it runs on. */
  readonly backend: 'sqlite' | 'postgresql';
  /** The dedicated PostgreSQL behind a `postgresql` backend, when the handle started one. */
  readonly postgres: PostgresServer | undefined;
}

/**
 * Starts FerretDB v1.24 on a free loopback port with telemetry off, and
 * resolves once it answers `ping` through the MongoDB driver.
 *
 * `kill()`, `pause()` and `restart()` act on FerretDB only; a dedicated
 * PostgreSQL behind it keeps running until `stop()`.
 *
 * @example
 * ```ts
 * const ferret = await startFerretDb();
 * const client = await MongoClient.connect(ferret.url);
 * ```
 */
export async function startFerretDb(options: FerretDbOptions = {}): Promise<FerretDbServer> {
  // The probe needs mongodb: a missing one fails here, not as a start that never becomes ready.
  await loadMongodb();
  const binary = findBinary('ferretdb', {
    override: options.binary ?? process.env.POLYSTORE_FERRETDB_BIN,
    dirs: goBinDirs(),
  });
  const backend = options.backend ?? 'sqlite';
  let postgres: PostgresServer | undefined;
  let postgresqlUrl: string | undefined;
  if (backend === 'postgresql') {
    if (options.postgresUrl === undefined) postgres = await startPostgres();
    postgresqlUrl = await createPostgresDatabase(
      options.postgresUrl ?? postgres!.url,
      freshNamespace('ferretdb'),
    );
  }
  try {
    return await new FerretDbProcess(binary, backend, postgresqlUrl, postgres, options).start();
  } catch (error) {
    await postgres?.stop();
    throw error;
  }
}

class FerretDbProcess extends ManagedServer<'ferretdb'> implements FerretDbServer {
  readonly #backend: 'sqlite' | 'postgresql';
  readonly #postgres: PostgresServer | undefined;

  constructor(
    binary: string,
    backend: 'sqlite' | 'postgresql',
    postgresqlUrl: string | undefined,
    postgres: PostgresServer | undefined,
    options: FerretDbOptions,
  ) {
    super({
      kind: 'ferretdb',
      stopSignal: 'SIGTERM',
      startTimeoutMs: options.startTimeoutMs,
      stopTimeoutMs: options.stopTimeoutMs,
      url: (port) => `mongodb://${LOOPBACK}:${port}/`,
      command: (port: number, dirs: ServerDirs) => ({
        file: binary,
        args: [
          `--listen-addr=${LOOPBACK}:${port}`,
          // The debug HTTP listener defaults to the fixed port 8088: two servers would clash.
          '--debug-addr=-',
          '--telemetry=disable',
          `--state-dir=${dirs.root}`,
          '--log-level=warn',
          '--log-format=text',
          ...(backend === 'sqlite'
            ? ['--handler=sqlite', `--sqlite-url=file:${dirs.dataDir}/`]
            : ['--handler=postgresql', `--postgresql-url=${postgresqlUrl}`]),
        ],
      }),
      probe: (port) => ping(port),
    });
    this.#backend = backend;
    this.#postgres = postgres;
  }

  get backend(): 'sqlite' | 'postgresql' {
    return this.#backend;
  }

  get postgres(): PostgresServer | undefined {
    return this.#postgres;
  }

  override async stop(options: StopOptions = {}): Promise<void> {
    await super.stop(options);
    await this.#postgres?.stop(options);
  }
}

async function ping(port: number): Promise<void> {
  // The driver waits for its next heartbeat (500 ms) after a refused connection; a plain
  // connect fails at once, so the first probes after a (re)start do not cost half a second.
  await tcpConnect(port);
  // Imported lazily: mongodb is an optional peer, installed only by users of FerretDB.
  const { MongoClient } = await loadMongodb();
  const client = new MongoClient(`mongodb://${LOOPBACK}:${port}/`, {
    directConnection: true,
    serverSelectionTimeoutMS: 1_000,
    connectTimeoutMS: 1_000,
  });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => {});
  }
}

/** Where `go install` puts binaries: `$GOBIN`, else the first `$GOPATH` entry's `bin`, else `~/go/bin`. */
function goBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.GOBIN) dirs.push(process.env.GOBIN);
  const gopath = process.env.GOPATH?.split(delimiter)[0];
  if (gopath) dirs.push(join(gopath, 'bin'));
  dirs.push(join(homedir(), 'go', 'bin'));
  return dirs;
}

function tcpConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
