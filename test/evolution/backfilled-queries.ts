/**
 * Issue 14, 5: reads and queries agree. After the expand and a backfill (every 1.0 record
 * scanned with `driver.scanVersion` and rewritten at 1.1 with the new fields' defaults),
 * `count`, `where` and `orderBy` on the new fields see what `get` shows, on every backend
 * as in the memory model; a new sortable field drops no old record from `list`.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO } from './resources.js';
import { admin, everything, listAll, p1, p2, type Rec, useTwin } from './twin.js';

const { v10, v11 } = GIZMO;
const COLORS = ['red', 'green', 'blue'] as const;

const ids = (records: readonly Rec[]) => records.map((r) => r.id);
const byId = (a: Rec, b: Rec) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Registers example 5 for one backend. */
export function backfilledQueryExamples(backend: StoreBackend): void {
  describe('5. queries on new fields after expand and backfill', () => {
    const twin = useTwin(backend);

    it('count, where and orderBy see what get shows, old records included', async () => {
      const t = twin();
      const old = await t.open([v10]);
      const olds: Rec[] = [];
      for (let i = 0; i < 10; i++) {
        const ctx = i % 3 === 2 ? p2 : p1;
        olds.push(await old.same(v10, (s) => s.create(ctx, { name: `old ${i}`, size: i })));
      }
      await old.same(v10, (s) => s.delete(p1, olds[0]!.id));
      await old.same(v10, (s) => s.delete(p2, olds[2]!.id));
      expect(await t.expand(v11, '1.0', '1.1')).toEqual({ ok: undefined });

      const newer = await t.open([v11]);
      const news = [
        { name: 'new green', color: 'green', rank: -3 },
        { name: 'new blue', color: 'blue', rank: 7 },
        { name: 'new red', color: 'red', rank: 0 },
        { name: 'new blue p2', color: 'blue', rank: 2 },
      ];
      for (const [i, values] of news.entries()) {
        await newer.same(v11, (s) => s.create(i === 3 ? p2 : p1, values));
      }
      // Before the backfill: a listing of the old fields still has every old record.
      const early = await listAll(newer, v11, p1, { orderBy: { field: 'name' } });
      expect(early).toHaveLength(9);
      expect(await listAll(newer, v11, everything)).toHaveLength(14);

      expect(await t.backfill(v11, '1.0', '1.1')).toBe(10);
      expect(await t.versions(v11)).toEqual({ '1.1': 14 });
      // The backfill wrote the defaults; nothing else of the records changed.
      const red = await newer.same(v11, (s) => s.get(p1, olds[1]!.id));
      expect(red).toEqual({ ...olds[1], color: 'red', rank: 0, revision: 2, objectVersion: '1.1' });

      for (const ctx of [p2, everything]) {
        const listed = await listAll(newer, v11, ctx);
        const got = await newer.same(v11, (s) => s.getMany(ctx, ids(listed)));
        expect(got).toEqual(listed);
        expect(await newer.same(v11, (s) => s.count(ctx))).toBe(listed.length);
        for (const color of COLORS) {
          const want = got.filter((r) => r.color === color).sort(byId);
          expect(await newer.same(v11, (s) => s.count(ctx, { color })), color).toBe(want.length);
          expect(ids(await listAll(newer, v11, ctx, { where: { color } }))).toEqual(ids(want));
        }
        const both = got.filter((r) => r.color !== 'green').sort(byId);
        const where = { color: { in: ['red', 'blue'] } };
        expect(ids(await listAll(newer, v11, ctx, { where }))).toEqual(ids(both));
        // A new sortable field: every record listed, in (rank, id) order, both ways.
        const ranked = [...got].sort(
          (a, b) => (a.rank as number) - (b.rank as number) || byId(a, b),
        );
        const asc = await listAll(newer, v11, ctx, { orderBy: { field: 'rank' } });
        expect(ids(asc)).toEqual(ids(ranked));
        const desc = await listAll(newer, v11, ctx, {
          orderBy: { field: 'rank', direction: 'desc' },
        });
        expect(ids(desc)).toEqual(ids(ranked).reverse());
        const nonNegative = ranked.filter((r) => (r.rank as number) >= 0);
        const gte = await listAll(newer, v11, ctx, {
          where: { rank: { gte: 0 } },
          orderBy: { field: 'rank' },
        });
        expect(ids(gte)).toEqual(ids(nonNegative));
        expect(await newer.same(v11, (s) => s.count(ctx, { rank: { gte: 0 } }))).toBe(
          nonNegative.length,
        );
      }
      expect(await newer.same(v11, (s) => s.count(everything, { color: 'red' }))).toBe(11);
      expect(await newer.same(v11, (s) => s.count(admin, { color: 'red' }))).toBe(9);
      expect(await newer.same(v11, (s) => s.count(p1, { color: 'red' }))).toBe(7);
    });
  });
}
