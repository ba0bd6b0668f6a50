/**
 * What only the Redis adapter has: its key layout (fields as JSON text, one partition for a
 * global resource, no key left after a purge), the per-project partitions merged or read
 * whole, and the version sets. The store contract itself is checked for every backend by
 * the root spec test/store-contract.test.ts.
 */
import {
  adminContext,
  ConfigError,
  createContext,
  ManualClock,
  type Stores,
  sequentialIds,
  withReadDeleted,
} from '@polystore/core';
import { createStores, recordComparator } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACT_RESOURCES,
  gadgetResource,
  widgetResource,
} from '../../../test/contract/resources.js';
import { ResourceLayout } from '../src/layout.js';
import { openRedisBackend, openRedisStores } from '../src/redis-adapter.js';
import { RedisConnection, redisEndpoint } from '../src/redis-connection.js';
import { resolveRedisOptions } from '../src/redis-options.js';
import { redisUrl } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await raw.quit();
});

async function fresh(): Promise<{ stores: Stores; namespace: string; clock: ManualClock }> {
  const clock = new ManualClock(Date.parse('2026-05-01T00:00:00.000Z'));
  const namespace = freshNamespace('redis_internals');
  const stores = await openRedisStores(redisUrl(), {
    adapter: { namespace },
    resources: CONTRACT_RESOURCES,
    clock,
    ids: sequentialIds(),
  });
  return { stores, namespace, clock };
}

