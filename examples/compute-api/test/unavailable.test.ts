import { openStores, type Stores } from '@polystore/core';
import { type RedisServer, startRedis } from '@polystore/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeService, createApp, type RunningServer, startServer } from '../src/index.js';

// A dedicated server: this test freezes it, which must not disturb the shared ones.
describe('compute API when the store is unreachable', () => {
  let redis: RedisServer;
  let stores: Stores;
  let server: RunningServer;
  const internal: unknown[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    stores = await openStores(`${redis.url}?commandTimeout=300`);
    server = await startServer(
      createApp(new ComputeService(stores), { onInternalError: (e) => internal.push(e) }),
      { port: 0 },
    );
  });
  afterAll(async () => {
    await server?.close();
    await stores?.close();
    await redis?.stop();
  });

  const list = () => fetch(`${server.url}/v1/instances`, { headers: { 'X-Project-Id': 'p1' } });

  it('answers 503 with Retry-After and no internals, then recovers', async () => {
    expect((await list()).status).toBe(200);
    redis.pause();
    try {
      const res = await list();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toEqual({
        error: { code: 'UNAVAILABLE', message: 'the store is unavailable; retry later' },
      });
    } finally {
      redis.resume();
    }
    await expect.poll(async () => (await list()).status, { timeout: 10_000 }).toBe(200);
    expect(internal).toEqual([]);
  });
});
