import {
  createContext,
  DuplicateError,
  defineResource,
  f,
  openStores,
  SchemaBehindError,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import {
  createStores,
  type EvolutionDriver,
  elementsBetween,
  elementsOf,
  NO_ELEMENTS,
  type ResourceDriver,
  type SchemaElements,
  type StoredRecord,
  supportsEvolution,
  UniqueViolationError,
} from '@polystore/core/adapter';
import {
  admin,
  at,
  gadgetBase,
  gadgetV10,
  gadgetV11,
  rec,
} from '@polystore/testing/evolution-fixtures';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredDocument } from '../src/layout.js';
import { mongoAdapter } from '../src/mongo-adapter.js';
import { MongoBackend } from '../src/mongo-backend.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

/** A later release: the nullable color becomes unique too. */
const gadgetV12 = defineResource({
  ...gadgetBase,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added color (indexed), label unique', addUnique: [['label']] },
    '1.2': { note: 'color unique', addUnique: [['color']] },
  },
  fields: {
    label: f.string().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
  },
  unique: [['label'], ['color']],
});

const up = elementsBetween(gadgetV11, '1.0', '1.1');
const p1 = createContext({ projectId: 'p1' });

/** Elements with each field as what `<prefix>_elements` records of it. */
function plain(elements: SchemaElements) {
  return {
    ...elements,
    fields: elements.fields.map((e) => ({
      name: e.name,
      kind: e.field.kind,
      nullable: e.field.isNullable,
      index: e.field.index,
      since: e.field.since,
    })),
  };
}

/** The document of a record as an older layout stored it: no markers. */
function legacy(record: StoredRecord): StoredDocument {
  const { id, ...rest } = record;
  return { _id: id, ...rest };
}

function evolving(driver: ResourceDriver): ResourceDriver & EvolutionDriver {
  if (!supportsEvolution(driver)) throw new Error('the mongo driver must support evolution');
  return driver;
}

/** What each test opened, closed and dropped after it. */
const opened: {
  backends: MongoBackend[];
  stores: Stores[];
  clients: MongoClient[];
  urls: string[];
} = {
  backends: [],
  stores: [],
  clients: [],
  urls: [],
};

afterEach(async () => {
  for (const s of opened.stores.splice(0)) await s.close();
  for (const b of opened.backends.splice(0)) await b.close();
  for (const c of opened.clients.splice(0)) await c.close();
  for (const u of opened.urls.splice(0)) await dropDatabase(u);
});

async function open(url: string, resource: typeof gadgetV10 | typeof gadgetV11 | typeof gadgetV12) {
  const backend = await MongoBackend.open(url, { resources: [resource] });
  opened.backends.push(backend);
  return { backend, driver: evolving(backend.driver(resource)) };
}

/**
 * A fresh database with a client of the 1.0 definition (which created the store) and a
 * raw client; `newer()` opens a 1.1 client on it, straight through `MongoBackend.open`
 * (core's check of the applied elements is not in the way), which creates nothing: the
 * 1.1 indexes exist once a test expands the store.
 */
async function fleet() {
  const url = freshUrl('mongo_evolution');
  opened.urls.push(url);
  const old = await open(url, gadgetV10);
  const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
  opened.clients.push(raw);
  const docs = raw.db().collection<StoredDocument>('gadgets');
  return {
    url,
    oldBackend: old.backend,
    oldDriver: old.driver,
    newer: () => open(url, gadgetV11),
    docs,
    /** The indexes of the collection, as `name key-json unique` lines, sorted. */
    indexes: async () =>
      (await docs.listIndexes().toArray())
        .map((i) => `${i.name} ${JSON.stringify(i.key)}${i.unique ? ' unique' : ''}`)
        .sort(),
  };
}

