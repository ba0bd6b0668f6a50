/**
 * Options of the `http(s)://` adapter, given as `openStores(url, { adapter: { ... } })`.
 * The token may also ride in the URL's password: `https://svc:TOKEN@conductor:8443`.
 */
export interface RemoteOptions {
  /** Bearer token; default the URL's password (then `POLYSTORE_TOKEN`). */
  readonly token?: string;
  /** Longest a call may take before it fails with `UnavailableError`, in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Longest the TCP/TLS connect may take, in ms. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** Keep-alive connections kept open to the server. Default 16. */
  readonly connections?: number;
  /**
   * Extra attempts of an idempotent read (get, getMany, list, count, ...) whose connection
   * broke before an answer came. Writes are never retried: the server may have done them. Default 1.
   */
  readonly readRetries?: number;
  /** PEM certificate authority to trust for `https://` (e.g. a self-signed server's certificate). */
  readonly ca?: string | Buffer;
}

/** The defaults of {@link RemoteOptions}. */
export const REMOTE_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  connectTimeoutMs: 2000,
  connections: 16,
  readRetries: 1,
});
