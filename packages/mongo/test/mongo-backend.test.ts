import {
  adminContext,
  ConfigError,
  createContext,
  defaultRegistry,
  instanceResource,
  openStores,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { TcpProxy } from '@polystore/testing';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoLayout } from '../src/layout.js';
import { mongoAdapter as adapter, openMongoStores } from '../src/mongo-adapter.js';
import { MONGO_CAPABILITIES, MongoBackend } from '../src/mongo-backend.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

const p1 = createContext({ projectId: 'p1' });
const admin = adminContext();
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

describe('round trips', () => {
  let url: string;
  let stores: Stores;
  let backend: MongoBackend;
  const commands: string[] = [];

  beforeAll(async () => {
    url = freshUrl('mongo_round_trips');
    // The commands of MongoDB's path (one atomic command per write); on FerretDB v1 each
    // conditional write also claims its step (counted in record-claims.test.ts).
    backend = await MongoBackend.open(url, {
      adapter: { claimWrites: false, clientOptions: { monitorCommands: true } },
    });
    backend.client.on('commandStarted', (e: CommandStartedEvent) => commands.push(e.commandName));
    stores = createStores(backend);
  });
  afterAll(async () => {
    await stores?.close();
    if (url) await dropDatabase(url);
  });

  async function counted<T>(call: () => Promise<T>): Promise<{ value: T; commands: string[] }> {
    commands.length = 0;
    const value = await call();
    return { value, commands: [...commands] };
  }

  it('costs one command for get, create, update, delete, getMany, list and count', async () => {
    const created = await counted(() => stores.instances.create(p1, { flavor }));
    expect(created.commands).toEqual(['insert']);
    const id = created.value.id;
    expect((await counted(() => stores.instances.get(p1, id))).commands).toEqual(['find']);
    expect((await counted(() => stores.instances.getMany(p1, [id]))).commands).toEqual(['find']);
    expect(
      (
        await counted(() =>
          stores.instances.update(
            p1,
            id,
            { host: 'h' },
            { expectedRevision: 1, expected: { taskState: [null] } },
          ),
        )
      ).commands,
    ).toEqual(['findAndModify']);
    expect(
      (
        await counted(() =>
          stores.instances.list(p1, { orderBy: { field: 'displayName' }, limit: 500 }),
        )
      ).commands,
    ).toEqual(['find']);
    expect((await counted(() => stores.instances.count(p1, { host: 'h' }))).commands).toEqual([
      'aggregate',
    ]);
    expect((await counted(() => stores.instances.delete(p1, id))).commands).toEqual([
      'findAndModify',
    ]);
  });

  it('reads once more only when a conditional write fails', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    const conflict = await counted(() =>
      stores.instances
        .update(p1, vm.id, { host: 'x' }, { expectedRevision: 7 })
        .catch((e: unknown) => e),
    );
    expect(conflict.commands).toEqual(['findAndModify', 'find']);
  });

  it('allocates with two concurrent reads and one insert', async () => {
    const net = await stores.networks.create(p1, { label: 'rt', cidr: '10.0.0.0/24' });
    const alloc = await counted(() =>
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    );
    expect(alloc.commands.toSorted()).toEqual(['find', 'find', 'insert']);
    expect(alloc.commands.at(-1)).toBe('insert');
    expect((await counted(() => stores.fixedIps.release(p1, alloc.value.id))).commands).toEqual([
      'findAndModify',
    ]);
  });

  it('runs the allocations of one network in turn: 32 at once lose no race', async () => {
    const net = await stores.networks.create(p1, { label: 'turns', cidr: '10.1.0.0/24' });
    const many = await counted(() =>
      Promise.all(
        Array.from({ length: 32 }, () =>
          stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
        ),
      ),
    );
    // Each took the lowest free address in its turn, with one insert: none lost a race and
    // read again (racing, n allocations cost about n * n / 2 reads and inserts).
    expect(many.value.map((ip) => ip.address)).toEqual(
      Array.from({ length: 32 }, (_, i) => `10.1.0.${i + 1}`),
    );
    expect(many.commands.filter((c) => c === 'insert')).toHaveLength(32);
    expect(many.commands.filter((c) => c === 'find')).toHaveLength(64);
  });
});

