import { createContext, type Stores, UnavailableError } from '@polystore/core';
import { type RedisServer, startRedis, timedFailure, untilAvailable } from '@polystore/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStores } from '../src/index.js';

const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

let server: RedisServer;
let stores: Stores;

beforeAll(async () => {
  server = await startRedis({ appendfsync: 'always' });
  stores = await openRedisStores(server.url, { adapter: { namespace: 'faults' } });
});
afterAll(async () => {
  await stores?.close();
  await server?.stop();
});

describe('faults', () => {
  it('fails fast with UnavailableError while the server is down, keeps acknowledged writes, and recovers', async () => {
    const kept = await stores.instances.create(p1, { displayName: 'kept', flavor });
    await server.kill();
    for (const call of [
      () => stores.instances.get(p1, kept.id),
      () => stores.instances.create(p1, { flavor }),
      () => stores.instances.list(p1),
    ]) {
      const { ms, error } = await timedFailure(call);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).retriable).toBe(true);
      expect(ms).toBeLessThan(2000);
    }
    await server.restart();
    const { ms } = await untilAvailable(() => stores.instances.get(p1, kept.id), 15_000);
    expect(ms).toBeLessThan(5000);
    expect((await stores.instances.get(p1, kept.id)).displayName).toBe('kept');
  });

  it('times out calls to a frozen server within the command timeout, then answers again', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    server.pause();
    try {
      const { ms, error } = await timedFailure(() =>
        stores.instances.update(p1, vm.id, { host: 'h' }),
      );
      expect(error).toBeInstanceOf(UnavailableError);
      expect(ms).toBeLessThan(2000);
    } finally {
      server.resume();
    }
    await untilAvailable(() => stores.instances.get(p1, vm.id), 15_000);
    // The timed-out update may or may not have run; either way the record is consistent.
    const now = await stores.instances.get(p1, vm.id);
    expect([1, 2]).toContain(now.revision);
    expect(await stores.instances.count(p1, { host: 'h' })).toBe(now.revision === 2 ? 1 : 0);
  });

  it('reloads its scripts after SCRIPT FLUSH (NOSCRIPT), the shared ones and those with bound names', async () => {
    const raw = new Redis(server.url);
    try {
      await stores.instances.create(p1, { flavor });
      await raw.script('FLUSH');
      const vm = await stores.instances.create(p1, { flavor });
      expect((await stores.instances.get(p1, vm.id)).id).toBe(vm.id);
      await raw.script('FLUSH');
      expect((await stores.instances.get(p1, vm.id)).id).toBe(vm.id);
      await raw.script('FLUSH');
      const named = await stores.instances.update(p1, vm.id, { displayName: 'after-flush' });
      expect(named.displayName).toBe('after-flush');
      await raw.script('FLUSH');
      expect((await stores.instances.getMany(p1, [vm.id]))[0]?.displayName).toBe('after-flush');
      await raw.script('FLUSH');
      expect((await stores.instances.list(p1, { limit: 1 })).items).toHaveLength(1);
    } finally {
      await raw.quit();
    }
  });

  it('fails to open with UnavailableError when nothing listens', async () => {
    const { ms, error } = await timedFailure(() =>
      openRedisStores('redis://127.0.0.1:1', { adapter: { namespace: 'x' } }),
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect(ms).toBeLessThan(5000);
  });
});
