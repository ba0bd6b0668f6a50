/**
 * Queries: list with where, orderBy and cursor paging, count, and what readDeleted and
 * project scope let each context see.
 */
import {
  adminContext,
  createContext,
  type RequestContext,
  type Stores,
  withReadDeleted,
} from '@polystore/core';
import type { StoreBackend } from '@polystore/testing/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Pair, usePair } from './pair.js';
import { gadgetResource } from './resources.js';

const p1 = createContext({ projectId: 'p1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

/** Names that must sort by code point: non-BMP characters after U+E000..U+FFFF, ties by id. */
const NAMES = [
  'b',
  'a',
  '',
  'B',
  'é',
  '\uD7FF',
  '\uE000',
  '\uFFFD',
  '\uFFFF',
  '😀',
  '𐀀',
  'a😀',
  'a\uFFFF',
  'a',
  'ab',
  'Z',
  '*',
  'b',
];
const SIZES = [3, -1, 0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 3, 16, 15, 256, -256];
const COLORS = [null, 'red', 'green', 'blue'] as const;

const gadgets = (s: Stores) => s.store(gadgetResource);

type ListOptions = {
  where?: Record<string, unknown>;
  orderBy?: { field: string; direction?: 'asc' | 'desc' };
  limit: number;
};

/** Every id of a list, page by page, each page equal on both sides; no page is over `limit`. */
async function pageAll(pair: Pair, ctx: RequestContext, options: ListOptions): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let n = 0; n < 1000; n++) {
    const page = await pair.same((s) =>
      gadgets(s).list(ctx, { ...options, ...(after === null ? {} : { after }) } as never),
    );
    expect(page.items.length).toBeLessThanOrEqual(options.limit);
    ids.push(...page.items.map((r) => r.id));
    if (page.next === null) return ids;
    expect(page.items).toHaveLength(options.limit);
    after = page.next;
  }
  throw new Error('the list never ended');
}

