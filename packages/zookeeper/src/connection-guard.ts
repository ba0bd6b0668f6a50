import type { Socket } from 'node:net';
import type { Client } from 'node-zookeeper-client';

/**
 * The connection states of node-zookeeper-client 1.1.3's `ConnectionManager` (its
 * `STATES`, not exported through the package's typings).
 */
const STATE = Object.freeze({ CONNECTING: 1, CONNECTED: 2, CONNECTED_READ_ONLY: 3 });

/** The members of node-zookeeper-client 1.1.3's `ConnectionManager` the guard wraps. */
interface ConnectionManager {
  state: number;
  socket: Socket | undefined;
  /** The negotiated session timeout, in ms. */
  sessionTimeout: number;
  /** Leftover bytes of a partial reply, kept (wrongly) across reconnects. */
  pendingBuffer: Buffer | null;
  /** The driver's timer on a TCP connect in progress (ref'd: it holds the process open). */
  connectTimeoutHandler: NodeJS.Timeout | null;
  connect(): void;
  onSocketConnected(): void;
  onSocketData(buffer: Buffer): void;
}

/**
 * `setTimeout`, but `fn` runs only once the I/O that was ready when the timer expired has
 * been handled. After the event loop was blocked (a long synchronous task), expired timers
 * run before the socket data that arrived meanwhile is read; a timeout decided then would
 * give up an answer that is already there, and drop a healthy connection.
 */
export function setIoTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(() => setImmediate(fn), ms);
}

/** How {@link ConnectionGuard} watches a client's connection. */
export interface ConnectionGuardOptions {
  /** Longest wait for the server's answer to the connect request once TCP is up, in ms. */
  readonly connectReplyTimeoutMs: number;
  /** Called when a connect request went unanswered for `connectReplyTimeoutMs`. */
  readonly onConnectReplyTimeout: () => void;
}

/**
 * Closes the gaps of node-zookeeper-client 1.1.3's connection handling, for one client:
 *
 * - **A closed client stays closed.** The driver's `close()` on a client that is not
 *   connected writes a close-session request behind its unanswered connect request; when
 *   the (frozen) server answers later, the connect reply is parsed as an ordinary reply and
 *   `Exception.create` throws `Unknown code` from a socket handler: an uncaught exception.
 *   {@link close} destroys such a connection instead, and the client never reconnects.
 * - **No driver exception reaches `uncaughtException`.** A reply the driver cannot parse
 *   drops the connection (the driver reconnects) instead of throwing from the socket.
 * - **A connect request without a reply is given up** after `connectReplyTimeoutMs`:
 *   the driver times out the TCP connect only, so a server that accepted the connection
 *   while starting (or frozen) kept the client waiting forever.
 * - **A silent server is noticed**: nothing heard for a whole session timeout, while the
 *   driver pings every third of it, drops the connection (the session is as good as over),
 *   so an idle client finds out before its next call. (The Java client allows two thirds;
 *   the whole timeout leaves room for a server whose pings wait behind a slow fsync.)
 * - A partial reply left from a lost connection is discarded on reconnect (the driver
 *   would prepend it to the next connection's first bytes).
 *
 * It wraps the connection manager's instance methods before `connect()`, because the
 * driver binds them to each new socket when it is made.
 */
export class ConnectionGuard {
  readonly #client: Client;
  readonly #cm: ConnectionManager;
  readonly #options: ConnectionGuardOptions;
  #closed = false;
  #killed = false;
  #replyTimer: NodeJS.Timeout | undefined;
  #readTimer: NodeJS.Timeout | undefined;
  #readMs = 0;
  #lastHeard = 0;

  constructor(client: Client, options: ConnectionGuardOptions) {
    this.#client = client;
    this.#options = Object.freeze({ ...options });
    const cm = (client as unknown as { connectionManager: ConnectionManager }).connectionManager;
    this.#cm = cm;
    const proto = Object.getPrototypeOf(cm) as ConnectionManager;
    cm.connect = () => {
      if (!this.#killed) proto.connect.call(cm);
    };
    cm.onSocketConnected = () => {
      if (this.#killed) {
        cm.socket?.destroy();
        return;
      }
      cm.pendingBuffer = null;
      proto.onSocketConnected.call(cm);
      this.#armReplyTimer(cm.socket);
    };
    cm.onSocketData = (buffer: Buffer) => {
      if (this.#killed) {
        cm.socket?.destroy();
        return;
      }
      try {
        proto.onSocketData.call(cm, buffer);
      } catch {
        // A reply the driver cannot parse: the stream is out of step, so drop the
        // connection (the driver reconnects and the requests in flight fail).
        cm.pendingBuffer = null;
        cm.socket?.destroy();
        return;
      }
      if (this.#connectedState()) this.#heard();
    };
  }

  /**
   * Ends the client for good. A connected client closes its session politely (the server
   * drops it at once), with `graceMs` for the answer before the connection is destroyed;
   * any other client's connection is destroyed at once. Idempotent.
   */
  close(graceMs: number): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#replyTimer);
    clearTimeout(this.#readTimer);
    if (this.#cm.state !== STATE.CONNECTED) {
      this.#kill();
      return;
    }
    this.#client.close();
    // A frozen server must not keep the process alive, nor the socket open for long.
    this.#cm.socket?.unref();
    setTimeout(() => this.#kill(), graceMs).unref();
  }

  /**
   * Drops a live connection (the driver reconnects, with the same session while it lasts):
   * the requests in flight on it fail at once.
   */
  drop(): void {
    if (!this.#closed && this.#connectedState()) this.#cm.socket?.destroy();
  }

  #kill(): void {
    this.#killed = true;
    // A destroyed socket emits no 'error', so the driver would leave this timer running.
    if (this.#cm.connectTimeoutHandler) clearTimeout(this.#cm.connectTimeoutHandler);
    this.#cm.socket?.destroy();
  }

  #connectedState(): boolean {
    return this.#cm.state === STATE.CONNECTED || this.#cm.state === STATE.CONNECTED_READ_ONLY;
  }

  #armReplyTimer(socket: Socket | undefined): void {
    clearTimeout(this.#replyTimer);
    this.#replyTimer = setIoTimeout(() => {
      if (this.#closed || this.#cm.socket !== socket || this.#cm.state !== STATE.CONNECTING) return;
      this.#options.onConnectReplyTimeout();
    }, this.#options.connectReplyTimeoutMs);
    this.#replyTimer.unref();
  }

  /** Restarts the read timeout: something was heard on a live connection. */
  #heard(): void {
    if (this.#closed) return;
    this.#lastHeard = performance.now();
    const ms = this.#cm.sessionTimeout;
    // One timer for the client's life, re-armed (refresh) on every reply.
    if (this.#readTimer && this.#readMs === ms) {
      this.#readTimer.refresh();
      return;
    }
    clearTimeout(this.#readTimer);
    this.#readMs = ms;
    this.#readTimer = setIoTimeout(() => {
      if (this.#closed || !this.#connectedState()) return;
      // Heard from after all: the timer had expired while the loop was busy.
      if (performance.now() - this.#lastHeard < ms) this.#readTimer?.refresh();
      else this.#cm.socket?.destroy();
    }, ms);
    this.#readTimer.unref();
  }
}
