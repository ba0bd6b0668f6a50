import { UnavailableError } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { withDeadline } from '../src/errors.js';

// withDeadline bounds each call with failFastMs: these tests hold each call to its own
// deadline, whatever the calls around it did, and pass on the errors of calls in time.

const MS = 100;
/** Timers fire on the event loop's clock, which may trail `performance.now()` by a ms or so. */
const EARLY_MS = 2;
const GRACE_MS = 1_000;

/** Work that never settles, as a call to a server that stopped answering. */
const never = () => new Promise<never>(() => {});

/** Spins the CPU for `ms` (time passes without a timer of the test's own). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

/** How long after its start a call failed, and with what. */
async function failure(run: Promise<unknown>, started: number) {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: performance.now() - started };
}

describe('withDeadline', () => {
  it('fails a call with UnavailableError once its own deadline passed, not before', async () => {
    const started = performance.now();
    const { err, ms } = await failure(withDeadline(MS, 'widgets', never), started);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/no answer within 100 ms \(failFastMs\) on widgets/);
    expect(ms).toBeGreaterThanOrEqual(MS - EARLY_MS);
    expect(ms).toBeLessThan(MS + GRACE_MS);
  });

  it('gives a call its full bound when an earlier call armed a deadline', async () => {
    // The first call settles in time; the second starts later and never settles.
    let settle!: (v: string) => void;
    const first = withDeadline(MS, 'first', () => new Promise<string>((r) => (settle = r)));
    spin(40);
    settle('done');
    expect(await first).toBe('done');
    const started = performance.now();
    const { err, ms } = await failure(withDeadline(MS, 'second', never), started);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(ms).toBeGreaterThanOrEqual(MS - EARLY_MS);
    expect(ms).toBeLessThan(MS + GRACE_MS);
  });

  it('fails every call in flight at its own deadline, and lets the ones that answer through', async () => {
    const t0 = performance.now();
    const a = failure(withDeadline(MS, 'a', never), t0);
    spin(20);
    const t1 = performance.now();
    const b = withDeadline(MS, 'b', async () => 'answered');
    const c = failure(withDeadline(MS, 'c', never), t1);
    spin(20);
    const t2 = performance.now();
    const d = failure(withDeadline(MS, 'd', never), t2);
    expect(await b).toBe('answered');
    for (const { err, ms } of [await a, await c, await d]) {
      expect(err).toBeInstanceOf(UnavailableError);
      expect(ms).toBeGreaterThanOrEqual(MS - EARLY_MS);
      expect(ms).toBeLessThan(MS + GRACE_MS);
    }
  });

  it('passes on the error of a call that fails in time, thrown or rejected', async () => {
    const boom = new Error('boom');
    await expect(withDeadline(MS, 'x', () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      withDeadline(MS, 'x', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(
      withDeadline(undefined, 'x', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
