import { createContext, UnavailableError } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openZooKeeperStores } from '../src/index.js';

// A failed open must leave nothing behind: node-zookeeper-client's closed client used to
// receive the late connect reply once the server thawed, parse it as an ordinary reply and
// throw `Unknown code` from a socket handler, killing the process.

let zk: ZooKeeperServer;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
const ctx = createContext({ projectId: 'p1' });

beforeAll(async () => {
  zk = await startZooKeeper({ tickTime: 1_000 });
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  if (zk?.paused) zk.resume();
  await zk?.stop();
});

it('survives ten opens that fail on a frozen server once it thaws', async () => {
  const options = {
    adapter: { sessionTimeoutMs: 4_000, requestTimeoutMs: 1_500, connectTimeoutMs: 500 },
  };
  for (let round = 0; round < 10; round++) {
    zk.pause();
    try {
      const err = await openZooKeeperStores(`${zk.url}/frozen_open_${round}`, options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnavailableError);
    } finally {
      zk.resume();
    }
    // The thawed server handles the stale connection before this one (accept order, and
    // session creation is one ordered transaction log), so once a fresh open has answered a
    // round trip, the stale connect reply has been sent and, before the fix, thrown.
    const stores = await openZooKeeperStores(`${zk.url}/frozen_open_${round}`, options);
    try {
      expect(await stores.instances.count(ctx, {})).toBe(0);
    } finally {
      await stores.close();
    }
    expect(uncaught).toEqual([]);
  }
}, 60_000);