/** UTF-8 byte order, which is code point order. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Registers the query examples for one backend. */
export function queryContract(backend: StoreBackend): void {
  describe('list and count', () => {
    const pair = usePair(backend);

    beforeAll(async () => {
      for (const [i, name] of NAMES.entries()) {
        const ctx = i % 6 === 5 ? p2 : p1;
        await pair().same((s) =>
          gadgets(s).create(ctx, {
            name,
            size: SIZES[i % SIZES.length]!,
            seenAt: new Date(Date.UTC(2026, 0, 1 + (i % 4))).toISOString(),
            color: COLORS[i % 4]!,
            rank: i < 4 ? i : null,
            active: i % 3 === 0,
            code: i % 6 === 0 ? `c${i}` : null,
            zone: i % 5 === 0 ? null : `z${i % 2}`,
            owner: i % 7 === 0 ? '00000000-0000-7000-8000-0000000000aa' : null,
          }),
        );
      }
      // Some deleted, some updated (moves updatedAt and the index entries).
      const ids = (await pair().same((s) => gadgets(s).list(admin, { limit: 100 }))).items.map(
        (r) => r.id,
      );
      for (const id of ids.slice(0, 3)) await pair().same((s) => gadgets(s).delete(admin, id));
      for (const id of ids.slice(5, 8)) {
        await pair().same((s) => gadgets(s).update(admin, id, { name: 'updated', size: 7 }));
      }
    });

    it('pages through every row exactly once in every order and with any limit', async () => {
      const orders = [
        undefined,
        { field: 'id', direction: 'desc' as const },
        { field: 'name' },
        { field: 'name', direction: 'desc' as const },
        { field: 'size' },
        { field: 'seenAt', direction: 'desc' as const },
        { field: 'createdAt' },
        { field: 'updatedAt', direction: 'desc' as const },
      ];
      const ctx = withReadDeleted(admin, 'yes');
      const all = await pageAll(pair(), ctx, { limit: 1000 });
      expect(all.length).toBe(NAMES.length);
      for (const [i, orderBy] of orders.entries()) {
        const full = await pageAll(pair(), ctx, { orderBy, limit: 1000 });
        expect([...full].sort()).toEqual([...all].sort());
        for (const limit of i === 2 ? [1, 2, 7] : [4]) {
          expect(await pageAll(pair(), ctx, { orderBy, limit }), `${i} ${limit}`).toEqual(full);
        }
      }
      for (const c of [p1, withReadDeleted(p1, 'only')]) {
        const visible = await pageAll(pair(), c, { orderBy: { field: 'name' }, limit: 1000 });
        expect(await pageAll(pair(), c, { orderBy: { field: 'name' }, limit: 2 })).toEqual(visible);
      }
    });

    it('orders strings by code point, non-BMP after U+FFFF, and breaks ties by id', async () => {
      const page = await pair().same((s) =>
        gadgets(s).list(p1, { orderBy: { field: 'name' }, limit: 1000 }),
      );
      const names = page.items.map((r) => r.name);
      expect(names).toEqual([...names].sort(byCodePoint));
      expect(names.indexOf('\uFFFF')).toBeLessThan(names.indexOf('𐀀'));
      expect(names.indexOf('\uFFFF')).toBeLessThan(names.indexOf('😀'));
      for (let i = 1; i < page.items.length; i++) {
        const [a, b] = [page.items[i - 1]!, page.items[i]!];
        if (a.name === b.name) expect(a.id < b.id).toBe(true);
      }
      const desc = await pair().same((s) =>
        gadgets(s).list(p1, { orderBy: { field: 'name', direction: 'desc' }, limit: 1000 }),
      );
      expect(desc.items.map((r) => r.name)).toEqual([...names].reverse());
      const between = await pair().same((s) =>
        gadgets(s).list(p1, {
          where: { name: { gte: '\uFFFF', lt: '😀' } },
          orderBy: { field: 'name' },
        }),
      );
      expect(between.items.map((r) => r.name)).toEqual(['\uFFFF', '𐀀']);
    });

    it('applies every where operator in list (paged) and count like the model', async () => {
      const wheres: Record<string, unknown>[] = [
        { name: 'a' },
        { name: { in: ['a', '😀', 'nope'] } },
        { name: { gt: 'a' } },
        { name: { gte: 'a', lt: 'b' } },
        { name: { lte: '\uffff' } },
        { name: { gt: '\uffff' } },
        { size: { gt: 0 } },
        { size: { gte: -256, lte: 16 } },
        { size: { lt: -1 } },
        { size: 3 },
        { size: { eq: 3 } },
        { size: { in: [3, Number.MAX_SAFE_INTEGER] } },
        { seenAt: { gte: '2026-01-02T00:00:00.000Z' } },
        { seenAt: { lt: '2026-01-03T00:00:00.000Z' }, name: { gte: 'a' } },
        { createdAt: { gt: '2026-01-01T00:00:00.005Z' } },
        { updatedAt: { lte: '2026-01-01T00:00:00.010Z' } },
        { id: { lte: '00000000-0000-7000-8000-00000000000a' } },
        { id: '00000000-0000-7000-8000-000000000004' },
        { color: null },
        { color: 'red' },
        { color: { in: ['red', null] } },
        { color: { eq: 'blue' } },
        { rank: { in: [0, 2] } },
        { rank: null },
        { rank: { eq: null } },
        { active: true },
        { active: false, color: { in: ['green', 'blue'] } },
        { code: { in: ['c0', 'c12', null] } },
        { owner: '00000000-0000-7000-8000-0000000000aa' },
        { zone: { in: [null, 'z1'] } },
        { slot: null, rank: { in: [] } },
        { projectId: 'p2' },
        { projectId: { in: ['p1', 'p2'] }, color: 'red' },
        { projectId: null },
        { active: true, size: { gte: 0 }, name: { lt: 'b' } },
      ];
      for (const [i, where] of wheres.entries()) {
        const all = await pair().same((s) =>
          gadgets(s).list(admin, { where: where as never, limit: 1000 }),
        );
        expect(await pair().same((s) => gadgets(s).count(admin, where as never))).toBe(
          all.items.length,
        );
        await pair().same((s) => gadgets(s).count(p1, where as never));
        if (i % 2 === 0) {
          // Paged in another order, the same rows exactly once.
          const paged = await pageAll(pair(), admin, {
            where,
            orderBy: { field: 'size', direction: 'desc' },
            limit: 5,
          });
          expect([...paged].sort(), JSON.stringify(where)).toEqual(
            all.items.map((r) => r.id).sort(),
          );
        }
      }
    });

    it('honours readDeleted and project scope in get, getMany, list and count', async () => {
      const everything = await pair().same((s) =>
        gadgets(s).list(withReadDeleted(admin, 'yes'), { limit: 1000 }),
      );
      const ids = everything.items.map((r) => r.id);
      const deleted = everything.items.filter((r) => r.deletedAt !== null);
      expect(deleted.length).toBe(3);
      for (const ctx of [p1, p2, admin]) {
        for (const mode of ['no', 'yes', 'only'] as const) {
          const c = withReadDeleted(ctx, mode);
          const listed = await pair().same((s) => gadgets(s).list(c, { limit: 1000 }));
          expect(await pair().same((s) => gadgets(s).count(c))).toBe(listed.items.length);
          for (const r of listed.items) {
            if (!ctx.isAdmin) expect(r.projectId).toBe(ctx.projectId);
            if (mode === 'no') expect(r.deletedAt).toBeNull();
            if (mode === 'only') expect(r.deletedAt).not.toBeNull();
          }
          const many = await pair().same((s) => gadgets(s).getMany(c, [...ids, ids[0]!]));
          expect(many.map((r) => r.id)).toEqual(listed.items.map((r) => r.id));
          for (const id of [deleted[0]!.id, ids[ids.length - 1]!]) {
            await pair().outcome((s) => gadgets(s).get(c, id));
          }
        }
      }
    });

    it('filters instances by null, in and ranges, and counts per project and for admins', async () => {
      const ctx = createContext({ projectId: 'filters' });
      const other = createContext({ projectId: 'filters-other' });
      await pair().same((s) =>
        s.instances.create(ctx, { flavor, displayName: 'a', taskState: 'spawning', host: 'h1' }),
      );
      await pair().same((s) => s.instances.create(ctx, { flavor, displayName: 'b', host: 'h2' }));
      await pair().same((s) =>
        s.instances.create(ctx, { flavor, displayName: 'c', taskState: 'deleting', host: 'h1' }),
      );
      await pair().same((s) => s.instances.create(other, { flavor, host: 'h1' }));
      const count = (c: RequestContext, where: Record<string, unknown>) =>
        pair().same((s) => s.instances.count(c, where as never));
      expect(await count(ctx, { taskState: null })).toBe(1);
      expect(await count(ctx, { taskState: { in: [null, 'spawning'] } })).toBe(2);
      expect(await count(ctx, { displayName: { gt: 'a', lte: 'c' } })).toBe(2);
      expect(await count(ctx, { displayName: { gte: 'a', lt: 'b' } })).toBe(1);
      expect(await count(ctx, { host: 'h1' })).toBe(2);
      expect(await count(ctx, { host: { in: ['h1', 'h2'] } })).toBe(3);
      expect(await count(ctx, { host: { in: [] } })).toBe(0);
      expect(
        await count(admin, { host: 'h1', projectId: { in: ['filters', 'filters-other'] } }),
      ).toBe(3);
      expect(await count(other, { projectId: 'filters' })).toBe(0);
    });
  });
}
