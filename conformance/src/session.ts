import { isDeepStrictEqual } from 'node:util';
import {
  type Capabilities,
  type Clock,
  type IdGenerator,
  ManualClock,
  type Stores,
  sequentialIds,
} from '@polystore/core';
import { ConformanceFailure } from './conformance-failure.js';
import type { ConformanceOptions } from './conformance-options.js';

/** The clock epoch every run starts at. */
export const CLOCK_EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

/** One opened bag and what it was opened with. */
export interface Opened {
  readonly stores: Stores;
  readonly clock: ManualClock;
  readonly namespace: string;
}

/**
 * A run of the suite against one adapter: fresh namespaces, the injected clock and ids,
 * the URL rewrite of the fault proxy, and the manifest that must never change.
 */
export class Session {
  readonly options: ConformanceOptions;
  readonly runId: string;
  #counter = 0;
  #manifest: Capabilities | undefined;
  #route: (url: string) => string = (url) => url;

  constructor(options: ConformanceOptions) {
    this.options = options;
    this.runId = Math.random().toString(36).slice(2, 8);
  }

  /** A fresh namespace name: short, lowercase letters, digits and `_` only. */
  namespace(tag: string): string {
    this.#counter += 1;
    return `ps_${this.runId}_${tag}_${this.#counter}`;
  }

  /** Sets the URL rewrite `open` sees (the fault proxy's), or resets it. */
  setRoute(route: ((url: string) => string) | undefined): void {
    this.#route = route ?? ((url) => url);
  }

  /** Opens a bag in `namespace` with the given clock and ids and checks its manifest. */
  async open(
    namespace: string,
    clock: Clock = new ManualClock(CLOCK_EPOCH),
    ids: IdGenerator = sequentialIds(),
  ): Promise<Stores> {
    const route = this.#route;
    const stores = await this.options.open(namespace, { clock, ids, route });
    this.checkManifest(stores);
    return stores;
  }

  /** Opens a bag in a fresh namespace with a fresh manual clock and sequential ids. */
  async openFresh(tag: string): Promise<Opened> {
    const clock = new ManualClock(CLOCK_EPOCH);
    const namespace = this.namespace(tag);
    return { stores: await this.open(namespace, clock, sequentialIds()), clock, namespace };
  }

  /** Closes a bag the way the adapter asked. */
  async close(stores: Stores): Promise<void> {
    this.checkManifest(stores);
    await (this.options.close ? this.options.close(stores) : stores.close());
  }

  /** The manifest seen at the first open. */
  get manifest(): Capabilities | undefined {
    return this.#manifest;
  }

  /** Fails unless the bag's manifest is frozen and deep-equal to the first one seen. */
  checkManifest(stores: Stores): void {
    const m = stores.capabilities;
    if (
      typeof m !== 'object' ||
      m === null ||
      !Object.isFrozen(m) ||
      !Object.isFrozen(m.features)
    ) {
      throw new ConformanceFailure(
        'manifest',
        'stores.capabilities must be a frozen manifest with frozen features',
      );
    }
    if (this.#manifest === undefined) {
      this.#manifest = structuredClone(m);
      return;
    }
    if (!isDeepStrictEqual(structuredClone(m), this.#manifest)) {
      throw new ConformanceFailure(
        'manifest',
        `the capability manifest changed: first ${JSON.stringify(this.#manifest)}, now ${JSON.stringify(m)}`,
      );
    }
  }
}
