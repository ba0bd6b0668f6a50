/**
 * The equality indexes as sorted sets on a real Redis server: a page by id with an
 * equality filter walks the filter's index from the cursor, and a store written before
 * them (a plain set of ids per value) is read, written, counted and converted.
 */
import { createContext, ExhaustedError, sequentialIds } from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { CONTRACT_RESOURCES, gadgetResource } from '../../../test/contract/resources.js';
import { openRedisStores } from '../src/index.js';
import { ResourceLayout } from '../src/layout.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { redisUrl, useRawRedis } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const admin = createContext({ projectId: null, isAdmin: true });

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

async function fresh() {
  const namespace = freshNamespace('eq_index');
  const backend = await openRedisBackend(redisUrl(), {
    adapter: { namespace },
    resources: CONTRACT_RESOURCES,
  });
  opened.push(backend);
  const stores = createStores(backend, { resources: CONTRACT_RESOURCES, ids: sequentialIds() });
  const layout = new ResourceLayout(gadgetResource, backend.keyspace);
  return { gadgets: stores.store(gadgetResource), layout };
}

type Gadgets = Awaited<ReturnType<typeof fresh>>['gadgets'];

/** Every id a filtered list by id returns, `limit` per page, in the given direction. */
async function paged(
  gadgets: Gadgets,
  ctx: typeof p1,
  where: Record<string, unknown>,
  direction: 'asc' | 'desc',
  limit: number,
): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  do {
    const page: Awaited<ReturnType<Gadgets['list']>> = await gadgets.list(ctx, {
      where,
      orderBy: { field: 'id', direction },
      limit,
      ...(after === null ? {} : { after }),
    });
    seen.push(...page.items.map((g) => g.id));
    after = page.next;
  } while (after !== null);
  return seen;
}

