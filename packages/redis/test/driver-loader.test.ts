import { ConfigError } from '@polystore/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDriver, setDriverImporter } from '../src/driver-loader.js';
import { openRedisStores } from '../src/index.js';

afterEach(() => setDriverImporter(undefined));

describe('the client library, an optional peer dependency', () => {
  it('is loaded on first open, once', async () => {
    const first = await loadDriver();
    expect(typeof first.Redis).toBe('function');
    expect(await loadDriver()).toBe(first);
  });

  it('refuses the open with ConfigError naming the package and its install command when it is missing', async () => {
    setDriverImporter(() => import('@polystore-test/no-such-redis-client' as string));
    // The URL is never dialled: the open stops at the missing library.
    const error = await openRedisStores('redis://127.0.0.1:1/0').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(
      'the ioredis package (an optional peer dependency), which is not installed',
    );
    expect((error as ConfigError).message).toContain('npm install ioredis');
    expect((error as ConfigError).retriable).toBe(false);
  });

  it('tries the import again on the next open after a failure', async () => {
    setDriverImporter(() => import('@polystore-test/no-such-redis-client' as string));
    await expect(loadDriver()).rejects.toThrow(ConfigError);
    setDriverImporter(undefined);
    expect(typeof (await loadDriver()).Redis).toBe('function');
  });
});
