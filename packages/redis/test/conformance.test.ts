import { describeConformance } from '@polystore/conformance';
import { openBackend } from '@polystore/core/adapter';
import { type RedisServer, startRedis } from '@polystore/testing';
import { afterAll } from 'vitest';
import { openRedisStores, redisAdapter } from '../src/index.js';

// A dedicated, durable server (appendfsync always): the fault group kills, restarts and
// pauses it, and acknowledged writes must survive the kill.
const redis: RedisServer = await startRedis({ appendfsync: 'always' });

afterAll(async () => {
  await redis.stop();
});

describeConformance({
  name: 'redis',
  open: (namespace, { clock, ids, route }) =>
    openRedisStores(route(redis.url), { clock, ids, adapter: { namespace } }),
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
        adapter: { namespace },
      }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(redis.url, { ...options, adapters: [redisAdapter], adapter: { namespace } }),
  },
});
