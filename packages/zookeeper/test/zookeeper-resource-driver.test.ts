import {
  adminContext,
  type Clock,
  ConfigError,
  ConflictError,
  createContext,
  DuplicateError,
  defineResource,
  ForbiddenError,
  f,
  fixedIpResource,
  InvalidInputError,
  migrationResource,
  NotFoundError,
  openStores,
  type RequestContext,
  type Stores,
  sequentialIds,
  withReadDeleted,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { openFresh } from './zookeeper-fixture.js';

/** A resource with one large field, to cross the record size limit on update. */
const blobResource = defineResource({
  name: 'blob',
  plural: 'blobs',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    tag: f.string({ max: 300 }).nullable().indexed(),
    body: f.string({ max: 400_000 }).default(''),
  },
});

const HOSTILE = [
  '/',
  '.',
  '..',
  '../..',
  'a/b/../c',
  '/zookeeper/quota',
  '\u0001\u001f\u007f\u0085',
  'é e\u0301 ß',
  '😀 non-BMP 𝄞',
  '\uffff\ufff0\ue000',
  "'; DROP TABLE x; --",
  '{"$gt": ""}',
  'x'.repeat(255),
  '😀'.repeat(255),
];

function counterClock(): Clock {
  let t = Date.parse('2026-01-01T00:00:00.000Z');
  return { now: () => (t += 1000) };
}

let zk: ZooKeeperServer;
const opened: Stores[] = [];

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await zk?.stop();
});

async function fresh(
  extra: Parameters<typeof openFresh>[1] = {},
): Promise<{ stores: Stores; backend: ZooKeeperBackend; chroot: string }> {
  const out = await openFresh(zk.url, extra);
  opened.push(out.stores);
  return out;
}

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2', userId: 'u2' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

it("opens through core's registry by URL, with adapter options", async () => {
  const stores = await openStores(`${zk.url}/registry_test`, {
    adapter: { requestTimeoutMs: 3_000 },
  });
  opened.push(stores);
  expect(stores.backend).toBe('zookeeper');
  expect(stores.capabilities).toMatchObject({
    reads: 'sequential',
    serverSideQueries: false,
    maxRecordBytes: 262_144,
  });
  const vm = await stores.instances.create(p1, { flavor });
  expect(await stores.instances.get(p1, vm.id)).toEqual(vm);
  await expect(
    openStores(`${zk.url}/registry_test`, { adapter: { requestTimeoutMs: -1 } }),
  ).rejects.toBeInstanceOf(ConfigError);
});

