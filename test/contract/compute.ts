/**
 * The compute resources' own rules: shared networks, fixed-IP allocate and release,
 * migrations in progress by host, service heartbeats and minimumVersion.
 */
import { adminContext, createContext, type Stores, withReadDeleted } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import type { Pair } from './pair.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const VM = '01890000-0000-7000-8000-0000000000aa';
const VM2 = '01890000-0000-7000-8000-0000000000bb';

/** Registers, on the shared pair, the compute examples. */
export function computeContract(pair: () => Pair): void {
  describe('shared networks', () => {
    it('are read by every project and changed only by admins', async () => {
      const pa = createContext({ projectId: 'net-a' });
      const pb = createContext({ projectId: 'net-b' });
      const shared = await pair().same((s) =>
        s.networks.create(admin, { label: 's', cidr: '10.9.0.0/24', projectId: null }),
      );
      const own = await pair().same((s) =>
        s.networks.create(pa, { label: 'o', cidr: '10.8.0.0/24' }),
      );
      expect((await pair().same((s) => s.networks.get(pb, shared.id))).projectId).toBeNull();
      const seen = async (ctx: typeof pa) => {
        const page = await pair().same((s) => s.networks.list(ctx, { limit: 1000 }));
        for (const n of page.items) expect([null, ctx.projectId]).toContain(n.projectId);
        return page.items.map((n) => n.id);
      };
      expect(await seen(pa)).toEqual(expect.arrayContaining([shared.id, own.id]));
      const ofB = await seen(pb);
      expect(ofB).toContain(shared.id);
      expect(ofB).not.toContain(own.id);
      expect(
        (await pair().same((s) => s.networks.list(pb, { where: { id: shared.id } }))).items,
      ).toHaveLength(1);
      expect(await pair().same((s) => s.networks.count(pb, { projectId: null }))).toBe(ofB.length);
      expect(await pair().same((s) => s.networks.count(pb, { projectId: 'net-a' }))).toBe(0);
      for (const call of [
        (s: Stores) => s.networks.update(pb, shared.id, { label: 'mine' }),
        (s: Stores) => s.networks.update(pa, shared.id, { label: 'mine' }),
        (s: Stores) => s.networks.delete(pb, shared.id),
        (s: Stores) => s.networks.update(pb, own.id, { label: 'theirs' }),
      ]) {
        expect(await pair().fails(call)).toMatchObject({ name: 'NotFoundError' });
      }
      expect(
        await pair().fails((s) =>
          s.networks.create(p1, { label: 's', cidr: '10.9.0.0/24', projectId: null }),
        ),
      ).toMatchObject({ name: 'InvalidInputError' });
      expect(
        (await pair().same((s) => s.networks.update(admin, shared.id, { label: 'ok' }))).label,
      ).toBe('ok');
    });
  });

  describe('fixed IPs', () => {
    it('allocates the lowest free address, never network, broadcast or gateway', async () => {
      const net = await pair().same((s) =>
        s.networks.create(p1, { label: 'n', cidr: '10.0.0.0/29', gateway: '10.0.0.1' }),
      );
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      const got: string[] = [];
      for (let i = 0; i < 5; i++) {
        const ip = await pair().same((s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id }),
        );
        got.push(ip.address);
      }
      expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
      expect(
        await pair().fails((s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id }),
        ),
      ).toMatchObject({ name: 'ExhaustedError', code: 'EXHAUSTED' });
      // A gateway in the middle is skipped, and a released address is the lowest free again.
      const mid = await pair().same((s) =>
        s.networks.create(p1, { label: 'm', cidr: '10.0.1.0/29', gateway: '10.0.1.2' }),
      );
      const inMid: string[] = [];
      for (let i = 0; i < 5; i++) {
        const ip = await pair().same((s) =>
          s.fixedIps.allocate(p1, { networkId: mid.id, instanceId: VM }),
        );
        inMid.push(ip.address);
      }
      expect(inMid).toEqual(['10.0.1.1', '10.0.1.3', '10.0.1.4', '10.0.1.5', '10.0.1.6']);
      const four = await pair().same((s) =>
        s.fixedIps.list(p1, { where: { networkId: mid.id, address: '10.0.1.4' } }),
      );
      await pair().same((s) => s.fixedIps.release(p1, four.items[0]!.id));
      const again = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: mid.id, instanceId: null }),
      );
      expect(again).toMatchObject({ address: '10.0.1.4', instanceId: null, projectId: 'p1' });
    });

    it('takes a requested address, refusing taken, reserved and foreign ones', async () => {
      const net = await pair().same((s) =>
        s.networks.create(p1, { label: 'r', cidr: '10.9.0.0/24', gateway: '10.9.0.1' }),
      );
      const ip = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: null, address: '10.9.0.77' }),
      );
      expect(ip).toMatchObject({
        address: '10.9.0.77',
        instanceId: null,
        networkId: net.id,
        projectId: 'p1',
      });
      expect(
        await pair().fails((s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address: '10.9.0.77' }),
        ),
      ).toMatchObject({ name: 'DuplicateError', fields: ['networkId', 'address'] });
      for (const address of ['10.9.0.0', '10.9.0.1', '10.9.0.255', '10.8.0.5', '2001:db8::5']) {
        const err = await pair().fails((s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address }),
        );
        expect(err.name, address).toBe('InvalidInputError');
      }
      // create checks the address as allocate does.
      expect(
        await pair().fails((s) =>
          s.fixedIps.create(p1, { networkId: net.id, address: '10.9.0.0', instanceId: null }),
        ),
      ).toMatchObject({ name: 'InvalidInputError' });
      const made = await pair().same((s) =>
        s.fixedIps.create(p1, { networkId: net.id, address: '10.9.0.78', instanceId: null }),
      );
      expect(made.address).toBe('10.9.0.78');
      expect(
        await pair().fails((s) =>
          s.fixedIps.create(p1, { networkId: net.id, address: '10.9.0.78', instanceId: null }),
        ),
      ).toMatchObject({ name: 'DuplicateError' });
      // The lowest free address skips the requested ones.
      const low = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
      );
      expect(low.address).toBe('10.9.0.2');
    });

    it('allocates from own and shared networks only, never from a deleted one', async () => {
      const mine = await pair().same((s) =>
        s.networks.create(p1, { label: 'n', cidr: '10.2.0.0/24' }),
      );
      const shared = await pair().same((s) =>
        s.networks.create(admin, { label: 's', cidr: '10.1.0.0/24', projectId: null }),
      );
      expect(
        await pair().fails((s) =>
          s.fixedIps.allocate(p2, { networkId: mine.id, instanceId: null }),
        ),
      ).toMatchObject({ name: 'NotFoundError', resource: 'network', id: mine.id });
      const theirs = await pair().same((s) =>
        s.fixedIps.allocate(p2, { networkId: shared.id, instanceId: null }),
      );
      expect(theirs).toMatchObject({ projectId: 'p2', address: '10.1.0.1' });
      await pair().same((s) => s.fixedIps.get(p2, theirs.id));
      expect(await pair().fails((s) => s.fixedIps.get(p1, theirs.id))).toMatchObject({
        name: 'NotFoundError',
      });
      await pair().same((s) => s.networks.delete(p1, mine.id));
      expect(
        await pair().fails((s) =>
          s.fixedIps.allocate(p1, { networkId: mine.id, instanceId: null }),
        ),
      ).toMatchObject({ name: 'NotFoundError' });
    });

    it('handles IPv6: holes, the top of the space, IPv4-mapped, shared /125', async () => {
      const net = await pair().same((s) =>
        s.networks.create(p1, { label: 'v6', cidr: '2001:db8::/126', gateway: '2001:db8::1' }),
      );
      const a = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, address: '2001:db8::3' }),
      );
      expect(a.address).toBe('2001:db8::3');
      const hole = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }),
      );
      expect(hole.address).toBe('2001:db8::2');
      expect(
        await pair().fails((s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM })),
      ).toMatchObject({ name: 'ExhaustedError' });
      const top = await pair().same((s) =>
        s.networks.create(p1, {
          label: 'top',
          cidr: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/126',
        }),
      );
      const tops: string[] = [];
      for (let i = 0; i < 3; i++) {
        const ip = await pair().same((s) =>
          s.fixedIps.allocate(p1, { networkId: top.id, instanceId: VM }),
        );
        tops.push(ip.address);
      }
      expect(tops).toEqual([
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff1',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff2',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff3',
      ]);
      expect(
        await pair().fails((s) => s.fixedIps.allocate(p1, { networkId: top.id, instanceId: VM })),
      ).toMatchObject({ name: 'ExhaustedError' });
      const mapped = await pair().same((s) =>
        s.networks.create(p1, { label: 'mapped', cidr: '::ffff:10.0.0.0/126' }),
      );
      const m = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: mapped.id, instanceId: VM }),
      );
      expect((await pair().same((s) => s.fixedIps.get(p1, m.id))).address).toBe(m.address);
      const m2 = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: mapped.id, instanceId: VM }),
      );
      expect(m2.address).not.toBe(m.address);
      const shared = await pair().same((s) =>
        s.networks.create(admin, { label: 's6', cidr: 'fd00::/125', projectId: null }),
      );
      const ip = await pair().same((s) =>
        s.fixedIps.allocate(p2, { networkId: shared.id, instanceId: null }),
      );
      expect(ip).toMatchObject({ address: 'fd00::1', projectId: 'p2' });
      const made = await pair().same((s) =>
        s.fixedIps.create(p2, { networkId: shared.id, address: 'fd00::5', instanceId: null }),
      );
      expect(made.address).toBe('fd00::5');
    });

    it('releases one address, or all of an instance in the caller project', async () => {
      const net = await pair().same((s) =>
        s.networks.create(admin, { label: 'rel', cidr: '10.30.0.0/24', projectId: null }),
      );
      const first = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM2 }),
      );
      for (let i = 0; i < 2; i++) {
        await pair().same((s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM2 }));
      }
      await pair().same((s) => s.fixedIps.allocate(p2, { networkId: net.id, instanceId: VM2 }));
      await pair().same((s) => s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }));
      expect((await pair().same((s) => s.fixedIps.release(p1, first.id))).address).toBe(
        first.address,
      );
      expect(await pair().fails((s) => s.fixedIps.release(p1, first.id))).toMatchObject({
        name: 'NotFoundError',
      });
      const count = (where: Record<string, unknown>) =>
        pair().same((s) => s.fixedIps.count(admin, { networkId: net.id, ...where }));
      const p3 = createContext({ projectId: 'p3' });
      expect(await pair().same((s) => s.fixedIps.releaseAllForInstance(p3, VM2))).toBe(0);
      expect(await pair().same((s) => s.fixedIps.releaseAllForInstance(p1, VM2))).toBe(2);
      expect(await pair().same((s) => s.fixedIps.releaseAllForInstance(p1, VM2))).toBe(0);
      expect(await count({ instanceId: VM2 })).toBe(1);
      expect(await count({ instanceId: VM })).toBe(1);
      expect(await pair().same((s) => s.fixedIps.releaseAllForInstance(admin, VM2))).toBe(1);
      expect(await count({})).toBe(1);
      // The released addresses are the lowest free ones again.
      const next = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM }),
      );
      expect(next.address).toBe('10.30.0.1');
      expect(await pair().fails((s) => s.fixedIps.releaseAllForInstance(p1, 'nope'))).toMatchObject(
        { name: 'InvalidInputError' },
      );
      expect(
        await pair().fails((s) =>
          s.fixedIps.allocate(p1, { networkId: net.id, instanceId: VM, extra: 1 } as never),
        ),
      ).toMatchObject({ name: 'InvalidInputError' });
      await pair().same((s) => s.fixedIps.count(withReadDeleted(admin, 'yes')));
    });
  });

  describe('migrations and services', () => {
    it('lists live in-progress migrations from or to a host', async () => {
      const create = (ctx: typeof p1, values: Record<string, unknown>) =>
        pair().same((s) => s.migrations.create(ctx, { instanceId: VM, ...values } as never));
      const a = await create(p1, { sourceCompute: 'h1', destCompute: 'h2', status: 'running' });
      const b = await create(p1, { sourceCompute: 'h3', destCompute: 'h1' });
      await create(p1, { sourceCompute: 'h1', destCompute: 'h2', status: 'finished' });
      const c = await create(p1, { sourceCompute: 'h1', destCompute: 'h1', status: 'preparing' });
      await create(p2, { sourceCompute: 'h1', destCompute: 'h2' });
      const d = await create(p1, { sourceCompute: 'h1', destCompute: null });
      await pair().same((s) => s.migrations.delete(p1, d.id));
      const mine = await pair().same((s) => s.migrations.listInProgressByHost(p1, 'h1'));
      expect(mine.map((m) => m.id)).toEqual([a.id, b.id, c.id]);
      expect(await pair().same((s) => s.migrations.listInProgressByHost(admin, 'h1'))).toHaveLength(
        4,
      );
      expect(await pair().same((s) => s.migrations.listInProgressByHost(p1, 'nowhere'))).toEqual(
        [],
      );
      expect(
        await pair().fails((s) => s.migrations.listInProgressByHost(p1, 5 as never)),
      ).toMatchObject({ name: 'InvalidInputError' });
    });

    it('heartbeat upserts by (host, binary); minimumVersion ignores disabled and deleted services', async () => {
      const beat = (host: string, binary: string, codeVersion: number) =>
        pair().same((s) => s.services.heartbeat(admin, { host, binary, codeVersion }));
      const s1 = await beat('h1', 'compute', 5);
      pair().advance(1000);
      const seen = pair().now();
      const s1b = await beat('h1', 'compute', 6);
      expect(s1b).toMatchObject({ id: s1.id, revision: 2, codeVersion: 6, lastSeenAt: seen });
      const s2 = await beat('h2', 'compute', 4);
      await beat('h3', 'compute', 1);
      const minimum = (binary: string) => pair().same((s) => s.services.minimumVersion(p1, binary));
      expect(await minimum('compute')).toBe(1);
      const h3 = (await pair().same((s) => s.services.list(p1, { where: { host: 'h3' } as never })))
        .items[0]!;
      await pair().same((s) => s.services.update(admin, h3.id, { disabled: true }));
      expect(await minimum('compute')).toBe(4);
      await pair().same((s) => s.services.delete(admin, s2.id));
      expect(await minimum('compute')).toBe(6);
      expect(await minimum('scheduler')).toBeNull();
      // Global records are read by every project.
      expect((await pair().same((s) => s.services.get(p1, s1.id))).id).toBe(s1.id);
      expect(await pair().same((s) => s.services.count(p1, { binary: 'compute' }))).toBe(2);
    });

    it('global resources are written by admins only, with valid values', async () => {
      expect(
        await pair().fails((s) =>
          s.services.heartbeat(p1, { host: 'h', binary: 'b', codeVersion: 1 }),
        ),
      ).toMatchObject({ name: 'ForbiddenError' });
      expect(
        await pair().fails((s) =>
          s.services.create(p1, {
            host: 'h',
            binary: 'b',
            codeVersion: 1,
            lastSeenAt: '2026-01-01T00:00:00Z',
          }),
        ),
      ).toMatchObject({ name: 'ForbiddenError' });
      expect(
        await pair().fails((s) =>
          s.services.heartbeat(admin, { host: 'h', binary: 'B A D', codeVersion: 1 }),
        ),
      ).toMatchObject({ name: 'InvalidInputError' });
    });
  });
}
