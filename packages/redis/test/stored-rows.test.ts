/**
 * The stored rows (`w:<id>`, prelude.lua ROW_HEAD, save_row, record_row): every write of
 * this release stores the record's reply row or drops it, and a read returns it only under
 * the head of the reader's fields in this release's row format; else it reads the hash.
 * What a read returns is what the hash holds, whichever client of this release wrote it
 * and whatever rows an earlier one left.
 */
import { createHash } from 'node:crypto';
import { type AnyResource, createContext, sequentialIds } from '@polystore/core';
import {
  createStores,
  elementsBetween,
  type ReadScope,
  type StoredRecord,
} from '@polystore/core/adapter';
import { rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTRACT_RESOURCES, gadgetResource } from '../../../test/contract/resources.js';
import { ResourceLayout } from '../src/layout.js';
import { RowReader } from '../src/record-reader.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { rowSignature } from '../src/redis-connection.js';
import { readFields } from '../src/redis-resource-driver.js';
import { redisUrl, useRawRedis } from './helpers.js';
import { gadgetV10, gadgetV11 } from './steps-fixtures.js';

const p1 = createContext({ projectId: 'p1' });
const readP1: ReadScope = { projectId: 'p1', includeShared: false, deleted: 'no' };
const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

/** A record as a 1.1 client writes it. */
const g1 = rec(
  'g1',
  { label: 'l', shelf: null, color: 'blue', weight: 3 },
  { objectVersion: '1.1' },
);

async function fresh(resources: readonly AnyResource[] = CONTRACT_RESOURCES, namespace?: string) {
  const ns = namespace ?? freshNamespace('stored_rows');
  const backend = await openRedisBackend(redisUrl(), { adapter: { namespace: ns }, resources });
  opened.push(backend);
  const T = `polystore:{${ns}}:gadgets:`;
  return {
    backend,
    namespace: ns,
    gadgets: () => createStores(backend, { resources, ids: sequentialIds() }).store(gadgetResource),
    hashKey: (id: string) => `${T}r:${id}`,
    rowKey: (id: string) => `${T}w:${id}`,
  };
}

