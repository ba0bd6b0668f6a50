/**
 * The two record forms (RedisOptions.recordForm): a client stores every record it writes in
 * its own form, every client reads both, and a store that holds both answers as one that
 * holds either: what a fleet sees while it moves from one form to the other.
 */
import { type AnyResource, ConfigError, createContext, sequentialIds } from '@polystore/core';
import { createStores, elementsBetween, type StoredRecord } from '@polystore/core/adapter';
import { admin, at, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTRACT_RESOURCES, gadgetResource } from '../../../test/contract/resources.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import type { RecordForm } from '../src/redis-options.js';
import { dumpNamespace, redisUrl, useRawRedis } from './helpers.js';
import { gadgetV10, gadgetV11, records } from './steps-fixtures.js';

const p1 = createContext({ projectId: 'p1' });
const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

/** Two clients of one namespace, one per form, sharing an id sequence. */
async function pair() {
  const namespace = freshNamespace('record_forms');
  const ids = sequentialIds();
  const open = async (recordForm: RecordForm) => {
    const backend = await openRedisBackend(redisUrl(), {
      adapter: { namespace, recordForm },
      resources: CONTRACT_RESOURCES,
    });
    opened.push(backend);
    return createStores(backend, { resources: CONTRACT_RESOURCES, ids }).store(gadgetResource);
  };
  const key = (id: string, form: RecordForm = 'json') =>
    `polystore:{${namespace}}:gadgets:${form === 'json' ? 'j' : 'r'}:${id}`;
  return { hash: await open('hash'), json: await open('json'), key, formOf: formOf(namespace) };
}

/**
 * The form a record of a namespace is stored in: its hash at `r:<id>` or its string at
 * `j:<id>`, and never both; `none` when there is neither.
 */
function formOf(namespace: string) {
  return async (id: string): Promise<RecordForm | 'none' | 'both'> => {
    const T = `polystore:{${namespace}}:gadgets:`;
    const [hash, json] = await Promise.all([raw().type(`${T}r:${id}`), raw().type(`${T}j:${id}`)]);
    if (hash === 'hash' && json === 'none') return 'hash';
    if (hash === 'none' && json === 'string') return 'json';
    return hash === 'none' && json === 'none' ? 'none' : 'both';
  };
}

