import { ConfigError, createContext, instanceResource, openStores } from '@polystore/core';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { redisAdapter as adapter, openRedisStores } from '../src/index.js';
import { REDIS_DEFAULTS, resolveRedisConfig } from '../src/redis-options.js';
import { redisUrl } from './helpers.js';

describe('URL and options', () => {
  it('resolves host, port, credentials, database and the defaults', () => {
    const c = resolveRedisConfig(new URL('redis://us%40er:p%3Ass@[::1]:6390/3'));
    expect(c).toMatchObject({
      host: '::1',
      port: 6390,
      username: 'us@er',
      password: 'p:ss',
      db: 3,
      tls: undefined,
      ...REDIS_DEFAULTS,
    });
    expect(resolveRedisConfig(new URL('redis://h'))).toMatchObject({
      host: 'h',
      port: 6379,
      db: 0,
    });
    expect(resolveRedisConfig(new URL('rediss://h')).tls).toEqual({});
  });

  it('takes prefix, namespace and timeouts from the URL; explicit options win', () => {
    const url = new URL(
      'redis://h/0?prefix=app:&namespace=ns1&commandTimeout=900&connectTimeout=700',
    );
    expect(resolveRedisConfig(url)).toMatchObject({
      prefix: 'app:',
      namespace: 'ns1',
      commandTimeoutMs: 900,
      connectTimeoutMs: 700,
    });
    expect(resolveRedisConfig(url, { namespace: 'ns2', commandTimeoutMs: 100 })).toMatchObject({
      namespace: 'ns2',
      commandTimeoutMs: 100,
    });
  });

  it('refuses malformed URLs and options with ConfigError', () => {
    for (const [url, options] of [
      ['redis://h/x', {}],
      ['redis://h/0?nope=1', {}],
      ['redis://h/0?commandTimeout=-1', {}],
      ['redis://h/0?namespace=a{b', {}],
      ['redis://h/0', { prefix: 'a}' }],
      ['redis://h/0', { namespace: '' }],
      ['redis://h/0', { connectTimeoutMs: 1.5 }],
      ['http://h/0', {}],
    ] as const) {
      expect(() => resolveRedisConfig(new URL(url), options as never), url).toThrow(ConfigError);
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
    const other = await openStores(redisUrl(), { adapter: { namespace } } as never);
    expect((await other.networks.get(ctx, net.id)).id).toBe(net.id);
    await stores.close();
    await other.close();
    await expect(openStores(redisUrl(), { adapter: { bogus: 1 } } as never)).rejects.toThrow(
      ConfigError,
    );
  });
});

describe('opening', () => {
  it('refuses a malformed URL and a clashing resource with ConfigError', async () => {
    await expect(openRedisStores('not a url')).rejects.toThrow(ConfigError);
    await expect(
      openRedisStores(redisUrl(), { namespace: 'x', resources: [instanceResource] }),
    ).rejects.toThrow(ConfigError);
  });
});
