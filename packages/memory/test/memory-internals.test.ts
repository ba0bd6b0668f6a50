/**
 * What only the memory adapter has: named in-process databases, and a closed bag that
 * refuses calls as a closed connection does. The store contract itself is checked for
 * every backend by the root spec test/store-contract.test.ts.
 */
import { adminContext, createContext, NotFoundError, UnavailableError } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { openMemoryStores } from '../src/index.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const admin = adminContext();
const flavor = { vcpus: 2, memoryMb: 2048, rootGb: 20 };

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
