import { createContext, type Stores, UnavailableError } from '@polystore/core';
import { startZooKeeper, TcpProxy, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFresh } from './zookeeper-fixture.js';

let zk: ZooKeeperServer;
let proxy: TcpProxy;
/** A client straight to the server: the other processes of the deployment. */
let direct: Stores;
/** A client through the counting proxy, opened on the same chroot after `direct` wrote. */
let proxied: Stores;
/** The chroot both are opened on. */
let chroot: string;

const ctx = createContext({ projectId: 'p1' });
const CIDR = '10.0.0.0/16';

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.port });
  ({ stores: direct, chroot } = await openFresh(zk.url));
  // Another network of the same range already holds the first addresses: their index
  // directories exist, which a process that just opened the store does not know.
  const other = await direct.networks.create(ctx, { label: 'other', cidr: CIDR });
  for (let i = 0; i < 40; i++)
    await direct.fixedIps.allocate(ctx, { networkId: other.id, instanceId: null });
  ({ stores: proxied } = await openFresh(`zookeeper://${proxy.address}`, { chroot }));
});
afterAll(async () => {
  await proxied?.close();
  await direct?.close();
  await proxy?.close();
  await zk?.stop();
});

/** Polls `condition` until it holds; fails with `what` after `ms`. */
async function until(condition: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The request/response exchanges the proxy saw while `run` ran, and what it returned. */
async function exchanges<T>(run: () => Promise<T>): Promise<{ value: T; exchanges: number }> {
  proxy.resetCounts();
  const value = await run();
  return { value, exchanges: proxy.exchanges };
}

describe('allocate without contention', () => {
  it('takes two round trips: one pipelined read, one multi', async () => {
    const net = await proxied.networks.create(ctx, { label: 'n1', cidr: CIDR });
    // The first allocation in a network has nothing remembered to probe for its address.
    const first = await proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(first.address).toBe('10.0.0.1');
    const counts: number[] = [];
    for (let i = 2; i <= 30; i++) {
      const { value, exchanges: n } = await exchanges(() =>
        proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null }),
      );
      expect(value.address).toBe(`10.0.0.${i}`);
      counts.push(n);
    }
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
  });

  it('takes two round trips for a new instance and for an address asked for', async () => {
    const net = await proxied.networks.create(ctx, { label: 'n2', cidr: CIDR });
    await proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
    for (let i = 0; i < 5; i++) {
      const vm = (await proxied.instances.create(ctx, { flavor })).id;
      const byInstance = await exchanges(() =>
        proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm }),
      );
      expect(byInstance.value.address).toBe(`10.0.0.${i + 2}`);
      expect(byInstance.exchanges).toBeLessThanOrEqual(2);
      // An address only the other network holds: its index directory exists, unknown here.
      const address = `10.0.0.${35 + i}`;
      const asked = await exchanges(() =>
        proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm, address }),
      );
      expect(asked.value.address).toBe(address);
      expect(asked.exchanges).toBeLessThanOrEqual(2);
    }
  });

  it('still takes the lowest free address when another client released one', async () => {
    const net = await proxied.networks.create(ctx, { label: 'n3', cidr: CIDR });
    const ips = [];
    for (let i = 0; i < 5; i++)
      ips.push(await proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null }));
    // Remembered next: 10.0.0.6. Another process frees 10.0.0.2: it is the one taken.
    await direct.fixedIps.release(ctx, ips[1]!.id);
    const again = await proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(again.address).toBe('10.0.0.2');
    const next = await proxied.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(next.address).toBe('10.0.0.6');
  });
});

it('drops the queued allocations whose callers were told they failed', async () => {
  const slow = await TcpProxy.start({ host: '127.0.0.1', port: zk.port });
  const { stores } = await openFresh(`zookeeper://${slow.address}`, {
    chroot,
    failFastMs: 1_000,
    requestTimeoutMs: 10_000,
  });
  try {
    const net = await stores.networks.create(ctx, { label: 'slow', cidr: CIDR });
    const inNetwork = () => direct.fixedIps.count(ctx, { networkId: net.id });
    // Each way takes 1.5 s: the first allocation runs past failFastMs, and so do the ones
    // queued behind it in this process.
    slow.set({ kind: 'latency', ms: 1_500 });
    const calls = Array.from({ length: 4 }, () =>
      stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null }).then(
        () => 'allocated',
        (err: unknown) => (err instanceof UnavailableError ? 'unavailable' : String(err)),
      ),
    );
    expect(await Promise.all(calls)).toEqual(Array(4).fill('unavailable'));
    slow.set({ kind: 'pass' });
    // The first one was sent and may take effect; wait for it, then queue one more behind
    // the three that never started.
    await until(async () => (await inNetwork()) === 1, 'the first allocation');
    const last = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null });
    expect(last.address).toBe('10.0.0.2');
    expect(await inNetwork()).toBe(2);
  } finally {
    await stores.close();
    await slow.close();
  }
}, 60_000);
