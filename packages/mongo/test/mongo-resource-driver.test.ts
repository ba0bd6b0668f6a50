import {
  adminContext,
  createContext,
  defineResource,
  f,
  type RequestContext,
  type Stores,
  withReadDeleted,
} from '@polystore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPair, type Pair, sameError } from './pair.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 2, memoryMb: 2048, rootGb: 20 };

/** A resource exercising what the built-ins do not: nested lists, nested dicts, a nullable unique pair. */
const gadget = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: {
    name: f.string().sortable(),
    rank: f.int().sortable().default(0),
    zone: f.string().nullable().indexed(),
    slot: f.int().nullable().indexed(),
    on: f.bool().indexed().default(false),
    grid: f.list(f.list(f.int())).default([]),
    tags: f.dict(f.dict(f.string())).default({}),
    spec: f.object({ path: f.list(f.string()), extra: f.dict(f.int()) }).nullable(),
  },
  unique: [['zone', 'slot']],
});

/** Strings that must sort by code point: non-BMP characters sort after U+E000..U+FFFF. */
const AWKWARD = [
  '',
  'a',
  'B',
  'b',
  'é',
  '\uD7FF',
  '\uE000',
  '\uFFFD',
  '\uFFFF',
  '😀',
  '𐀀',
  'a😀',
  'a\uFFFF',
  'zz',
];
/** Hostile values: they must be stored and matched as plain data. */
const HOSTILE = [
  '{"$gt": ""}',
  '$gt',
  '$where',
  '$ne',
  '.',
  'a.b',
  '$',
  '%24gt',
  '%',
  "'; DROP TABLE x; --",
  '\\',
  '\u0001',
];

let pair: Pair;

beforeAll(async () => {
  pair = await openPair([gadget]);
});

afterAll(async () => {
  await pair?.close();
});

const gadgets = (s: Stores) => s.store(gadget);

/** Every record of a list, page by page; checks each page against the memory model. */
async function pageAll(
  ctx: RequestContext,
  options: {
    where?: Record<string, unknown>;
    orderBy?: { field: string; direction?: 'asc' | 'desc' };
    limit: number;
  },
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await pair.same((s) => gadgets(s).list(ctx, { ...options, after } as never));
    ids.push(...page.items.map((r) => r.id));
    if (page.next === null) return ids;
    after = page.next;
  }
}

describe('create, get, getMany', () => {
  it('stores every field and reads it back deep-equal to the memory model', async () => {
    const vm = await pair.same((s) =>
      s.instances.create(p1, { displayName: 'web', flavor, metadata: { role: 'db' } }),
    );
    expect(vm.metadata).toEqual({ role: 'db' });
    await pair.same((s) => s.instances.get(p1, vm.id));
    await pair.same((s) =>
      s.instances.getMany(p1, [vm.id, '00000000-0000-7000-8000-0000000fffff']),
    );
  });

  it('refuses a taken id, even of a deleted record', async () => {
    const g = await pair.same((s) => gadgets(s).create(p1, { name: 'dup-id' }));
    expect(
      await sameError(pair, (s) => gadgets(s).create(p1, { id: g.id, name: 'x' })),
    ).toMatchObject({
      name: 'DuplicateError',
      fields: ['id'],
    });
    await pair.same((s) => gadgets(s).delete(p1, g.id));
    expect(
      await sameError(pair, (s) => gadgets(s).create(p1, { id: g.id, name: 'y' })),
    ).toMatchObject({
      fields: ['id'],
    });
  });

  it('round-trips dict keys with $, . and % and nested lists byte-exact', async () => {
    const keys = [
      '$gt',
      '$',
      'a.b',
      '.',
      '..$..',
      '%',
      '%24',
      '%2E',
      '%25',
      '%a',
      '_id',
      'constructor',
      '😀.$',
    ];
    const tags = Object.fromEntries(keys.map((k, i) => [k, { [k]: `v${i}`, [`$${k}`]: k }]));
    const grid = [[1, 2], [], [3, -4, 9007199254740991]];
    const spec = { path: ['$set', 'a.b'], extra: { $inc: 1, 'x.y': 2 } };
    const g = await pair.same((s) => gadgets(s).create(p1, { name: 'keys', tags, grid, spec }));
    expect(g.tags).toEqual(tags);
    // Byte-exact in the one key order of dicts on every backend: code point order, at
    // every depth (UTF-8 byte order is code point order).
    const inCodePointOrder = (v: unknown): unknown =>
      typeof v !== 'object' || v === null || Array.isArray(v)
        ? v
        : Object.fromEntries(
            Object.keys(v)
              .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
              .map((k) => [k, inCodePointOrder((v as Record<string, unknown>)[k])]),
          );
    expect(JSON.stringify(g.tags)).toBe(JSON.stringify(inCodePointOrder(tags)));
    expect(g.grid).toEqual(grid);
    const got = await pair.same((s) => gadgets(s).get(p1, g.id));
    expect(JSON.stringify(got)).toBe(JSON.stringify(g));
    const updated = await pair.same((s) =>
      gadgets(s).update(p1, g.id, { tags: { $unset: { 'a.b': '$x' } }, grid: [[0]] }),
    );
    expect(updated.tags).toEqual({ $unset: { 'a.b': '$x' } });
    expect(updated.grid).toEqual([[0]]);
  });

  it('stores operator-looking strings as data and matches them literally', async () => {
    for (const [i, value] of HOSTILE.entries()) {
      await pair.same((s) => gadgets(s).create(p1, { name: value, zone: value, slot: 1000 + i }));
    }
    for (const value of HOSTILE) {
      const page = await pair.same((s) =>
        gadgets(s).list(p1, { where: { zone: value }, limit: 100 }),
      );
      expect(page.items.map((r) => r.zone)).toEqual([value]);
      await pair.same((s) => gadgets(s).count(p1, { name: { gte: value } }));
      await pair.same((s) => gadgets(s).list(p1, { where: { name: { in: [value, 'nothing'] } } }));
    }
    const g = await pair.same((s) => gadgets(s).list(p1, { where: { zone: '$gt' } }));
    await pair.same((s) =>
      gadgets(s).update(
        p1,
        g.items[0]!.id,
        { name: '{"$ne": null}' },
        { expected: { zone: '$gt' } },
      ),
    );
  });
});

