import { faultsFor, namespacedUrl as hookNamespacedUrl } from '@polystore/conformance/internal';
import type { Adapter } from '@polystore/core';
import type { NamespaceUrlFn } from './load-adapters.js';

// The suite builds its opens from an adapter and a URL itself (`conformanceOptionsFor`);
// what stays here is the CLI's own convention, an `--adapter` module's `namespaceUrl`.
export { faultsFor };

/**
 * The `urlOf(namespace)` the suite's short form takes for `polystore conformance`: the
 * `namespaceUrl` export of an `--adapter` module (the older convention, which wins over
 * the adapter's own hook), or none, and the suite namespaces through the hook.
 */
export function pluginUrlOf(
  base: string,
  plugin: NamespaceUrlFn | undefined,
): ((namespace: string) => string) | undefined {
  return plugin && ((namespace) => plugin(base, namespace));
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
  return plugin ? plugin(base, namespace) : hookNamespacedUrl(base, namespace, adapter);
}

/**
 * Refuses URLs the suite cannot use: two opens of one namespace must share data. The
 * adapter's `namespaceUrl` hook knows its URLs: it refuses one whose opens share nothing
 * (`sqlite::memory:`) with `ConfigError`.
 */
export function checkConformanceUrl(base: string, adapter: Adapter, plugin?: NamespaceUrlFn): void {
  namespacedUrl(base, 'check', adapter, plugin);
}
