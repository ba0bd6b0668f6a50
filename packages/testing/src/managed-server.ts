import { type ChildProcess, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerStartError } from './errors.js';
import { freePort } from './free-port.js';
import { signalTree, waitForExit, waitUntilStopped } from './process-tree.js';
import { type Command, serverEnv } from './run-command.js';
import type { ServerHandle, ServerKind, StopOptions } from './server-handle.js';
import type { ServiceUser } from './service-user.js';
import { Watchdog } from './watchdog.js';

/** The loopback address every harness server binds. */
export const LOOPBACK = '127.0.0.1';

/** What a concrete server (postgres, redis, ...) tells {@link ManagedServer}. */
export interface ServerSpec<K extends ServerKind = ServerKind> {
  /** Which server this is. */
  readonly kind: K;
  /** Account the server runs as (its dirs are chowned to it); undefined to run as this process. */
  readonly user?: ServiceUser | undefined;
  /** Signal for a graceful stop (PostgreSQL: SIGINT, "fast shutdown"; the others: SIGTERM). */
  readonly stopSignal: NodeJS.Signals;
  /** Health-check deadline for one start, in ms. Default {@link DEFAULT_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number | undefined;
  /** Grace period of a stop before SIGKILL, in ms. Default {@link DEFAULT_STOP_TIMEOUT_MS}. */
  readonly stopTimeoutMs?: number | undefined;
  /** Connection URL for a port. */
  url(port: number): string;
  /** Runs once, before the first start, e.g. `initdb`; `dataDir` exists and is empty. */
  initialize?(dirs: ServerDirs): Promise<void>;
  /** The command that runs the server in the foreground on `port`; may write config files. */
  command(port: number, dirs: ServerDirs): Promise<Command> | Command;
  /** Resolves once the server answers on `port`; rejects (quickly) while it does not. */
  probe(port: number, dirs: ServerDirs): Promise<void>;
}

/** The directories of one server. */
export interface ServerDirs {
  /** Temp dir owning everything below; removed by `stop()`. */
  readonly root: string;
  /** The server's data. */
  readonly dataDir: string;
  /** Combined stdout and stderr of every run, appended. */
  readonly logFile: string;
}

type State = 'down' | 'running' | 'paused' | 'stopped';

const PORT_IN_USE =
  /address already in use|EADDRINUSE|could not bind|could not create any TCP\/IP sockets/i;
/**
 * How long a start or restart may take to pass its health check, in ms. Generous: after
 * `kill()`, PostgreSQL with fsync replays its WAL before it answers, and on a loaded 2-core
 * machine that took over 30 s. A server that exits is reported at once; only one that
 * neither answers nor exits waits this long.
 */
export const DEFAULT_START_TIMEOUT_MS = 120_000;
/** How long a graceful stop may take before SIGKILL, in ms (PostgreSQL's shutdown checkpoint under load). */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 5;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * One server process under full control: spawned in its own process group,
 * guarded by the {@link Watchdog}, health-checked, and stoppable, killable,
 * pausable and restartable on the same port and data dir.
 *
 * The concrete servers (`startPostgres`, `startRedis`, ...) describe
 * themselves with a {@link ServerSpec}; everything about processes lives here.
 *
 * @example
 * ```ts
 * const server = await new ManagedServer(spec).start();
 * await server.kill();
 * await server.restart();
 * ```
 */
export class ManagedServer<K extends ServerKind = ServerKind> implements ServerHandle<K> {
  readonly #spec: ServerSpec<K>;
  readonly #dirs: ServerDirs;
  readonly #watchdog = Watchdog.instance();
  #port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #state: State = 'down';
  /** Lifecycle operations run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  /** Reserves the temp dirs; nothing runs until {@link ManagedServer.start}. */
  constructor(spec: ServerSpec<K>) {
    this.#spec = spec;
    const root = mkdtempSync(join(tmpdir(), `polystore-${spec.kind}-`));
    this.#watchdog.trackDir(root);
    this.#dirs = { root, dataDir: join(root, 'data'), logFile: join(root, 'server.log') };
  }

