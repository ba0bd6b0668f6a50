import { ConflictError, createContext, ExhaustedError, type Stores } from '@polystore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMongoStores } from '../src/index.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

const p1 = createContext({ projectId: 'p1' });
const vm = '0190a000-0000-7000-8000-000000000001';

// Allocation's rules, compared with the memory model, are the root store contract's
// (test/contract/compute.ts, on every backend); this file keeps what is Mongo's own: many
// clients, each with its own connection, racing through the claimed writes.
describe('several clients at once', () => {
  let url: string;
  let clients: Stores[];
  beforeAll(async () => {
    url = freshUrl('mongo_concurrency');
    clients = [];
    // 40 allocations racing for 29 addresses take up to ~30 rounds of reads and an insert
    // each; on a loaded shared machine that exceeds the default 5 s bound (the old and the
    // new code both failed there at load 11). What is tested is uniqueness, not latency.
    for (let i = 0; i < 4; i++)
      clients.push(await openMongoStores(url, { adapter: { failFastMs: 30_000 } }));
  });
  afterAll(async () => {
    await Promise.all((clients ?? []).map((c) => c.close()));
    if (url) await dropDatabase(url);
  });

  it('never gives the same address twice and fills the network exactly', async () => {
    // 10.5.0.0/27: 30 usable hosts, minus the gateway.
    const net = await clients[0]!.networks.create(p1, {
      label: 'race',
      cidr: '10.5.0.0/27',
      gateway: '10.5.0.30',
    });
    const calls = Array.from({ length: 40 }, (_, i) =>
      clients[i % clients.length]!.fixedIps.allocate(p1, { networkId: net.id, instanceId: vm }),
    );
    const results = await Promise.allSettled(calls);
    const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses.length).toBe(29);
    expect(failures).toHaveLength(11);
    for (const e of failures) expect(e).toBeInstanceOf(ExhaustedError);
    expect(await clients[1]!.fixedIps.count(p1, { networkId: net.id })).toBe(29);
  });

  it('lets exactly one of several concurrent conditional updates win', async () => {
    const inst = await clients[0]!.instances.create(p1, {
      flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 },
    });
    let revision = inst.revision;
    for (let round = 0; round < 10; round++) {
      const results = await Promise.allSettled(
        clients.map((c, i) =>
          c.instances.update(p1, inst.id, { displayName: `c${i}` }, { expectedRevision: revision }),
        ),
      );
      const wins = results.filter((r) => r.status === 'fulfilled');
      expect(wins).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      revision += 1;
      expect((await clients[3]!.instances.get(p1, inst.id)).revision).toBe(revision);
    }
    const racers = await Promise.allSettled(
      clients.map((c) =>
        c.instances.update(
          p1,
          inst.id,
          { taskState: 'deleting' },
          { expected: { taskState: [null] } },
        ),
      ),
    );
    expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
