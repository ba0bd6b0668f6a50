/**
 * Issue 14, 1: after newer code (1.1) expanded a store, older code (1.0) opens it and
 * reads, writes and lists as before, and a `polystore doctor`-like describe still works.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO } from './resources.js';
import { admin, p1, p2, useTwin } from './twin.js';

const { v10, v11 } = GIZMO;

/** Registers example 1 for one backend. */
export function olderCodeExamples(backend: StoreBackend): void {
  describe('1. older code on a store newer code expanded', () => {
    const twin = useTwin(backend);

    it('opens, reads, writes and lists it, and the store still describes itself', async () => {
      const t = twin();
      // A 1.0 process, running before and after the expand.
      const running = await t.open([v10]);
      const a = await running.same(v10, (s) =>
        s.create(p1, { name: 'a', size: 1, tag: 't1', code: 'c1' }),
      );
      const b = await running.same(v10, (s) =>
        s.create(p1, { name: 'b', size: 2, tag: 't2', code: 'c2' }),
      );
      await running.same(v10, (s) => s.create(p2, { name: 'p2', tag: 't1' }));
      expect(await t.expand(v11, '1.0', '1.1')).toEqual({ ok: undefined });

      const newer = await t.open([v11]);
      const c = await newer.same(v11, (s) =>
        s.create(p1, { name: 'c', tag: 't1', code: 'c3', color: 'blue', rank: 5 }),
      );
      expect(c).toMatchObject({ color: 'blue', rank: 5, objectVersion: '1.1' });

      // 1.0 code opened after the expand: the store is ahead of it, never behind.
      const older = await t.open([v10]);
      for (const code of [running, older]) {
        const seen = await code.same(v10, (s) => s.get(p1, c.id));
        expect(seen).toMatchObject({ name: 'c', code: 'c3', objectVersion: '1.1' });
        expect(seen).not.toHaveProperty('color');
        expect(seen).not.toHaveProperty('rank');
        expect(await code.same(v10, (s) => s.get(p1, a.id))).toEqual(a);
        const many = await code.same(v10, (s) => s.getMany(p1, [c.id, a.id, b.id]));
        expect(many.map((r) => r.name)).toEqual(['c', 'a', 'b']);
        const page = await code.same(v10, (s) => s.list(p1, { orderBy: { field: 'name' } }));
        expect(page.items.map((r) => r.name)).toEqual(['a', 'b', 'c']);
        const t1 = await code.same(v10, (s) => s.list(p1, { where: { tag: 't1' } }));
        expect(t1.items.map((r) => r.name)).toEqual(['a', 'c']);
        expect(await code.same(v10, (s) => s.count(p1))).toBe(3);
        expect(await code.same(v10, (s) => s.count(admin, { tag: 't1' }))).toBe(3);
      }

      // Writes by the 1.0 code: create, update (its own records and a 1.1 one), delete.
      const d = await older.same(v10, (s) => s.create(p1, { name: 'd', code: 'c4' }));
      expect(d.objectVersion).toBe('1.0');
      await older.same(v10, (s) => s.update(p1, a.id, { name: 'a2', size: 10 }));
      await older.same(v10, (s) => s.update(p1, c.id, { tag: 't9' }, { expectedRevision: 1 }));
      await running.same(v10, (s) => s.delete(p1, b.id));
      const names = await older.same(v10, (s) => s.list(p1, { orderBy: { field: 'name' } }));
      expect(names.items.map((r) => r.name)).toEqual(['a2', 'c', 'd']);
      // The 1.1 code sees every write, with its own fields kept.
      const all = await newer.same(v11, (s) => s.list(p1, { orderBy: { field: 'name' } }));
      expect(all.items.map((r) => [r.name, r.tag, r.color])).toEqual([
        ['a2', 't1', 'red'],
        ['c', 't9', 'blue'],
        ['d', '', 'red'],
      ]);

      // `polystore doctor`: the adapter, the backend's description, a page and a count.
      const { adapter, backend: opened, stores } = older.subject;
      expect(adapter.schemes.length).toBeGreaterThan(0);
      expect(stores.backend).toBe(opened?.name);
      for (const [key, value] of Object.entries(opened?.describe?.() ?? {})) {
        expect(['string', 'number', 'boolean'], key).toContain(typeof value);
      }
      const store = stores.store(v10);
      expect((await store.list(admin, { limit: 1 })).items).toHaveLength(1);
      expect(await store.count(admin)).toBe(4);
      // The store records the 1.1 elements; the 1.0 code's are among them.
      const applied = await t.applied(v10);
      expect(applied.fields).toEqual(expect.arrayContaining(['name', 'code', 'color', 'rank']));
      expect(applied.uniques).toEqual([['code']]);
    });
  });
}