describe('record forms', () => {
  it('stores a record in the form of the client that writes it, which any client reads', async () => {
    const { hash, json, key, formOf } = await pair();
    const a = await hash.create(p1, { name: 'a', color: 'red', labels: ['x'], meta: { k: 'v' } });
    const b = await json.create(p1, { name: 'b', color: 'red', labels: ['y'], meta: { k: 'w' } });
    expect(await formOf(a.id)).toBe('hash');
    expect(await formOf(b.id)).toBe('json');
    // The string is the JSON object of the fields' JSON texts and the hidden entries.
    const stored = JSON.parse((await raw().get(key(b.id))) ?? 'null') as Record<string, string>;
    expect(stored).toMatchObject({ id: JSON.stringify(b.id), name: '"b"', labels: '["y"]' });
    expect(stored['~s:name']).toBeTypeOf('string');
    for (const store of [hash, json]) {
      expect(await store.get(p1, a.id)).toEqual(a);
      expect(await store.get(p1, b.id)).toEqual(b);
      expect(await store.getMany(p1, [a.id, b.id])).toEqual([a, b]);
      const page = await store.list(p1, { where: { color: 'red' }, orderBy: { field: 'name' } });
      expect(page.items).toEqual([a, b]);
      expect(await store.count(p1, { color: 'red' })).toBe(2);
    }
  });

  it('moves a record to the writer’s form on update and soft delete, values and indexes intact', async () => {
    const { hash, json, formOf } = await pair();
    const made = await hash.create(p1, { name: 'm', color: 'red', size: 3 });
    const moved = await json.update(p1, made.id, { color: 'blue', size: 4 });
    expect(await formOf(made.id)).toBe('json');
    expect(await hash.get(p1, made.id)).toEqual(moved);
    const back = await hash.update(p1, made.id, { name: 'n' }, { expectedRevision: 2 });
    expect(await formOf(made.id)).toBe('hash');
    expect(back).toMatchObject({ name: 'n', color: 'blue', size: 4, revision: 3 });
    for (const store of [hash, json]) {
      expect((await store.list(p1, { where: { color: 'blue' } })).items).toEqual([back]);
      expect((await store.list(p1, { where: { color: 'red' } })).items).toEqual([]);
      expect(
        (await store.list(p1, { where: { size: 4 }, orderBy: { field: 'size' } })).items,
      ).toEqual([back]);
    }
    const gone = await json.delete(p1, made.id);
    expect(await formOf(made.id)).toBe('json');
    expect(gone.deletedAt).not.toBeNull();
    expect(await hash.count(p1, { color: 'blue' })).toBe(0);
    // The unique value a soft delete frees is free for either client.
    await hash.create(p1, { name: 'c1', code: 'C' });
    await expect(json.create(p1, { name: 'c2', code: 'C' })).rejects.toThrow(/code/);
  });

  it('answers the same from either client whatever the mix of forms: a model check', async () => {
    type Op =
      | { kind: 'create'; by: RecordForm; name: string; color: 'red' | 'blue' | null; size: number }
      | { kind: 'update'; by: RecordForm; at: number; color: 'red' | 'blue' | null; size: number }
      | { kind: 'delete'; by: RecordForm; at: number };
    const by = fc.constantFrom<RecordForm>('hash', 'json');
    const color = fc.constantFrom<'red' | 'blue' | null>('red', 'blue', null);
    const size = fc.integer({ min: -3, max: 3 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('create' as const),
        by,
        name: fc.string({ maxLength: 4 }),
        color,
        size,
      }),
      fc.record({ kind: fc.constant('update' as const), by, at: fc.nat(), color, size }),
      fc.record({ kind: fc.constant('delete' as const), by, at: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const { hash, json, formOf } = await pair();
        const stores = { hash, json };
        // The model: the live records, as the writes returned them.
        const live = new Map<string, Awaited<ReturnType<typeof hash.create>>>();
        const writer = new Map<string, RecordForm>();
        for (const o of ops) {
          const ids = [...live.keys()];
          if (o.kind === 'create') {
            const r = await stores[o.by].create(p1, { name: o.name, color: o.color, size: o.size });
            live.set(r.id, r);
            writer.set(r.id, o.by);
          } else if (ids.length > 0) {
            const id = ids[o.at % ids.length]!;
            const revision = live.get(id)!.revision;
            if (o.kind === 'update') {
              const r = await stores[o.by].update(
                p1,
                id,
                { color: o.color, size: o.size },
                { expectedRevision: revision },
              );
              live.set(id, r);
            } else {
              await stores[o.by].delete(p1, id, { expectedRevision: revision });
              live.delete(id);
            }
            writer.set(id, o.by);
          }
        }
        for (const [id, form] of writer) expect(await formOf(id)).toBe(form);
        const byNameThenId = [...live.values()].sort(
          (a, b) =>
            Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) ||
            Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)),
        );
        for (const store of [hash, json]) {
          for (const c of ['red', 'blue', null] as const) {
            const want = byNameThenId.filter((r) => r.color === c);
            const page = await store.list(p1, {
              where: { color: c },
              orderBy: { field: 'name' },
              limit: 100,
            });
            expect(page.items).toEqual(want);
            expect(await store.count(p1, { color: c })).toBe(want.length);
          }
          const bySize = await store.list(p1, {
            where: { size: { gte: 0 } },
            orderBy: { field: 'size', direction: 'desc' },
            limit: 100,
          });
          expect(bySize.items.map((r) => r.id).sort()).toEqual(
            [...live.values()]
              .filter((r) => r.size >= 0)
              .map((r) => r.id)
              .sort(),
          );
          expect(await store.getMany(p1, [...live.keys()])).toEqual([...live.values()]);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses with ConfigError a record key that holds a string or a type polystore does not write', async () => {
    const { hash, json, key } = await pair();
    const a = await json.create(p1, { name: 'a', color: 'red' });
    const b = await hash.create(p1, { name: 'b', color: 'red' });
    const foreign = ['not json', '[1,2]', '{"id":1}', '{}'];
    for (const text of foreign) {
      await raw().set(key(a.id, 'json'), text);
      for (const store of [hash, json]) {
        await expect(store.get(p1, a.id), text).rejects.toBeInstanceOf(ConfigError);
        await expect(store.list(p1, { where: { color: 'red' } }), text).rejects.toBeInstanceOf(
          ConfigError,
        );
        await expect(store.update(p1, a.id, { size: 1 }), text).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await raw().get(key(a.id, 'json'))).toBe(text);
    }
    await raw().del(key(b.id, 'hash'));
    await raw().rpush(key(b.id, 'hash'), 'x');
    for (const store of [hash, json]) {
      await expect(store.get(p1, b.id)).rejects.toBeInstanceOf(ConfigError);
      await expect(store.update(p1, b.id, { size: 1 })).rejects.toBeInstanceOf(ConfigError);
    }
  });

  it('keeps every key as a store of hashes does, through writes, an expand and a migration: a twin check', async () => {
    const later = '2026-03-03T00:00:00.000Z';
    const seed: StoredRecord[] = [
      rec('r1', { label: 'one', shelf: null }),
      rec('r2', { label: 'two', shelf: 'A' }, { projectId: 'p2' }),
      rec('r3', { label: 'three', shelf: 'B' }, { deletedAt: at }),
      rec('r4', { label: 'four', shelf: 'B' }),
      rec('r5', { label: 'five', shelf: null }),
      rec('r6', { label: 'six', shelf: 'A' }),
    ];
    /** The same history in a fresh namespace, each write by the client of `formOf(step)`. */
    const history = async (formOf: (step: number) => RecordForm) => {
      const namespace = freshNamespace('record_forms_twin');
      const open = async (recordForm: RecordForm, resource: AnyResource) => {
        const backend = await openRedisBackend(redisUrl(), {
          adapter: { namespace, recordForm },
          resources: [resource],
        });
        opened.push(backend);
        return backend;
      };
      const v10 = { hash: await open('hash', gadgetV10), json: await open('json', gadgetV10) };
      let step = 0;
      const next = () => v10[formOf(step++)];
      for (const r of seed) await next().driver(gadgetV10).insert(r);
      const change = (set: Record<string, unknown>, expectedRevision: number) => ({
        set,
        updatedAt: later,
        objectVersion: '1.0',
        expectedRevision,
        expected: undefined,
      });
      await next()
        .driver(gadgetV10)
        .update(admin, 'r1', change({ shelf: 'C', label: 'uno' }, 1));
      await next()
        .driver(gadgetV10)
        .update(admin, 'r4', change({ shelf: null }, 1));
      await next()
        .driver(gadgetV10)
        .update(admin, 'r4', change({ label: 'vier' }, 2));
      await next()
        .driver(gadgetV10)
        .delete(admin, 'r5', { soft: true, at: later, expectedRevision: 1 });
      await next()
        .driver(gadgetV10)
        .delete(admin, 'r6', { soft: false, at: later, expectedRevision: 1 });
      await next().expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);
      const v11 = await open(formOf(step++), gadgetV11);
      const upgraded = (await records(v10.hash)).map((r) => ({
        record: {
          ...r,
          color: 'red',
          weight: r.revision,
          objectVersion: '1.1',
          updatedAt: later,
        } as StoredRecord,
        expectedRevision: r.revision,
      }));
      expect(upgraded.length).toBe(5);
      await v11.driver(gadgetV11).rewriteMany(upgraded.slice(0, 3));
      return { namespace, records: await records(v10.json) };
    };
    const hashes = await history(() => 'hash');
    const mixed = await history((step) => (step % 2 === 0 ? 'json' : 'hash'));
    const rename = (lines: string[], from: string) =>
      lines.map((l) => l.replaceAll(`{${from}}`, '{ns}'));
    expect(mixed.records).toEqual(hashes.records);
    expect(rename(await dumpNamespace(raw(), mixed.namespace), mixed.namespace)).toEqual(
      rename(await dumpNamespace(raw(), hashes.namespace), hashes.namespace),
    );
    // The mix is a mix: the last writer's form of each record.
    const forms = new Set<string>();
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) forms.add(await formOf(mixed.namespace)(id));
    expect([...forms].sort()).toEqual(['hash', 'json']);
  });
});
