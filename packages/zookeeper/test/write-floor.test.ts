/**
 * The write floor of a live upgrade on a real ZooKeeper server (the memory adapter is the
 * reference). The floor lives in the resource's schema znode, whose version every write's
 * multi checks: a write below the floor is refused with `WriteBelowPinError` and changes
 * nothing, also for a client that opened the store (and read the schema znode) before the
 * floor was raised; deletes and rewrites pass.
 */
import {
  type AnyResource,
  createContext,
  fixedIpResource,
  InvalidInputError,
  networkResource,
  openStores,
  type Stores,
  UnavailableError,
  WriteBelowPinError,
} from '@polystore/core';
import {
  createStores,
  type DeleteChange,
  elementsBetween,
  type StoredRecord,
  type UpdateChange,
} from '@polystore/core/adapter';
import { freshNamespace, startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { admin, at, rec } from '@polystore/testing/evolution-fixtures';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperAdapter } from '../src/zookeeper-adapter.js';
import { ZOOKEEPER_CAPABILITIES, type ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { ZooKeeperClient } from '../src/zookeeper-client.js';

let zk: ZooKeeperServer;
let client: ZooKeeperClient;
const opened: { close(): Promise<void> }[] = [];

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
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  client?.close();
  await zk?.stop();
});

/** A backend of `resources` on the chroot (its own session). */
async function open(
  chroot: string,
  resources: readonly AnyResource[] = [widgetM],
): Promise<ZooKeeperBackend> {
  const backend = (await zookeeperAdapter.open(new URL(zk.url), {
    resources,
    adapter: { chroot },
  })) as ZooKeeperBackend;
  opened.push(backend);
  return backend;
}

function freshChroot(): string {
  return `/${freshNamespace('zk_floor')}`;
}

/** A widget record of project p1 as stored at `objectVersion`. */
function widget(id: string, objectVersion: string, fields: Record<string, unknown> = {}) {
  return rec(
    id,
    { serial: `s-${id}`, name: id, size: 1, note: null, ...fields },
    { objectVersion },
  );
}

/** An unconditional update that sets `set` and leaves the record at `objectVersion`. */
function update(set: Record<string, unknown>, objectVersion: string): UpdateChange {
  return { set, updatedAt: at, objectVersion, expectedRevision: undefined, expected: undefined };
}

/** A soft delete, unconditional. */
const SOFT_DELETE: DeleteChange = { soft: true, at, expectedRevision: undefined };

/** Every znode under `path` with its data and data version, to compare before and after a refusal. */
async function snapshot(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (p: string): Promise<void> => {
    const found = await client.getData(p);
    if (found) out.set(p, `${found.version} ${found.data.toString('base64')}`);
    for (const child of (await client.getChildren(p)) ?? []) await walk(`${p}/${child}`);
  };
  await walk(path);
  return out;
}

/** The refusal a promise rejects with, checked to be a `WriteBelowPinError`. */
async function refusal(write: Promise<unknown>): Promise<WriteBelowPinError> {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WriteBelowPinError);
  return err as WriteBelowPinError;
}

