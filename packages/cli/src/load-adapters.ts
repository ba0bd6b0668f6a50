import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Adapter, AdapterRegistry } from '@polystore/core';
import { CliError } from './cli-error.js';

/** Puts a conformance namespace into a store URL of a plugin's scheme. */
export type NamespaceUrlFn = (url: string, namespace: string) => string;

/** What an adapter module given to `--adapter` exports. */
export interface AdapterModule {
  /** The adapter, registered under its schemes. */
  readonly adapter: Adapter;
  /**
   * For `polystore conformance`: the URL of a fresh, isolated namespace inside the store
   * `url` names (two opens of the same namespace must share data). Optional.
   */
  readonly namespaceUrl?: NamespaceUrlFn;
}

/**
 * Imports third-party adapter modules (each exporting `adapter`, as the built-in ones do)
 * and registers them, so their schemes work like built-in ones. A path (`./x.js`, `/x.js`)
 * is relative to the working directory; anything else is a package name. Returns the
 * modules' `namespaceUrl` functions by scheme.
 */
export async function loadAdapters(
  specifiers: readonly string[],
  registry: AdapterRegistry,
): Promise<Map<string, NamespaceUrlFn>> {
  const namespacers = new Map<string, NamespaceUrlFn>();
  for (const spec of specifiers) {
    const isPath = spec.startsWith('.') || isAbsolute(spec);
    const target = isPath ? pathToFileURL(resolve(spec)).href : spec;
    let mod: Partial<AdapterModule>;
    try {
      mod = (await import(target)) as Partial<AdapterModule>;
    } catch (err) {
      throw new CliError(
        `--adapter ${spec}: cannot import it (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    const adapter = mod.adapter;
    if (!adapter || typeof adapter.open !== 'function' || !Array.isArray(adapter.schemes)) {
      throw new CliError(
        `--adapter ${spec}: the module does not export an adapter { name, schemes, open }`,
      );
    }
    registry.register(adapter);
    if (typeof mod.namespaceUrl === 'function') {
      for (const scheme of adapter.schemes) namespacers.set(scheme.toLowerCase(), mod.namespaceUrl);
    }
  }
  return namespacers;
}
