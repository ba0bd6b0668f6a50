import {
  type AnyResource,
  computeResources,
  ManualClock,
  PolystoreError,
  type Stores,
  sequentialIds,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { expect } from 'vitest';
import { openFresh } from './mongo-server.js';

/** What a call gave: its value, or its error reduced to what the contract fixes. */
export type Settled = { readonly ok: unknown } | { readonly error: Record<string, unknown> };

/** Awaits a call and reduces its error to its class and typed details. */
export async function settle(call: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: await call };
  } catch (err) {
    if (!(err instanceof PolystoreError)) throw err;
    const e = err as PolystoreError & Record<string, unknown>;
    return {
      error: {
        name: e.name,
        code: e.code,
        fields: e.fields,
        reason: e.reason,
        field: e.field,
        currentRevision: e.currentRevision,
      },
    };
  }
}

/**
 * The Mongo stores and the memory reference model side by side, with the same clock and
 * ids: `same(fn)` runs `fn` on both and expects deep-equal results (or the same error).
 */
export interface Pair {
  readonly mongo: Stores;
  readonly memory: Stores;
  same<T>(fn: (s: Stores) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens a {@link Pair} on a fresh database. */
export async function openPair(extra: readonly AnyResource[] = []): Promise<Pair> {
  const resources = [...computeResources, ...extra];
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  const clocks = [new ManualClock(start), new ManualClock(start)] as const;
  const memory = openMemoryStores({ clock: clocks[0], ids: sequentialIds(), resources });
  const fresh = await openFresh({ clock: clocks[1], ids: sequentialIds(), resources });
  return {
    mongo: fresh.stores,
    memory,
    async same<T>(fn: (s: Stores) => Promise<T>): Promise<T> {
      const want = await settle(fn(memory));
      const got = await settle(fn(fresh.stores));
      expect(got).toEqual(want);
      for (const c of clocks) c.advance(1);
      if ('error' in got) throw Object.assign(new Error('expected failure'), { settled: got });
      return got.ok as T;
    },
    close: () => fresh.drop(),
  };
}

/** Like `pair.same`, for calls expected to fail: returns the reduced error. */
export async function sameError(
  pair: Pair,
  fn: (s: Stores) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  try {
    await pair.same(fn);
  } catch (err) {
    const settled = (err as { settled?: { error: Record<string, unknown> } }).settled;
    if (settled) return settled.error;
    throw err;
  }
  throw new Error('expected the call to fail on both backends');
}
