import { createContext, type Stores } from '@polystore/core';
import { type RedisServer, startRedis } from '@polystore/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStores } from '../src/index.js';

/**
 * Counts the commands each store call sends, with MONITOR on a dedicated server. Every
 * call must be one command (one round trip), but a get of a record without a stored row
 * of its fields (a GET, then the script); commands run inside scripts are not counted.
 */
const p1 = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

let server: RedisServer;
let stores: Stores;
let monitor: Redis;
let marker: Redis;
const seen: string[][] = [];
let marks = 0;

beforeAll(async () => {
  server = await startRedis({ appendfsync: 'no' });
  stores = await openRedisStores(server.url, { adapter: { namespace: 'rt' } });
  monitor = await new Redis(server.url).monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(args);
  });
  marker = new Redis(server.url);
});
afterAll(async () => {
  await stores?.close();
  monitor?.disconnect();
  await marker?.quit();
  await server?.stop();
});

/** The commands `call` sent, as seen by the server. */
async function commandsOf(call: () => Promise<unknown>): Promise<string[]> {
  return (await sentBy(call)).map((args) => String(args[0]).toLowerCase());
}

/** The commands `call` sent with their arguments, as seen by the server. */
async function sentBy(call: () => Promise<unknown>): Promise<string[][]> {
  const token = `polystore-mark-${++marks}`;
  await marker.echo(`${token}-start`);
  await waitFor(`${token}-start`);
  const from = seen.length;
  await call();
  await marker.echo(`${token}-end`);
  await waitFor(`${token}-end`);
  return seen.slice(from, -1).filter((args) => !String(args[1]).startsWith('polystore-mark-'));
}

async function waitFor(text: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (seen.some((args) => args[1] === text)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`MONITOR never showed ${text}`);
}

describe('round trips', () => {
  it('each call is one command: get, getMany, create, update, delete, list, count, allocate, release', async () => {
    const a = await stores.instances.create(p1, { flavor });
    const net = await stores.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' });
    await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: a.id });
    const counts: Record<string, string[]> = {};
    let created = a;
    counts.create = await commandsOf(async () => {
      created = await stores.instances.create(p1, { flavor });
    });
    // A get of a record this release wrote reads its stored row: one GET.
    counts.get = await commandsOf(() => stores.instances.get(p1, created.id));
    counts.getMany = await commandsOf(() => stores.instances.getMany(p1, [a.id, created.id]));
    counts.update = await commandsOf(() =>
      stores.instances.update(
        p1,
        created.id,
        { host: 'h' },
        { expectedRevision: 1, expected: { taskState: [null] } },
      ),
    );
    counts.list = await commandsOf(() =>
      stores.instances.list(p1, { where: { host: 'h' }, limit: 10 }),
    );
    counts.listPage = await commandsOf(() =>
      stores.instances.list(p1, { orderBy: { field: 'displayName', direction: 'desc' }, limit: 1 }),
    );
    counts.countFirst = await commandsOf(() => stores.instances.count(p1, { vmState: 'building' }));
    counts.count = await commandsOf(() => stores.instances.count(p1, { vmState: 'building' }));
    counts.countTwo = await commandsOf(() =>
      stores.instances.count(p1, { vmState: 'building', host: 'h' }),
    );
    counts.delete = await commandsOf(() => stores.instances.delete(p1, created.id));
    let ip = '';
    counts.allocate = await commandsOf(async () => {
      ip = (await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: a.id })).id;
    });
    counts.getIp = await commandsOf(() => stores.fixedIps.get(p1, ip));
    counts.release = await commandsOf(() => stores.fixedIps.release(p1, ip));
    counts.releaseAll = await commandsOf(() => stores.fixedIps.releaseAllForInstance(p1, a.id));
    for (const [name, commands] of Object.entries(counts)) {
      expect(commands, name).toHaveLength(1);
    }
    // A count that is the size of one index reads it, once the driver knows the index has
    // no legacy set (its first count is the script, which says so); any other call is a
    // script (a get's has the field names bound in it, so the call sends the key, the base
    // and the id).
    expect(counts.count).toEqual(['zcard']);
    expect(counts.get).toEqual(['get']);
    expect(counts.getIp).toEqual(['get']);
    for (const name of ['create', 'update', 'delete', 'allocate', 'list', 'countFirst', 'countTwo'])
      expect(['evalsha', 'eval'], name).toContain(counts[name]![0]);
  });

  it('a get without a stored row of its fields is a GET, then the script', async () => {
    const vm = await stores.instances.create(p1, { flavor, displayName: 'no row' });
    const rowKey = `polystore:{rt}:instances:w:${vm.id}`;
    await marker.del(rowKey);
    const sent = await sentBy(() => stores.instances.get(p1, vm.id));
    expect(sent.map((args) => args[0]?.toLowerCase())).toEqual([
      'get',
      expect.stringMatching(/^evalsha$|^eval$/),
    ]);
    expect(sent[0]?.slice(1)).toEqual([rowKey]);
    // A missing record too: its id has no row.
    const missing = '00000000-0000-4000-8000-00000000dead';
    expect(await commandsOf(() => stores.instances.get(p1, missing).catch(() => null))).toEqual([
      'get',
      'evalsha',
    ]);
  });

  it('a read sends no field names: they are bound in its script', async () => {
    const vm = await stores.instances.create(p1, { flavor, displayName: 'bound' });
    await marker.del(`polystore:{rt}:instances:w:${vm.id}`);
    // A first call of a script may be EVAL (NOSCRIPT); the second is EVALSHA.
    await stores.instances.get(p1, vm.id);
    await marker.del(`polystore:{rt}:instances:w:${vm.id}`);
    const [, get] = await sentBy(() => stores.instances.get(p1, vm.id));
    expect(get?.[0]?.toLowerCase()).toBe('evalsha');
    // EVALSHA, the script, 1 key, the record key, then the base, the id and '-'.
    expect(get).toHaveLength(7);
    expect(get).not.toContain('displayName');
    expect(get?.at(-1)).toBe('-');
    const [page] = await sentBy(() => stores.instances.list(p1, { limit: 1 }));
    expect(page).not.toContain('displayName');
    const [update] = await sentBy(() =>
      stores.instances.update(p1, vm.id, { displayName: 'still bound' }),
    );
    expect(update?.filter((a) => a === 'displayName')).toHaveLength(1);
    expect((await stores.instances.get(p1, vm.id)).displayName).toBe('still bound');
  });
});
