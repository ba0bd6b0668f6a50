import type { EvolutionOptions, FaultOptions, UpgradeOptions } from '@polystore/conformance';
import { type Adapter, type AdapterRegistry, ConfigError } from '@polystore/core';
import { openBackend } from '@polystore/core/adapter';
import type { NamespaceUrlFn } from './load-adapters.js';

function schemeOf(url: URL): string {
  return url.protocol.slice(0, -1).toLowerCase();
}

/**
 * The URL of a fresh namespace inside the store `base` names, as the adapter's
 * `namespaceUrl` hook puts it. `plugin` is the `namespaceUrl` export of an `--adapter`
 * module (the older convention), which wins over the hook.
 */
export function namespacedUrl(
  base: string,
  namespace: string,
  adapter: Adapter,
  plugin?: NamespaceUrlFn,
): string {
  if (plugin) return plugin(base, namespace);
  const url = new URL(base);
  if (!adapter.namespaceUrl) {
    throw new ConfigError(
      `conformance cannot namespace ${url.protocol} URLs: adapter ${adapter.name} has no namespaceUrl(url, namespace) hook`,
    );
  }
  return adapter.namespaceUrl(url, namespace).toString();
}

/**
 * Refuses URLs the suite cannot use: two opens of one namespace must share data. The
 * adapter's `namespaceUrl` hook knows its URLs: it refuses one whose opens share nothing
 * (`sqlite::memory:`) with `ConfigError`.
 */
export function checkConformanceUrl(base: string, adapter: Adapter, plugin?: NamespaceUrlFn): void {
  namespacedUrl(base, 'check', adapter, plugin);
}

/**
 * How the fault group reaches the store: through the suite's TCP proxy for a URL that names
 * a server (`host:port`), not applicable for an in-process one (no host: a file, memory).
 */
export function faultsFor(base: string): FaultOptions {
  const url = new URL(base);
  if (url.hostname === '') {
    return {
      inProcess: `${schemeOf(url)}: runs in the process, no network between client and data`,
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
 * How the evolution group reaches the store a URL names: each open is a fresh client of the
 * namespace with the given resource definitions, through core's `openBackend` (which hands
 * the backend back, or none for an adapter that opens a ready Stores bag: the group then
 * reports itself not applicable).
 */
export function evolutionFor(
  base: string,
  registry: AdapterRegistry,
  adapter: Adapter,
  plugin?: NamespaceUrlFn,
): EvolutionOptions {
  return {
    open: async (namespace, deps, resources) => {
      const opened = await openBackend(
        deps.route(namespacedUrl(base, namespace, adapter, plugin)),
        {
          registry,
          clock: deps.clock,
          ids: deps.ids,
          resources,
        },
      );
      return { stores: opened.stores, backend: opened.backend };
    },
  };
}

/**
 * How the upgrade group reaches the store a URL names: each open is another process of the
 * namespace (a fleet member or the live-upgrade engine), opened with the options
 * `@polystore/migrate` passes, through core's `openBackend` (which hands the backend back,
 * or none for an adapter that opens a ready Stores bag: the group then reports itself not
 * applicable).
 */
export function upgradeFor(
  base: string,
  registry: AdapterRegistry,
  adapter: Adapter,
  plugin?: NamespaceUrlFn,
): UpgradeOptions {
  return {
    open: async (namespace, options) => {
      const opened = await openBackend(namespacedUrl(base, namespace, adapter, plugin), {
        ...options,
        registry,
      });
      return { stores: opened.stores, backend: opened.backend };
    },
  };
}
