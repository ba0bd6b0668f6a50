/**
 * Issue 14, 7: `objectVersion` across releases. A write by 1.0 code never lowers a record
 * 1.1 code wrote (nor loses its 1.1 fields); a 1.0 reader meeting a 1.1 record it cannot
 * hold (a state 1.0 does not know, with no backport) gets `IncompatibleVersionError`.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO } from './resources.js';
import { admin, p1, type Rec, useTwin } from './twin.js';

const { v10, v11 } = GIZMO;

/** Registers example 7 for one backend. */
export function objectVersionExamples(backend: StoreBackend): void {
  describe('7. objectVersion across releases', () => {
    const twin = useTwin(backend);
    let broken: Rec | undefined;

    it('a write by 1.0 code never lowers a record written by 1.1', async () => {
      const t = twin();
      const running = await t.open([v10]);
      const a = await running.same(v10, (s) => s.create(p1, { name: 'a' }));
      expect(await t.expand(v11, '1.0', '1.1')).toEqual({ ok: undefined });
      const newer = await t.open([v11]);
      const b = await newer.same(v11, (s) =>
        s.create(p1, { name: 'b', state: 'used', color: 'blue', rank: 4 }),
      );
      const older = await t.open([v10]);

      for (const [i, code] of [running, older].entries()) {
        const written = await code.same(v10, (s) =>
          s.update(p1, b.id, { name: `b${i}` }, { expectedRevision: b.revision + i }),
        );
        expect(written).toMatchObject({ objectVersion: '1.1', revision: b.revision + i + 1 });
        expect(await newer.same(v11, (s) => s.get(p1, b.id))).toMatchObject({
          name: `b${i}`,
          state: 'used',
          color: 'blue',
          rank: 4,
          objectVersion: '1.1',
        });
      }
      // A 1.0 record stays at 1.0 under 1.0 writes, moves to 1.1 under a 1.1 write and
      // stays there under the next 1.0 write.
      expect(await older.same(v10, (s) => s.update(p1, a.id, { size: 1 }))).toMatchObject({
        objectVersion: '1.0',
      });
      const upgraded = await newer.same(v11, (s) => s.update(p1, a.id, { rank: 9 }));
      expect(upgraded).toMatchObject({ objectVersion: '1.1', color: 'red', rank: 9 });
      expect(await running.same(v10, (s) => s.update(p1, a.id, { size: 2 }))).toMatchObject({
        objectVersion: '1.1',
        size: 2,
      });
      expect(await newer.same(v11, (s) => s.get(p1, a.id))).toMatchObject({ rank: 9, size: 2 });
      // A delete by 1.0 code keeps the version too.
      expect(await older.same(v10, (s) => s.delete(p1, a.id))).toMatchObject({
        objectVersion: '1.1',
      });
      expect(await t.versions(v11)).toEqual({ '1.1': 2 });
      broken = await newer.same(v11, (s) => s.create(p1, { name: 'c', state: 'broken' }));
    });

    it('a 1.0 reader of a 1.1 record it cannot hold gets IncompatibleVersionError', async () => {
      const t = twin();
      const c = broken;
      if (!c) throw new Error('the previous example left no record');
      const older = await t.open([v10]);
      const refused = {
        name: 'IncompatibleVersionError',
        code: 'INCOMPATIBLE_VERSION',
        resource: 'gizmo',
      };
      expect(await older.fails(v10, (s) => s.get(p1, c.id))).toEqual(refused);
      await expect(older.subject.stores.store(v10).get(p1, c.id)).rejects.toMatchObject({
        storedVersion: '1.1',
        knownVersion: '1.0',
      });
      expect(await older.fails(v10, (s) => s.getMany(p1, [c.id]))).toEqual(refused);
      expect(await older.fails(v10, (s) => s.list(admin, { where: { name: 'c' } }))).toEqual(
        refused,
      );
      // Reads that do not meet it are unaffected.
      expect(await older.same(v10, (s) => s.count(p1))).toBe(2);
      const b = await older.same(v10, (s) => s.list(p1, { where: { name: 'b1' } }));
      expect(b.items.map((r) => r.objectVersion)).toEqual(['1.1']);
      // A 1.0 update or delete of it is refused too, before anything is written.
      expect(await older.fails(v10, (s) => s.update(p1, c.id, { name: 'c1' }))).toEqual(refused);
      expect(await older.fails(v10, (s) => s.delete(p1, c.id))).toEqual(refused);
      const newer = await t.open([v11]);
      const kept = await newer.same(v11, (s) => s.get(p1, c.id));
      expect(kept).toMatchObject({ name: 'c', state: 'broken', revision: c.revision });
      expect(kept.deletedAt).toBeNull();
    });
  });
}