describe('list and count', () => {
  beforeAll(async () => {
    // Records of another project and deleted ones, which no p1 read may see.
    for (const [i, name] of AWKWARD.entries()) {
      const on = i % 3 === 0;
      await pair.same((s) => gadgets(s).create(p1, { name, rank: i % 4, on, zone: `z${i % 2}` }));
      await pair.same((s) => gadgets(s).create(p1, { name, rank: (i * 7) % 5, zone: null }));
      await pair.same((s) => gadgets(s).create(p2, { name, rank: i }));
    }
    const page = await pair.same((s) => gadgets(s).list(p1, { where: { rank: 3 }, limit: 2 }));
    for (const r of page.items) await pair.same((s) => gadgets(s).delete(p1, r.id));
  });

  it('pages through every row exactly once with several limits and orders', async () => {
    const orders = [
      undefined,
      { field: 'name' },
      { field: 'name', direction: 'desc' as const },
      { field: 'rank' },
      { field: 'rank', direction: 'desc' as const },
      { field: 'createdAt', direction: 'desc' as const },
      { field: 'id', direction: 'desc' as const },
    ];
    const all = await pageAll(p1, { limit: 1000 });
    for (const [i, orderBy] of orders.entries()) {
      for (const limit of i === 1 ? [1, 2, 3, 7, 50] : [2, 7, 50]) {
        const ids = await pageAll(p1, { orderBy, limit });
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual([...all].sort());
      }
    }
  });

  it('orders strings by code point, non-BMP after U+FFFF', async () => {
    const page = await pair.same((s) =>
      gadgets(s).list(p1, { where: { zone: 'z0' }, orderBy: { field: 'name' }, limit: 1000 }),
    );
    const names = page.items.map((r) => r.name);
    const byCodePoint = [...names].sort((a, b) => {
      const x = [...a].map((c) => c.codePointAt(0)!);
      const y = [...b].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++)
        if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    });
    expect(names).toEqual(byCodePoint);
    expect(names.indexOf('\uFFFF')).toBeLessThan(names.indexOf('𐀀'));
    await pair.same((s) =>
      gadgets(s).list(p1, { where: { name: { gt: '\uFFFF' } }, orderBy: { field: 'name' } }),
    );
    await pair.same((s) => gadgets(s).list(p1, { where: { name: { lt: '😀', gte: '\uE000' } } }));
  });

  it('applies every where operator like the memory model', async () => {
    const wheres: Record<string, unknown>[] = [
      { rank: 2 },
      { rank: { eq: 2 } },
      { rank: { in: [0, 3] } },
      { rank: { gt: 1 } },
      { rank: { gte: 1, lt: 3 } },
      { rank: { lte: 0 } },
      { name: { gt: 'a', lte: 'é' } },
      { zone: null },
      { zone: { in: [null, 'z1'] } },
      { zone: { eq: null } },
      { on: true },
      { on: false, zone: 'z0' },
      { slot: null, rank: { in: [] } },
      { id: { gt: '00000000-0000-7000-8000-000000000030' } },
      { createdAt: { gte: '2026-01-01T00:00:00.040Z' } },
      { projectId: 'p1' },
    ];
    for (const where of wheres) {
      await pair.same((s) => gadgets(s).list(p1, { where: where as never, limit: 1000 }));
      await pair.same((s) => gadgets(s).count(p1, where as never));
      await pair.same((s) =>
        gadgets(s).list(p1, {
          where: where as never,
          orderBy: { field: 'rank', direction: 'desc' },
          limit: 4,
        }),
      );
    }
  });

  it('honours readDeleted and project scoping in get, getMany, list and count', async () => {
    const ids = (await pair.same((s) => gadgets(s).list(admin, { limit: 1000 }))).items.map(
      (r) => r.id,
    );
    for (const ctx of [p1, p2, admin]) {
      for (const mode of ['no', 'yes', 'only'] as const) {
        const c = withReadDeleted(ctx, mode);
        await pair.same((s) => gadgets(s).count(c));
        await pair.same((s) => gadgets(s).list(c, { limit: 1000 }));
        await pair.same((s) => gadgets(s).getMany(c, ids.slice(0, 40)));
      }
    }
    await pair.same((s) => gadgets(s).list(admin, { where: { projectId: 'p2' }, limit: 1000 }));
  });

  it('purges soft-deleted records before a time', async () => {
    await pair.same((s) => gadgets(s).purge(admin, { deletedBefore: '2000-01-01T00:00:00Z' }));
    await pair.same((s) => gadgets(s).purge(admin, { deletedBefore: '2030-01-01T00:00:00Z' }));
    await pair.same((s) => gadgets(s).count(withReadDeleted(admin, 'only')));
  });
});

