/**
 * The evolution SPI on a real Redis server, where only Redis can show it: rewrite repairing
 * every index and unique entry an older client left stale, and expand/contract/
 * appliedElements over the resource's schema key. The cases every backend shares (version
 * counts and pages, rewrite outcomes, version-conditional deletes, write-only marks) are in
 * test/evolution/driver-spi.ts.
 */

import { connect } from 'node:net';
import {
  type AnyResource,
  adminContext,
  ConfigError,
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
  compareCodePoints,
  createStores,
  elementsBetween,
  elementsOf,
  NO_ELEMENTS,
  type SchemaElements,
  type StoredRecord,
  UniqueViolationError,
} from '@polystore/core/adapter';
import { admin, at, gadgetBase, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisBackend, redisAdapter } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { HOSTILE_STRINGS, redisUrl, useRawRedis } from './helpers.js';

/** The first release: an indexed label, a shelf without index, no unique constraint. */
const gadgetV10 = defineResource({
  ...gadgetBase,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string().indexed(), shelf: f.string().nullable() },
});

/** The next release: an indexed color, shelf indexed, and label becomes unique. */
const gadgetV11 = defineResource({
  ...gadgetBase,
  version: '1.1',
  history: {
    '1.0': 'initial version',
    '1.1': {
      note: 'added color (indexed), shelf indexed, label unique',
      addIndexes: ['shelf'],
      addUnique: [['label']],
    },
  },
  fields: {
    label: f.string().indexed(),
    shelf: f.string().nullable().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
  },
  unique: [['label']],
});

/** A release that adds a sortable int, to check the sort tokens expand computes. */
const gadgetV12 = defineResource({
  ...gadgetBase,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': {
      note: 'added color (indexed), shelf indexed, label unique',
      addIndexes: ['shelf'],
      addUnique: [['label']],
    },
    '1.2': 'added weight and tag (sortable)',
  },
  fields: {
    label: f.string().indexed(),
    shelf: f.string().nullable().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
    weight: f.int().sortable().default(0).addedIn('1.2'),
    tag: f.string().sortable().default('').addedIn('1.2'),
  },
  unique: [['label']],
});

const up = elementsBetween(gadgetV11, '1.0', '1.1');

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

/**
 * Elements as comparable data: a field by name and kind (a declaration read back is taken
 * from the reader's own history, so it is not the same object as the writer's).
 */
function shape(elements: SchemaElements) {
  return {
    fields: elements.fields.map((x) => `${x.name}:${x.field.kind}`),
    indexes: elements.indexes,
    uniques: elements.uniques,
  };
}

async function open(namespace: string, resource: AnyResource) {
  const backend = await openRedisBackend(redisUrl(), {
    resources: [resource],
    adapter: { namespace },
  });
  opened.push(backend);
  return backend;
}

/** The namespace of a backend opened by {@link open}. */
function namespaceOf(backend: RedisBackend): string {
  return /\{(.*)\}/.exec(backend.keyspace)![1]!;
}

/** A namespace and a backend of each definition over it; the old one opened it first. */
async function fleet() {
  const namespace = freshNamespace('redis_evolution');
  const oldBackend = await open(namespace, gadgetV10);
  const newBackend = await open(namespace, gadgetV11);
  return {
    namespace,
    oldBackend,
    newBackend,
    oldDriver: oldBackend.driver(gadgetV10),
    newDriver: newBackend.driver(gadgetV11),
    /** Every record, from the version scans. */
    records: async (): Promise<StoredRecord[]> => {
      const driver = newBackend.driver(gadgetV11);
      const out: StoredRecord[] = [];
      for (const v of Object.keys(await driver.countByVersion())) {
        out.push(...(await driver.scanVersion(v, undefined, 1000)).records);
      }
      return out;
    },
    /** The entries of the label, shelf and color equality sets and the label unique keys, as `key id` lines. */
    entries: async (): Promise<string[]> => {
      const prefix = `polystore:{${namespace}}:gadgets:`;
      const lines: string[] = [];
      for (const pattern of ['q:label:*', 'q:shelf:*', 'q:color:*', 'u:label:*']) {
        let cursor = '0';
        do {
          const [next, keys] = await raw().scan(
            cursor,
            'MATCH',
            `${prefix}${pattern}`,
            'COUNT',
            500,
          );
          cursor = next;
          for (const key of keys) {
            const name = key.slice(prefix.length);
            const ids = name.startsWith('u:')
              ? [(await raw().get(key)) ?? '']
              : (await raw().zrange(key, '0', '-1')).map(idOfMember);
            for (const id of ids) lines.push(`${name} ${id}`);
          }
        } while (cursor !== '0');
      }
      return lines.sort();
    },
  };
}

/** Moves id `member` from equality index `from` to `to`, as a stale entry would stand. */
async function zmove(from: string, to: string, id: string): Promise<void> {
  expect(await raw().zrem(from, `${id}\u0000${id}`)).toBe(1);
  await raw().zadd(to, 0, `${id}\u0000${id}`);
}

