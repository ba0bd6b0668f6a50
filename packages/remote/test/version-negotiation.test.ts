import {
  adminContext,
  createContext,
  defineObject,
  defineResource,
  f,
  IncompatibleVersionError,
  type Stores,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStoreServer,
  openRemoteStores,
  type StoreServer,
  staticTokens,
} from '../src/index.js';
import { newToken } from './support.js';

// One resource at two releases: the conductor runs the newer code (1.2), an older service
// still speaks 1.0.
const base = { name: 'gadget', plural: 'gadgets', scope: 'project', softDelete: true } as const;

const gadgetV12 = defineResource({
  ...base,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': {
      note: 'added size (from label length) and color',
      up: { size: (r) => String(r.label).length },
    },
    '1.2': {
      note: 'added state "retired" (an old reader sees "stopped")',
      enumValues: { state: { added: ['retired'], down: { retired: 'stopped' } } },
    },
  },
  fields: {
    label: f.string().indexed(),
    state: f.enum(['active', 'stopped', 'retired']).indexed().default('active'),
    size: f.int().addedIn('1.1').default(0),
    color: f.string().nullable().addedIn('1.1'),
  },
});

const gadgetV10 = defineResource({
  ...base,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    label: f.string().indexed(),
    state: f.enum(['active', 'stopped']).indexed().default('active'),
  },
});

const gadgetV20 = defineResource({
  ...base,
  version: '2.0',
  history: {
    '1.0': 'initial version',
    '2.0': { note: 'dropped color', removed: { color: f.string().nullable() } },
  },
  fields: {
    label: f.string().indexed(),
    state: f.enum(['active', 'stopped']).indexed().default('active'),
  },
});

const gadgetV13 = defineResource({
  ...base,
  version: '1.3',
  history: { '1.0': 'initial version', '1.3': 'added note' },
  fields: {
    label: f.string().indexed(),
    state: f.enum(['active', 'stopped']).indexed().default('active'),
    note: f.string().nullable().addedIn('1.3'),
  },
});

const token = newToken();
const ctx = createContext({ projectId: 'p1', userId: 'u1' });
let conductorStores: Stores;
let server: StoreServer;

beforeAll(async () => {
  conductorStores = openMemoryStores({ resources: [gadgetV12] });
  server = await createStoreServer(conductorStores, {
    verifyToken: staticTokens({ tokens: [{ token, role: 'service', name: 'old-compute' }] }),
    resources: [gadgetV12],
  });
});
afterAll(async () => {
  await server.close();
  await conductorStores.close();
});

describe('version negotiation', () => {
  it('an old-release client works through create, update, list, get and delete against a newer server', async () => {
    const old = await openRemoteStores(server.url, { adapter: { token }, resources: [gadgetV10] });
    try {
      const gadgets = old.store(gadgetV10);
      const created = await gadgets.create(ctx, { label: 'abcd', state: 'stopped' });
      // Answered in 1.0: no fields the old release does not know.
      expect(Object.keys(created).sort()).toEqual(
        [
          'createdAt',
          'deletedAt',
          'id',
          'label',
          'objectVersion',
          'projectId',
          'revision',
          'state',
          'updatedAt',
        ].sort(),
      );
      expect(created.objectVersion).toBe('1.0');
      // Stored by the newer code, with the fields added since filled in (up-transform, default).
      const stored = await conductorStores.store(gadgetV12).get(ctx, created.id);
      expect(stored).toMatchObject({
        label: 'abcd',
        state: 'stopped',
        size: 4,
        color: null,
        objectVersion: '1.2',
      });

      // The new release sets a field and a state the old one does not know.
      await conductorStores
        .store(gadgetV12)
        .update(ctx, created.id, { color: 'red', state: 'retired' });
      const seen = await gadgets.get(ctx, created.id);
      expect(seen).toMatchObject({ state: 'stopped', objectVersion: '1.0', revision: 2 });
      expect(seen).not.toHaveProperty('color');

      // An old write keeps what the new release wrote in fields the old one cannot see.
      const updated = await gadgets.update(
        ctx,
        created.id,
        { label: 'efgh' },
        { expectedRevision: 2 },
      );
      expect(updated).toMatchObject({ label: 'efgh', revision: 3, objectVersion: '1.0' });
      expect(await conductorStores.store(gadgetV12).get(ctx, created.id)).toMatchObject({
        label: 'efgh',
        color: 'red',
        state: 'retired',
      });

      await gadgets.create(ctx, { label: 'second' });
      const page = await gadgets.list(ctx, { where: { state: 'active' }, limit: 1 });
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).not.toHaveProperty('size');
      const all = await gadgets.list(ctx, { limit: 1 });
      const rest = await gadgets.list(ctx, { limit: 10, after: all.next });
      expect([...all.items, ...rest.items].map((g) => g.objectVersion)).toEqual(['1.0', '1.0']);
      expect(await gadgets.count(ctx)).toBe(2);

      const deleted = await gadgets.delete(ctx, created.id);
      expect(deleted.deletedAt).not.toBeNull();
      expect(deleted).not.toHaveProperty('color');
    } finally {
      await old.close();
    }
  });

  it('old-release versioned objects go through create, save, list and delete against the newer server', async () => {
    const OldGadget = defineObject(gadgetV10, { namespace: 'oldcompute' });
    const old = await openRemoteStores(server.url, { adapter: { token }, resources: [gadgetV10] });
    try {
      const g = await OldGadget.create(ctx, old, { label: 'obj' });
      g.label = 'obj2';
      g.state = 'stopped';
      await g.save(ctx, old);
      expect(g.revision).toBe(2);
      // The newer release's fields survive the old release's save.
      expect(await conductorStores.store(gadgetV12).get(ctx, g.id)).toMatchObject({
        label: 'obj2',
        state: 'stopped',
        size: 3,
        objectVersion: '1.2',
      });
      const page = await OldGadget.list(ctx, old, { where: { label: 'obj2' } });
      expect(page.items.map((o) => o.toPrimitive())).toEqual([g.toPrimitive()]);
      expect(g.toPrimitive()).toMatchObject({ name: 'gadget', version: '1.0' });
      await g.delete(ctx, old);
      expect(g.deletedAt).not.toBeNull();
    } finally {
      await old.close();
    }
  });

  it('a client at the server version gets the records unchanged', async () => {
    const now = await openRemoteStores(server.url, { adapter: { token }, resources: [gadgetV12] });
    try {
      const g = await now.store(gadgetV12).create(ctx, { label: 'new', color: 'blue' });
      expect(g).toEqual(await conductorStores.store(gadgetV12).get(ctx, g.id));
    } finally {
      await now.close();
    }
  });

  it('refuses at open, not on the first call, a client whose major or newer minor version the server cannot serve', async () => {
    for (const [resource, speaks] of [
      [gadgetV20, '2.0'],
      [gadgetV13, '1.3'],
    ] as const) {
      const err = await openRemoteStores(server.url, {
        adapter: { token },
        resources: [resource],
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(IncompatibleVersionError);
      expect(err).toMatchObject({ resource: 'gadget', storedVersion: speaks, knownVersion: '1.2' });
    }
    // Nothing was written by the refused opens.
    expect(await conductorStores.store(gadgetV12).count(adminContext())).toBeGreaterThanOrEqual(0);
  });
});
