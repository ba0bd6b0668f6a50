import { UnavailableError } from '@polystore/core';
import { startZooKeeper, TcpProxy, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ZK, ZkOpError } from '../src/errors.js';
import { ZooKeeperClient } from '../src/zookeeper-client.js';

let zk: ZooKeeperServer;
let client: ZooKeeperClient;

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
  client = await ZooKeeperClient.connect({
    servers: `${zk.host}:${zk.port}`,
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 2_000,
    failFastMs: 5_000,
    connectTimeoutMs: 10_000,
    spinDelayMs: 100,
  });
});
afterAll(async () => {
  client?.close();
  await zk?.stop();
});

it('keeps the compare-and-swap on znode version 0 (driver writes `version || -1`)', async () => {
  await client.create('/v0', Buffer.from('a'));
  // The znode is at version 1 after this write; a write guarded by version 0 must fail.
  await client.multi([{ type: 'set', path: '/v0', data: Buffer.from('b'), version: 0 }]);
  const stale = await client
    .multi([{ type: 'set', path: '/v0', data: Buffer.from('c'), version: 0 }])
    .catch((e: unknown) => e);
  expect(stale).toEqual(new ZkOpError(ZK.BAD_VERSION, 0));
  await expect(client.multi([{ type: 'check', path: '/v0', version: 0 }])).rejects.toBeInstanceOf(
    ZkOpError,
  );
  await expect(client.multi([{ type: 'remove', path: '/v0', version: 0 }])).rejects.toBeInstanceOf(
    ZkOpError,
  );
  expect((await client.getData('/v0'))?.data.toString()).toBe('b');
});

it('reports which op of a multi failed, and applies nothing', async () => {
  const err = await client
    .multi([
      { type: 'create', path: '/m1' },
      { type: 'create', path: '/m2' },
      { type: 'create', path: '/m1' },
    ])
    .catch((e: unknown) => e);
  expect(err).toEqual(new ZkOpError(ZK.NODE_EXISTS, 2));
  expect(await client.getData('/m1')).toBeUndefined();
});

it('creates missing parent directories inside the multi', async () => {
  await client.commit([{ type: 'create', path: '/p/a/b/leaf' }]);
  expect(await client.getChildren('/p/a/b')).toEqual(['leaf']);
  const before = client.requests;
  await client.commit([{ type: 'create', path: '/p/a/b/leaf2' }]);
  expect(client.requests - before).toBe(1);
});

it('carries on with a new session when the session expires', async () => {
  // Cut the client off through a loopback proxy for longer than the session timeout:
  // the server (still running) expires the session; the client finds out on reconnect.
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: zk.port });
  const viaProxy = await ZooKeeperClient.connect({
    servers: `127.0.0.1:${proxy.port}`,
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 1_000,
    failFastMs: 5_000,
    connectTimeoutMs: 10_000,
    spinDelayMs: 100,
  });
  try {
    await viaProxy.create('/before-expiry');
    proxy.set({ kind: 'close' });
    await expect(viaProxy.getData('/before-expiry')).rejects.toBeInstanceOf(UnavailableError);
    await new Promise((r) => setTimeout(r, 7_000));
    proxy.heal();
    await viaProxy.waitConnected(20_000);
    expect(viaProxy.sessions).toBe(2);
    expect(await viaProxy.getChildren('/before-expiry')).toEqual([]);
  } finally {
    viaProxy.close();
    await proxy.close();
  }
}, 60_000);

it('fails fast, without queueing, while disconnected', async () => {
  await zk.kill();
  try {
    const start = Date.now();
    await expect(client.getData('/v0')).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - start).toBeLessThan(500);
  } finally {
    await zk.restart();
  }
  await client.waitConnected(20_000);
  expect((await client.getData('/v0'))?.data.toString()).toBe('b');
});
