import {
  createContext,
  defineResource,
  f,
  InvalidQueryError,
  openStores,
  type Stores,
} from '@polystore/core';
import {
  backfillResource,
  type EvolvableBackend,
  expandResource,
  isEvolvable,
  openBackend,
  schemaStateOf,
} from '@polystore/core/adapter';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../src/memory-adapter.js';

const base = { name: 'widget', plural: 'widgets', scope: 'project', softDelete: true } as const;
const widgetV10 = defineResource({
  ...base,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string().indexed() },
});
const widgetV11 = defineResource({
  ...base,
  version: '1.1',
  history: { '1.0': 'initial version', '1.1': 'added color and rank' },
  fields: {
    label: f.string().indexed(),
    color: f.string().indexed().default('blue').addedIn('1.1'),
    rank: f.int().sortable().default(0).addedIn('1.1'),
  },
});

const ctx = createContext({ projectId: 'p1' });
const adapters = [memoryAdapter];
let n = 0;
const freshUrl = () => `memory:?name=write-only-${process.pid}-${n++}`;

async function evolvable(url: string, resource = widgetV11): Promise<EvolvableBackend> {
  const { backend } = await openBackend(url, {
    adapters,
    resources: [resource],
    checkSchema: false,
  });
  if (!isEvolvable(backend)) throw new Error('memory has the evolution SPI');
  return backend;
}

async function v10Store(url: string, labels: string[]): Promise<Stores> {
  const stores = await openStores(url, { adapters, resources: [widgetV10] });
  for (const label of labels) await stores.store(widgetV10).create(ctx, { label });
  return stores;
}

describe('write-only fields: queries on a field older records lack wait for the backfill', () => {
  it('expand over existing records records the new fields write-only, and queries on them are refused', async () => {
    const url = freshUrl();
    await v10Store(url, ['a', 'b', 'c']);
    const backend = await evolvable(url);
    const { added } = await expandResource(backend, widgetV11);
    expect(added.fields.map((x) => x.name)).toEqual(['color', 'rank']);
    expect(added.pending).toEqual(['color', 'rank']);
    expect((await schemaStateOf(backend, widgetV11)).writeOnly).toEqual(['color', 'rank']);

    const v11 = (await openStores(url, { adapters, resources: [widgetV11] })).store(widgetV11);
    // get fills the default, so a query could not agree with it: refused, naming the field.
    const [first] = (await v11.list(ctx)).items;
    expect(first).toMatchObject({ color: 'blue', rank: 0, objectVersion: '1.0' });
    await expect(v11.count(ctx, { color: 'blue' })).rejects.toThrow(InvalidQueryError);
    await expect(v11.count(ctx, { color: 'blue' })).rejects.toThrow(/color is write-only/);
    await expect(v11.list(ctx, { orderBy: { field: 'rank' } })).rejects.toThrow(
      /rank is write-only/,
    );
    await expect(v11.list(ctx, { where: { label: 'a', rank: 0 } })).rejects.toThrow(/rank/);
    // Queries on public fields and writes of the new ones work meanwhile.
    expect(await v11.count(ctx, { label: 'a' })).toBe(1);
    await v11.create(ctx, { label: 'd', color: 'red', rank: 5 });
    expect(await v11.count(ctx)).toBe(4);
  });

  it('a backfill rewrites the older records at the code version and then publishes the fields', async () => {
    const url = freshUrl();
    await v10Store(url, ['a', 'b', 'c']);
    const backend = await evolvable(url);
    await expandResource(backend, widgetV11);
    const before = await openStores(url, { adapters, resources: [widgetV11] });
    await before.store(widgetV11).create(ctx, { label: 'd', color: 'red', rank: 5 });

    const result = await backfillResource(backend, widgetV11, { pageSize: 2 });
    expect(result).toEqual({ rewritten: 3, remaining: {}, published: ['color', 'rank'] });
    expect((await schemaStateOf(backend, widgetV11)).writeOnly).toEqual([]);

    const after = (await openStores(url, { adapters, resources: [widgetV11] })).store(widgetV11);
    expect(await after.count(ctx, { color: 'blue' })).toBe(3);
    expect(await after.count(ctx, { color: 'red' })).toBe(1);
    const ranked = await after.list(ctx, { orderBy: { field: 'rank', direction: 'desc' } });
    // Ties in rank go by id, in the same direction.
    expect(ranked.items.map((r) => r.label)).toEqual(['d', 'c', 'b', 'a']);
    expect(ranked.items.every((r) => r.objectVersion === '1.1')).toBe(true);
    // A store opened before the publish keeps refusing until it is reopened (never wrong).
    await expect(before.store(widgetV11).count(ctx, { color: 'red' })).rejects.toThrow(
      InvalidQueryError,
    );
    // Idempotent: nothing left to do.
    expect(await backfillResource(backend, widgetV11)).toEqual({
      rewritten: 0,
      remaining: {},
      published: [],
    });
  });

  it('expand of a resource with no records makes its new fields public at once', async () => {
    const url = freshUrl();
    await v10Store(url, []);
    const backend = await evolvable(url);
    const { added } = await expandResource(backend, widgetV11);
    expect(added.pending).toBeUndefined();
    const v11 = (await openStores(url, { adapters, resources: [widgetV11] })).store(widgetV11);
    expect(await v11.count(ctx, { color: 'blue' })).toBe(0);
  });

  it('older code keeps working beside write-only fields, and a backfill after it writes catches its records too', async () => {
    const url = freshUrl();
    const old = await v10Store(url, ['a']);
    const backend = await evolvable(url);
    await expandResource(backend, widgetV11);
    await old.store(widgetV10).create(ctx, { label: 'b' });
    expect(await old.store(widgetV10).count(ctx, { label: 'b' })).toBe(1);
    const result = await backfillResource(backend, widgetV11);
    expect(result.rewritten).toBe(2);
    expect(result.published).toEqual(['color', 'rank']);
  });

  it('a dry run adds nothing', async () => {
    const url = freshUrl();
    await v10Store(url, ['a']);
    const backend = await evolvable(url);
    const { added } = await expandResource(backend, widgetV11, { dryRun: true });
    expect(added.pending).toEqual(['color', 'rank']);
    expect((await schemaStateOf(backend, widgetV11)).missing.fields.map((x) => x.name)).toEqual([
      'color',
      'rank',
    ]);
  });
});
