import { ConfigError, instanceResource, networkResource, serviceResource } from '@polystore/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeString, encodeValue, ResourceLayout } from '../src/layout.js';
import { resolveZooKeeperOptions, ZOOKEEPER_DEFAULTS } from '../src/zookeeper-options.js';

/** A name ZooKeeper accepts as one path segment, and that needs no escaping anywhere. */
const SAFE_SEGMENT = /^[A-Za-z0-9_-]{1,201}$/;

describe('encodeValue', () => {
  it('makes every string one safe path segment, readable back unless hashed', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        (a, b) => {
          for (const s of [a, b]) {
            const e = encodeValue(s);
            expect(e).toMatch(SAFE_SEGMENT);
            expect(e === '.' || e === '..').toBe(false);
            if (e.startsWith('s')) expect(decodeString(e)).toBe(s);
            else expect(e).toMatch(/^h[A-Za-z0-9_-]{43}$/);
          }
          if (a !== b) expect(encodeValue(a)).not.toBe(encodeValue(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps types apart and hashes long strings', () => {
    const values = [null, true, false, 0, -1, 42, '', '0', 'n0', '_', 't', 'f', '/', '..', '😀'];
    const encoded = values.map(encodeValue);
    expect(new Set(encoded).size).toBe(values.length);
    for (const e of encoded) expect(e).toMatch(SAFE_SEGMENT);
    expect(encodeValue('😀'.repeat(255))).toMatch(/^h/);
    expect(encodeValue('x'.repeat(150))).toMatch(/^s/);
  });
});

describe('ResourceLayout', () => {
  it('derives index, membership and unique paths from the schema', () => {
    const layout = new ResourceLayout('/ps', networkResource);
    expect(layout.indexedFields).toEqual(['projectId', 'label', 'vlan']);
    const record = {
      id: '00000000-0000-7000-8000-000000000001',
      projectId: null,
      label: 'a/b',
      cidr: '10.0.0.0/24',
      gateway: null,
      dnsServers: [],
      vlan: 7,
      revision: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      deletedAt: null,
      objectVersion: '1.0',
    };
    expect(layout.indexEntries(record, 'tok')).toEqual([
      '/ps/networks/index/projectId/_/00000000-0000-7000-8000-000000000001',
      `/ps/networks/index/label/${encodeValue('a/b')}/00000000-0000-7000-8000-000000000001`,
      '/ps/networks/index/vlan/n7/00000000-0000-7000-8000-000000000001',
      '/ps/networks/index/$state/live/00000000-0000-7000-8000-000000000001.tok',
      '/ps/networks/index/$version/1.0/00000000-0000-7000-8000-000000000001',
    ]);
    expect(layout.uniqueEntries(record)).toEqual([
      { path: '/ps/networks/unique/vlan/n7', fields: ['vlan'] },
    ]);
    expect(layout.uniqueEntries({ ...record, vlan: null })).toEqual([]);
    expect(layout.uniqueEntries({ ...record, deletedAt: record.createdAt })).toEqual([]);
    expect(new ResourceLayout('/ps', instanceResource).indexedFields).toEqual([
      'projectId',
      'displayName',
      'hostname',
      'host',
      'vmState',
      'taskState',
    ]);
    expect(new ResourceLayout('/ps', serviceResource).indexedFields).toEqual(['host', 'binary']);
  });
});

describe('resolveZooKeeperOptions', () => {
  it('takes the chroot and server from the URL, with documented defaults', () => {
    expect(resolveZooKeeperOptions(new URL('zookeeper://10.0.0.1:2182/my/app/'))).toEqual({
      chroot: '/my/app',
      servers: '10.0.0.1:2182',
      sessionTimeoutMs: 10_000,
      requestTimeoutMs: 4_000,
      failFastMs: 5_000,
      connectTimeoutMs: 10_000,
      spinDelayMs: 200,
      cacheSize: 10_000,
    });
    expect(resolveZooKeeperOptions(new URL('zookeeper://zk')).chroot).toBe(
      ZOOKEEPER_DEFAULTS.chroot,
    );
    expect(resolveZooKeeperOptions(new URL('zookeeper://zk'))).toEqual({
      ...ZOOKEEPER_DEFAULTS,
      servers: 'zk:2181',
    });
    expect(Object.isFrozen(ZOOKEEPER_DEFAULTS)).toBe(true);
    expect(resolveZooKeeperOptions(new URL('zookeeper://zk')).servers).toBe('zk:2181');
    expect(
      resolveZooKeeperOptions(new URL('zookeeper://zk/x'), { servers: 'a:1,b:2', cacheSize: 0 }),
    ).toMatchObject({
      servers: 'a:1,b:2',
      cacheSize: 0,
    });
  });

  it('refuses bad chroots and timeouts with ConfigError', () => {
    for (const url of ['zookeeper://zk/zookeeper', 'zookeeper://zk/a%20b', 'zookeeper://zk/a//b']) {
      expect(() => resolveZooKeeperOptions(new URL(url)), url).toThrow(ConfigError);
    }
    for (const chroot of ['/a/../b', '/..', 'relative', '/a/\u0000']) {
      expect(() => resolveZooKeeperOptions(new URL('zookeeper://zk'), { chroot }), chroot).toThrow(
        ConfigError,
      );
    }
    expect(() =>
      resolveZooKeeperOptions(new URL('zookeeper://zk'), { requestTimeoutMs: 0 }),
    ).toThrow(ConfigError);
    expect(() => resolveZooKeeperOptions(new URL('zookeeper://zk'), { failFastMs: 1.5 })).toThrow(
      ConfigError,
    );
  });

  it('refuses server lists the driver would choke on, later, outside any call', () => {
    // A bad port used to throw from the driver's connect callback: an uncaught exception.
    for (const servers of [
      'h:99999',
      'h:0',
      'h:abc',
      'h:',
      'a/b:1',
      'h:2181/x',
      ' ',
      'a,',
      '::1',
    ]) {
      expect(
        () => resolveZooKeeperOptions(new URL('zookeeper://zk'), { servers }),
        servers,
      ).toThrow(ConfigError);
    }
    expect(() => resolveZooKeeperOptions(new URL('zookeeper://[::1]:2181'))).toThrow(ConfigError);
    expect(
      resolveZooKeeperOptions(new URL('zookeeper://zk'), { servers: 'a, b:2182' }).servers,
    ).toBe('a:2181,b:2182');
  });
});

describe('resolveZooKeeperOptions: URL parameters and options', () => {
  const base = 'zookeeper://zk:2181/app';

  it('takes every option as a URL parameter of the same name', () => {
    const url = new URL(
      `${base}?sessionTimeoutMs=4000&requestTimeoutMs=1500&failFastMs=2000&connectTimeoutMs=500&spinDelayMs=100&cacheSize=0&servers=a:1,b:2`,
    );
    expect(resolveZooKeeperOptions(url)).toEqual({
      chroot: '/app',
      servers: 'a:1,b:2',
      sessionTimeoutMs: 4_000,
      requestTimeoutMs: 1_500,
      failFastMs: 2_000,
      connectTimeoutMs: 500,
      spinDelayMs: 100,
      cacheSize: 0,
    });
    expect(resolveZooKeeperOptions(new URL('zookeeper://zk?chroot=/x/y')).chroot).toBe('/x/y');
  });

  it('accepts an option given both ways when they agree, and refuses them when not', () => {
    const url = new URL(`${base}?failFastMs=2000`);
    expect(resolveZooKeeperOptions(url, { failFastMs: 2_000 }).failFastMs).toBe(2_000);
    expect(() => resolveZooKeeperOptions(url, { failFastMs: 3_000 })).toThrow(
      /failFastMs is 3000 as an option but 2000 in the URL/,
    );
    // the URL's path is its chroot: an option or a parameter must name the same
    expect(resolveZooKeeperOptions(new URL(base), { chroot: '/app/' }).chroot).toBe('/app');
    expect(() => resolveZooKeeperOptions(new URL(base), { chroot: '/other' })).toThrow(ConfigError);
    expect(() => resolveZooKeeperOptions(new URL(`${base}?chroot=/other`))).toThrow(ConfigError);
    expect(() =>
      resolveZooKeeperOptions(new URL('zookeeper://zk?servers=a:1'), { servers: 'b:1' }),
    ).toThrow(ConfigError);
  });

  it('refuses unknown options, unknown parameters and values of the wrong type', () => {
    for (const bad of [
      { sessionTimeout: 1_000 },
      { clock: {} },
      { resources: [] },
      { failFastMs: '2000' },
      { cacheSize: -1 },
      { chroot: 7 },
    ]) {
      expect(
        () => resolveZooKeeperOptions(new URL(base), bad as never),
        JSON.stringify(bad),
      ).toThrow(ConfigError);
    }
    for (const query of [
      '?sessionTimeout=1000',
      '?failFastMs=fast',
      '?cacheSize=-1',
      '?x=1',
      '?failFastMs=1&failFastMs=2',
    ]) {
      expect(() => resolveZooKeeperOptions(new URL(`${base}${query}`)), query).toThrow(ConfigError);
    }
    expect(() => resolveZooKeeperOptions(new URL(`${base}?sessionTimeout=1`))).toThrow(
      /unknown URL parameter sessionTimeout; known: chroot, servers, sessionTimeoutMs/,
    );
  });
});
