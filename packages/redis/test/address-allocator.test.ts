import {
  adminContext,
  createContext,
  DuplicateError,
  ExhaustedError,
  InvalidInputError,
  NotFoundError,
  type Stores,
} from '@polystore/core';
import { isUsableAddress, lowestFreeAddress } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisStores } from '../src/index.js';
import { redisUrl } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const VM = '00000000-0000-4000-8000-000000000001';
const VM2 = '00000000-0000-4000-8000-000000000002';

const opened: Stores[] = [];
async function open(namespace = freshNamespace('redis_alloc')): Promise<Stores> {
  const s = await openRedisStores(redisUrl(), { adapter: { namespace } });
  opened.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('allocate', () => {
  it('takes the lowest free usable address, skipping network, gateway, broadcast and reserved ones', async () => {
    const s = await open();
    const net = await s.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    });
    const reserved = await s.fixedIps.allocate(p1, {
      networkId: net.id,
      instanceId: null,
      address: '10.0.0.3',
    });
    expect(reserved.instanceId).toBeNull();
    const got: string[] = [];
    for (let i = 0; i < 4; i++)
      got.push((await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM })).address);
    expect(got).toEqual(['10.0.0.2', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await expect(
      s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }),
    ).rejects.toBeInstanceOf(ExhaustedError);
    // A released address is the lowest free one again.
    const two = (await s.fixedIps.list(p1, { where: { address: '10.0.0.2' } })).items[0]!;
    await s.fixedIps.release(p1, two.id);
    expect((await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM2 })).address).toBe(
      '10.0.0.2',
    );
  });

  it('refuses a taken, unusable or foreign address and invisible networks', async () => {
    const s = await open();
    const net = await s.networks.create(p1, {
      label: 'n',
      cidr: '192.168.1.0/24',
      gateway: '192.168.1.1',
    });
    await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address: '192.168.1.77' });
    await expect(
      s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address: '192.168.1.77' }),
    ).rejects.toMatchObject({ fields: ['networkId', 'address'] });
    for (const address of ['192.168.1.0', '192.168.1.1', '192.168.1.255', '192.168.2.5', '::1']) {
      await expect(
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address }),
      ).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(
      s.fixedIps.allocate(p2, { networkId: net.id, instanceId: VM }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      s.fixedIps.allocate(p1, {
        networkId: '00000000-0000-4000-8000-0000000000ff',
        instanceId: VM,
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await s.networks.delete(p1, net.id);
    await expect(
      s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('allocates from shared networks for every project, and create goes through the allocator', async () => {
    const s = await open();
    const shared = await s.networks.create(admin, {
      label: 's',
      cidr: '10.1.0.0/30',
      projectId: null,
    });
    const a = await s.fixedIps.allocate(p1, { networkId: shared.id, instanceId: VM });
    const b = await s.fixedIps.create(p2, {
      networkId: shared.id,
      instanceId: VM2,
      address: '10.1.0.2',
    });
    expect([a.address, b.address, a.projectId, b.projectId]).toEqual([
      '10.1.0.1',
      '10.1.0.2',
      'p1',
      'p2',
    ]);
    await expect(
      s.fixedIps.allocate(p2, { networkId: shared.id, instanceId: VM2 }),
    ).rejects.toBeInstanceOf(ExhaustedError);
    await expect(
      s.fixedIps.create(p2, { networkId: shared.id, instanceId: VM2, address: '10.1.0.2' }),
    ).rejects.toBeInstanceOf(DuplicateError);
  });

  it('agrees with lowestFreeAddress on IPv6 networks, RFC 5952 text included', async () => {
    const s = await open();
    const cases = [
      ['2001:db8::/126', null],
      ['2001:db8:0:1::/120', '2001:db8:0:1::1'],
      ['::/126', null],
      ['fe80::/64', 'fe80::2'],
      ['2001:db8:1:0:0:0:0:fff0/124', null],
    ] as const;
    for (const [cidr, gateway] of cases) {
      const net = await s.networks.create(p1, { label: cidr, cidr, gateway });
      const taken = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const want = lowestFreeAddress(net.cidr, net.gateway, taken);
        const got = await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }).then(
          (ip) => ip.address,
          (err: unknown) => {
            if (err instanceof ExhaustedError) return undefined;
            throw err;
          },
        );
        expect(got, `${cidr} #${i}`).toBe(want);
        if (got === undefined) break;
        expect(isUsableAddress(net.cidr, net.gateway, got)).toBe(true);
        taken.add(got);
      }
    }
  });

  it('never gives the same address to concurrent allocations from several clients', async () => {
    const namespace = freshNamespace('redis_alloc_race');
    const clients = await Promise.all([1, 2, 3, 4].map(() => open(namespace)));
    const net = await clients[0]!.networks.create(p1, {
      label: 'n',
      cidr: '10.2.0.0/27',
      gateway: '10.2.0.1',
    });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        clients[i % 4]!.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }),
      ),
    );
    const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    // /27: 32 addresses minus network, broadcast and gateway.
    expect(addresses).toHaveLength(29);
    expect(new Set(addresses).size).toBe(29);
    expect(failures).toHaveLength(11);
    for (const f of failures) expect(f).toBeInstanceOf(ExhaustedError);
    expect(await clients[1]!.fixedIps.count(p1, { networkId: net.id })).toBe(29);
  });

  it('releases every address of an instance within the write scope in one step', async () => {
    const s = await open();
    const shared = await s.networks.create(admin, {
      label: 's',
      cidr: '10.3.0.0/24',
      projectId: null,
    });
    for (let i = 0; i < 3; i++)
      await s.fixedIps.allocate(p1, { networkId: shared.id, instanceId: VM });
    await s.fixedIps.allocate(p2, { networkId: shared.id, instanceId: VM });
    await s.fixedIps.allocate(p1, { networkId: shared.id, instanceId: VM2 });
    expect(await s.fixedIps.releaseAllForInstance(p1, VM)).toBe(3);
    expect(await s.fixedIps.releaseAllForInstance(p1, VM)).toBe(0);
    expect(await s.fixedIps.count(admin, { instanceId: VM })).toBe(1);
    expect(await s.fixedIps.releaseAllForInstance(admin, VM)).toBe(1);
    expect(await s.fixedIps.count(admin)).toBe(1);
    expect((await s.fixedIps.allocate(p2, { networkId: shared.id, instanceId: VM })).address).toBe(
      '10.3.0.1',
    );
  });
});
