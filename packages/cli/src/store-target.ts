import type { AdapterRegistry, StoresOptions } from '@polystore/core';
import { type OpenedBackend, openBackend } from '@polystore/core/adapter';
import { CliError } from './cli-error.js';

/** An opened store: the adapter, its backend and the Stores bag over it. */
export type StoreTarget = OpenedBackend;

/** The store URL from `--store` (which commander fills from `POLYSTORE_URL`), or a usage error. */
export function requireStoreUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CliError(
      'no store URL: pass --store URL or set POLYSTORE_URL (e.g. sqlite:./data.db, memory:)',
    );
  }
  return value;
}

/**
 * Opens a store URL as `openStores` does (core's `openBackend`), keeping the adapter and
 * backend at hand so `doctor` can describe them.
 */
export function openTarget(
  raw: string,
  registry: AdapterRegistry,
  options: StoresOptions = {},
): Promise<StoreTarget> {
  return openBackend(raw, { ...options, registry });
}
