/**
 * One store of a backend and a memory reference store side by side, opened again and again
 * by different releases' code, as a fleet mid-upgrade opens one database: every call runs
 * on both with the same clock and ids and must give deep-equal records or the same typed
 * error. Expand and the backfill go through the evolution SPI (`openBackend`).
 */
import {
  type AnyResource,
  adminContext,
  createContext,
  type IdGenerator,
  ManualClock,
  type RequestContext,
  type SchemaBehindError,
  type Stores,
  sequentialIds,
  withReadDeleted,
} from '@polystore/core';
import {
  elementNames,
  elementsBetween,
  type OpenedBackend,
  openBackend,
  type SchemaElements,
  type StoredRecord,
  supportsEvolution,
} from '@polystore/core/adapter';
import { freshNamespace, freshStoreUrl, type StoreBackend } from '@polystore/testing/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { type ReducedError, type Settled, settle } from '../contract/pair.js';
import type { Release } from './resources.js';

/** When every twin's clocks start. */
export const START = Date.parse('2026-01-01T00:00:00.000Z');

/** A record as the tests read it. */
export type Rec = Readonly<Record<string, unknown>> & {
  readonly id: string;
  readonly revision: number;
  readonly objectVersion: string;
  readonly deletedAt: string | null;
};

/** A store's calls, untyped by resource: the releases differ in fields. */
export interface LooseStore {
  create(ctx: RequestContext, values: Record<string, unknown>): Promise<Rec>;
  get(ctx: RequestContext, id: string): Promise<Rec>;
  getMany(ctx: RequestContext, ids: readonly string[]): Promise<Rec[]>;
  list(
    ctx: RequestContext,
    options?: Record<string, unknown>,
  ): Promise<{ readonly items: readonly Rec[]; readonly next: string | null }>;
  count(ctx: RequestContext, where?: Record<string, unknown>): Promise<number>;
  update(
    ctx: RequestContext,
    id: string,
    patch: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): Promise<Rec>;
  delete(ctx: RequestContext, id: string, options?: Record<string, unknown>): Promise<Rec>;
  purge(ctx: RequestContext, options: { deletedBefore: string }): Promise<number>;
}

/** Contexts of two projects. */
export const p1 = createContext({ projectId: 'p1' });
export const p2 = createContext({ projectId: 'p2' });
/** An admin context (live records of every project). */
export const admin = adminContext();
/** An admin context that sees live and soft-deleted records. */
export const everything = withReadDeleted(admin, 'yes');

/** Like `settle`, keeping the clashing ids of a `UniqueViolationError`. */
async function settleExpand(call: Promise<unknown>): Promise<Settled> {
  let ids: unknown;
  const settled = await settle(
    call.catch((err: unknown) => {
      ids = (err as { ids?: unknown }).ids;
      throw err;
    }),
  );
  return 'error' in settled && ids !== undefined ? { error: { ...settled.error, ids } } : settled;
}

/**
 * Timeouts with room for a loaded machine: the backends run side by side in one process
 * (as in the store contract); the fail-fast bounds have tests of their own.
 */
const ADAPTER_OPTIONS: Partial<Record<StoreBackend, Record<string, unknown>>> = {
  postgres: { connectTimeoutMs: 15_000, statementTimeoutMs: 20_000, failFastMs: 20_000 },
  redis: { commandTimeoutMs: 15_000 },
  zookeeper: { requestTimeoutMs: 15_000, failFastMs: 20_000 },
  mongo: { failFastMs: 20_000 },
};

const CURSOR_KEY = 'evolution-examples-cursor-key-0123456789abcdef';

/** One side: a store URL every open shares, with its clock and id sequence. */
interface Side {
  readonly url: string;
  readonly clock: ManualClock;
  readonly ids: IdGenerator;
  readonly adapter: Record<string, unknown> | undefined;
}

/** One release's code opened on both sides. */
export interface Code {
  /** The subject's opened backend (adapter, backend, Stores). */
  readonly subject: OpenedBackend;
  /** Runs `fn` on both and expects the same outcome, which it returns. */
  outcome(resource: Release, fn: (s: LooseStore) => Promise<unknown>): Promise<Settled>;
  /** Like {@link outcome}, returning the value; throws when the call failed on both. */
  same<T>(resource: Release, fn: (s: LooseStore) => Promise<T>): Promise<T>;
  /** Like {@link same} for a call that must fail on both: the reduced error. */
  fails(resource: Release, fn: (s: LooseStore) => Promise<unknown>): Promise<ReducedError>;
}