describe('rewrite', () => {
  it('refuses a unique clash with another live record with DuplicateError, changing nothing', async () => {
    const { oldBackend, newer, docs } = await fleet();
    await oldBackend.expand(gadgetV11, up.expand);
    const { driver } = await newer();
    await driver.insert(rec('x', { label: 'taken', color: null }));
    await driver.insert(rec('gone', { label: 'free', color: null }, { deletedAt: at }));
    const y = await driver.insert(rec('y', { label: 'y', color: null }));
    const before = await docs.find().sort({ _id: 1 }).toArray();
    const err = await driver.rewrite(rec('y', { label: 'taken', color: null }), 1).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.fields).toEqual(['label']);
    expect((await driver.scanVersion('1.0', 'x', 5)).records).toEqual([y]);
    expect(await docs.find().sort({ _id: 1 }).toArray()).toEqual(before);
    // A soft-deleted record holds no unique value.
    const ok = await driver.rewrite(rec('y', { label: 'free', color: null }), 1);
    expect(ok.status).toBe('ok');
  });

  it('works the same without claims or serialised writes (the MongoDB path)', async () => {
    const url = freshUrl('mongo_evolution');
    opened.urls.push(url);
    const backend = await MongoBackend.open(url, {
      resources: [gadgetV11],
      adapter: { claimWrites: false, serializeWrites: false },
    });
    opened.backends.push(backend);
    const driver = evolving(backend.driver(gadgetV11));
    await driver.insert(rec('x', { label: 'taken', color: null }));
    const y = await driver.insert(rec('y', { label: 'y', color: null }, { deletedAt: at }));
    const next = { ...y, label: 'z', color: 'red', objectVersion: '1.1' };
    expect(await driver.rewrite(next, 1)).toEqual({
      status: 'ok',
      record: { ...next, revision: 2 },
    });
    expect(await driver.rewrite(next, 1)).toEqual({
      status: 'conflict',
      current: { ...next, revision: 2 },
    });
    expect(await driver.rewrite(rec('nope', { label: 'n', color: null }), 1)).toEqual({
      status: 'not-found',
    });
    const live = { ...next, deletedAt: null, label: 'taken' };
    await expect(driver.rewrite(live, 2)).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    expect(await driver.countByVersion()).toEqual({ '1.0': 1, '1.1': 1 });
  });

  it('makes every index and unique entry match, whatever an older client left', async () => {
    const { oldBackend, oldDriver, newer, docs } = await fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }));
    await oldBackend.expand(gadgetV11, up.expand);
    const { backend, driver: newDriver } = await newer();
    const stores = createStores(backend, { resources: [gadgetV11] });
    const gadgets = stores.store(gadgetV11);

    // The 1.0 client writes records without the 1.1 field.
    await oldDriver.update(admin, 'r1', {
      set: { label: 'uno' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    await oldDriver.insert(rec('r3', { label: 'three' }));
    // Documents as an older layout wrote them: no liveness marker on a live record (so
    // the unique index does not see it as live), a live marker on a deleted one.
    await docs.insertOne(legacy(rec('r4', { label: 'four' })));
    await docs.insertOne({
      ...legacy(rec('r5', { label: 'five' }, { deletedAt: at, revision: 2 })),
      _dead: '',
    });
    expect((await docs.findOne({ _id: 'r4' }))?._dead).toBeUndefined();

    const r1 = (await newDriver.scanVersion('1.0', undefined, 1)).records[0]!;
    expect(r1.id).toBe('r1');
    const out = await newDriver.rewrite({ ...r1, color: 'red', objectVersion: '1.1' }, 2);
    expect(out.status).toBe('ok');
    const red = await gadgets.list(p1, { where: { color: 'red' } });
    expect(red.items.map((g) => g.id)).toEqual(['r1']);
    expect(await gadgets.count(p1, { color: 'red' })).toBe(1);
    expect((await gadgets.list(p1, { where: { label: 'uno' } })).items.map((g) => g.id)).toEqual([
      'r1',
    ]);
    expect(await gadgets.count(p1, { label: 'one' })).toBe(0);

    // A driver whose definition lacks color keeps it, and repairs the markers too.
    const r3 = (await newDriver.scanVersion('1.0', 'r2', 1)).records[0]!;
    expect((await oldDriver.rewrite({ ...r3, label: 'tres', color: 'blue' }, 1)).status).toBe('ok');
    expect(await gadgets.count(p1, { color: 'blue' })).toBe(1);
    expect(await docs.findOne({ _id: 'r3' })).toMatchObject({
      label: 'tres',
      color: 'blue',
      _dead: '',
      _null_color: '',
    });

    // Before their rewrite, r4 escapes the unique index and r5 still blocks its label.
    await newDriver.insert(rec('c4', { label: 'four', color: null }));
    await expect(newDriver.insert(rec('c5', { label: 'five', color: null }))).rejects.toThrow(
      DuplicateError,
    );
    await newDriver.delete(admin, 'c4', { soft: false, at, expectedRevision: undefined });
    for (const id of ['r4', 'r5']) {
      const r = (await newDriver.scanVersion('1.0', id < 'r5' ? 'r3' : 'r4', 1)).records[0]!;
      expect(r.id).toBe(id);
      const next = { ...r, color: null, objectVersion: '1.1' };
      expect((await newDriver.rewrite(next, r.revision)).status).toBe('ok');
    }
    expect(await docs.findOne({ _id: 'r4' })).toMatchObject({ _dead: '', _null_color: 'r4' });
    expect(await docs.findOne({ _id: 'r5' })).toMatchObject({ _dead: 'r5' });
    await expect(newDriver.insert(rec('c4', { label: 'four', color: null }))).rejects.toThrow(
      DuplicateError,
    );
    await newDriver.insert(rec('c5', { label: 'five', color: null }));
    expect(await gadgets.count(p1, { label: 'four' })).toBe(1);
    expect(await gadgets.count(p1, { label: 'five' })).toBe(1);
  });
});