describe('opening', () => {
  it('is registered for mongodb: and mongodb+srv: and opens through core', async () => {
    expect(adapter.schemes).toEqual(['mongodb', 'mongodb+srv']);
    expect((await defaultRegistry.resolve('mongodb')).name).toBe('mongo');
    const url = freshUrl('mongo_open');
    const stores = await openStores(`${url}?prefix=ps_`, {
      adapter: { serverSelectionTimeoutMS: 1500 },
    });
    try {
      expect(stores.backend).toBe('mongo');
      expect(stores.capabilities).toBe(MONGO_CAPABILITIES);
      expect(Object.isFrozen(stores.capabilities)).toBe(true);
      await stores.instances.create(p1, { flavor });
      // Opening again is idempotent and sees the same data (indexes already there).
      const again = await openMongoStores(`${url}?prefix=ps_`);
      expect(await again.instances.count(p1)).toBe(1);
      await again.close();
    } finally {
      await stores.close();
      await dropDatabase(url);
    }
  });

  it('derives collections and indexes from the schema', () => {
    const layout = new MongoLayout(instanceResource, 'x_');
    expect(layout.collection).toBe('x_instances');
    const names = layout.indexes.map((i) => i.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'by_displayName',
        'by_host',
        'by_projectId',
        'by_objectVersion',
        'by_deletedAt',
      ]),
    );
    expect(layout.indexes.find((i) => i.name === 'by_displayName')!.key).toEqual({
      displayName: 1,
      _id: 1,
    });
  });

  it('refuses bad adapter options with ConfigError', async () => {
    await expect(openStores(freshUrl(), { adapter: { timeoutMs: 5 } })).rejects.toMatchObject({
      code: 'CONFIG',
    });
    for (const failFastMs of [0, -1, 1.5, '5000']) {
      await expect(
        openStores(freshUrl(), { adapter: { failFastMs } }),
        String(failFastMs),
      ).rejects.toMatchObject({ code: 'CONFIG' });
    }
    await expect(
      MongoBackend.open(freshUrl(), { adapter: { failFastMs: 0 } }),
    ).rejects.toMatchObject({
      code: 'CONFIG',
    });
  });

  it('refuses bad database names, reserved prefixes and wrong logins with ConfigError, creating nothing', async () => {
    const server = new URL(freshUrl('mongo_bad'));
    const db = server.pathname.slice(1);
    const bad = [
      `mongodb://${server.host}/a.b`,
      `mongodb://${server.host}/a$b`,
      `mongodb://${server.host}/${'x'.repeat(64)}`,
      `mongodb://${server.host}/${db}?prefix=system.`,
      `mongodb://${server.host}/${db}?prefix=a%24`,
      `mongodb://${server.host}/${db}?prefix=.x`,
      `mongodb://nobody:wrong@${server.host}/${db}`,
    ];
    for (const url of bad) {
      const err = await openStores(url, { adapter: { serverSelectionTimeoutMS: 1500 } }).catch(
        (e: unknown) => e,
      );
      expect(err, url).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).retriable, url).toBe(false);
    }
    const client = new MongoClient(`mongodb://${server.host}/`, { serverSelectionTimeoutMS: 2000 });
    try {
      expect(await client.db(db).listCollections().toArray()).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('fails fast with UnavailableError when nothing listens', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 9 });
    await proxy.down();
    const t0 = Date.now();
    await expect(
      openMongoStores(`mongodb://127.0.0.1:${proxy.port}/x`, {
        adapter: { serverSelectionTimeoutMS: 500 },
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('outages', () => {
  let proxy: TcpProxy;
  let stores: Stores;
  let url: string;

  beforeAll(async () => {
    url = freshUrl('mongo_outage');
    const target = new URL(url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 27017) });
    const via = new URL(url);
    via.host = `127.0.0.1:${proxy.port}`;
    via.searchParams.set('directConnection', 'true');
    stores = await openMongoStores(via.href, {
      adapter: { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, socketTimeoutMS: 1_500 },
    });
  });
  afterAll(async () => {
    await stores?.close();
    await proxy?.down();
    if (url) await dropDatabase(url);
  });

  async function recovers(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await stores.instances.count(admin);
        return;
      } catch (err) {
        expect(err).toBeInstanceOf(UnavailableError);
        if (Date.now() > deadline) throw err;
      }
    }
  }

  it('fails fast while the server is away and recovers with the same stores', async () => {
    const vm = await stores.instances.create(p1, { flavor });
    await proxy.down();
    for (const call of [
      () => stores.instances.get(p1, vm.id),
      () => stores.instances.update(p1, vm.id, { host: 'h' }),
      () => stores.instances.create(p1, { flavor }),
      () => stores.instances.list(p1),
    ]) {
      const t0 = Date.now();
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).retriable).toBe(true);
      expect(Date.now() - t0).toBeLessThan(4_000);
    }
    await proxy.up();
    await recovers();
    expect((await stores.instances.get(p1, vm.id)).revision).toBe(1);
    expect((await stores.instances.update(p1, vm.id, { host: 'back' })).revision).toBe(2);
  });

  it('times out on a stalled server with UnavailableError, then recovers', async () => {
    proxy.stall();
    const t0 = Date.now();
    await expect(stores.instances.count(p1)).rejects.toBeInstanceOf(UnavailableError);
    // The socket timeout, then the driver's one retry of a read on a new connection.
    expect(Date.now() - t0).toBeLessThan(8_000);
    await proxy.down();
    await proxy.up();
    await recovers();
  });
});
