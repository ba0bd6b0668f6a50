/**
 * An update or a delete with no conditions never fails because a migrate converts its
 * record at the same moment: core plans the write again against the converted record (the
 * bug the load test found: `ConflictError` "field ? does not have an expected value"; for
 * a delete it came back when the SQL driver read the record after its refused statement,
 * already converted to the version the delete had asked for). An update pinned below a
 * major meets a record a migrate already converted to the code's version: it is written at
 * that version, not refused with `IncompatibleVersionError`; a create or update that read
 * the pin before it moved and reached the store after migrate set the write floor is
 * written again at the new pin, not refused with `WriteBelowPinError`.
 * Run: `npx vitest run --project cross-package test/upgrade-update-race.test.ts`.
 */
import {
  ConflictError,
  createContext,
  IncompatibleVersionError,
  WriteBelowPinError,
} from '@polystore/core';
import {
  type Backend,
  createStores,
  type ResourceDriver,
  versionedWrite,
} from '@polystore/core/adapter';
import { memoryAdapter } from '@polystore/memory';
import { joinFleet, openUpgrade } from '@polystore/migrate';
import { widgetL, widgetM, widgetN } from '@polystore/testing/upgrade-fixtures';
import { freshStoreUrl, type StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';

const BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres', 'redis'];

/**
 * A fresh store of 300 widgets written by 1.0 code, expanded to 1.1 and not migrated, and a
 * 1.1 fleet member on it: every record is for migrate to convert while the member writes.
 */
async function expandedStore(backend: StoreBackend, name: string) {
  const url = await freshStoreUrl(backend, name);
  const ctx = createContext({ projectId: 'p' });
  const l = await joinFleet(url, { service: 'w', release: '1.0.0', resources: [widgetL] });
  const ids: string[] = [];
  for (let i = 0; i < 300; i++)
    ids.push((await l.stores.store(widgetL).create(ctx, { serial: `s${i}`, size: i % 100 })).id);
  await l.close();
  const up = await openUpgrade(url, { resources: [widgetM] });
  await up.expand();
  const m = await joinFleet(url, {
    service: 'w',
    release: '1.1.0',
    resources: [widgetM],
    heartbeatMs: 50,
    leaseMs: 30_000,
  });
  return { ctx, ids, up, m };
}

/**
 * Runs migrate with 4 writers calling `write(0)`, `write(1)`, … in turn until it is done
 * (or `write` returns false): how many writes were done and the conflicts they met.
 */
async function writeWhileMigrating(
  up: Awaited<ReturnType<typeof openUpgrade>>,
  write: (i: number) => Promise<boolean>,
) {
  const conflicts: string[] = [];
  let done = 0;
  let next = 0;
  let stop = false;
  const writers = [0, 1, 2, 3].map(async () => {
    while (!stop) {
      // As a service between requests: SQLite answers without I/O, and a loop of nothing
      // but its calls would starve the heartbeat's timer.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        if (!(await write(next++))) break;
        done++;
      } catch (err) {
        if (err instanceof ConflictError) conflicts.push(err.message);
        else throw err;
      }
    }
  });
  const [report] = await up.migrate({ batch: 5 });
  stop = true;
  await Promise.all(writers);
  return { report: report!, conflicts, done };
}

describe.each(BACKENDS)('updates racing migrate on %s', (backend) => {
  it('never conflict when the caller set no condition', { timeout: 180_000 }, async () => {
    const { ctx, ids, up, m } = await expandedStore(backend, 'update_race');
    const { report, conflicts, done } = await writeWhileMigrating(up, async (i) => {
      await m.stores.store(widgetM).update(ctx, ids[i % ids.length]!, { size: i % 100 });
      return true;
    });
    await m.close();
    expect((await up.status()).resources[0]!.stored).toEqual({ '1.1': 300 });
    await up.close();
    expect(report.remaining).toBe(0);
    expect(done).toBeGreaterThan(0);
    expect(conflicts).toEqual([]);
  });

  it('deletes never conflict when the caller set no condition', { timeout: 180_000 }, async () => {
    const { ctx, ids, up, m } = await expandedStore(backend, 'delete_race');
    const { report, conflicts, done } = await writeWhileMigrating(up, async (i) => {
      const id = ids[i];
      if (id === undefined) return false;
      await m.stores.store(widgetM).delete(ctx, id);
      return true;
    });
    await m.close();
    await up.close();
    expect(report.remaining).toBe(0);
    expect(done).toBeGreaterThan(0);
    expect(conflicts).toEqual([]);
  });
});

