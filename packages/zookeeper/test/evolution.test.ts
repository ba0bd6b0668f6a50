import {
  type AnyResource,
  ConfigError,
  computeResources,
  createContext,
  DuplicateError,
  defineResource,
  instanceResource,
  networkResource,
  SchemaBehindError,
  UnavailableError,
} from '@polystore/core';
import {
  createStores,
  describeElements,
  type EvolutionDriver,
  elementsBetween,
  elementsOf,
  NO_ELEMENTS,
  type OpenedBackend,
  openBackend,
  type ResourceDriver,
  type SchemaElements,
  type StoredRecord,
  supportsEvolution,
  UniqueViolationError,
} from '@polystore/core/adapter';
import { freshNamespace, startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeString, encodeValue } from '../src/layout.js';
import { zookeeperAdapter } from '../src/zookeeper-adapter.js';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { ZooKeeperClient } from '../src/zookeeper-client.js';

// The evolution SPI on a real server, mirroring the memory adapter's tests
// (packages/memory/test/evolution.test.ts), and issue 14 item 5: writes work whatever
// index entries an older or newer definition left.

const up = elementsBetween(gadgetV11, '1.0', '1.1');

let zk: ZooKeeperServer;
let client: ZooKeeperClient;
const opened: ZooKeeperBackend[] = [];

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

function evolving(driver: ResourceDriver): ResourceDriver & EvolutionDriver {
  if (!supportsEvolution(driver)) throw new Error('the zookeeper driver must support evolution');
  return driver;
}

async function open(resource: AnyResource, chroot: string): Promise<ZooKeeperBackend> {
  const backend = (await zookeeperAdapter.open(new URL(zk.url), {
    resources: [resource],
    adapter: { chroot },
  })) as ZooKeeperBackend;
  opened.push(backend);
  return backend;
}

/** A backend of each definition over one fresh chroot; the old one opened it first. */
async function fleet() {
  const chroot = `/${freshNamespace('zkevo')}`;
  const oldBackend = await open(gadgetV10, chroot);
  const newBackend = await open(gadgetV11, chroot);
  return {
    chroot,
    oldBackend,
    newBackend,
    oldDriver: evolving(oldBackend.driver(gadgetV10)),
    newDriver: evolving(newBackend.driver(gadgetV11)),
  };
}

function shown(encoded: string): string {
  return encoded === '_' ? 'null' : (decodeString(encoded) ?? encoded);
}

/** Every label and color index entry and label unique znode, as `key id=value` lines, sorted. */
async function entryLines(chroot: string): Promise<string[]> {
  const root = `${chroot}/gadgets`;
  const lines: string[] = [];
  for (const field of ['label', 'color']) {
    const dir = `${root}/index/${field}`;
    for (const v of (await client.getChildren(dir)) ?? []) {
      for (const id of (await client.getChildren(`${dir}/${v}`)) ?? []) {
        lines.push(`index:${field} ${id}=${shown(v)}`);
      }
    }
  }
  const dir = `${root}/unique/label`;
  for (const v of (await client.getChildren(dir)) ?? []) {
    const holder = await client.getData(`${dir}/${v}`);
    lines.push(`unique:label ${holder?.data.toString('utf8')}=${shown(v)}`);
  }
  return lines.sort();
}

/** The entry lines records call for, with or without the 1.1 elements (color index, label unique). */
function expectedLines(records: readonly StoredRecord[], v11: boolean): string[] {
  return records
    .flatMap((r) => [
      `index:label ${r.id}=${r.label}`,
      ...(v11 ? [`index:color ${r.id}=${r.color ?? 'null'}`] : []),
      ...(v11 && r.deletedAt === null ? [`unique:label ${r.id}=${r.label}`] : []),
    ])
    .sort();
}

/** What elements say, comparable (a field's declaration comes from the reader's history). */
function shape(elements: SchemaElements) {
  return {
    fields: elements.fields.map((x) => x.name),
    indexes: elements.indexes,
    uniques: elements.uniques,
  };
}

