/**
 * `expand` in bounded steps on a real Redis server (expand.lua): more records than one step
 * enters, writes of an older client between and during the steps, an expand cut short and
 * taken up again, and a clashing unique constraint refused with every id named and nothing
 * left applied.
 */
import {
  elementsBetween,
  elementsOf,
  type StoredRecord,
  UniqueViolationError,
} from '@polystore/core/adapter';
import { admin, at, rec } from '@polystore/testing/evolution-fixtures';
import { describe, expect, it } from 'vitest';
import { encodeElements } from '../src/applied-elements.js';
import { ResourceLayout } from '../src/layout.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { redisUrl, useRawRedis } from './helpers.js';
import {
  gadgetId,
  gadgetV10,
  gadgetV11,
  plainWrites,
  records,
  STEP,
  seedGadgets,
} from './steps-fixtures.js';

const up = elementsBetween(gadgetV11, '1.0', '1.1').expand;

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

const id = gadgetId;

/** A namespace with `n` records a 1.0 client wrote (every 7th soft-deleted, three projects). */
async function seeded(n: number, label: (i: number) => string = (i) => `l${i}`) {
  const { namespace, backend } = await seedGadgets(opened, 'redis_expand', gadgetV10, n, (j) => ({
    label: label(j),
    shelf: j % 3 === 0 ? null : `s${j % 5}`,
  }));
  const driver = backend.driver(gadgetV10);
  const layout = new ResourceLayout(gadgetV11, backend.keyspace);
  return {
    namespace,
    backend,
    driver,
    layout,
    /** One step of expand.lua, entering at most `batch` records. */
    step: (batch: number, elements = up) =>
      backend.connection.script('expand', layout.schemaKey, [
        layout.base,
        '0',
        encodeElements(elementsOf(gadgetV11)),
        encodeElements(elements),
        batch,
      ]) as Promise<string[]>,
    /** The schema key's JSON. */
    schema: async () => JSON.parse((await raw().get(layout.schemaKey)) ?? '{}'),
  };
}

/** The entries of the new elements (shelf, color, weight, label unique) as `key member` lines. */
async function entries(layout: ResourceLayout): Promise<string[]> {
  const lines: string[] = [];
  for (const pattern of ['q:shelf:*', 'q:color:*', 'z:weight:*', 'u:label:*']) {
    let cursor = '0';
    do {
      const [next, keys] = await raw().scan(
        cursor,
        'MATCH',
        `${layout.base}${pattern}`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of keys) {
        const name = key.slice(layout.base.length);
        const type = await raw().type(key);
        const members =
          type === 'string'
            ? [(await raw().get(key)) ?? '']
            : type === 'zset'
              ? (await raw().zrange(key, '0', '-1')).map((m) =>
                  // An equality index's member is '<id>\0<id>'; a sort index's '<token>\0<id>'.
                  name.startsWith('q:') ? m.slice(0, (m.length - 1) / 2) : m,
                )
              : await raw().smembers(key);
        for (const m of members) lines.push(`${name} ${m}`);
      }
    } while (cursor !== '0');
  }
  return lines.sort();
}

/** The entry lines the records call for, with the 1.1 elements applied. */
function expectedEntries(layout: ResourceLayout, all: readonly StoredRecord[]): string[] {
  const lines: string[] = [];
  for (const r of all) {
    const lv = r.deletedAt === null ? 'l' : 'd';
    const parts = [`${lv}:*`, `${lv}:${JSON.stringify(r.projectId)}`];
    for (const part of parts) {
      for (const field of ['shelf', 'color']) {
        lines.push(`q:${field}:${part}:${JSON.stringify(r[field] ?? null)} ${r.id}`);
      }
      if (typeof r.weight === 'number') {
        lines.push(`z:weight:${part} ${layout.sortToken('weight', r.weight)}\u0000${r.id}`);
      }
    }
    if (r.deletedAt === null) lines.push(`u:label:${JSON.stringify(r.label)} ${r.id}`);
  }
  return lines.sort();
}

