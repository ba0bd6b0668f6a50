import { createContext, type Stores } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { failsWithUnavailable, RECOVER_MS, recovers, spread } from './fault-helpers.js';
import { openFresh } from './zookeeper-fixture.js';

// Every call ends within the fail-fast bound with a retriable UnavailableError while the
// server is frozen (SIGSTOP): the TCP connection stays open, so nothing but the client's
// own clocks can tell. After one request went unanswered the connection is given up, so
// the calls after it fail at once instead of each waiting for its own timeout.

const REQUEST_MS = 1_500;
const FAIL_FAST_MS = 2_000;
/** Timers fire late on a loaded 2-core machine. */
const SLACK_MS = 1_000;

let zk: ZooKeeperServer;
let stores: Stores;
const ctx = createContext({ projectId: 'p1' });
const admin = createContext({ projectId: 'p1', isAdmin: true });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

beforeAll(async () => {
  zk = await startZooKeeper({ tickTime: 1_000 });
  ({ stores } = await openFresh(zk.url, {
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: REQUEST_MS,
    failFastMs: FAIL_FAST_MS,
    spinDelayMs: 100,
  }));
});
afterAll(async () => {
  if (zk?.paused) zk.resume();
  await stores?.close();
  await zk?.stop();
});

it('fails every kind of call within the bound while the server is frozen, and recovers', async () => {
  const vm = await stores.instances.create(ctx, { flavor });
  // The delete gets a record of its own: a request the frozen server holds in its socket
  // buffer may still be carried out after the thaw, and the recovery check reads `vm`.
  const doomed = await stores.instances.create(ctx, { flavor });
  const net = await stores.networks.create(ctx, { label: 'ff', cidr: '10.9.0.0/29' });
  const calls: Record<string, () => Promise<unknown>> = {
    get: () => stores.instances.get(ctx, vm.id),
    getMany: () => stores.instances.getMany(ctx, [vm.id]),
    list: () => stores.instances.list(ctx, { where: { host: 'h' } }),
    count: () => stores.instances.count(ctx),
    create: () => stores.instances.create(ctx, { flavor }),
    update: () => stores.instances.update(ctx, vm.id, { host: 'h2' }),
    'update, expected': () =>
      stores.instances.update(ctx, vm.id, { host: 'h3' }, { expected: { host: [null] } }),
    delete: () => stores.instances.delete(ctx, doomed.id),
    allocate: () => stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id }),
    releaseAllForInstance: () => stores.fixedIps.releaseAllForInstance(ctx, vm.id),
    purge: () => stores.migrations.purge(admin, { deletedBefore: '2100-01-01T00:00:00Z' }),
  };
  const figures: Record<string, number> = {};
  zk.pause();
  try {
    // Calls in flight together when the server froze.
    const together = await Promise.all(
      Object.values(calls).map((call) => failsWithUnavailable(call)),
    );
    for (const ms of together) expect(ms).toBeLessThan(FAIL_FAST_MS + SLACK_MS);
    figures['in flight together (max)'] = Math.max(...together);
    // Then one after the other: the connection is known dead, none waits for a timeout.
    for (const [name, call] of Object.entries(calls)) {
      figures[name] = await failsWithUnavailable(call);
      expect(figures[name]).toBeLessThan(REQUEST_MS);
    }
  } finally {
    zk.resume();
  }
  const thawed = Date.now();
  expect(await recovers(() => stores.instances.get(ctx, vm.id), RECOVER_MS)).toMatchObject({
    id: vm.id,
  });
  figures['recovered after thaw'] = Date.now() - thawed;
  const sequential = Object.entries(figures)
    .filter(([name]) => name in calls)
    .map(([, ms]) => ms);
  console.info('time to fail while frozen (ms):', figures, spread(sequential));
}, 60_000);

it('holds a whole call to failFastMs when a request may wait longer', async () => {
  const { stores: patient } = await openFresh(zk.url, {
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 10_000,
    failFastMs: 1_000,
    spinDelayMs: 100,
  });
  try {
    const vm = await patient.instances.create(ctx, { flavor });
    zk.pause();
    let ms: number;
    try {
      ms = await failsWithUnavailable(() => patient.instances.update(ctx, vm.id, { host: 'x' }));
    } finally {
      zk.resume();
    }
    expect(ms).toBeLessThan(1_000 + SLACK_MS);
    // The update may or may not have landed; the record is there either way.
    expect(await recovers(() => patient.instances.get(ctx, vm.id))).toMatchObject({ id: vm.id });
  } finally {
    await patient.close();
  }
}, 60_000);
