import { ConfigError } from '@polystore/core';

/**
 * Options of the ZooKeeper adapter, given as `openZooKeeperStores(url, options)` or as
 * `openStores(url, { adapter: options })`. Timeouts follow ZooKeeper's own terms:
 * https://zookeeper.apache.org/doc/r3.8.0/zookeeperProgrammers.html#ch_zkSessions
 */
export interface ZooKeeperOptions {
  /**
   * The znode every path of the adapter lives under (the namespace). Default: the URL's
   * path (`zookeeper://host:2181/my/app` -> `/my/app`), else `/polystore`. Created on open.
   */
  readonly chroot?: string;
  /**
   * The ensemble as `host:port,host:port,...`, for more than one server (a URL holds one).
   * Default: the URL's `host:port` (port 2181 when left out).
   */
  readonly servers?: string;
  /**
   * The session timeout asked of the server, in ms (the server clamps it to 2 to 20 ticks).
   * An expired session is replaced by a new one automatically. Default 10 000.
   */
  readonly sessionTimeoutMs?: number;
  /**
   * How long one request may take before the call fails with `UnavailableError`, in ms;
   * the connection is then given up and made again, so later calls fail at once until it
   * is back. Also the longest wait for the answer to a connect request. Default 4 000.
   */
  readonly requestTimeoutMs?: number;
  /**
   * The fail-fast bound, in ms: every call of a store (its requests, retries after lost
   * races and index-directory rounds) ends within it; when the server is frozen,
   * unreachable or slow the call fails with a retriable `UnavailableError` (a write may or
   * may not have taken effect). Default 5 000.
   */
  readonly failFastMs?: number;
  /** How long `open` waits for the first connection, in ms. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Upper bound of the random delay before the driver tries to reconnect, in ms. Default 200. */
  readonly spinDelayMs?: number;
  /**
   * How many records each resource driver remembers with their znode version, so that an
   * update or delete of a record read or written before costs one round trip. A stale
   * entry only costs a retry (the version check fails). Default 10 000; 0 turns it off.
   */
  readonly cacheSize?: number;
}

/** Options with every default applied. */
export type ResolvedZooKeeperOptions = Required<ZooKeeperOptions>;

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** `host[:port]` of one server: a host name or IPv4 address, an optional decimal port. */
const SERVER = /^([A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/;

/**
 * Checks a `host[:port],...` list and spells every port out. The driver takes the string
 * as it is and calls `net.connect` with it later, from a callback: a port out of range
 * would throw there, out of reach of any caller, and kill the process; a `/` would be
 * read as a chroot. It splits on `:`, so IPv6 addresses cannot be given at all.
 */
function checkServers(servers: string): string {
  const list = servers.split(',').map((entry) => {
    const m = SERVER.exec(entry.trim());
    const port = Number(m?.[2] ?? 2181);
    if (!m || port < 1 || port > 65_535) {
      throw new ConfigError(
        `zookeeper: servers must be host[:port] entries separated by commas, with ports 1-65535 and no IPv6 addresses (the driver cannot parse them), got ${JSON.stringify(entry)}`,
      );
    }
    return `${m[1]}:${port}`;
  });
  return list.join(',');
}

/** The default chroot when the URL has no path. */
export const DEFAULT_CHROOT = '/polystore';

/** Applies defaults to the URL and options and checks them; throws `ConfigError`. */
export function resolveOptions(url: URL, options: ZooKeeperOptions = {}): ResolvedZooKeeperOptions {
  if (url.protocol !== 'zookeeper:')
    throw new ConfigError(`zookeeper: unexpected scheme ${url.protocol}`);
  const fromPath = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  const chroot = (options.chroot ?? (fromPath || DEFAULT_CHROOT)).replace(/\/+$/, '');
  const segments = chroot.split('/').slice(1);
  if (
    !chroot.startsWith('/') ||
    segments.length === 0 ||
    segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..') ||
    segments[0] === 'zookeeper'
  ) {
    throw new ConfigError(
      `zookeeper: chroot must be an absolute path of [A-Za-z0-9_.-] segments, not /zookeeper, got ${JSON.stringify(chroot)}`,
    );
  }
  const named = options.servers ?? (url.hostname ? `${url.hostname}:${url.port || '2181'}` : '');
  if (!named)
    throw new ConfigError('zookeeper: the URL names no server (zookeeper://host:port/chroot)');
  const servers = checkServers(named);
  const positive = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min)
      throw new ConfigError(`zookeeper: ${name} must be an integer >= ${min}`);
    return v;
  };
  return Object.freeze({
    chroot,
    servers,
    sessionTimeoutMs: positive('sessionTimeoutMs', options.sessionTimeoutMs, 10_000),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 4_000),
    failFastMs: positive('failFastMs', options.failFastMs, 5_000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    spinDelayMs: positive('spinDelayMs', options.spinDelayMs, 200),
    cacheSize: positive('cacheSize', options.cacheSize, 10_000, 0),
  });
}