describe('expand in steps', () => {
  it('enters more records than one step takes, no step more than its batch, and applies the elements at the end', async () => {
    const { backend, layout, step, schema } = await seeded(STEP * 2 + 37);
    expect(await step(STEP)).toEqual(['more']);
    // The first step only records the expand in progress: not applied yet.
    expect((await backend.appliedElements(gadgetV11)).uniques).toEqual([]);
    expect((await schema()).expand).toMatchObject({ s: 'build', part: 'l' });
    expect(await step(STEP)).toEqual(['more']);
    // One step entered the first STEP ids of the live partition, no more.
    const liveNull = await raw().zcard(`${layout.base}q:color:l:*:null`);
    expect(liveNull).toBe(STEP);

    await backend.expand(gadgetV11, up);
    const applied = await backend.appliedElements(gadgetV11);
    expect(applied.uniques).toEqual([['label']]);
    expect(applied.indexes).toEqual(expect.arrayContaining([...up.indexes]));
    expect((await schema()).expand).toBeUndefined();
    expect(await raw().exists(`${layout.base}expanding:clash`)).toBe(0);
    const all = await records(backend);
    expect(all).toHaveLength(STEP * 2 + 37);
    expect(await entries(layout)).toEqual(expectedEntries(layout, all));
    // Idempotent: again changes nothing.
    const before = await entries(layout);
    await backend.expand(gadgetV11, up);
    expect(await entries(layout)).toEqual(before);
  });

  it('keeps the writes of an older client made between its steps, ahead of and behind its cursor', async () => {
    const { backend, driver, layout, step } = await seeded(300);
    const { update, remove } = plainWrites(driver, '1.0');
    expect(await step(40)).toEqual(['more']);
    let made = 0;
    for (let round = 0; ; round++) {
      // Behind the cursor, at it, and far ahead of it.
      const near = Math.min(round * 40, 299);
      for (const i of [Math.max(0, near - 5), near, Math.min(299, near + 150)]) {
        if (i % 7 === 6) continue;
        await update(i, { label: `r${round}-${i}`, shelf: `t${round}` });
      }
      if (round % 2 === 0) await remove((round * 13 + 1) % 300, true);
      if (round % 3 === 0) await remove((round * 29 + 2) % 300, false);
      await driver.insert(rec(`n${made++}`, { label: `new${round}`, shelf: null }));
      const reply = await step(40);
      if (reply[0] === 'ok') break;
      expect(reply).toEqual(['more']);
    }
    expect((await backend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    const all = await records(backend);
    expect(await entries(layout)).toEqual(expectedEntries(layout, all));
  });

  it('keeps the writes that race a whole expand', async () => {
    const { backend, driver, layout } = await seeded(STEP * 3);
    let done = false;
    const writes: Promise<unknown>[] = [];
    const writer = async (w: number) => {
      for (let k = 0; !done; k++) {
        const i = (k * 97 + w * 31) % (STEP * 3);
        if (i % 7 === 6) continue;
        await driver.update(admin, id(i), {
          set: { label: `w${w}-${k}`, shelf: `x${k % 4}` },
          updatedAt: at,
          objectVersion: '1.0',
          expectedRevision: undefined,
          expected: undefined,
        });
        if (k % 10 === 0)
          await driver.insert(rec(`w${w}-${k}`, { label: `c${w}-${k}`, shelf: null }));
        if (k % 25 === 0)
          await driver.delete(admin, id((i + 1) % (STEP * 3)), {
            soft: k % 50 === 0,
            at,
            expectedRevision: undefined,
            expected: undefined,
          });
      }
    };
    for (let w = 0; w < 3; w++) writes.push(writer(w));
    await backend.expand(gadgetV11, up);
    done = true;
    await Promise.all(writes);
    const all = await records(backend);
    expect(await entries(layout)).toEqual(expectedEntries(layout, all));
  });

  it('goes on where an expand cut short stopped, from another client, and does not report it applied before', async () => {
    const { namespace, layout, step } = await seeded(STEP + 100);
    await step(STEP);
    await step(STEP);
    // The tool died here. Another one, opened afresh, sees nothing applied and expands.
    const other = await openRedisBackend(redisUrl(), {
      resources: [gadgetV10],
      adapter: { namespace },
    });
    opened.push(other);
    expect((await other.appliedElements(gadgetV11)).uniques).toEqual([]);
    await other.expand(gadgetV11, up);
    expect((await other.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await entries(layout)).toEqual(expectedEntries(layout, await records(other)));
  });

  it('finishes an expand in progress for another caller that asks for fewer elements, then its own', async () => {
    const { backend, layout, step } = await seeded(120);
    await step(50);
    const colorOnly = {
      ...up,
      indexes: up.indexes.filter((i) => i.field === 'color'),
      uniques: [],
    };
    await backend.expand(gadgetV11, colorOnly);
    // The first expand (every element) completed on the way.
    expect((await backend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await entries(layout)).toEqual(expectedEntries(layout, await records(backend)));
  });

  it('refuses a unique constraint live records violate across steps, naming every id, and leaves nothing applied', async () => {
    const clashing = new Map([
      [10, 'dup'],
      [700, 'dup'],
      [1100, 'dup'],
      [1150, 'twin'],
      [520, 'twin'],
      [13, 'dead'], // soft-deleted (13 % 7 === 6): no clash
      [14, 'dead'],
    ]);
    const { backend, driver, layout, schema } = await seeded(
      1200,
      (i) => clashing.get(i) ?? `l${i}`,
    );
    const before = await backend.appliedElements(gadgetV10);
    const keys = (await raw().keys(`${layout.base}*`)).sort();
    const err = await backend.expand(gadgetV11, up).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toMatchObject({
      fields: ['label'],
      ids: [id(10), id(520), id(700), id(1100), id(1150)],
    });
    expect(await backend.appliedElements(gadgetV10)).toEqual(before);
    expect((await schema()).expand).toBeUndefined();
    expect(await entries(layout)).toEqual([]);
    expect((await raw().keys(`${layout.base}*`)).sort()).toEqual(keys);
    // Writes no longer keep the elements of the refused call.
    await driver.insert(rec('after', { label: 'dup', color: 'red', shelf: 's' }));
    expect(await entries(layout)).toEqual([]);

    for (const i of [700, 1100, 1150]) {
      await driver.delete(admin, id(i), {
        soft: true,
        at,
        expectedRevision: undefined,
        expected: undefined,
      });
    }
    await driver.delete(admin, 'after', {
      soft: false,
      at,
      expectedRevision: undefined,
      expected: undefined,
    });
    await backend.expand(gadgetV11, up);
    expect((await backend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await entries(layout)).toEqual(expectedEntries(layout, await records(backend)));
  });
});