/**
 * A backend's store and its memory twin; every open is closed with the twin.
 *
 * @example
 * ```ts
 * const twin = await openTwin('redis');
 * const old = await twin.open([GIZMO.v10]);
 * const a = await old.same(GIZMO.v10, (s) => s.create(p1, { name: 'a' }));
 * await twin.expand(GIZMO.v11, '1.0', '1.1');
 * ```
 */
export interface Twin {
  readonly backend: StoreBackend;
  /** The subject's store URL. */
  readonly url: string;
  /** Opens `resources` as one release's code does (`openStores`, schema checked) on both sides. */
  open(resources: readonly Release[]): Promise<Code>;
  /**
   * Opens `resources` with the schema check on both sides, expecting the same refusal
   * (`SchemaBehindError`) on both; returns the subject's error.
   */
  refused(resources: readonly Release[]): Promise<SchemaBehindError>;
  /**
   * Expands both stores from `from` to `to` of `resource` as `polystore schema expand`
   * does (`openBackend` with `checkSchema: false`, then `expand`); the same outcome on both.
   */
  expand(resource: Release, from: string, to: string): Promise<Settled>;
  /**
   * Rewrites every record of `resource` stored at `from` at version `to` with the history's
   * upgraded fields (the new fields' defaults), page by page, on both sides. Returns how
   * many records were rewritten on the subject.
   */
  backfill(resource: Release, from: string, to: string): Promise<number>;
  /** The subject's applied elements, by name; the reference must record the same. */
  applied(resource: Release): Promise<ReturnType<typeof elementNames>>;
  /** The subject's counts by objectVersion; the reference must count the same. */
  versions(resource: Release): Promise<Record<string, number>>;
  /** Moves both clocks forward. */
  advance(ms: number): void;
  /** The subject's current time, ISO. */
  now(): string;
  close(): Promise<void>;
}

