/**
 * Writes: update with expectedRevision and expected values, soft and hard delete,
 * readDeleted, purge, and unique constraints among live records.
 */
import { adminContext, createContext, type Stores, withReadDeleted } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import type { Pair } from './pair.js';
import { gadgetResource, widgetResource } from './resources.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 2, memoryMb: 2048, rootGb: 20 };
const MISSING = '01890000-0000-7000-8000-000000000000';

const gadgets = (s: Stores) => s.store(gadgetResource);
const widgets = (s: Stores) => s.store(widgetResource);

/** Registers, on the shared pair, the write examples. */
export function writeContract(pair: () => Pair): void {
  describe('update', () => {
    it('bumps revision by one and updatedAt, keeps createdAt and the other fields', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor, displayName: 'a' }));
      pair().advance(1000);
      const at = pair().now();
      const up = await pair().same((s) =>
        s.instances.update(p1, vm.id, { host: 'h1' }, { expectedRevision: 1 }),
      );
      expect(up).toEqual({ ...vm, host: 'h1', revision: 2, updatedAt: at });
      const nested = await pair().same((s) =>
        s.instances.update(p1, vm.id, { metadata: { k: 'v' }, flavor: { ...flavor, vcpus: 4 } }),
      );
      expect(nested).toMatchObject({ metadata: { k: 'v' }, flavor: { vcpus: 4 }, revision: 3 });
      expect(await pair().same((s) => s.instances.get(p1, vm.id))).toEqual(nested);
    });

    it('refuses a stale revision with ConflictError carrying the current one', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      await pair().same((s) => s.instances.update(p1, vm.id, { host: 'a' }));
      expect(
        await pair().fails((s) =>
          s.instances.update(p1, vm.id, { host: 'b' }, { expectedRevision: 1 }),
        ),
      ).toMatchObject({ name: 'ConflictError', reason: 'revision', currentRevision: 2 });
      expect((await pair().same((s) => s.instances.get(p1, vm.id))).host).toBe('a');
    });

    it('checks expected values, null included, with the revision, atomically', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      const v2 = await pair().same((s) =>
        s.instances.update(
          p1,
          vm.id,
          { taskState: 'spawning' },
          { expected: { taskState: [null, 'scheduling'] } },
        ),
      );
      expect(v2).toMatchObject({ revision: 2, taskState: 'spawning' });
      expect(
        await pair().fails((s) =>
          s.instances.update(
            p1,
            vm.id,
            { taskState: 'deleting' },
            { expected: { taskState: null } },
          ),
        ),
      ).toMatchObject({
        name: 'ConflictError',
        reason: 'expected',
        field: 'taskState',
        currentRevision: 2,
      });
      const v3 = await pair().same((s) =>
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
      expect(v3).toMatchObject({ revision: 3, vmState: 'active', taskState: null });
      // The index entries moved with the record.
      const building = await pair().same((s) =>
        s.instances.list(p1, { where: { vmState: 'building', id: vm.id } }),
      );
      expect(building.items).toEqual([]);
      const active = await pair().same((s) =>
        s.instances.list(p1, { where: { vmState: 'active', id: vm.id } }),
      );
      expect(active.items).toEqual([v3]);
    });

    it('is NotFoundError for another project, a deleted record or a missing one', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      for (const call of [
        (s: Stores) => s.instances.update(p2, vm.id, { host: 'x' }),
        (s: Stores) => s.instances.update(p1, MISSING, { host: 'x' }, { expectedRevision: 1 }),
      ]) {
        expect(await pair().fails(call)).toMatchObject({ name: 'NotFoundError' });
      }
      expect((await pair().same((s) => s.instances.update(admin, vm.id, { host: 'x' }))).host).toBe(
        'x',
      );
      await pair().same((s) => s.instances.delete(p1, vm.id));
      expect(await pair().fails((s) => s.instances.update(p1, vm.id, { host: 'y' }))).toMatchObject(
        { name: 'NotFoundError' },
      );
      expect(
        await pair().fails((s) => s.instances.update(admin, vm.id, { host: 'y' })),
      ).toMatchObject({ name: 'NotFoundError' });
    });
  });

  describe('delete, readDeleted and purge', () => {
    it('soft-deletes, and readDeleted decides what reads see', async () => {
      const ctx = createContext({ projectId: 'soft' });
      const a = await pair().same((s) => s.instances.create(ctx, { flavor }));
      const b = await pair().same((s) => s.instances.create(ctx, { flavor }));
      expect(
        await pair().fails((s) => s.instances.delete(ctx, a.id, { expectedRevision: 9 })),
      ).toMatchObject({ name: 'ConflictError', currentRevision: 1 });
      expect(await pair().fails((s) => s.instances.delete(p2, a.id))).toMatchObject({
        name: 'NotFoundError',
      });
      pair().advance(10);
      const at = pair().now();
      const gone = await pair().same((s) => s.instances.delete(ctx, a.id, { expectedRevision: 1 }));
      expect(gone).toEqual({ ...a, revision: 2, deletedAt: at, updatedAt: at });
      expect(await pair().fails((s) => s.instances.get(ctx, a.id))).toMatchObject({
        name: 'NotFoundError',
      });
      expect(await pair().same((s) => s.instances.get(withReadDeleted(ctx, 'yes'), a.id))).toEqual(
        gone,
      );
      expect(await pair().same((s) => s.instances.get(withReadDeleted(ctx, 'only'), a.id))).toEqual(
        gone,
      );
      const only = await pair().same((s) => s.instances.list(withReadDeleted(ctx, 'only')));
      expect(only.items).toEqual([gone]);
      expect(await pair().same((s) => s.instances.count(withReadDeleted(ctx, 'yes')))).toBe(2);
      expect(await pair().same((s) => s.instances.count(ctx))).toBe(1);
      expect(
        await pair().fails((s) => s.instances.get(withReadDeleted(ctx, 'only'), b.id)),
      ).toMatchObject({ name: 'NotFoundError' });
      expect(
        await pair().same((s) => s.instances.getMany(withReadDeleted(ctx, 'yes'), [a.id, a.id])),
      ).toEqual([gone]);
      // Deleting again, or through another project, is NotFound.
      expect(await pair().fails((s) => s.instances.delete(ctx, a.id))).toMatchObject({
        name: 'NotFoundError',
      });
      expect(await pair().fails((s) => s.instances.delete(p2, b.id))).toMatchObject({
        name: 'NotFoundError',
      });
    });

    it('refuses a stale revision on delete with the current one', async () => {
      const a = await pair().same((s) => s.instances.create(p1, { flavor }));
      await pair().same((s) => s.instances.update(p1, a.id, {}));
      expect(
        await pair().fails((s) => s.instances.delete(p1, a.id, { expectedRevision: 1 })),
      ).toMatchObject({ name: 'ConflictError', reason: 'revision', currentRevision: 2 });
    });

    it('hard-deletes records of resources without soft delete', async () => {
      const w = await pair().same((s) => widgets(s).create(admin, { label: 'a', kind: 'hard' }));
      expect((await pair().same((s) => widgets(s).list(p1))).items).toEqual([w]);
      expect(await pair().same((s) => widgets(s).delete(admin, w.id))).toEqual(w);
      expect(
        await pair().fails((s) => widgets(s).get(withReadDeleted(admin, 'yes'), w.id)),
      ).toMatchObject({ name: 'NotFoundError' });
      expect(await pair().same((s) => widgets(s).count(withReadDeleted(admin, 'yes')))).toBe(0);
      expect(await pair().same((s) => widgets(s).count(withReadDeleted(admin, 'only')))).toBe(0);
      // A hard-deleted id and unique value are free again.
      await pair().same((s) => widgets(s).create(admin, { id: w.id, label: 'b', kind: 'hard' }));
      const net = await pair().same((s) =>
        s.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' }),
      );
      const ip = await pair().same((s) =>
        s.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
      );
      expect((await pair().same((s) => s.fixedIps.delete(p1, ip.id))).id).toBe(ip.id);
      expect(
        await pair().fails((s) => s.fixedIps.get(withReadDeleted(p1, 'yes'), ip.id)),
      ).toMatchObject({ name: 'NotFoundError' });
    });

    it('purge is admin-only and removes records deleted before the instant', async () => {
      const ctx = createContext({ projectId: 'purge' });
      const vm = '00000000-0000-7000-8000-0000000000aa';
      const keep = await pair().same((s) => s.migrations.create(ctx, { instanceId: vm }));
      const a = await pair().same((s) => s.migrations.create(ctx, { instanceId: vm }));
      const b = await pair().same((s) => s.migrations.create(ctx, { instanceId: vm }));
      const goneA = await pair().same((s) => s.migrations.delete(ctx, a.id));
      pair().advance(60_000);
      const goneB = await pair().same((s) => s.migrations.delete(ctx, b.id));
      expect(
        await pair().fails((s) => s.migrations.purge(ctx, { deletedBefore: goneB.deletedAt! })),
      ).toMatchObject({ name: 'ForbiddenError' });
      const purge = (deletedBefore: string) =>
        pair().same((s) => s.migrations.purge(admin, { deletedBefore }));
      expect(await purge('2000-01-01T00:00:00Z')).toBe(0);
      // The instant itself is not before it.
      expect(await purge(goneA.deletedAt!)).toBe(0);
      expect(await purge(new Date(Date.parse(goneA.deletedAt!) + 1).toISOString())).toBe(1);
      expect(
        await pair().fails((s) => s.migrations.get(withReadDeleted(admin, 'yes'), a.id)),
      ).toMatchObject({ name: 'NotFoundError' });
      expect(await pair().same((s) => s.migrations.get(withReadDeleted(ctx, 'yes'), b.id))).toEqual(
        goneB,
      );
      expect(await pair().same((s) => s.migrations.count(withReadDeleted(ctx, 'yes')))).toBe(2);
      expect(await purge(new Date(Date.parse(pair().now()) + 1).toISOString())).toBe(1);
      expect(await pair().same((s) => s.migrations.count(withReadDeleted(admin, 'only')))).toBe(0);
      expect((await pair().same((s) => s.migrations.get(ctx, keep.id))).id).toBe(keep.id);
      // A purged id is free again.
      const again = await pair().same((s) =>
        s.migrations.create(ctx, { id: a.id, instanceId: vm }),
      );
      expect(again.revision).toBe(1);
    });
  });

  describe('unique constraints among live records', () => {
    it('holds a single nullable field unique (network vlan); null never conflicts; delete frees it', async () => {
      const a = await pair().same((s) =>
        s.networks.create(p1, { label: 'a', cidr: '10.1.0.0/24', vlan: 100 }),
      );
      expect(
        await pair().fails((s) =>
          s.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 100 }),
        ),
      ).toMatchObject({ name: 'DuplicateError', fields: ['vlan'] });
      const n1 = await pair().same((s) =>
        s.networks.create(p1, { label: 'n1', cidr: '10.3.0.0/24' }),
      );
      await pair().same((s) =>
        s.networks.create(p1, { label: 'n2', cidr: '10.3.0.0/24', vlan: null }),
      );
      const b = await pair().same((s) =>
        s.networks.create(p2, { label: 'b', cidr: '10.2.0.0/24', vlan: 101 }),
      );
      // An update to a taken value is refused and changes nothing.
      expect(await pair().fails((s) => s.networks.update(p2, b.id, { vlan: 100 }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['vlan'],
      });
      expect((await pair().same((s) => s.networks.get(p2, b.id))).vlan).toBe(101);
      // Keeping one's own value is no conflict.
      expect(
        (await pair().same((s) => s.networks.update(p1, a.id, { vlan: 100, label: 'same' })))
          .revision,
      ).toBe(2);
      await pair().same((s) => s.networks.delete(p1, a.id));
      expect((await pair().same((s) => s.networks.update(p2, b.id, { vlan: 100 }))).vlan).toBe(100);
      // The value moved: the old one is free again, and so is one set to null.
      await pair().same((s) =>
        s.networks.create(p1, { label: 'c', cidr: '10.5.0.0/24', vlan: 101 }),
      );
      await pair().same((s) => s.networks.update(p2, b.id, { vlan: null }));
      await pair().same((s) => s.networks.update(p1, n1.id, { vlan: 100 }));
      await pair().same((s) =>
        s.networks.list(withReadDeleted(admin, 'yes'), { where: { vlan: 100 } }),
      );
    });

    it('holds single and paired gadget constraints only when every field is set', async () => {
      const a = await pair().same((s) =>
        gadgets(s).create(p1, { code: 'x', color: 'red', rank: 1, zone: 'r', slot: 1 }),
      );
      expect(await pair().fails((s) => gadgets(s).create(p2, { code: 'x' }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['code'],
      });
      expect(
        await pair().fails((s) => gadgets(s).create(p1, { color: 'red', rank: 1 })),
      ).toMatchObject({ name: 'DuplicateError', fields: ['color', 'rank'] });
      expect(
        await pair().fails((s) => gadgets(s).create(p2, { zone: 'r', slot: 1 })),
      ).toMatchObject({
        name: 'DuplicateError',
        fields: ['zone', 'slot'],
      });
      await pair().same((s) => gadgets(s).create(p1, { color: 'red', rank: null }));
      await pair().same((s) => gadgets(s).create(p1, { color: 'red', rank: null }));
      await pair().same((s) => gadgets(s).create(p1, { code: null }));
      await pair().same((s) => gadgets(s).create(p1, { zone: 'r', slot: null }));
      const u = await pair().same((s) =>
        gadgets(s).create(p1, { zone: 'r', slot: null, code: 'y' }),
      );
      await pair().same((s) => gadgets(s).create(p1, { zone: null, slot: 1 }));
      await pair().same((s) => gadgets(s).create(p1, { zone: null, slot: 1 }));
      expect(await pair().fails((s) => gadgets(s).update(p1, u.id, { slot: 1 }))).toMatchObject({
        fields: ['zone', 'slot'],
      });
      expect(await pair().fails((s) => gadgets(s).update(p1, u.id, { code: 'x' }))).toMatchObject({
        fields: ['code'],
      });
      expect((await pair().same((s) => gadgets(s).get(p1, u.id))).code).toBe('y');
      await pair().same((s) => gadgets(s).update(p1, u.id, { slot: 2 }));
      await pair().same((s) => gadgets(s).update(p1, u.id, { zone: null }));
      await pair().same((s) => gadgets(s).update(p1, u.id, { zone: 'r' }));
      await pair().same((s) => gadgets(s).delete(p1, a.id));
      await pair().same((s) => gadgets(s).update(p1, u.id, { code: 'x' }));
      await pair().same((s) =>
        gadgets(s).create(p1, { code: 'y', color: 'red', rank: 1, zone: 'r', slot: 1 }),
      );
    });

    it('holds service (host, binary) and widget kind unique, free again after delete', async () => {
      const at = '2026-01-01T00:00:00Z';
      const s1 = await pair().same((s) =>
        s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 1, lastSeenAt: at }),
      );
      expect(
        await pair().fails((s) =>
          s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 2, lastSeenAt: at }),
        ),
      ).toMatchObject({ name: 'DuplicateError', fields: ['host', 'binary'] });
      await pair().same((s) =>
        s.services.create(admin, {
          host: 'x',
          binary: 'conductor',
          codeVersion: 2,
          lastSeenAt: at,
        }),
      );
      await pair().same((s) => s.services.delete(admin, s1.id));
      await pair().same((s) =>
        s.services.create(admin, { host: 'x', binary: 'api', codeVersion: 3, lastSeenAt: at }),
      );
      const w = await pair().same((s) => widgets(s).create(admin, { label: 'w', kind: 'k' }));
      expect(await pair().fails((s) => widgets(s).create(admin, { kind: 'k' }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['kind'],
      });
      await pair().same((s) => widgets(s).create(admin, { kind: null }));
      await pair().same((s) => widgets(s).create(admin, { kind: null }));
      await pair().same((s) => widgets(s).delete(admin, w.id));
      await pair().same((s) => widgets(s).create(admin, { kind: 'k' }));
    });
  });
}
