import { AdapterRegistry, createContext } from '@polystore/core';
import { openBackend } from '@polystore/core/adapter';
import { freshStoreUrl, removeTempDirs, STORE_BACKENDS } from '@polystore/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';

// The adapter SPI hooks of every built-in adapter: `namespaceUrl` puts a namespace where
// that backend keeps stores apart, `describe` tells doctor what an open backend is.

const ctx = createContext({ projectId: 'p1' });
const registry = new AdapterRegistry();
afterAll(removeTempDirs);

async function namespaced(base: string, namespace: string): Promise<string> {
  const url = new URL(base);
  const adapter = await registry.resolve(url.protocol.slice(0, -1));
  if (!adapter.namespaceUrl) throw new Error(`adapter ${adapter.name} has no namespaceUrl`);
  return adapter.namespaceUrl(url, namespace).toString();
}

describe('namespaceUrl of every built-in adapter', () => {
  it.each([
    ['memory:', 'memory:ns1'],
    ['memory:app', 'memory:app_ns1'],
    ['sqlite:./x.db', 'sqlite:./x.db?prefix=ns1_'],
    ['sqlite:./x.db?prefix=app_', 'sqlite:./x.db?prefix=app_ns1_'],
    ['postgres://u:p@h/db', 'postgres://u:p@h/db?prefix=ns1_'],
    ['postgresql://u@h/db?prefix=app_&schema=s', 'postgresql://u@h/db?prefix=app_ns1_&schema=s'],
    ['redis://h:6379/2', 'redis://h:6379/2?namespace=ns1'],
    ['rediss://h:6379?namespace=app', 'rediss://h:6379?namespace=app_ns1'],
    ['zookeeper://h:2181', 'zookeeper://h:2181/polystore/ns1'],
    ['zookeeper://h:2181/app/', 'zookeeper://h:2181/app/ns1'],
    ['mongodb://h:27017/db', 'mongodb://h:27017/db?prefix=ns1_'],
    ['mongodb://h:27017/db?prefix=app_', 'mongodb://h:27017/db?prefix=app_ns1_'],
    ['https://svc:tok@conductor:8443', 'https://svc:tok@conductor:8443/ns1'],
    ['http://conductor:8420/cell1', 'http://conductor:8420/cell1_ns1'],
  ])('%s -> %s', async (base, expected) => {
    expect(await namespaced(base, 'ns1')).toBe(expected);
  });

  it('refuses a URL whose opens share no data (an in-memory SQLite database)', async () => {
    await expect(namespaced('sqlite::memory:', 'ns1')).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('each open is its own private database'),
    });
  });

  it('leaves the URL it is given unchanged', async () => {
    const adapter = await registry.resolve('redis');
    const url = new URL('redis://h:6379?namespace=app');
    adapter.namespaceUrl?.(url, 'ns1');
    expect(url.href).toBe('redis://h:6379?namespace=app');
  });
});

/** A field each backend's `describe` gives, and its value for a fresh store. */
const DESCRIBED: Readonly<Record<(typeof STORE_BACKENDS)[number], [string, unknown]>> = {
  memory: ['database', expect.stringMatching(/^hooks_/)],
  sqlite: ['busyTimeoutMs', 4000],
  postgres: ['schema', 'public'],
  redis: ['keyspace', expect.stringMatching(/\{hooks_\w+_ns1\}:$/)],
  zookeeper: ['chroot', expect.stringMatching(/^\/polystore\/hooks_\w+\/ns1$/)],
  mongo: ['prefix', 'ns1_'],
};

describe.concurrent('on every backend', () => {
  for (const backend of STORE_BACKENDS) {
    it(`${backend}: a namespaced URL is one store for every open and isolated from the others; describe tells what it is`, async ({
      onTestFinished,
    }) => {
      // memory: is private to each open; a named one is shared, as a server is.
      const base = backend === 'memory' ? 'memory:hooks_m' : await freshStoreUrl(backend, 'hooks');
      const url = await namespaced(base, 'ns1');
      // The cases run side by side: each closes only what it opened (a shared after-each
      // hook would close another case's stores while that case still uses them).
      const open = async (u: string) => {
        const opened = await openBackend(u);
        onTestFinished(() => opened.stores.close());
        return opened;
      };
      const a = await open(url);
      const b = await open(url);
      const other = await open(await namespaced(base, 'ns2'));
      const net = await a.stores.networks.create(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
      expect((await b.stores.networks.get(ctx, net.id)).label).toBe('lan');
      expect(await other.stores.networks.count(ctx)).toBe(0);

      expect(a.adapter.schemes).toContain(new URL(url).protocol.slice(0, -1));
      const described = a.backend?.describe?.();
      expect(described).toBeDefined();
      const [key, value] = DESCRIBED[backend];
      expect(described).toHaveProperty(key, value);
      for (const v of Object.values(described ?? {})) {
        expect(['string', 'number', 'boolean']).toContain(typeof v);
      }
      // No secret of the URL is in what a backend describes.
      const password = new URL(url).password;
      if (password) expect(JSON.stringify(described)).not.toContain(password);
    }, 60_000);
  }
});