/** Every record, read back through the driver's version scan. */
async function allRecords(driver: EvolutionDriver): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (const v of Object.keys(await driver.countByVersion())) {
    out.push(...(await driver.scanVersion(v, undefined, 1_000)).records);
  }
  return out;
}

describe('rewrite', () => {
  it('refuses a unique clash with another live record with DuplicateError, changing nothing', async () => {
    const { newDriver: driver, chroot } = await fleet();
    await driver.insert(rec('x', { label: 'taken' }));
    await driver.insert(rec('gone', { label: 'free' }, { deletedAt: at }));
    const y = await driver.insert(rec('y', { label: 'y' }));
    const before = await entryLines(chroot);
    const err = await driver.rewrite(rec('y', { label: 'taken', color: null }), 1).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.fields).toEqual(['label']);
    expect((await driver.scanVersion('1.0', 'x', 5)).records).toEqual([y]);
    expect(await entryLines(chroot)).toEqual(before);
    // A soft-deleted record holds no unique value.
    const ok = await driver.rewrite(rec('y', { label: 'free', color: null }), 1);
    expect(ok.status).toBe('ok');
  });

  it('after expand, makes every entry match, removing those an older definition left', async () => {
    const { oldBackend, oldDriver, newDriver, newBackend, chroot } = await fleet();
    // Written by the 1.0 client, before the 1.1 elements exist.
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }));
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(newDriver), false));
    await oldBackend.expand(gadgetV11, up.expand);
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(newDriver), true));

    // Entries another layout left: a color and a label entry at values r1 does not hold,
    // and one of an index no definition has any more.
    const root = `${chroot}/gadgets`;
    await client.ensurePath(`${root}/index/color/${encodeValue('blue')}/r1`);
    await client.ensurePath(`${root}/index/label/${encodeValue('old')}/r1`);
    await client.ensurePath(`${root}/index/size/${encodeValue(3)}/r1`);
    const stale = await entryLines(chroot);
    expect(stale).toContain('index:color r1=blue');
    expect(stale).toContain('index:color r1=null');

    const [r1] = (await newDriver.scanVersion('1.0', undefined, 1)).records;
    const out = await newDriver.rewrite({ ...r1!, color: 'red', objectVersion: '1.1' }, 1);
    expect(out.status).toBe('ok');
    // The 1.0 client knows the applied elements too: its rewrite keeps them right.
    const [r2] = (await newDriver.scanVersion('1.0', undefined, 1)).records;
    expect((await oldDriver.rewrite({ ...r2!, label: 'dos' }, 1)).status).toBe('ok');

    const fixed = await entryLines(chroot);
    expect(fixed).toEqual(expectedLines(await allRecords(newDriver), true));
    expect(fixed).toContain('unique:label r1=one');
    expect(fixed).toContain('index:color r1=red');
    expect(fixed).toContain('unique:label r2=dos');
    expect(fixed).toContain('index:color r2=null');
    expect(await client.getChildren(`${root}/index/size/${encodeValue(3)}`)).toEqual([]);

    // Queries by the new index see the record exactly once.
    const stores = createStores(newBackend, { resources: [gadgetV11] });
    const ctx = createContext({ projectId: 'p1' });
    const gadgets = stores.store(gadgetV11);
    expect((await gadgets.list(ctx, { where: { color: 'red' } })).items.map((r) => r.id)).toEqual([
      'r1',
    ]);
    expect(await gadgets.count(ctx, { color: 'red' })).toBe(1);
    expect(await gadgets.count(ctx, { color: 'blue' })).toBe(0);
    expect(await gadgets.count(ctx, { label: 'old' })).toBe(0);
  });
});