describe('records against the memory reference model', () => {
  let zs: Stores;
  let ms: Stores;

  beforeAll(async () => {
    const options = { clock: counterClock(), ids: sequentialIds() };
    zs = (await fresh(options)).stores;
    ms = openMemoryStores({ clock: counterClock(), ids: sequentialIds() });
    // The same writes on both: equal state must give deep-equal records.
    const both = async <T>(run: (s: Stores) => Promise<T>): Promise<[T, T]> => {
      const a = await run(zs);
      const b = await run(ms);
      expect(a).toEqual(b);
      return [a, b];
    };
    const names = ['b', 'a', 'B', 'é', '😀', 'z', '', 'a', ...HOSTILE];
    for (let i = 0; i < names.length; i++) {
      const ctx = i % 3 === 0 ? p2 : p1;
      const [vm] = await both((s) =>
        s.instances.create(ctx, {
          displayName: names[i]!,
          host: i % 4 === 0 ? null : (HOSTILE[i % HOSTILE.length] ?? null),
          vmState: i % 2 === 0 ? 'active' : 'stopped',
          taskState: i % 5 === 0 ? 'spawning' : null,
          flavor,
          metadata: { n: String(i) },
        }),
      );
      if (i % 7 === 3) await both((s) => s.instances.delete(ctx, vm.id));
      else if (i % 6 === 1)
        await both((s) => s.instances.update(ctx, vm.id, { vmState: 'paused' }));
    }
  });

  const contexts: [string, RequestContext][] = [
    ['p1', p1],
    ['p2', p2],
    ['admin', admin],
    ['p1 readDeleted yes', withReadDeleted(p1, 'yes')],
    ['admin readDeleted only', withReadDeleted(admin, 'only')],
  ];
  const queries = [
    {},
    { orderBy: { field: 'displayName' } },
    { orderBy: { field: 'displayName', direction: 'desc' } },
    { orderBy: { field: 'id', direction: 'desc' } },
    { orderBy: { field: 'createdAt' } },
    { orderBy: { field: 'updatedAt', direction: 'desc' } },
    { where: { vmState: 'active' } },
    { where: { vmState: { in: ['active', 'paused'] } }, orderBy: { field: 'displayName' } },
    { where: { host: null } },
    { where: { host: { in: [null, '/', '..'] } } },
    { where: { host: '😀'.repeat(255) } },
    { where: { host: 'x'.repeat(255) } },
    { where: { taskState: 'spawning', vmState: 'active' } },
    { where: { displayName: { gte: 'B', lt: 'z' } }, orderBy: { field: 'displayName' } },
    { where: { displayName: { gt: 'a' } }, orderBy: { field: 'displayName', direction: 'desc' } },
    { where: { displayName: { lte: 'a' } } },
    { where: { projectId: 'p2' } },
    {
      where: { projectId: { in: ['p1', 'p2'] } },
      orderBy: { field: 'createdAt', direction: 'desc' },
    },
    { where: { id: '00000000-0000-7000-8000-000000000003' } },
    {
      where: {
        id: {
          in: ['00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000004'],
        },
      },
    },
    { where: { createdAt: { gt: '2026-01-01T00:00:05.000Z' } }, orderBy: { field: 'createdAt' } },
  ] as const;

  it('pages through every query with several limits, like the model', async () => {
    for (const [, ctx] of contexts) {
      for (const q of queries) {
        const all = await ms.instances.list(ctx, { ...q, limit: 1000 } as never);
        expect((await zs.instances.list(ctx, { ...q, limit: 1000 } as never)).items).toEqual(
          all.items,
        );
        expect(await zs.instances.count(ctx, (q as { where?: object }).where as never)).toBe(
          all.items.length,
        );
        for (const limit of [1, 2, 3, 7]) {
          const seen: unknown[] = [];
          let after: string | null = null;
          for (let page = 0; page < 100; page++) {
            const got = await zs.instances.list(ctx, { ...q, limit, after } as never);
            const want = await ms.instances.list(ctx, { ...q, limit, after } as never);
            expect(got).toEqual(want);
            seen.push(...got.items);
            after = got.next;
            if (after === null) break;
          }
          expect(seen).toEqual(all.items);
        }
      }
    }
  });

  it('get and getMany honour scope and readDeleted like the model', async () => {
    const everything = (await ms.instances.list(withReadDeleted(admin, 'yes'), { limit: 1000 }))
      .items;
    const ids = everything.map((r) => r.id);
    for (const [, ctx] of contexts) {
      expect(await zs.instances.getMany(ctx, ids)).toEqual(await ms.instances.getMany(ctx, ids));
      for (const id of ids) {
        const want = await ms.instances.get(ctx, id).catch((e: unknown) => e);
        const got = await zs.instances.get(ctx, id).catch((e: unknown) => e);
        expect(got).toEqual(want);
      }
    }
  });
});

