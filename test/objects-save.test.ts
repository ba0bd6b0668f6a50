import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  createContext,
  defineObject,
  defineResource,
  f,
  IncompatibleVersionError,
  InvalidInputError,
  instanceResource,
  openStores,
  type ResourceStore,
  type Stores,
} from '@polystore/core';
import { expandResource, isEvolvable, openBackend } from '@polystore/core/adapter';
import { freshStoreUrl, STORE_BACKENDS, type StoreBackend } from '@polystore/testing/vitest';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

const ctx = createContext({ projectId: 'p1' });
const Instance = defineObject(instanceResource, {
  namespace: 'test',
  methods: {
    isBusy(): boolean {
      return this.taskState !== null;
    },
  },
});

const opened: Stores[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

/** A URL of an empty store; a named memory database, so two opens share it. */
async function storeUrl(backend: StoreBackend): Promise<string> {
  return backend === 'memory'
    ? `memory:objects-${randomBytes(6).toString('hex')}`
    : freshStoreUrl(backend, 'objects');
}

async function open(url: string, resources: Parameters<typeof openStores>[1] = {}) {
  const stores = await openStores(url, resources);
  opened.push(stores);
  return stores;
}

/** Adds to the store what `resource`'s code needs (what `polystore schema expand` does), then opens it. */
async function openExpanded(url: string, resource: Parameters<typeof expandResource>[1]) {
  const { backend, stores } = await openBackend(url, { resources: [resource], checkSchema: false });
  try {
    if (!isEvolvable(backend)) throw new Error(`${url}: no evolution SPI`);
    await expandResource(backend, resource);
  } finally {
    await stores.close();
  }
  return open(url, { resources: [resource] });
}

/** The instance store, recording every patch `update` is sent (the real store does the work). */
function recording(store: ResourceStore<typeof instanceResource>) {
  const patches: Record<string, unknown>[] = [];
  const wrapped: ResourceStore<typeof instanceResource> = {
    create: (c, v) => store.create(c, v),
    get: (c, id) => store.get(c, id),
    getMany: (c, ids) => store.getMany(c, ids),
    list: (c, o) => store.list(c, o),
    count: (c, w) => store.count(c, w),
    update: (c, id, patch, o) => {
      patches.push({ ...patch });
      return store.update(c, id, patch, o);
    },
    delete: (c, id, o) => store.delete(c, id, o),
    purge: (c, o) => store.purge(c, o),
  };
  return { store: wrapped, patches };
}

type Edit =
  | { readonly op: 'meta-set'; readonly key: string; readonly value: string }
  | { readonly op: 'meta-del'; readonly key: string }
  | { readonly op: 'vcpus'; readonly value: number }
  | { readonly op: 'name'; readonly value: string }
  | { readonly op: 'task'; readonly value: 'spawning' | null };

const key = fc.constantFrom('a', 'b', 'c');
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('meta-set' as const), key, value: fc.constantFrom('1', '2') }),
  fc.record({ op: fc.constant('meta-del' as const), key }),
  fc.record({ op: fc.constant('vcpus' as const), value: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('name' as const), value: fc.constantFrom('web', 'db') }),
  fc.record({
    op: fc.constant('task' as const),
    value: fc.constantFrom('spawning' as const, null),
  }),
);

/** Gadget 1.0, and 1.1 that adds size (from the label's length) and color. */
const gadgetV10 = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string({ max: 40 }) },
});
const gadgetV11 = defineResource({
  ...gadgetV10,
  version: '1.1',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added size and color', up: { size: (r) => String(r.label).length } },
  },
  fields: {
    label: f.string({ max: 40 }),
    size: f.int().addedIn('1.1'),
    color: f.string().nullable().addedIn('1.1'),
  },
});
const gadgetV20 = defineResource({
  ...gadgetV11,
  version: '2.0',
  history: {
    ...gadgetV11.history,
    '2.0': {
      note: 'size counts bytes, not characters',
      changed: { size: { up: (r) => Number(r.size) * 4, down: (r) => Number(r.size) / 4 } },
    },
  },
});

