import { describeConformance } from '@polystore/conformance';
import { openBackend } from '@polystore/core/adapter';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll } from 'vitest';
import { openZooKeeperStores, zookeeperAdapter } from '../src/index.js';

// A dedicated, durable server: the fault group kills, restarts and pauses it.
const zk: ZooKeeperServer = await startZooKeeper({ tickTime: 1_000 });

afterAll(async () => {
  await zk.stop();
});

describeConformance({
  name: 'zookeeper',
  open: (namespace, { clock, ids, route }) =>
    openZooKeeperStores(route(`${zk.url}/polystore_conformance/${namespace}`), {
      clock,
      ids,
      adapter: {
        sessionTimeoutMs: 4_000,
        // Room for a pipelined batch of a thousand reads on a loaded 2-core machine; calls
        // still end within the suite's 5 s fail-fast bound (failFastMs, default 5 000).
        requestTimeoutMs: 4_000,
        connectTimeoutMs: 5_000,
        spinDelayMs: 100,
      },
    }),
  faults: {
    proxy: { target: `${zk.host}:${zk.port}` },
    server: {
      kill: () => zk.kill(),
      restart: () => zk.restart(),
      pause: () => zk.pause(),
      resume: () => zk.resume(),
    },
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) =>
      openBackend(`${zk.url}/polystore_evolution/${namespace}`, {
        clock,
        ids,
        resources,
        adapters: [zookeeperAdapter],
        adapter: { sessionTimeoutMs: 4_000, requestTimeoutMs: 4_000, connectTimeoutMs: 5_000 },
      }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(`${zk.url}/polystore_upgrade/${namespace}`, {
        ...options,
        adapters: [zookeeperAdapter],
        adapter: { sessionTimeoutMs: 4_000, requestTimeoutMs: 4_000, connectTimeoutMs: 5_000 },
      }),
  },
});
