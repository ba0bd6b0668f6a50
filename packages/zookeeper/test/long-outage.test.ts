import { createContext, type Stores } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { RECOVER_MS, recovers, spread, until } from './fault-helpers.js';
import { openFresh } from './zookeeper-fixture.js';

// The same Stores must come back after outages longer than the session timeout: the old
// session is gone, and the replacement client's connection may be accepted by a server
// that is still starting and never answered (the driver has no timeout there).

/** Short sessions keep ten outages longer than a session timeout within the test's budget. */
const SESSION_MS = 2_000;

let zk: ZooKeeperServer;
let stores: Stores;
let backend: ZooKeeperBackend;
const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

beforeAll(async () => {
  // Durable (fsynced) server; tickTime 1 s lets the server grant 2 s sessions.
  zk = await startZooKeeper({ tickTime: 1_000 });
  ({ stores, backend } = await openFresh(zk.url, {
    sessionTimeoutMs: SESSION_MS,
    requestTimeoutMs: 1_000,
    spinDelayMs: 100,
  }));
});
afterAll(async () => {
  await stores?.close();
  await zk?.stop();
});

it('answers within recoverMs after each of ten outages longer than the session timeout', async () => {
  let vm = await stores.instances.create(ctx, { flavor });
  const recoveries: number[] = [];
  for (let round = 0; round < 10; round++) {
    const sessions = backend.sessions;
    await zk.kill();
    // The outage lasts until the client has given its session up (a whole session timeout
    // without a connection): longer than the session timeout by construction.
    await until(() => backend.sessions > sessions, 'a new session after the outage');
    await zk.restart();
    const start = Date.now();
    expect(await recovers(() => stores.instances.get(ctx, vm.id), RECOVER_MS)).toEqual(vm);
    recoveries.push(Date.now() - start);
    vm = await stores.instances.update(ctx, vm.id, { host: `h${round}` });
    expect(vm.revision).toBe(round + 2);
  }
  console.info(`recovery after ${recoveries.length} outages (ms):`, spread(recoveries), recoveries);
}, 90_000);
