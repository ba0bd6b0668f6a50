import { describe, expect, it } from 'vitest';
import {
  type Adapter,
  AdapterRegistry,
  adminContext,
  ConfigError,
  createContext,
  InvalidInputError,
  openStores,
  redactUrl,
} from '../src/index.js';

describe('openStores', () => {
  it('names the accepted schemes for an unknown one', async () => {
    const err = await openStores('nosuch://x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /accepted schemes: .*memory: .*postgres: .*redis: .*sqlite: .*zookeeper:/,
    );
  });

  it('refuses a malformed URL without printing its password', async () => {
    const err = await openStores('postgres//app:hunter2@db').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as Error).message).toContain('accepted schemes');
  });

  it('parses a host list for its adapter and passes the raw URL on', async () => {
    const registry = new AdapterRegistry();
    let seen: { url: string; raw: string | undefined } | undefined;
    registry.register({
      name: 'hosts',
      schemes: ['hosts'],
      open: async (url, options) => {
        seen = { url: url.href, raw: options.rawUrl };
        throw new ConfigError('stop here');
      },
    });
    await expect(openStores('hosts://u:pw@h1:1,h2:2/db?x=1', { registry })).rejects.toThrow(
      'stop here',
    );
    expect(seen).toEqual({
      url: 'hosts://u:pw@host-list/db?x=1',
      raw: 'hosts://u:pw@h1:1,h2:2/db?x=1',
    });
  });

  it('refuses an empty URL', async () => {
    await expect(openStores('')).rejects.toBeInstanceOf(ConfigError);
  });

  it('uses a registry instance, and refuses a scheme taken by another adapter', async () => {
    const registry = new AdapterRegistry();
    const a: Adapter = {
      name: 'a',
      schemes: ['kv'],
      open: async () => Promise.reject(new Error('unused')),
    };
    registry.register(a);
    expect(() => registry.register({ ...a, name: 'b' })).toThrow(ConfigError);
    expect(registry.schemes()).toContain('kv');
  });
});

describe('redactUrl', () => {
  it('hides passwords and secret parameters', () => {
    expect(redactUrl('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('redis://h:6379/0?password=s3cret&db=1')).not.toContain('s3cret');
    expect(redactUrl('not a url with hunter2')).not.toContain('hunter2');
  });
});

describe('request contexts', () => {
  it('are frozen and validated', () => {
    const ctx = createContext({ projectId: 'p1' });
    expect(Object.isFrozen(ctx)).toBe(true);
    expect(ctx.readDeleted).toBe('no');
    expect(adminContext().isAdmin).toBe(true);
    expect(() => createContext({})).toThrow(InvalidInputError);
    expect(() => createContext({ projectId: 'p', readDeleted: 'maybe' as never })).toThrow(
      InvalidInputError,
    );
    expect(() => createContext({ projectId: 'a\u0000b' })).toThrow(InvalidInputError);
  });
});
