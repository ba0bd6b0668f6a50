/**
 * Issue 14, 6: a version that indexes an existing field (1.2: `size` becomes sortable, and
 * `tag` sortable instead of equality-only). After the expand, queries on them see every
 * record, those never rewritten and those 1.0 code writes afterwards included, as in the
 * memory model. On Mongo the `tag` index
 * keeps its name and changes its key spec: it must be replaced, not kept for its name.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO } from './resources.js';
import { everything, listAll, p1, type Rec, useTwin } from './twin.js';

const { v10, v12 } = GIZMO;
const SIZES = [3, -1, 0, 3, 10, 7, 3, 2, -40, 3];
const TAGS = ['b', 'a', '', 'é', '\uFFFF', '😀', '𐀀', 'a', 'Z', 'b'];

const ids = (records: readonly Rec[]) => records.map((r) => r.id);
const byId = (a: Rec, b: Rec) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** UTF-8 byte order, which is code point order. */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Registers example 6 for one backend. */
export function addedIndexExamples(backend: StoreBackend): void {
  describe('6. an index added on an existing field', () => {
    const twin = useTwin(backend);

    it('serves queries over every record after the expand, as memory does', async () => {
      const t = twin();
      const old = await t.open([v10]);
      for (const [i, size] of SIZES.entries()) {
        await old.same(v10, (s) => s.create(p1, { name: `r${i}`, size, tag: TAGS[i]! }));
      }
      const deleted = (await old.same(v10, (s) => s.list(p1, { where: { tag: 'a' } }))).items[0]!;
      await old.same(v10, (s) => s.delete(p1, deleted.id));
      // Not queryable at 1.0, and 1.2 code is refused until the store is expanded.
      expect(await old.fails(v10, (s) => s.count(p1, { size: 3 }))).toMatchObject({
        code: 'INVALID_QUERY',
      });
      expect((await t.refused([v12])).missing).toEqual(
        expect.arrayContaining(['index size (sort)', 'index tag (sort)']),
      );

      expect(await t.expand(v12, '1.0', '1.2')).toEqual({ ok: undefined });
      const applied = await t.applied(v12);
      expect(applied.indexes).toEqual(
        expect.arrayContaining([
          { field: 'size', kind: 'sort' },
          { field: 'tag', kind: 'sort' },
        ]),
      );
      const newer = await t.open([v12]);
      // 1.0 code goes on writing after the expand, a process that ran across it and one
      // opened after it: its writes keep the entries of the indexes it does not know.
      const late = await t.open([v10]);
      await late.same(v10, (s) => s.create(p1, { name: 'late', size: 3, tag: 'b' }));
      const seven = (await old.same(v10, (s) => s.list(p1, { where: { tag: '😀' } }))).items[0]!;
      await old.same(v10, (s) => s.update(p1, seven.id, { size: 3, tag: 'zz' }));
      for (const ctx of [p1, everything]) {
        const got = await listAll(newer, v12, ctx);
        expect(got).toHaveLength(ctx === p1 ? 10 : 11);
        const threes = got.filter((r) => r.size === 3).sort(byId);
        expect(threes).toHaveLength(6);
        expect(await newer.same(v12, (s) => s.count(ctx, { size: 3 }))).toBe(threes.length);
        expect(ids(await listAll(newer, v12, ctx, { where: { size: 3 } }))).toEqual(ids(threes));
        const bySize = [...got].sort(
          (a, b) => (a.size as number) - (b.size as number) || byId(a, b),
        );
        const asc = await listAll(newer, v12, ctx, { orderBy: { field: 'size' } });
        expect(ids(asc)).toEqual(ids(bySize));
        const small = await listAll(newer, v12, ctx, {
          where: { size: { gt: -1, lte: 3 } },
          orderBy: { field: 'size', direction: 'desc' },
        });
        const want = bySize.filter((r) => (r.size as number) > -1 && (r.size as number) <= 3);
        expect(ids(small)).toEqual(ids(want).reverse());

        const byTag = [...got].sort(
          (a, b) => byCodePoint(a.tag as string, b.tag as string) || byId(a, b),
        );
        expect(ids(await listAll(newer, v12, ctx, { orderBy: { field: 'tag' } }))).toEqual(
          ids(byTag),
        );
        const bs = byTag.filter((r) => r.tag === 'b');
        expect(ids(await listAll(newer, v12, ctx, { where: { tag: 'b' } }))).toEqual(ids(bs));
        const high = await listAll(newer, v12, ctx, {
          where: { tag: { gt: '\uFFFF' } },
          orderBy: { field: 'tag' },
        });
        expect(high.map((r) => r.tag)).toEqual(['𐀀']);
      }
      // Writes by 1.2 code move the new index entries with the records.
      const moved = await newer.same(v12, (s) => s.list(p1, { where: { size: 10 } }));
      await newer.same(v12, (s) => s.update(p1, moved.items[0]!.id, { size: -100, tag: '' }));
      const first = await newer.same(v12, (s) => s.list(p1, { orderBy: { field: 'size' } }));
      expect(first.items[0]!.id).toBe(moved.items[0]!.id);
      expect(await newer.same(v12, (s) => s.count(p1, { size: 10 }))).toBe(0);
      expect(await newer.same(v12, (s) => s.count(p1, { tag: '' }))).toBe(2);
    });
  });
}
