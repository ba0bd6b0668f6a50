/**
 * `rewriteMany` on a real Redis server: each record rewritten exactly as `rewrite` would
 * (revision check, unique clash skipped and unchanged, every index and unique entry made to
 * match), checked against separate `rewrite` calls on a twin namespace.
 */
import type { AnyResource } from '@polystore/core';
import {
  type EvolutionDriver,
  elementsBetween,
  type ResourceDriver,
  type StoredRecord,
} from '@polystore/core/adapter';
import { at, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { redisUrl, useRawRedis } from './helpers.js';
import { gadgetV10, gadgetV11 } from './steps-fixtures.js';

type Driver = ResourceDriver & EvolutionDriver & Required<Pick<EvolutionDriver, 'rewriteMany'>>;

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

async function driverOf(namespace: string, resource: AnyResource): Promise<Driver> {
  const backend = await openRedisBackend(redisUrl(), {
    resources: [resource],
    adapter: { namespace },
  });
  opened.push(backend);
  const driver = backend.driver(resource);
  if (typeof driver.rewriteMany !== 'function') throw new Error('redis must have rewriteMany');
  return driver as Driver;
}

/** Every key of a namespace with its content, as sorted lines (the whole stored state). */
async function dump(namespace: string): Promise<string[]> {
  const prefix = `polystore:{${namespace}}:`;
  const lines: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw().scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const name = key.slice(prefix.length);
      const type = await raw().type(key);
      if (type === 'string') lines.push(`${name} = ${await raw().get(key)}`);
      else if (type === 'set')
        for (const m of await raw().smembers(key)) lines.push(`${name} ∋ ${m}`);
      else if (type === 'zset')
        for (const m of await raw().zrange(key, '0', '-1')) lines.push(`${name} ∋ ${m}`);
      else if (type === 'hash') {
        for (const [k, v] of Object.entries(await raw().hgetall(key)))
          lines.push(`${name} .${k} = ${v}`);
      } else lines.push(`${name} : ${type}`);
    }
  } while (cursor !== '0');
  return lines.sort();
}

/** `r` as the 1.1 runner writes it (the fields 1.1 added at their defaults unless given). */
function upgraded(r: StoredRecord, fields: Record<string, unknown>): StoredRecord {
  return {
    color: null,
    weight: 0,
    shelf: null,
    ...r,
    ...fields,
    objectVersion: '1.1',
    updatedAt: '2026-02-02T00:00:00.000Z',
  } as StoredRecord;
}

/**
 * Two namespaces with the same records, written by a 1.0 client and expanded to 1.1, with
 * the stale entries an older polystore's 1.0 client left (a unique key, an entry under an
 * old value).
 */
async function twins(records: readonly StoredRecord[]) {
  const out: { namespace: string; driver: Driver }[] = [];
  for (let i = 0; i < 2; i++) {
    const namespace = freshNamespace('redis_rewrite_many');
    const oldBackend = await openRedisBackend(redisUrl(), {
      resources: [gadgetV10],
      adapter: { namespace },
    });
    opened.push(oldBackend);
    const old = oldBackend.driver(gadgetV10);
    for (const r of records) await old.insert(r);
    await oldBackend.expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);
    const T = `polystore:{${namespace}}:gadgets:`;
    await raw().set(`${T}u:label:"stale"`, 'r1');
    for (const part of ['*', '"p1"'])
      await raw().smove(`${T}e:shelf:l:${part}:null`, `${T}e:shelf:l:${part}:"old"`, 'r1');
    await raw().hset(`${T}r:r1`, '~e:shelf', '"old"');
    out.push({ namespace, driver: await driverOf(namespace, gadgetV11) });
  }
  return out as [(typeof out)[0], (typeof out)[0]];
}