for (const backend of STORE_BACKENDS) {
  describe(`objects on ${backend}`, () => {
    it('save() writes exactly the changed fields, after any random nested edits', async () => {
      const stores = await open(await storeUrl(backend));
      const { store, patches } = recording(stores.instances);
      await fc.assert(
        fc.asyncProperty(fc.array(editArb, { minLength: 1, maxLength: 8 }), async (edits) => {
          const vm = await Instance.create(ctx, store, {
            displayName: 'web',
            flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 },
            metadata: { a: '1' },
          });
          const before = vm.toRecord();
          for (const e of edits) {
            if (e.op === 'meta-set') vm.metadata[e.key] = e.value;
            else if (e.op === 'meta-del') delete vm.metadata[e.key];
            else if (e.op === 'vcpus') vm.flavor.vcpus = e.value;
            else if (e.op === 'name') vm.displayName = e.value;
            else vm.taskState = e.value;
          }
          const changed = vm.changedFields();
          const wanted = vm.toRecord();
          patches.length = 0;
          await vm.save(ctx, store);
          const after = await stores.instances.get(ctx, vm.id);
          if (changed.length === 0) {
            expect(patches).toEqual([]);
            expect(after.revision).toBe(before.revision);
          } else {
            expect(patches.map((p) => Object.keys(p).sort())).toEqual([[...changed].sort()]);
            expect(after.revision).toBe(before.revision + 1);
          }
          for (const name of instanceResource.fieldNames) expect(after[name]).toEqual(wanted[name]);
          expect(vm.isDirty()).toBe(false);
          expect(vm.revision).toBe(after.revision);
        }),
        { numRuns: backend === 'memory' ? 40 : 8 },
      );
    });

    it('a concurrent save conflicts, keeps the changes, and succeeds after refresh', async () => {
      const stores = await open(await storeUrl(backend));
      const a = await Instance.create(ctx, stores, {
        flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 },
      });
      const b = await Instance.get(ctx, stores, a.id);
      a.displayName = 'a';
      await a.save(ctx, stores);
      b.metadata.owner = 'b';
      const err = await b.save(ctx, stores).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).currentRevision).toBe(2);
      expect(b.changedFields()).toEqual(['metadata']);
      await b.refresh(ctx, stores);
      expect(b.displayName).toBe('a');
      await b.save(ctx, stores);
      const now = await stores.instances.get(ctx, a.id);
      expect(now).toMatchObject({ displayName: 'a', metadata: { owner: 'b' }, revision: 3 });
      // Task-state compare-and-swap through save's expected values.
      b.taskState = 'spawning';
      const lost = await b
        .save(ctx, stores, { expected: { taskState: 'deleting' } })
        .catch((e: unknown) => e);
      expect(lost).toMatchObject({ reason: 'expected', field: 'taskState' });
      await b.save(ctx, stores, { expected: { taskState: [null] } });
      expect(b.isBusy()).toBe(true);
      await b.delete(ctx, stores);
      expect(b.deletedAt).not.toBeNull();
    });

    it('reads older records at the code version; writes never lower objectVersion', async () => {
      const url = await storeUrl(backend);
      const v10 = await open(url, { resources: [gadgetV10] });
      const old = await v10.store(gadgetV10).create(ctx, { label: 'abcd' });
      expect(old.objectVersion).toBe('1.0');

      const v11 = await openExpanded(url, gadgetV11);
      const Gadget = defineObject(gadgetV11, { namespace: 'test' });
      const g = await Gadget.get(ctx, v11, old.id);
      expect(g.toRecord()).toMatchObject({ size: 4, color: null, objectVersion: '1.0' });

      // A write pinned to 1.0 keeps the record at 1.0, and refuses what 1.0 lacks.
      g.label = 'abcdef';
      await g.save(ctx, v11, { writeVersion: '1.0' });
      expect(g.objectVersion).toBe('1.0');
      expect(g.size).toBe(6); // still derived on read
      g.color = 'red';
      await expect(g.save(ctx, v11, { writeVersion: '1.0' })).rejects.toThrow(InvalidInputError);
      expect(g.changedFields()).toEqual(['color']);

      // At the code's version the record is written in the 1.1 shape.
      await g.save(ctx, v11);
      expect(g.toRecord()).toMatchObject({ objectVersion: '1.1', size: 6, color: 'red' });

      // The 1.0 writer updates the 1.1 record: it stays at 1.1, its 1.1 fields kept.
      const byOld = await v10.store(gadgetV10).update(ctx, old.id, { label: 'xy' });
      expect(byOld.objectVersion).toBe('1.1');
      expect(await v11.store(gadgetV11).get(ctx, old.id)).toMatchObject({
        label: 'xy',
        size: 6,
        color: 'red',
        objectVersion: '1.1',
      });

      // A record of a newer major is refused to older readers, never misread.
      const v20 = await openExpanded(url, gadgetV20);
      const up = await v20.store(gadgetV20).update(ctx, old.id, { label: 'z' });
      expect(up).toMatchObject({ objectVersion: '2.0', size: 24 });
      await expect(v11.store(gadgetV11).get(ctx, old.id)).rejects.toThrow(IncompatibleVersionError);
      await expect(v10.store(gadgetV10).update(ctx, old.id, { label: 'q' })).rejects.toThrow(
        IncompatibleVersionError,
      );
    });
  });
}
