/**
 * Records handed out to one in-flight call at a time, so 32 concurrent revision-checked
 * updates never race on one record (a conflict would measure the retry, not the update).
 */
export class RecordPool<T> {
  readonly #free: T[];

  constructor(items: readonly T[]) {
    this.#free = [...items];
  }

  /** Runs `fn` on a record no other call holds, then gives it back. */
  async use<R>(fn: (item: T) => Promise<R>): Promise<R> {
    const item = this.#free.shift();
    if (item === undefined)
      throw new Error('record pool exhausted: more calls in flight than records');
    try {
      return await fn(item);
    } finally {
      this.#free.push(item);
    }
  }
}

/** Round-robin over a fixed list (ids to read). */
export function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length] as T;
}