describe('a delete whose conflict shows a record that meets its condition', () => {
  // What the SQL drivers can return: their refused statement saw the record at another
  // version, and the record they read after it is already converted to the version the
  // delete asked for. Core must try again, not report a conflict with no field.
  it('is tried again', async () => {
    const backend = await memoryAdapter.open(new URL('memory:'), { resources: [widgetM] });
    let refusals = 0;
    const racing = new Proxy(backend, {
      get(target, name) {
        if (name === 'driver') {
          return (resource: never): ResourceDriver => {
            const real = target.driver(resource);
            return new Proxy(real, {
              get(d, method) {
                if (method === 'delete') {
                  return async (...args: Parameters<ResourceDriver['delete']>) => {
                    if (refusals++ > 0) return d.delete(...args);
                    const current = await d.get(
                      { projectId: null, includeShared: true, deleted: 'yes' },
                      args[1],
                    );
                    return { status: 'conflict', current: current! };
                  };
                }
                const v = Reflect.get(d, method, d);
                return typeof v === 'function' ? v.bind(d) : v;
              },
            });
          };
        }
        const v = Reflect.get(target, name, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Backend;
    const widgets = createStores(racing, { resources: [widgetM] }).store(widgetM);
    const ctx = createContext({ projectId: 'p' });
    const made = await widgets.create(ctx, { serial: 's', size: 1 });
    const deleted = await widgets.delete(ctx, made.id);
    expect(deleted.id).toBe(made.id);
    expect(refusals).toBe(2);
    await backend.close();
  });
});

describe('an update pinned below a major whose record a migrate already converted', () => {
  // The live-upgrade load test on ZooKeeper: a 2.0 process took the pin 1.1 at the start
  // of its update; the pin moved and a migrate converted the record to 2.0 before the
  // write reached the store. The record is at this code's own version, so the patch
  // (validated at that version) is written at it: a write never lowers a version.
  it('is written at the record version', async () => {
    const backend = await memoryAdapter.open(new URL('memory:'), { resources: [widgetN] });
    let pin = '1.1';
    const pinned = createStores(backend, {
      resources: [widgetN],
      writePolicy: { writeVersion: () => pin, beforeWrite: () => {} },
    }).store(widgetN);
    const ctx = createContext({ projectId: 'p' });
    const made = await pinned.create(ctx, { serial: 's', size: 1, title: 't' });
    expect(made.objectVersion).toBe('1.1');
    // What migrate does once the pin is 2.0: the record rewritten at 2.0.
    pin = '2.0';
    const converted = await pinned.update(ctx, made.id, { size: 2 });
    expect(converted.objectVersion).toBe('2.0');
    pin = '1.1';
    const updated = await pinned.update(ctx, made.id, { size: 3 });
    expect(updated).toMatchObject({ objectVersion: '2.0', size: 3, title: 't', revision: 3 });
    await backend.close();
  });

  it('is refused when the record is at a major this code does not know', () => {
    const record = (objectVersion: string) => ({
      id: 'w1',
      projectId: 'p',
      serial: 's',
      size: 1,
      color: null,
      title: '',
      revision: 1,
      createdAt: '2026-12-02T00:00:00.000Z',
      updatedAt: '2026-12-02T00:00:00.000Z',
      deletedAt: null,
      objectVersion,
    });
    expect(versionedWrite(widgetN, record('2.0'), '1.1', { size: 3 })).toEqual({
      objectVersion: '2.0',
      extra: {},
    });
    // 1.1 code pinned at 1.0 meets a 2.0 record; 2.0 code meets a 3.0 one.
    expect(() => versionedWrite(widgetM, record('2.0'), '1.0', { size: 3 })).toThrow(
      IncompatibleVersionError,
    );
    expect(() => versionedWrite(widgetN, record('3.0'), '1.1', { size: 3 })).toThrow(
      IncompatibleVersionError,
    );
  });
});

describe('a write whose call began before the pin moved, refused by the write floor', () => {
  // A fleet member reads the pin when a call begins; migrate sets the write floor once
  // every live member has taken the new pin. A call in flight at that moment reaches the
  // store below the floor: core writes it again at the pin as it is now, where the old
  // code returned `WriteBelowPinError` ("this process was left behind") for a process
  // that was not.
  /** A write policy whose pin is `first` at its first read and `then` ever after. */
  const moving = (first: string, then: string) => {
    let reads = 0;
    return { writeVersion: () => (reads++ === 0 ? first : then), beforeWrite: () => {} };
  };

  async function pinnedStore() {
    const backend = await memoryAdapter.open(new URL('memory:'), { resources: [widgetM] });
    const ctx = createContext({ projectId: 'p' });
    const at10 = createStores(backend, {
      resources: [widgetM],
      writePolicy: { writeVersion: () => '1.0', beforeWrite: () => {} },
    }).store(widgetM);
    const made = await at10.create(ctx, { serial: 's0', size: 1 });
    expect(made.objectVersion).toBe('1.0');
    await backend.setWriteFloor!(widgetM, '1.1');
    return { backend, ctx, at10, made };
  }

  it('updates at the new pin', async () => {
    const { backend, ctx, made } = await pinnedStore();
    const widgets = createStores(backend, {
      resources: [widgetM],
      writePolicy: moving('1.0', '1.1'),
    }).store(widgetM);
    const updated = await widgets.update(ctx, made.id, { size: 70 });
    expect(updated).toMatchObject({ objectVersion: '1.1', size: 70, revision: 2 });
    await backend.close();
  });

  it('creates at the new pin', async () => {
    const { backend, ctx } = await pinnedStore();
    const widgets = createStores(backend, {
      resources: [widgetM],
      writePolicy: moving('1.0', '1.1'),
    }).store(widgetM);
    const made = await widgets.create(ctx, { serial: 's1', size: 60 });
    expect(made).toMatchObject({ objectVersion: '1.1', serial: 's1', size: 60 });
    expect((await widgets.get(ctx, made.id)).objectVersion).toBe('1.1');
    await backend.close();
  });

  it('still refuses a process whose pin did not move, and writes nothing', async () => {
    const { backend, ctx, at10, made } = await pinnedStore();
    await expect(at10.update(ctx, made.id, { size: 70 })).rejects.toThrow(WriteBelowPinError);
    await expect(at10.create(ctx, { serial: 's2' })).rejects.toThrow(WriteBelowPinError);
    expect(await at10.get(ctx, made.id)).toMatchObject({ revision: 1, size: 1 });
    expect(await at10.count(ctx)).toBe(1);
    await backend.close();
  });
});