  /**
   * Initializes the data dir, starts the server on a free port and waits
   * until it is ready; on failure, removes everything and rethrows.
   */
  async start(): Promise<this> {
    try {
      await this.#prepare();
      await this.#startOnFreePort();
      return this;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  get kind(): K {
    return this.#spec.kind;
  }

  get host(): string {
    return LOOPBACK;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return this.#spec.url(this.#port);
  }

  get dataDir(): string {
    return this.#dirs.dataDir;
  }

  /** The temp dir that holds the data dir, the log and any config; removed by `stop()`. */
  get rootDir(): string {
    return this.#dirs.root;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#state === 'running' || this.#state === 'paused';
  }

  get paused(): boolean {
    return this.#state === 'paused';
  }

  logTail(bytes = 4_096): string {
    return this.#logSince(Math.max(0, fileSize(this.#dirs.logFile) - bytes));
  }

  #logSince(offset: number): string {
    let fd: number;
    try {
      fd = openSync(this.#dirs.logFile, 'r');
    } catch {
      return '';
    }
    try {
      const length = Math.max(0, fstatSync(fd).size - offset);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, offset);
      return buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  }

  stop(options: StopOptions = {}): Promise<void> {
    return this.#serialize(async () => {
      if (this.#state !== 'stopped') await this.#shutdown();
      if (options.keepDataDir) {
        if (this.#state !== 'stopped') this.#state = 'down';
        return;
      }
      this.#state = 'stopped';
      rmSync(this.#dirs.root, { recursive: true, force: true, maxRetries: 5 });
      this.#watchdog.untrackDir(this.#dirs.root);
    });
  }

  kill(): Promise<void> {
    return this.#serialize(async () => {
      const pid = this.#child?.pid;
      if (pid === undefined) return;
      await this.#reap(signalTree(pid, 'SIGKILL'));
      this.#state = 'down';
    });
  }

  restart(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#state === 'stopped') {
        throw new Error(`${this.kind} server was stopped and its data dir removed`);
      }
      await this.#shutdown();
      await this.#startOnSamePort();
    });
  }

  pause(): void {
    const pid = this.#requireRunning('pause');
    waitUntilStopped(signalTree(pid, 'SIGSTOP'));
    this.#state = 'paused';
  }

  resume(): void {
    const pid = this.#requireRunning('resume');
    signalTree(pid, 'SIGCONT');
    this.#state = 'running';
  }

  #requireRunning(operation: string): number {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.running) {
      throw new Error(`cannot ${operation} ${this.kind}: it is not running`);
    }
    return pid;
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #prepare(): Promise<void> {
    const { root, dataDir } = this.#dirs;
    mkdirSync(dataDir, { mode: 0o700 });
    const user = this.#spec.user;
    if (user !== undefined) {
      chownSync(root, user.uid, user.gid);
      chownSync(dataDir, user.uid, user.gid);
    }
    await this.#spec.initialize?.(this.#dirs);
  }

  async #startOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.#port = await freePort(LOOPBACK);
      try {
        await this.#launch();
        return;
      } catch (error) {
        // Someone took the port between freePort() and our bind: try another one.
        if (!(error instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw unwrap(error);
      }
    }
  }

  async #startOnSamePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#launch();
        return;
      } catch (error) {
        // The port must not change on restart; wait for whoever holds it to let go.
        if (!(error instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw unwrap(error);
        await sleep(200 * attempt);
      }
    }
  }

  /** Spawns the server once and waits until it is ready, or throws (the process is gone by then). */
  async #launch(): Promise<void> {
    const port = this.#port;
    const command = await this.#spec.command(port, this.#dirs);
    const logOffset = fileSize(this.#dirs.logFile);
    const log = openSync(this.#dirs.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command.file, command.args, {
        cwd: this.#dirs.root,
        // Its own process group (and session): we can signal the server with all its
        // children at once, and a Ctrl-C aimed at the test run does not race our cleanup.
        detached: true,
        // A file, not a pipe: the server must not die of SIGPIPE when this process goes away first.
        stdio: ['ignore', log, log],
        env: serverEnv(),
      });
    } finally {
      closeSync(log);
    }
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    await spawned.catch((error: unknown) => {
      throw new ServerStartError(this.kind, `could not spawn ${command.file}`, '', {
        cause: error,
      });
    });
    const pid = child.pid!;
    // Signals go through process.kill, but keep a stray 'error' event from crashing the test process.
    child.on('error', () => {});
    // A forgotten handle must not keep the test process alive; the watchdog covers cleanup.
    child.unref();
    this.#watchdog.trackProcess(pid);
    this.#child = child;
    this.#state = 'running';
    this.#exited = exited.then(() => {
      // Forget the pid at once, also when the server dies on its own: the watchdog must never
      // signal a recycled pid. (PostgreSQL's children exit by themselves when the postmaster dies.)
      this.#watchdog.untrackProcess(pid);
      if (this.#child === child) {
        this.#child = undefined;
        if (this.#state !== 'stopped') this.#state = 'down';
      }
    });

    try {
      await this.#waitUntilReady(port, exited);
    } catch (error) {
      await this.#reap(signalTree(pid, 'SIGKILL'));
      if (PORT_IN_USE.test(this.#logSince(logOffset))) throw new PortInUseError(port, error);
      throw error;
    }
  }

  async #waitUntilReady(port: number, exited: Promise<number | string>): Promise<void> {
    const startTimeoutMs = this.#spec.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + startTimeoutMs;
    let exitStatus: number | string | undefined;
    void exited.then((status) => {
      exitStatus = status;
    });
    let lastError: unknown;
    let delay = 25;
    while (Date.now() < deadline) {
      if (exitStatus !== undefined) {
        const message = `exited (${exitStatus}) before it was ready`;
        throw new ServerStartError(this.kind, message, this.logTail(), { cause: lastError });
      }
      try {
        await withTimeout(
          Promise.race([
            this.#spec.probe(port, this.#dirs),
            exited.then(() => {
              throw new Error('server exited');
            }),
          ]),
          PROBE_TIMEOUT_MS,
        );
        if (exitStatus === undefined) return;
      } catch (error) {
        lastError = error;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
    }
    throw new ServerStartError(
      this.kind,
      `not ready after ${startTimeoutMs} ms (last health check: ${errorMessage(lastError)})`,
      this.logTail(),
      { cause: lastError },
    );
  }

  /** Stops the current process gracefully, SIGKILLing its tree after the grace period. */
  async #shutdown(): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    this.#child?.ref();
    // A paused server cannot act on the stop signal.
    const tree = signalTree(pid, 'SIGCONT');
    try {
      process.kill(pid, this.#spec.stopSignal);
    } catch {
      // Already gone; #reap below confirms.
    }
    const graceful = await withTimeout(
      this.#exited,
      this.#spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    ).then(
      () => true,
      () => false,
    );
    await this.#reap(graceful ? tree : [...tree, ...signalTree(pid, 'SIGKILL')]);
    this.#state = 'down';
  }

  /**
   * Waits until the server process and every process of its tree (as seen
   * before it was signalled) are gone. PostgreSQL refuses to start while a
   * backend of the previous run still holds its shared memory, so "the
   * postmaster exited" is not enough.
   */
  async #reap(tree: readonly number[]): Promise<void> {
    // The child is unref'd while it merely runs; someone waiting for its exit must keep this process alive.
    this.#child?.ref();
    await this.#exited;
    if (!(await waitForExit(tree, 5_000))) {
      for (const member of tree) signalTree(member, 'SIGKILL');
      await waitForExit(tree, 5_000);
    }
  }
}

/** The server died because its port was taken; internal to the retry loops. */
class PortInUseError extends Error {
  constructor(
    readonly port: number,
    override readonly cause: unknown,
  ) {
    super(`port ${port} is already in use`);
  }
}

function unwrap(error: unknown): unknown {
  return error instanceof PortInUseError ? error.cause : error;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Settles like `promise`, or rejects after `ms`; the timer never outlives the race. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    // The loser may still reject later; that is expected, not unhandled.
    promise.catch(() => {});
  }
}

function errorMessage(error: unknown): string {
  if (error === undefined) return 'none ran';
  return error instanceof Error ? error.message : String(error);
}
