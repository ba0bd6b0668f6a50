import { createContext, type Stores, UnavailableError } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openZooKeeperStores } from '../src/zookeeper-adapter.js';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { failsWithUnavailable, recovers } from './fault-helpers.js';
import { openFresh } from './zookeeper-fixture.js';

let zk: ZooKeeperServer;
let stores: Stores;
let backend: ZooKeeperBackend;
const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

beforeAll(async () => {
  // Durable (fsynced) server: acknowledged writes must survive a kill.
  zk = await startZooKeeper({ tickTime: 1000 });
  ({ stores, backend } = await openFresh(zk.url, {
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 1_500,
    spinDelayMs: 100,
  }));
});
afterAll(async () => {
  await stores?.close();
  await zk?.stop();
});

it('fails fast while the server is down and recovers after a restart', async () => {
  expect(backend.sessions).toBe(1);
  const vm = await stores.instances.create(ctx, { flavor });
  const updated = await stores.instances.update(ctx, vm.id, { host: 'h1' });
  await zk.kill();
  for (const call of [
    () => stores.instances.get(ctx, vm.id),
    () => stores.instances.list(ctx, {}),
    () => stores.instances.create(ctx, { flavor }),
    () => stores.instances.update(ctx, vm.id, { host: 'h2' }),
  ]) {
    expect(await failsWithUnavailable(call)).toBeLessThan(1_000);
  }
  await zk.restart();
  expect(await recovers(() => stores.instances.get(ctx, vm.id), 30_000)).toEqual(updated);
  const after = await stores.instances.update(ctx, vm.id, { host: 'h3' }, { expectedRevision: 2 });
  expect(after.revision).toBe(3);
}, 60_000);

it('times out on a frozen server and recovers after it thaws', async () => {
  const vm = await stores.instances.create(ctx, { flavor });
  zk.pause();
  try {
    expect(await failsWithUnavailable(() => stores.instances.get(ctx, vm.id))).toBeLessThan(3_000);
    // Stay frozen past the session timeout: on resume the server may expire the session
    // or the client's reconnect may revive it first; either way the Stores carries on.
    await new Promise((r) => setTimeout(r, 6_000));
  } finally {
    zk.resume();
  }
  expect(await recovers(() => stores.instances.get(ctx, vm.id), 30_000)).toEqual(vm);
  expect((await stores.instances.update(ctx, vm.id, { host: 'x' })).revision).toBe(2);
  expect(backend.sessions).toBeGreaterThanOrEqual(1);
}, 60_000);

it('fails to open with UnavailableError when no server answers', async () => {
  const start = Date.now();
  await expect(
    openZooKeeperStores('zookeeper://127.0.0.1:9/none', { adapter: { connectTimeoutMs: 1_000 } }),
  ).rejects.toBeInstanceOf(UnavailableError);
  expect(Date.now() - start).toBeLessThan(3_000);
});
