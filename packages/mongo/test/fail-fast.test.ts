// Every call ends within failFastMs with a retriable UnavailableError while the server is
// frozen (SIGSTOP of a dedicated FerretDB), a call given up sends no further command, and
// the same Stores answers again, claims included, once the server is thawed.
import { createContext, type Stores, UnavailableError } from '@polystore/core';
import { createStores } from '@polystore/core/adapter';
import { type FerretDbServer, startFerretDb } from '@polystore/testing';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, command } from '../src/fail-fast.js';
import { MongoBackend } from '../src/mongo-backend.js';
import type { ClaimDocument } from '../src/record-claims.js';

const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const FAIL_FAST_MS = 1_500;
/** Timers and scheduling on a loaded 2-core machine. */
const GRACE_MS = 1_500;
/** Commands that change data (claims included). */
const WRITES: ReadonlySet<string> = new Set(['insert', 'update', 'delete', 'findAndModify']);

/** Polls `probe` until it holds, failing after `ms`. */
async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('bounded', () => {
  it('fails a call that does not settle in time, and its later commands are never started', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    let refused: unknown;
    let steps: Promise<void> | undefined;
    const call = async () => {
      await gate;
      try {
        await command(async () => {
          started++;
        });
      } catch (err) {
        refused = err;
      }
    };
    const err = await bounded('test', 50, () => {
      steps = call();
      return steps;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/within 50 ms \(failFastMs\)/);
    release();
    await steps;
    expect(started).toBe(0);
    expect(refused).toBeInstanceOf(UnavailableError);
  });

  it('runs a nested call under the outer deadline', async () => {
    await expect(
      bounded('outer', 5_000, () => bounded('inner', 1, () => Promise.resolve(7))),
    ).resolves.toBe(7);
  });
});

describe(`a frozen FerretDB fails every call within failFastMs (${FAIL_FAST_MS} ms)`, () => {
  let ferret: FerretDbServer;
  let backend: MongoBackend;
  let stores: Stores;
  const started: { at: number; name: string }[] = [];
  let checkedOut = 0;

  beforeAll(async () => {
    ferret = await startFerretDb();
    backend = await MongoBackend.open(`${ferret.url}fail_fast`, {
      adapter: { failFastMs: FAIL_FAST_MS, clientOptions: { monitorCommands: true } },
    });
    stores = createStores(backend);
    backend.client.on('commandStarted', (e: CommandStartedEvent) => {
      started.push({ at: performance.now(), name: e.commandName });
    });
    backend.client.on('connectionCheckedOut', () => checkedOut++);
    backend.client.on('connectionCheckedIn', () => checkedOut--);
  });
  afterAll(async () => {
    if (ferret?.paused) ferret.resume();
    await stores?.close();
    await ferret?.stop();
  });

  it('get, list, count, create, update, delete, allocate and release end with UnavailableError; the same Stores recovers', async () => {
    const vm = await stores.instances.create(ctx, { flavor });
    const doomed = await stores.instances.create(ctx, { flavor });
    const net = await stores.networks.create(ctx, { label: 'n', cidr: '10.0.0.0/24' });
    await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id });

    ferret.pause();
    let givenUpAt: number;
    let outcomes: { call: string; ms: number; error: unknown }[];
    try {
      const calls: Record<string, () => Promise<unknown>> = {
        get: () => stores.instances.get(ctx, vm.id),
        list: () => stores.instances.list(ctx, { limit: 10 }),
        count: () => stores.instances.count(ctx, {}),
        create: () => stores.instances.create(ctx, { flavor }),
        update: () =>
          stores.instances.update(ctx, vm.id, { host: 'frozen' }, { expectedRevision: 1 }),
        delete: () => stores.instances.delete(ctx, doomed.id),
        allocate: () => stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id }),
        release: () => stores.fixedIps.releaseAllForInstance(ctx, vm.id),
      };
      outcomes = await Promise.all(
        Object.entries(calls).map(async ([call, run]) => {
          const t0 = performance.now();
          const error = await run().then(
            () => undefined,
            (e: unknown) => e,
          );
          return { call, ms: performance.now() - t0, error };
        }),
      );
      givenUpAt = performance.now();
      // Every command given up with its call still holds a connection until the driver's
      // socket timeout ends it; after that, nothing of those calls may start a write.
      await until('abandoned commands end', () => checkedOut === 0);
    } finally {
      ferret.resume();
    }
    for (const o of outcomes) {
      expect(o.error, `${o.call} while frozen`).toBeInstanceOf(UnavailableError);
      expect((o.error as UnavailableError).retriable, o.call).toBe(true);
      expect(o.ms, `${o.call} while frozen`).toBeLessThan(FAIL_FAST_MS + GRACE_MS);
    }
    expect(started.filter((c) => c.at > givenUpAt && WRITES.has(c.name))).toEqual([]);

    // Thawed: the same Stores answers, and the frozen update's claim does not block the record.
    await until('the same Stores answers again', async () => {
      try {
        await stores.instances.get(ctx, vm.id);
        return true;
      } catch (err) {
        expect(err).toBeInstanceOf(UnavailableError);
        return false;
      }
    });
    const now = await stores.instances.get(ctx, vm.id);
    // The frozen update may or may not have been applied when the server woke (the caller
    // was told so); either way the next revision-checked update goes through.
    expect([1, 2]).toContain(now.revision);
    const after = await stores.instances.update(
      ctx,
      vm.id,
      { host: 'after' },
      { expectedRevision: now.revision },
    );
    expect(after).toMatchObject({ host: 'after', revision: now.revision + 1 });
    const claims = backend.client.db('fail_fast').collection<ClaimDocument>('_claims');
    expect(await claims.countDocuments({})).toBe(0);
  });
});
