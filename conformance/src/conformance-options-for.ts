import { type Adapter, ConfigError, type OpenStoresOptions } from '@polystore/core';
import { openBackend } from '@polystore/core/adapter';
import type {
  AdapterConformanceOptions,
  ConformanceOptions,
  FaultOptions,
} from './conformance-options.js';

/**
 * The URL of a fresh namespace inside the store `base` names, as the adapter's
 * `namespaceUrl` hook puts it; `ConfigError` naming the adapter when it has no hook.
 *
 * @example
 * ```ts
 * namespacedUrl('redis://127.0.0.1:6379', 'ns1', redisAdapter); // redis://127.0.0.1:6379?namespace=ns1
 * ```
 */
export function namespacedUrl(base: string, namespace: string, adapter: Adapter): string {
  const url = new URL(base);
  if (!adapter.namespaceUrl) {
    throw new ConfigError(
      `conformance cannot namespace ${url.protocol} URLs: adapter ${adapter.name} has no namespaceUrl(url, namespace) hook (give it one, or pass urlOf(namespace) to the suite)`,
    );
  }
  return adapter.namespaceUrl(url, namespace).toString();
}

/**
 * How the fault group reaches the store a URL names: through the suite's TCP proxy for a
 * URL that names a server (`host:port`), not applicable for an in-process one (no host: a
 * file, memory).
 *
 * @example
 * ```ts
 * faultsFor('redis://127.0.0.1:7000'); // { proxy: { target: '127.0.0.1:7000' } }
 * ```
 */
export function faultsFor(base: string): FaultOptions {
  const url = new URL(base);
  if (url.hostname === '') {
    return {
      inProcess: `${url.protocol.slice(0, -1).toLowerCase()}: runs in the process, no network between client and data`,
    };
  }
  if (url.port === '') {
    // Default ports are the adapter's knowledge; the proxy needs the real one.
    throw new ConfigError(
      `conformance: give the server's port in the URL (${url.protocol}//${url.hostname}:PORT/…), so the fault group can put its proxy in front of it`,
    );
  }
  return { proxy: { target: `${url.hostname}:${url.port}` } };
}

/**
 * The explicit options the short form stands for: every open is core's `openBackend` with
 * the adapter, on the URL of a fresh namespace (`urlOf`, else the adapter's `namespaceUrl`
 * hook on `url`), the ones the suite gives under test routed through the fault proxy. An
 * adapter that opens a ready Stores bag (a remote client) hands back no backend, which
 * makes the evolution and upgrade groups not applicable. Refuses with `ConfigError`, before
 * any group runs, a store it cannot namespace and a server URL without its port.
 *
 * @example
 * ```ts
 * // open.js beside a counterexample snippet: the open the short form gave the suite
 * export const { open } = conformanceOptionsFor({ adapter: redisAdapter, url: 'redis://127.0.0.1:6379' });
 * ```
 */
export function conformanceOptionsFor(options: AdapterConformanceOptions): ConformanceOptions {
  const { adapter, url, urlOf: given, name = adapter.name, faults, ...rest } = options;
  let urlOf: (namespace: string) => string;
  if (given) urlOf = given;
  else if (url !== undefined) urlOf = (namespace) => namespacedUrl(url, namespace, adapter);
  else throw new ConfigError('conformance: give the store as url, or urlOf(namespace)');
  // The adapter's hook refuses a URL whose opens share nothing (`sqlite::memory:`): say so now.
  const probe = urlOf('check');
  const opened = (namespaced: string, openOptions: OpenStoresOptions) =>
    openBackend(namespaced, { ...openOptions, adapters: [adapter] });
  return {
    ...rest,
    name,
    open: async (namespace, { clock, ids, route }) =>
      (await opened(route(urlOf(namespace)), { clock, ids })).stores,
    faults: faults ?? faultsFor(url ?? probe),
    evolution: {
      open: (namespace, { clock, ids, route }, resources) =>
        opened(route(urlOf(namespace)), { clock, ids, resources }),
    },
    upgrade: { open: (namespace, upgradeOptions) => opened(urlOf(namespace), upgradeOptions) },
  };
}

/** The explicit options, whichever form was given. */
export function explicitOptions(
  options: ConformanceOptions | AdapterConformanceOptions,
): ConformanceOptions {
  return 'adapter' in options ? conformanceOptionsFor(options) : options;
}
