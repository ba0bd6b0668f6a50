import { ConfigError, redactUrl } from '@polystore/core';

/**
 * Options of the ZooKeeper adapter, given as `openZooKeeperStores(url, { adapter })` or
 * `openStores(url, { adapter })`, or as URL query parameters of the same names
 * (`zookeeper://host:2181/app?sessionTimeoutMs=4000`); given both ways, they must agree.
 * Timeouts follow ZooKeeper's own terms:
 * https://zookeeper.apache.org/doc/r3.8.0/zookeeperProgrammers.html#ch_zkSessions
 */
export interface ZooKeeperOptions {
  /**
   * The znode every path of the adapter lives under (the namespace), made of
   * `[A-Za-z0-9_.-]` segments, not `/zookeeper`; created on open. Default: the URL's path
   * (`zookeeper://host:2181/my/app` -> `/my/app`), else `/polystore`. Given as an option
   * and in the URL's path, both must agree.
   */
  readonly chroot?: string;
  /**
   * The ensemble as `host:port,host:port,...`, for more than one server (a URL holds
   * one); it replaces the URL's host. Default: the URL's `host:port` (port 2181 when left
   * out).
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

/** The defaults of {@link ZooKeeperOptions} (`servers` comes from the URL). */
export const ZOOKEEPER_DEFAULTS = Object.freeze({
  chroot: '/polystore',
  sessionTimeoutMs: 10_000,
  requestTimeoutMs: 4_000,
  failFastMs: 5_000,
  connectTimeoutMs: 10_000,
  spinDelayMs: 200,
  cacheSize: 10_000,
});

/** Options with every default applied and checked. */
export type ResolvedZooKeeperOptions = Required<ZooKeeperOptions>;

/** The integer options and their least value. */
const INTEGERS = Object.freeze({
  sessionTimeoutMs: 1,
  requestTimeoutMs: 1,
  failFastMs: 1,
  connectTimeoutMs: 1,
  spinDelayMs: 1,
  cacheSize: 0,
});
type IntegerOption = keyof typeof INTEGERS;

const OPTION_NAMES: readonly string[] = ['chroot', 'servers', ...Object.keys(INTEGERS)];

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

/** A chroot without trailing slashes, checked. */
function checkChroot(given: string): string {
  const chroot = given.replace(/\/+$/, '');
  const segments = chroot.split('/').slice(1);
  if (
    !chroot.startsWith('/') ||
    segments.length === 0 ||
    segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..') ||
    segments[0] === 'zookeeper'
  ) {
    throw new ConfigError(
      `zookeeper: chroot must be an absolute path of [A-Za-z0-9_.-] segments, not /zookeeper, got ${JSON.stringify(given)}`,
    );
  }
  return chroot;
}

/** Checks the option object's keys and value types (`where`: `option` or `URL parameter`). */
function checkGiven(
  given: Readonly<Record<string, unknown>>,
  where: string,
): Partial<Record<string, string | number>> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!OPTION_NAMES.includes(key)) {
      throw new ConfigError(
        `zookeeper: unknown ${where} ${key}; known: ${OPTION_NAMES.join(', ')}`,
      );
    }
    if (Object.hasOwn(INTEGERS, key)) {
      const min = INTEGERS[key as IntegerOption];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
        throw new ConfigError(`zookeeper: ${where} ${key} must be an integer >= ${min}`);
    } else if (typeof value !== 'string') {
      throw new ConfigError(`zookeeper: ${where} ${key} must be a string`);
    }
    out[key] = value as string | number;
  }
  return out;
}

/** The options a URL's query parameters give (numbers as decimal integers). */
function fromQuery(url: URL): Partial<Record<string, string | number>> {
  const raw: Record<string, unknown> = {};
  for (const [name, value] of url.searchParams) {
    if (Object.hasOwn(raw, name))
      throw new ConfigError(`zookeeper: URL parameter ${name} given twice`);
    raw[name] = Object.hasOwn(INTEGERS, name) && /^\d+$/.test(value) ? Number(value) : value;
  }
  return checkGiven(raw, 'URL parameter');
}

/**
 * Resolves the adapter's options from a `zookeeper://host[:port][/chroot][?option=value...]`
 * URL and the options object: URL query parameters of the options' names are accepted too,
 * and an option given both ways (or the chroot given as the URL's path and as an option)
 * must agree. Applies {@link ZOOKEEPER_DEFAULTS}; throws `ConfigError` on an unknown
 * option, a bad value or a disagreement.
 *
 * @example
 * ```ts
 * resolveZooKeeperOptions(new URL('zookeeper://zk:2181/app?failFastMs=2000'), { cacheSize: 0 });
 * // { chroot: '/app', servers: 'zk:2181', failFastMs: 2000, cacheSize: 0, ... }
 * ```
 */
export function resolveZooKeeperOptions(
  url: URL,
  options: ZooKeeperOptions = {},
): ResolvedZooKeeperOptions {
  if (url.protocol !== 'zookeeper:')
    throw new ConfigError(`zookeeper: unexpected scheme ${url.protocol}`);
  const given = checkGiven(options as Readonly<Record<string, unknown>>, 'option');
  const query = fromQuery(url);
  // The URL's path is its chroot; a chroot parameter as well must name the same.
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  if (path) {
    if (query.chroot !== undefined && checkChroot(`${query.chroot}`) !== checkChroot(path)) {
      throw new ConfigError(
        `zookeeper: the URL's path ${path} and its chroot parameter ${query.chroot} disagree`,
      );
    }
    query.chroot = path;
  }
  const merged: Record<string, string | number> = {};
  for (const key of OPTION_NAMES) {
    const a = given[key];
    const b = query[key];
    const same =
      a === undefined ||
      b === undefined ||
      (key === 'chroot' ? checkChroot(`${a}`) === checkChroot(`${b}`) : a === b);
    if (!same) {
      throw new ConfigError(
        `zookeeper: ${key} is ${JSON.stringify(a)} as an option but ${JSON.stringify(b)} in the URL ${redactUrl(url.href)}`,
      );
    }
    const value = a ?? b;
    if (value !== undefined) merged[key] = value;
  }
  const named =
    (merged.servers as string | undefined) ??
    (url.hostname ? `${url.hostname}:${url.port || '2181'}` : '');
  if (!named)
    throw new ConfigError('zookeeper: the URL names no server (zookeeper://host:port/chroot)');
  const int = (key: IntegerOption): number =>
    (merged[key] as number | undefined) ?? ZOOKEEPER_DEFAULTS[key];
  return Object.freeze({
    chroot: checkChroot((merged.chroot as string | undefined) ?? ZOOKEEPER_DEFAULTS.chroot),
    servers: checkServers(named),
    sessionTimeoutMs: int('sessionTimeoutMs'),
    requestTimeoutMs: int('requestTimeoutMs'),
    failFastMs: int('failFastMs'),
    connectTimeoutMs: int('connectTimeoutMs'),
    spinDelayMs: int('spinDelayMs'),
    cacheSize: int('cacheSize'),
  });
}