describe('update and delete', () => {
  it('increments revision, applies expected values and reports conflicts', async () => {
    const vm = await pair.same((s) => s.instances.create(p1, { flavor, displayName: 'c' }));
    await pair.same((s) =>
      s.instances.update(p1, vm.id, { taskState: 'spawning' }, { expected: { taskState: [null] } }),
    );
    expect(
      await sameError(pair, (s) =>
        s.instances.update(
          p1,
          vm.id,
          { taskState: 'deleting' },
          { expected: { taskState: [null] } },
        ),
      ),
    ).toMatchObject({
      name: 'ConflictError',
      reason: 'expected',
      field: 'taskState',
      currentRevision: 2,
    });
    expect(
      await sameError(pair, (s) =>
        s.instances.update(p1, vm.id, { displayName: 'x' }, { expectedRevision: 1 }),
      ),
    ).toMatchObject({ name: 'ConflictError', reason: 'revision', currentRevision: 2 });
    await pair.same((s) =>
      s.instances.update(
        p1,
        vm.id,
        { vmState: 'active', taskState: null },
        {
          expectedRevision: 2,
          expected: { taskState: ['spawning', 'networking'], vmState: 'building' },
        },
      ),
    );
    expect(
      await sameError(pair, (s) => s.instances.delete(p1, vm.id, { expectedRevision: 2 })),
    ).toMatchObject({
      name: 'ConflictError',
      currentRevision: 3,
    });
    const gone = await pair.same((s) => s.instances.delete(p1, vm.id, { expectedRevision: 3 }));
    expect(gone.deletedAt).not.toBeNull();
    expect(
      await sameError(pair, (s) => s.instances.update(p1, vm.id, { displayName: 'late' })),
    ).toMatchObject({
      name: 'NotFoundError',
    });
    expect(await sameError(pair, (s) => s.instances.delete(p1, vm.id))).toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('never touches another project and hard-deletes where there is no soft delete', async () => {
    const vm = await pair.same((s) => s.instances.create(p1, { flavor }));
    expect(
      await sameError(pair, (s) => s.instances.update(p2, vm.id, { displayName: 'x' })),
    ).toMatchObject({ name: 'NotFoundError' });
    expect(await sameError(pair, (s) => s.instances.delete(p2, vm.id))).toMatchObject({
      name: 'NotFoundError',
    });
    expect(await sameError(pair, (s) => s.instances.get(p2, vm.id))).toMatchObject({
      name: 'NotFoundError',
    });
    await pair.same((s) => s.instances.update(admin, vm.id, { host: 'h1' }));
    const shared = await pair.same((s) =>
      s.networks.create(admin, { label: 'shared', cidr: '10.9.0.0/24', projectId: null }),
    );
    await pair.same((s) => s.networks.get(p2, shared.id));
    expect(
      await sameError(pair, (s) => s.networks.update(p2, shared.id, { label: 'mine' })),
    ).toMatchObject({ name: 'NotFoundError' });
    const svc = await pair.same((s) =>
      s.services.create(admin, {
        host: 'h',
        binary: 'compute',
        codeVersion: 1,
        lastSeenAt: '2026-01-01T00:00:00Z',
      }),
    );
    await pair.same((s) => s.services.get(p1, svc.id));
    const ip = await pair.same((s) =>
      s.fixedIps.allocate(p1, { networkId: shared.id, instanceId: vm.id }),
    );
    await pair.same((s) => s.fixedIps.release(p1, ip.id));
    await pair.same((s) => s.fixedIps.count(withReadDeleted(admin, 'yes')));
  });
});

describe('unique constraints among live records', () => {
  it('holds a single nullable field unique (network vlan) and frees it on delete', async () => {
    const a = await pair.same((s) =>
      s.networks.create(p1, { label: 'a', cidr: '10.1.0.0/24', vlan: 7 }),
    );
    expect(
      await sameError(pair, (s) =>
        s.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 7 }),
      ),
    ).toMatchObject({
      name: 'DuplicateError',
      fields: ['vlan'],
    });
    const n1 = await pair.same((s) => s.networks.create(p1, { label: 'n1', cidr: '10.3.0.0/24' }));
    const n2 = await pair.same((s) =>
      s.networks.create(p1, { label: 'n2', cidr: '10.4.0.0/24', vlan: null }),
    );
    expect(await sameError(pair, (s) => s.networks.update(p1, n1.id, { vlan: 7 }))).toMatchObject({
      fields: ['vlan'],
    });
    await pair.same((s) => s.networks.update(p1, a.id, { vlan: null }));
    await pair.same((s) => s.networks.update(p1, n1.id, { vlan: 7 }));
    await pair.same((s) => s.networks.delete(p1, n1.id));
    await pair.same((s) => s.networks.update(p1, n2.id, { vlan: 7 }));
    await pair.same((s) => s.networks.create(p1, { label: 'c', cidr: '10.5.0.0/24', vlan: 8 }));
    await pair.same((s) => s.networks.list(withReadDeleted(admin, 'yes'), { where: { vlan: 7 } }));
  });

  it('holds a pair unique only when both fields are set (gadget zone, slot)', async () => {
    await pair.same((s) => gadgets(s).create(p1, { name: 'u1', zone: 'r', slot: 1 }));
    expect(
      await sameError(pair, (s) => gadgets(s).create(p2, { name: 'u2', zone: 'r', slot: 1 })),
    ).toMatchObject({
      fields: ['zone', 'slot'],
    });
    await pair.same((s) => gadgets(s).create(p1, { name: 'u3', zone: 'r', slot: null }));
    const u4 = await pair.same((s) => gadgets(s).create(p1, { name: 'u4', zone: 'r', slot: null }));
    await pair.same((s) => gadgets(s).create(p1, { name: 'u5', zone: null, slot: 1 }));
    await pair.same((s) => gadgets(s).create(p1, { name: 'u6', zone: null, slot: 1 }));
    expect(await sameError(pair, (s) => gadgets(s).update(p1, u4.id, { slot: 1 }))).toMatchObject({
      fields: ['zone', 'slot'],
    });
    await pair.same((s) => gadgets(s).update(p1, u4.id, { slot: 2 }));
    await pair.same((s) => gadgets(s).update(p1, u4.id, { zone: null }));
    await pair.same((s) => gadgets(s).update(p1, u4.id, { zone: 'r' }));
  });

  it('holds service (host, binary) unique and reuses it after delete', async () => {
    const at = '2026-01-01T00:00:00Z';
    const s1 = await pair.same((s) =>
      s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 1, lastSeenAt: at }),
    );
    expect(
      await sameError(pair, (s) =>
        s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 2, lastSeenAt: at }),
      ),
    ).toMatchObject({ fields: ['host', 'binary'] });
    await pair.same((s) =>
      s.services.create(admin, { host: 'x', binary: 'conductor', codeVersion: 2, lastSeenAt: at }),
    );
    await pair.same((s) => s.services.delete(admin, s1.id));
    await pair.same((s) =>
      s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 3, lastSeenAt: at }),
    );
    await pair.same((s) =>
      s.services.heartbeat(admin, { host: 'x', binary: 'api', codeVersion: 4 }),
    );
    await pair.same((s) => s.services.minimumVersion(p1, 'api'));
  });
});
