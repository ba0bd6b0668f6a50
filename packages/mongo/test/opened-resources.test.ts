import { ConfigError, createContext, defineResource, f } from '@polystore/core';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { openMongoStores } from '../src/index.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

const p1 = createContext({ projectId: 'p1' });

/** A resource of this test only: the one collection a bag opened with it may create. */
const gadget = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: {
    name: f.string().sortable(),
    code: f.string().indexed(),
  },
  unique: [['code']],
});

describe('opened resources', () => {
  const url = freshUrl('mongo_optin');
  afterAll(async () => {
    await dropDatabase(url);
  });

  it('creates the collection and indexes of the opened resources only', async () => {
    const stores = await openMongoStores(url, { resources: [gadget], adapter: { prefix: 'ps_' } });
    const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
    try {
      const gadgets = stores.store(gadget);
      const g = await gadgets.create(p1, { name: 'a', code: 'c1' });
      expect((await gadgets.get(p1, g.id)).name).toBe('a');
      expect((await gadgets.list(p1, { where: { code: 'c1' } })).items.map((x) => x.id)).toEqual([
        g.id,
      ]);
      await expect(gadgets.create(p1, { name: 'b', code: 'c1' })).rejects.toMatchObject({
        code: 'DUPLICATE',
      });
      expect(() => stores.instances).toThrow(ConfigError);
      expect(() => stores.networks).toThrow(ConfigError);
      expect(() => stores.fixedIps).toThrow(ConfigError);

      const names = (await raw.db().listCollections().toArray()).map((c) => c.name).sort();
      // `ps__claims` holds the write claims on FerretDB (claimWrites) and `ps__elements` the
      // applied schema elements of each opened resource, not a resource's records.
      expect(names.filter((n) => n !== 'ps__claims')).toEqual(['ps__elements', 'ps_gadgets']);
      const recorded = await raw.db().collection('ps__elements').find().toArray();
      expect(recorded.map((d) => d._id)).toEqual(['ps_gadgets']);
      const indexes = (await raw.db().collection('ps_gadgets').listIndexes().toArray())
        .map((i) => i.name as string)
        .sort();
      expect(indexes).toEqual(
        expect.arrayContaining(['_id_', 'by_code', 'by_name', 'unique_code']),
      );
    } finally {
      await stores.close();
      await raw.close();
    }
  });
});
