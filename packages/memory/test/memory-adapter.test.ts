import {
  ConfigError,
  computeResources,
  createContext,
  defineResource,
  f,
  InvalidQueryError,
  instanceResource,
  NotFoundError,
  networkResource,
  openStores,
  type WritePolicy,
} from '@polystore/core';
import { describe, expect, it } from 'vitest';
import * as memory from '../src/index.js';
import { memoryAdapter, openMemoryStores } from '../src/memory-adapter.js';
import { MemoryDatabase } from '../src/memory-database.js';

const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

const gadgetResource = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: { label: f.string({ max: 40 }).indexed() },
  unique: [['label']],
});

describe('the package entry point', () => {
  it('exports only the adapter and openMemoryStores', () => {
    expect(Object.keys(memory).sort()).toEqual(['memoryAdapter', 'openMemoryStores']);
  });
});

describe('openMemoryStores', () => {
  it('opens the same named database by URL, by adapter option and by the name shorthand', async () => {
    const a = openMemoryStores('memory:open-forms');
    const b = openMemoryStores({ adapter: { name: 'open-forms' } });
    const c = openMemoryStores({ name: 'open-forms' });
    const d = openMemoryStores(new URL('memory:?name=open-forms'), {});
    const vm = await a.instances.create(p1, { flavor });
    for (const s of [b, c, d]) expect((await s.instances.get(p1, vm.id)).id).toBe(vm.id);
    const fresh = openMemoryStores();
    await expect(fresh.instances.get(p1, vm.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a name given two ways that differ, unknown adapter options and a bad URL', () => {
    expect(() => openMemoryStores({ name: 'a', adapter: { name: 'b' } })).toThrow(ConfigError);
    expect(() => openMemoryStores('memory:a', { name: 'b' })).toThrow(ConfigError);
    expect(() => openMemoryStores({ adapter: { size: 1 } as never })).toThrow(
      /unknown option size/,
    );
    expect(() => openMemoryStores('not a url')).toThrow(ConfigError);
    expect(openMemoryStores({ name: 'same', adapter: { name: 'same' } }).backend).toBe('memory');
  });
});

describe('memoryAdapter', () => {
  it('opens through openStores with the options in the URL or in `adapter`, which must agree', async () => {
    const adapters = [memoryAdapter];
    const a = await openStores('memory:via-open-stores', { adapters });
    const b = await openStores('memory:', { adapters, adapter: { name: 'via-open-stores' } });
    const vm = await a.instances.create(p1, { flavor });
    expect((await b.instances.get(p1, vm.id)).id).toBe(vm.id);
    await expect(openStores('memory:x', { adapters, adapter: { name: 'y' } })).rejects.toThrow(
      ConfigError,
    );
    await expect(openStores('memory:', { adapters, adapter: { bogus: 1 } })).rejects.toThrow(
      /unknown option bogus/,
    );
    await expect(openStores('memory:?bogus=1', { adapters })).rejects.toThrow(ConfigError);
  });

  it('namespaces a URL as a named database', () => {
    const ns = (u: string, n: string) => memoryAdapter.namespaceUrl!(new URL(u), n).href;
    expect(ns('memory:', 'ns1')).toBe('memory:ns1');
    expect(ns('memory:app', 'ns1')).toBe('memory:app_ns1');
    expect(ns('memory:?name=app', 'ns1')).toBe('memory:app_ns1');
  });

  it('signs cursors one named database accepts however it was opened; a private one its own only', async () => {
    const adapters = [memoryAdapter];
    const byUrl = await openStores('memory:cursors', { adapters });
    const byOption = await openStores('memory:', { adapters, adapter: { name: 'cursors' } });
    for (let i = 0; i < 3; i++) await byUrl.instances.create(p1, { flavor });
    const first = await byUrl.instances.list(p1, { limit: 1 });
    expect(first.next).not.toBeNull();
    const rest = await byOption.instances.list(p1, { limit: 5, after: first.next });
    expect(rest.items.map((r) => r.id)).toEqual(
      (await byUrl.instances.list(p1, { limit: 5 })).items.slice(1).map((r) => r.id),
    );
    // Two private stores: a cursor of one is refused by the other (its key is random).
    const own = await openStores('memory:', { adapters });
    const other = await openStores('memory:', { adapters });
    for (let i = 0; i < 2; i++) await own.instances.create(p1, { flavor });
    const page = await own.instances.list(p1, { limit: 1 });
    expect((await own.instances.list(p1, { limit: 1, after: page.next })).items).toHaveLength(1);
    await expect(other.instances.list(p1, { limit: 1, after: page.next })).rejects.toThrow(
      InvalidQueryError,
    );
  });

  it('describes the database it opened', async () => {
    const shared = await memoryAdapter.open(new URL('memory:described'), {});
    expect(shared.describe?.()).toEqual({ database: 'described' });
    const own = await memoryAdapter.open(new URL('memory:'), {});
    expect(own.describe?.()).toEqual({ database: '(private to this open)' });
  });
});

describe('resources are opt-in', () => {
  it('creates a table for each opened resource and no other', async () => {
    const stores = openMemoryStores({ name: 'opt-in-custom', resources: [gadgetResource] });
    expect(MemoryDatabase.named('opt-in-custom').tableNames()).toEqual(['gadgets']);

    const gadgets = stores.store(gadgetResource);
    const g = await gadgets.create(p1, { label: 'one' });
    expect((await gadgets.get(p1, g.id)).label).toBe('one');
    expect((await gadgets.list(p1, { where: { label: 'one' } })).items.map((r) => r.id)).toEqual([
      g.id,
    ]);
    expect(() => stores.instances).toThrow(ConfigError);
    expect(() => stores.fixedIps).toThrow(ConfigError);
    // Using the bag created nothing more.
    expect(MemoryDatabase.named('opt-in-custom').tableNames()).toEqual(['gadgets']);
  });

  it('opens the compute pack by default, and exactly the given list otherwise', async () => {
    openMemoryStores({ name: 'opt-in-default' });
    expect(MemoryDatabase.named('opt-in-default').tableNames().sort()).toEqual(
      computeResources.map((r) => r.plural).sort(),
    );
    const stores = openMemoryStores({
      name: 'opt-in-both',
      resources: [...computeResources, gadgetResource],
    });
    expect(MemoryDatabase.named('opt-in-both').tableNames().sort()).toEqual(
      [...computeResources.map((r) => r.plural), 'gadgets'].sort(),
    );
    expect(await stores.instances.count(p1, {})).toBe(0);
  });

  it('opens networks without fixed IPs: no fixedIps table, and no allocator to reach', async () => {
    const stores = openMemoryStores({
      name: 'opt-in-networks',
      resources: [instanceResource, networkResource],
    });
    expect(MemoryDatabase.named('opt-in-networks').tableNames()).toEqual(['instances', 'networks']);
    await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/29' });
    expect(() => stores.fixedIps).toThrow(ConfigError);
    expect(MemoryDatabase.named('opt-in-networks').tableNames()).toEqual(['instances', 'networks']);
  });
});

describe('writes at the version the write policy gives', () => {
  it('allocates a fixed IP at that version, as it creates an instance', async () => {
    // Every resource here has one version, so the pin is the code's: what tells the two
    // apart is that each write asks the policy (a fleet's pin can be older than the code).
    const asked: string[] = [];
    const writePolicy: WritePolicy = {
      writeVersion: (resource) => {
        asked.push(resource.name);
        return resource.version;
      },
      beforeWrite: () => {},
    };
    const stores = await openStores('memory:pinned-writes', {
      adapters: [memoryAdapter],
      writePolicy,
    });
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/29' });
    const vm = await stores.instances.create(p1, { flavor });
    const ip = await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm.id });
    const reserved = await stores.fixedIps.create(p1, {
      networkId: net.id,
      address: '10.0.0.5',
      instanceId: null,
    });
    expect(asked).toEqual(['network', 'instance', 'fixedIp', 'fixedIp']);
    expect([ip.objectVersion, reserved.objectVersion]).toEqual(['1.0', '1.0']);
  });
});