/** Every equality index key of the gadgets under `layout`, of the given type. */
async function keysOf(layout: ResourceLayout, kind: 'q' | 'e'): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw().scan(
      cursor,
      'MATCH',
      `${layout.base}${kind}:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

/** Lays out every equality index under `prefix` (every resource) as plain sets of ids. */
async function everyIndexToOldLayout(prefix: string): Promise<string[]> {
  const moved: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw().scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const legacy = key.replace(/^(polystore:\{[^}]*\}:[^:]+:)q:/, '$1e:');
      if (legacy === key) continue;
      const members = await raw().zrange(key, '0', '-1');
      await raw().del(key);
      await raw().sadd(legacy, ...members.map((m) => m.slice(0, (m.length - 1) / 2)));
      moved.push(legacy);
    }
  } while (cursor !== '0');
  return moved;
}

describe('the sorted equality indexes', () => {
  it('page by id with an equality filter, both ways, from every cursor, with another filter too', async () => {
    const { gadgets, layout } = await fresh();
    const colors = ['red', 'green', 'blue', null] as const;
    for (let i = 0; i < 90; i++) {
      const ctx = i % 7 === 0 ? createContext({ projectId: 'p2' }) : p1;
      await gadgets.create(ctx, { name: `g${i}`, color: colors[i % 4]!, active: i % 3 === 0 });
    }
    const all = (await gadgets.list(admin, { limit: 1000 })).items;
    const ids = (pick: (g: (typeof all)[number]) => boolean) =>
      all
        .filter(pick)
        .map((g) => g.id)
        .sort();
    const cases = [
      { where: { color: 'red' }, want: ids((g) => g.color === 'red' && g.projectId === 'p1') },
      { where: { color: null }, want: ids((g) => g.color === null && g.projectId === 'p1') },
      {
        where: { color: { in: ['red', 'blue'] } },
        want: ids((g) => (g.color === 'red' || g.color === 'blue') && g.projectId === 'p1'),
      },
      {
        where: { color: 'green', active: true },
        want: ids((g) => g.color === 'green' && g.active && g.projectId === 'p1'),
      },
    ];
    for (const { where, want } of cases) {
      expect(want.length).toBeGreaterThan(0);
      for (const limit of [1, 4, 50]) {
        expect(await paged(gadgets, p1, where, 'asc', limit), JSON.stringify(where)).toEqual(want);
        expect(await paged(gadgets, p1, where, 'desc', limit), JSON.stringify(where)).toEqual(
          [...want].reverse(),
        );
      }
    }
    // Across projects (the all-projects partition) too.
    const red = ids((g) => g.color === 'red');
    expect(await paged(gadgets, admin, { color: 'red' }, 'asc', 7)).toEqual(red);
    expect(await keysOf(layout, 'e')).toEqual([]);
  });

  it('read, write, count and convert a store written with plain equality sets', async () => {
    const { gadgets, layout } = await fresh();
    const made: Awaited<ReturnType<Gadgets['create']>>[] = [];
    for (let i = 0; i < 60; i++) {
      made.push(await gadgets.create(p1, { name: `g${i}`, color: i % 3 === 0 ? 'red' : 'blue' }));
    }
    expect((await everyIndexToOldLayout(layout.base)).length).toBeGreaterThan(0);
    expect(await keysOf(layout, 'q')).toEqual([]);
    const redIds = () =>
      made
        .filter((g) => g.color === 'red')
        .map((g) => g.id)
        .sort();

    // Writes on the old layout: one record moves from blue to red, one red is deleted, a
    // red one is created. A write removes ids from the plain set and adds to the sorted one.
    const moved = made[1]!;
    made[1] = await gadgets.update(p1, moved.id, { color: 'red' }, { expectedRevision: 1 });
    await gadgets.delete(p1, made[0]!.id);
    made.splice(0, 1);
    made.push(await gadgets.create(p1, { name: 'new', color: 'red' }));
    const redLegacy = layout.legacyEqKey('color', layout.partition('l', 'p1'), '"red"');
    const redSorted = layout.eqKey('color', layout.partition('l', 'p1'), '"red"');
    expect(await raw().sismember(redLegacy, made[0]!.id)).toBe(0);
    expect(await raw().zcard(redSorted)).toBe(2);

    // A count with another filter reads both forms and converts nothing.
    expect(await gadgets.count(p1, { color: 'red', active: true })).toBe(redIds().length);
    expect(await raw().scard(redLegacy)).toBe(redIds().length - 2);
    // A list with the filter by id meets the plain set: it is converted, then read.
    expect(await paged(gadgets, p1, { color: 'red' }, 'asc', 5)).toEqual(redIds());
    expect(await raw().exists(redLegacy)).toBe(0);
    expect(await raw().zcard(redSorted)).toBe(redIds().length);
    // A count of one index meets the blue plain set: converted, and counted right.
    const blue = made.filter((g) => g.color === 'blue').length;
    const blueLegacy = layout.legacyEqKey('color', layout.partition('l', 'p1'), '"blue"');
    expect(await raw().scard(blueLegacy)).toBe(blue);
    expect(await gadgets.count(p1, { color: 'blue' })).toBe(blue);
    expect(await raw().exists(blueLegacy)).toBe(0);
    expect(await gadgets.count(p1, { color: 'blue' })).toBe(blue);
  });

  it('allocate and releaseAllForInstance count and read the plain sets of an earlier release', async () => {
    const namespace = freshNamespace('eq_index_ips');
    const stores = await openRedisStores(redisUrl(), { adapter: { namespace } });
    try {
      const vm = '00000000-0000-4000-8000-000000000001';
      // 10.0.0.2-10.0.0.6 usable: the gateway is 10.0.0.1, the broadcast 10.0.0.7.
      const net = await stores.networks.create(p1, {
        label: 'n',
        cidr: '10.0.0.0/29',
        gateway: '10.0.0.1',
      });
      for (let i = 0; i < 3; i++)
        await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
      const moved = await everyIndexToOldLayout(`polystore:{${namespace}}:`);
      expect(moved.some((k) => k.includes(':e:networkId:'))).toBe(true);
      expect(moved.some((k) => k.includes(':e:instanceId:'))).toBe(true);
      // The live count takes the plain set: with 3 taken it probes far enough for .5.
      const fourth = await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
      expect(fourth.address).toBe('10.0.0.5');
      await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
      await expect(
        stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(ExhaustedError);
      // Releasing the instance's addresses takes those of both sets.
      expect(await stores.fixedIps.releaseAllForInstance(p1, vm)).toBe(5);
      expect((await stores.fixedIps.list(p1, {})).items).toEqual([]);
    } finally {
      await stores.close();
    }
  });
});
