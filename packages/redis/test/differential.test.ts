import {
  adminContext,
  createContext,
  type RequestContext,
  type ResourceStore,
  type Stores,
  withReadDeleted,
} from '@polystore/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { gadgetResource, HOSTILE_STRINGS, openPair, outcome } from './helpers.js';

/**
 * Differential runs: random command sequences against Redis and the memory reference model
 * with the same clock and ids; every result and error must be equal.
 */

const CONTEXTS: RequestContext[] = [
  createContext({ projectId: 'p1' }),
  createContext({ projectId: 'p2' }),
  createContext({ projectId: 'p"1\u{1F600}' }),
  adminContext(),
];
const READ_DELETED = ['no', 'yes', 'only'] as const;

const name = fc.constantFrom('', 'a', 'b', 'ab', 'B', 'a b', ...HOSTILE_STRINGS);
const size = fc.constantFrom(
  -9007199254740991,
  -1000,
  -1,
  0,
  1,
  2,
  255,
  256,
  1e15 + 1,
  9007199254740991,
);
const seenAt = fc.constantFrom(
  '2026-01-01T00:00:00.000Z',
  '2026-01-01T00:00:00.001Z',
  '1999-12-31T23:59:59.999Z',
  '2030-06-15T12:00:00.000Z',
);
const color = fc.constantFrom(null, 'red', 'green', 'blue');
const rank = fc.constantFrom(null, -5, 0, 1, 5);
const owner = fc.constantFrom(
  null,
  '00000000-0000-4000-8000-00000000000a',
  '00000000-0000-4000-8000-00000000000b',
);
const code = fc.constantFrom(null, 'x', 'y', '*', '"q"', '😀', 'null');
const values = fc.record(
  {
    name,
    size,
    seenAt,
    color,
    rank,
    active: fc.boolean(),
    owner,
    code,
    tags: fc.array(name, { maxLength: 3 }),
    meta: fc.dictionary(fc.constantFrom('k', '*', '😀'), name, { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);

type Where = Record<string, unknown>;
const sortFields = {
  id: fc.constantFrom(
    '00000000-0000-7000-8000-000000000003',
    '00000000-0000-7000-8000-000000000008',
  ),
  createdAt: fc.constantFrom('2026-03-01T00:00:00.000Z', '2026-03-01T00:00:05.000Z'),
  updatedAt: fc.constantFrom('2026-03-01T00:00:00.000Z', '2026-03-01T00:00:05.000Z'),
  name,
  size,
  seenAt,
} as const;
const eqFields = {
  color,
  rank,
  active: fc.boolean(),
  owner,
  code,
  projectId: fc.constantFrom(null, 'p1', 'p2', 'p"1\u{1F600}'),
} as const;

const condition = fc.oneof(
  ...Object.entries(sortFields as Record<string, fc.Arbitrary<unknown>>).map(([field, arb]) =>
    fc.oneof(
      arb.map((v) => ({ [field]: v })),
      fc.record({ op: fc.constantFrom('gt', 'gte', 'lt', 'lte'), v: arb }).map(({ op, v }) => ({
        [field]: { [op]: v },
      })),
      fc.array(arb, { minLength: 1, maxLength: 3 }).map((vs) => ({ [field]: { in: vs } })),
      fc.tuple(arb, arb).map(([a, b]) => ({ [field]: { gte: a, lt: b } })),
    ),
  ),
  ...Object.entries(eqFields).map(([field, arb]) =>
    fc.oneof(
      (arb as fc.Arbitrary<unknown>).map((v) => ({ [field]: v })),
      fc
        .array(arb as fc.Arbitrary<unknown>, { minLength: 1, maxLength: 3 })
        .map((vs) => ({ [field]: { in: vs } })),
    ),
  ),
);
const where: fc.Arbitrary<Where | undefined> = fc.option(
  fc
    .array(condition, { minLength: 1, maxLength: 2 })
    .map((cs) => Object.assign({}, ...cs) as Where),
  { nil: undefined, freq: 3 },
);

const ctx = fc
  .tuple(fc.nat(CONTEXTS.length - 1), fc.constantFrom(...READ_DELETED))
  .map(([i, rd]) => withReadDeleted(CONTEXTS[i]!, rd));
const idRef = fc.integer({ min: 1, max: 6 });
const writer = fc
  .tuple(fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 2, 3), fc.constantFrom(...READ_DELETED))
  .map(([i, rd]) => withReadDeleted(CONTEXTS[i]!, rd));

const command = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('create' as const), ctx: writer, values }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('update' as const),
      ctx: writer,
      id: idRef,
      patch: values,
      rev: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 1 }),
      expected: fc.option(
        fc.record({ color: fc.array(color, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] }),
        { nil: undefined },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('delete' as const),
      ctx: writer,
      id: idRef,
      rev: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('get' as const), ctx, id: idRef }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('getMany' as const),
      ctx,
      ids: fc.array(idRef, { maxLength: 5 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('list' as const),
      ctx,
      where,
      order: fc.option(
        fc.record({
          field: fc.constantFrom(...Object.keys(sortFields)),
          direction: fc.constantFrom('asc', 'desc'),
        }),
        { nil: undefined },
      ),
      limit: fc.integer({ min: 1, max: 7 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('count' as const), ctx, where }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('purge' as const),
      ms: fc.integer({ min: 0, max: 20_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 3000 }),
    }),
  },
);

