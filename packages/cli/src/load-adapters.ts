import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Adapter, AdapterRegistry } from '@polystore/core';
import { CliError } from './cli-error.js';

/** Puts a conformance namespace into a store URL of a plugin's scheme. */
export type NamespaceUrlFn = (url: string, namespace: string) => string;

/**
 * What an adapter module given to `--adapter` exports: its adapter under any name (the
 * package entry of the design doc's adapter shape exports `<x>Adapter`; a plain `adapter`
 * works too), and optionally `namespaceUrl`.
 */
export interface AdapterModule {
  /** Every export shaped `{ name, schemes, open }` is an adapter, registered under its schemes. */
  readonly [name: string]: unknown;
  /**
   * For `polystore conformance`, the older convention beside the adapter's own
   * `namespaceUrl` hook (and winning over it): the URL of a fresh, isolated namespace
   * inside the store `url` names (two opens of the same namespace must share data).
   */
  readonly namespaceUrl?: NamespaceUrlFn;
}

function isAdapter(value: unknown): value is Adapter {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Adapter>;
  return (
    typeof candidate.name === 'string' &&
    Array.isArray(candidate.schemes) &&
    typeof candidate.open === 'function'
  );
}

/**
 * Imports third-party adapter modules and registers every adapter each one exports (as
 * `myKvAdapter`, `adapter` or any other name), so their schemes work like built-in ones. A
 * path (`./x.js`, `/x.js`) is relative to the working directory; anything else is a package
 * name. Returns the modules' `namespaceUrl` functions by scheme.
 *
 * @example
 * ```ts
 * const namespacers = await loadAdapters(['./dist/my-kv.js'], registry);
 * ```
 */
export async function loadAdapters(
  specifiers: readonly string[],
  registry: AdapterRegistry,
): Promise<Map<string, NamespaceUrlFn>> {
  const namespacers = new Map<string, NamespaceUrlFn>();
  for (const spec of specifiers) {
    const isPath = spec.startsWith('.') || isAbsolute(spec);
    const target = isPath ? pathToFileURL(resolve(spec)).href : spec;
    let mod: AdapterModule;
    try {
      mod = (await import(target)) as AdapterModule;
    } catch (err) {
      throw new CliError(
        `--adapter ${spec}: cannot import it (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    // One adapter may stand under two names (`adapter` and `myKvAdapter`): register it once.
    const adapters = [...new Set(Object.values(mod).filter(isAdapter))];
    if (adapters.length === 0) {
      throw new CliError(
        `--adapter ${spec}: the module exports no adapter { name, schemes, open } (e.g. export const myKvAdapter: Adapter = { ... })`,
      );
    }
    for (const adapter of adapters) {
      registry.register(adapter);
      if (typeof mod.namespaceUrl === 'function') {
        for (const scheme of adapter.schemes)
          namespacers.set(scheme.toLowerCase(), mod.namespaceUrl);
      }
    }
  }
  return namespacers;
}
