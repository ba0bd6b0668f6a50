import {
  adminContext,
  ConflictError,
  createContext,
  ExhaustedError,
  type Stores,
  withReadDeleted,
} from '@polystore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMongoStores } from '../src/index.js';
import { dropDatabase, freshUrl } from './mongo-server.js';
import { openPair, type Pair, sameError } from './pair.js';

const p1 = createContext({ projectId: 'p1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const vm = '0190a000-0000-7000-8000-000000000001';
const vm2 = '0190a000-0000-7000-8000-000000000002';
const vm3 = '0190a000-0000-7000-8000-000000000003';

describe('allocate and release, like the memory model', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await openPair();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('takes the lowest free address, skips the gateway, then is exhausted', async () => {
    const net = await pair.same((s) =>
      s.networks.create(p1, { label: 'small', cidr: '10.0.0.0/29', gateway: '10.0.0.1' }),
    );
    for (let i = 0; i < 5; i++) {
      await pair.same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: i % 2 ? vm : vm2 }),
      );
    }
    expect(
      await sameError(pair, (s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })),
    ).toMatchObject({
      name: 'ExhaustedError',
    });
    const page = await pair.same((s) =>
      s.fixedIps.list(p1, { where: { networkId: net.id }, limit: 100 }),
    );
    expect(page.items.map((r) => r.address)).toEqual([
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
    ]);
    await pair.same((s) => s.fixedIps.release(p1, page.items[1]!.id));
    const again = await pair.same((s) =>
      s.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    );
    expect(again.address).toBe('10.0.0.3');
    // vm had 10.0.0.3 and 10.0.0.5; 10.0.0.3 went back above.
    expect(await pair.same((s) => s.fixedIps.releaseAllForInstance(p1, vm))).toBe(1);
    expect(await pair.same((s) => s.fixedIps.releaseAllForInstance(p1, vm))).toBe(0);
    await pair.same((s) => s.fixedIps.list(p1, { limit: 100 }));
  });

  it('takes a requested address once, refuses unusable ones and invisible networks', async () => {
    const net = await pair.same((s) =>
      s.networks.create(p1, { label: 'req', cidr: '10.1.0.0/24' }),
    );
    await pair.same((s) =>
      s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm, address: '10.1.0.77' }),
    );
    expect(
      await sameError(pair, (s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm2, address: '10.1.0.77' }),
      ),
    ).toMatchObject({ name: 'DuplicateError', fields: ['networkId', 'address'] });
    for (const address of ['10.1.0.0', '10.1.0.255', '10.2.0.1', '::1']) {
      expect(
        await sameError(pair, (s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm, address }),
        ),
      ).toMatchObject({
        name: 'InvalidInputError',
      });
    }
    expect(
      await sameError(pair, (s) => s.fixedIps.allocate(p2, { networkId: net.id, instanceId: vm })),
    ).toMatchObject({
      name: 'NotFoundError',
    });
    await pair.same((s) =>
      s.fixedIps.create(p1, { networkId: net.id, address: '10.1.0.9', instanceId: null }),
    );
    await pair.same((s) => s.networks.delete(p1, net.id));
    expect(
      await sameError(pair, (s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })),
    ).toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('allocates from a shared network into the caller project, IPv6 too', async () => {
    const net = await pair.same((s) =>
      s.networks.create(admin, { label: 'v6', cidr: 'fd00::/126', projectId: null }),
    );
    const ip = await pair.same((s) =>
      s.fixedIps.allocate(p2, { networkId: net.id, instanceId: vm3 }),
    );
    expect(ip).toMatchObject({ projectId: 'p2', address: 'fd00::1' });
    await pair.same((s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm3 }));
    await pair.same((s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm3 }));
    expect(
      await sameError(pair, (s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm3 })),
    ).toMatchObject({
      name: 'ExhaustedError',
    });
    expect(await pair.same((s) => s.fixedIps.releaseAllForInstance(p1, vm3))).toBe(2);
    await pair.same((s) =>
      s.fixedIps.list(withReadDeleted(admin, 'yes'), { where: { networkId: net.id } }),
    );
  });
});

describe('several clients at once', () => {
  let url: string;
  let clients: Stores[];
  beforeAll(async () => {
    url = freshUrl('mongo_concurrency');
    clients = [];
    // 40 allocations racing for 29 addresses take up to ~30 rounds of reads and an insert
    // each; on a loaded shared machine that exceeds the default 5 s bound (the old and the
    // new code both failed there at load 11). What is tested is uniqueness, not latency.
    for (let i = 0; i < 4; i++)
      clients.push(await openMongoStores(url, { adapter: { failFastMs: 30_000 } }));
  });
  afterAll(async () => {
    await Promise.all((clients ?? []).map((c) => c.close()));
    if (url) await dropDatabase(url);
  });

  it('never gives the same address twice and fills the network exactly', async () => {
    // 10.5.0.0/27: 30 usable hosts, minus the gateway.
    const net = await clients[0]!.networks.create(p1, {
      label: 'race',
      cidr: '10.5.0.0/27',
      gateway: '10.5.0.30',
    });
    const calls = Array.from({ length: 40 }, (_, i) =>
      clients[i % clients.length]!.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
    );
    const results = await Promise.allSettled(calls);
    const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses.length).toBe(29);
    expect(failures).toHaveLength(11);
    for (const e of failures) expect(e).toBeInstanceOf(ExhaustedError);
    expect(await clients[1]!.fixedIps.count(p1, { networkId: net.id })).toBe(29);
  });

  it('lets exactly one of several concurrent conditional updates win', async () => {
    const inst = await clients[0]!.instances.create(p1, {
      flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 },
    });
    let revision = inst.revision;
    for (let round = 0; round < 10; round++) {
      const results = await Promise.allSettled(
        clients.map((c, i) =>
          c.instances.update(p1, inst.id, { displayName: `c${i}` }, { expectedRevision: revision }),
        ),
      );
      const wins = results.filter((r) => r.status === 'fulfilled');
      expect(wins).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      revision += 1;
      expect((await clients[3]!.instances.get(p1, inst.id)).revision).toBe(revision);
    }
    const racers = await Promise.allSettled(
      clients.map((c) =>
        c.instances.update(
          p1,
          inst.id,
          { taskState: 'deleting' },
          { expected: { taskState: [null] } },
        ),
      ),
    );
    expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
