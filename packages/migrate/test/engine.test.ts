/**
 * The engine and the fleet on the embedded backends (memory, SQLite), in one process:
 * the full L → M → N cycle with every phase, the gates that refuse a phase, pinned writes,
 * fencing and resuming a migrate from its checkpoint. The same cycle under load, in
 * separate processes, on every backend is `test/live-upgrade.test.ts` at the root.
 */
import { join } from 'node:path';
import {
  type AnyResource,
  createContext,
  FencedError,
  IncompatibleVersionError,
  InvalidQueryError,
  SchemaBehindError,
} from '@polystore/core';
import { freshNamespace } from '@polystore/testing';
import { widgetL, widgetM, widgetN } from '@polystore/testing/upgrade-fixtures';
import { tempDir } from '@polystore/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  exitCodeOf,
  joinFleet,
  MigrateExitCode,
  openUpgrade,
  type Upgrade,
  UpgradeBlockedError,
} from '../src/index.js';

const ctx = createContext({ projectId: 'p1' });
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function member(url: string, resource: AnyResource, release: string, heartbeatMs = 50) {
  const m = await joinFleet(url, {
    service: 'widget-api',
    release,
    resources: [resource],
    heartbeatMs,
    // A lease far above the heartbeat: a loaded machine must not fence these members.
    leaseMs: 10_000,
  });
  open.push(m);
  return m;
}

async function engine(url: string, resource: AnyResource): Promise<Upgrade> {
  const u = await openUpgrade(url, { resources: [resource], runnerLeaseMs: 2000 });
  open.push(u);
  return u;
}

const urls = {
  memory: () => `memory:${freshNamespace('upgrade')}`,
  sqlite: () => `sqlite:${join(tempDir('upgrade-'), 'store.db')}`,
};

