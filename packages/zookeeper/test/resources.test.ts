import {
  ConfigError,
  computeResources,
  createContext,
  defineResource,
  f,
  fixedIpResource,
  networkResource,
} from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ZooKeeperClient } from '../src/zookeeper-client.js';
import { openFresh } from './zookeeper-fixture.js';

// Resources are opt-in: the backend makes znodes for the opened resources and no others,
// and builds no address allocator unless fixed IPs are opened.

const gadgetResource = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    label: f.string({ max: 50 }).indexed(),
    serial: f.string({ max: 50 }).indexed(),
  },
  unique: [['serial']],
});

let zk: ZooKeeperServer;
let client: ZooKeeperClient;
const ctx = createContext({ projectId: 'p1' });

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
  client = await ZooKeeperClient.connect({
    servers: `${zk.host}:${zk.port}`,
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 2_000,
    failFastMs: 5_000,
    connectTimeoutMs: 10_000,
    spinDelayMs: 100,
  });
});
afterAll(async () => {
  client?.close();
  await zk?.stop();
});

it('creates znodes for the opened resource only, and its store works', async () => {
  const { stores, chroot } = await openFresh(zk.url, { resources: [gadgetResource] });
  try {
    expect(await client.getChildren(chroot)).toEqual(['gadgets']);
    expect((await client.getChildren(`${chroot}/gadgets`))?.sort()).toEqual([
      'index',
      'records',
      'schema',
      'unique',
    ]);
    const gadgets = stores.store(gadgetResource);
    const made = await gadgets.create(ctx, { label: 'a', serial: 's1' });
    expect(await gadgets.get(ctx, made.id)).toEqual(made);
    expect((await gadgets.list(ctx, { where: { label: 'a' } })).items).toEqual([made]);
    await expect(gadgets.create(ctx, { label: 'b', serial: 's1' })).rejects.toMatchObject({
      name: 'DuplicateError',
    });
    expect(() => stores.instances).toThrow(ConfigError);
    expect(() => stores.networks).toThrow(ConfigError);
    // Still nothing but the gadget's znodes.
    expect(await client.getChildren(chroot)).toEqual(['gadgets']);
  } finally {
    await stores.close();
  }
});

it('opens the compute resources by default, and a custom one beside them when asked', async () => {
  const { stores, chroot } = await openFresh(zk.url, {
    resources: [...computeResources, gadgetResource],
  });
  try {
    expect((await client.getChildren(chroot))?.sort()).toEqual(
      [...computeResources.map((r) => r.plural), 'gadgets'].sort(),
    );
    const net = await stores.networks.create(ctx, { label: 'n', cidr: '10.1.0.0/29' });
    const ip = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(ip.address).toBe('10.1.0.1');
  } finally {
    await stores.close();
  }
  const plain = await openFresh(zk.url);
  try {
    expect((await client.getChildren(plain.chroot))?.sort()).toEqual(
      computeResources.map((r) => r.plural).sort(),
    );
  } finally {
    await plain.stores.close();
  }
});

it('refuses allocation on a backend without fixed IPs, naming the resource', async () => {
  const { stores, backend, chroot } = await openFresh(zk.url, { resources: [networkResource] });
  try {
    expect(await client.getChildren(chroot)).toEqual(['networks']);
    expect(() => stores.store(fixedIpResource)).toThrow(ConfigError);
    await expect(backend.allocator.releaseAllForInstance(null as never, 'x', 'y')).rejects.toThrow(
      /fixedIp was not opened/,
    );
  } finally {
    await stores.close();
  }
});
