/**
 * Issue 14, 3: after an indexed field and a unique constraint are added (expand), updating
 * that field and hard-deleting a record written under 1.0 work, and `purge` removes old
 * soft-deleted records (ZooKeeper used to fail with "lost 50 races", or skip them).
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO, SPROCKET } from './resources.js';
import { admin, everything, p1, useTwin } from './twin.js';

/** Registers example 3 for one backend. */
export function upgradedWritesExamples(backend: StoreBackend): void {
  describe('3. writes over records written before the elements were added', () => {
    const twin = useTwin(backend);

    it('updates the new indexed and unique fields of 1.0 records, then purges', async () => {
      const t = twin();
      const g10 = GIZMO.v10;
      const g11 = GIZMO.v11;
      const old = await t.open([g10]);
      const mk = (name: string, code: string | null) =>
        old.same(g10, (s) => s.create(p1, { name, code, tag: 'x' }));
      const g1 = await mk('g1', 'c1');
      const g2 = await mk('g2', 'c2');
      const g3 = await mk('g3', 'c3');
      const g4 = await mk('g4', null);
      const g5 = await mk('g5', 'c5');
      await old.same(g10, (s) => s.delete(p1, g3.id));
      expect(await t.expand(g11, '1.0', '1.1')).toEqual({ ok: undefined });

      const newer = await t.open([g11]);
      const moved = await newer.same(g11, (s) =>
        s.update(p1, g1.id, { color: 'green', code: 'c9' }),
      );
      expect(moved).toMatchObject({ color: 'green', code: 'c9', objectVersion: '1.1' });
      // c1 is free again, c2 too once g2 moves: no entry of the old values is left behind.
      await newer.same(g11, (s) => s.update(p1, g2.id, { code: 'c1', tag: 'y' }));
      await newer.same(g11, (s) => s.create(p1, { name: 'n1', code: 'c2' }));
      expect(await newer.fails(g11, (s) => s.create(p1, { name: 'n2', code: 'c9' }))).toMatchObject(
        { code: 'DUPLICATE', fields: ['code'] },
      );
      expect(await newer.same(g11, (s) => s.count(p1, { color: 'green' }))).toBe(1);
      expect(await newer.same(g11, (s) => s.count(p1, { tag: 'x' }))).toBe(3);
      const c1 = await newer.same(g11, (s) => s.list(p1, { where: { code: 'c1' } }));
      expect(c1.items.map((r) => r.name)).toEqual(['g2']);

      // Soft-delete 1.0 records after the expand, by 1.1 code and by the 1.0 process; purge
      // every old soft-deleted one, whichever layout its entries were written in.
      await newer.same(g11, (s) => s.delete(p1, g4.id));
      await old.same(g10, (s) => s.delete(p1, g5.id));
      t.advance(60_000);
      expect(await newer.same(g11, (s) => s.purge(admin, { deletedBefore: t.now() }))).toBe(3);
      expect(await newer.same(g11, (s) => s.purge(admin, { deletedBefore: t.now() }))).toBe(0);
      await newer.same(g11, (s) => s.create(p1, { name: 'n3', code: 'c3', tag: 'x' }));
      expect(await newer.same(g11, (s) => s.count(p1, { tag: 'x' }))).toBe(2);
      const left = await newer.same(g11, (s) => s.list(everything, { orderBy: { field: 'name' } }));
      expect(left.items.map((r) => r.name)).toEqual(['g1', 'g2', 'n1', 'n3']);
    });

    it('hard-deletes 1.0 records, touched by 1.1 code or not, freeing their unique values', async () => {
      const t = twin();
      const s10 = SPROCKET.v10;
      const s11 = SPROCKET.v11;
      const old = await t.open([s10]);
      const mk = (name: string, code: string) => old.same(s10, (s) => s.create(p1, { name, code }));
      const s1 = await mk('s1', 'k1');
      const s2 = await mk('s2', 'k2');
      const s3 = await mk('s3', 'k3');
      const s4 = await mk('s4', 'k4');
      expect(await t.expand(s11, '1.0', '1.1')).toEqual({ ok: undefined });

      const newer = await t.open([s11]);
      await newer.same(s11, (s) => s.update(p1, s1.id, { color: 'blue', code: 'k9' }));
      await newer.same(s11, (s) => s.delete(p1, s1.id));
      await newer.same(s11, (s) => s.delete(p1, s2.id));
      // 1.0 code hard-deletes too: the process that ran across the expand, and one opened
      // after it. Both free the unique value the expand entered for the record.
      await old.same(s10, (s) => s.delete(p1, s3.id));
      const late = await t.open([s10]);
      await late.same(s10, (s) => s.delete(p1, s4.id));
      for (const r of [s1, s2, s3, s4]) {
        expect(await newer.fails(s11, (s) => s.get(everything, r.id))).toMatchObject({
          code: 'NOT_FOUND',
        });
      }
      expect(await newer.same(s11, (s) => s.count(everything))).toBe(0);
      expect(await newer.same(s11, (s) => s.count(p1, { color: 'blue' }))).toBe(0);
      for (const code of ['k1', 'k2', 'k3', 'k4', 'k9']) {
        await newer.same(s11, (s) => s.create(p1, { name: code, code }));
      }
      expect(await newer.same(s11, (s) => s.count(p1))).toBe(5);
      expect(await t.versions(s11)).toEqual({ '1.1': 5 });
    });
  });
}