describe.each(Object.entries(urls))('live upgrade on %s', (_name, makeUrl) => {
  it('runs L → M → N through every phase with old and new code side by side', async () => {
    const url = makeUrl();
    const l = await member(url, widgetL, '1.0.0');
    const a = await l.stores.store(widgetL).create(ctx, { serial: 's1', name: 'one', size: 70 });
    await l.stores.store(widgetL).create(ctx, { serial: 's2', name: 'two', size: 5 });

    // M's code cannot open the store before expand.
    await expect(member(url, widgetM, '1.1.0')).rejects.toBeInstanceOf(SchemaBehindError);
    const up = await engine(url, widgetM);
    let status = await up.status();
    expect(status.next).toBe('expand');
    expect(exitCodeOf(status)).toBe(MigrateExitCode.expandNeeded);
    const [expanded] = await up.expand();
    expect(expanded!.elements).toEqual(
      expect.arrayContaining([
        'field color',
        'field title',
        'index size (sort)',
        'unique (serial)',
      ]),
    );

    // M joins: the pin is still 1.0, so M writes 1.0 records; L keeps working.
    const m = await member(url, widgetM, '1.1.0');
    expect(m.pin(widgetM)).toBe('1.0');
    const b = await m.stores.store(widgetM).create(ctx, { serial: 's3', name: 'three', size: 90 });
    expect(b.objectVersion).toBe('1.0');
    expect(b.color).toBe('large'); // read through the up-transform
    await expect(
      m.stores.store(widgetM).list(ctx, { where: { color: 'large' } }),
    ).rejects.toBeInstanceOf(InvalidQueryError);
    await l.stores.store(widgetL).update(ctx, a.id, { name: 'uno' });

    // Both releases are live: the oldest version the fleet reads is L's.
    expect(await m.minimumVersion(widgetM)).toBe('1.0');
    expect(await up.minimumVersion(widgetM)).toBe('1.0');

    // The pin cannot move while L is live.
    status = await up.status();
    expect(status.next).toBe('migrate');
    expect(exitCodeOf(status)).toBe(MigrateExitCode.blocked);
    await expect(up.migrate({ waitMs: 200 })).rejects.toBeInstanceOf(UpgradeBlockedError);

    // L leaves; migrate moves the pin (M acknowledges it by heartbeat) and converts.
    await l.close();
    expect(await up.minimumVersion(widgetM)).toBe('1.1');
    const [report] = await up.migrate({ batch: 1 });
    expect(report).toMatchObject({ pin: { from: '1.0', to: '1.1' }, converted: 3, remaining: 0 });
    await m.heartbeat();
    expect(m.pin(widgetM)).toBe('1.1');
    const got = await m.stores.store(widgetM).get(ctx, a.id);
    expect(got).toMatchObject({ objectVersion: '1.1', title: 'uno', color: 'large' });

    // switch makes color and title queryable; the running member sees it at its next heartbeat.
    expect((await up.status()).next).toBe('switch');
    await up.switch();
    await m.heartbeat();
    const large = await m.stores.store(widgetM).list(ctx, { where: { color: 'large' } });
    expect(large.items.map((r) => r.serial).sort()).toEqual(['s1', 's3']);
    expect((await up.status()).next).toBe('none');

    // N: expand (nothing to add), N joins, pinned writes at 1.1 across the major.
    const upN = await engine(url, widgetN);
    await upN.expand();
    const n = await member(url, widgetN, '2.0.0');
    expect(n.pin(widgetN)).toBe('1.1');
    const c = await n.stores.store(widgetN).create(ctx, { serial: 's4', title: 'four', size: 1 });
    expect(c.objectVersion).toBe('1.1');
    const seenByM = await m.stores.store(widgetM).get(ctx, c.id);
    expect(seenByM).toMatchObject({ title: 'four', color: null, name: '' });

    // contract is not next while M is live and the pin is 1.1.
    status = await upN.status();
    expect(status.next).toBe('migrate');
    await expect(upN.contract()).rejects.toBeInstanceOf(UpgradeBlockedError);
    await m.close();
    await upN.migrate();
    await n.heartbeat();
    status = await upN.status();
    expect(status.next).toBe('contract');
    expect(exitCodeOf(status)).toBe(MigrateExitCode.contractReady);
    const [dropped] = await upN.contract();
    expect([...dropped!.elements].sort()).toEqual(['field name', 'field note']);
    status = await upN.status();
    expect(status.next).toBe('none');
    expect(status.resources[0]!.stored).toEqual({ '2.0': 4 });
    expect(status.resources[0]!.elements).toContainEqual({ name: 'field note', state: 'dropped' });
    const all = await n.stores
      .store(widgetN)
      .list(ctx, { orderBy: { field: 'size', direction: 'asc' } });
    expect(all.items.map((r) => [r.serial, r.title])).toEqual([
      ['s4', 'four'],
      ['s2', 'two'],
      ['s1', 'uno'],
      ['s3', 'three'],
    ]);
  });

  it('refuses a release older than the pin, and fences a member whose lease lapsed', async () => {
    const url = makeUrl();
    const up = await engine(url, widgetM);
    await up.expand();
    const m = await member(url, widgetM, '1.1.0', 40);
    expect(m.pin(widgetM)).toBe('1.1');
    await expect(member(url, widgetL, '1.0.0')).rejects.toBeInstanceOf(IncompatibleVersionError);

    const fenced = await joinFleet(url, {
      service: 'widget-api',
      release: '1.1.0',
      resources: [widgetM],
      heartbeatMs: 20,
      leaseMs: 100,
    });
    open.push(fenced);
    // Stall its heartbeats: the event loop is blocked past the lease.
    const until = performance.now() + 150;
    while (performance.now() < until) {}
    expect(fenced.fenced).toBe(true);
    await expect(
      fenced.stores.store(widgetM).create(ctx, { serial: 'x', name: 'x' }),
    ).rejects.toBeInstanceOf(FencedError);
    await fenced.heartbeat();
    expect(fenced.fenced).toBe(false);
    const x = await fenced.stores.store(widgetM).create(ctx, { serial: 'x', name: 'x' });
    expect(x.objectVersion).toBe('1.1');
  });

  it('resumes an interrupted migrate from its checkpoint', async () => {
    const url = makeUrl();
    const l = await member(url, widgetL, '1.0.0');
    for (let i = 0; i < 25; i++)
      await l.stores.store(widgetL).create(ctx, { serial: `s${i}`, name: `n${i}`, size: i });
    await l.close();
    const up = await engine(url, widgetM);
    await up.expand();
    const stop = new AbortController();
    let pages = 0;
    const first = await up.migrate({
      batch: 5,
      signal: stop.signal,
      onProgress: () => {
        if (++pages === 2) stop.abort();
      },
    });
    expect(first[0]).toMatchObject({ converted: 10, remaining: 15 });
    const status = await up.status();
    expect(status.resources[0]!.checkpoint).not.toBeNull();
    expect(status.resources[0]!.converted).toBe(10);
    const second = await up.migrate({ batch: 5 });
    expect(second[0]).toMatchObject({ converted: 15, remaining: 0 });
    expect((await up.status()).resources[0]!.stored).toEqual({ '1.1': 25 });
  });
});

