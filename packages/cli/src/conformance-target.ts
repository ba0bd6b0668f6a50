import type { FaultOptions } from '@polystore/conformance';
import { ConfigError } from '@polystore/core';
import type { NamespaceUrlFn } from './load-adapters.js';

/**
 * How each built-in scheme keeps stores apart in one server: the conformance suite opens
 * many fresh namespaces, and this says where a namespace goes in the URL. The adapter SPI
 * has no namespace hook yet, so a scheme missing here cannot be run by URL.
 */
const NAMESPACING: Readonly<Record<string, (url: URL, ns: string) => void>> = {
  // `memory:<name>` has an opaque path that URL cannot set; namespacedUrl rebuilds it.
  memory: () => {},
  sqlite: (url, ns) => appendParam(url, 'prefix', `${ns}_`),
  postgres: (url, ns) => appendParam(url, 'prefix', `${ns}_`),
  postgresql: (url, ns) => appendParam(url, 'prefix', `${ns}_`),
  mongodb: (url, ns) => appendParam(url, 'prefix', `${ns}_`),
  redis: (url, ns) => appendParam(url, 'namespace', ns, '_'),
  rediss: (url, ns) => appendParam(url, 'namespace', ns, '_'),
  zookeeper: (url, ns) => {
    url.pathname = `${url.pathname.replace(/\/+$/, '') || '/polystore'}/${ns}`;
  },
};

/** Default ports of the schemes whose server the fault proxy can stand in front of. */
const SERVER_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  postgresql: 5432,
  redis: 6379,
  zookeeper: 2181,
  mongodb: 27017,
};

function appendParam(url: URL, key: string, value: string, joiner = ''): void {
  const had = url.searchParams.get(key);
  url.searchParams.set(key, had ? `${had}${joiner}${value}` : value);
}

function schemeOf(url: URL): string {
  return url.protocol.slice(0, -1).toLowerCase();
}

/** The schemes `polystore conformance` can run against. */
export const CONFORMANCE_SCHEMES: readonly string[] = Object.keys(NAMESPACING);

/**
 * The URL of a fresh namespace inside the store `base` names. `plugins` are the
 * `namespaceUrl` functions of `--adapter` modules, by scheme; they win over the built-ins.
 */
export function namespacedUrl(
  base: string,
  namespace: string,
  plugins: ReadonlyMap<string, NamespaceUrlFn> = new Map(),
): string {
  const url = new URL(base);
  const plugin = plugins.get(schemeOf(url));
  if (plugin) return plugin(base, namespace);
  const put = NAMESPACING[schemeOf(url)];
  if (!put) {
    throw new ConfigError(
      `conformance cannot namespace ${url.protocol} URLs; supported: ${CONFORMANCE_SCHEMES.map((s) => `${s}:`).join(' ')}, ` +
        'or an --adapter module that exports namespaceUrl(url, namespace)',
    );
  }
  if (schemeOf(url) === 'memory') {
    const name = decodeURIComponent(url.pathname);
    return `memory:${encodeURIComponent(name ? `${name}_${namespace}` : namespace)}${url.search}`;
  }
  put(url, namespace);
  return url.toString();
}

/** Refuses URLs the suite cannot use: two opens of one namespace must share data. */
export function checkConformanceUrl(
  base: string,
  plugins: ReadonlyMap<string, NamespaceUrlFn> = new Map(),
): void {
  const url = new URL(base);
  namespacedUrl(base, 'check', plugins);
  if (schemeOf(url) === 'sqlite' && url.pathname.includes(':memory:')) {
    throw new ConfigError(
      'conformance needs a store that several clients share; sqlite::memory: gives each client its own database (use sqlite:./file.db)',
    );
  }
}

/**
 * How the fault group reaches the store: through the suite's TCP proxy for a networked
 * server, not applicable for an in-process one.
 */
export function faultsFor(base: string): FaultOptions {
  const url = new URL(base);
  const scheme = schemeOf(url);
  const port = SERVER_PORTS[scheme];
  if (port === undefined) {
    return { inProcess: `${scheme}: runs in the process, no network between client and data` };
  }
  return { proxy: { target: `${url.hostname}:${url.port || port}` } };
}
