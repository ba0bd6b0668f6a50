import { createContext, type Stores } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { openFresh } from './zookeeper-fixture.js';

let zk: ZooKeeperServer;
let stores: Stores;
let backend: ZooKeeperBackend;
let other: { stores: Stores; backend: ZooKeeperBackend };

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
  let chroot: string;
  ({ stores, backend, chroot } = await openFresh(zk.url));
  other = await openFresh(zk.url, { chroot });
});
afterAll(async () => {
  await stores?.close();
  await other?.stores.close();
  await zk?.stop();
});

const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

/** Requests the backend sent while `run` ran (requests pipelined together count one each). */
async function requests(b: ZooKeeperBackend, run: () => Promise<unknown>): Promise<number> {
  const before = b.requests;
  await run();
  return b.requests - before;
}

/** One of each operation; returns the requests each took. */
async function scenario(round: number): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  let id = '';
  figures.create = await requests(backend, async () => {
    id = (await stores.instances.create(ctx, { flavor })).id;
  });
  figures.get = await requests(backend, () => stores.instances.get(ctx, id));
  figures['update, expectedRevision'] = await requests(backend, () =>
    stores.instances.update(ctx, id, { displayName: 'x' }, { expectedRevision: 1 }),
  );
  figures['update, expected values'] = await requests(backend, () =>
    stores.instances.update(
      ctx,
      id,
      { taskState: 'spawning' },
      { expected: { taskState: [null] } },
    ),
  );
  figures['delete, expectedRevision'] = await requests(backend, () =>
    stores.instances.delete(ctx, id, { expectedRevision: 3 }),
  );
  // Another client, which never read the record: one read, one multi.
  const cold = (await stores.instances.create(ctx, { flavor })).id;
  figures['update, expected values, never read'] = await requests(other.backend, () =>
    other.stores.instances.update(
      ctx,
      cold,
      { taskState: 'spawning' },
      { expected: { taskState: [null] } },
    ),
  );
  figures['update, expectedRevision, by that client again'] = await requests(other.backend, () =>
    other.stores.instances.update(ctx, cold, { taskState: null }, { expectedRevision: 2 }),
  );
  // A stale remembered state costs one more round: the version check fails, read, write.
  await stores.instances.update(ctx, cold, { hostname: 'a' });
  figures['update, stale remembered state'] = await requests(other.backend, () =>
    other.stores.instances.update(
      ctx,
      cold,
      { hostname: 'b' },
      { expected: { taskState: [null] } },
    ),
  );
  const net = await stores.networks.create(ctx, { label: `n${round}`, cidr: `10.${round}.0.0/24` });
  figures.allocate = await requests(backend, () =>
    stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null }),
  );
  figures['list by index (3 rows)'] = await requests(backend, () =>
    stores.instances.list(ctx, { where: { vmState: 'building' }, limit: 3 }),
  );
  return figures;
}

it('measures requests per operation', async () => {
  // The first run creates index value directories as values are first used; the second
  // runs against existing ones, as a long-running process mostly does.
  const first = await scenario(1);
  const steady = await scenario(2);
  console.log('requests per operation, first use of values:', first);
  console.log('requests per operation, steady state:', steady);
  expect(steady).toEqual({
    create: 1,
    get: 1,
    'update, expectedRevision': 1,
    'update, expected values': 1,
    'delete, expectedRevision': 1,
    'update, expected values, never read': 2,
    'update, expectedRevision, by that client again': 1,
    'update, stale remembered state': 3,
    // network read + taken addresses (pipelined) + multi
    allocate: 3,
    // value, project and deleted index children (pipelined), then the live candidates (pipelined)
    'list by index (3 rows)': 3 + (await stores.instances.count(ctx, { vmState: 'building' })),
  });
  // First use of a value costs at most two more: a multi refused on a directory another
  // client made, and one round to learn which directories exist.
  for (const [op, n] of Object.entries(first)) expect(n, op).toBeLessThanOrEqual(steady[op]! + 2);
});
