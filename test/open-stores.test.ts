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

  it('names the accepted schemes when the scheme is unknown', async () => {
    await expect(openStores('cassandra://db')).rejects.toThrow(ConfigError);
    await expect(openStores('cassandra://db')).rejects.toThrow(/accepted schemes: .*memory:/);
  });
});
