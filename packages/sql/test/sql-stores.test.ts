import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  ExhaustedError,
  InvalidInputError,
  InvalidQueryError,
  ManualClock,
  NotFoundError,
  type Stores,
  withReadDeleted,
} from '@polystore/core';
import { compareValues } from '@polystore/core/adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlStores } from '../src/index.js';
import { DIALECTS, useBackends } from './support.js';

const backends = useBackends();
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const HOSTILE = [
  "'; DROP TABLE instances; --",
  '" OR "1"="1',
  '/* comment */ -- line',
  'back\\slash \\0 %_ LIKE',
  '😀 non-BMP 𝄞',
  '\uFFFF\uE000 private use',
  'ünïcödé ß',
  '$1 ? :name @p0',
  '{"$gt": ""}',
  'redis.call("FLUSHALL")',
  '../../etc/passwd',
  '\t\n\r ',
];

for (const dialect of DIALECTS) {
  describe(`sql stores on ${dialect}`, () => {
    let stores: Stores;
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const p1 = createContext({ projectId: 'p1' });
    const p2 = createContext({ projectId: 'p2' });
    const admin = adminContext();

    beforeAll(async () => {
      stores = await openSqlStores(backends.url(dialect), { clock });
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('creates, gets and scopes records to their project', async () => {
      const vm = await stores.instances.create(p1, {
        displayName: 'vm',
        flavor: FLAVOR,
        metadata: { z: '1', a: '2' },
      });
      expect(vm).toMatchObject({
        revision: 1,
        projectId: 'p1',
        deletedAt: null,
        objectVersion: '1.0',
        taskState: null,
      });
      expect(await stores.instances.get(p1, vm.id)).toEqual(vm);
      expect(await stores.instances.get(admin, vm.id)).toEqual(vm);
      await expect(stores.instances.get(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
      const other = await stores.instances.create(p2, { flavor: FLAVOR });
      const many = await stores.instances.getMany(p1, [
        vm.id,
        other.id,
        '01890000-0000-7000-8000-000000000000',
      ]);
      expect(many).toEqual([vm]);
      expect(await stores.instances.getMany(admin, [other.id, vm.id])).toEqual([other, vm]);
    });

    it('refuses a duplicate id, even of a deleted record', async () => {
      const vm = await stores.instances.create(p1, { flavor: FLAVOR });
      await stores.instances.delete(p1, vm.id);
      const err = await stores.instances.create(p1, { id: vm.id, flavor: FLAVOR }).catch((e) => e);
      expect(err).toBeInstanceOf(DuplicateError);
      expect(err.fields).toEqual(['id']);
    });

    it('keeps unique constraints among live records only, nulls never conflict', async () => {
      const a = await stores.networks.create(p1, { label: 'a', cidr: '10.1.0.0/24', vlan: 100 });
      const err = await stores.networks
        .create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 100 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(DuplicateError);
      expect(err.fields).toEqual(['vlan']);
      await stores.networks.create(p1, { label: 'n1', cidr: '10.3.0.0/24' });
      await stores.networks.create(p1, { label: 'n2', cidr: '10.3.0.0/24' });
      const b = await stores.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 101 });
      const upd = await stores.networks.update(p2, b.id, { vlan: 100 }).catch((e) => e);
      expect(upd).toBeInstanceOf(DuplicateError);
      expect(upd.fields).toEqual(['vlan']);
      await stores.networks.delete(p1, a.id);
      expect((await stores.networks.update(p2, b.id, { vlan: 100 })).vlan).toBe(100);
      const s = {
        host: 'h1',
        binary: 'nova-compute',
        codeVersion: 1,
        lastSeenAt: '2026-01-01T00:00:00.000Z',
      };
      await stores.services.create(admin, s);
      const dup = await stores.services.create(admin, s).catch((e) => e);
      expect(dup).toBeInstanceOf(DuplicateError);
      expect(dup.fields).toEqual(['host', 'binary']);
    });

    it('updates with revision and expected conditions, telling conflicts from not-found', async () => {
      const vm = await stores.instances.create(p1, { flavor: FLAVOR });
      clock.advance(5);
      const up = await stores.instances.update(
        p1,
        vm.id,
        { taskState: 'spawning', metadata: { k: 'v' } },
        { expectedRevision: 1, expected: { taskState: [null, 'scheduling'] } },
      );
      expect(up).toMatchObject({
        revision: 2,
        taskState: 'spawning',
        metadata: { k: 'v' },
        createdAt: vm.createdAt,
      });
      expect(up.updatedAt).toBe(new Date(clock.now()).toISOString());
      const rev = await stores.instances
        .update(p1, vm.id, { host: 'x' }, { expectedRevision: 1 })
        .catch((e) => e);
      expect(rev).toBeInstanceOf(ConflictError);
      expect(rev).toMatchObject({ reason: 'revision', currentRevision: 2 });
      const exp = await stores.instances
        .update(p1, vm.id, { host: 'x' }, { expected: { taskState: [null] } })
        .catch((e) => e);
      expect(exp).toBeInstanceOf(ConflictError);
      expect(exp).toMatchObject({ reason: 'expected', field: 'taskState', currentRevision: 2 });
      await expect(stores.instances.update(p2, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(
        stores.instances.update(
          p1,
          '01890000-0000-7000-8000-000000000000',
          { host: 'x' },
          { expectedRevision: 1 },
        ),
      ).rejects.toBeInstanceOf(NotFoundError);
      await stores.instances.delete(p1, vm.id);
      await expect(stores.instances.update(p1, vm.id, { host: 'x' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(await stores.instances.get(p1, vm.id).catch((e) => e)).toBeInstanceOf(NotFoundError);
    });

    it('soft-deletes, reads deleted records on request, purges and hard-deletes', async () => {
      const vm = await stores.instances.create(p1, { flavor: FLAVOR });
      await expect(
        stores.instances.delete(p1, vm.id, { expectedRevision: 9 }),
      ).rejects.toBeInstanceOf(ConflictError);
      await expect(stores.instances.delete(p2, vm.id)).rejects.toBeInstanceOf(NotFoundError);
      clock.advance(1000);
      const gone = await stores.instances.delete(p1, vm.id, { expectedRevision: 1 });
      expect(gone).toMatchObject({ revision: 2, deletedAt: new Date(clock.now()).toISOString() });
      expect(gone.updatedAt).toBe(gone.deletedAt);
      await expect(stores.instances.delete(p1, vm.id)).rejects.toBeInstanceOf(NotFoundError);
      expect(await stores.instances.get(withReadDeleted(p1, 'yes'), vm.id)).toEqual(gone);
      const only = await stores.instances.list(withReadDeleted(p1, 'only'), { limit: 1000 });
      expect(only.items.every((r) => r.deletedAt !== null)).toBe(true);
      expect(only.items.map((r) => r.id)).toContain(vm.id);
      await stores.instances.purge(admin, { deletedBefore: gone.deletedAt! });
      expect(await stores.instances.get(withReadDeleted(p1, 'yes'), vm.id)).toEqual(gone);
      const before = await stores.instances.count(withReadDeleted(admin, 'only'));
      expect(before).toBeGreaterThan(0);
      const purged = await stores.instances.purge(admin, {
        deletedBefore: new Date(clock.now() + 1).toISOString(),
      });
      expect(purged).toBe(before);
      expect(await stores.instances.count(withReadDeleted(admin, 'only'))).toBe(0);
      await expect(stores.instances.get(withReadDeleted(p1, 'yes'), vm.id)).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('round-trips types exactly: ints, booleans, datetimes, JSON', async () => {
      const s = await stores.services.create(admin, {
        host: 'types',
        binary: 'types',
        codeVersion: Number.MAX_SAFE_INTEGER,
        lastSeenAt: '2026-02-03T04:05:06.789Z',
        disabled: true,
      });
      const got = await stores.services.get(admin, s.id);
      expect(got).toEqual(s);
      expect(got.codeVersion).toBe(Number.MAX_SAFE_INTEGER);
      expect(got.disabled).toBe(true);
      const net = await stores.networks.create(p1, {
        label: 'json',
        cidr: '2001:db8:1::/64',
        gateway: '2001:db8:1::1',
        dnsServers: ['2001:4860:4860::8888', '8.8.8.8'],
      });
      expect(await stores.networks.get(p1, net.id)).toEqual(net);
      expect(typeof (await stores.services.count(admin))).toBe('number');
    });

    it('round-trips hostile strings byte-exact and orders them by code point', async () => {
      const ctx = createContext({ projectId: 'p\'hostile"--' });
      const made = [];
      for (const s of HOSTILE) {
        made.push(
          await stores.instances.create(ctx, {
            displayName: s,
            host: s,
            flavor: FLAVOR,
            metadata: { [s]: s, "'": '"' },
          }),
        );
      }
      for (const r of made) expect(await stores.instances.get(ctx, r.id)).toEqual(r);
      for (const s of HOSTILE) {
        const page = await stores.instances.list(ctx, { where: { host: s } });
        expect(page.items.map((r) => r.displayName)).toEqual([s]);
      }
      const all = await stores.instances.list(ctx, {
        orderBy: { field: 'displayName' },
        limit: 100,
      });
      expect(all.items.map((r) => r.displayName)).toEqual([...HOSTILE].sort(compareValues));
      const between = await stores.instances.list(ctx, {
        where: { displayName: { gte: '\uFFFF', lt: '😀 non-BMP 𝄞' } },
        orderBy: { field: 'displayName' },
      });
      expect(between.items.map((r) => r.displayName)).toEqual(['\uFFFF\uE000 private use']);
      expect(
        await stores.instances.count(createContext({ projectId: 'p1' }), { host: HOSTILE[0] }),
      ).toBe(0);
    });

    it('refuses bad input and queries before any SQL', async () => {
      const count = await stores.instances.count(admin);
      await expect(
        stores.instances.create(p1, { displayName: 'a\u0000b', flavor: FLAVOR }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        stores.instances.create(p1, { displayName: '\uD800', flavor: FLAVOR }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        stores.instances.list(p1, { where: { metadata: 'x' } as never }),
      ).rejects.toBeInstanceOf(InvalidQueryError);
      await expect(
        stores.instances.list(p1, { where: { "display_name = '' OR 1=1 --": 'x' } as never }),
      ).rejects.toBeInstanceOf(InvalidQueryError);
      await expect(
        stores.instances.list(p1, { after: "c1.'; DROP TABLE x" }),
      ).rejects.toBeInstanceOf(InvalidQueryError);
      await expect(stores.instances.get(p1, "1' OR '1'='1")).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      expect(await stores.instances.count(admin)).toBe(count);
    });
  });

  describe(`list paging on ${dialect}`, () => {
    let stores: Stores;
    const ctx = createContext({ projectId: 'paging' });
    const names = [
      'b',
      'a',
      'c',
      'a',
      'b',
      '',
      'é',
      '😀',
      '\uFFFD',
      'a',
      'z',
      'B',
      'b',
      'c',
      'a',
      'd',
      'b',
    ];
    const hosts = [null, 'h1', 'h2'];

    beforeAll(async () => {
      stores = await openSqlStores(backends.url(dialect), {
        clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')),
      });
      for (const [i, displayName] of names.entries()) {
        await stores.instances.create(ctx, {
          displayName,
          hostname: `h${(i * 7) % 5}`,
          host: hosts[i % 3]!,
          vmState: i % 4 === 0 ? 'active' : 'building',
          flavor: FLAVOR,
        });
      }
      await stores.instances.create(createContext({ projectId: 'other' }), {
        displayName: 'a',
        flavor: FLAVOR,
      });
    });
    afterAll(async () => {
      await stores?.close();
    });

    const filters: [string, Record<string, unknown>, (r: Record<string, unknown>) => boolean][] = [
      ['none', {}, () => true],
      ['eq', { vmState: 'active' }, (r) => r.vmState === 'active'],
      ['eq null', { host: null }, (r) => r.host === null],
      ['in with null', { host: { in: [null, 'h2'] } }, (r) => r.host === null || r.host === 'h2'],
      ['in', { host: { in: ['h1'] } }, (r) => r.host === 'h1'],
      ['empty in', { host: { in: [] } }, () => false],
      [
        'range',
        { displayName: { gt: 'a', lte: 'c' } },
        (r) => compareValues(r.displayName, 'a') > 0 && compareValues(r.displayName, 'c') <= 0,
      ],
      [
        'gte lt',
        { hostname: { gte: 'h1', lt: 'h3' } },
        (r) => r.hostname === 'h1' || r.hostname === 'h2',
      ],
    ];

    for (const [label, where, keep] of filters) {
      it(`pages through every row exactly once (${label})`, async () => {
        const everything = (await stores.instances.list(ctx, { limit: 1000 }))
          .items as unknown as Record<string, unknown>[];
        expect(everything).toHaveLength(names.length);
        expect(await stores.instances.count(ctx, where as never)).toBe(
          everything.filter(keep).length,
        );
        for (const field of ['id', 'displayName', 'hostname', 'createdAt'] as const) {
          for (const direction of ['asc', 'desc'] as const) {
            const sign = direction === 'asc' ? 1 : -1;
            const expected = everything
              .filter(keep)
              .sort(
                (a, b) => sign * (compareValues(a[field], b[field]) || compareValues(a.id, b.id)),
              )
              .map((r) => r.id);
            for (const limit of [1, 2, 3, 7, 50]) {
              const seen: unknown[] = [];
              let after: string | null = null;
              do {
                const page: Awaited<ReturnType<Stores['instances']['list']>> =
                  await stores.instances.list(ctx, {
                    where: where as never,
                    orderBy: { field, direction },
                    limit,
                    ...(after === null ? {} : { after }),
                  });
                expect(page.items.length).toBeLessThanOrEqual(limit);
                seen.push(...page.items.map((r) => r.id));
                after = page.next;
              } while (after !== null);
              expect(seen, `${field} ${direction} limit ${limit}`).toEqual(expected);
            }
          }
        }
      });
    }
  });

  describe(`address allocation on ${dialect}`, () => {
    let stores: Stores;
    const p1 = createContext({ projectId: 'p1' });
    const p2 = createContext({ projectId: 'p2' });
    const admin = adminContext();
    const vm = '01890000-0000-7000-8000-0000000000aa';
    const vm2 = '01890000-0000-7000-8000-0000000000bb';

    beforeAll(async () => {
      stores = await openSqlStores(backends.url(dialect));
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('takes the lowest free address, skipping network, gateway and broadcast', async () => {
      const net = await stores.networks.create(p1, {
        label: 'l',
        cidr: '10.0.0.0/29',
        gateway: '10.0.0.2',
      });
      const got: string[] = [];
      for (let i = 0; i < 5; i++)
        got.push(
          (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })).address,
        );
      expect(got).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
      await expect(
        stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(ExhaustedError);
      const four = (await stores.fixedIps.list(p1, { where: { address: '10.0.0.4' } })).items[0]!;
      await stores.fixedIps.release(p1, four.id);
      expect(
        (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null })).address,
      ).toBe('10.0.0.4');
    });

    it('fills holes and handles IPv6', async () => {
      const net = await stores.networks.create(p1, {
        label: 'v6',
        cidr: '2001:db8::/126',
        gateway: '2001:db8::1',
      });
      const a = await stores.fixedIps.allocate(p1, {
        networkId: net.id,
        instanceId: vm,
        address: '2001:db8::3',
      });
      expect(a.address).toBe('2001:db8::3');
      expect(
        (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm })).address,
      ).toBe('2001:db8::2');
      await expect(
        stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(ExhaustedError);
      const top = await stores.networks.create(p1, {
        label: 'top',
        cidr: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/126',
      });
      const tops = [];
      for (let i = 0; i < 3; i++)
        tops.push(
          (await stores.fixedIps.allocate(p1, { networkId: top.id, instanceId: vm })).address,
        );
      expect(tops).toEqual([
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff1',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff2',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff3',
      ]);
      await expect(
        stores.fixedIps.allocate(p1, { networkId: top.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(ExhaustedError);
      const mapped = await stores.networks.create(p1, {
        label: 'mapped',
        cidr: '::ffff:10.0.0.0/126',
      });
      const m = await stores.fixedIps.allocate(p1, { networkId: mapped.id, instanceId: vm });
      expect((await stores.fixedIps.get(p1, m.id)).address).toBe(m.address);
      expect(
        (await stores.fixedIps.allocate(p1, { networkId: mapped.id, instanceId: vm })).address,
      ).not.toBe(m.address);
    });

    it('checks requested addresses: taken is Duplicate, unusable is InvalidInput', async () => {
      const net = await stores.networks.create(p1, {
        label: 'r',
        cidr: '10.9.0.0/24',
        gateway: '10.9.0.1',
      });
      await stores.fixedIps.allocate(p1, {
        networkId: net.id,
        instanceId: vm,
        address: '10.9.0.77',
      });
      const dup = await stores.fixedIps
        .allocate(p1, { networkId: net.id, instanceId: vm, address: '10.9.0.77' })
        .catch((e) => e);
      expect(dup).toBeInstanceOf(DuplicateError);
      expect(dup.fields).toEqual(['networkId', 'address']);
      for (const address of ['10.9.0.0', '10.9.0.1', '10.9.0.255', '10.8.0.5', '2001:db8::5']) {
        const err = await stores.fixedIps
          .allocate(p1, { networkId: net.id, instanceId: vm, address })
          .catch((e) => e);
        expect(err, address).toBeInstanceOf(InvalidInputError);
      }
      const created = await stores.fixedIps.create(p1, {
        networkId: net.id,
        instanceId: null,
        address: '10.9.0.78',
      });
      expect(created.address).toBe('10.9.0.78');
      await expect(
        stores.fixedIps.create(p1, { networkId: net.id, instanceId: null, address: '10.9.0.78' }),
      ).rejects.toBeInstanceOf(DuplicateError);
    });

    it('allocates from shared networks but not from other projects', async () => {
      const shared = await stores.networks.create(admin, {
        label: 's',
        cidr: '10.10.0.0/24',
        projectId: null,
      });
      const own = await stores.networks.create(p2, { label: 'o', cidr: '10.11.0.0/24' });
      expect(
        (await stores.fixedIps.allocate(p1, { networkId: shared.id, instanceId: vm })).projectId,
      ).toBe('p1');
      await expect(
        stores.fixedIps.allocate(p1, { networkId: own.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await stores.networks.delete(p2, own.id);
      await expect(
        stores.fixedIps.allocate(p2, { networkId: own.id, instanceId: vm }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('never gives the same address to concurrent allocations from several pools', async () => {
      const url = backends.url(dialect);
      const pools = await Promise.all([0, 1, 2, 3].map(() => openSqlStores(url)));
      try {
        const net = await pools[0]!.networks.create(p1, {
          label: 'c',
          cidr: '10.20.0.0/24',
          gateway: '10.20.0.1',
        });
        const results = await Promise.all(
          pools.flatMap((s) =>
            Array.from({ length: 10 }, () =>
              s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
            ),
          ),
        );
        const addresses = results.map((r) => r.address);
        expect(new Set(addresses).size).toBe(40);
        const expected = Array.from({ length: 40 }, (_, i) => `10.20.0.${i + 2}`);
        expect([...addresses].sort(compareValues)).toEqual([...expected].sort(compareValues));
      } finally {
        await Promise.all(pools.map((s) => s.close()));
      }
    });

    it('releases every address of an instance in its project only', async () => {
      const net = await stores.networks.create(admin, {
        label: 'rel',
        cidr: '10.30.0.0/24',
        projectId: null,
      });
      for (let i = 0; i < 3; i++)
        await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm2 });
      await stores.fixedIps.allocate(p2, { networkId: net.id, instanceId: vm2 });
      await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
      expect(await stores.fixedIps.releaseAllForInstance(p1, vm2)).toBe(3);
      expect(await stores.fixedIps.releaseAllForInstance(p1, vm2)).toBe(0);
      expect(await stores.fixedIps.count(admin, { instanceId: vm2 })).toBe(1);
      expect(await stores.fixedIps.releaseAllForInstance(admin, vm2)).toBe(1);
    });
  });
}
