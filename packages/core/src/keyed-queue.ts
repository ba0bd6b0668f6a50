/**
 * Runs async tasks one after another per key; tasks of different keys run concurrently.
 * A failed task does not stop the ones queued after it. Adapters use it where work of one
 * process would only contend with itself (SQLite's writer, one network's allocations) or
 * where the backend cannot make a write atomic on its own (FerretDB's `findAndModify`).
 *
 * A queue shared by every copy of the module, e.g. a per-process lock table, is
 * {@link KeyedQueue.shared}.
 *
 * @example
 * ```ts
 * const queue = new KeyedQueue();
 * await queue.run(`network:${networkId}`, () => allocateInOneTransaction());
 * ```
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /**
   * The process-wide queue named `name`, the same instance for every copy of
   * `@polystore/core` loaded in the process (kept on `globalThis`).
   */
  static shared(name: string): KeyedQueue {
    const slot = Symbol.for(`@polystore/core/keyed-queue/${name}`);
    const g = globalThis as { [key: symbol]: KeyedQueue | undefined };
    g[slot] ??= new KeyedQueue();
    return g[slot];
  }

  /** Runs `fn` once every earlier task of `key` has settled; returns (or throws) what it does. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(fn);
    this.#tails.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.#tails.get(key) === mine) this.#tails.delete(key);
    }
  }

  /** How many keys have a task queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