describe('expand, contract and appliedElements', () => {
  it('records what a brand-new store needs, and an open by newer code changes nothing', async () => {
    const { oldBackend, newer, url } = await fleet();
    const { backend: newBackend } = await newer();
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
    // Fields come back as the asking code declares them: compared by what is recorded.
    expect(plain(await newBackend.appliedElements(gadgetV11))).toEqual(
      plain(elementsOf(gadgetV10)),
    );
    const fresh = freshUrl('mongo_evolution');
    opened.urls.push(fresh);
    const { backend } = await open(fresh, gadgetV11);
    expect(await backend.appliedElements(gadgetV11)).toEqual(elementsOf(gadgetV11));
    expect(url).not.toBe(fresh);
  });

  it('adds the indexes once (idempotent, by key spec), and old code then honours the new unique', async () => {
    const { oldBackend, oldDriver, newer, indexes } = await fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldBackend.expand(gadgetV11, up.expand);
    const { backend: newBackend } = await newer();
    const applied = await newBackend.appliedElements(gadgetV11);
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color']);
    expect(applied.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'color', kind: 'eq' },
    ]);
    expect(applied.uniques).toEqual([['label']]);
    const physical = await indexes();
    expect(physical).toContain('by_color {"color":1}');
    expect(physical).toContain('unique_label {"label":1,"_dead":1} unique');
    await newBackend.expand(gadgetV11, up.expand);
    await oldBackend.expand(gadgetV11, elementsOf(gadgetV11));
    expect(await oldBackend.appliedElements(gadgetV11)).toEqual(applied);
    expect(await indexes()).toEqual(physical);
    await expect(oldDriver.insert(rec('r2', { label: 'one' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );
    // A soft-deleted record written by the old client frees its label.
    await oldDriver.delete(admin, 'r1', { soft: true, at, expectedRevision: undefined });
    await oldDriver.insert(rec('r2', { label: 'one' }));
  });

  it('adds a unique constraint over a nullable field: nulls and missing values never clash', async () => {
    const { oldBackend, oldDriver, indexes, url } = await fleet();
    await oldDriver.insert(rec('o1', { label: 'o1' }));
    await oldDriver.insert(rec('o2', { label: 'o2' }));
    await oldBackend.expand(gadgetV11, up.expand);
    const { driver } = await open(url, gadgetV11);
    await driver.insert(rec('n1', { label: 'n1', color: null }, { objectVersion: '1.1' }));
    await driver.insert(rec('n2', { label: 'n2', color: 'red' }, { objectVersion: '1.1' }));
    await driver.insert(rec('n3', { label: 'n3', color: 'red' }, { objectVersion: '1.1' }));
    const toV12 = elementsBetween(gadgetV12, '1.1', '1.2').expand;
    const err = await oldBackend.expand(gadgetV12, toV12).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toMatchObject({ fields: ['color'], ids: ['n2', 'n3'] });
    expect(await indexes()).not.toContain(
      'unique_color {"color":1,"_dead":1,"_null_color":1} unique',
    );

    await driver.delete(admin, 'n3', { soft: true, at, expectedRevision: undefined });
    await oldBackend.expand(gadgetV12, toV12);
    expect(await indexes()).toContain('unique_color {"color":1,"_dead":1,"_null_color":1} unique');
    expect((await oldBackend.appliedElements(gadgetV12)).uniques).toEqual([['label'], ['color']]);
    // Records without color (o1, o2: missing; n1: null) do not clash; a second red does.
    await driver.insert(rec('n4', { label: 'n4', color: null }, { objectVersion: '1.1' }));
    await expect(
      driver.insert(rec('n5', { label: 'n5', color: 'red' }, { objectVersion: '1.1' })),
    ).rejects.toBeInstanceOf(DuplicateError);
    await driver.insert(rec('n5', { label: 'n5', color: 'blue' }, { objectVersion: '1.1' }));
    // A 1.0 client opened now knows no color, yet marks it: its records do not clash (on
    // MongoDB; FerretDB v1.24 never collides on a missing field in the first place).
    const { driver: late } = await open(url, gadgetV10);
    await late.insert(rec('o3', { label: 'o3' }));
    await late.insert(rec('o4', { label: 'o4' }));
    expect(await late.countByVersion()).toEqual({ '1.0': 4, '1.1': 5 });
  });

  it('replaces an index whose name holds another key spec', async () => {
    const { oldBackend, docs, indexes } = await fleet();
    // An older definition's sortable color, under the name the eq index takes.
    await docs.createIndex({ color: 1, _id: 1 }, { name: 'by_color' });
    await oldBackend.expand(gadgetV11, up.expand);
    const physical = await indexes();
    expect(physical).toContain('by_color {"color":1}');
    expect(physical.filter((l) => l.startsWith('by_color'))).toHaveLength(1);
  });

  it('refuses a unique constraint live records violate, naming them, and changes nothing', async () => {
    const { oldBackend, oldDriver, indexes } = await fleet();
    await oldDriver.insert(rec('d2', { label: 'same' }, { projectId: 'p2' }));
    await oldDriver.insert(rec('d1', { label: 'same' }));
    await oldDriver.insert(rec('dead', { label: 'same' }, { deletedAt: at }));
    await oldDriver.insert(rec('other', { label: 'other' }));
    const before = await oldBackend.appliedElements(gadgetV10);
    const physical = await indexes();
    const err = await oldBackend.expand(gadgetV11, up.expand).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['d1', 'd2'] });
    expect(err.message).toContain('d1, d2');
    // Not even the color index of the same call was created or recorded.
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(before);
    expect(await indexes()).toEqual(physical);

    await oldDriver.delete(admin, 'd2', { soft: true, at, expectedRevision: undefined });
    await oldBackend.expand(gadgetV11, up.expand);
    expect((await oldBackend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await indexes()).toContain('unique_label {"label":1,"_dead":1} unique');
  });

  it('drops indexes and a dropped field`s values (idempotent), leaving revisions alone', async () => {
    const { oldBackend, newer, docs, indexes } = await fleet();
    const physical = await indexes();
    await oldBackend.expand(gadgetV11, up.expand);
    const { backend: newBackend, driver: newDriver } = await newer();
    await newDriver.insert(rec('r1', { label: 'one', color: 'red' }, { objectVersion: '1.1' }));
    const down = elementsBetween(gadgetV11, '1.1', '1.0');
    await newBackend.contract(gadgetV11, down.contract);
    await newBackend.contract(gadgetV11, down.contract);
    // Fields come back as the asking code declares them: compared by what is recorded.
    expect(plain(await newBackend.appliedElements(gadgetV11))).toEqual(
      plain(elementsOf(gadgetV10)),
    );
    expect(await indexes()).toEqual(physical);
    expect((await newDriver.scanVersion('1.1', undefined, 5)).records).toEqual([
      rec('r1', { label: 'one' }, { objectVersion: '1.1' }),
    ]);
    const doc = await docs.findOne({ _id: 'r1' });
    expect(doc).not.toHaveProperty('color');
    expect(doc).not.toHaveProperty('_null_color');
  });

  it('reports nothing for a resource never created (without creating it), and refuses once closed', async () => {
    const { oldBackend: backend, url } = await fleet();
    const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
    expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
    const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
    opened.clients.push(raw);
    const names = (await raw.db().listCollections().toArray()).map((c) => c.name);
    expect(names).not.toContain('widgets');
    await backend.close();
    await expect(backend.expand(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.contract(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.appliedElements(other)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('opening a store another definition created or expanded', () => {
  type Gadget = typeof gadgetV10 | typeof gadgetV11 | typeof gadgetV12;
  /** A record id the stores accept (they take UUIDs only). */
  const R1 = '018f0000-0000-7000-8000-000000000001';

  /** Opens stores the way a service does: through core, which checks the applied elements. */
  async function service(url: string, resources: readonly Gadget[]): Promise<Stores> {
    const stores = await openStores(url, { adapters: [mongoAdapter], resources });
    opened.stores.push(stores);
    return stores;
  }

  /** Every collection of the database with its indexes and documents, to compare. */
  async function snapshot(url: string) {
    const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
    opened.clients.push(raw);
    const db = raw.db();
    const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
    const out: Record<string, unknown> = {};
    for (const name of names) {
      const c = db.collection(name);
      out[name] = {
        indexes: (await c.listIndexes().toArray())
          .map((i) => `${i.name} ${JSON.stringify(i.key)}${i.unique ? ' unique' : ''}`)
          .sort(),
        // Claims come and go with writes; none run here, but their count is no schema.
        docs: name.endsWith('_claims') ? [] : await c.find().sort({ _id: 1 }).toArray(),
      };
    }
    return out;
  }

  it('creates no index at the open of an existing resource, even one its definition implies', async () => {
    const { url, docs, indexes } = await fleet();
    await docs.dropIndex('by_label');
    const physical = await indexes();
    expect(physical.some((l) => l.startsWith('by_label'))).toBe(false);
    await open(url, gadgetV10);
    await service(url, [gadgetV10]);
    expect(await indexes()).toEqual(physical);
  });

  it('lets 1.0 code read, write and list a store 1.1 code expanded', async () => {
    const { url, oldDriver, indexes } = await fleet();
    await oldDriver.insert(rec(R1, { label: 'one' }));
    const { backend: newBackend } = await open(url, gadgetV11);
    await newBackend.expand(gadgetV11, up.expand);
    const expanded = await indexes();
    const newer = (await service(url, [gadgetV11])).store(gadgetV11);
    const red = await newer.create(p1, { label: 'two', color: 'red' });

    const older = (await service(url, [gadgetV10])).store(gadgetV10);
    expect(await indexes()).toEqual(expanded);
    expect((await older.get(p1, R1)).label).toBe('one');
    expect((await older.get(p1, red.id)).label).toBe('two');
    const made = await older.create(p1, { label: 'three' });
    await older.update(p1, R1, { label: 'uno' }, { expectedRevision: 1 });
    expect((await older.list(p1, { where: { label: 'uno' } })).items.map((g) => g.id)).toEqual([
      R1,
    ]);
    const all = await older.list(p1, { limit: 2 });
    const rest = await older.list(p1, { limit: 2, after: all.next });
    expect([...all.items, ...rest.items].map((g) => g.label).sort()).toEqual([
      'three',
      'two',
      'uno',
    ]);
    expect(await older.count(p1)).toBe(3);
    // The 1.1 unique constraint holds for 1.0 writes too, and the error names it.
    await expect(older.create(p1, { label: 'two' })).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    await expect(older.update(p1, made.id, { label: 'two' })).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    // And 1.1 code sees the 1.0 writes, color defaulted.
    expect(await newer.get(p1, made.id)).toMatchObject({ label: 'three', color: null });
    expect((await newer.list(p1, { where: { color: 'red' } })).items.map((g) => g.id)).toEqual([
      red.id,
    ]);
  });

  it('refuses 1.1 code on a store nobody expanded with SchemaBehindError, changing nothing', async () => {
    const { url, oldDriver } = await fleet();
    await oldDriver.insert(rec(R1, { label: 'one' }));
    const before = await snapshot(url);
    const err = await service(url, [gadgetV11]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaBehindError);
    expect(err).toMatchObject({
      resource: 'gadget',
      missing: ['field color', 'index color (eq)', 'unique (label)'],
    });
    expect(await snapshot(url)).toEqual(before);
    // 1.0 code still opens it.
    const older = (await service(url, [gadgetV10])).store(gadgetV10);
    expect((await older.get(p1, R1)).label).toBe('one');
  });

  it('reopens with fewer resources, leaving the others as they are', async () => {
    const url = freshUrl('mongo_evolution');
    opened.urls.push(url);
    const widget = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
    const both = await openStores(url, {
      adapters: [mongoAdapter],
      resources: [gadgetV10, widget],
    });
    opened.stores.push(both);
    const w = await both.store(widget).create(p1, { label: 'w' });
    await both.close();
    const before = await snapshot(url);
    const one = (await service(url, [gadgetV10])).store(gadgetV10);
    const g = await one.create(p1, { label: 'g' });
    expect((await one.list(p1)).items.map((x) => x.id)).toEqual([g.id]);
    const after = await snapshot(url);
    expect(after.widgets).toEqual(before.widgets);
    expect(before._elements).toBeDefined();
    expect(after._elements).toEqual(before._elements);
    const again = await openStores(url, { adapters: [mongoAdapter], resources: [widget] });
    opened.stores.push(again);
    expect((await again.store(widget).get(p1, w.id)).label).toBe('w');
  });

  it('opens a brand-new store from several clients at once: one record, every index', async () => {
    const url = freshUrl('mongo_evolution');
    opened.urls.push(url);
    const all = await Promise.all(
      [gadgetV11, gadgetV11, gadgetV11, gadgetV11].map((r) => service(url, [r])),
    );
    const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
    opened.clients.push(raw);
    const recorded = await raw.db().collection('_elements').find().toArray();
    expect(recorded.map((d) => d._id)).toEqual(['gadgets']);
    const physical = (await raw.db().collection('gadgets').listIndexes().toArray())
      .map((i) => i.name as string)
      .sort();
    expect(physical).toEqual(
      expect.arrayContaining(['by_color', 'by_label', 'by_objectVersion', 'unique_label']),
    );
    await all[0]!.store(gadgetV11).create(p1, { label: 'x', color: null });
    await expect(
      all[3]!.store(gadgetV11).create(p1, { label: 'x', color: null }),
    ).rejects.toBeInstanceOf(DuplicateError);
  });
});

describe('write-only fields', () => {
  it('keeps both of two concurrent publishes of one process (FerretDB updates read then write)', async () => {
    for (let round = 0; round < 4; round++) {
      const { oldBackend: a, newer } = await fleet();
      const b = (await newer()).backend;
      await a.expand(gadgetV11, { ...up.expand, pending: ['label', 'color'] });
      expect((await b.appliedElements(gadgetV11)).pending).toEqual(['label', 'color']);
      await Promise.all([a.publish(gadgetV11, ['label']), b.publish(gadgetV11, ['color'])]);
      expect((await a.appliedElements(gadgetV11)).pending).toBeUndefined();
    }
  });
});
