import { ConfigError, createContext, type Stores } from '@polystore/core';
import { keptTimerLists } from '@polystore/core/adapter';
import { type RedisServer, startRedis } from '@polystore/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStores } from '../src/index.js';

const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

// A dedicated server: 4 databases and an ACL user with a password, so that a database the
// server lacks and wrong credentials can be tried without touching the shared server.
let server: RedisServer;

beforeAll(async () => {
  server = await startRedis({ settings: { databases: 4 } });
  const admin = new Redis(server.url);
  try {
    await admin.call('ACL', 'SETUSER', 'app', 'on', '>right-password', '~*', '&*', '+@all');
  } finally {
    admin.disconnect();
  }
});
afterAll(async () => {
  await server?.stop();
});

/** Opens, and returns the error the open failed with (or fails the test). */
async function openError(url: string): Promise<unknown> {
  let stores: Stores | undefined;
  try {
    stores = await openRedisStores(url, { adapter: { namespace: 'config' } });
  } catch (err) {
    return err;
  }
  await stores.close();
  throw new Error(`${url} opened`);
}

describe('open refuses a configuration the server does not accept', () => {
  it('refuses a database number the server lacks with ConfigError, instead of using database 0', async () => {
    for (const db of [4, 99, 99999]) {
      const error = await openError(`${server.url}/${db}`);
      expect(error, `db ${db}`).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).toMatch(/database/);
    }
    // The last database the server has still opens, and is not database 0.
    const last = await openRedisStores(`${server.url}/3`, { adapter: { namespace: 'config' } });
    const zero = await openRedisStores(`${server.url}/0`, { adapter: { namespace: 'config' } });
    try {
      await last.instances.create(p1, { flavor });
      expect(await last.instances.count(p1, {})).toBe(1);
      expect(await zero.instances.count(p1, {})).toBe(0);
    } finally {
      await last.close();
      await zero.close();
    }
  });

  it('refuses a wrong password or an unknown user with ConfigError, not a retriable error', async () => {
    const at = server.url.replace('redis://', '');
    for (const url of [`redis://app:wrong-password@${at}`, `redis://nobody:right-password@${at}`]) {
      const error = await openError(url);
      expect(error, url).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).retriable).toBe(false);
      expect(String((error as Error).message)).not.toContain('password@');
    }
    const ok = await openRedisStores(`redis://app:right-password@${at}/1`, {
      adapter: { namespace: 'config' },
    });
    try {
      expect(await ok.instances.count(p1, {})).toBe(0);
    } finally {
      await ok.close();
    }
  });
});

describe('per-call timers', () => {
  it("keep the timer list of every command's commandTimeout while open, and let it go at close", async () => {
    const stores = await openRedisStores(`${server.url}/0?commandTimeoutMs=1777`, {
      adapter: { namespace: 'timers' },
    });
    try {
      await stores.instances.create(p1, { displayName: 'a', hostname: 'a', flavor });
      expect(keptTimerLists()).toContain(1777);
    } finally {
      await stores.close();
    }
    expect(keptTimerLists()).not.toContain(1777);
  });
});
