import {
  type AnyResource,
  ManualClock,
  openStores,
  PolystoreError,
  type Stores,
  sequentialIds,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { freshNamespace, freshStoreUrl, type StoreBackend } from '@polystore/testing/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { CONTRACT_RESOURCES } from './resources.js';

/** What a call gave: its value, or its error reduced to what the contract fixes. */
export type Settled = { readonly ok: unknown } | { readonly error: ReducedError };

/** A typed error reduced to its class and typed details (messages may differ per backend). */
export type ReducedError = Readonly<Record<string, unknown>>;

/** When every pair's clocks start. */
export const START = Date.parse('2026-01-01T00:00:00.000Z');

// One signing key on both sides, so a cursor of one side continues a list on the other.
const CURSOR_KEY = 'store-contract-cursor-key-0123456789abcdef';

/** Awaits a call and reduces a core error; anything else is rethrown (a leaked driver error). */
export async function settle(call: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: await call };
  } catch (err) {
    if (!(err instanceof PolystoreError)) throw err;
    const e = err as PolystoreError & Record<string, unknown>;
    const reduced: Record<string, unknown> = { name: e.name, code: e.code };
    for (const k of ['fields', 'reason', 'field', 'currentRevision', 'resource', 'id']) {
      if (e[k] !== undefined) reduced[k] = e[k];
    }
    // The reference is never unavailable: the message says why the backend was.
    if (e.code === 'UNAVAILABLE') reduced.message = e.message;
    return { error: reduced };
  }
}

/**
 * The stores of one backend and the memory reference model side by side, with the same
 * clock, ids and cursor key: equal calls must give deep-equal records or the same error.
 *
 * @example
 * ```ts
 * const pair = await openPair('redis');
 * const vm = await pair.same((s) => s.instances.create(ctx, { flavor }));
 * expect(await pair.fails((s) => s.instances.get(other, vm.id))).toMatchObject({ code: 'NOT_FOUND' });
 * ```
 */
export interface Pair {
  /** The backend under test. */
  readonly backend: StoreBackend;
  /** The stores under test. */
  readonly stores: Stores;
  /** The memory reference model. */
  readonly reference: Stores;
  /** Runs `fn` on both and expects the same outcome (value or reduced error), which it returns. */
  outcome(fn: (s: Stores) => Promise<unknown>): Promise<Settled>;
  /** Like {@link outcome}, returning the value; throws when the call failed on both. */
  same<T>(fn: (s: Stores) => Promise<T>): Promise<T>;
  /** Like {@link same} for a call that must fail on both: the reduced error. */
  fails(fn: (s: Stores) => Promise<unknown>): Promise<ReducedError>;
  /** Moves both clocks forward. */
  advance(ms: number): void;
  /** The backend's current time as an ISO string. */
  now(): string;
  /** Another client of the same store (its own connection), closed with the pair. */
  client(): Promise<Stores>;
  close(): Promise<void>;
}

/**
 * Timeouts with room for a loaded CI machine: the backends run side by side in one
 * process, so a busy event loop can hold a reply past the defaults. The contract is about
 * outcomes; the fail-fast bounds have tests of their own in the adapter packages.
 */
const ADAPTER_OPTIONS: Partial<Record<StoreBackend, Record<string, unknown>>> = {
  postgres: { connectTimeoutMs: 15_000, statementTimeoutMs: 20_000, failFastMs: 20_000 },
  redis: { commandTimeoutMs: 15_000 },
  zookeeper: { requestTimeoutMs: 15_000, failFastMs: 20_000 },
  mongo: { failFastMs: 20_000 },
};

/** A URL of a fresh store that several clients can open (memory: a named database). */
async function sharedUrl(backend: StoreBackend): Promise<string> {
  return backend === 'memory'
    ? `memory:${freshNamespace('contract')}`
    : freshStoreUrl(backend, 'contract');
}

/** Opens a {@link Pair} on a fresh store of `backend`, with `resources` (default: compute). */
export async function openPair(
  backend: StoreBackend,
  resources?: readonly AnyResource[],
): Promise<Pair> {
  const clocks = [new ManualClock(START), new ManualClock(START)] as const;
  const common = { resources, cursorKey: CURSOR_KEY };
  const reference = openMemoryStores({ ...common, clock: clocks[0], ids: sequentialIds() });
  const url = await sharedUrl(backend);
  const options = { ...common, adapter: ADAPTER_OPTIONS[backend], clock: clocks[1] };
  const stores = await openStores(url, { ...options, ids: sequentialIds() });
  const clients: Stores[] = [stores];
  const pair: Pair = {
    backend,
    stores,
    reference,
    async outcome(fn: (s: Stores) => Promise<unknown>): Promise<Settled> {
      const want = await settle(fn(reference));
      const got = await settle(fn(stores));
      expect(got).toEqual(want);
      pair.advance(1);
      return got;
    },
    async same<T>(fn: (s: Stores) => Promise<T>): Promise<T> {
      const got = await pair.outcome(fn);
      if ('error' in got) {
        throw Object.assign(new Error(`failed on both: ${JSON.stringify(got.error)}`), {
          settled: got,
        });
      }
      return got.ok as T;
    },
    async fails(fn: (s: Stores) => Promise<unknown>): Promise<ReducedError> {
      try {
        await pair.same(fn);
      } catch (err) {
        const settled = (err as { settled?: { error: ReducedError } }).settled;
        if (settled) return settled.error;
        throw err;
      }
      throw new Error('expected the call to fail on both backends');
    },
    advance(ms: number): void {
      for (const c of clocks) c.advance(ms);
    },
    now(): string {
      return new Date(clocks[1].now()).toISOString();
    },
    async client(): Promise<Stores> {
      const other = await openStores(url, options);
      clients.push(other);
      return other;
    },
    async close(): Promise<void> {
      await Promise.all([reference, ...clients].map((s) => s.close()));
    },
  };
  return pair;
}

/**
 * Opens a {@link Pair} with every contract resource before the enclosing describe's tests
 * and closes it after them; the returned function gives the open pair.
 */
export function usePair(backend: StoreBackend): () => Pair {
  let pair: Pair | undefined;
  beforeAll(async () => {
    pair = await openPair(backend, CONTRACT_RESOURCES);
  });
  afterAll(async () => {
    await pair?.close();
  });
  return () => {
    if (!pair) throw new Error(`the ${backend} pair is not open`);
    return pair;
  };
}