describe('writes', () => {
  let stores: Stores;
  let chroot: string;
  beforeAll(async () => {
    ({ stores, chroot } = await fresh({ resources: [blobResource] }));
  });

  it('round-trips hostile strings in indexed and plain fields', async () => {
    for (const s of HOSTILE) {
      const vm = await stores.instances.create(p1, {
        displayName: s,
        host: s,
        flavor,
        metadata: { [s.slice(0, 60) || 'k']: s },
      });
      expect(await stores.instances.get(p1, vm.id)).toEqual(vm);
      const found = await stores.instances.list(p1, { where: { host: s } });
      expect(found.items.map((r) => r.id)).toEqual([vm.id]);
      expect(found.items[0]!.displayName).toBe(s);
    }
  });

  it('refuses a duplicate id, even of a deleted record', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await expect(stores.instances.create(p1, { id: vm.id, flavor })).rejects.toEqual(
      new DuplicateError('instance', ['id']),
    );
    await stores.instances.delete(p1, vm.id);
    await expect(stores.instances.create(p1, { id: vm.id, flavor })).rejects.toBeInstanceOf(
      DuplicateError,
    );
  });

  it('holds unique constraints among live records only', async () => {
    const a = await stores.networks.create(p1, { label: 'a', cidr: '10.1.0.0/24', vlan: 100 });
    await expect(
      stores.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 100 }),
    ).rejects.toEqual(new DuplicateError('network', ['vlan']));
    // null never conflicts
    await stores.networks.create(p1, { label: 'n1', cidr: '10.3.0.0/24' });
    await stores.networks.create(p1, { label: 'n2', cidr: '10.4.0.0/24' });
    const b = await stores.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 101 });
    await expect(stores.networks.update(p2, b.id, { vlan: 100 })).rejects.toBeInstanceOf(
      DuplicateError,
    );
    expect(
      (await stores.networks.update(p1, a.id, { vlan: 100, label: 'same vlan' })).revision,
    ).toBe(2);
    await stores.networks.delete(p1, a.id);
    expect((await stores.networks.update(p2, b.id, { vlan: 100 })).vlan).toBe(100);
    // the value moved: 101 is free again
    expect(
      (await stores.networks.create(p1, { label: 'c', cidr: '10.5.0.0/24', vlan: 101 })).vlan,
    ).toBe(101);
    const moved = await stores.networks.update(p2, b.id, { vlan: null });
    expect(moved.vlan).toBeNull();
    expect(
      (await stores.networks.create(p1, { label: 'd', cidr: '10.6.0.0/24', vlan: 100 })).vlan,
    ).toBe(100);
  });

  it('applies revision and expected-value conditions atomically', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    const v2 = await stores.instances.update(
      p1,
      vm.id,
      { taskState: 'spawning' },
      { expected: { taskState: [null] } },
    );
    expect(v2).toMatchObject({ revision: 2, taskState: 'spawning' });
    const stale = await stores.instances
      .update(p1, vm.id, { taskState: null }, { expectedRevision: 1 })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConflictError);
    expect(stale).toMatchObject({ reason: 'revision', currentRevision: 2 });
    const wrong = await stores.instances
      .update(p1, vm.id, { taskState: null }, { expected: { taskState: [null, 'deleting'] } })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ reason: 'expected', field: 'taskState', currentRevision: 2 });
    const v3 = await stores.instances.update(
      p1,
      vm.id,
      { vmState: 'active' },
      { expectedRevision: 2, expected: { taskState: ['spawning'] } },
    );
    expect(v3).toMatchObject({ revision: 3, vmState: 'active' });
    expect(
      await stores.instances.list(p1, { where: { vmState: 'building', id: vm.id } }),
    ).toMatchObject({ items: [] });
    expect(
      (await stores.instances.list(p1, { where: { vmState: 'active', id: vm.id } })).items,
    ).toEqual([v3]);
    await expect(
      stores.instances.delete(p1, vm.id, { expectedRevision: 2 }),
    ).rejects.toBeInstanceOf(ConflictError);
    const gone = await stores.instances.delete(p1, vm.id, { expectedRevision: 3 });
    expect(gone).toMatchObject({ revision: 4, deletedAt: gone.updatedAt });
    await expect(stores.instances.update(p1, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stores.instances.delete(p1, vm.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serialises concurrent conditional updates from several clients: no lost update', async () => {
    const vm = await stores.instances.create(p1, { flavor, metadata: {} });
    const others = await Promise.all([0, 1, 2].map(() => openFresh(zk.url, { chroot: chroot })));
    opened.push(...others.map((o) => o.stores));
    const clients = [stores, ...others.map((o) => o.stores)];
    // Each client bumps a counter in displayName with read-modify-write guarded by revision.
    await Promise.all(
      clients.map(async (s) => {
        for (let i = 0; i < 5; i++) {
          for (;;) {
            const cur = await s.instances.get(p1, vm.id);
            const n = Number(cur.displayName || '0');
            try {
              await s.instances.update(
                p1,
                vm.id,
                { displayName: String(n + 1) },
                { expectedRevision: cur.revision },
              );
              break;
            } catch (err) {
              if (!(err instanceof ConflictError)) throw err;
            }
          }
        }
      }),
    );
    const final = await stores.instances.get(p1, vm.id);
    expect(final.displayName).toBe('20');
    expect(final.revision).toBe(21);
    // Unconditional updates from all clients at once are all applied, each +1 revision.
    await Promise.all(clients.map((s, i) => s.instances.update(p1, vm.id, { hostname: `h${i}` })));
    expect((await stores.instances.get(p1, vm.id)).revision).toBe(25);
  });

  it('keeps other projects out and lets admins through', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await expect(stores.instances.get(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stores.instances.update(p2, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stores.instances.delete(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await stores.instances.count(p2, { id: vm.id })).toBe(0);
    expect((await stores.instances.update(admin, vm.id, { host: 'x' })).host).toBe('x');
    const shared = await stores.networks.create(admin, {
      label: 's',
      cidr: '10.9.0.0/24',
      projectId: null,
    });
    expect((await stores.networks.get(p2, shared.id)).id).toBe(shared.id);
    expect((await stores.networks.list(p2, { where: { id: shared.id } })).items).toHaveLength(1);
    await expect(stores.networks.update(p2, shared.id, { label: 'mine' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('serves global resources: heartbeat and minimumVersion', async () => {
    await expect(
      stores.services.heartbeat(p1, { host: 'h', binary: 'compute', codeVersion: 1 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const a = await stores.services.heartbeat(admin, {
      host: 'h1',
      binary: 'compute',
      codeVersion: 3,
    });
    const again = await stores.services.heartbeat(admin, {
      host: 'h1',
      binary: 'compute',
      codeVersion: 4,
    });
    expect(again).toMatchObject({ id: a.id, revision: 2, codeVersion: 4 });
    await stores.services.heartbeat(admin, { host: 'h2', binary: 'compute', codeVersion: 2 });
    expect(await stores.services.minimumVersion(p1, 'compute')).toBe(2);
    expect(await stores.services.count(p1, { binary: 'compute' })).toBe(2);
  });

  it('purges soft-deleted records older than the cut-off', async () => {
    const { stores: s } = await fresh();
    const keep = await s.migrations.create(p1, {
      instanceId: '00000000-0000-7000-8000-0000000000aa',
    });
    const old = await s.migrations.create(p1, {
      instanceId: '00000000-0000-7000-8000-0000000000aa',
    });
    const deleted = await s.migrations.delete(p1, old.id);
    expect(await s.migrations.purge(admin, { deletedBefore: '2000-01-01T00:00:00Z' })).toBe(0);
    const cut = new Date(Date.parse(deleted.deletedAt!) + 1).toISOString();
    expect(await s.migrations.purge(admin, { deletedBefore: cut })).toBe(1);
    await expect(s.migrations.get(withReadDeleted(admin, 'yes'), old.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await s.migrations.count(withReadDeleted(admin, 'yes'))).toBe(1);
    expect((await s.migrations.get(p1, keep.id)).id).toBe(keep.id);
    // the id is free again after a purge
    expect(
      (await s.migrations.create(p1, { id: old.id, instanceId: old.instanceId })).revision,
    ).toBe(1);
  });

  it('sweeps index directories left empty by deletes', async () => {
    const { stores: s, backend: b } = await fresh();
    const net = await s.networks.create(p1, { label: 'sweep', cidr: '10.8.0.0/29' });
    const vm = '00000000-0000-7000-8000-0000000000cc';
    await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
    await s.fixedIps.releaseAllForInstance(p1, vm);
    const fixedIps = b.zooKeeperDriver(fixedIpResource);
    // Empty now: the value directories of instanceId, address, networkId, projectId and
    // $version, and the network's directory of taken addresses.
    expect(await fixedIps.sweepEmptyDirectories()).toBe(6);
    expect(await fixedIps.sweepEmptyDirectories()).toBe(0);
    // writers recreate what was swept, in the same multi
    const again = await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
    expect(again.address).toBe('10.8.0.1');
    expect(await s.fixedIps.count(p1, { instanceId: vm })).toBe(1);
  });

  it('counts records below an object version from the version index', async () => {
    const { stores: s, backend: b } = await fresh();
    for (let i = 0; i < 3; i++)
      await s.migrations.create(p1, { instanceId: '00000000-0000-7000-8000-0000000000bb' });
    const driver = b.zooKeeperDriver(migrationResource);
    expect(await driver.countBelowVersion('1.1')).toBe(3);
    expect(await driver.countBelowVersion('1.0')).toBe(0);
  });

  it('never writes from a remembered record of an earlier incarnation of the same id', async () => {
    const other = await openFresh(zk.url, { chroot, resources: [blobResource] });
    opened.push(other.stores);
    const mine = stores.store(blobResource);
    const theirs = other.stores.store(blobResource);
    const first = await mine.create(p1, { tag: 't', body: 'first incarnation' });
    // Another client removes it and creates it again with the same id, at the same znode version.
    await theirs.delete(p1, first.id);
    const second = await theirs.create(p1, { id: first.id, tag: 't', body: 'second incarnation' });
    const updated = await mine.update(p1, first.id, { tag: 'u' }, { expectedRevision: 1 });
    expect(updated).toEqual({ ...second, tag: 'u', revision: 2, updatedAt: updated.updatedAt });
    expect((await theirs.list(p1, { where: { tag: 'u' } })).items).toEqual([updated]);
    expect(await theirs.count(p1, { tag: 't' })).toBe(0);
  });

  it('refuses an oversize update before writing, and oversize creates in core', async () => {
    const blobs = stores.store(blobResource);
    const small = await blobs.create(p1, { tag: 't', body: 'x' });
    const err = await blobs
      .update(p1, small.id, { body: 'y'.repeat(300_000) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).fields).toEqual(['values']);
    expect(await blobs.get(p1, small.id)).toEqual(small);
    await expect(blobs.create(p1, { body: 'z'.repeat(300_000) })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    // Exactly at the limit, as core measures it, is fine on create and update.
    const probe = { ...small, body: '' };
    const room = 262_144 - Buffer.byteLength(JSON.stringify(probe));
    const atLimit = await blobs.update(p1, small.id, { body: 'a'.repeat(room) });
    expect(atLimit.revision).toBe(2);
    await expect(blobs.update(p1, small.id, { body: 'a'.repeat(room + 1) })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    // Just under the limit is fine.
    const big = await blobs.update(p1, small.id, { body: 'y'.repeat(250_000) });
    expect((await blobs.get(p1, small.id)).body).toHaveLength(250_000);
    expect(big.revision).toBe(3);
  });
});

describe('allocation', () => {
  let stores: Stores;
  let chroot: string;
  beforeAll(async () => {
    ({ stores, chroot } = await fresh());
  });

  it('takes the lowest free address, a requested one, and refuses taken, foreign and full networks', async () => {
    const net = await stores.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    });
    const vm = '00000000-0000-7000-8000-000000000001';
    const a = await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
    expect(a.address).toBe('10.0.0.2');
    const c = await stores.fixedIps.allocate(p1, {
      networkId: net.id,
      instanceId: null,
      address: '10.0.0.4',
    });
    expect(c.address).toBe('10.0.0.4');
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null, address: '10.0.0.4' }),
    ).rejects.toEqual(new DuplicateError('fixedIp', ['networkId', 'address']));
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null, address: '10.0.0.1' }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      stores.fixedIps.allocate(p2, { networkId: net.id, instanceId: null }),
    ).rejects.toEqual(new NotFoundError('network', net.id));
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })).address,
    ).toBe('10.0.0.3');
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })).address,
    ).toBe('10.0.0.5');
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null })).address,
    ).toBe('10.0.0.6');
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    ).rejects.toMatchObject({ code: 'EXHAUSTED' });
    await stores.fixedIps.release(p1, c.id);
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null })).address,
    ).toBe('10.0.0.4');
    expect(await stores.fixedIps.releaseAllForInstance(p1, vm)).toBe(3);
    expect(await stores.fixedIps.count(p1, { instanceId: vm })).toBe(0);
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null })).address,
    ).toBe('10.0.0.2');
    await stores.networks.delete(p1, net.id);
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('allocates from shared networks and through create', async () => {
    const shared = await stores.networks.create(admin, {
      label: 's',
      cidr: 'fd00::/125',
      projectId: null,
    });
    const ip = await stores.fixedIps.allocate(p2, { networkId: shared.id, instanceId: null });
    expect(ip).toMatchObject({ address: 'fd00::1', projectId: 'p2' });
    const made = await stores.fixedIps.create(p2, {
      networkId: shared.id,
      address: 'fd00::5',
      instanceId: null,
    });
    expect(made.address).toBe('fd00::5');
    await expect(
      stores.fixedIps.create(p2, { networkId: shared.id, address: 'fd00::5', instanceId: null }),
    ).rejects.toBeInstanceOf(DuplicateError);
  });

  it('never hands out the same address twice to concurrent clients', async () => {
    const net = await stores.networks.create(p1, { label: 'race', cidr: '10.7.0.0/27' });
    const clients = [stores];
    for (let i = 0; i < 3; i++) {
      const o = await openFresh(zk.url, { chroot: chroot });
      opened.push(o.stores);
      clients.push(o.stores);
    }
    const results = await Promise.allSettled(
      Array.from({ length: 34 }, (_, i) =>
        clients[i % clients.length]!.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
      ),
    );
    const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(addresses).toHaveLength(30);
    expect(new Set(addresses).size).toBe(30);
    expect(failures.map((e) => e.constructor.name)).toEqual(Array(4).fill('ExhaustedError'));
    expect(await stores.fixedIps.count(p1, { networkId: net.id })).toBe(30);
  });
});
