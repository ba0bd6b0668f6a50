/** The servers the harness can run. */
export type ServerKind = 'postgres' | 'redis' | 'zookeeper' | 'ferretdb';

/** Options every `start*` function accepts. */
export interface ServerOptions {
  /**
   * How long a start or restart may take to answer its health check, in ms. Default 120 000
   * (ZooKeeper: 60 000): crash recovery after `kill()` may take tens of seconds on a loaded
   * machine. A server that exits fails the start at once.
   */
  readonly startTimeoutMs?: number;
  /** How long a graceful stop may take before the process group is SIGKILLed, in ms. Default 30 000. */
  readonly stopTimeoutMs?: number;
}

/** Options of {@link ServerHandle.stop}. */
export interface StopOptions {
  /** Keep the data dir so that {@link ServerHandle.restart} can bring the server back. Default false. */
  readonly keepDataDir?: boolean;
}

/**
 * A throwaway server on a free loopback port, with its own temp data dir,
 * under the harness's full process control.
 *
 * Every server runs in its own process group: `kill()`, `pause()` and
 * `resume()` signal the whole group, so PostgreSQL's backends hang or die
 * together with the postmaster, as they would on a real host failure.
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendfsync: 'always' });
 * try {
 *   await redis.kill();     // crash: nothing is flushed, the port is closed
 *   await redis.restart();  // same port, same data dir, recovers from the AOF
 * } finally {
 *   await redis.stop();     // graceful stop, data dir removed
 * }
 * ```
 */
export interface ServerHandle<K extends ServerKind = ServerKind> {
  /** Which server this is. */
  readonly kind: K;
  /** Connection URL for the server's usual driver, e.g. `redis://127.0.0.1:41235`. */
  readonly url: string;
  /** Host the server listens on (always the IPv4 loopback). */
  readonly host: string;
  /** Port the server listens on; kept across restarts. */
  readonly port: number;
  /** The server's data directory; survives `kill()` and `restart()`, removed by `stop()`. */
  readonly dataDir: string;
  /** pid of the running server process (also its process group id), undefined while it is down. */
  readonly pid: number | undefined;
  /** Whether the server process is alive (a paused server counts as alive). */
  readonly running: boolean;
  /** Whether the server is stopped with SIGSTOP. */
  readonly paused: boolean;
  /** The last `bytes` of the server's log (stdout and stderr), for failure messages. */
  logTail(bytes?: number): string;
  /** Stops the server gracefully (SIGKILL after `stopTimeoutMs`) and removes its temp dir unless `keepDataDir`. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
  /** Crashes the server: SIGKILL to its process group; resolves once every process is gone and the port is closed. */
  kill(): Promise<void>;
  /** Stops the server gracefully if it runs, then starts it again on the same port with the same data dir, and waits until it is ready. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP to its process group): connections stay open but nothing answers. */
  pause(): void;
  /** Thaws a paused server (SIGCONT to its process group). */
  resume(): void;
}
