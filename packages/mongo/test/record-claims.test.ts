import {
  ConflictError,
  createContext,
  NotFoundError,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { type FerretDbServer, startFerretDb, TcpProxy } from '@polystore/testing';
import { type CommandStartedEvent, type CommandSucceededEvent, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MONGO_CAPABILITIES,
  MONGO_UNCLAIMED_CAPABILITIES,
  MongoBackend,
} from '../src/mongo-backend.js';
import type { MongoOptions } from '../src/mongo-options.js';
import type { ClaimDocument } from '../src/record-claims.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const CLIENTS = 8;

/** The claim a writer of revision `revision` of instance `id` takes (as a crashed one leaves it). */
function claimOf(id: string, revision: number, epoch = 0): ClaimDocument {
  const key = JSON.stringify(['instances', id, revision]);
  return { _id: JSON.stringify(['instances', id, revision, epoch]), key, epoch, token: 'x' };
}

describe('claimed writes (every conditional write claims its revision step)', () => {
  let url: string;
  let raw: MongoClient;
  const opened: Stores[] = [];

  async function open(options: MongoOptions = {}): Promise<Stores> {
    const stores = createStores(
      await MongoBackend.open(url, { adapter: { claimWrites: true, ...options } }),
    );
    opened.push(stores);
    return stores;
  }
  const claims = () => raw.db().collection<ClaimDocument>('_claims');

  beforeAll(async () => {
    url = freshUrl('mongo_claims');
    raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
    await raw.connect();
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await raw?.close();
    if (url) await dropDatabase(url);
  });

  it('loses no increment among clients that share nothing in this process', async () => {
    // No in-process serialisation: each client has its own pool, as separate processes do.
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => open({ serializeWrites: false })),
    );
    await incrementsHold(clients);
    // Every claim was released.
    expect(await claims().countDocuments({})).toBe(0);
  });

  it('lets exactly one of several concurrent deletes and updates of a record win', async () => {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => open({ serializeWrites: false })),
    );
    for (let round = 0; round < 5; round++) {
      const vm = await clients[0]!.instances.create(p1, { flavor });
      const results = await Promise.allSettled(
        clients.map((c, i) =>
          i % 2 ? c.instances.delete(p1, vm.id) : c.instances.update(p1, vm.id, { host: `h${i}` }),
        ),
      );
      const deletes = results.filter((r, i) => i % 2 && r.status === 'fulfilled');
      expect(deletes).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(NotFoundError);
      const after = await clients[0]!.instances.get(
        createContext({ projectId: 'p1', readDeleted: 'yes' }),
        vm.id,
      );
      expect(after.deletedAt).not.toBeNull();
      // Create, every acknowledged update, the delete: nothing written over.
      expect(after.revision).toBe(1 + results.filter((r) => r.status === 'fulfilled').length);
    }
  });

  it('takes over a claim left by a crashed writer once it is stale', async () => {
    const stores = await open({ claimTimeoutMS: 300 });
    const vm = await stores.instances.create(p1, { flavor });
    // A writer claimed revision 2 and died before writing.
    await claims().insertOne(claimOf(vm.id, 2));
    const t0 = Date.now();
    const updated = await stores.instances.update(p1, vm.id, { host: 'after-crash' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(updated).toMatchObject({ host: 'after-crash', revision: 2 });
    expect(await claims().countDocuments({ key: claimOf(vm.id, 2).key })).toBe(0);
  });

  it('waits for a live claim, fails with UnavailableError within failFastMs, writes nothing', async () => {
    const stores = await open({ claimTimeoutMS: 60_000, failFastMs: 800 });
    const vm = await stores.instances.create(p1, { flavor });
    await claims().insertOne(claimOf(vm.id, 2));
    const err = await stores.instances
      .update(p1, vm.id, { host: 'blocked' }, { expectedRevision: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retriable).toBe(true);
    expect(await stores.instances.get(p1, vm.id)).toMatchObject({ host: null, revision: 1 });
    // The claimant finishes (here: gives up): the waiting writer goes ahead.
    const waiting = stores.instances.update(p1, vm.id, { host: 'free' });
    await claims().deleteOne({ _id: claimOf(vm.id, 2)._id });
    expect(await waiting).toMatchObject({ host: 'free', revision: 2 });
  });

  it('drops its own claim left by an outage before the next write, instead of waiting for it to go stale', async () => {
    const target = new URL(url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    try {
      const via = new URL(url);
      via.host = `127.0.0.1:${proxy.port}`;
      via.searchParams.set('directConnection', 'true');
      const backend = await MongoBackend.open(via.href, {
        adapter: {
          claimWrites: true,
          claimTimeoutMS: 600_000,
          socketTimeoutMS: 1_000,
          serverSelectionTimeoutMS: 1_000,
          clientOptions: { monitorCommands: true },
        },
      });
      const stores = createStores(backend);
      opened.push(stores);
      const vm = await stores.instances.create(p1, { flavor });
      // The server goes silent right after the claim is taken: the write and the
      // release both fail, the claim stays.
      let claimRequest: number | undefined;
      backend.client.on('commandStarted', (e: CommandStartedEvent) => {
        if (e.commandName === 'insert' && e.command.insert === '_claims')
          claimRequest = e.requestId;
      });
      backend.client.on('commandSucceeded', (e: CommandSucceededEvent) => {
        if (e.requestId === claimRequest) proxy.stall();
      });
      await expect(
        stores.instances.update(p1, vm.id, { host: 'lost' }, { expectedRevision: 1 }),
      ).rejects.toBeInstanceOf(UnavailableError);
      backend.client.removeAllListeners('commandSucceeded');
      expect(await claims().countDocuments({ key: claimOf(vm.id, 2).key })).toBe(1);
      await proxy.down();
      await proxy.up();
      // Without dropping its leftover this write would wait for it (600 s) and fail.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const after = await stores.instances.update(
            p1,
            vm.id,
            { host: 'back' },
            { expectedRevision: 1 },
          );
          expect(after).toMatchObject({ host: 'back', revision: 2 });
          break;
        } catch (err) {
          // The client may need a moment to reconnect after the outage.
          expect(err).toBeInstanceOf(UnavailableError);
          expect((err as Error).message).not.toMatch(/being written by another process/);
          if (Date.now() > deadline) throw err;
        }
      }
    } finally {
      await proxy.down();
    }
  });

  it('does not wait on a claim of a step the record has already passed', async () => {
    const stores = await open({ claimTimeoutMS: 60_000 });
    const vm = await stores.instances.create(p1, { flavor });
    await stores.instances.update(p1, vm.id, { host: 'a' });
    // A stale reader of revision 1 claimed step 2 after it was done.
    await claims().insertOne(claimOf(vm.id, 2));
    await expect(
      stores.instances.update(p1, vm.id, { host: 'b' }, { expectedRevision: 1 }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await stores.instances.update(p1, vm.id, { host: 'c' })).toMatchObject({
      revision: 3,
    });
  });

  it('costs a claim and its release per write', async () => {
    const backend = await MongoBackend.open(url, {
      adapter: { claimWrites: true, clientOptions: { monitorCommands: true } },
    });
    const stores = createStores(backend);
    opened.push(stores);
    const commands: string[] = [];
    backend.client.on('commandStarted', (e: CommandStartedEvent) => commands.push(e.commandName));
    const vm = await stores.instances.create(p1, { flavor });
    commands.length = 0;
    await stores.instances.update(p1, vm.id, { host: 'h' }, { expectedRevision: 1 });
    expect(commands).toEqual(['insert', 'findAndModify', 'delete']);
    commands.length = 0;
    // Without an expected revision the record is read first, to know which step to claim.
    await stores.instances.delete(p1, vm.id);
    expect(commands).toEqual(['find', 'insert', 'findAndModify', 'delete']);
  });

  it('declares in the manifest whether conditional writes hold across processes', async () => {
    const claimed = await open();
    expect(claimed.capabilities).toBe(MONGO_CAPABILITIES);
    expect(claimed.capabilities.atomicWrites).toBe('processes');
    const info = await raw.db().admin().command({ buildInfo: 1 });
    const unclaimed = await open({ claimWrites: false });
    // On FerretDB v1 without claims only one process is safe; MongoDB is atomic anyway.
    expect(unclaimed.capabilities).toBe(
      typeof info.ferretdbVersion === 'string' ? MONGO_UNCLAIMED_CAPABILITIES : MONGO_CAPABILITIES,
    );
  });
});

