import { ConfigError, createContext } from '@polystore/core';
import { freshNamespace } from '@polystore/testing/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gadgetResource } from '../../../test/contract/resources.js';
import { openRedisStores } from '../src/index.js';
import { redisUrl } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await raw.quit();
});

/** Every key of a namespace under the default prefix. */
async function keysOf(namespace: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(
      cursor,
      'MATCH',
      `polystore:{${namespace}}:*`,
      'COUNT',
      500,
    );
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

describe('opened resources', () => {
  it('keeps keys only for the resources it was opened with', async () => {
    const namespace = freshNamespace('redis_optin');
    const stores = await openRedisStores(redisUrl(), {
      resources: [gadgetResource],
      adapter: { namespace },
    });
    try {
      // Opening writes only the applied elements of the opened resource (a brand-new store).
      expect(await keysOf(namespace)).toEqual([`polystore:{${namespace}}:gadgets:schema`]);
      const gadgets = stores.store(gadgetResource);
      const g = await gadgets.create(p1, { name: 'a', code: 'c1' });
      expect((await gadgets.get(p1, g.id)).name).toBe('a');
      expect((await gadgets.list(p1, { where: { code: 'c1' } })).items.map((x) => x.id)).toEqual([
        g.id,
      ]);
      expect(() => stores.instances).toThrow(ConfigError);
      expect(() => stores.networks).toThrow(ConfigError);
      expect(() => stores.fixedIps).toThrow(ConfigError);
      const keys = await keysOf(namespace);
      expect(keys.length).toBeGreaterThan(0);
      const resources = new Set(
        keys.map((k) => k.slice(`polystore:{${namespace}}:`.length).split(':')[0]),
      );
      expect([...resources]).toEqual(['gadgets']);
    } finally {
      await stores.close();
    }
  });
});