/** Opens a {@link Twin} on a fresh store of `backend`. */
export async function openTwin(backend: StoreBackend): Promise<Twin> {
  const reference: Side = {
    url: `memory:${freshNamespace('evolution_ref')}`,
    clock: new ManualClock(START),
    ids: sequentialIds(),
    adapter: undefined,
  };
  const subject: Side = {
    url:
      backend === 'memory'
        ? `memory:${freshNamespace('evolution')}`
        : await freshStoreUrl(backend, 'evolution'),
    clock: new ManualClock(START),
    ids: sequentialIds(),
    adapter: ADAPTER_OPTIONS[backend],
  };
  const opened: Stores[] = [];
  const sides = [reference, subject] as const;

  const openSide = async (
    side: Side,
    resources: readonly AnyResource[],
    checkSchema = true,
  ): Promise<OpenedBackend> => {
    const o = await openBackend(side.url, {
      resources,
      checkSchema,
      clock: side.clock,
      ids: side.ids,
      cursorKey: CURSOR_KEY,
      ...(side.adapter ? { adapter: side.adapter } : {}),
    });
    opened.push(o.stores);
    return o;
  };

  /** Runs `fn` over an expand-tool open of each side, closing it after. */
  const withTool = async <T>(
    resource: Release,
    fn: (o: OpenedBackend) => Promise<T>,
  ): Promise<[T, T]> => {
    const out: T[] = [];
    for (const side of sides) {
      const o = await openSide(side, [resource], false);
      try {
        out.push(await fn(o));
      } finally {
        await o.stores.close();
      }
    }
    return out as [T, T];
  };

  const twin: Twin = {
    backend,
    url: subject.url,
    async open(resources) {
      const [ref, sub] = [
        await openSide(reference, resources),
        await openSide(subject, resources),
      ] as const;
      const storesOf = (resource: Release) =>
        [ref, sub].map((o) => o.stores.store(resource) as unknown as LooseStore) as [
          LooseStore,
          LooseStore,
        ];
      const code: Code = {
        subject: sub,
        async outcome(resource, fn) {
          const [r, s] = storesOf(resource);
          const want = await settle(fn(r));
          const got = await settle(fn(s));
          expect(got).toEqual(want);
          twin.advance(1);
          return got;
        },
        async same<T>(resource: Release, fn: (s: LooseStore) => Promise<T>): Promise<T> {
          const got = await code.outcome(resource, fn);
          if ('error' in got) throw new Error(`failed on both: ${JSON.stringify(got.error)}`);
          return got.ok as T;
        },
        async fails(resource, fn) {
          const got = await code.outcome(resource, fn);
          if (!('error' in got)) throw new Error('expected the call to fail on both sides');
          return got.error;
        },
      };
      return code;
    },
    async refused(resources) {
      const errors: unknown[] = [];
      for (const side of sides) {
        const err = await openSide(side, resources).then(
          (o) => o.stores.close().then(() => undefined),
          (e: unknown) => e,
        );
        errors.push(err);
      }
      const [want, got] = errors as [SchemaBehindError | undefined, SchemaBehindError | undefined];
      expect(want?.name, 'the reference refuses the open').toBe('SchemaBehindError');
      expect(got?.name, `${backend} refuses the open`).toBe('SchemaBehindError');
      expect([...(got?.missing ?? [])].sort()).toEqual([...(want?.missing ?? [])].sort());
      return got!;
    },
    async expand(resource, from, to) {
      const { expand } = elementsBetween(resource, from, to);
      const [want, got] = await withTool(resource, (o) => {
        if (typeof o.backend?.expand !== 'function')
          throw new Error(`${o.adapter.name}: the backend has no expand`);
        return settleExpand(o.backend.expand(resource, expand));
      });
      expect(got).toEqual(want);
      return got;
    },
    async backfill(resource, from, to) {
      const [, got] = await withTool(resource, async (o) => {
        const driver = o.backend!.driver(resource);
        if (!supportsEvolution(driver)) throw new Error(`${o.adapter.name}: no evolution driver`);
        const { expand } = elementsBetween(resource, from, to);
        let done = 0;
        let after: string | undefined;
        do {
          const page = await driver.scanVersion(from, after, 5);
          for (const r of page.records) {
            const next: Record<string, unknown> = { ...r, objectVersion: to };
            // The new fields' defaults, as a backfill that knows only the added elements writes.
            for (const { name, field } of expand.fields) next[name] = field.defaultValue ?? null;
            const outcome = await driver.rewrite(next as StoredRecord, r.revision);
            expect(outcome.status, `rewrite of ${r.id}`).toBe('ok');
            done++;
          }
          after = page.after;
        } while (after !== undefined);
        return done;
      });
      return got;
    },
    async applied(resource) {
      const [want, got] = await withTool(resource, async (o) =>
        elementNames((await o.backend!.appliedElements?.(resource)) as SchemaElements),
      );
      expect(got).toEqual(want);
      return got;
    },
    async versions(resource) {
      const [want, got] = await withTool(resource, async (o) => {
        const driver = o.backend!.driver(resource);
        if (!supportsEvolution(driver)) throw new Error(`${o.adapter.name}: no evolution driver`);
        return driver.countByVersion();
      });
      expect(got).toEqual(want);
      return got;
    },
    advance(ms) {
      for (const side of sides) side.clock.advance(ms);
    },
    now() {
      return new Date(subject.clock.now()).toISOString();
    },
    async close() {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
  return twin;
}

/** Every record a context lists with `options`, page by page, equal on both sides. */
export async function listAll(
  code: Code,
  resource: Release,
  ctx: RequestContext,
  options: Record<string, unknown> = {},
): Promise<Rec[]> {
  const out: Rec[] = [];
  let after: string | null = null;
  for (let n = 0; n < 100; n++) {
    const page = await code.same(resource, (s) =>
      s.list(ctx, { ...options, limit: 4, ...(after === null ? {} : { after }) }),
    );
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
  throw new Error('the list never ended');
}

/**
 * Opens a {@link Twin} before the enclosing describe's tests and closes it after them; the
 * returned function gives the open twin.
 */
export function useTwin(backend: StoreBackend): () => Twin {
  let twin: Twin | undefined;
  beforeAll(async () => {
    twin = await openTwin(backend);
  });
  afterAll(async () => {
    await twin?.close();
  });
  return () => {
    if (!twin) throw new Error(`the ${backend} twin is not open`);
    return twin;
  };
}
