// FerretDB v1.24 compares a `$set` value with the stored one by the values alone, position
// by position, ignoring keys, and skips the field when they look equal: `{a:'1'}` replaced by
// `{c:'1'}` was silently kept while the revision rose. Every replacement of a dict, object or
// list here keeps the values and changes only keys, so each one is lost unless the stored
// form makes keys count. Run on both write paths: claimed writes (FerretDB's default) and
// the plain `findOneAndUpdate` path MongoDB takes.
import { computeResources, createContext, defineResource, f, type Stores } from '@polystore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFresh } from './mongo-server.js';

const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

const box = defineResource({
  name: 'box',
  plural: 'boxes',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: {
    name: f.string(),
    tags: f.dict(f.dict(f.string())).default({}),
    rows: f.list(f.dict(f.string())).default([]),
    grid: f.list(f.list(f.dict(f.int()))).default([]),
    spec: f.object({ path: f.list(f.string()), extra: f.dict(f.int()) }).nullable(),
  },
  unique: [],
});

type Fields = Record<string, unknown>;

/** Each step: the fields written, with the same values as before under other keys (or fewer keys). */
const STEPS: readonly (readonly [string, Fields, Fields])[] = [
  ['renamed key', { tags: { a: { x: '1' } } }, { tags: { c: { x: '1' } } }],
  ['renamed nested key', { tags: { a: { x: '1' } } }, { tags: { a: { y: '1' } } }],
  [
    'shifted keys',
    { tags: { a: { x: '1' }, b: { x: '2' } } },
    { tags: { b: { x: '1' }, c: { x: '2' } } },
  ],
  ['removed key', { tags: { a: { x: '1' }, b: { x: '1' } } }, { tags: { a: { x: '1' } } }],
  ['emptied', { tags: { a: { x: '1' } } }, { tags: {} }],
  ['emptied nested', { tags: { a: { x: '1' } } }, { tags: { a: {} } }],
  ['escaped keys renamed', { tags: { 'a.b': { $x: '1' } } }, { tags: { a$b: { '%x': '1' } } }],
  ['list of dicts', { rows: [{ a: '1' }, { b: '2' }] }, { rows: [{ c: '1' }, { d: '2' }] }],
  ['list of dicts, key removed', { rows: [{ a: '1' }] }, { rows: [{}] }],
  ['nested lists of dicts', { grid: [[{ a: 1 }], [{ b: 2 }]] }, { grid: [[{ c: 1 }], [{ d: 2 }]] }],
  [
    'object with a dict',
    { spec: { path: ['p'], extra: { a: 1 } } },
    { spec: { path: ['p'], extra: { c: 1 } } },
  ],
];

for (const [path, options] of [
  ['claimed writes', {}],
  ['plain findOneAndUpdate', { claimWrites: false, serializeWrites: false }],
] as const) {
  describe(`a dict replaced by one with the same values under other keys is stored (${path})`, () => {
    let stores: Stores;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ stores, drop } = await openFresh({
        adapter: options,
        resources: [...computeResources, box],
      }));
    });
    afterAll(async () => {
      await drop?.();
    });
    const boxes = () => stores.store(box);

    it('metadata {a:"1"} -> {c:"1"} by expected revision (the reported case)', async () => {
      const vm = await stores.instances.create(ctx, {
        displayName: 'vm',
        flavor,
        metadata: { a: '1' },
      });
      const updated = await stores.instances.update(
        ctx,
        vm.id,
        { metadata: { c: '1' } },
        { expectedRevision: 1 },
      );
      expect(updated.metadata).toEqual({ c: '1' });
      expect((await stores.instances.get(ctx, vm.id)).metadata).toEqual({ c: '1' });
    });

    for (const [name, before, after] of STEPS) {
      it(name, async () => {
        const rec = await boxes().create(ctx, { name, ...before });
        const updated = await boxes().update(ctx, rec.id, after);
        const read = await boxes().get(ctx, rec.id);
        for (const [field, value] of Object.entries(after)) {
          expect(updated[field as keyof typeof updated], `${field} returned`).toEqual(value);
          expect(read[field as keyof typeof read], `${field} stored`).toEqual(value);
        }
        // And back again, through a revision-checked update.
        const back = await boxes().update(ctx, rec.id, before, { expectedRevision: read.revision });
        const again = await boxes().get(ctx, rec.id);
        for (const [field, value] of Object.entries(before)) {
          expect(again[field as keyof typeof again], `${field} stored again`).toEqual(value);
        }
        expect(back.revision).toBe(read.revision + 1);
      });
    }
  });
}
