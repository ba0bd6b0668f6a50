import { describeConformance } from '@polystore/conformance';
import { openBackend } from '@polystore/core/adapter';
import { type RedisServer, startRedis } from '@polystore/testing';
import { afterAll } from 'vitest';
import { openRedisStores, redisAdapter } from '../src/index.js';

// The whole suite again, with every record written in the json form (one string per record,
// see RedisOptions.recordForm), on a server of its own as conformance.test.ts's: the fault
// group kills, restarts and pauses it, and acknowledged writes must survive the kill.
const redis: RedisServer = await startRedis({ appendfsync: 'always' });

afterAll(async () => {
  await redis.stop();
});

const adapter = (namespace: string) => ({ namespace, recordForm: 'json' as const });

describeConformance({
  name: 'redis (json records)',
  open: (namespace, { clock, ids, route }) =>
    openRedisStores(route(redis.url), { clock, ids, adapter: adapter(namespace) }),
  faults: {
    proxy: { target: `${redis.host}:${redis.port}` },
    server: {
      kill: () => redis.kill(),
      restart: () => redis.restart(),
      pause: () => redis.pause(),
      resume: () => redis.resume(),
    },
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) =>
      openBackend(redis.url, {
        clock,
        ids,
        resources,
        adapters: [redisAdapter],
        adapter: adapter(namespace),
      }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(redis.url, { ...options, adapters: [redisAdapter], adapter: adapter(namespace) }),
  },
});