describe('expand, contract and appliedElements', () => {
  it('records what a brand-new store needs, and an open by newer code changes nothing', async () => {
    const { oldBackend, newBackend } = await fleet();
    expect(shape(await oldBackend.appliedElements(gadgetV10))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    const fresh = await open(gadgetV11, `/${freshNamespace('zkevo')}`);
    expect(shape(await fresh.appliedElements(gadgetV11))).toEqual(shape(elementsOf(gadgetV11)));
  });

  it('adds the elements once (idempotent), and old code then honours the new unique', async () => {
    const { oldBackend, newBackend, oldDriver, newDriver, chroot } = await fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }, { deletedAt: at }));
    await newBackend.expand(gadgetV11, up.expand);
    const applied = await newBackend.appliedElements(gadgetV11);
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color']);
    expect(applied.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'color', kind: 'eq' },
    ]);
    expect(applied.uniques).toEqual([['label']]);
    const entries = await entryLines(chroot);
    expect(entries).toEqual(expectedLines(await allRecords(newDriver), true));
    await newBackend.expand(gadgetV11, up.expand);
    await oldBackend.expand(gadgetV11, elementsOf(gadgetV11));
    expect(shape(await oldBackend.appliedElements(gadgetV11))).toEqual(shape(applied));
    expect(await entryLines(chroot)).toEqual(entries);
    // The 1.0 client opened before the expand: it learns the new unique on its next write.
    await expect(oldDriver.insert(rec('r3', { label: 'one' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );
    await oldDriver.insert(rec('r4', { label: 'four' }));
    await oldDriver.update(admin, 'r1', {
      set: { label: 'uno' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(newDriver), true));
  });

  it('refuses a unique constraint live records violate, naming them, and changes nothing', async () => {
    const { oldBackend, oldDriver, newDriver, chroot } = await fleet();
    await oldDriver.insert(rec('d2', { label: 'same' }, { projectId: 'p2' }));
    await oldDriver.insert(rec('d1', { label: 'same' }));
    await oldDriver.insert(rec('dead', { label: 'same' }, { deletedAt: at }));
    await oldDriver.insert(rec('other', { label: 'other' }));
    const before = await oldBackend.appliedElements(gadgetV10);
    const entries = await entryLines(chroot);
    const err = await oldBackend.expand(gadgetV11, up.expand).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['d1', 'd2'] });
    expect(err.message).toContain('d1, d2');
    // Not even the color field and index of the same call were applied.
    expect(shape(await oldBackend.appliedElements(gadgetV10))).toEqual(shape(before));
    expect(await entryLines(chroot)).toEqual(entries);
    // And writes still work as before (no half-applied constraint).
    await newDriver.insert(rec('d3', { label: 'same', color: null }));

    await oldDriver.delete(admin, 'd2', { soft: true, at, expectedRevision: undefined });
    await oldDriver.delete(admin, 'd3', { soft: false, at, expectedRevision: undefined });
    await oldBackend.expand(gadgetV11, up.expand);
    expect((await oldBackend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(newDriver), true));
  });

  it('takes the call back when a write makes a clash while records are entered', async () => {
    const { newBackend, newDriver, oldDriver, chroot } = await fleet();
    await oldDriver.insert(rec('c1', { label: 'same' }));
    const before = await entryLines(chroot);
    // A 1.0 client writes a clashing record after the check, before the records are entered.
    const evolution = newBackend.zooKeeperDriver(gadgetV11).evolution as {
      enterAll(): Promise<unknown>;
    };
    const enterAll = evolution.enterAll;
    evolution.enterAll = async () => {
      await oldDriver.insert(rec('c2', { label: 'same' }, { projectId: 'p2' }));
      return enterAll();
    };
    const err = await newBackend.expand(gadgetV11, up.expand).catch((e) => e);
    evolution.enterAll = enterAll;
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toMatchObject({ fields: ['label'], ids: ['c1', 'c2'] });
    expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    expect((await entryLines(chroot)).filter((l) => !l.startsWith('index:label c2'))).toEqual(
      before,
    );
    expect(await newDriver.countByVersion()).toEqual({ '1.0': 2 });
  });

  it('drops elements and a dropped field`s values (idempotent), leaving revisions alone', async () => {
    const { newBackend, newDriver, chroot } = await fleet();
    await newBackend.expand(gadgetV11, up.expand);
    await newDriver.insert(rec('r1', { label: 'one', color: 'red' }, { objectVersion: '1.1' }));
    const down = elementsBetween(gadgetV11, '1.1', '1.0');
    await newBackend.contract(gadgetV10, down.contract);
    await newBackend.contract(gadgetV10, down.contract);
    expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    expect(await client.getChildren(`${chroot}/gadgets/index/color`)).toBeUndefined();
    expect(await client.getChildren(`${chroot}/gadgets/unique/label`)).toBeUndefined();
    expect((await newDriver.scanVersion('1.1', undefined, 5)).records).toEqual([
      rec('r1', { label: 'one' }, { objectVersion: '1.1' }),
    ]);
  });

  it('reports nothing for a resource never created (without creating it), and refuses once closed', async () => {
    const { oldBackend, chroot } = await fleet();
    const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
    expect(await oldBackend.appliedElements(other)).toEqual(NO_ELEMENTS);
    expect((await client.getChildren(chroot))?.sort()).toEqual(['gadgets']);
    await oldBackend.close();
    await expect(oldBackend.expand(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(
      UnavailableError,
    );
    await expect(oldBackend.contract(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(
      UnavailableError,
    );
    await expect(oldBackend.appliedElements(other)).rejects.toBeInstanceOf(UnavailableError);
    await expect(evolving(oldBackend.driver(gadgetV10)).countByVersion()).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});

describe('writes over entries another definition left (issue 14 item 5)', () => {
  it('a 1.1 client updates, deletes and purges records written under 1.0, without expand', async () => {
    const { oldDriver, newDriver, chroot } = await fleet();
    for (const id of ['u1', 'u2', 'h1', 's1', 's2']) await oldDriver.insert(rec(id, { label: id }));
    const update = (id: string, set: Record<string, unknown>) =>
      newDriver.update(admin, id, {
        set,
        updatedAt: at,
        objectVersion: '1.1',
        expectedRevision: undefined,
        expected: undefined,
      });
    expect((await update('u1', { color: 'red' })).status).toBe('ok');
    expect((await update('u2', { label: 'renamed' })).status).toBe('ok');
    expect((await update('u2', { label: 'renamed2', color: 'blue' })).status).toBe('ok');
    const del = (id: string, soft: boolean) =>
      newDriver.delete(admin, id, { soft, at, expectedRevision: undefined });
    expect((await del('h1', false)).status).toBe('ok');
    expect((await del('s1', true)).status).toBe('ok');
    expect((await del('s2', true)).status).toBe('ok');
    expect(await newDriver.purge('2100-01-01T00:00:00.000Z')).toBe(2);
    expect(await newDriver.countByVersion()).toEqual({ '1.1': 2 });
    // What is left has exactly the entries of its values: nothing stale.
    const lines = await entryLines(chroot);
    expect(lines.filter((l) => /h1|s1|s2/.test(l))).toEqual([]);
    expect(lines).toContain('index:color u1=red');
    expect(lines).toContain('index:color u2=blue');
    expect(lines).toContain('unique:label u2=renamed2');
    expect(lines.filter((l) => l.startsWith('index:label u2='))).toEqual([
      'index:label u2=renamed2',
    ]);
  });

  it('a 1.0 client updates, deletes and purges records a 1.1 client wrote', async () => {
    const { oldDriver, newDriver } = await fleet();
    for (const id of ['n1', 'n2', 'n3']) {
      await newDriver.insert(rec(id, { label: id, color: 'red' }, { objectVersion: '1.1' }));
    }
    const out = await oldDriver.update(admin, 'n1', {
      set: { label: 'x1' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: undefined,
      expected: undefined,
    });
    expect(out.status).toBe('ok');
    const hard = await oldDriver.delete(admin, 'n2', { soft: false, at, expectedRevision: 1 });
    expect(hard.status).toBe('ok');
    expect(
      (await oldDriver.delete(admin, 'n3', { soft: true, at, expectedRevision: 1 })).status,
    ).toBe('ok');
    expect(await oldDriver.purge('2100-01-01T00:00:00.000Z')).toBe(1);
    expect(await oldDriver.countByVersion()).toEqual({ '1.0': 1 });
  });
});

describe('conditional deletes (DeleteChange.expected)', () => {
  it('refuses a delete whose expected values the record lacks as a conflict, changing nothing', async () => {
    const { oldDriver, newDriver, chroot } = await fleet();
    await newDriver.insert(rec('c1', { label: 'c1', color: 'red' }, { objectVersion: '1.1' }));
    await newDriver.insert(rec('c2', { label: 'c2', color: 'blue' }, { objectVersion: '1.1' }));
    const records = await allRecords(newDriver);
    const entries = await entryLines(chroot);
    // Old code that never read the records, and new code that remembers them from its inserts.
    for (const driver of [oldDriver, newDriver]) {
      for (const soft of [true, false]) {
        for (const id of ['c1', 'c2']) {
          const out = await driver.delete(admin, id, {
            soft,
            at,
            expectedRevision: undefined,
            expected: { objectVersion: ['1.0'] },
          });
          expect(out).toEqual({ status: 'conflict', current: records.find((r) => r.id === id) });
        }
      }
    }
    // A value list is checked as an update's is: none of the listed values, a conflict.
    const byColor = await newDriver.delete(admin, 'c1', {
      soft: false,
      at,
      expectedRevision: 1,
      expected: { objectVersion: ['1.1'], color: ['green', null] },
    });
    expect(byColor.status).toBe('conflict');
    expect(await allRecords(newDriver)).toEqual(records);
    expect(await entryLines(chroot)).toEqual(entries);
    expect(await newDriver.countByVersion()).toEqual({ '1.1': 2 });

    // Among the listed values: deleted, soft or hard.
    const soft = await oldDriver.delete(admin, 'c1', {
      soft: true,
      at,
      expectedRevision: undefined,
      expected: { objectVersion: ['1.0', '1.1'], color: ['red'] },
    });
    expect(soft).toMatchObject({ status: 'ok', record: { id: 'c1', deletedAt: at, revision: 2 } });
    const hard = await newDriver.delete(admin, 'c2', {
      soft: false,
      at,
      expectedRevision: undefined,
      expected: { objectVersion: ['1.1'] },
    });
    expect(hard).toMatchObject({ status: 'ok', record: { id: 'c2' } });
    expect(await newDriver.countByVersion()).toEqual({ '1.1': 1 });
    expect((await entryLines(chroot)).filter((l) => l.includes('c2'))).toEqual([]);
  });
});

it('releases fixed IPs whatever index entries they have', async () => {
  const chroot = `/${freshNamespace('zkevo')}`;
  const backend = (await zookeeperAdapter.open(new URL(zk.url), {
    resources: computeResources,
    adapter: { chroot },
  })) as ZooKeeperBackend;
  opened.push(backend);
  const stores = createStores(backend, { resources: computeResources });
  const ctx = createContext({ projectId: 'p1' });
  const net = await stores.networks.create(ctx, { label: 'evo', cidr: '10.9.0.0/29' });
  const vm = '00000000-0000-7000-8000-0000000000dd';
  const ip = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm });
  // A layout that did not index the address: its entry is missing.
  const entry = `${chroot}/fixedIps/index/address/${encodeValue(ip.address)}/${ip.id}`;
  expect(await client.countChildren(entry)).toBe(0);
  await client.multi([{ type: 'remove', path: entry, version: -1 }]);
  expect(await stores.fixedIps.releaseAllForInstance(ctx, vm)).toBe(1);
  expect(await stores.fixedIps.count(ctx, { instanceId: vm })).toBe(0);
  const again = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm });
  expect(again.address).toBe(ip.address);
});

describe('opening a store never changes its layout (issue 14 item 4)', () => {
  const ctx = createContext({ projectId: 'p1' });
  const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
  const opens: OpenedBackend[] = [];
  afterEach(async () => {
    await Promise.all(opens.splice(0).map((o) => o.stores.close()));
  });

  /** Opens as a service does (`openStores`'s sequence, with its schema check), keeping the backend. */
  async function openChecked(
    chroot: string,
    resources: readonly AnyResource[],
  ): Promise<{ stores: OpenedBackend['stores']; backend: ZooKeeperBackend }> {
    const opened = await openBackend(zk.url, {
      adapters: [zookeeperAdapter],
      resources,
      adapter: { chroot },
    });
    opens.push(opened);
    return { stores: opened.stores, backend: opened.backend as ZooKeeperBackend };
  }

  /** Every znode under `path`, with the data version of each schema znode, sorted. */
  async function tree(path: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (p: string): Promise<void> => {
      const children = (await client.getChildren(p)) ?? [];
      for (const c of children) {
        const child = `${p}/${c}`;
        if (c === 'schema') {
          const got = await client.getData(child);
          out.push(`${child} v${got?.version} ${got?.data.toString('utf8')}`);
        } else out.push(child);
        await walk(child);
      }
    };
    await walk(path);
    return out.sort();
  }

  it('refuses newer code on a store nobody expanded with SchemaBehindError, adding no znode', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    const v10 = await openChecked(chroot, [gadgetV10]);
    await v10.stores.store(gadgetV10).create(ctx, { label: 'one' });
    await v10.stores.store(gadgetV10).create(ctx, { label: 'one' });
    const before = await tree(chroot);
    expect(before).toContain(`${chroot}/gadgets/index/label`);
    expect(before).not.toContain(`${chroot}/gadgets/index/color`);

    const err = await openChecked(chroot, [gadgetV11]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaBehindError);
    expect(err).toMatchObject({ resource: 'gadget', missing: describeElements(up.expand) });
    expect((err as SchemaBehindError).missing).toEqual([
      'field color',
      'index color (eq)',
      'unique (label)',
    ]);
    expect(await tree(chroot)).toEqual(before);
    // The adapter's own open (no check) adds nothing either.
    await open(gadgetV11, chroot);
    expect(await tree(chroot)).toEqual(before);
    // The older code goes on working (1.0 has no unique label).
    await v10.stores.store(gadgetV10).create(ctx, { label: 'one' });
    expect(await v10.stores.store(gadgetV10).count(ctx, { label: 'one' })).toBe(3);
  });

  it('lets older code reopen a store newer code expanded, and work in it', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    const first = await openChecked(chroot, [gadgetV10]);
    const a = await first.stores.store(gadgetV10).create(ctx, { label: 'a' });
    const deleted = await first.stores.store(gadgetV10).create(ctx, { label: 'gone' });
    await first.stores.store(gadgetV10).delete(ctx, deleted.id);

    // What `polystore schema expand` does: the adapter's open (no check), then expand.
    const tool = await open(gadgetV11, chroot);
    await tool.expand(gadgetV11, up.expand);
    const expanded = await tree(chroot);
    expect(expanded).toContain(`${chroot}/gadgets/index/color`);
    expect(expanded).toContain(`${chroot}/gadgets/unique/label`);
    await openChecked(chroot, [gadgetV11]);

    const v10 = await openChecked(chroot, [gadgetV10]);
    expect(await tree(chroot)).toEqual(expanded);
    const gadgets = v10.stores.store(gadgetV10);
    expect(await gadgets.get(ctx, a.id)).toEqual(a);
    const b = await gadgets.create(ctx, { label: 'b' });
    // The 1.0 code honours the unique constraint the expand added, and keeps its entries.
    await expect(gadgets.create(ctx, { label: 'b' })).rejects.toBeInstanceOf(DuplicateError);
    expect((await gadgets.list(ctx, { where: { label: 'b' } })).items).toEqual([b]);
    const renamed = await gadgets.update(ctx, a.id, { label: 'aa' }, { expectedRevision: 1 });
    expect(renamed).toMatchObject({ label: 'aa', revision: 2, objectVersion: '1.0' });
    await gadgets.delete(ctx, b.id);
    expect((await gadgets.list(ctx, {})).items.map((r) => r.id)).toEqual([a.id]);
    expect(await gadgets.count(ctx, {})).toBe(1);
    expect(await gadgets.count(ctx, { label: 'aa' })).toBe(1);

    expect(shape(await v10.backend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV11)),
    );
    const driver = evolving(v10.backend.driver(gadgetV10));
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(driver), true));
  });

  it('reopens with fewer resources, adding and changing nothing', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    const all = await openChecked(chroot, computeResources);
    const net = await all.stores.networks.create(ctx, { label: 'n', cidr: '10.0.0.0/29' });
    const vm = await all.stores.instances.create(ctx, { flavor });
    await all.stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id });
    const before = await tree(chroot);

    const some = await openChecked(chroot, [instanceResource, networkResource]);
    expect(await some.stores.instances.get(ctx, vm.id)).toEqual(vm);
    expect(await some.stores.networks.get(ctx, net.id)).toEqual(net);
    const one = await openChecked(chroot, [instanceResource]);
    expect(await one.stores.instances.count(ctx, {})).toBe(1);
    expect(await tree(chroot)).toEqual(before);
    // And the full set again: the fixed IP is where it was.
    const again = await openChecked(chroot, computeResources);
    expect(await again.stores.fixedIps.count(ctx, { instanceId: vm.id })).toBe(1);
    expect(await tree(chroot)).toEqual(before);
  });

  it('makes a brand-new store once when several clients open it at the same time', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    const opened = await Promise.all([1, 2, 3, 4].map(() => openChecked(chroot, [gadgetV10])));
    const made = await tree(chroot);
    expect(made).toContain(
      `${chroot}/gadgets/schema v0 ${JSON.stringify({ fields: ['label'], indexes: [{ field: 'label', kind: 'eq' }], uniques: [] })}`,
    );
    const gadgets = opened.map((o) => o.stores.store(gadgetV10));
    const created = await Promise.all(gadgets.map((g, i) => g.create(ctx, { label: `l${i}` })));
    expect(await gadgets[0]!.count(ctx, {})).toBe(4);
    expect(await gadgets[3]!.get(ctx, created[0]!.id)).toEqual(created[0]);
  });

  it('refuses a resource an older polystore stored under its singular name, adding nothing', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    await client.ensurePath(`${chroot}/gadget/records/r1`);
    const before = await tree(chroot);
    const err = await openChecked(chroot, [gadgetV10]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`stored under ${chroot}/gadget,`);
    expect((err as Error).message).toContain(`(${chroot}/gadgets)`);
    expect(await tree(chroot)).toEqual(before);
  });

  it('completes a resource whose directories are there without a schema znode', async () => {
    const chroot = `/${freshNamespace('zkopen')}`;
    const fresh = `/${freshNamespace('zkopen')}`;
    await openChecked(fresh, [gadgetV10]);
    // Left by a client that made the directories one by one and stopped before the schema znode.
    await client.ensurePath(`${chroot}/gadgets/records`);
    await client.ensurePath(`${chroot}/gadgets/index/label`);
    const { stores } = await openChecked(chroot, [gadgetV10]);
    const strip = (lines: string[], root: string) => lines.map((l) => l.slice(root.length));
    expect(strip(await tree(chroot), chroot)).toEqual(strip(await tree(fresh), fresh));
    const made = await stores.store(gadgetV10).create(ctx, { label: 'x' });
    expect((await stores.store(gadgetV10).list(ctx, { where: { label: 'x' } })).items).toEqual([
      made,
    ]);
  });
});
