/** What {@link timedFailure} gives back: the error a call failed with and how long it took. */
export interface TimedFailure {
  readonly error: unknown;
  /** Milliseconds from the call to its failure. */
  readonly ms: number;
}

/**
 * Runs `call`, which must fail, and says how long it took to fail and with what: for fault
 * tests that bound how fast a call gives up. A call that succeeds throws.
 *
 * @example
 * ```ts
 * server.pause();
 * const { ms, error } = await timedFailure(() => stores.instances.get(ctx, id));
 * expect(error).toBeInstanceOf(UnavailableError);
 * expect(ms).toBeLessThan(failFastMs + GRACE_MS);
 * ```
 */
export async function timedFailure(call: () => Promise<unknown>): Promise<TimedFailure> {
  const start = performance.now();
  try {
    await call();
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error('timedFailure: the call succeeded');
}