describe('stored rows', () => {
  it('are written by every write, under the signature of the fields', async () => {
    const { backend, rowKey, ...f } = await fresh();
    const gadgets = f.gadgets();
    // The signature is of the fields, in order, and nothing else.
    expect(rowSignature(['id', 'a'])).toBe(rowSignature(['id', 'a']));
    expect(rowSignature(['id', 'a'])).not.toBe(rowSignature(['a', 'id']));
    expect(rowSignature(['id', 'a\0b'])).not.toBe(rowSignature(['id', 'a', 'b']));
    const signature = rowSignature(
      readFields(new ResourceLayout(gadgetResource, backend.keyspace)),
    );
    expect(signature).toMatch(/^[0-9a-f]{12}$/);
    const row = async (id: string) => (await raw().get(rowKey(id))) ?? '';
    /** The row's head and its record, as the client reads it. */
    const stored = async (id: string) => {
      const text = await row(id);
      return {
        head: text.slice(0, text.indexOf('\0')),
        record: new RowReader(
          readFields(new ResourceLayout(gadgetResource, backend.keyspace)),
        ).read(text),
      };
    };
    const made = await gadgets.create(p1, { name: 'a', color: 'red' });
    expect(await stored(made.id)).toEqual({ head: signature, record: made });
    const updated = await gadgets.update(p1, made.id, { name: 'b' });
    expect(await stored(made.id)).toEqual({ head: signature, record: updated });
    const deleted = await gadgets.delete(p1, made.id);
    expect(await stored(made.id)).toEqual({ head: signature, record: deleted });
    const gone = await gadgets.create(p1, { name: 'c' });
    await backend.driver(gadgetResource).delete({ projectId: 'p1' }, gone.id, {
      soft: false,
      at: new Date().toISOString(),
      expectedRevision: undefined,
    });
    expect(await raw().exists(rowKey(gone.id))).toBe(0);
  });

  it("reads the hash when the row is not its own: an earlier release's, a forged head, other fields", async () => {
    const { backend, hashKey, rowKey, ...f } = await fresh();
    const gadgets = f.gadgets();
    const made = await gadgets.create(p1, { name: 'a', color: 'red' });
    const names = readFields(new ResourceLayout(gadgetResource, backend.keyspace));
    const row = (await raw().get(rowKey(made.id)))!;
    const body = row.slice(row.indexOf('\0') + 1).replace('"a"', '"forged"');
    // An earlier release's row ('row1': its head held the revision and updatedAt, which its
    // reads checked against the hash), at the record's revision and updatedAt: not read.
    const row1 = createHash('sha1')
      .update(`row1${JSON.stringify(names)}`)
      .digest('hex')
      .slice(0, 12);
    const hash = await raw().hgetall(hashKey(made.id));
    await raw().set(rowKey(made.id), `${row1} ${hash.revision} ${hash.updatedAt}\0${body}`);
    expect(await gadgets.get(p1, made.id)).toMatchObject({ name: 'a' });
    expect((await gadgets.list(p1, { where: { color: 'red' } })).items[0]).toMatchObject({
      name: 'a',
    });
    expect(await gadgets.getMany(p1, [made.id])).toMatchObject([{ name: 'a' }]);
    // A row under another signature is not read.
    await raw().set(rowKey(made.id), `000000000000\0${body}`);
    expect(await gadgets.get(p1, made.id)).toMatchObject({ name: 'a' });
    // A page of one equality index reads its rows in a loop of its own (list.lua): the same
    // check there.
    const redPage = () => gadgets.list(p1, { where: { color: 'red' } });
    expect((await redPage()).items).toMatchObject([{ name: 'a' }]);
    // And the same row under the right signature is: the head is all a read checks.
    await raw().set(rowKey(made.id), `${rowSignature(names)}\0${body}`);
    expect(await gadgets.get(p1, made.id)).toMatchObject({ name: 'forged' });
    expect((await redPage()).items).toMatchObject([{ name: 'forged' }]);
    // The next write stores the row again.
    const updated = await gadgets.update(p1, made.id, { name: 'b' });
    expect(await gadgets.get(p1, made.id)).toEqual(updated);
    // A client of another definition (1.1: more fields) writes its row; a 1.0 client reads the hash.
    const v10 = await fresh([gadgetV10]);
    const v11 = await fresh([gadgetV11], v10.namespace);
    const r = g1;
    await v11.backend.driver(gadgetV11).insert(r);
    expect(await raw().exists(v11.rowKey('g1'))).toBe(1);
    expect(await v11.backend.driver(gadgetV11).get(readP1, 'g1')).toEqual(r);
    // 1.0 reads the fields of its own history from the hash, not 1.1's row.
    const {
      color: _c,
      weight: _w,
      ...known
    } = r as StoredRecord & { color: unknown; weight: unknown };
    expect(await v10.backend.driver(gadgetV10).get(readP1, 'g1')).toEqual(known);
  });

  it('go with a contract, which strips fields without a new revision', async () => {
    const v11 = await fresh([gadgetV11]);
    const driver = v11.backend.driver(gadgetV11);
    await driver.insert(g1);
    expect(await raw().exists(v11.rowKey('g1'))).toBe(1);
    await v11.backend.contract(gadgetV11, elementsBetween(gadgetV11, '1.1', '1.0').contract);
    expect(await raw().exists(v11.rowKey('g1'))).toBe(0);
    const read = await driver.get(readP1, 'g1');
    expect(read).toMatchObject({ id: 'g1', label: 'l' });
    expect(read).not.toHaveProperty('weight');
  });

  it('returns what the hash holds whatever mix of writes, edits and reads: a model check', async () => {
    type Op =
      | { kind: 'create'; name: string; color: 'red' | 'blue' | null }
      | { kind: 'update'; at: number; name: string }
      | { kind: 'earlier'; at: number; name: string }
      | { kind: 'delete'; at: number }
      | { kind: 'read'; at: number };
    const color = fc.constantFrom<'red' | 'blue' | null>('red', 'blue', null);
    const name = fc.string({ maxLength: 3 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), name, color }),
      fc.record({ kind: fc.constant('update' as const), at: fc.nat(), name }),
      fc.record({ kind: fc.constant('earlier' as const), at: fc.nat(), name }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('read' as const), at: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
        const { backend, hashKey, rowKey, ...f } = await fresh();
        const gadgets = f.gadgets();
        const ids: string[] = [];
        /** The record as the hash holds it: every field but the hidden ones, decoded. */
        const truth = async (id: string) => {
          const hash = await raw().hgetall(hashKey(id));
          if (Object.keys(hash).length === 0 || hash.deletedAt !== 'null') return undefined;
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(hash)) if (!k.startsWith('~')) out[k] = JSON.parse(v);
          return out;
        };
        const check = async (id: string) => {
          const want = await truth(id);
          const got = await gadgets.get(p1, id).catch(() => undefined);
          if (want === undefined) expect(got).toBeUndefined();
          else expect(got).toMatchObject(want);
          const page = await gadgets.getMany(p1, [id]);
          expect(page).toEqual(got === undefined ? [] : [got]);
          // A filtered list reads the row with the columns it filters on (list.lua): by id
          // one record a page (the walk of the id index), and by name (the color set's
          // members, with their name tokens read).
          for (const orderBy of [undefined, { field: 'name' as const }]) {
            for (const c of ['red', 'blue', null] as const) {
              const seen = [];
              let after: string | undefined;
              do {
                const p = await gadgets.list(p1, {
                  where: { color: c },
                  limit: orderBy ? 50 : 1,
                  ...(orderBy ? { orderBy } : {}),
                  ...(after ? { after } : {}),
                });
                seen.push(...p.items.filter((r) => r.id === id));
                after = p.next ?? undefined;
              } while (after);
              if (want === undefined || want.color !== c) expect(seen).toEqual([]);
              else expect(seen).toEqual([got]);
            }
          }
        };
        for (const o of ops) {
          if (o.kind === 'create') {
            ids.push((await gadgets.create(p1, { name: o.name, color: o.color })).id);
            continue;
          }
          if (ids.length === 0) continue;
          const id = ids[o.at % ids.length]!;
          const live = await truth(id);
          if (o.kind === 'read' || live === undefined) await check(id);
          else if (o.kind === 'update') await gadgets.update(p1, id, { name: o.name });
          else if (o.kind === 'delete') await gadgets.delete(p1, id);
          else {
            // A row an earlier release left: its head at the record's revision and
            // updatedAt, other values.
            const names = readFields(new ResourceLayout(gadgetResource, backend.keyspace));
            const row1 = createHash('sha1')
              .update(`row1${JSON.stringify(names)}`)
              .digest('hex')
              .slice(0, 12);
            const values = names.map((n) =>
              n === 'name' ? JSON.stringify(o.name) : JSON.stringify(live[n] ?? null),
            );
            await raw().set(
              rowKey(id),
              `${row1} ${live.revision} ${JSON.stringify(live.updatedAt)}\0[${values.join('\n,')}]`,
            );
          }
        }
        for (const id of ids) await check(id);
      }),
      { numRuns: 60 },
    );
  });
});
