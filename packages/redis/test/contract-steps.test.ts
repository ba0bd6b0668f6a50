/**
 * `contract` in bounded steps on a real Redis server (contract.lua): more records than one
 * step walks, a contract cut short and finished by another client, writes of the code that
 * no longer defines the dropped elements between and during the steps, and an expand that
 * finds a contract cut short.
 */
import {
  elementsBetween,
  elementsMinus,
  elementsOf,
  isEmptyElements,
  type StoredRecord,
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

/** What contract drops: color and weight (values, indexes), shelf's index, label's unique. */
const down = elementsBetween(gadgetV11, '1.1', '1.0').contract;
const up = elementsBetween(gadgetV11, '1.0', '1.1').expand;
/** Key name patterns (after the key base) of the dropped indexes and constraint. */
const DROPPED_KEYS = [
  'q:shelf:*',
  'q:color:*',
  'e:shelf:*',
  'e:color:*',
  'z:weight:*',
  'u:label:*',
];
/** Hash fields a dropped field leaves: its value, sort token and equality mark. */
const DROPPED_FIELDS = ['color', 'weight', '~s:weight', '~e:color', '~s:color', '~e:weight'];

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

const id = gadgetId;

/** A 1.1 store with `n` records a 1.1 client wrote (every 7th soft-deleted, three projects). */
async function seeded(n: number) {
  const { namespace, backend } = await seedGadgets(opened, 'redis_contract', gadgetV11, n, (j) => ({
    label: `l${j}`,
    shelf: j % 3 === 0 ? null : `s${j % 5}`,
    color: j % 2 === 0 ? 'red' : null,
    weight: j,
  }));
  // The fleet now runs 1.0 code (no member defines what contract drops): its writes.
  const older = await openRedisBackend(redisUrl(), {
    resources: [gadgetV10],
    adapter: { namespace },
  });
  opened.push(older);
  const layout = new ResourceLayout(gadgetV11, backend.keyspace);
  return {
    namespace,
    backend,
    /** The backend of the 1.0 code (its driver reads the records). */
    older,
    driver: older.driver(gadgetV10),
    layout,
    /** One step of contract.lua, walking at most `batch` records. */
    step: (batch: number, elements = down) =>
      backend.connection.script('contract', layout.schemaKey, [
        layout.base,
        encodeElements(elementsOf(gadgetV11)),
        encodeElements(elements),
        batch,
      ]) as Promise<string[]>,
    /** The schema key's JSON. */
    schema: async () => JSON.parse((await raw().get(layout.schemaKey)) ?? '{}'),
  };
}

/** Every key under the key base matching one of `patterns`. */
async function keysOf(layout: ResourceLayout, patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pattern of patterns) {
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
      out.push(...keys.map((k) => k.slice(layout.base.length)));
    } while (cursor !== '0');
  }
  return out.sort();
}

/** The ids of the record hashes that still hold one of the dropped fields. */
async function withDroppedFields(layout: ResourceLayout): Promise<string[]> {
  const out: string[] = [];
  for (const key of await keysOf(layout, ['r:*'])) {
    const held = await raw().hmget(`${layout.base}${key}`, ...DROPPED_FIELDS);
    if (held.some((v) => v !== null)) out.push(key.slice(2));
  }
  return out.sort();
}

/** The label index's entries (kept by contract) as `key member` lines. */
async function labelEntries(layout: ResourceLayout): Promise<string[]> {
  const lines: string[] = [];
  for (const key of await keysOf(layout, ['q:label:*'])) {
    for (const m of await raw().zrange(`${layout.base}${key}`, '0', '-1')) {
      lines.push(`${key} ${m.slice(0, (m.length - 1) / 2)}`);
    }
  }
  return lines.sort();
}

function expectedLabelEntries(all: readonly StoredRecord[]): string[] {
  const lines: string[] = [];
  for (const r of all) {
    const lv = r.deletedAt === null ? 'l' : 'd';
    for (const part of [`${lv}:*`, `${lv}:${JSON.stringify(r.projectId)}`]) {
      lines.push(`q:label:${part}:${JSON.stringify(r.label)} ${r.id}`);
    }
  }
  return lines.sort();
}

/** Whether the store reports, as migrate reads it, elements beyond 1.0's: a contract to do. */
async function contractLeft(backend: RedisBackend): Promise<boolean> {
  const applied = await backend.appliedElements(gadgetV10);
  return !isEmptyElements(elementsMinus(applied, elementsOf(gadgetV10)));
}

/** The store after a finished contract: nothing of the dropped elements anywhere. */
async function expectContracted(backend: RedisBackend, layout: ResourceLayout) {
  expect(await contractLeft(backend)).toBe(false);
  expect(JSON.parse((await raw().get(layout.schemaKey)) ?? '{}').contract).toBeUndefined();
  expect(await keysOf(layout, DROPPED_KEYS)).toEqual([]);
  expect(await withDroppedFields(layout)).toEqual([]);
  const all = await records(backend);
  expect(await labelEntries(layout)).toEqual(expectedLabelEntries(all));
  return all;
}

