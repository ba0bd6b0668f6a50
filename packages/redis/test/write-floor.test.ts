/**
 * The write floor of a live upgrade on a real Redis server (the memory adapter is the
 * reference): every insert and update script reads the floor key in the same atomic step
 * as its write, so a write below the floor is refused with `WriteBelowPinError` and changes
 * nothing, also for a client that opened the store before the floor was raised; deletes and
 * rewrites pass.
 */
import {
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
  type StoredRecord,
  type UpdateChange,
} from '@polystore/core/adapter';
import { admin, at, rec } from '@polystore/testing/evolution-fixtures';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { openRedisBackend, openRedisStores, redisAdapter } from '../src/redis-adapter.js';
import { REDIS_CAPABILITIES, type RedisBackend } from '../src/redis-backend.js';
import { redisUrl, useRawRedis } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
const raw = useRawRedis(opened);

/** A backend of widget release `resource` on the namespace (its own connection). */
async function open(
  namespace: string,
  resource: typeof widgetL | typeof widgetM = widgetM,
): Promise<RedisBackend> {
  const backend = await openRedisBackend(redisUrl(), {
    resources: [resource],
    adapter: { namespace },
  });
  opened.push(backend);
  return backend;
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

/** Every key of the namespace with its `DUMP`, to compare before and after a refusal. */
async function snapshot(namespace: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await raw().scan(cursor, 'MATCH', `*{${namespace}}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) out.set(key, (await raw().dumpBuffer(key))!.toString('base64'));
  } while (cursor !== '0');
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

describe('redis write floor', () => {
  it('declares atomic fencing', () => {
    expect(REDIS_CAPABILITIES.fencing).toBe('atomic');
  });

  it('has no floor until one is set, then reads it back', async () => {
    const backend = await open(freshNamespace('redis_floor'));
    expect(await backend.writeFloor(widgetM)).toBeUndefined();
    await backend.setWriteFloor(widgetM, '1.1');
    expect(await backend.writeFloor(widgetM)).toBe('1.1');
  });

  it('refuses an insert below the floor and writes nothing', async () => {
    const namespace = freshNamespace('redis_floor');
    const backend = await open(namespace);
    const driver = backend.driver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const before = await snapshot(namespace);
    const err = await refusal(driver.insert(widget('b', '1.0')));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retriable).toBe(true);
    expect([err.resource, err.pin, err.version]).toEqual(['widget', '1.1', '1.0']);
    expect(await snapshot(namespace)).toEqual(before);
    expect(await driver.countByVersion()).toEqual({ '1.0': 1 });
  });

  it('refuses an update that keeps a record below the floor and changes nothing', async () => {
    const namespace = freshNamespace('redis_floor');
    const backend = await open(namespace);
    const driver = backend.driver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const before = await snapshot(namespace);
    const change = update({ name: 'renamed' }, '1.0');
    const err = await refusal(driver.update(admin, 'a', change));
    expect([err.resource, err.pin, err.version]).toEqual(['widget', '1.1', '1.0']);
    expect(await snapshot(namespace)).toEqual(before);
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
    const backend = await open(freshNamespace('redis_floor'));
    const driver = backend.driver(widgetM);
    await driver.insert(widget('a', '1.0'));
    await backend.setWriteFloor(widgetM, '1.1');
    const out = await driver.delete(admin, 'a', SOFT_DELETE);
    expect(out.status).toBe('ok');
    expect(out.status === 'ok' && out.record.deletedAt).toBe(at);
    expect(out.status === 'ok' && out.record.objectVersion).toBe('1.0');
  });

  it('lets writes at and above the floor through, comparing versions numerically', async () => {
    const backend = await open(freshNamespace('redis_floor'));
    const driver = backend.driver(widgetM);
    await backend.setWriteFloor(widgetM, '1.9');
    await driver.insert(widget('at', '1.9'));
    await driver.insert(widget('above', '1.10'));
    await driver.insert(widget('major', '2.0'));
    const err = await refusal(driver.insert(widget('below', '1.8')));
    expect(err.version).toBe('1.8');
    expect(await driver.countByVersion()).toEqual({ '1.9': 1, '1.10': 1, '2.0': 1 });
  });

  it('lets a rewrite up to the floor through (how migrate converts what is left)', async () => {
    const backend = await open(freshNamespace('redis_floor'));
    const driver = backend.driver(widgetM);
    const old = widget('a', '1.0');
    await driver.insert(old);
    await backend.setWriteFloor(widgetM, '1.1');
    const next: StoredRecord = { ...old, color: 'small', title: 'a', objectVersion: '1.1' };
    expect((await driver.rewrite(next, old.revision)).status).toBe('ok');
    expect(await driver.countByVersion()).toEqual({ '1.1': 1 });
  });

  it('never lowers the floor, and setting the same floor again changes nothing', async () => {
    const namespace = freshNamespace('redis_floor');
    const backend = await open(namespace);
    await backend.setWriteFloor(widgetM, '1.10');
    await backend.setWriteFloor(widgetM, '1.9');
    await backend.setWriteFloor(widgetM, '1.0');
    expect(await backend.writeFloor(widgetM)).toBe('1.10');
    const before = await snapshot(namespace);
    await backend.setWriteFloor(widgetM, '1.10');
    expect(await snapshot(namespace)).toEqual(before);
    await backend.setWriteFloor(widgetM, '2.0');
    expect(await backend.writeFloor(widgetM)).toBe('2.0');
  });

  it('refuses a floor that is not a major.minor version', async () => {
    const backend = await open(freshNamespace('redis_floor'));
    await expect(backend.setWriteFloor(widgetM, 'latest')).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await backend.writeFloor(widgetM)).toBeUndefined();
  });

  it('is read and enforced by a client opened before the floor was set, without reopening', async () => {
    const namespace = freshNamespace('redis_floor');
    const old = await open(namespace, widgetL);
    const oldDriver = old.driver(widgetL);
    await oldDriver.insert(widget('a', '1.0'));
    const migrator = await open(namespace, widgetM);
    await migrator.setWriteFloor(widgetM, '1.1');
    expect(await old.writeFloor(widgetL)).toBe('1.1');
    await refusal(oldDriver.insert(widget('b', '1.0')));
    await refusal(oldDriver.update(admin, 'a', update({ size: 2 }, '1.0')));
    expect((await oldDriver.delete(admin, 'a', SOFT_DELETE)).status).toBe('ok');
  });

  it('refuses a create through the Stores API of release L once the floor is 1.1', async () => {
    const namespace = freshNamespace('redis_floor');
    const stores: Stores = await openStores(redisUrl(), {
      adapters: [redisAdapter],
      resources: [widgetL],
      adapter: { namespace },
    });
    opened.push(stores);
    const p1 = createContext({ projectId: 'p1' });
    const widgets = stores.store(widgetL);
    const kept = await widgets.create(p1, { serial: 's1', name: 'one' });
    const migrator = await open(namespace, widgetM);
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

  it("refuses an address allocation below the fixed IPs' floor (allocate.lua inserts too)", async () => {
    const namespace = freshNamespace('redis_floor');
    const stores = await openRedisStores(redisUrl(), { adapter: { namespace } });
    opened.push(stores);
    const p1 = createContext({ projectId: 'p1' });
    const net = await stores.networks.create(p1, {
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    });
    await stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null });
    const migrator = await openRedisBackend(redisUrl(), {
      resources: [networkResource, fixedIpResource],
      adapter: { namespace },
    });
    opened.push(migrator);
    await migrator.setWriteFloor(fixedIpResource, '1.1');
    const before = await snapshot(namespace);
    const err = await refusal(
      stores.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
    );
    expect([err.resource, err.pin, err.version]).toEqual(['fixedIp', '1.1', '1.0']);
    expect(await snapshot(namespace)).toEqual(before);
  });

  it('refuses every write that starts after the floor is raised; one in flight lands or is refused whole', async () => {
    const namespace = freshNamespace('redis_floor');
    const old = await open(namespace, widgetL);
    const driver = old.driver(widgetL);
    const migrator = await open(namespace, widgetM);
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
