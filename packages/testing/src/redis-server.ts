import { connect } from 'node:net';
import { findBinary } from './find-binary.js';
import { LOOPBACK, ManagedServer } from './managed-server.js';
import type { ServerHandle, ServerOptions } from './server-handle.js';

/** Options of {@link startRedis}. */
export interface RedisOptions extends ServerOptions {
  /**
   * When the append-only file is fsynced (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/):
   * `always` loses nothing acknowledged on a crash (use it for fault tests),
   * `everysec` up to a second, `no` leaves it to the OS. Default `everysec`.
   */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Extra `--name value` settings, e.g. `{ 'maxmemory': '64mb' }`. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Path of `redis-server`. Default `$POLYSTORE_REDIS_SERVER`, else PATH. */
  readonly binary?: string;
}

/** A throwaway Redis server with the append-only file on. */
export type RedisServer = ServerHandle<'redis'>;

/**
 * Starts Debian's `redis-server` on a free loopback port with its own data
 * dir and `appendonly yes`, and resolves once it answers `PING` (a server
 * still loading its AOF answers `-LOADING` and is not ready yet).
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendfsync: 'always' });
 * const client = new Redis(redis.url);
 * ```
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = findBinary('redis-server', {
    override: options.binary ?? process.env.POLYSTORE_REDIS_SERVER,
  });
  const settings: Record<string, string | number> = {
    appendonly: 'yes',
    appendfsync: options.appendfsync ?? 'everysec',
    // The AOF is the only persistence: no RDB snapshots behind the tests' back.
    save: '',
    ...options.settings,
  };
  const server = new ManagedServer({
    kind: 'redis',
    stopSignal: 'SIGTERM',
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    url: (port) => `redis://${LOOPBACK}:${port}`,
    command: (port, dirs) => ({
      file: binary,
      args: Object.entries({
        ...settings,
        port,
        bind: LOOPBACK,
        dir: dirs.dataDir,
        daemonize: 'no',
        // Log to stdout, which goes to the server log file.
        logfile: '',
      }).flatMap(([name, value]) => [`--${name}`, String(value)]),
    }),
    probe: (port) => ping(port),
  });
  return server.start();
}

/** Sends an inline `PING` and expects `+PONG`; anything else (e.g. `-LOADING`) means not ready. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (!reply.includes('\r\n')) return;
      socket.destroy();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`PING answered ${JSON.stringify(reply.trim())}`));
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed before PONG')));
  });
}
