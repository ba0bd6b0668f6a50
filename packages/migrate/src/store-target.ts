import type { OpenStoresOptions, Stores } from '@polystore/core';
import { type Backend, openBackend } from '@polystore/core/adapter';

/** What the engine and fleet members need of an opened store. */
export interface OpenedTarget {
  /** The driver backend (the engine needs its evolution SPI). */
  readonly backend: Backend | undefined;
  readonly stores: Stores;
}

/**
 * Where the engine or a fleet member opens its store: a store URL, or a function that
 * opens one with the options given (the conformance suite's way to reach an adapter in a
 * namespace of its own), e.g.
 * `(options) => openBackend(urlOf(namespace), { ...options, adapters: [myAdapter] })`.
 */
export type StoreTarget = string | ((options: OpenStoresOptions) => Promise<OpenedTarget>);

/** Opens a {@link StoreTarget} with `options`. */
export function openTarget(target: StoreTarget, options: OpenStoresOptions): Promise<OpenedTarget> {
  return typeof target === 'string' ? openBackend(target, options) : target(options);
}