type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

function idOf(n: number): string {
  return `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Lists every page; returns the pages (items and cursors) or the first error. */
async function allPages(
  store: ResourceStore<typeof gadgetResource>,
  c: RequestContext,
  options: Record<string, unknown>,
): Promise<unknown[]> {
  const pages: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await store.list(c, { ...options, ...(after ? { after } : {}) } as never);
    pages.push(page);
    if (page.next === null) return pages;
    after = page.next;
  }
  throw new Error('paging did not end');
}

async function run(s: Stores, c: Command, now: number): Promise<unknown> {
  const g = s.store(gadgetResource);
  switch (c.t) {
    case 'create':
      return outcome(() => g.create(c.ctx, c.values as never));
    case 'update':
      return outcome(() =>
        g.update(c.ctx, idOf(c.id), c.patch as never, {
          ...(c.rev === undefined ? {} : { expectedRevision: c.rev }),
          ...(c.expected === undefined ? {} : { expected: c.expected as never }),
        }),
      );
    case 'delete':
      return outcome(() =>
        g.delete(c.ctx, idOf(c.id), c.rev === undefined ? undefined : { expectedRevision: c.rev }),
      );
    case 'get':
      return outcome(() => g.get(c.ctx, idOf(c.id)));
    case 'getMany':
      return outcome(() => g.getMany(c.ctx, c.ids.map(idOf)));
    case 'list':
      return outcome(() =>
        allPages(g, c.ctx, {
          limit: c.limit,
          ...(c.where ? { where: c.where } : {}),
          ...(c.order ? { orderBy: c.order } : {}),
        }),
      );
    case 'count':
      return outcome(() => g.count(c.ctx, c.where as never));
    case 'purge':
      return outcome(() =>
        g.purge(adminContext(), { deletedBefore: new Date(now - c.ms).toISOString() }),
      );
    case 'tick':
      return undefined;
  }
}

/** Outcome counts by command (`REDIS_DIFF_STATS=1`), to check the generators reach interesting states. */
const STATS = new Map<string, number>();

function tally(command: string, result: unknown): void {
  const r = result as { ok?: unknown; error?: string; fields?: unknown } | undefined;
  let kind = 'ok';
  if (r === undefined) kind = '-';
  else if (r.error) kind = `${r.error}${JSON.stringify(r.fields ?? '')}`;
  else if (command === 'list') {
    const pages = r.ok as { items: unknown[] }[];
    kind = `pages${Math.min(pages.length, 3)}/${pages.some((p) => p.items.length > 0) ? 'rows' : 'empty'}`;
  } else if (Array.isArray(r.ok)) kind = `n${Math.min(r.ok.length, 2)}`;
  else if (typeof r.ok === 'number') kind = `num${Math.min(r.ok, 3)}`;
  const key = `${command}:${kind}`;
  STATS.set(key, (STATS.get(key) ?? 0) + 1);
}
afterAll(() => {
  if (process.env.REDIS_DIFF_STATS)
    console.log(
      [...STATS]
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
});

describe('Redis agrees with the memory reference model', () => {
  it('on random command sequences over a resource with every index kind', {
    timeout: 600_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 50, size: 'max' }),
        async (commands) => {
          const pair = await openPair();
          try {
            for (const [i, c] of commands.entries()) {
              if (c.t === 'tick') pair.clock.advance(c.ms);
              const now = pair.clock.now();
              const expected = await run(pair.memory, c, now);
              const actual = await run(pair.redis, c, now);
              expect(actual, `command ${i}: ${JSON.stringify(c)}`).toEqual(expected);
              if (process.env.REDIS_DIFF_STATS) tally(c.t, actual);
            }
            // The final state, every record with every readDeleted mode, through the index.
            for (const rd of READ_DELETED) {
              const all = withReadDeleted(adminContext(), rd);
              expect(
                await run(
                  pair.redis,
                  {
                    t: 'list',
                    ctx: all,
                    where: undefined,
                    order: undefined,
                    limit: 1000,
                  } as Command,
                  0,
                ),
              ).toEqual(
                await run(
                  pair.memory,
                  {
                    t: 'list',
                    ctx: all,
                    where: undefined,
                    order: undefined,
                    limit: 1000,
                  } as Command,
                  0,
                ),
              );
            }
          } finally {
            await pair.close();
          }
        },
      ),
      { numRuns: Number(process.env.REDIS_DIFF_RUNS ?? 60), verbose: 1 },
    );
  });
});
