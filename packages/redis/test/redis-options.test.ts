import { ConfigError, createContext, instanceResource, openStores } from '@polystore/core';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { redisAdapter as adapter, openRedisStores } from '../src/index.js';
import { redisEndpoint } from '../src/redis-connection.js';
import { REDIS_DEFAULTS, resolveRedisOptions } from '../src/redis-options.js';
import { redisUrl } from './helpers.js';

describe('URL and options', () => {
  it('resolves host, port, credentials and database from the URL', () => {
    expect(redisEndpoint(new URL('redis://us%40er:p%3Ass@[::1]:6390/3'))).toEqual({
      host: '::1',
      port: 6390,
      username: 'us@er',
      password: 'p:ss',
      db: 3,
      secure: false,
    });
    expect(redisEndpoint(new URL('redis://h'))).toMatchObject({ host: 'h', port: 6379, db: 0 });
    expect(redisEndpoint(new URL('rediss://h')).secure).toBe(true);
  });

  it('applies the defaults, which are frozen', () => {
    expect(resolveRedisOptions(new URL('redis://h'))).toEqual(REDIS_DEFAULTS);
    expect(Object.isFrozen(REDIS_DEFAULTS)).toBe(true);
    expect(REDIS_DEFAULTS).toMatchObject({
      prefix: 'polystore:',
      namespace: 'default',
      commandTimeoutMs: 1500,
      connectTimeoutMs: 2000,
    });
  });

  it('takes every option but tls from URL parameters of the same name', () => {
    const url = new URL(
      'redis://h/0?prefix=app:&namespace=ns1&commandTimeoutMs=900&connectTimeoutMs=700&retryDelayMs=5&maxRetryDelayMs=60&connectionName=svc',
    );
    expect(resolveRedisOptions(url)).toEqual({
      prefix: 'app:',
      namespace: 'ns1',
      commandTimeoutMs: 900,
      connectTimeoutMs: 700,
      retryDelayMs: 5,
      maxRetryDelayMs: 60,
      connectionName: 'svc',
      tls: {},
    });
    // The older spellings of the two timeouts still work.
    expect(
      resolveRedisOptions(new URL('redis://h/0?commandTimeout=900&connectTimeout=700')),
    ).toMatchObject({ commandTimeoutMs: 900, connectTimeoutMs: 700 });
  });

  it('accepts an option given both ways when they agree, and refuses it when they differ', () => {
    const url = new URL('redis://h/0?namespace=ns1&commandTimeoutMs=900');
    expect(resolveRedisOptions(url, { namespace: 'ns1', commandTimeoutMs: 900 })).toMatchObject({
      namespace: 'ns1',
      commandTimeoutMs: 900,
    });
    expect(() => resolveRedisOptions(url, { namespace: 'ns2' })).toThrow(/namespace is given both/);
    expect(() => resolveRedisOptions(url, { commandTimeoutMs: 100 })).toThrow(ConfigError);
    expect(() =>
      resolveRedisOptions(new URL('redis://h/0?commandTimeout=1&commandTimeoutMs=2')),
    ).toThrow(ConfigError);
  });

  it('refuses malformed URLs and options with ConfigError', () => {
    for (const [url, options] of [
      ['redis://h/0?nope=1', {}],
      ['redis://h/0?tls=1', {}],
      ['redis://h/0?commandTimeoutMs=-1', {}],
      ['redis://h/0?commandTimeout=-1', {}],
      ['redis://h/0?namespace=a{b', {}],
      ['redis://h/0', { prefix: 'a}' }],
      ['redis://h/0', { namespace: '' }],
      ['redis://h/0', { connectTimeoutMs: 1.5 }],
      ['redis://h/0', { connectionName: 3 }],
      ['redis://h/0', { tls: 'yes' }],
      ['redis://h/0', { bogus: 1 }],
      ['redis://h/0', { resources: [] }],
    ] as const) {
      expect(() => resolveRedisOptions(new URL(url), options as never), url).toThrow(ConfigError);
    }
    for (const url of ['redis://h/x', 'http://h/0']) {
      expect(() => redisEndpoint(new URL(url)), url).toThrow(ConfigError);
    }
  });

  it('is the adapter behind openStores for redis: URLs, with adapter options', async () => {
    expect(adapter.schemes).toEqual(['redis', 'rediss']);
    const namespace = freshNamespace('redis_open');
    const stores = await openStores(`${redisUrl()}?namespace=${namespace}`);
    expect(stores.backend).toBe('redis');
    expect(stores.capabilities).toMatchObject({
      maxRecordBytes: 512 * 1024,
      reads: 'linearizable',
    });
    const ctx = createContext({ projectId: 'p1' });
    const net = await stores.networks.create(ctx, { label: 'n', cidr: '10.0.0.0/24' });
    const other = await openStores(redisUrl(), { adapter: { namespace } });
    expect((await other.networks.get(ctx, net.id)).id).toBe(net.id);
    const same = await openRedisStores(redisUrl(), { adapter: { namespace } });
    expect((await same.networks.get(ctx, net.id)).id).toBe(net.id);
    await stores.close();
    await other.close();
    await same.close();
    await expect(openStores(redisUrl(), { adapter: { bogus: 1 } })).rejects.toThrow(ConfigError);
  });
});

describe('opening', () => {
  it('refuses a malformed URL and a clashing resource with ConfigError', async () => {
    await expect(openRedisStores('not a url')).rejects.toThrow(ConfigError);
    await expect(
      openRedisStores(redisUrl(), {
        resources: [instanceResource, instanceResource],
        adapter: { namespace: 'x' },
      }),
    ).rejects.toThrow(ConfigError);
  });
});
