/**
 * Issue 14, 4: a unique constraint added later is enforced on the upgraded store exactly as
 * on a fresh one, and expanding it over live records that break it is refused with
 * `UniqueViolationError` naming them, with nothing applied.
 */
import type { StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import type { Settled } from '../contract/pair.js';
import { GIZMO, SPROCKET } from './resources.js';
import { type Code, type LooseStore, p1, p2, useTwin } from './twin.js';

const { v10, v11 } = GIZMO;

/** An outcome reduced to what a unique constraint decides: ok, or the error and its fields. */
function verdict(settled: Settled): string {
  if (!('error' in settled)) return 'ok';
  return `${String(settled.error.name)} ${JSON.stringify(settled.error.fields ?? null)}`;
}

/** The same calls on a store: the 1.1 code's unique constraint at work, one verdict each. */
async function uniqueScenario(code: Code, ids: readonly string[]): Promise<string[]> {
  const [x, none] = ids as [string, string];
  const calls: ((s: LooseStore) => Promise<unknown>)[] = [
    (s) => s.create(p1, { name: 'dup x', code: 'x' }),
    (s) => s.create(p2, { name: 'x in another project', code: 'x' }),
    (s) => s.create(p1, { name: 'another null', code: null }),
    (s) => s.create(p1, { name: 'y again', code: 'y' }),
    (s) => s.update(p1, none, { code: 'x' }),
    (s) => s.update(p1, none, { code: 'z' }),
    (s) => s.create(p1, { name: 'dup z', code: 'z' }),
    (s) => s.update(p1, x, { code: null }),
    (s) => s.create(p1, { name: 'x again', code: 'x' }),
  ];
  const out: string[] = [];
  for (const call of calls) out.push(verdict(await code.outcome(v11, call)));
  return out;
}

/** x, null and a soft-deleted y, written by `code` of `resource`. */
async function seed(code: Code, resource: typeof v10 | typeof v11): Promise<string[]> {
  const x = await code.same(resource, (s) => s.create(p1, { name: 'x', code: 'x' }));
  const none = await code.same(resource, (s) => s.create(p1, { name: 'none', code: null }));
  const y = await code.same(resource, (s) => s.create(p1, { name: 'y', code: 'y' }));
  await code.same(resource, (s) => s.delete(p1, y.id));
  return [x.id, none.id];
}

/** Registers example 4 for one backend. */
export function addedUniqueExamples(backend: StoreBackend): void {
  describe('4. a unique constraint added later', () => {
    const upgradedTwin = useTwin(backend);
    const freshTwin = useTwin(backend);

    it('is enforced on the upgraded store exactly as on a fresh one', async () => {
      const upgraded = upgradedTwin();
      const old = await upgraded.open([v10]);
      const oldIds = await seed(old, v10);
      expect(await upgraded.expand(v11, '1.0', '1.1')).toEqual({ ok: undefined });
      const fresh = freshTwin();
      const born = await fresh.open([v11]);
      const bornIds = await seed(born, v11);

      const onUpgraded = await uniqueScenario(await upgraded.open([v11]), oldIds);
      const onFresh = await uniqueScenario(born, bornIds);
      expect(onUpgraded).toEqual(onFresh);
      expect(onUpgraded).toEqual([
        'DuplicateError ["code"]',
        'DuplicateError ["code"]',
        'ok',
        'ok',
        'DuplicateError ["code"]',
        'ok',
        'DuplicateError ["code"]',
        'ok',
        'ok',
      ]);
      // 1.0 code knows no unique constraint, yet the store holds it: for a process that
      // ran across the expand as for one opened after it. The error names the constraint.
      const late = await upgraded.open([v10]);
      for (const code of [old, late]) {
        expect(await code.fails(v10, (s) => s.create(p1, { name: 'z by 1.0', code: 'z' }))).toEqual(
          expect.objectContaining({ name: 'DuplicateError', fields: ['code'] }),
        );
        expect(await code.fails(v10, (s) => s.update(p1, oldIds[1]!, { code: 'x' }))).toEqual(
          expect.objectContaining({ name: 'DuplicateError', fields: ['code'] }),
        );
      }
    });

    it('is refused over live records that break it, naming them, with nothing applied', async () => {
      const t = upgradedTwin();
      const s10 = SPROCKET.v10;
      const s11 = SPROCKET.v11;
      const old = await t.open([s10]);
      const d1 = await old.same(s10, (s) => s.create(p1, { name: 'd1', code: 'dup' }));
      const d2 = await old.same(s10, (s) => s.create(p2, { name: 'd2', code: 'dup' }));
      const d3 = await old.same(s10, (s) => s.create(p1, { name: 'd3', code: 'dup' }));
      await old.same(s10, (s) => s.create(p1, { name: 'ok', code: 'ok' }));
      await old.same(s10, (s) => s.delete(p1, d3.id)); // hard delete: no longer a clash
      const applied = await t.applied(s10);

      const refused = await t.expand(s11, '1.0', '1.1');
      expect(refused).toEqual({
        error: expect.objectContaining({
          name: 'UniqueViolationError',
          code: 'DUPLICATE',
          fields: ['code'],
          ids: [d1.id, d2.id].sort(),
        }),
      });
      // Not even the fields and indexes of the same call were applied.
      expect(await t.applied(s10)).toEqual(applied);
      expect((await t.refused([s11])).missing).toContain('unique (code)');
      // Nor is the constraint half there: 1.0 code may still write the same code.
      const d4 = await old.same(s10, (s) => s.create(p1, { name: 'd4', code: 'dup' }));

      await old.same(s10, (s) => s.update(p2, d2.id, { code: 'dup2' }));
      await old.same(s10, (s) => s.update(p1, d4.id, { code: 'dup4' }));
      expect(await t.expand(s11, '1.0', '1.1')).toEqual({ ok: undefined });
      expect((await t.applied(s11)).uniques).toEqual([['code']]);
      const newer = await t.open([s11]);
      expect(await newer.fails(s11, (s) => s.create(p2, { code: 'dup2' }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['code'],
      });
    });
  });
}