/** Every key of a namespace (SCAN is fine in a test, never in a request path). */
async function keysOf(namespace: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(
      cursor,
      'MATCH',
      `polystore:{${namespace}}:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('key layout', () => {
  it('stores each field as its JSON text, UTF-8 encoded', async () => {
    const { stores, namespace } = await fresh();
    const g = stores.store(gadgetResource);
    const r = await g.create(p1, { name: '😀"*' });
    const bytes = await raw.hgetBuffer(`polystore:{${namespace}}:gadgets:r:${r.id}`, 'name');
    expect(bytes).toEqual(Buffer.from(JSON.stringify('😀"*'), 'utf8'));
    await stores.close();
  });

  it('gives a global resource one partition, and hard-deletes without soft delete', async () => {
    const { stores, namespace } = await fresh();
    const w = stores.store(widgetResource);
    const a = await w.create(admin, { label: 'a', kind: 'k' });
    expect(await w.delete(admin, a.id)).toEqual(a);
    await w.create(admin, { label: 'b', kind: 'k' });
    expect((await keysOf(namespace)).filter((k) => k.includes(':widgets:z:id:'))).toEqual([
      `polystore:{${namespace}}:widgets:z:id:l:*`,
    ]);
    await stores.close();
  });

  it('purges soft-deleted records before a time and leaves no key behind but the applied elements', async () => {
    const { stores, namespace, clock } = await fresh();
    const g = stores.store(gadgetResource);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(
        (
          await g.create(i % 2 ? p1 : p2, {
            name: `n${i}`,
            code: `c${i}`,
            color: i < 5 ? 'red' : null,
            rank: i % 5,
          })
        ).id,
      );
      await g.update(admin, ids[i]!, { size: i, color: 'blue' }).catch(() => undefined);
    }
    for (const id of ids.slice(0, 6)) {
      clock.advance(1000);
      await g.delete(admin, id);
    }
    const cut = new Date(clock.now() - 2500).toISOString();
    expect(await g.purge(admin, { deletedBefore: cut })).toBe(3);
    expect(await g.count(withReadDeleted(admin, 'only'))).toBe(3);
    clock.advance(1);
    for (const id of ids.slice(6)) await g.delete(admin, id);
    expect(await g.purge(admin, { deletedBefore: new Date(clock.now() + 1).toISOString() })).toBe(
      9,
    );
    // Only the applied elements of each opened resource stay (written at open).
    expect(await keysOf(namespace)).toEqual(
      CONTRACT_RESOURCES.map((r) => `polystore:{${namespace}}:${r.plural}:schema`).sort(),
    );
    await stores.close();
  });
});

describe('project partitions', () => {
  it('merges per-project partitions, or reads all projects with a check beyond 16 partitions', async () => {
    const { stores } = await fresh();
    const g = stores.store(gadgetResource);
    const projects = Array.from({ length: 20 }, (_, i) => `proj-${i}`);
    for (let i = 0; i < 60; i++) {
      const ctx = createContext({ projectId: projects[(i * 7) % 20]! });
      const r = await g.create(ctx, { name: `n${(i * 13) % 17}`, size: i % 9 });
      if (i % 4 === 0) await g.delete(ctx, r.id);
    }
    const all = (await g.list(withReadDeleted(admin, 'yes'), { limit: 1000 }))
      .items as unknown as Record<string, unknown>[];
    for (const wanted of [projects.slice(0, 3), projects.slice(0, 8), projects.slice(2, 19)]) {
      for (const rd of ['no', 'yes', 'only'] as const) {
        const ctx = withReadDeleted(admin, rd);
        const where = { projectId: { in: wanted } };
        for (const orderBy of [
          { field: 'name', direction: 'asc' },
          { field: 'size', direction: 'desc' },
        ] as const) {
          const expected = all
            .filter(
              (r) =>
                wanted.includes(r.projectId as string) &&
                (rd === 'yes' || (rd === 'only') === (r.deletedAt !== null)),
            )
            .sort(recordComparator(orderBy));
          const got: unknown[] = [];
          let after: string | null = null;
          do {
            const page = await g.list(ctx, {
              where,
              orderBy,
              limit: 4,
              ...(after ? { after } : {}),
            });
            got.push(...page.items);
            after = page.next;
          } while (after);
          expect(got).toEqual(expected);
          expect(await g.count(ctx, where)).toBe(expected.length);
        }
      }
    }
    await stores.close();
  });
});

describe('version sets', () => {
  it('counts records per object version', async () => {
    const backend = await openRedisBackend(redisUrl(), {
      adapter: { namespace: freshNamespace('redis_versions') },
      resources: CONTRACT_RESOURCES,
    });
    const stores = createStores(backend, { resources: CONTRACT_RESOURCES });
    const g = stores.store(gadgetResource);
    const a = await g.create(p1, {});
    await g.create(p2, {});
    await g.delete(p1, a.id);
    expect(await backend.driver(gadgetResource).versionCounts()).toEqual(new Map([['1.0', 2]]));
    expect(await backend.driver(gadgetResource).countBelowVersion('1.1')).toBe(2);
    expect(await backend.driver(gadgetResource).countBelowVersion('1.0')).toBe(0);
    await g.purge(admin, { deletedBefore: '2999-01-01T00:00:00Z' });
    expect(await backend.driver(gadgetResource).versionCounts()).toEqual(new Map([['1.0', 1]]));
    expect(await backend.driver(widgetResource).versionCounts()).toEqual(new Map());
    await stores.close();
  });
});

describe('scripts with bound field names', () => {
  it('reads fields by any name, quotes, brackets, NUL and non-ASCII included, with nothing of a name run as code', async () => {
    const url = new URL(redisUrl());
    const connection = await RedisConnection.open(redisEndpoint(url), resolveRedisOptions(url));
    try {
      const names = ['id', "it's", ']]..error("x")..[[', 'a\0b', 'é😀', '\\', '10'];
      const base = `${freshNamespace('redis_bound')}:`;
      const values = names.map((_, i) => JSON.stringify(`value ${i}`));
      await raw.hset(`${base}r:one`, ...names.flatMap((n, i) => [n, values[i]!]));
      const get = connection.bind('get', names);
      // The same script and names: one definition, whichever driver asks.
      expect(connection.bind('get', names)).toBe(get);
      expect(await get(`${base}r:one`, [base, 'one', '-'])).toBe(`[${values.join('\n,')}]`);
      expect(await get(`${base}r:none`, [base, 'none', '-'])).toBeNull();
      const fewer = connection.bind('get', ['id', '10']);
      expect(fewer).not.toBe(get);
      expect(await fewer(`${base}r:one`, [base, 'one', '-'])).toBe(`[${values[0]}\n,${values[6]}]`);
    } finally {
      await connection.close();
    }
  });

  it('binds a layout in the write scripts: a call sending "-" writes what one sending the layout writes', async () => {
    const url = new URL(redisUrl());
    const connection = await RedisConnection.open(redisEndpoint(url), resolveRedisOptions(url));
    try {
      const names = ['id', 'projectId', 'name'];
      const shared = new ResourceLayout(
        gadgetResource,
        `${freshNamespace('redis_unbound_layout')}:`,
      );
      const bound = new ResourceLayout(gadgetResource, `${freshNamespace('redis_bound_layout')}:`);
      const insert = connection.bind('insert', names, bound.descriptor);
      expect(connection.bind('insert', names, bound.descriptor)).toBe(insert);
      const plain = connection.bind('insert', names);
      expect(plain).not.toBe(insert);
      const record = {
        id: '00000000-0000-4000-8000-000000000001',
        projectId: 'p1',
        revision: 1,
        createdAt: '2026-05-01T00:00:00.000Z',
        updatedAt: '2026-05-01T00:00:00.000Z',
        deletedAt: null,
        objectVersion: gadgetResource.version,
        ...{ name: 'one', size: 1, seenAt: '2026-05-01T00:00:00.000Z', color: 'red', rank: 1 },
        ...{ active: true, owner: null, code: 'c1', zone: null, slot: null, labels: [] },
        ...{ meta: {}, grid: [], tags: {}, spec: null },
      };
      const args = (l: ResourceLayout, layout: string) => [
        l.base,
        layout,
        record.id,
        ...l.encode(record),
        '',
      ];
      expect(await plain(shared.recordKey(record.id), args(shared, shared.descriptor))).toEqual([
        'ok',
      ]);
      expect(await insert(bound.recordKey(record.id), args(bound, '-'))).toEqual(['ok']);
      // A script with no layout bound refuses '-' in its place, writing nothing.
      await expect(plain(shared.recordKey('x'), args(shared, '-'))).rejects.toThrow(
        /no layout is bound/,
      );
      const keysUnder = async (base: string) =>
        (await raw.keys(`${base}*`)).map((k) => k.slice(base.length)).sort();
      const written = await keysUnder(shared.base);
      // The record, its row, and its entries in the layout's sort, equality and unique indexes.
      expect(written.length).toBeGreaterThan(2 + bound.sortFields.length);
      expect(written.some((k) => k.startsWith('u:'))).toBe(true);
      expect(await keysUnder(bound.base)).toEqual(written);
      // A second insert of the same unique values is refused by the bound layout's constraint.
      const clash = {
        ...record,
        ...{ id: '00000000-0000-4000-8000-000000000002', color: 'blue', rank: 2 },
      };
      expect(
        await insert(bound.recordKey(clash.id), [
          bound.base,
          '-',
          clash.id,
          ...bound.encode(clash),
          '',
        ]),
      ).toEqual(['duplicate', 'code']);
    } finally {
      await connection.close();
    }
  });

  it('refuses to bind names in a script that reads none', async () => {
    const url = new URL(redisUrl());
    const connection = await RedisConnection.open(redisEndpoint(url), resolveRedisOptions(url));
    try {
      expect(() => connection.bind('count', ['id'])).toThrow(ConfigError);
    } finally {
      await connection.close();
    }
  });
});
