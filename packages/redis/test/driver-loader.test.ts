import { ConfigError } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { importClient, loadIoredis } from '../src/driver-loader.js';

describe('the client library, an optional peer dependency', () => {
  it('is loaded on first open, once', async () => {
    const first = await loadIoredis();
    expect(typeof first.Redis).toBe('function');
    expect(await loadIoredis()).toBe(first);
  });

  it('refuses with ConfigError naming the package and its install command when it is missing', async () => {
    const missing = '@polystore-test/no-such-redis-client';
    const error = await importClient(missing).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(
      `the Redis client library ${missing} is not installed`,
    );
    expect((error as ConfigError).message).toContain(`npm install ${missing}`);
    expect((error as ConfigError).retriable).toBe(false);
  });
});
