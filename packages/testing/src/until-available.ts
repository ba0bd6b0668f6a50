import { UnavailableError } from '@polystore/core';

/** What {@link untilAvailable} gives back: the call's result and how long the wait took. */
export interface Available<T> {
  readonly value: T;
  /** Milliseconds from the first try to the one that succeeded. */
  readonly ms: number;
}

/**
 * Calls `call` until it stops failing with `UnavailableError` (a store recovering after its
 * server came back, on the same Stores, never reopened). Any other error, or still
 * unavailable after `limitMs`, is thrown.
 *
 * @example
 * ```ts
 * server.resume();
 * const { ms } = await untilAvailable(() => stores.instances.get(ctx, id), 15_000);
 * ```
 */
export async function untilAvailable<T>(
  call: () => Promise<T>,
  limitMs: number,
  pollMs = 50,
): Promise<Available<T>> {
  const start = performance.now();
  for (;;) {
    try {
      const value = await call();
      return { value, ms: performance.now() - start };
    } catch (err) {
      if (!(err instanceof UnavailableError) || performance.now() - start > limitMs) throw err;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
