/**
 * What only the ZooKeeper adapter has: its URL options and capabilities through core's
 * registry, the sweep of index directories left empty, the version index, and the znode
 * size limit. The store contract itself is checked for every backend by the root spec
 * test/store-contract.test.ts.
 */
import {
  adminContext,
  ConfigError,
  createContext,
  defineResource,
  f,
  fixedIpResource,
  InvalidInputError,
  migrationResource,
  openStores,
  type Stores,
} from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { openFresh } from './zookeeper-fixture.js';

/** A resource with one large field, to cross the record size limit on update. */
const blobResource = defineResource({
  name: 'blob',
  plural: 'blobs',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    tag: f.string({ max: 300 }).nullable().indexed(),
    body: f.string({ max: 400_000 }).default(''),
  },
});

let zk: ZooKeeperServer;
const opened: Stores[] = [];

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await zk?.stop();
});

async function fresh(
  extra: Parameters<typeof openFresh>[1] = {},
): Promise<{ stores: Stores; backend: ZooKeeperBackend; chroot: string }> {
  const out = await openFresh(zk.url, extra);
  opened.push(out.stores);
  return out;
}

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

it("opens through core's registry by URL, with adapter options", async () => {
  const stores = await openStores(`${zk.url}/registry_test`, {
    adapter: { requestTimeoutMs: 3_000 },
  });
  opened.push(stores);
  expect(stores.backend).toBe('zookeeper');
  expect(stores.capabilities).toMatchObject({
    reads: 'sequential',
    serverSideQueries: false,
    maxRecordBytes: 262_144,
  });
  const vm = await stores.instances.create(p1, { flavor });
  expect(await stores.instances.get(p1, vm.id)).toEqual(vm);
  await expect(
    openStores(`${zk.url}/registry_test`, { adapter: { requestTimeoutMs: -1 } }),
  ).rejects.toBeInstanceOf(ConfigError);
});

describe('index directories and the version index', () => {
  it('sweeps index directories left empty by deletes', async () => {
    const { stores: s, backend: b } = await fresh();
    const net = await s.networks.create(p1, { label: 'sweep', cidr: '10.8.0.0/29' });
    const vm = '00000000-0000-7000-8000-0000000000cc';
    await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
    await s.fixedIps.releaseAllForInstance(p1, vm);
    const fixedIps = b.zooKeeperDriver(fixedIpResource);
    // Empty now: the value directories of instanceId, address, networkId, projectId and
    // $version, and the network's directory of taken addresses.
    expect(await fixedIps.sweepEmptyDirectories()).toBe(6);
    expect(await fixedIps.sweepEmptyDirectories()).toBe(0);
    // writers recreate what was swept, in the same multi
    const again = await s.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm });
    expect(again.address).toBe('10.8.0.1');
    expect(await s.fixedIps.count(p1, { instanceId: vm })).toBe(1);
  });

  it('counts records below an object version from the version index', async () => {
    const { stores: s, backend: b } = await fresh();
    for (let i = 0; i < 3; i++)
      await s.migrations.create(p1, { instanceId: '00000000-0000-7000-8000-0000000000bb' });
    const driver = b.zooKeeperDriver(migrationResource);
    expect(await driver.countBelowVersion('1.1')).toBe(3);
    expect(await driver.countBelowVersion('1.0')).toBe(0);
  });
});

describe('the znode size limit', () => {
  it('refuses an oversize update before writing, and oversize creates in core', async () => {
    const { stores } = await fresh({ resources: [blobResource] });
    const blobs = stores.store(blobResource);
    const small = await blobs.create(p1, { tag: 't', body: 'x' });
    const err = await blobs
      .update(p1, small.id, { body: 'y'.repeat(300_000) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).fields).toEqual(['values']);
    expect(await blobs.get(p1, small.id)).toEqual(small);
    await expect(blobs.create(p1, { body: 'z'.repeat(300_000) })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    // Exactly at the limit, as core measures it, is fine on create and update.
    const probe = { ...small, body: '' };
    const room = 262_144 - Buffer.byteLength(JSON.stringify(probe));
    const atLimit = await blobs.update(p1, small.id, { body: 'a'.repeat(room) });
    expect(atLimit.revision).toBe(2);
    await expect(blobs.update(p1, small.id, { body: 'a'.repeat(room + 1) })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    // Just under the limit is fine.
    const big = await blobs.update(p1, small.id, { body: 'y'.repeat(250_000) });
    expect((await blobs.get(p1, small.id)).body).toHaveLength(250_000);
    expect(big.revision).toBe(3);
    // An admin context is no way around it.
    await expect(
      blobs.update(adminContext(), small.id, { body: 'b'.repeat(300_000) }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});
