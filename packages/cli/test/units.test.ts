import { fileURLToPath } from 'node:url';
import { AdapterRegistry, ConfigError } from '@polystore/core';
import { MemoryBackend } from '@polystore/memory/internal';
import { describe, expect, it } from 'vitest';
import {
  CliError,
  describeBackend,
  faultsFor,
  loadAdapters,
  namespacedUrl,
  redactText,
  seedCidr,
} from '../src/index.js';
import {
  adapter as offByOne,
  namespaceUrl as offByOneNamespaceUrl,
} from './fixtures/off-by-one-adapter.js';

describe('redactText', () => {
  it('hides the URL, its password and secret parameters where they stand in a URL', () => {
    const url = 'postgres://app:p%40ss@db:5432/app?sslpassword=k3y&application_name=x';
    const text = `cannot reach ${url}; the driver tried postgres://app:p@ss@db:5432/app?sslpassword=k3y`;
    const out = redactText(text, url);
    expect(out).not.toMatch(/p@ss|p%40ss|k3y/);
    expect(out).toContain('postgres://app:***@db:5432/app');
    expect(out).toContain('application_name=x');
  });

  it('leaves text alone when the URL has no secrets', () => {
    expect(redactText('memory: is fine', 'memory:')).toBe('memory: is fine');
    // A bare word as --store: every "sqlite" in the output used to become ***.
    expect(redactText('sqlite: scheme "sqlite" needs a path', 'sqlite')).toBe(
      'sqlite: scheme "sqlite" needs a path',
    );
    expect(redactText('opened sqlite:./x.db', 'sqlite:./x.db')).toBe('opened sqlite:./x.db');
  });

  it('never blanks a short password out of unrelated text', () => {
    const url = 'redis://u:e@127.0.0.1:6379/0';
    const out = redactText(`the server said: wrong password (see ${url})`, url);
    expect(out).toBe('the server said: wrong password (see redis://u:***@127.0.0.1:6379/0)');
  });
});

describe('namespacedUrl', () => {
  const registry = new AdapterRegistry();
  it.each([
    ['memory:', 'memory:ns1'],
    ['memory:base', 'memory:base_ns1'],
    ['sqlite:./x.db', 'sqlite:./x.db?prefix=ns1_'],
    ['postgres://u:p@h/db?prefix=app_', 'postgres://u:p@h/db?prefix=app_ns1_'],
    ['redis://h:6379', 'redis://h:6379?namespace=ns1'],
    ['redis://h:6379?namespace=app', 'redis://h:6379?namespace=app_ns1'],
    ['zookeeper://h:2181', 'zookeeper://h:2181/polystore/ns1'],
    ['zookeeper://h:2181/app/', 'zookeeper://h:2181/app/ns1'],
    ['mongodb://h:27017/db', 'mongodb://h:27017/db?prefix=ns1_'],
  ])('%s -> %s through the adapter hook', async (base, expected) => {
    const adapter = await registry.resolve(new URL(base).protocol.slice(0, -1));
    expect(namespacedUrl(base, 'ns1', adapter)).toBe(expected);
  });

  it("uses a third-party adapter's hook, and a module's namespaceUrl export over it", () => {
    expect(namespacedUrl('offbyone:', 'ns1', offByOne)).toBe('offbyone:hook_ns1');
    expect(namespacedUrl('offbyone:', 'ns1', offByOne, offByOneNamespaceUrl)).toBe('offbyone:ns1');
  });

  it('refuses an adapter without the hook, naming it', () => {
    const { namespaceUrl: _, ...bare } = offByOne;
    expect(() => namespacedUrl('offbyone:', 'ns1', bare)).toThrow(ConfigError);
    expect(() => namespacedUrl('offbyone:', 'ns1', bare)).toThrow(
      /adapter offbyone has no namespaceUrl/,
    );
  });
});

describe('loadAdapters', () => {
  const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

  it('registers an adapter exported under any name (`offByOneAdapter`, `adapter`)', async () => {
    for (const file of ['off-by-one-hook-only.ts', 'off-by-one-adapter.ts']) {
      const registry = new AdapterRegistry();
      const namespacers = await loadAdapters([fixture(file)], registry);
      expect((await registry.resolve('offbyone')).name, file).toBe('offbyone');
      // Only the module that exports `namespaceUrl` itself gives one; the hook is the adapter's.
      expect(namespacers.has('offbyone'), file).toBe(file === 'off-by-one-adapter.ts');
    }
  });

  it('refuses a module that exports no adapter, naming it', async () => {
    const loading = loadAdapters([fixture('widget-l.ts')], new AdapterRegistry());
    await expect(loading).rejects.toBeInstanceOf(CliError);
    await expect(loading).rejects.toThrow(/widget-l\.ts: the module exports no adapter/);
  });
});

describe('faultsFor', () => {
  it('proxies networked servers and calls embedded ones in-process', () => {
    expect(faultsFor('redis://127.0.0.1:7000')).toEqual({ proxy: { target: '127.0.0.1:7000' } });
    expect(faultsFor('postgres://u@db:5433/app')).toEqual({ proxy: { target: 'db:5433' } });
    expect(faultsFor('sqlite:./x.db')).toMatchObject({ inProcess: expect.any(String) });
    expect(faultsFor('memory:')).toMatchObject({ inProcess: expect.any(String) });
  });

  it('asks for the port of a server URL that has none (default ports are adapter knowledge)', () => {
    expect(() => faultsFor('postgres://u@db/app')).toThrow(ConfigError);
    expect(() => faultsFor('postgres://u@db/app')).toThrow(/give the server's port/);
  });
});

describe('seedCidr', () => {
  it('is the smallest network (at most a /24) with room for n addresses', () => {
    expect(seedCidr(1)).toBe('10.128.0.0/24');
    expect(seedCidr(253)).toBe('10.128.0.0/24');
    expect(seedCidr(254)).toBe('10.128.0.0/23');
    expect(seedCidr(1_000_000)).toBe('10.128.0.0/12');
  });
});

describe('describeBackend', () => {
  it("lists what the backend's describe hook says, and nothing for a backend without one", () => {
    expect(describeBackend(new MemoryBackend(undefined, { name: 'shared' }))).toEqual([
      ['database', 'shared'],
    ]);
    const backend = Object.assign(Object.create(new MemoryBackend()) as MemoryBackend, {
      describe: () => ({ keyspace: 'polystore:{app}', poolSize: 10, tls: false }),
    });
    expect(describeBackend(backend)).toEqual([
      ['keyspace', 'polystore:{app}'],
      ['poolSize', '10'],
      ['tls', 'false'],
    ]);
    // Public properties are no longer read: only the hook speaks.
    const silent = Object.assign(Object.create(new MemoryBackend()) as MemoryBackend, {
      describe: undefined,
      keyspace: 'x',
      serverVersion: '7.2.4',
    });
    expect(describeBackend(silent)).toEqual([]);
  });
});
