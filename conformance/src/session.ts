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
  /** Fresh bags opened ahead, by tag (see `openFresh`), and the tags asked for so far. */
  readonly #spares = new Map<string, Promise<Opened>>();
  readonly #tags = new Set<string>();
  /** Time spent opening and closing bags, for `CONFORMANCE_TIMING=1` (see `takeTiming`). */
  #timing = { opens: 0, openMs: 0, closes: 0, closeMs: 0 };

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
    const start = performance.now();
    const stores = await this.options.open(namespace, { clock, ids, route });
    this.#timing.opens += 1;
    this.#timing.openMs += performance.now() - start;
    this.checkManifest(stores);
    return stores;
  }

  /**
   * Opens a bag in a fresh namespace with a fresh manual clock and sequential ids. A tag
   * asked for a second time is asked for once per property run: from then on the next
   * bag is opened while the caller uses this one, so that opening (a pool, a session, the
   * schema: most of a short run on a slow backend) overlaps the run instead of preceding
   * it. A bag opened ahead is the same as one opened late: its namespace is new, its clock
   * manual and at the epoch, its ids not yet drawn. `dropSpares` closes the unused one.
   */
  async openFresh(tag: string): Promise<Opened> {
    const spare = this.#spares.get(tag);
    this.#spares.delete(tag);
    const again = this.#tags.has(tag);
    this.#tags.add(tag);
    const opened = await (spare ?? this.#openNew(tag));
    if (again) {
      const next = this.#openNew(tag);
      // Its failure is reported by the `openFresh` that takes it (or dropped with it).
      next.catch(() => undefined);
      this.#spares.set(tag, next);
    }
    return opened;
  }

  async #openNew(tag: string): Promise<Opened> {
    const clock = new ManualClock(CLOCK_EPOCH);
    const namespace = this.namespace(tag);
    return { stores: await this.open(namespace, clock, sequentialIds()), clock, namespace };
  }

  /** Closes the bags `openFresh` opened ahead and nobody took; a group ends with it. */
  async dropSpares(): Promise<void> {
    const spares = [...this.#spares.values()];
    this.#spares.clear();
    this.#tags.clear();
    await Promise.all(
      spares.map(async (spare) => {
        const opened = await spare.catch(() => undefined);
        if (opened) await this.close(opened.stores).catch(() => undefined);
      }),
    );
  }

  /** Closes a bag the way the adapter asked. */
  async close(stores: Stores): Promise<void> {
    this.checkManifest(stores);
    const start = performance.now();
    try {
      await (this.options.close ? this.options.close(stores) : stores.close());
    } finally {
      this.#timing.closes += 1;
      this.#timing.closeMs += performance.now() - start;
    }
  }

  /** Opens and closes since the last call, and the time they took; resets the tally. */
  takeTiming(): { opens: number; openMs: number; closes: number; closeMs: number } {
    const t = this.#timing;
    this.#timing = { opens: 0, openMs: 0, closes: 0, closeMs: 0 };
    return t;
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
