/**
 * The per-version id index on a real Redis server: a sorted set per object version that
 * scanVersion reads from its cursor in id (code point) order, and stores written before it
 * (a plain set per version) read, counted, written and converted in batches.
 */
import { compareCodePoints } from '@polystore/core/adapter';
import { admin, at, gadgetV10, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { ResourceLayout } from '../src/layout.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import type { RedisResourceDriver } from '../src/redis-resource-driver.js';
import { HOSTILE_STRINGS, redisUrl, useRawRedis } from './helpers.js';

/** Every record, live and soft-deleted, of every project. */
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

async function open() {
  const namespace = freshNamespace('redis_versions');
  const backend = await openRedisBackend(redisUrl(), {
    resources: [gadgetV10],
    adapter: { namespace },
  });
  opened.push(backend);
  return {
    backend,
    driver: backend.driver(gadgetV10),
    layout: new ResourceLayout(gadgetV10, backend.keyspace),
  };
}

/** Ids in random order: hostile strings, astral and BMP-top characters, numbers of every width. */
function ids(n: number): string[] {
  const out = new Set<string>(HOSTILE_STRINGS.filter((s) => s.length > 0));
  out.add('b\uffff').add('b😀').add('b').add('b\u0001x');
  for (let i = 0; out.size < n; i++) out.add(`i${(i * 7919) % 100003}`);
  return [...out].sort(() => Math.random() - 0.5);
}

/** Every page of a version, `limit` records each. */
async function pages(driver: RedisResourceDriver, version: string, limit: number) {
  const out: string[][] = [];
  let after: string | undefined;
  do {
    const page = await driver.scanVersion(version, after, limit);
    out.push(page.records.map((r) => r.id));
    after = page.after;
  } while (after !== undefined);
  return out;
}

/** Lays a version out as a store written before the sorted sets: its ids in a plain set. */
async function toOldLayout(layout: ResourceLayout, version: string): Promise<void> {
  const members = await raw().zrange(layout.versionKey(version), '0', '-1');
  await raw().del(layout.versionKey(version));
  if (members.length > 0) await raw().sadd(layout.legacyVersionKey(version), ...members);
}

describe('the per-version sorted sets', () => {
  it('page a version from any cursor in code point order, every project, live and soft-deleted', async () => {
    const { driver, layout } = await open();
    const all = ids(1500);
    for (let i = 0; i < all.length; i += 250) {
      await Promise.all(
        all.slice(i, i + 250).map((id, k) =>
          driver.insert(
            rec(
              id,
              { label: `l${i + k}` },
              {
                projectId: `p${k % 4}`,
                ...((i + k) % 5 === 0 ? { deletedAt: at, revision: 2 } : {}),
                ...((i + k) % 3 === 0 ? { objectVersion: '1.1' } : {}),
              },
            ),
          ),
        ),
      );
    }
    expect(await raw().type(layout.versionKey('1.0'))).toBe('zset');
    const older = all.filter((_, i) => i % 3 !== 0).sort(compareCodePoints);
    const newer = all.filter((_, i) => i % 3 === 0).sort(compareCodePoints);
    expect(await driver.countByVersion()).toEqual({ '1.0': older.length, '1.1': newer.length });
    const got = await pages(driver, '1.0', 97);
    expect(got.flat()).toEqual(older);
    expect(got.slice(0, -1).every((p) => p.length === 97)).toBe(true);
    expect((await pages(driver, '1.1', 1000)).flat()).toEqual(newer);
    // From a cursor that is no stored id, and from the last.
    const cut = `${older[300]!}\u0000`;
    expect((await driver.scanVersion('1.0', cut, 5)).records.map((r) => r.id)).toEqual(
      older.slice(301, 306),
    );
    expect(await driver.scanVersion('1.0', older.at(-1), 5)).toEqual({
      records: [],
      after: undefined,
    });
    // A record rewritten to 1.1 moves between the sets.
    const moved = older[10]!;
    const stored = (await driver.get(everything, moved))!;
    await driver.rewrite({ ...stored, objectVersion: '1.1' }, stored.revision);
    expect(await driver.countByVersion()).toEqual({
      '1.0': older.length - 1,
      '1.1': newer.length + 1,
    });
    expect((await pages(driver, '1.1', 400)).flat()).toEqual(
      [...newer, moved].sort(compareCodePoints),
    );
  });

  it('read, count and convert a store written with plain version sets, writes going on meanwhile', async () => {
    const { backend, driver, layout } = await open();
    const all = ids(700).sort(compareCodePoints);
    await Promise.all(
      all.map((id, i) =>
        driver.insert(rec(id, { label: `l${i}` }, i % 2 ? {} : { objectVersion: '1.1' })),
      ),
    );
    await toOldLayout(layout, '1.0');
    await toOldLayout(layout, '1.1');
    const v10 = all.filter((_, i) => i % 2 === 1);
    const v11 = all.filter((_, i) => i % 2 === 0);
    expect(await raw().exists(layout.versionKey('1.0'))).toBe(0);
    expect(await driver.countByVersion()).toEqual({ '1.0': v10.length, '1.1': v11.length });

    // Writes on the old layout: a rewrite to 1.1, a hard delete, an insert.
    const moved = v10[0]!;
    const stored = (await driver.get(everything, moved))!;
    await driver.rewrite({ ...stored, objectVersion: '1.1' }, stored.revision);
    await driver.delete(admin, v10[1]!, {
      soft: false,
      at,
      expectedRevision: undefined,
      expected: undefined,
    });
    await driver.insert(rec('zz-new', { label: 'new' }));
    const want10 = [...v10.slice(2), 'zz-new'].sort(compareCodePoints);
    const want11 = [...v11, moved].sort(compareCodePoints);
    expect(await driver.countByVersion()).toEqual({ '1.0': want10.length, '1.1': want11.length });

    // A conversion cut short (a few ids moved) leaves counts and pages right.
    const left = await backend.connection.script('convertVersion', layout.legacyVersionKey('1.0'), [
      layout.base,
      JSON.stringify('1.0'),
      25,
    ]);
    expect(Number(left)).toBe(want10.length - 1 - 25);
    expect(await driver.countByVersion()).toEqual({ '1.0': want10.length, '1.1': want11.length });

    expect((await pages(driver, '1.0', 64)).flat()).toEqual(want10);
    expect(await raw().exists(layout.legacyVersionKey('1.0'))).toBe(0);
    expect(await raw().zcard(layout.versionKey('1.0'))).toBe(want10.length);
    expect((await pages(driver, '1.1', 1000)).flat()).toEqual(want11);
    expect(await raw().exists(layout.legacyVersionKey('1.1'))).toBe(0);

    // A version whose last id leaves the old set is no longer listed.
    await toOldLayout(layout, '1.1');
    for (const id of want11) {
      await driver.delete(admin, id, {
        soft: false,
        at,
        expectedRevision: undefined,
        expected: undefined,
      });
    }
    expect(await driver.countByVersion()).toEqual({ '1.0': want10.length });
    expect(await raw().smembers(layout.versionsKey)).toEqual([JSON.stringify('1.0')]);
  });
});
