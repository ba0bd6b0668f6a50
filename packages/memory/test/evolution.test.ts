import {
  type AnyResource,
  computeResources,
  createContext,
  DuplicateError,
  defineResource,
  instanceResource,
  networkResource,
  openStores,
  SchemaBehindError,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import {
  describeElements,
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
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { describe, expect, it } from 'vitest';
import { tableName } from '../src/layout.js';
import { memoryAdapter } from '../src/memory-adapter.js';
import { MemoryBackend } from '../src/memory-backend.js';
import { MemoryDatabase } from '../src/memory-database.js';
import { type ElementKey, entryValue, type MemorySchema } from '../src/memory-schema.js';

const up = elementsBetween(gadgetV11, '1.0', '1.1');

function evolving(driver: ResourceDriver): ResourceDriver & EvolutionDriver {
  if (!supportsEvolution(driver)) throw new Error('the memory driver must support evolution');
  return driver;
}

/** A database and a backend of each definition over it; the old one opened the table first. */
function fleet() {
  const db = new MemoryDatabase();
  const oldBackend = new MemoryBackend(db, { resources: [gadgetV10] });
  const newBackend = new MemoryBackend(db, { resources: [gadgetV11] });
  return {
    db,
    oldBackend,
    newBackend,
    oldDriver: evolving(oldBackend.driver(gadgetV10)),
    newDriver: evolving(newBackend.driver(gadgetV11)),
    schema: (): MemorySchema => db.schema(tableName(gadgetV10), NO_ELEMENTS),
  };
}

/** Every entry of every applied element, as `key id=value` lines, sorted. */
function entryLines(schema: MemorySchema): string[] {
  const applied = schema.applied();
  const keys: ElementKey[] = [
    ...applied.indexes.map((i) => `index:${i.field}:${i.kind}` as const),
    ...applied.uniques.map((u) => `unique:${u.join(',')}` as const),
  ];
  return keys
    .flatMap((k) => [...(schema.entries(k) ?? [])].map(([id, v]) => `${k} ${id}=${v}`))
    .sort();
}

/** The entry lines the table's records call for. */
function expectedLines(schema: MemorySchema, records: Iterable<StoredRecord>): string[] {
  const applied = schema.applied();
  const keys: ElementKey[] = [
    ...applied.indexes.map((i) => `index:${i.field}:${i.kind}` as const),
    ...applied.uniques.map((u) => `unique:${u.join(',')}` as const),
  ];
  return [...records].flatMap((r) => keys.map((k) => `${k} ${r.id}=${entryValue(r, k)}`)).sort();
}

describe('rewrite', () => {
  it('refuses a unique clash with another live record with DuplicateError, changing nothing', async () => {
    const { newDriver: driver, schema } = fleet();
    await driver.insert(rec('x', { label: 'taken' }));
    await driver.insert(rec('gone', { label: 'free' }, { deletedAt: at }));
    const y = await driver.insert(rec('y', { label: 'y' }));
    const before = entryLines(schema());
    const err = await driver.rewrite(rec('y', { label: 'taken', color: null }), 1).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.fields).toEqual(['label']);
    expect((await driver.scanVersion('1.0', 'x', 5)).records).toEqual([y]);
    expect(entryLines(schema())).toEqual(before);
    // A soft-deleted record holds no unique value.
    const ok = await driver.rewrite(rec('y', { label: 'free', color: null }), 1);
    expect(ok.status).toBe('ok');
  });

  it('makes every index and unique entry match, whatever an older client left', async () => {
    const { oldBackend, oldDriver, newDriver, schema, db } = fleet();
    const table = db.table(tableName(gadgetV10));
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }));
    await oldBackend.expand(gadgetV11, up.expand);
    expect(entryLines(schema())).toEqual(expectedLines(schema(), table.values()));

    // The 1.0 client maintains only the entries its definition knows.
    await oldDriver.update(admin, 'r1', {
      set: { label: 'uno' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    await oldDriver.insert(rec('r3', { label: 'three' }));
    const stale = entryLines(schema());
    expect(stale).toContain('unique:label r1=["one"]');
    expect(stale.some((l) => l.startsWith('unique:label r3='))).toBe(false);
    expect(stale).not.toEqual(expectedLines(schema(), table.values()));

    const r1 = table.get('r1')!;
    const out = await newDriver.rewrite({ ...r1, color: 'red', objectVersion: '1.1' }, 2);
    expect(out.status).toBe('ok');
    // Even a driver whose definition lacks the elements repairs them: every entry matches.
    const r3 = table.get('r3')!;
    expect((await oldDriver.rewrite({ ...r3, label: 'tres' }, 1)).status).toBe('ok');
    const fixed = entryLines(schema());
    expect(fixed).toEqual(expectedLines(schema(), table.values()));
    expect(fixed).toContain('unique:label r1=["uno"]');
    expect(fixed).toContain('index:color:eq r1=["red"]');
    expect(fixed).toContain('unique:label r3=["tres"]');
    expect(fixed).toContain('index:color:eq r3=[null]');
  });
});

describe('expand, contract and appliedElements', () => {
  it('records what a brand-new table needs, and an open by newer code changes nothing', async () => {
    const { oldBackend, newBackend } = fleet();
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
    expect(await newBackend.appliedElements(gadgetV11)).toEqual(elementsOf(gadgetV10));
    const fresh = new MemoryBackend(new MemoryDatabase(), { resources: [gadgetV11] });
    expect(await fresh.appliedElements(gadgetV11)).toEqual(elementsOf(gadgetV11));
  });

  it('adds the elements once (idempotent), and old code then honours the new unique', async () => {
    const { oldBackend, newBackend, oldDriver, schema } = fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await newBackend.expand(gadgetV11, up.expand);
    const applied = await newBackend.appliedElements(gadgetV11);
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color']);
    expect(applied.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'color', kind: 'eq' },
    ]);
    expect(applied.uniques).toEqual([['label']]);
    const entries = entryLines(schema());
    await newBackend.expand(gadgetV11, up.expand);
    await oldBackend.expand(gadgetV11, elementsOf(gadgetV11));
    expect(await oldBackend.appliedElements(gadgetV11)).toEqual(applied);
    expect(entryLines(schema())).toEqual(entries);
    await expect(oldDriver.insert(rec('r2', { label: 'one' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );
  });

  it('refuses a unique constraint live records violate, naming them, and changes nothing', async () => {
    const { oldBackend, oldDriver, schema } = fleet();
    await oldDriver.insert(rec('d2', { label: 'same' }, { projectId: 'p2' }));
    await oldDriver.insert(rec('d1', { label: 'same' }));
    await oldDriver.insert(rec('dead', { label: 'same' }, { deletedAt: at }));
    await oldDriver.insert(rec('other', { label: 'other' }));
    const before = await oldBackend.appliedElements(gadgetV10);
    const entries = entryLines(schema());
    const err = await oldBackend.expand(gadgetV11, up.expand).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['d1', 'd2'] });
    expect(err.message).toContain('d1, d2');
    // Not even the color field and index of the same call were applied.
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(before);
    expect(entryLines(schema())).toEqual(entries);

    await oldDriver.delete(admin, 'd2', { soft: true, at, expectedRevision: undefined });
    await oldBackend.expand(gadgetV11, up.expand);
    expect((await oldBackend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
  });

  it('drops elements and a dropped field`s values (idempotent), leaving revisions alone', async () => {
    const { newBackend, newDriver, schema, db } = fleet();
    await newBackend.expand(gadgetV11, up.expand);
    await newDriver.insert(rec('r1', { label: 'one', color: 'red' }, { objectVersion: '1.1' }));
    const down = elementsBetween(gadgetV11, '1.1', '1.0');
    await newBackend.contract(gadgetV11, down.contract);
    await newBackend.contract(gadgetV11, down.contract);
    expect(await newBackend.appliedElements(gadgetV11)).toEqual(elementsOf(gadgetV10));
    expect(schema().entries('unique:label')).toBeUndefined();
    expect(schema().entries('index:color:eq')).toBeUndefined();
    expect(db.table(tableName(gadgetV10)).get('r1')).toEqual(
      rec('r1', { label: 'one' }, { objectVersion: '1.1' }),
    );
    expect(entryLines(schema())).toEqual(
      expectedLines(schema(), db.table(tableName(gadgetV10)).values()),
    );
  });

  it('reports nothing for a table never created (without creating it), and refuses once closed', async () => {
    const db = new MemoryDatabase();
    const backend = new MemoryBackend(db, { resources: [gadgetV10] });
    const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
    expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
    expect(db.tableNames()).toEqual(['gadgets']);
    await backend.close();
    await expect(backend.expand(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.contract(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.appliedElements(other)).rejects.toBeInstanceOf(UnavailableError);
    await expect(evolving(backend.driver(gadgetV10)).countByVersion()).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});

describe('opening a store never changes its schema (issue 14 item 4)', () => {
  let count = 0;
  const ctx = createContext({ projectId: 'p1' });

  /** A fresh shared database's URL, and the database itself. */
  function named(): { url: string; db: MemoryDatabase } {
    const name = `evo-open-${++count}`;
    return { url: `memory:${name}`, db: MemoryDatabase.named(name) };
  }

  function open(url: string, resources: readonly AnyResource[]): Promise<Stores> {
    return openStores(url, { adapters: [memoryAdapter], resources });
  }

  /** What elements say, comparable (a field's declaration differs between versions). */
  function shape(elements: SchemaElements | undefined) {
    return {
      fields: elements?.fields.map((x) => x.name),
      indexes: elements?.indexes,
      uniques: elements?.uniques,
    };
  }

  /** Everything the database holds: tables, records, applied elements and their entries. */
  function snapshot(db: MemoryDatabase) {
    return db.tableNames().map((name) => {
      const schema = db.schema(name, NO_ELEMENTS);
      return {
        name,
        records: [...db.table(name).values()],
        applied: schema.applied(),
        entries: entryLines(schema),
      };
    });
  }

  it('refuses newer code on a store nobody expanded with SchemaBehindError, changing nothing', async () => {
    const { url, db } = named();
    const v10 = await open(url, [gadgetV10]);
    await v10.store(gadgetV10).create(ctx, { label: 'one' });
    await v10.store(gadgetV10).create(ctx, { label: 'one' });
    const before = snapshot(db);

    const err = await open(url, [gadgetV11]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaBehindError);
    expect(err).toMatchObject({ resource: 'gadget', missing: describeElements(up.expand) });
    expect((err as SchemaBehindError).missing).toEqual([
      'field color',
      'index color (eq)',
      'unique (label)',
    ]);
    expect(snapshot(db)).toEqual(before);
    // The open by older code goes on working, duplicates and all (1.0 has no unique label).
    await v10.store(gadgetV10).create(ctx, { label: 'one' });
    expect(await v10.store(gadgetV10).count(ctx, { label: 'one' })).toBe(3);
    await v10.close();
  });

  it('lets older code reopen a store newer code expanded, and work in it', async () => {
    const { url, db } = named();
    const first = await open(url, [gadgetV10]);
    const a = await first.store(gadgetV10).create(ctx, { label: 'a' });
    await first.close();

    // What `polystore schema expand` does: open without the check, expand.
    const tool = new MemoryBackend(db, { resources: [gadgetV11] });
    await tool.expand(gadgetV11, up.expand);
    await tool.close();
    const expanded = snapshot(db);
    expect(shape(expanded[0]?.applied)).toEqual(shape(elementsOf(gadgetV11)));
    await (await open(url, [gadgetV11])).close();

    const v10 = await open(url, [gadgetV10]);
    expect(snapshot(db)).toEqual(expanded);
    const gadgets = v10.store(gadgetV10);
    expect(await gadgets.get(ctx, a.id)).toEqual(a);
    const b = await gadgets.create(ctx, { label: 'b' });
    // The 1.0 code honours the unique constraint the expand added.
    await expect(gadgets.create(ctx, { label: 'b' })).rejects.toBeInstanceOf(DuplicateError);
    expect((await gadgets.list(ctx, { where: { label: 'b' } })).items).toEqual([b]);
    const renamed = await gadgets.update(ctx, a.id, { label: 'aa' }, { expectedRevision: 1 });
    expect(renamed).toMatchObject({ label: 'aa', revision: 2, objectVersion: '1.0' });
    await gadgets.delete(ctx, b.id);
    expect((await gadgets.list(ctx, {})).items.map((r) => r.id)).toEqual([a.id]);
    expect(await gadgets.count(ctx, {})).toBe(1);
    await v10.close();
    // Its writes left the applied elements alone (their entries, a model of physical
    // indexes, are those 1.0 maintains: `rewrite` repairs the rest, see above).
    const [after] = snapshot(db);
    expect(shape(after?.applied)).toEqual(shape(elementsOf(gadgetV11)));
  });

  it('reopens with fewer resources, leaving the others as they are', async () => {
    const { url, db } = named();
    const all = await open(url, computeResources);
    const net = await all.networks.create(ctx, { label: 'n', cidr: '10.0.0.0/29' });
    const vm = await all.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } });
    await all.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id });
    await all.close();
    const before = snapshot(db);

    const some = await open(url, [instanceResource, networkResource]);
    expect(await some.instances.get(ctx, vm.id)).toEqual(vm);
    expect(await some.networks.get(ctx, net.id)).toEqual(net);
    await some.close();
    const one = await open(url, [instanceResource]);
    expect(await one.instances.count(ctx, {})).toBe(1);
    await one.close();
    expect(snapshot(db)).toEqual(before);
  });
});
