/**
 * Issue 14, 2: code whose definition needs an element the store lacks (a field added
 * without a version bump, or 1.1 on a store nobody expanded) is refused at open with
 * `SchemaBehindError`, naming the elements and the command that adds them; nothing is
 * written.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { GIZMO } from './resources.js';
import { everything, p1, useTwin } from './twin.js';

const { v10, drift, v11 } = GIZMO;

/** Registers example 2 for one backend. */
export function schemaBehindExamples(backend: StoreBackend): void {
  describe('2. code ahead of its store', () => {
    const twin = useTwin(backend);

    it('is refused at open, naming what is missing, and nothing is written', async () => {
      const t = twin();
      const old = await t.open([v10]);
      await old.same(v10, (s) => s.create(p1, { name: 'a', code: 'c1' }));
      await old.same(v10, (s) => s.create(p1, { name: 'b', code: 'c1' }));
      const applied = await t.applied(v10);
      const records = await old.same(v10, (s) => s.list(everything, {}));

      // A field added without a version bump.
      const drifted = await t.refused([drift]);
      expect(drifted.resource).toBe('gizmo');
      expect([...drifted.missing].sort()).toEqual(['field color', 'index color (eq)']);
      expect(drifted.message).toContain('polystore schema expand');
      expect(drifted.code).toBe('CONFIG');

      // The next release, before anyone expanded the store.
      const ahead = await t.refused([v11]);
      expect([...ahead.missing].sort()).toEqual([
        'field color',
        'field rank',
        'index color (eq)',
        'index rank (sort)',
        'unique (code)',
      ]);
      expect(ahead.message).toContain('polystore schema expand');

      // Nothing was written: the same elements, records and versions; 1.0 code works on.
      expect(await t.applied(v10)).toEqual(applied);
      expect(await t.versions(v10)).toEqual({ '1.0': 2 });
      const again = await t.open([v10]);
      expect(await again.same(v10, (s) => s.list(everything, {}))).toEqual(records);
      await again.same(v10, (s) => s.create(p1, { name: 'c' }));
      expect(await t.versions(v10)).toEqual({ '1.0': 3 });
    });
  });
}
