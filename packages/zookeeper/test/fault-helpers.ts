import { UnavailableError } from '@polystore/core';
import { untilAvailable } from '@polystore/testing';
import { expect } from 'vitest';

/** `recoverMs` of `@polystore/conformance`: how long the same Stores may take to answer again. */
export const RECOVER_MS = 15_000;

/** The time `run` takes to fail; it must fail with a retriable `UnavailableError`. */
export async function failsWithUnavailable(run: () => Promise<unknown>): Promise<number> {
  const start = Date.now();
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnavailableError);
  expect((err as UnavailableError).retriable).toBe(true);
  return Date.now() - start;
}

/** Retries `run` while it fails with `UnavailableError`, up to `ms` (the same Stores, never reopened). */
export async function recovers<T>(run: () => Promise<T>, ms: number = RECOVER_MS): Promise<T> {
  return (await untilAvailable(run, ms)).value;
}

/** Polls `condition` until it holds; fails with `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** min / median / max of `values`, for the figures a test logs. */
export function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