describe('the write floor on memory', () => {
  it('refuses a write below the pin from a process the fleet left behind, atomically in the backend', async () => {
    const url = urls.memory();
    const l = await member(url, widgetL, '1.0.0');
    const old = await l.stores.store(widgetL).create(ctx, { serial: 'a', name: 'a' });
    // A process outside the fleet (or one paused past its lease) still runs release L.
    const { openStores, WriteBelowPinError } = await import('@polystore/core');
    const zombie = await openStores(url, { resources: [widgetL] });
    open.push(zombie);
    await l.close();
    const up = await engine(url, widgetM);
    await up.expand();
    await up.migrate();
    expect(up.stores.capabilities.fencing).toBe('atomic');
    await expect(
      zombie.store(widgetL).create(ctx, { serial: 'z', name: 'z' }),
    ).rejects.toBeInstanceOf(WriteBelowPinError);
    // Its update of a converted record keeps the record at 1.1: allowed, and harmless.
    const updated = await zombie.store(widgetL).update(ctx, old.id, { name: 'b' });
    expect(updated.objectVersion).toBe('1.1');
    // Its delete passes.
    await zombie.store(widgetL).delete(ctx, old.id);
    expect((await up.status()).resources[0]!.stored).toEqual({ '1.1': 1 });
  });
});

describe('a migrate that dies mid-page', () => {
  it('counts the records it converted before its checkpoint, once resumed', async () => {
    const url = urls.memory();
    const { openStores } = await import('@polystore/core');
    const { openBackend } = await import('@polystore/core/adapter');
    const seed = await openStores(url, { resources: [widgetL] });
    for (let i = 0; i < 10; i++)
      await seed.store(widgetL).create(ctx, { serial: `s${i}`, name: `n${i}`, size: i });
    await seed.close();
    // The second page's rewrite lands, then the run dies before its checkpoint is written.
    let rewrites = 0;
    const dying = await openUpgrade(
      async (options) => {
        const opened = await openBackend(url, options);
        const backend = opened.backend!;
        const driverOf = backend.driver.bind(backend);
        backend.driver = (resource) => {
          const driver = driverOf(resource);
          if (resource !== widgetM || !driver.rewrite) return driver;
          const rewrite = driver.rewrite.bind(driver);
          return new Proxy(driver, {
            get(target, key) {
              if (key === 'rewriteMany') return undefined;
              if (key === 'rewrite')
                return async (...args: Parameters<typeof rewrite>) => {
                  const out = await rewrite(...args);
                  if (++rewrites === 3)
                    throw new Error('killed between the rewrite and the checkpoint');
                  return out;
                };
              const value = Reflect.get(target, key, target);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          });
        };
        return opened;
      },
      { resources: [widgetM] },
    );
    open.push(dying);
    await dying.expand();
    await expect(dying.migrate({ batch: 2, concurrency: 1 })).rejects.toThrow(/killed/);
    const up = await engine(url, widgetM);
    await up.migrate({ batch: 2 });
    const [status] = (await up.status()).resources;
    expect(status!.stored).toEqual({ '1.1': 10 });
    expect(status!.converted).toBe(10);
  });
});