describe('contract in steps', () => {
  it('strips more records than one step walks, no step more than its batch, and reports the elements applied until the end', async () => {
    const n = STEP * 2 + 37;
    const { backend, older, layout, step, schema } = await seeded(n);
    const revisions = new Map((await records(older)).map((r) => [r.id, r.revision]));
    expect(await step(STEP)).toEqual(['more']);
    // The first step records the contract and takes its elements from those writes keep,
    // but the store still reports them applied, so a contract cut short is called again.
    expect(await schema()).toMatchObject({ contract: { s: 'records', part: 'l' }, uniques: {} });
    expect((await backend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
    expect(await withDroppedFields(layout)).toHaveLength(n);
    expect(await step(STEP)).toEqual(['more']);
    // One step stripped the first STEP ids of the live partition, no more.
    expect(await withDroppedFields(layout)).toHaveLength(n - STEP);
    expect(await contractLeft(backend)).toBe(true);

    await backend.contract(gadgetV11, down);
    const all = await expectContracted(older, layout);
    expect(all).toHaveLength(n);
    expect(all.filter((r) => r.revision !== revisions.get(r.id))).toEqual([]);
    expect(all.find((r) => r.id === id(4))).toEqual(
      rec(id(4), { label: 'l4', shelf: 's4' }, { projectId: 'p1', objectVersion: '1.1' }),
    );
    // Idempotent: again changes nothing.
    const keys = await keysOf(layout, ['*']);
    await backend.contract(gadgetV11, down);
    expect(await keysOf(layout, ['*'])).toEqual(keys);
  });

  it('goes on where a contract cut short stopped, from another client, which sees it not done', async () => {
    const { namespace, layout, step } = await seeded(STEP + 120);
    for (let k = 0; k < 3; k++) expect(await step(STEP)).toEqual(['more']);
    // The tool died here. Another one, opened afresh, reads what migrate reads and contracts.
    const other = await openRedisBackend(redisUrl(), {
      resources: [gadgetV10],
      adapter: { namespace },
    });
    opened.push(other);
    expect(await contractLeft(other)).toBe(true);
    const extra = elementsMinus(await other.appliedElements(gadgetV11), elementsOf(gadgetV10));
    await other.contract(gadgetV11, extra);
    await expectContracted(other, layout);
  });

  it('unlinks the keys in steps of a few SCAN calls', async () => {
    const { backend, older, layout, step } = await seeded(STEP * 3);
    const noFields = { ...down, fields: [] };
    expect(await step(STEP, noFields)).toEqual(['more']);
    expect(await step(STEP, noFields)).toEqual(['more']);
    // One step looked at no more than 4 x 500 keys: not all 1286 unique keys are gone yet.
    expect((await keysOf(layout, ['u:label:*'])).length).toBeGreaterThan(0);
    await backend.contract(gadgetV11, down);
    await expectContracted(older, layout);
  });

  it('keeps the writes of 1.0 code made between its steps, and no longer enforces the dropped unique', async () => {
    const { older, driver, layout, step } = await seeded(300);
    const { update, remove } = plainWrites(driver, '1.1');
    expect(await step(40)).toEqual(['more']);
    const wrote = new Map<string, string>();
    let made = 0;
    for (let round = 0; ; round++) {
      const near = Math.min(round * 40, 299);
      for (const i of [Math.max(0, near - 5), near, Math.min(299, near + 150)]) {
        if (i % 7 === 6) continue;
        // Label values the dropped unique constraint would have refused.
        const label = `dup${round % 2}`;
        const reply = await update(i, { label, shelf: `t${round}` });
        if (reply.status === 'ok') wrote.set(id(i), label);
      }
      if (round % 2 === 0) await remove((round * 13 + 1) % 300, true);
      if (round % 3 === 0) await remove((round * 29 + 2) % 300, false);
      await driver.insert(
        rec(`n${made++}`, { label: 'dup0', shelf: null }, { objectVersion: '1.1' }),
      );
      const reply = await step(40);
      if (reply[0] === 'ok') break;
      expect(reply).toEqual(['more']);
    }
    expect(made).toBeGreaterThan(8);
    const all = await expectContracted(older, layout);
    for (const [rid, label] of wrote) {
      const r = all.find((x) => x.id === rid);
      if (r) expect(r.label).toBe(label);
    }
    expect(all.filter((r) => r.id.startsWith('n'))).toHaveLength(made);
  });

  it('keeps the writes that race a whole contract', async () => {
    const { backend, older, driver, layout } = await seeded(STEP * 3);
    let done = false;
    const writer = async (w: number) => {
      let k = 0;
      for (; !done; k++) {
        const i = (k * 97 + w * 31) % (STEP * 3);
        if (i % 7 === 6) continue;
        await driver.update(admin, id(i), {
          set: { label: `w${w}-${k}`, shelf: `x${k % 4}` },
          updatedAt: at,
          objectVersion: '1.1',
          expectedRevision: undefined,
          expected: undefined,
        });
        if (k % 10 === 0)
          await driver.insert(
            rec(`w${w}-${k}`, { label: `c${w}-${k}`, shelf: null }, { objectVersion: '1.1' }),
          );
        if (k % 25 === 0)
          await driver.delete(admin, id((i + 1) % (STEP * 3)), {
            soft: k % 50 === 0,
            at,
            expectedRevision: undefined,
            expected: undefined,
          });
      }
      return k;
    };
    const writes = [0, 1, 2].map(writer);
    await backend.contract(gadgetV11, down);
    done = true;
    const counts = await Promise.all(writes);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await expectContracted(older, layout);
  });

  it('an expand that finds a contract cut short finishes it first, then adds its elements', async () => {
    const { backend, older, layout, step } = await seeded(STEP + 50);
    expect(await step(STEP)).toEqual(['more']);
    expect(await step(STEP)).toEqual(['more']);
    await backend.expand(gadgetV11, up);
    expect((await raw().get(layout.schemaKey)) ?? '').not.toContain('"contract"');
    expect(await backend.appliedElements(gadgetV11)).toMatchObject({ uniques: [['label']] });
    // The contract's values are gone (color and weight come back only by a migrate), and
    // the expand entered every record again: one label key per live record.
    const all = await records(older);
    expect(all.filter((r) => 'color' in r || 'weight' in r)).toEqual([]);
    const live = all.filter((r) => r.deletedAt === null);
    expect(await keysOf(layout, ['u:label:*'])).toHaveLength(live.length);
  });
});
