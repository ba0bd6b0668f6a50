import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  ManualClock,
  NotFoundError,
  type RequestContext,
  type Stores,
  sequentialIds,
  withReadDeleted,
} from '@polystore/core';
import {
  compareCodePoints,
  createStores,
  matchesWhere,
  normaliseWhere,
  recordComparator,
} from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisBackend, openRedisStores } from '../src/index.js';
import {
  gadgetResource,
  HOSTILE_STRINGS,
  redisUrl,
  TEST_RESOURCES,
  widgetResource,
} from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await raw.quit();
});

async function fresh(): Promise<{ stores: Stores; namespace: string; clock: ManualClock }> {
  const clock = new ManualClock(Date.parse('2026-05-01T00:00:00.000Z'));
  const namespace = freshNamespace('redis_driver');
  const stores = await openRedisStores(redisUrl(), {
    namespace,
    resources: TEST_RESOURCES,
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

describe('records round-trip byte-exact', () => {
  it('keeps hostile strings, extreme ints and nested values exactly', async () => {
    const { stores } = await fresh();
    const g = stores.store(gadgetResource);
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const created = await g.create(p1, {
        name: s,
        size: i % 2 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER,
        code: s.length <= 20 ? s : null,
        tags: [s, s],
        meta: s === '' || s === '__proto__' ? { k: s } : { [s]: s },
      });
      const got = await g.get(p1, created.id);
      expect(got).toEqual(created);
      expect(got.name).toBe(s);
      const [listed] = (await g.list(p1, { where: { name: s } })).items;
      expect(listed).toEqual(created);
      if (s.length <= 20) {
        expect((await g.list(p1, { where: { code: s } })).items.map((r) => r.id)).toEqual([
          created.id,
        ]);
      }
    }
    await stores.close();
  });

  it('stores each field as its JSON text, UTF-8 encoded', async () => {
    const { stores, namespace } = await fresh();
    const g = stores.store(gadgetResource);
    const r = await g.create(p1, { name: '😀"*' });
    const bytes = await raw.hgetBuffer(`polystore:{${namespace}}:gadget:r:${r.id}`, 'name');
    expect(bytes).toEqual(Buffer.from(JSON.stringify('😀"*'), 'utf8'));
    await stores.close();
  });
});

describe('list and count', () => {
  let stores: Stores;
  let all: Record<string, unknown>[];
  const names = ['b', 'a', '', 'B', '😀', '\uffff', 'a', 'ab', 'é', 'Z', 'b', '*'];
  const sizes = [3, -1, 0, 9007199254740991, -9007199254740991, 3, 16, 15, 256, -256, 0, 1];

  beforeAll(async () => {
    ({ stores } = await fresh());
    const g = stores.store(gadgetResource);
    for (let i = 0; i < 23; i++) {
      const ctx = i % 5 === 4 ? p2 : p1;
      await g.create(ctx, {
        name: names[i % names.length]!,
        size: sizes[i % sizes.length]!,
        seenAt: new Date(Date.UTC(2026, 0, 1 + (i % 4))).toISOString(),
        color: ([null, 'red', 'green', 'blue'] as const)[i % 4]!,
        rank: i < 4 ? i : null,
        active: i % 3 === 0,
        code: i % 6 === 0 ? `c${i}` : null,
      });
    }
    // Soft-delete a few, update a few (moves updatedAt and indexes).
    const ids = (await g.list(admin, { limit: 100 })).items.map((r) => r.id);
    for (const id of ids.slice(0, 3)) await g.delete(admin, id);
    for (const id of ids.slice(5, 9)) await g.update(admin, id, { name: 'updated', size: 7 });
    all = [...(await g.list(withReadDeleted(admin, 'yes'), { limit: 1000 })).items] as never;
    expect(all).toHaveLength(23);
  });
  afterAll(async () => {
    await stores.close();
  });

  function visible(ctx: RequestContext): Record<string, unknown>[] {
    return all.filter(
      (r) =>
        (ctx.isAdmin || r.projectId === ctx.projectId) &&
        (ctx.readDeleted === 'yes' || (ctx.readDeleted === 'only') === (r.deletedAt !== null)),
    );
  }

  async function pageThrough(ctx: RequestContext, options: Record<string, unknown>, limit: number) {
    const g = stores.store(gadgetResource);
    const out: unknown[] = [];
    let after: string | null = null;
    for (let i = 0; i < 200; i++) {
      const page = await g.list(ctx, { ...options, limit, ...(after ? { after } : {}) } as never);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      out.push(...page.items);
      if (page.next === null) return out;
      expect(page.items).toHaveLength(limit);
      after = page.next;
    }
    throw new Error('no end');
  }

  const orders = ['id', 'name', 'size', 'seenAt', 'createdAt', 'updatedAt'];
  for (const field of orders) {
    for (const direction of ['asc', 'desc'] as const) {
      it(`pages through every row exactly once by ${field} ${direction}, with limits 1, 2, 5, 23, 50`, async () => {
        for (const ctx of [admin, p1, withReadDeleted(admin, 'yes'), withReadDeleted(p1, 'only')]) {
          const expected = visible(ctx).sort(recordComparator({ field, direction }));
          for (const limit of [1, 2, 5, 23, 50]) {
            expect(await pageThrough(ctx, { orderBy: { field, direction } }, limit)).toEqual(
              expected,
            );
          }
        }
      });
    }
  }

  const wheres: Record<string, unknown>[] = [
    { name: 'a' },
    { name: { in: ['a', '😀', 'nope'] } },
    { name: { gt: 'a' } },
    { name: { gte: 'a', lt: 'b' } },
    { name: { lte: '\uffff' } },
    { name: { gt: '\uffff' } },
    { size: { gt: 0 } },
    { size: { gte: -256, lte: 16 } },
    { size: { lt: -1 } },
    { size: 3 },
    { size: { in: [3, 9007199254740991] } },
    { seenAt: { gte: '2026-01-02T00:00:00.000Z' } },
    { seenAt: { lt: '2026-01-03T00:00:00.000Z' }, name: { gte: 'a' } },
    { createdAt: { gt: '2026-05-01T00:00:00.000Z' } },
    { id: { lte: '00000000-0000-7000-8000-00000000000a' } },
    { color: null },
    { color: 'red' },
    { color: { in: ['red', null] } },
    { color: { eq: 'blue' } },
    { rank: { in: [0, 2] } },
    { rank: null },
    { active: true },
    { active: false, color: { in: ['green', 'blue'] } },
    { code: { in: ['c0', 'c12', null] } },
    { projectId: 'p2' },
    { projectId: { in: ['p1', 'p2'] }, color: 'red' },
    { projectId: null },
    { active: true, size: { gte: 0 }, name: { lt: 'b' } },
  ];
  for (const where of wheres) {
    it(`filters with ${JSON.stringify(where)} in list (paged) and count`, async () => {
      const g = stores.store(gadgetResource);
      const predicates = normaliseWhere(gadgetResource, where);
      for (const ctx of [
        admin,
        p1,
        p2,
        withReadDeleted(admin, 'yes'),
        withReadDeleted(p1, 'only'),
      ]) {
        for (const [field, direction] of [
          ['id', 'asc'],
          ['name', 'desc'],
          ['size', 'asc'],
        ] as const) {
          const expected = visible(ctx)
            .filter((r) => matchesWhere(r, predicates))
            .sort(recordComparator({ field, direction }));
          expect(await pageThrough(ctx, { where, orderBy: { field, direction } }, 3)).toEqual(
            expected,
          );
          expect(await g.count(ctx, where as never)).toBe(expected.length);
        }
      }
    });
  }

  it('orders strings by code point, not by UTF-16 unit', async () => {
    const g = stores.store(gadgetResource);
    const got = (await g.list(admin, { orderBy: { field: 'name' }, limit: 100 })).items.map(
      (r) => r.name,
    );
    expect(got).toEqual([...got].sort(compareCodePoints));
    expect(got.indexOf('😀')).toBeGreaterThan(got.indexOf('\uffff'));
  });
});

describe('many projects', () => {
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

describe('writes', () => {
  it('checks revision and expected values atomically and reports the current revision', async () => {
    const { stores } = await fresh();
    const vm = await stores.instances.create(p1, { flavor });
    const a = await stores.instances.update(
      p1,
      vm.id,
      { taskState: 'spawning' },
      { expected: { taskState: [null] } },
    );
    expect(a.revision).toBe(2);
    await expect(
      stores.instances.update(
        p1,
        vm.id,
        { taskState: 'deleting' },
        { expected: { taskState: [null, 'scheduling'] } },
      ),
    ).rejects.toMatchObject({ reason: 'expected', field: 'taskState', currentRevision: 2 });
    await expect(
      stores.instances.update(p1, vm.id, { host: 'h' }, { expectedRevision: 1 }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(stores.instances.delete(p1, vm.id, { expectedRevision: 1 })).rejects.toMatchObject(
      {
        reason: 'revision',
        currentRevision: 2,
      },
    );
    const b = await stores.instances.update(
      p1,
      vm.id,
      { host: 'h' },
      { expectedRevision: 2, expected: { taskState: ['spawning'] } },
    );
    expect(b).toMatchObject({ revision: 3, host: 'h', taskState: 'spawning' });
    await stores.close();
  });

  it('keeps unique values among live records only; null never conflicts; a taken id is a duplicate', async () => {
    const { stores } = await fresh();
    const g = stores.store(gadgetResource);
    const a = await g.create(p1, { code: 'x', color: 'red', rank: 1 });
    await expect(g.create(p2, { code: 'x' })).rejects.toMatchObject({ fields: ['code'] });
    await expect(g.create(p1, { color: 'red', rank: 1 })).rejects.toMatchObject({
      fields: ['color', 'rank'],
    });
    await g.create(p1, { color: 'red', rank: null });
    await g.create(p1, { color: 'red', rank: null });
    await g.create(p1, { code: null });
    const b = await g.create(p1, { code: 'y' });
    await expect(g.update(p1, b.id, { code: 'x' })).rejects.toBeInstanceOf(DuplicateError);
    expect((await g.get(p1, b.id)).code).toBe('y');
    await g.delete(p1, a.id);
    await g.update(p1, b.id, { code: 'x' });
    await g.create(p1, { code: 'y', color: 'red', rank: 1 });
    await expect(g.create(p1, { id: a.id })).rejects.toMatchObject({ fields: ['id'] });
    await stores.close();
  });

  it('writes only live records of the write scope', async () => {
    const { stores } = await fresh();
    const vm = await stores.instances.create(p1, { flavor });
    await expect(stores.instances.update(p2, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stores.instances.delete(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stores.instances.get(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await stores.instances.getMany(p2, [vm.id])).toEqual([]);
    const gone = await stores.instances.delete(admin, vm.id);
    expect(gone.deletedAt).not.toBeNull();
    await expect(stores.instances.update(admin, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stores.instances.get(p1, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await stores.instances.get(withReadDeleted(p1, 'only'), vm.id)).toEqual(gone);
    expect(await stores.instances.getMany(withReadDeleted(p1, 'yes'), [vm.id, vm.id])).toEqual([
      gone,
    ]);
    await stores.close();
  });

  it('shares admin-made networks read-only with every project', async () => {
    const { stores } = await fresh();
    const shared = await stores.networks.create(admin, {
      label: 's',
      cidr: '10.9.0.0/24',
      projectId: null,
    });
    const own = await stores.networks.create(p1, { label: 'o', cidr: '10.8.0.0/24' });
    expect((await stores.networks.list(p1)).items.map((n) => n.id).sort()).toEqual(
      [shared.id, own.id].sort(),
    );
    expect((await stores.networks.list(p2)).items.map((n) => n.id)).toEqual([shared.id]);
    expect(await stores.networks.count(p2, { projectId: null })).toBe(1);
    expect(await stores.networks.count(p2, { projectId: 'p1' })).toBe(0);
    await expect(stores.networks.update(p1, shared.id, { label: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await stores.close();
  });

  it('hard-deletes records of resources without soft delete; global resources have one partition', async () => {
    const { stores, namespace } = await fresh();
    const w = stores.store(widgetResource);
    const a = await w.create(admin, { label: 'a', kind: 'k' });
    expect((await w.list(p1)).items).toEqual([a]);
    expect(await w.delete(admin, a.id)).toEqual(a);
    expect(await w.count(withReadDeleted(admin, 'yes'))).toBe(0);
    expect(await w.count(withReadDeleted(admin, 'only'))).toBe(0);
    await w.create(admin, { label: 'b', kind: 'k' });
    expect((await keysOf(namespace)).filter((k) => k.includes(':widget:z:id:'))).toEqual([
      `polystore:{${namespace}}:widget:z:id:l:*`,
    ]);
    await stores.close();
  });

  it('purges soft-deleted records before a time and leaves no key behind', async () => {
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
    expect(await keysOf(namespace)).toEqual([]);
    await stores.close();
  });

  it('counts records per object version from the version sets', async () => {
    const backend = await openRedisBackend(redisUrl(), {
      namespace: freshNamespace('redis_versions'),
      resources: TEST_RESOURCES,
    });
    const stores = createStores(backend, { resources: TEST_RESOURCES });
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