/** The id of an equality index's member, `<id>\0<id>`. */
function idOfMember(m: string): string {
  return m.slice(0, (m.length - 1) / 2);
}

/** The entry lines the records call for, with the 1.1 elements applied. */
function expectedEntries(records: readonly StoredRecord[]): string[] {
  const lines: string[] = [];
  for (const r of records) {
    const lv = r.deletedAt === null ? 'l' : 'd';
    for (const field of ['label', 'shelf', 'color']) {
      for (const part of [`${lv}:*`, `${lv}:${JSON.stringify(r.projectId)}`]) {
        lines.push(`q:${field}:${part}:${JSON.stringify(r[field] ?? null)} ${r.id}`);
      }
    }
    if (r.deletedAt === null) lines.push(`u:label:${JSON.stringify(r.label)} ${r.id}`);
  }
  return lines.sort();
}

describe('rewrite', () => {
  it('refuses a unique clash with another live record with DuplicateError, changing nothing', async () => {
    const { newDriver: driver, newBackend, entries } = await fleet();
    await newBackend.expand(gadgetV11, up.expand);
    await driver.insert(rec('x', { label: 'taken' }));
    await driver.insert(rec('gone', { label: 'free' }, { deletedAt: at }));
    const y = await driver.insert(rec('y', { label: 'y' }));
    const before = await entries();
    const err = await driver.rewrite(rec('y', { label: 'taken', color: null }), 1).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.fields).toEqual(['label']);
    expect((await driver.scanVersion('1.0', 'x', 5)).records).toEqual([y]);
    expect(await entries()).toEqual(before);
    // A soft-deleted record holds no unique value.
    const ok = await driver.rewrite(rec('y', { label: 'free', color: null }), 1);
    expect(ok.status).toBe('ok');
  });

  it('makes every index and unique entry match, whatever an older client left', async () => {
    const { namespace, oldBackend, oldDriver, newBackend, newDriver, entries, records } =
      await fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }));
    await oldDriver.insert(rec('r4', { label: 'four' }, { projectId: 'p2' }));
    await oldBackend.expand(gadgetV11, up.expand);
    expect(await entries()).toEqual(expectedEntries(await records()));

    // The 1.0 client maintains the index and unique entries of every applied element, those
    // its definition knows and those it reads from the schema key.
    await oldDriver.update(admin, 'r1', {
      set: { label: 'uno', shelf: 'A' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    // A record the 1.1 client entered, then changed by the 1.0 client.
    await newDriver.insert(rec('r5', { label: 'cinq', shelf: 'S', color: null }));
    await oldDriver.update(admin, 'r5', {
      set: { label: 'five', shelf: 'T' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    await oldDriver.update(admin, 'r4', {
      set: { label: 'quatre' },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: 1,
      expected: undefined,
    });
    await oldDriver.insert(rec('r3', { label: 'three' }));
    await oldDriver.delete(admin, 'r2', { soft: true, at, expectedRevision: 1 });
    const maintained = await entries();
    expect(maintained).toContain('u:label:"uno" r1');
    expect(maintained).toContain('u:label:"five" r5');
    expect(maintained).toContain('u:label:"three" r3');
    expect(maintained.some((l) => /^u:label:"(one|two|cinq)"/.test(l))).toBe(false);
    expect(maintained).toEqual(expectedEntries(await records()));
    // What an older polystore's 1.0 client left behind (it knew no applied element): a unique
    // key, r1's and r5's shelf entries under the values they were entered under, r2's
    // entries still live.
    const T = `polystore:{${namespace}}:gadgets:`;
    await raw().set(`${T}u:label:"one"`, 'r1');
    for (const part of ['*', '"p1"']) {
      await zmove(`${T}q:shelf:l:${part}:"A"`, `${T}q:shelf:l:${part}:null`, 'r1');
      await zmove(`${T}q:shelf:l:${part}:"T"`, `${T}q:shelf:l:${part}:"S"`, 'r5');
      for (const field of ['shelf', 'color']) {
        await zmove(`${T}q:${field}:d:${part}:null`, `${T}q:${field}:l:${part}:null`, 'r2');
      }
    }
    await raw().hset(`${T}r:r1`, '~e:shelf', 'null');
    await raw().hset(`${T}r:r5`, '~e:shelf', '"S"');
    const stale = await entries();
    expect(stale).toContain('u:label:"one" r1');
    expect(stale).toContain('q:color:l:*:null r2');
    expect(stale).toContain('q:shelf:l:*:null r1');
    expect(stale.some((l) => l.startsWith('q:shelf:l:*:"A"'))).toBe(false);
    expect(stale).toContain('q:shelf:l:*:"S" r5');
    expect(stale).not.toEqual(expectedEntries(await records()));
    // The stale unique key still holds a value nobody has.
    await expect(newDriver.insert(rec('n1', { label: 'one' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );

    const stores = createStores(newBackend, { resources: [gadgetV11] });
    const gadgets = stores.store(gadgetV11);
    const p1 = createContext({ projectId: 'p1' });

    const byId = new Map((await records()).map((r) => [r.id, r]));
    // A unique key whose holder no longer holds the value is stale: rewrite takes it over.
    const r4 = byId.get('r4')!;
    expect(
      (await newDriver.rewrite({ ...r4, label: 'one', objectVersion: '1.1' }, r4.revision)).status,
    ).toBe('ok');
    const r1 = byId.get('r1')!;
    expect(
      (await newDriver.rewrite({ ...r1, color: 'red', objectVersion: '1.1' }, r1.revision)).status,
    ).toBe('ok');
    // Even a driver whose definition lacks the elements repairs them.
    const r3 = byId.get('r3')!;
    expect((await oldDriver.rewrite({ ...r3, label: 'tres' }, r3.revision)).status).toBe('ok');
    const r5 = byId.get('r5')!;
    expect((await newDriver.rewrite(r5, r5.revision)).status).toBe('ok');
    const r2 = byId.get('r2')!;
    expect(
      (
        await newDriver.rewrite(
          { ...r2, label: 'deux', color: 'blue', objectVersion: '1.1' },
          r2.revision,
        )
      ).status,
    ).toBe('ok');
    expect(await entries()).toEqual(expectedEntries(await records()));

    // Queries by the new index see each record exactly once.
    const red = await gadgets.list(p1, { where: { color: 'red' } });
    expect(red.items.map((x) => x.id)).toEqual(['r1']);
    expect(await gadgets.count(p1, { color: 'red' })).toBe(1);
    const none = await gadgets.list(p1, { where: { color: null } });
    expect(none.items.map((x) => x.id)).toEqual(['r3', 'r5']);
    expect(await gadgets.count(p1, { color: null })).toBe(2);
    expect(await gadgets.count(adminContext(), { color: null })).toBe(3);
    expect((await gadgets.list(p1, { where: { shelf: 'A' } })).items.map((x) => x.id)).toEqual([
      'r1',
    ]);
    expect(await gadgets.count(p1, { shelf: null })).toBe(1);
    // The freed unique values can be taken, the repaired and taken-over ones cannot.
    await expect(newDriver.insert(rec('n1', { label: 'one' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );
    await newDriver.insert(rec('n2', { label: 'two' }));
    await newDriver.insert(rec('n4', { label: 'four' }));
    await newDriver.insert(rec('n5', { label: 'cinq' }));
    await expect(newDriver.insert(rec('n3', { label: 'tres' }))).rejects.toBeInstanceOf(
      DuplicateError,
    );
  });

  it('enters a record an older client wrote after an expand in the new indexes at its next update', async () => {
    const { namespace, oldBackend, oldDriver, newBackend, newDriver, entries } = await fleet();
    await oldBackend.expand(gadgetV11, up.expand);
    await oldDriver.insert(rec('r1', { label: 'one', shelf: 'A' }));
    // 1.0 writes enter the record in the indexes 1.1 applied; an older polystore's did not:
    // take its entries and the '~e:' fields that remember them away, as it left them.
    const T = `polystore:{${namespace}}:gadgets:`;
    const applied = (await entries()).filter((l) => /^q:(shelf|color):.* r1$/.test(l));
    expect(applied).toHaveLength(4);
    for (const line of applied)
      await raw().zrem(`${T}${line.slice(0, -' r1'.length)}`, 'r1\u0000r1');
    await raw().hdel(`${T}r:r1`, '~e:shelf', '~e:color');
    expect((await entries()).filter((l) => l.endsWith(' r1') && !l.startsWith('q:label'))).toEqual([
      'u:label:"one" r1',
    ]);
    // An upgrade that changes neither shelf (newly indexed) nor color (new, null).
    await newDriver.update(admin, 'r1', {
      set: { label: 'uno', color: null },
      updatedAt: at,
      objectVersion: '1.1',
      expectedRevision: 1,
      expected: undefined,
    });
    const lines = await entries();
    expect(lines).toContain('q:shelf:l:*:"A" r1');
    expect(lines).toContain('q:color:l:*:null r1');
    const gadgets = createStores(newBackend, { resources: [gadgetV11] }).store(gadgetV11);
    const p1 = createContext({ projectId: 'p1' });
    expect((await gadgets.list(p1, { where: { shelf: 'A' } })).items.map((g) => g.id)).toEqual([
      'r1',
    ]);
    expect(await gadgets.count(p1, { color: null })).toBe(1);
    // A later update moves the entry from the value it was entered under.
    await newDriver.update(admin, 'r1', {
      set: { shelf: 'B' },
      updatedAt: at,
      objectVersion: '1.1',
      expectedRevision: 2,
      expected: undefined,
    });
    expect((await entries()).filter((l) => l.startsWith('q:shelf:l:*:'))).toEqual([
      'q:shelf:l:*:"B" r1',
    ]);
  });

  it('enters records in sortable indexes that expand added (ints, hostile strings), with the tokens the layout computes', async () => {
    const namespace = freshNamespace('redis_evolution');
    const oldBackend = await open(namespace, gadgetV11);
    const oldDriver = oldBackend.driver(gadgetV11);
    const weights = [0, 7, -3, 2 ** 40 + 1, -(2 ** 52) - 5, Number.MAX_SAFE_INTEGER];
    const tags = HOSTILE_STRINGS.slice(0, weights.length * 4);
    for (const [i, tag] of tags.entries()) {
      const weight = weights[i] ?? i;
      await oldDriver.insert(
        rec(`w${i}`, { label: `w${i}`, color: null, weight, tag }, { objectVersion: '1.2' }),
      );
    }
    await oldBackend.expand(gadgetV12, elementsBetween(gadgetV12, '1.1', '1.2').expand);
    const newBackend = await open(namespace, gadgetV12);
    const stores = createStores(newBackend, { resources: [gadgetV12] });
    const gadgets = stores.store(gadgetV12);
    const p1 = createContext({ projectId: 'p1' });
    const all = (await gadgets.list(p1, { limit: 100 })).items;
    const byWeight = await gadgets.list(p1, {
      orderBy: { field: 'weight', direction: 'asc' },
      limit: 100,
    });
    expect(byWeight.items.map((x) => x.weight)).toEqual(
      all.map((x) => x.weight).sort((a, b) => a - b),
    );
    expect(byWeight.items.slice(0, 3).map((x) => x.weight)).toEqual([-(2 ** 52) - 5, -3, 0]);
    expect(await gadgets.count(p1, { weight: { gt: 0 } })).toBe(tags.length - 3);
    const byTag = await gadgets.list(p1, {
      orderBy: { field: 'tag', direction: 'asc' },
      limit: 100,
    });
    expect(byTag.items.map((x) => x.tag)).toEqual([...tags].sort(compareCodePoints));
    for (const tag of tags) {
      expect(await gadgets.count(p1, { tag })).toBe(tags.filter((t) => t === tag).length);
    }
  });
});

describe('expand, contract and appliedElements', () => {
  it('records what a brand-new store needs, and an open by newer code changes nothing', async () => {
    const { oldBackend, newBackend } = await fleet();
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
    expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    const fresh = await open(freshNamespace('redis_evolution'), gadgetV11);
    expect(await fresh.appliedElements(gadgetV11)).toEqual(elementsOf(gadgetV11));
    // Reopening by the same code, or by older code, changes nothing either.
    const again = await open(namespaceOf(fresh), gadgetV10);
    expect(shape(await again.appliedElements(gadgetV10))).toEqual(shape(elementsOf(gadgetV11)));
  });

  it('adds the elements once (idempotent)', async () => {
    const { oldBackend, newBackend, oldDriver, entries, records } = await fleet();
    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.insert(rec('r2', { label: 'two' }, { deletedAt: at }));
    await newBackend.expand(gadgetV11, up.expand);
    const applied = await newBackend.appliedElements(gadgetV11);
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'shelf', 'color']);
    expect(applied.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'shelf', kind: 'eq' },
      { field: 'color', kind: 'eq' },
    ]);
    expect(applied.uniques).toEqual([['label']]);
    expect(applied).toEqual(elementsOf(gadgetV11));
    const after = await entries();
    expect(after).toEqual(expectedEntries(await records()));
    await newBackend.expand(gadgetV11, up.expand);
    await oldBackend.expand(gadgetV11, elementsOf(gadgetV11));
    expect(shape(await oldBackend.appliedElements(gadgetV10))).toEqual(shape(applied));
    expect(await entries()).toEqual(after);
  });

  it('refuses a unique constraint live records violate, naming them, and changes nothing', async () => {
    const { oldBackend, oldDriver, entries } = await fleet();
    await oldDriver.insert(rec('d2', { label: 'same' }, { projectId: 'p2' }));
    await oldDriver.insert(rec('d1', { label: 'same' }));
    await oldDriver.insert(rec('dead', { label: 'same' }, { deletedAt: at }));
    await oldDriver.insert(rec('other', { label: 'other' }));
    const before = await oldBackend.appliedElements(gadgetV10);
    const lines = await entries();
    const err = await oldBackend.expand(gadgetV11, up.expand).catch((e) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['d1', 'd2'] });
    expect(err.message).toContain('d1, d2');
    // Not even the color field and index of the same call were applied.
    expect(await oldBackend.appliedElements(gadgetV10)).toEqual(before);
    expect(await entries()).toEqual(lines);
    expect(lines.some((l) => /^(e:color:|e:shelf:|u:)/.test(l))).toBe(false);

    await oldDriver.delete(admin, 'd2', { soft: true, at, expectedRevision: undefined });
    await oldBackend.expand(gadgetV11, up.expand);
    expect((await oldBackend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
  });

  it('drops elements and a dropped field`s values (idempotent), leaving revisions alone', async () => {
    const { newBackend, newDriver, entries, records } = await fleet();
    await newBackend.expand(gadgetV11, up.expand);
    await newDriver.insert(rec('r1', { label: 'one', color: 'red' }, { objectVersion: '1.1' }));
    const down = elementsBetween(gadgetV11, '1.1', '1.0');
    await newBackend.contract(gadgetV11, down.contract);
    await newBackend.contract(gadgetV11, down.contract);
    expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
      shape(elementsOf(gadgetV10)),
    );
    expect(await records()).toEqual([rec('r1', { label: 'one' }, { objectVersion: '1.1' })]);
    const lines = await entries();
    expect(lines.some((l) => /^(e:color:|e:shelf:|u:)/.test(l))).toBe(false);
    expect(lines).toEqual(['q:label:l:"p1":"one" r1', 'q:label:l:*:"one" r1']);
  });

  it('opens as before over a connection that may not write, recording nothing', async () => {
    const namespace = freshNamespace('redis_evolution');
    const user = `ro_${namespace}`;
    await raw().call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-set');
    try {
      const url = new URL(redisUrl());
      url.username = user;
      url.password = 'pw';
      const backend = await openRedisBackend(url.href, {
        resources: [gadgetV10],
        adapter: { namespace },
      });
      opened.push(backend);
      expect(await backend.appliedElements(gadgetV10)).toEqual(NO_ELEMENTS);
      expect(await raw().keys(`polystore:{${namespace}}:*`)).toEqual([]);
    } finally {
      await raw().call('ACL', 'DELUSER', user);
    }
  });

  it('reports nothing for a resource never opened (without writing), and refuses once closed', async () => {
    const namespace = freshNamespace('redis_evolution');
    const backend = await open(namespace, gadgetV10);
    const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
    expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
    expect(await raw().keys(`polystore:{${namespace}}:*`)).toEqual([
      `polystore:{${namespace}}:gadgets:schema`,
    ]);
    await backend.close();
    await expect(backend.expand(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.contract(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.appliedElements(other)).rejects.toBeInstanceOf(UnavailableError);
    await expect(backend.driver(gadgetV10).countByVersion()).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});

describe('opening a store another definition created or expanded', () => {
  const p1 = createContext({ projectId: 'p1' });
  const widget = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
  const services: Stores[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  /** Opens stores the way a service does: through core, which checks the applied elements. */
  async function service(namespace: string, resources: readonly AnyResource[]): Promise<Stores> {
    const stores = await openStores(redisUrl(), {
      adapters: [redisAdapter],
      resources,
      adapter: { namespace },
    });
    services.push(stores);
    return stores;
  }

  /** Every key of the namespace with its `DUMP`, to compare. */
  async function snapshot(namespace: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await raw().scan(
        cursor,
        'MATCH',
        `polystore:{${namespace}}:*`,
        'COUNT',
        500,
      );
      cursor = next;
      for (const key of keys) {
        out.set(key, ((await raw().dumpBuffer(key)) ?? Buffer.alloc(0)).toString('hex'));
      }
    } while (cursor !== '0');
    return new Map([...out].sort(([a], [b]) => compareCodePoints(a, b)));
  }

  /**
   * The names of the commands that touch the namespace while `fn` runs, seen by `MONITOR` on
   * a plain socket. ioredis's `monitor()` can fail with "Command queue state error" when the
   * server's first monitored line arrives with its `+OK` in one read (its status turns to
   * monitoring a tick later): with other test files using the shared server at the same
   * time, that happened in CI.
   */
  async function commandsDuring(namespace: string, fn: () => Promise<unknown>): Promise<string[]> {
    const { hostname, port } = new URL(redisUrl());
    const socket = connect(Number(port), hostname);
    const sentinel = `polystore:{${namespace}}:~end-of-commands`;
    const seen: string[] = [];
    let buffered = '';
    let started = false;
    let onStarted: () => void = () => {};
    let onFailed: (err: Error) => void = () => {};
    let onEnded: () => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      onStarted = resolve;
      onFailed = reject;
    });
    // A refused connection or an answer other than +OK fails the test, not the process.
    socket.on('error', (err) => onFailed(err));
    const ended = new Promise<void>((r) => {
      onEnded = r;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\r\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!started) {
          if (line !== '+OK') {
            onFailed(new Error(`MONITOR answered ${line}`));
            return;
          }
          started = true;
          onStarted();
          continue;
        }
        // +<time> [<db> <client>] "COMMAND" "arg" ...: quoted, with \" and \\ escaped.
        const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
        if (args.includes(sentinel)) onEnded();
        else if (args.some((a) => a.includes(`{${namespace}}`))) seen.push(args[0]!.toUpperCase());
      }
    });
    socket.write('MONITOR\r\n');
    try {
      await ready;
      await fn();
      // Every command before this one has been seen once the monitor sees it.
      await raw().get(sentinel);
      await ended;
    } finally {
      socket.destroy();
    }
    return seen;
  }

  it('writes nothing at the open of an existing resource (one GET each), whatever the definition', async () => {
    const namespace = freshNamespace('redis_evolution');
    const created = await commandsDuring(namespace, () => service(namespace, [gadgetV10]));
    expect(created.filter((c) => c === 'SET')).toEqual(['SET']);
    await services[0]!.store(gadgetV10).create(p1, { label: 'one', shelf: null });
    const before = await snapshot(namespace);
    const older = await commandsDuring(namespace, () => service(namespace, [gadgetV10]));
    const newer = await commandsDuring(namespace, () => open(namespace, gadgetV11));
    // The adapter's open reads the schema key; core's check reads it again.
    expect(older).toEqual(['GET', 'GET']);
    expect(newer).toEqual(['GET']);
    expect(await snapshot(namespace)).toEqual(before);
  });

  it('lets 1.0 code read, write and list a store 1.1 code expanded', async () => {
    const namespace = freshNamespace('redis_evolution');
    const first = (await service(namespace, [gadgetV10])).store(gadgetV10);
    const one = await first.create(p1, { label: 'one', shelf: null });
    await (await open(namespace, gadgetV11)).expand(gadgetV11, up.expand);
    const newer = (await service(namespace, [gadgetV11])).store(gadgetV11);
    const red = await newer.create(p1, { label: 'two', shelf: 'A', color: 'red' });
    const expanded = await snapshot(namespace);

    const older = (await service(namespace, [gadgetV10])).store(gadgetV10);
    expect(await snapshot(namespace)).toEqual(expanded);
    expect((await older.get(p1, one.id)).label).toBe('one');
    expect(await older.get(p1, red.id)).toMatchObject({ label: 'two', shelf: 'A' });
    const made = await older.create(p1, { label: 'three', shelf: null });
    await older.update(p1, one.id, { label: 'uno' }, { expectedRevision: 1 });
    expect((await older.list(p1, { where: { label: 'uno' } })).items.map((g) => g.id)).toEqual([
      one.id,
    ]);
    const page = await older.list(p1, { limit: 2 });
    const rest = await older.list(p1, { limit: 2, after: page.next });
    expect([...page.items, ...rest.items].map((g) => g.label).sort()).toEqual([
      'three',
      'two',
      'uno',
    ]);
    expect(await older.count(p1)).toBe(3);
    // The 1.1 unique constraint holds for 1.0 writes too.
    await expect(older.create(p1, { label: 'two', shelf: null })).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    // 1.1 code reads the 1.0 writes, color defaulted, and its own index still answers.
    expect(await newer.get(p1, made.id)).toMatchObject({ label: 'three', color: null });
    expect((await newer.list(p1, { where: { color: 'red' } })).items.map((g) => g.id)).toEqual([
      red.id,
    ]);
  });

  it('makes a client opened before an expand honour the unique constraint it added', async () => {
    const namespace = freshNamespace('redis_evolution');
    const older = (await service(namespace, [gadgetV10])).store(gadgetV10);
    const one = await older.create(p1, { label: 'one', shelf: null });
    const two = await older.create(p1, { label: 'two', shelf: null });
    await (await open(namespace, gadgetV11)).expand(gadgetV11, up.expand);
    await expect(older.create(p1, { label: 'one', shelf: null })).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    await expect(older.update(p1, two.id, { label: 'one' })).rejects.toMatchObject({
      code: 'DUPLICATE',
      fields: ['label'],
    });
    const three = await older.create(p1, { label: 'three', shelf: null });
    const newer = (await service(namespace, [gadgetV11])).store(gadgetV11);
    await expect(newer.create(p1, { label: 'three', color: null })).rejects.toBeInstanceOf(
      DuplicateError,
    );
    // A soft delete and a move by the older client free the value for everyone.
    await older.delete(p1, one.id);
    await older.update(p1, three.id, { label: 'drei' });
    await newer.create(p1, { label: 'one', color: null });
    await newer.create(p1, { label: 'three', color: null });
    await expect(older.create(p1, { label: 'drei', shelf: null })).rejects.toBeInstanceOf(
      DuplicateError,
    );
  });

  it('makes 1.0 writes after an expand keep the indexes it added on fields 1.0 knows', async () => {
    const crate = { name: 'crate', plural: 'crates', scope: 'project', softDelete: true } as const;
    const crateV10 = defineResource({
      ...crate,
      version: '1.0',
      history: { '1.0': 'initial version' },
      fields: { size: f.int().default(0), bin: f.string().default(''), tag: f.string().indexed() },
    });
    const crateV11 = defineResource({
      ...crate,
      version: '1.1',
      history: {
        '1.0': 'initial version',
        '1.1': {
          note: 'size and tag sortable, bin indexed',
          addIndexes: ['size', 'tag', 'bin'],
          dropIndexes: { tag: 'eq' },
        },
      },
      fields: {
        size: f.int().sortable().default(0),
        bin: f.string().indexed().default(''),
        tag: f.string().sortable(),
      },
    });
    const namespace = freshNamespace('redis_evolution');
    const older = (await service(namespace, [crateV10])).store(crateV10);
    const a = await older.create(p1, { size: 3, bin: 'x', tag: 'a' });
    const b = await older.create(p1, { size: -5, bin: 'x', tag: 'b' });
    await (await open(namespace, crateV11)).expand(
      crateV11,
      elementsBetween(crateV11, '1.0', '1.1').expand,
    );
    // A client opened before the expand and one opened after it write on.
    const late = (await service(namespace, [crateV10])).store(crateV10);
    const c = await older.create(p1, { size: 3, bin: 'y', tag: '😀' });
    const d = await late.create(p1, { size: 2 ** 40, bin: 'y', tag: HOSTILE_STRINGS[0]! });
    const e = await late.create(p1, { size: -1, bin: 'x', tag: 'é' });
    const g = await older.create(p1, { size: 3, bin: 'z', tag: 'Z' });
    await older.update(p1, b.id, { size: 3, bin: 'y' });
    await late.update(p1, a.id, { bin: 'z', tag: '\uFFFF' });
    await older.delete(p1, e.id);
    await late.delete(p1, g.id);
    await late.purge(adminContext(), {
      deletedBefore: new Date(Date.now() + 60_000).toISOString(),
    });

    const newer = (await service(namespace, [crateV11])).store(crateV11);
    const all = (await newer.list(p1, { limit: 100 })).items;
    expect(all.map((r) => r.id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
    const byId = (x: { id: string }, y: { id: string }) => compareCodePoints(x.id, y.id);
    const threes = all.filter((r) => r.size === 3).sort(byId);
    expect(threes.map((r) => r.id)).toEqual([a.id, b.id, c.id].sort(compareCodePoints));
    expect(await newer.count(p1, { size: 3 })).toBe(3);
    expect((await newer.list(p1, { where: { size: 3 }, limit: 100 })).items).toEqual(threes);
    const bySize = [...all].sort((x, y) => x.size - y.size || byId(x, y));
    const asc = await newer.list(p1, { orderBy: { field: 'size' }, limit: 100 });
    expect(asc.items.map((r) => r.id)).toEqual(bySize.map((r) => r.id));
    const small = await newer.list(p1, {
      where: { size: { gt: -10, lte: 3 } },
      orderBy: { field: 'size', direction: 'desc' },
      limit: 100,
    });
    expect(small.items.map((r) => r.id)).toEqual(
      bySize
        .filter((r) => r.size <= 3)
        .map((r) => r.id)
        .reverse(),
    );
    expect(await newer.count(p1, { size: { gt: 2 } })).toBe(4);
    const byTag = [...all].sort((x, y) => compareCodePoints(x.tag, y.tag) || byId(x, y));
    const tags = await newer.list(p1, { orderBy: { field: 'tag' }, limit: 100 });
    expect(tags.items.map((r) => r.id)).toEqual(byTag.map((r) => r.id));
    expect(await newer.count(p1, { tag: '\uFFFF' })).toBe(1);
    expect(
      (await newer.list(p1, { where: { bin: 'y' }, limit: 100 })).items.map((r) => r.id),
    ).toEqual([b.id, c.id, d.id].sort(compareCodePoints));
    expect(await newer.count(p1, { bin: 'x' })).toBe(0);
    // The soft-deleted and purged records left no entry behind: the sorted sets hold the live ones.
    const prefix = `polystore:{${namespace}}:crates:`;
    expect(await raw().zcard(`${prefix}z:size:l:*`)).toBe(4);
    expect(await raw().zcard(`${prefix}z:size:d:*`)).toBe(0);
    // 1.0 code still finds records by its own equality index on tag.
    expect((await older.list(p1, { where: { tag: '😀' } })).items.map((r) => r.id)).toEqual([c.id]);
  });

  it('refuses 1.1 code on a store nobody expanded with SchemaBehindError, adding no key', async () => {
    const namespace = freshNamespace('redis_evolution');
    const first = (await service(namespace, [gadgetV10])).store(gadgetV10);
    const one = await first.create(p1, { label: 'one', shelf: null });
    const before = await snapshot(namespace);
    const err = await service(namespace, [gadgetV11]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaBehindError);
    expect(err).toMatchObject({ resource: 'gadget' });
    expect([...(err as SchemaBehindError).missing].sort()).toEqual([
      'field color',
      'index color (eq)',
      'index shelf (eq)',
      'unique (label)',
    ]);
    expect(await snapshot(namespace)).toEqual(before);
    // 1.0 code still opens it.
    expect(
      (await (await service(namespace, [gadgetV10])).store(gadgetV10).get(p1, one.id)).label,
    ).toBe('one');
  });

  it('reopens with fewer resources, leaving the others as they are', async () => {
    const namespace = freshNamespace('redis_evolution');
    const both = await service(namespace, [gadgetV10, widget]);
    const w = await both.store(widget).create(p1, { label: 'w', shelf: null });
    await both.close();
    const widgetsOnly = async () =>
      new Map([...(await snapshot(namespace))].filter(([k]) => k.includes('}:widgets:')));
    const before = await widgetsOnly();
    expect(before.size).toBeGreaterThan(1);
    const gadgets = (await service(namespace, [gadgetV10])).store(gadgetV10);
    const g = await gadgets.create(p1, { label: 'g', shelf: null });
    expect((await gadgets.list(p1)).items.map((x) => x.id)).toEqual([g.id]);
    expect(await widgetsOnly()).toEqual(before);
    const again = await service(namespace, [widget]);
    expect((await again.store(widget).get(p1, w.id)).label).toBe('w');
  });

  it('refuses a store whose keys an older polystore named by the singular, writing nothing', async () => {
    const namespace = freshNamespace('redis_evolution');
    const legacy = `polystore:{${namespace}}:gadget:`;
    await raw().set(`${legacy}schema`, JSON.stringify({ fields: ['label', 'shelf'] }));
    await raw().sadd(`${legacy}versions`, '"1.0"');
    const before = await snapshot(namespace);
    const err = await service(namespace, [gadgetV10]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${legacy}`);
    expect((err as Error).message).toContain(`polystore:{${namespace}}:gadgets:`);
    expect(await snapshot(namespace)).toEqual(before);
    // Records only (the schema key gone) are found too.
    await raw().del(`${legacy}schema`);
    await expect(open(namespace, gadgetV10)).rejects.toBeInstanceOf(ConfigError);
    expect(await raw().exists(`polystore:{${namespace}}:gadgets:schema`)).toBe(0);
  });
});

describe('the schema text a write learned (with_applied)', () => {
  it('is sent while the key holds it; a write after an expand still enters the new elements', async () => {
    const { namespace, oldBackend, newBackend, oldDriver, newDriver, entries, records } =
      await fleet();
    const schemaKey = `polystore:{${namespace}}:gadgets:schema`;
    // The last argument of each script call on a record key a backend sends (here only
    // inserts, updates and deletes): the schema text it learned.
    const lastArgs = (backend: RedisBackend) => {
      const sent: string[] = [];
      const client = backend.connection.client as unknown as {
        sendCommand(cmd: { name: string; args: unknown[] }, ...rest: unknown[]): unknown;
      };
      const send = client.sendCommand.bind(client);
      client.sendCommand = (cmd, ...rest) => {
        const onRecord = String(cmd.args[2]).includes(':gadgets:r:');
        if ((cmd.name === 'evalsha' || cmd.name === 'eval') && onRecord) {
          sent.push(String(cmd.args.at(-1)));
        }
        return send(cmd, ...rest);
      };
      return sent;
    };
    const oldSent = lastArgs(oldBackend);
    const newSent = lastArgs(newBackend);
    const rename = (label: string, revision: number) => ({
      set: { label },
      updatedAt: at,
      objectVersion: '1.0',
      expectedRevision: revision,
      expected: undefined,
    });

    await oldDriver.insert(rec('r1', { label: 'one' }));
    await oldDriver.update(admin, 'r1', rename('uno', 1));
    const s10 = await raw().get(schemaKey);
    expect(s10).not.toBeNull();
    // Nothing learned before the first write; its reply gave the 1.0 text back.
    expect(oldSent).toEqual(['', s10]);

    // An expand to 1.1 changes the key: the 1.0 client's text is stale, so its next write
    // reads the key's elements and enters the record in the 1.1 indexes and constraint.
    await oldBackend.expand(gadgetV11, up.expand);
    const s11 = await raw().get(schemaKey);
    expect(s11).not.toBe(s10);
    await oldDriver.update(admin, 'r1', rename('eins', 2));
    await oldDriver.insert(rec('r2', { label: 'two' }));
    await oldDriver.insert(rec('r4', { label: 'four', shelf: 'F' }));
    await oldDriver.delete(admin, 'r2', { soft: true, at, expectedRevision: 1 });
    await oldDriver.delete(admin, 'r4', { soft: false, at, expectedRevision: 1 });
    expect(await entries()).toEqual(expectedEntries(await records()));
    // 1.1's elements add to the 1.0 layout, so the 1.0 client learns nothing from them.
    expect(oldSent.slice(2)).toEqual([s10, s10, s10, s10, s10]);

    // The 1.1 client learns the 1.1 text at its first write and sends it from then on.
    await newDriver.insert(rec('r3', { label: 'three', shelf: 'S', color: 'red' }));
    await newDriver.update(admin, 'r3', { ...rename('drei', 1), objectVersion: '1.1' });
    expect(newSent).toEqual(['', s11]);
    expect(await entries()).toEqual(expectedEntries(await records()));
  });
});
