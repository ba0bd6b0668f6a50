import { ConfigError, createContext, openStores, type Stores } from '@polystore/core';
import { afterEach, describe, expect, it } from 'vitest';

const ctx = createContext({ projectId: 'p1' });
let opened: Stores | undefined;
afterEach(() => opened?.close());

describe('openStores picks the adapter by URL', () => {
  it('imports the memory adapter for memory: and serves the whole bag', async () => {
    opened = await openStores('memory:');
    expect(opened.backend).toBe('memory');
    const net = await opened.networks.create(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
    const ip = await opened.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(ip.address).toBe('10.0.0.1');
  });

  it('memory:<name> shares one database between opens', async () => {
    const a = await openStores('memory:cross-package');
    const b = await openStores('memory:cross-package');
    const net = await a.networks.create(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
    expect((await b.networks.get(ctx, net.id)).label).toBe('lan');
  });

  it('a cursor of a shared memory database continues on another open of it, however it was named', async () => {
    for (const [url, options] of [
      ['memory:cursor-path', {}],
      ['memory:?name=cursor-query', {}],
      ['memory:', { adapter: { name: 'cursor-option' } }],
    ] as const) {
      const a = await openStores(url, options);
      const b = await openStores(url, options);
      for (const label of ['one', 'two'])
        await a.networks.create(ctx, { label, cidr: '10.0.0.0/24' });
      const first = await a.networks.list(ctx, { limit: 1 });
      expect(first.next).not.toBeNull();
      const rest = await b.networks.list(ctx, { limit: 1, after: first.next ?? undefined });
      expect(rest.items.map((n) => n.label)).not.toEqual(first.items.map((n) => n.label));
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a cursor of a private memory: store is refused by another private one', async () => {
    const a = await openStores('memory:');
    const b = await openStores('memory:');
    for (const label of ['one', 'two']) {
      await a.networks.create(ctx, { label, cidr: '10.0.0.0/24' });
      await b.networks.create(ctx, { label, cidr: '10.0.0.0/24' });
    }
    const first = await a.networks.list(ctx, { limit: 1 });
    await expect(
      b.networks.list(ctx, { limit: 1, after: first.next ?? undefined }),
    ).rejects.toThrow(/after: not valid here/);
    await Promise.all([a.close(), b.close()]);
  });

  it('names the accepted schemes when the scheme is unknown', async () => {
    await expect(openStores('cassandra://db')).rejects.toThrow(ConfigError);
    await expect(openStores('cassandra://db')).rejects.toThrow(/accepted schemes: .*memory:/);
  });
});
