import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  ExhaustedError,
  ForbiddenError,
  InvalidInputError,
  InvalidQueryError,
  ManualClock,
  NotFoundError,
  type Stores,
  sequentialIds,
  UnavailableError,
  withReadDeleted,
} from '@polystore/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { openMemoryStores } from '../src/index.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 2, memoryMb: 2048, rootGb: 20 };

let stores: Stores;
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  stores = openMemoryStores({ clock, ids: sequentialIds() });
});

async function snapshot(s: Stores) {
  const all = withReadDeleted(admin, 'yes');
  return {
    instances: (await s.instances.list(all, { limit: 1000 })).items,
    networks: (await s.networks.list(all, { limit: 1000 })).items,
    fixedIps: (await s.fixedIps.list(all, { limit: 1000 })).items,
  };
}

describe('create and get', () => {
  it('fills system fields and defaults, returns a frozen plain record', async () => {
    const vm = await stores.instances.create(p1, { displayName: 'web', flavor });
    expect(vm).toEqual({
      id: '00000000-0000-7000-8000-000000000001',
      projectId: 'p1',
      displayName: 'web',
      hostname: '',
      host: null,
      vmState: 'building',
      taskState: null,
      flavor,
      metadata: {},
      revision: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      deletedAt: null,
      objectVersion: '1.0',
    });
    expect(Object.isFrozen(vm)).toBe(true);
    expect(Object.isFrozen(vm.flavor)).toBe(true);
    expect(JSON.parse(JSON.stringify(vm))).toEqual(vm);
    expect(await stores.instances.get(p1, vm.id)).toEqual(vm);
  });

  it('does not alias the caller input', async () => {
    const metadata = { a: '1' };
    const vm = await stores.instances.create(p1, { flavor, metadata });
    metadata.a = '2';
    expect((await stores.instances.get(p1, vm.id)).metadata).toEqual({ a: '1' });
  });

  it('refuses a taken id with DuplicateError', async () => {
    const id = '01a20881-abf6-71ed-966a-6c417145054e';
    await stores.instances.create(p1, { id, flavor });
    await expect(stores.instances.create(p1, { id, flavor })).rejects.toMatchObject({
      constructor: DuplicateError,
      fields: ['id'],
    });
  });

  it('get of a missing or foreign record is NotFoundError', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await expect(stores.instances.get(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      stores.instances.get(p1, '01a20881-abf6-71ed-966a-6c417145054e'),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await stores.instances.get(admin, vm.id)).id).toBe(vm.id);
  });

  it('a non-admin cannot create for another project; an admin must name one', async () => {
    await expect(stores.instances.create(p1, { flavor, projectId: 'p2' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(stores.instances.create(admin, { flavor })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect((await stores.instances.create(admin, { flavor, projectId: 'p2' })).projectId).toBe(
      'p2',
    );
  });
});

describe('bad input changes nothing', () => {
  it.each([
    ['wrong type', { displayName: 5, flavor }, ['displayName']],
    ['out-of-range int', { flavor: { ...flavor, vcpus: 0 } }, ['flavor.vcpus']],
    ['fractional int', { flavor: { ...flavor, memoryMb: 1.5 } }, ['flavor.memoryMb']],
    ['over-long string', { displayName: 'x'.repeat(256), flavor }, ['displayName']],
    ['string with NUL', { displayName: 'a\u0000b', flavor }, ['displayName']],
    ['lone surrogate', { displayName: '\uD800', flavor }, ['displayName']],
    ['unknown field', { flavor, colour: 'red' }, ['colour']],
    ['missing required field', {}, ['flavor']],
    [
      'several at once',
      { displayName: 1, hostname: 'UPPER', flavor, x: 1 },
      ['displayName', 'hostname', 'x'],
    ],
  ])('create with %s is InvalidInputError naming each field', async (_, input, fields) => {
    await stores.instances.create(p1, { flavor });
    const before = await snapshot(stores);
    const err = await stores.instances.create(p1, input as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).fields.sort()).toEqual([...fields].sort());
    expect(await snapshot(stores)).toEqual(before);
  });

  it.each([
    ['wrong type', { host: 7 }, ['host']],
    ['out-of-range int', { flavor: { ...flavor, rootGb: -1 } }, ['flavor.rootGb']],
    ['over-long string', { host: 'h'.repeat(300) }, ['host']],
    ['string with NUL', { host: '\u0000' }, ['host']],
    ['unknown field', { nope: 1 }, ['nope']],
    ['system field', { revision: 9 }, ['revision']],
  ])('update with %s is InvalidInputError naming each field', async (_, patch, fields) => {
    const vm = await stores.instances.create(p1, { flavor });
    const before = await snapshot(stores);
    const err = await stores.instances.update(p1, vm.id, patch as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).fields).toEqual(fields);
    expect(await snapshot(stores)).toEqual(before);
  });

  it('bad ids, contexts and options are typed errors', async () => {
    await expect(stores.instances.get(p1, "' OR 1=1 --")).rejects.toBeInstanceOf(InvalidInputError);
    await expect(stores.instances.get(undefined as never, 'x')).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(stores.instances.getMany(p1, ['nope'])).rejects.toBeInstanceOf(InvalidInputError);
    const vm = await stores.instances.create(p1, { flavor });
    await expect(
      stores.instances.update(p1, vm.id, {}, { expectedRevision: 0 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      stores.instances.update(p1, vm.id, {}, { bogus: 1 } as never),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      stores.instances.delete(p1, vm.id, { expected: {} } as never),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('getMany', () => {
  it('returns visible records in request order without repeats', async () => {
    const a = await stores.instances.create(p1, { flavor });
    const b = await stores.instances.create(p1, { flavor });
    const c = await stores.instances.create(p2, { flavor });
    const missing = '01a20881-abf6-71ed-966a-6c417145054e';
    const got = await stores.instances.getMany(p1, [b.id, missing, a.id, b.id, c.id]);
    expect(got.map((r) => r.id)).toEqual([b.id, a.id]);
    expect(await stores.instances.getMany(p1, [])).toEqual([]);
  });
});

describe('list and count', () => {
  it('pages through every matching row exactly once, for any limit', async () => {
    for (let i = 0; i < 23; i++) {
      await stores.instances.create(p1, {
        flavor,
        displayName: `vm-${i % 5}`,
        host: i % 2 ? 'h1' : 'h2',
      });
    }
    await stores.instances.create(p2, { flavor, host: 'h1' });
    for (const limit of [1, 2, 7, 23, 50]) {
      for (const direction of ['asc', 'desc'] as const) {
        const seen: string[] = [];
        let after: string | null = null;
        do {
          const page = await stores.instances.list(p1, {
            where: { host: 'h1' },
            orderBy: { field: 'displayName', direction },
            limit,
            after,
          });
          seen.push(...page.items.map((r) => r.id));
          expect(page.items.length).toBeLessThanOrEqual(limit);
          after = page.next;
        } while (after);
        expect(seen).toHaveLength(11);
        expect(new Set(seen).size).toBe(11);
      }
    }
    expect(await stores.instances.count(p1, { host: 'h1' })).toBe(11);
    expect(await stores.instances.count(admin, { host: 'h1' })).toBe(12);
    expect(await stores.instances.count(p1, { host: { in: ['h1', 'h2'] } })).toBe(23);
  });

  it('orders strings by code point and breaks ties by id', async () => {
    for (const name of ['b', '😀', '\uFFFD', 'a', 'b', 'B']) {
      await stores.instances.create(p1, { flavor, displayName: name });
    }
    const page = await stores.instances.list(p1, { orderBy: { field: 'displayName' } });
    expect(page.items.map((r) => r.displayName)).toEqual(['B', 'a', 'b', 'b', '\uFFFD', '😀']);
    const bs = page.items.filter((r) => r.displayName === 'b');
    expect(bs[0]!.id < bs[1]!.id).toBe(true);
  });

  it('filters by null, in and ranges', async () => {
    await stores.instances.create(p1, { flavor, displayName: 'a', taskState: 'spawning' });
    await stores.instances.create(p1, { flavor, displayName: 'b' });
    await stores.instances.create(p1, { flavor, displayName: 'c', taskState: 'deleting' });
    expect(await stores.instances.count(p1, { taskState: null })).toBe(1);
    expect(await stores.instances.count(p1, { taskState: { in: [null, 'spawning'] } })).toBe(2);
    expect(await stores.instances.count(p1, { displayName: { gt: 'a', lte: 'c' } })).toBe(2);
    expect(await stores.instances.count(p1, { displayName: { gte: 'a', lt: 'b' } })).toBe(1);
  });

  it('refuses unindexed fields, bad limits and foreign cursors', async () => {
    await expect(
      stores.instances.list(p1, { where: { metadata: {} } as never }),
    ).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(stores.instances.count(p1, { flavor: 1 } as never)).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(stores.instances.list(p1, { limit: 0 })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(stores.instances.list(p1, { limit: 1001 })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(stores.instances.list(p1, { after: 'garbage' })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(stores.instances.list(p1, { bogus: 1 } as never)).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
  });
});

describe('update', () => {
  it('bumps revision by one and updatedAt, keeps other fields', async () => {
    const vm = await stores.instances.create(p1, { flavor, displayName: 'a' });
    clock.advance(1000);
    const up = await stores.instances.update(p1, vm.id, { host: 'h1' }, { expectedRevision: 1 });
    expect(up).toMatchObject({
      host: 'h1',
      displayName: 'a',
      revision: 2,
      updatedAt: '2026-01-01T00:00:01.000Z',
      createdAt: vm.createdAt,
    });
  });

  it('sees in-place nested changes as new values', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    const up = await stores.instances.update(p1, vm.id, {
      metadata: { k: 'v' },
      flavor: { ...flavor, vcpus: 4 },
    });
    expect(up.metadata).toEqual({ k: 'v' });
    expect(up.flavor.vcpus).toBe(4);
  });

  it('refuses a stale revision with ConflictError carrying the current one', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await stores.instances.update(p1, vm.id, { host: 'a' });
    const err = await stores.instances
      .update(p1, vm.id, { host: 'b' }, { expectedRevision: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ currentRevision: 2, reason: 'revision' });
    expect((await stores.instances.get(p1, vm.id)).host).toBe('a');
  });

  it('checks expected values (null included) atomically', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    const up = await stores.instances.update(
      p1,
      vm.id,
      { taskState: 'spawning' },
      { expected: { taskState: [null, 'scheduling'] } },
    );
    expect(up.taskState).toBe('spawning');
    const err = await stores.instances
      .update(p1, vm.id, { taskState: 'deleting' }, { expected: { taskState: null } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      constructor: ConflictError,
      reason: 'expected',
      field: 'taskState',
      currentRevision: 2,
    });
  });

  it('exactly one of two racing conditional updates wins', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    const results = await Promise.allSettled([
      stores.instances.update(p1, vm.id, { host: 'x' }, { expectedRevision: 1 }),
      stores.instances.update(p1, vm.id, { host: 'y' }, { expectedRevision: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof ConflictError),
    ).toHaveLength(1);
  });

  it('is NotFoundError for another project, a deleted record or a missing one', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await expect(stores.instances.update(p2, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await stores.instances.delete(p1, vm.id);
    await expect(stores.instances.update(p1, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('refuses immutable fields', async () => {
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' });
    await expect(
      stores.networks.update(p1, net.id, { cidr: '10.0.1.0/24' } as never),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('delete, readDeleted and purge', () => {
  it('soft-deletes, and readDeleted decides what reads see', async () => {
    const a = await stores.instances.create(p1, { flavor });
    const b = await stores.instances.create(p1, { flavor });
    clock.advance(10);
    const gone = await stores.instances.delete(p1, a.id, { expectedRevision: 1 });
    expect(gone).toMatchObject({ revision: 2, deletedAt: '2026-01-01T00:00:00.010Z' });
    await expect(stores.instances.get(p1, a.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await stores.instances.get(withReadDeleted(p1, 'yes'), a.id)).deletedAt).not.toBeNull();
    expect(
      (await stores.instances.list(withReadDeleted(p1, 'only'))).items.map((r) => r.id),
    ).toEqual([a.id]);
    expect(await stores.instances.count(withReadDeleted(p1, 'yes'))).toBe(2);
    expect(await stores.instances.count(p1)).toBe(1);
    await expect(stores.instances.get(withReadDeleted(p1, 'only'), b.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stores.instances.delete(p1, a.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a stale revision on delete', async () => {
    const a = await stores.instances.create(p1, { flavor });
    await stores.instances.update(p1, a.id, {});
    await expect(stores.instances.delete(p1, a.id, { expectedRevision: 1 })).rejects.toMatchObject({
      constructor: ConflictError,
      currentRevision: 2,
    });
  });

  it('hard-deletes resources without soft delete', async () => {
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' });
    const ip = await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null });
    expect((await stores.fixedIps.delete(p1, ip.id)).id).toBe(ip.id);
    await expect(stores.fixedIps.get(withReadDeleted(p1, 'yes'), ip.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('purge is admin-only and removes records deleted before the instant', async () => {
    const a = await stores.instances.create(p1, { flavor });
    const b = await stores.instances.create(p1, { flavor });
    await stores.instances.delete(p1, a.id);
    clock.advance(60_000);
    await stores.instances.delete(p1, b.id);
    await expect(
      stores.instances.purge(p1, { deletedBefore: '2026-01-01T00:00:30Z' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(stores.instances.purge(admin, { deletedBefore: 'soon' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await stores.instances.purge(admin, { deletedBefore: '2026-01-01T00:00:30Z' })).toBe(1);
    expect(await stores.instances.count(withReadDeleted(admin, 'yes'))).toBe(1);
  });
});

describe('networks: shared and unique', () => {
  it('VLANs are unique among live networks only', async () => {
    const n = await stores.networks.create(p1, { label: 'a', cidr: '10.0.0.0/24', vlan: 10 });
    await expect(
      stores.networks.create(p2, { label: 'b', cidr: '10.0.1.0/24', vlan: 10 }),
    ).rejects.toMatchObject({
      constructor: DuplicateError,
      fields: ['vlan'],
    });
    await stores.networks.create(p1, { label: 'c', cidr: '10.0.2.0/24' });
    await stores.networks.create(p1, { label: 'd', cidr: '10.0.3.0/24' });
    await stores.networks.delete(p1, n.id);
    expect(
      (await stores.networks.create(p2, { label: 'b', cidr: '10.0.1.0/24', vlan: 10 })).vlan,
    ).toBe(10);
  });

  it('shared networks are read by every project and changed only by admins', async () => {
    const shared = await stores.networks.create(admin, {
      label: 's',
      cidr: '10.9.0.0/24',
      projectId: null,
    });
    expect((await stores.networks.get(p2, shared.id)).projectId).toBeNull();
    await expect(stores.networks.update(p2, shared.id, { label: 'mine' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      stores.networks.create(p1, { label: 's', cidr: '10.9.0.0/24', projectId: null }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect((await stores.networks.update(admin, shared.id, { label: 'ok' })).label).toBe('ok');
  });
});

describe('fixed IPs', () => {
  it('allocates the lowest free address, never network, broadcast or gateway', async () => {
    const net = await stores.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    });
    const vm = await stores.instances.create(p1, { flavor });
    const got = [];
    for (let i = 0; i < 5; i++)
      got.push(
        (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id })).address,
      );
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id }),
    ).rejects.toBeInstanceOf(ExhaustedError);
  });

  it('takes a requested address, refusing taken and reserved ones', async () => {
    const net = await stores.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
    });
    const ip = await stores.fixedIps.allocate(p1, {
      networkId: net.id,
      instanceId: null,
      address: '10.0.0.77',
    });
    expect(ip).toMatchObject({
      address: '10.0.0.77',
      instanceId: null,
      networkId: net.id,
      projectId: 'p1',
    });
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null, address: '10.0.0.77' }),
    ).rejects.toMatchObject({
      constructor: DuplicateError,
      fields: ['networkId', 'address'],
    });
    for (const address of ['10.0.0.0', '10.0.0.1', '10.0.0.255', '10.0.1.5']) {
      await expect(
        stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null, address }),
      ).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(
      stores.fixedIps.create(p1, { networkId: net.id, address: '10.0.0.0', instanceId: null }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(
      (
        await stores.fixedIps.create(p1, {
          networkId: net.id,
          address: '10.0.0.9',
          instanceId: null,
        })
      ).address,
    ).toBe('10.0.0.9');
  });

  it('allocates from own and shared networks only', async () => {
    const mine = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' });
    const shared = await stores.networks.create(admin, {
      label: 's',
      cidr: '10.1.0.0/24',
      projectId: null,
    });
    await expect(
      stores.fixedIps.allocate(p2, { networkId: mine.id, instanceId: null }),
    ).rejects.toMatchObject({
      constructor: NotFoundError,
      resource: 'network',
    });
    expect(
      (await stores.fixedIps.allocate(p2, { networkId: shared.id, instanceId: null })).projectId,
    ).toBe('p2');
    await stores.networks.delete(p1, mine.id);
    await expect(
      stores.fixedIps.allocate(p1, { networkId: mine.id, instanceId: null }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('never gives one address twice to racing allocations', async () => {
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/27' });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
      ),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    // A /27 has 32 addresses: network and broadcast are never given out.
    expect(ok).toHaveLength(30);
    expect(new Set(ok).size).toBe(30);
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .every((r) => (r as PromiseRejectedResult).reason instanceof ExhaustedError),
    ).toBe(true);
  });

  it('releases one or all addresses of an instance', async () => {
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' });
    const vm = await stores.instances.create(p1, { flavor });
    const other = await stores.instances.create(p1, { flavor });
    const a = await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id });
    await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id });
    await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: other.id });
    expect((await stores.fixedIps.release(p1, a.id)).address).toBe(a.address);
    expect(await stores.fixedIps.releaseAllForInstance(p2, vm.id)).toBe(0);
    expect(await stores.fixedIps.releaseAllForInstance(p1, vm.id)).toBe(1);
    expect(await stores.fixedIps.count(p1)).toBe(1);
    expect(
      (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id })).address,
    ).toBe('10.0.0.1');
    await expect(stores.fixedIps.releaseAllForInstance(p1, 'nope')).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id, extra: 1 } as never),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('migrations', () => {
  it('lists live in-progress migrations from or to a host', async () => {
    const vm = '01a20881-abf6-71ed-966a-6c417145054e';
    const a = await stores.migrations.create(p1, {
      instanceId: vm,
      sourceCompute: 'h1',
      destCompute: 'h2',
      status: 'running',
    });
    const b = await stores.migrations.create(p1, {
      instanceId: vm,
      sourceCompute: 'h3',
      destCompute: 'h1',
    });
    await stores.migrations.create(p1, {
      instanceId: vm,
      sourceCompute: 'h1',
      destCompute: 'h2',
      status: 'finished',
    });
    const c = await stores.migrations.create(p1, {
      instanceId: vm,
      sourceCompute: 'h1',
      destCompute: 'h1',
      status: 'preparing',
    });
    await stores.migrations.create(p2, { instanceId: vm, sourceCompute: 'h1', destCompute: 'h2' });
    const d = await stores.migrations.create(p1, {
      instanceId: vm,
      sourceCompute: 'h1',
      destCompute: null,
    });
    await stores.migrations.delete(p1, d.id);
    expect((await stores.migrations.listInProgressByHost(p1, 'h1')).map((m) => m.id)).toEqual([
      a.id,
      b.id,
      c.id,
    ]);
    expect(await stores.migrations.listInProgressByHost(admin, 'h1')).toHaveLength(4);
    await expect(stores.migrations.listInProgressByHost(p1, 5 as never)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});

describe('services', () => {
  it('heartbeat upserts by (host, binary); minimumVersion ignores disabled and deleted ones', async () => {
    const s1 = await stores.services.heartbeat(admin, {
      host: 'h1',
      binary: 'compute',
      codeVersion: 5,
    });
    clock.advance(1000);
    const s1b = await stores.services.heartbeat(admin, {
      host: 'h1',
      binary: 'compute',
      codeVersion: 6,
    });
    expect(s1b).toMatchObject({
      id: s1.id,
      revision: 2,
      codeVersion: 6,
      lastSeenAt: '2026-01-01T00:00:01.000Z',
    });
    const s2 = await stores.services.heartbeat(admin, {
      host: 'h2',
      binary: 'compute',
      codeVersion: 4,
    });
    await stores.services.heartbeat(admin, { host: 'h3', binary: 'compute', codeVersion: 1 });
    expect(await stores.services.minimumVersion(p1, 'compute')).toBe(1);
    const h3 = (await stores.services.list(p1, { where: { host: 'h3' } as never })).items[0]!;
    await stores.services.update(admin, h3.id, { disabled: true });
    expect(await stores.services.minimumVersion(p1, 'compute')).toBe(4);
    await stores.services.delete(admin, s2.id);
    expect(await stores.services.minimumVersion(p1, 'compute')).toBe(6);
    expect(await stores.services.minimumVersion(p1, 'scheduler')).toBeNull();
  });

  it('racing heartbeats of one service create it once', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stores.services.heartbeat(admin, { host: 'h', binary: 'b', codeVersion: i }),
      ),
    );
    expect(await stores.services.count(admin)).toBe(1);
  });

  it('global resources are written by admins only', async () => {
    await expect(
      stores.services.heartbeat(p1, { host: 'h', binary: 'b', codeVersion: 1 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      stores.services.create(p1, {
        host: 'h',
        binary: 'b',
        codeVersion: 1,
        lastSeenAt: '2026-01-01T00:00:00Z',
      }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      stores.services.heartbeat(admin, { host: 'h', binary: 'B A D', codeVersion: 1 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('named databases', () => {
  it('share data between opens of the same name only', async () => {
    const a = openMemoryStores({ name: 'shared-test' });
    const b = openMemoryStores({ name: 'shared-test' });
    const c = openMemoryStores();
    const vm = await a.instances.create(p1, { flavor });
    expect((await b.instances.get(p1, vm.id)).id).toBe(vm.id);
    await expect(c.instances.get(p1, vm.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('close', () => {
  it('refuses every call afterwards, as a closed connection does, and leaves the data to other clients', async () => {
    const a = openMemoryStores({ name: 'closed-test' });
    const b = openMemoryStores({ name: 'closed-test' });
    const vm = await a.instances.create(p1, { flavor });
    const net = await a.networks.create(p1, { label: 'n', cidr: '10.0.0.0/29' });
    await a.close();
    await a.close(); // idempotent
    const calls: Record<string, () => Promise<unknown>> = {
      create: () => a.instances.create(p1, { flavor }),
      get: () => a.instances.get(p1, vm.id),
      getMany: () => a.instances.getMany(p1, [vm.id]),
      list: () => a.instances.list(p1, {}),
      count: () => a.instances.count(p1, {}),
      update: () => a.instances.update(p1, vm.id, { displayName: 'after close' }),
      delete: () => a.instances.delete(p1, vm.id),
      purge: () => a.instances.purge(admin, { deletedBefore: '2100-01-01T00:00:00Z' }),
      allocate: () => a.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id }),
      releaseAllForInstance: () => a.fixedIps.releaseAllForInstance(p1, vm.id),
    };
    for (const [name, call] of Object.entries(calls)) {
      await expect(call(), name).rejects.toBeInstanceOf(UnavailableError);
    }
    // Nothing was written through the closed bag; another client still answers.
    expect(await b.instances.get(p1, vm.id)).toEqual(vm);
    expect(await b.fixedIps.count(p1, {})).toBe(0);
  });
});
