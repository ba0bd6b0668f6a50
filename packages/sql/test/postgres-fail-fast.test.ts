import { createContext, type Stores, UnavailableError } from '@polystore/core';
import {
  freshNamespace,
  type PostgresServer,
  startPostgres,
  untilAvailable,
} from '@polystore/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlStores } from '../src/index.js';

const ctx = createContext({ projectId: 'frozen' });
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** Timers and scheduling on a loaded machine: how late a call that met the bound may still settle. */
const GRACE_MS = 2_000;

// Its own durable server: the test freezes it.
let server: PostgresServer;
let url: string;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase(freshNamespace('frozen'));
});
afterAll(async () => {
  server?.resume();
  await server?.stop();
});

interface Outcome {
  readonly ms: number;
  readonly error: unknown;
}

/** Runs a call and reports how long it took to settle and with what error (undefined: it succeeded). */
async function timed(call: () => Promise<unknown>): Promise<Outcome> {
  const start = performance.now();
  try {
    await call();
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

describe('postgres with the default options, when the server freezes (SIGSTOP)', () => {
  it('fails every call in flight and every new call within failFastMs with UnavailableError, and the same Stores recovers', async () => {
    const failFastMs = 5_000;
    const stores: Stores = await openSqlStores(url);
    try {
      const kept = await stores.instances.create(ctx, { displayName: 'kept', flavor: FLAVOR });
      // Calls in flight when the server freezes: sent, or waiting for a pooled connection.
      const inFlight = Array.from({ length: 16 }, (_, i) =>
        timed(() =>
          i % 2 === 0
            ? stores.instances.create(ctx, { displayName: `in flight ${i}`, flavor: FLAVOR })
            : stores.instances.update(ctx, kept.id, { host: `h${i}` }),
        ),
      );
      server.pause();
      const during = [
        timed(() => stores.instances.get(ctx, kept.id)),
        timed(() => stores.instances.list(ctx, {})),
        timed(() => stores.instances.count(ctx, {})),
        timed(() => stores.instances.create(ctx, { displayName: 'during', flavor: FLAVOR })),
        timed(() => stores.fixedIps.allocate(ctx, { networkId: kept.id, instanceId: kept.id })),
        timed(() => openSqlStores(url).then((s) => s.close())),
      ];
      const settled = await Promise.all([...inFlight, ...during]);
      // Still frozen here: every call above ended while nothing answered.
      expect(server.paused).toBe(true);
      for (const [n, o] of settled.entries()) {
        // A call that completed before the freeze took hold may have succeeded.
        if (o.error === undefined) continue;
        expect(o.error, `call ${n}`).toBeInstanceOf(UnavailableError);
        expect(o.ms, `call ${n} took ${Math.round(o.ms)} ms`).toBeLessThan(failFastMs + GRACE_MS);
      }
      const failed = settled.filter((o) => o.error !== undefined);
      expect(failed.length).toBeGreaterThanOrEqual(during.length);
      // A call made a while into the freeze, with the pool's connections all stuck.
      const late = await timed(() => stores.instances.get(ctx, kept.id));
      expect(late.error).toBeInstanceOf(UnavailableError);
      expect(late.ms).toBeLessThan(failFastMs + GRACE_MS);
      server.resume();
      await untilAvailable(() => stores.instances.get(ctx, kept.id), 15_000);
      // Writes work again on the same Stores, and the record is whole.
      const after = await stores.instances.update(ctx, kept.id, { displayName: 'after' });
      expect(after.displayName).toBe('after');
    } finally {
      server.resume();
      await stores.close();
    }
  }, 120_000);
});

describe('postgres open', () => {
  it('creates a brand-new store even when ordinary statements get a tiny timeout (DDL on a loaded server)', async () => {
    // 1 ms cancels CREATE TABLE and CREATE INDEX; the statements at open have openTimeoutMs.
    const fresh = await server.createDatabase(freshNamespace('open_timeout'));
    const stores = await openSqlStores(fresh, { adapter: { statementTimeoutMs: 1 } });
    await stores.close();
    // The tables are there: a store with ordinary timeouts writes into them.
    const again = await openSqlStores(fresh);
    try {
      const vm = await again.instances.create(ctx, { flavor: FLAVOR });
      expect((await again.instances.get(ctx, vm.id)).id).toBe(vm.id);
    } finally {
      await again.close();
    }
  }, 60_000);
});