/** 8 clients increment one record 10 times each by revision: every acknowledged increment stays. */
async function incrementsHold(clients: readonly Stores[]): Promise<void> {
  const vm = await clients[0]!.instances.create(p1, { flavor, displayName: '0' });
  let acked = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (let done = 0; done < 10; ) {
        const cur = await c.instances.get(p1, vm.id);
        try {
          await c.instances.update(
            p1,
            vm.id,
            { displayName: String(Number(cur.displayName) + 1) },
            { expectedRevision: cur.revision },
          );
          done++;
          acked++;
        } catch (err) {
          expect(err).toBeInstanceOf(ConflictError);
        }
      }
    }),
  );
  const after = await clients[1]!.instances.get(p1, vm.id);
  expect(acked).toBe(clients.length * 10);
  expect(Number(after.displayName)).toBe(acked);
  expect(after.revision).toBe(1 + acked);
}

describe("claimed writes on FerretDB's PostgreSQL handler", () => {
  // Its findAndModify has the same read-then-write shape (43 of 80 increments lost without
  // claims when this was written); its unique _id index is PostgreSQL's own.
  let ferret: FerretDbServer;
  const opened: Stores[] = [];
  beforeAll(async () => {
    ferret = await startFerretDb({ backend: 'postgresql' });
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await ferret?.stop();
  });

  it('loses no increment among clients that share nothing in this process', async () => {
    const url = `${ferret.url.replace(/\/$/, '')}/claims_pg`;
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const stores = createStores(
          await MongoBackend.open(url, { adapter: { serializeWrites: false } }),
        );
        opened.push(stores);
        return stores;
      }),
    );
    expect(clients[0]!.capabilities.atomicWrites).toBe('processes');
    await incrementsHold(clients);
  });
});
