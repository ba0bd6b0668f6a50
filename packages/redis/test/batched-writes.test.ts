import { createContext, type Stores } from '@polystore/core';
import { type RedisServer, startRedis } from '@polystore/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStores } from '../src/index.js';

/**
 * The connection sends the first plain command (GET, ZCARD) callers issue in a tick at once,
 * holds the rest and sends them in one write at the end of the tick; a script goes at once,
 * after what is held. Seen from
 * the server, on a server of its own: its count of socket reads (INFO stats), and what the
 * replies say about the order the commands ran in.
 */
const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

let server: RedisServer;
let stores: Stores;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis({ appendfsync: 'no' });
  stores = await openRedisStores(server.url, { adapter: { namespace: 'bw' } });
  admin = new Redis(server.url);
});
afterAll(async () => {
  await stores?.close();
  await admin?.quit();
  await server?.stop();
});

/** The server's count of reads from client sockets (the admin client's INFO is one). */
async function readsProcessed(): Promise<number> {
  const info = await admin.info('stats');
  const m = /total_reads_processed:(\d+)/.exec(info);
  if (!m) throw new Error(`INFO stats has no total_reads_processed:\n${info}`);
  return Number(m[1]);
}

describe('batched writes', () => {
  it('sends the gets and counts callers issue in one tick in two writes: the first, then the rest', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 32; i++) ids.push((await stores.instances.create(p1, { flavor })).id);
    const before = await readsProcessed();
    const [records, count] = await Promise.all([
      Promise.all(ids.map((id) => stores.instances.get(p1, id))),
      stores.instances.count(p1),
    ]);
    const after = await readsProcessed();
    expect(records.map((r) => r.id)).toEqual(ids);
    expect(count).toBe(32);
    // The first command alone, the other 32 in one write: one or two reads of the 33
    // commands (one if both had arrived when the server read), one of the INFO after them.
    expect(after - before).toBeGreaterThanOrEqual(2);
    expect(after - before).toBeLessThanOrEqual(3);
  });

  it('keeps the order callers issued commands in when a script follows held ones', async () => {
    const a = await stores.instances.create(p1, { flavor });
    // The second GET is held; the update's script must not overtake it.
    const [first, held, updated] = await Promise.all([
      stores.instances.get(p1, a.id),
      stores.instances.get(p1, a.id),
      stores.instances.update(p1, a.id, { host: 'h1' }),
    ]);
    expect(first.revision).toBe(a.revision);
    expect(held.revision).toBe(a.revision);
    expect(updated.revision).toBe(a.revision + 1);
    // A GET issued after the script reads what the script wrote.
    const [again, read] = await Promise.all([
      stores.instances.update(p1, a.id, { host: 'h2' }),
      stores.instances.get(p1, a.id),
    ]);
    expect(read.revision).toBe(again.revision);
    expect(read.host).toBe('h2');
  });

  it('sends a script at once, not when the tick that holds plain commands ends', async () => {
    const a = await stores.instances.create(p1, { flavor });
    const monitor = await new Redis(server.url).monitor();
    try {
      /** When the server ran each script call (its clock, in ms). */
      const ran: number[] = [];
      monitor.on('monitor', (time: string, args: string[], source: string) => {
        if (source !== 'lua' && /^evalsha$/i.test(String(args[0]))) ran.push(Number(time) * 1000);
      });
      let busyUntil = 0;
      // Queued now, this runs after the calls below have issued their commands and before
      // the end of the tick releases the held GET: it keeps the tick going for 300 ms.
      process.nextTick(() => {
        busyUntil = Date.now() + 300;
        while (Date.now() < busyUntil) {}
      });
      const [, held, updated] = await Promise.all([
        stores.instances.get(p1, a.id),
        stores.instances.get(p1, a.id),
        stores.instances.update(p1, a.id, { host: 'h3' }),
      ]);
      expect(held.revision).toBe(a.revision);
      expect(updated.host).toBe('h3');
      for (let i = 0; i < 200 && ran.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(ran).toHaveLength(1);
      // The script ran while the tick was still busy (server and test share one clock).
      expect(ran[0]).toBeLessThan(busyUntil - 100);
    } finally {
      monitor.disconnect();
    }
  });
});