describe('zookeeper write floor', () => {
  it('declares atomic fencing', () => {
    expect(ZOOKEEPER_CAPABILITIES.fencing).toBe('atomic');
  });

  it('has no floor until one is set, then reads it back', async () => {
    const backend = await open(freshChroot());
    expect(await backend.writeFloor(widgetM)).toBeUndefined();
    await backend.setWriteFloor(widgetM, '1.1');
    expect(await backend.writeFloor(widgetM)).toBe('1.1');
  });

  it('refuses an insert below the floor and writes nothing', async () => {
    const chroot = freshChroot();
    const backend = await open(chroot);
    const driver = backend.zooKeeperDriver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const before = await snapshot(chroot);
    const err = await refusal(driver.insert(widget('b', '1.0')));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retriable).toBe(true);
    expect([err.resource, err.pin, err.version]).toEqual(['widget', '1.1', '1.0']);
    expect(await snapshot(chroot)).toEqual(before);
    expect(await driver.countByVersion()).toEqual({ '1.0': 1 });
  });

  it('refuses an update that keeps a record below the floor and changes nothing', async () => {
    const chroot = freshChroot();
    const backend = await open(chroot);
    const driver = backend.zooKeeperDriver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const before = await snapshot(chroot);
    const change = update({ name: 'renamed' }, '1.0');
    const err = await refusal(driver.update(admin, 'a', change));
    expect([err.resource, err.pin, err.version]).toEqual(['widget', '1.1', '1.0']);
    expect(await snapshot(chroot)).toEqual(before);
    // Its conditions are checked first: a conflict is still a conflict.
    const stale = await driver.update(admin, 'a', { ...change, expectedRevision: 7 });
    expect(stale.status).toBe('conflict');
    // The same update at the floor passes and moves the record up.
    const ok = await driver.update(
      admin,
      'a',
      update({ name: 'renamed', color: 'small', title: 'a' }, '1.1'),
    );
    expect(ok.status).toBe('ok');
    expect(await driver.countByVersion()).toEqual({ '1.1': 1 });
  });

  it('lets a soft delete of a record below the floor through', async () => {
    const backend = await open(freshChroot());
    const driver = backend.zooKeeperDriver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const out = await driver.delete(admin, 'a', SOFT_DELETE);
    expect(out.status).toBe('ok');
    expect(out.status === 'ok' && out.record.deletedAt).toBe(at);
    expect(out.status === 'ok' && out.record.objectVersion).toBe('1.0');
  });

  it('lets writes at and above the floor through, comparing versions numerically', async () => {
    const backend = await open(freshChroot());
    const driver = backend.zooKeeperDriver(widgetM);
    await backend.setWriteFloor(widgetM, '1.9');
    await driver.insert(widget('at', '1.9'));
    await driver.insert(widget('above', '1.10'));
    await driver.insert(widget('major', '2.0'));
    const err = await refusal(driver.insert(widget('below', '1.8')));
    expect(err.version).toBe('1.8');
    expect(await driver.countByVersion()).toEqual({ '1.9': 1, '1.10': 1, '2.0': 1 });
  });

  it('lets a rewrite up to the floor through (how migrate converts what is left)', async () => {
    const backend = await open(freshChroot());
    const driver = backend.zooKeeperDriver(widgetM);
    const old = widget('a', '1.0');
    await driver.insert(old);
    await backend.setWriteFloor(widgetM, '1.1');
    const next: StoredRecord = { ...old, color: 'small', title: 'a', objectVersion: '1.1' };
    expect((await driver.rewrite(next, old.revision)).status).toBe('ok');
    expect(await driver.countByVersion()).toEqual({ '1.1': 1 });
  });

  it('never lowers the floor, and setting the same floor again changes nothing', async () => {
    const chroot = freshChroot();
    const backend = await open(chroot);
    await backend.setWriteFloor(widgetM, '1.10');
    await backend.setWriteFloor(widgetM, '1.9');
    await backend.setWriteFloor(widgetM, '1.0');
    expect(await backend.writeFloor(widgetM)).toBe('1.10');
    const before = await snapshot(chroot);
    await backend.setWriteFloor(widgetM, '1.10');
    expect(await snapshot(chroot)).toEqual(before);
    await backend.setWriteFloor(widgetM, '2.0');
    expect(await backend.writeFloor(widgetM)).toBe('2.0');
  });

  it('refuses a floor that is not a major.minor version', async () => {
    const backend = await open(freshChroot());
    await expect(backend.setWriteFloor(widgetM, 'latest')).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await backend.writeFloor(widgetM)).toBeUndefined();
  });

  it('keeps the floor through expand, publish and contract, which rewrite the schema znode', async () => {
    const chroot = freshChroot();
    const old = await open(chroot, [widgetL]);
    await old.setWriteFloor(widgetL, '1.1');
    const current = await open(chroot, [widgetM]);
    const step = elementsBetween(widgetM, '1.0', '1.1');
    await current.expand(widgetM, step.expand);
    await current.publish(widgetM, ['title']);
    await current.contract(widgetM, step.contract);
    expect(await current.writeFloor(widgetM)).toBe('1.1');
    await refusal(current.zooKeeperDriver(widgetM).insert(widget('b', '1.0')));
  });

  it('is read and enforced by a client opened before the floor was set, without reopening', async () => {
    const chroot = freshChroot();
    const old = await open(chroot, [widgetL]);
    const oldDriver = old.zooKeeperDriver(widgetL);
    await oldDriver.insert(widget('a', '1.0'));
    const migrator = await open(chroot, [widgetM]);
    await migrator.setWriteFloor(widgetM, '1.1');
    expect(await old.writeFloor(widgetL)).toBe('1.1');
    // The old client read the schema znode before: its multis fail the version check,
    // it reads the znode again and refuses.
    const before = await snapshot(chroot);
    await refusal(oldDriver.insert(widget('b', '1.0')));
    await refusal(oldDriver.update(admin, 'a', update({ size: 2 }, '1.0')));
    expect(await snapshot(chroot)).toEqual(before);
    expect((await oldDriver.delete(admin, 'a', SOFT_DELETE)).status).toBe('ok');
  });

  it('refuses a create through the Stores API of release L once the floor is 1.1', async () => {
    const chroot = freshChroot();
    const stores: Stores = await openStores(zk.url, {
      adapters: [zookeeperAdapter],
      resources: [widgetL],
      adapter: { chroot },
    });
    opened.push(stores);
    const p1 = createContext({ projectId: 'p1' });
    const widgets = stores.store(widgetL);
    const kept = await widgets.create(p1, { serial: 's1', name: 'one' });
    const migrator = await open(chroot, [widgetM]);
    await migrator.setWriteFloor(widgetM, '1.1');
    const err = await refusal(widgets.create(p1, { serial: 's2', name: 'two' }));
    expect([err.resource, err.pin, err.version]).toEqual(['widget', '1.1', '1.0']);
    expect(await widgets.count(p1, {})).toBe(1);
    // Release M writes at the floor and passes, through a bag over the migrator's backend.
    const current = createStores(migrator, { resources: [widgetM] }).store(widgetM);
    await current.create(p1, { serial: 's3', name: 'three', title: 'three' });
    expect(await widgets.count(p1, {})).toBe(2);
    // Soft delete of the 1.0 record stays possible for release L.
    await widgets.delete(p1, kept.id);
  });

  it("refuses an address allocation below the fixed IPs' floor", async () => {
    const chroot = freshChroot();
    const stores: Stores = await openStores(zk.url, {
      adapters: [zookeeperAdapter],
      adapter: { chroot },
    });
    opened.push(stores);
    const p1 = createContext({ projectId: 'p1' });
    const net = await stores.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    });
    await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null });
    const migrator = await open(chroot, [networkResource, fixedIpResource]);
    await migrator.setWriteFloor(fixedIpResource, '1.1');
    const before = await snapshot(chroot);
    const err = await refusal(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    );
    expect([err.resource, err.pin, err.version]).toEqual(['fixedIp', '1.1', '1.0']);
    expect(await snapshot(chroot)).toEqual(before);
  });

  it('refuses every write that starts after the floor is raised; one in flight lands or is refused whole', async () => {
    const chroot = freshChroot();
    const old = await open(chroot, [widgetL]);
    const driver = old.zooKeeperDriver(widgetL);
    const migrator = await open(chroot, [widgetM]);
    let raised = false;
    const outcomes: { id: string; ok: boolean; startedAfter: boolean }[] = [];
    // Each writer goes on until three of its writes started after the floor was raised.
    const writer = async (w: number) => {
      for (let i = 0, after = 0; after < 3 && i < 10_000; i++) {
        const id = `w${w}-${i}`;
        const startedAfter = raised;
        if (startedAfter) after++;
        const ok = await driver.insert(widget(id, '1.0')).then(
          () => true,
          (err: unknown) => {
            expect(err).toBeInstanceOf(WriteBelowPinError);
            return false;
          },
        );
        outcomes.push({ id, ok, startedAfter });
      }
    };
    const writers = Promise.all([0, 1, 2, 3].map(writer));
    // Raise the floor while the writers run: once a few writes landed.
    const deadline = Date.now() + 20_000;
    while (outcomes.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await migrator.setWriteFloor(widgetM, '1.1');
    raised = true;
    await writers;
    expect(outcomes.filter((o) => o.startedAfter && o.ok)).toEqual([]);
    expect(outcomes.some((o) => o.ok)).toBe(true);
    expect(outcomes.some((o) => !o.ok)).toBe(true);
    // Every acknowledged write is stored, and no refused one.
    const landed = outcomes.filter((o) => o.ok).length;
    expect(await driver.countByVersion()).toEqual({ '1.0': landed });
  });
});
