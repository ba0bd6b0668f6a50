/**
 * Several clients of one store at once: atomic conditional writes, no lost update, no
 * address given twice, one service per (host, binary). Races have no single reference
 * outcome, so these examples assert the documented one.
 */
import { adminContext, ConflictError, createContext, type Stores } from '@polystore/core';
import type { StoreBackend } from '@polystore/testing/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePair } from './pair.js';
import { widgetResource } from './resources.js';

const p1 = createContext({ projectId: 'p1' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

/** Registers the several-clients examples for one backend. */
export function clientContract(backend: StoreBackend): void {
  describe('several clients', () => {
    const pair = usePair(backend);
    let clients: Stores[];

    beforeAll(async () => {
      clients = [pair().stores, await pair().client(), await pair().client()];
    });

    it('exactly one of two racing conditional updates wins; the other is a ConflictError', async () => {
      const [a, b] = clients as [Stores, Stores];
      const vm = await a.instances.create(p1, { flavor });
      const results = await Promise.allSettled([
        a.instances.update(p1, vm.id, { host: 'x' }, { expectedRevision: 1 }),
        b.instances.update(p1, vm.id, { host: 'y' }, { expectedRevision: 1 }),
      ]);
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(ConflictError);
      expect(lost[0]).toMatchObject({ currentRevision: 2 });
      expect(await b.instances.get(p1, vm.id)).toEqual(won[0]);
    });

    it('loses no update when clients read-modify-write under expectedRevision', async () => {
      const vm = await clients[0]!.instances.create(p1, { flavor, displayName: '0' });
      const rounds = 4;
      await Promise.all(
        clients.map(async (s) => {
          for (let i = 0; i < rounds; i++) {
            for (;;) {
              const cur = await s.instances.get(p1, vm.id);
              try {
                await s.instances.update(
                  p1,
                  vm.id,
                  { displayName: String(Number(cur.displayName) + 1) },
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
      const counted = clients.length * rounds;
      const final = await clients[0]!.instances.get(p1, vm.id);
      expect(final).toMatchObject({ displayName: String(counted), revision: counted + 1 });
      // Unconditional updates at once are all applied, each one revision.
      await Promise.all(
        clients.map((s, i) => s.instances.update(p1, vm.id, { hostname: `h${i}` })),
      );
      expect((await clients[1]!.instances.get(p1, vm.id)).revision).toBe(
        counted + 1 + clients.length,
      );
    });

    it('never gives one address twice to racing allocations, and exhausts cleanly', async () => {
      const net = await clients[0]!.networks.create(p1, {
        label: 'race',
        cidr: '10.7.0.0/28',
        gateway: '10.7.0.1',
      });
      const results = await Promise.allSettled(
        Array.from({ length: 15 }, (_, i) =>
          clients[i % clients.length]!.fixedIps.allocate(p1, {
            networkId: net.id,
            instanceId: null,
          }),
        ),
      );
      const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      // A /28 has 16 addresses: network, broadcast and gateway are never given out.
      const expected = Array.from({ length: 13 }, (_, i) => `10.7.0.${i + 2}`);
      expect([...addresses].sort()).toEqual([...expected].sort());
      expect(failures.map((e) => e.name)).toEqual(Array(2).fill('ExhaustedError'));
      expect(await clients[2]!.fixedIps.count(p1, { networkId: net.id })).toBe(13);
    });

    it('racing heartbeats of one service create it once', async () => {
      const beats = await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          clients[i % clients.length]!.services.heartbeat(admin, {
            host: 'race',
            binary: 'compute',
            codeVersion: i,
          }),
        ),
      );
      expect(new Set(beats.map((b) => b.id)).size).toBe(1);
      expect(await clients[0]!.services.count(admin, { host: 'race' } as never)).toBe(1);
      expect(Math.max(...beats.map((b) => b.revision))).toBe(9);
    });

    it('never writes from a remembered earlier incarnation of an id', async () => {
      const mine = clients[0]!.store(widgetResource);
      const theirs = clients[1]!.store(widgetResource);
      const first = await mine.create(admin, { label: 'first', kind: 'incarnation' });
      // Another client removes it and creates it again with the same id.
      await theirs.delete(admin, first.id);
      const second = await theirs.create(admin, {
        id: first.id,
        label: 'second',
        kind: 'incarnation',
      });
      const updated = await mine.update(admin, first.id, { kind: 'u' }, { expectedRevision: 1 });
      expect(updated).toEqual({ ...second, kind: 'u', revision: 2, updatedAt: updated.updatedAt });
      expect((await theirs.list(admin, { where: { kind: 'u' } })).items).toEqual([updated]);
      expect(await theirs.count(admin, { kind: 'incarnation' })).toBe(0);
    });
  });
}