describe('redis rewriteMany', () => {
  it('leaves the store exactly as separate rewrites do: skipped conflicts, gone ids and unique clashes, repaired entries', async () => {
    const seed: StoredRecord[] = [
      rec('r1', { label: 'one', shelf: null }),
      rec('r2', { label: 'two', shelf: 'A' }, { projectId: 'p2' }),
      rec('r3', { label: 'three', shelf: null }, { deletedAt: at }),
      rec('r4', { label: 'four', shelf: 'B' }),
      rec('r5', { label: 'five', shelf: null }),
      rec('r6', { label: 'six', shelf: null }),
      rec('r7', { label: 'seven', shelf: null }),
      rec('holder', { label: 'taken', shelf: null }),
      rec('gone', { label: 'free', shelf: null }, { deletedAt: at }),
    ];
    const [one, other] = await twins(seed);
    const byId = new Map(seed.map((r) => [r.id, r]));
    const r = (id: string) => byId.get(id)!;
    const rewrites = [
      { record: upgraded(r('r1'), { color: 'red', weight: 3 }), expectedRevision: 1 },
      { record: upgraded(r('r2'), { color: null, label: 'deux' }), expectedRevision: 1 },
      // Deleted: rewritten, holds no unique value.
      { record: upgraded(r('r3'), { color: 'red', label: 'taken' }), expectedRevision: 1 },
      // Another revision.
      { record: upgraded(r('r4'), { color: 'red' }), expectedRevision: 7 },
      // A clash with a live record outside the batch.
      { record: upgraded(r('r5'), { label: 'taken', color: 'blue' }), expectedRevision: 1 },
      // A soft-deleted record's value is free.
      { record: upgraded(r('r6'), { label: 'free', color: 'blue' }), expectedRevision: 1 },
      // Two of the batch want the same value: the first gets it. And the stale key is taken over.
      { record: upgraded(r('r7'), { label: 'stale', color: 'blue' }), expectedRevision: 1 },
      { record: upgraded(r('r4'), { label: 'stale', color: 'blue' }), expectedRevision: 1 },
      { record: upgraded(rec('nope', { label: 'n' }), {}), expectedRevision: 1 },
    ];
    const before = await dump(one.namespace);
    const done = await one.driver.rewriteMany(rewrites);
    expect(done).toEqual(['r1', 'r2', 'r3', 'r6', 'r7']);

    const singly: string[] = [];
    for (const { record, expectedRevision } of rewrites) {
      const outcome = await other.driver
        .rewrite(record, expectedRevision)
        .catch((err: Error) => ({ status: err.name }));
      if (outcome.status === 'ok') singly.push(record.id);
    }
    expect(singly).toEqual(done);
    const rename = (lines: string[], from: string) =>
      lines.map((l) => l.replaceAll(from, '<ns>')).sort();
    const after = await dump(one.namespace);
    expect(rename(after, one.namespace)).toEqual(
      rename(await dump(other.namespace), other.namespace),
    );
    // The records not rewritten are exactly as they were, entries included.
    for (const id of ['r4', 'r5', 'holder', 'gone']) {
      const of = (lines: string[]) =>
        lines.filter(
          (l) => l.includes(`r:${id} `) || l.endsWith(` ${id}`) || l.endsWith(`\0${id}`),
        );
      expect(of(after)).toEqual(of(before));
    }
    expect(await one.driver.countByVersion()).toEqual({ '1.0': 4, '1.1': 5 });
  });

  it('rewrites a batch larger than one script takes, in order', async () => {
    const namespace = freshNamespace('redis_rewrite_many');
    const driver = await driverOf(namespace, gadgetV11);
    const n = 600;
    const records: StoredRecord[] = [];
    for (let i = 0; i < n; i++) {
      records.push(
        rec(`r${String(i).padStart(4, '0')}`, {
          label: `l${i}`,
          shelf: null,
          color: null,
          weight: 0,
        }),
      );
    }
    await Promise.all(records.map((x) => driver.insert(x)));
    const rewrites = records.map((x, i) => ({
      record: upgraded(x, { color: i % 2 ? 'red' : 'blue', weight: i }),
      expectedRevision: 1,
    }));
    // The last record wants the first one's new label: the first, in an earlier script, keeps it.
    rewrites.push({ record: upgraded(records[0]!, { label: 'l0' }), expectedRevision: 1 });
    rewrites[n - 1] = {
      record: upgraded(records[n - 1]!, { label: 'l1', color: 'red' }),
      expectedRevision: 1,
    };
    const done = await driver.rewriteMany(rewrites);
    expect(done).toHaveLength(n - 1);
    expect(done).not.toContain(records[n - 1]!.id);
    expect(await driver.countByVersion()).toEqual({ '1.0': 1, '1.1': n - 1 });
    const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;
    const heavy = await driver.list(everything, {
      where: [{ field: 'weight', op: 'gte', value: n - 3 }],
      orderBy: { field: 'weight', direction: 'asc' },
      after: null,
      limit: 10,
    });
    expect(heavy.map((x) => x.id)).toEqual([records[n - 3]!.id, records[n - 2]!.id]);
  });
});
