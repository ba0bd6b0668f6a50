/**
 * Write-only fields (issue 14 item 6), one spec over every backend: after an expand over
 * records that lack the new fields, the fields are recorded write-only (pending) in the
 * store, queries on them are refused until a backfill rewrites the older records and
 * publishes them. The marks live in the store, so every client reads the same ones.
 * Expand, backfill and publish go through the evolution SPI as `polystore schema` does.
 * What only one adapter does stays in that adapter's own write-only test.
 * Run: `npx vitest run --project cross-package test/write-only.test.ts`.
 */
import {
  type AnyResource,
  createContext,
  defineResource,
  f,
  InvalidQueryError,
  type Stores,
} from '@polystore/core';
import {
  backfillResource,
  type EvolvableBackend,
  elementsOf,
  expandResource,
  isEvolvable,
  NO_ELEMENTS,
  openBackend,
  schemaStateOf,
  withPending,
} from '@polystore/core/adapter';
import {
  freshNamespace,
  freshStoreUrl,
  STORE_BACKENDS,
  type StoreBackend,
} from '@polystore/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';

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

/** Timeouts with room for a loaded machine: the six backends run side by side. */
const ADAPTER_OPTIONS: Partial<Record<StoreBackend, Record<string, unknown>>> = {
  postgres: { connectTimeoutMs: 15_000, statementTimeoutMs: 20_000, failFastMs: 20_000 },
  redis: { commandTimeoutMs: 15_000 },
  zookeeper: { requestTimeoutMs: 15_000, failFastMs: 20_000 },
  mongo: { failFastMs: 20_000 },
};

/** Opens stores and evolvable backends of one backend; closes them after each test. */
function useBackend(backend: StoreBackend) {
  const open: Stores[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const adapter = ADAPTER_OPTIONS[backend];
  const openOn = async (url: string, resource: AnyResource, checkSchema: boolean) => {
    const o = await openBackend(url, {
      resources: [resource],
      checkSchema,
      ...(adapter ? { adapter } : {}),
    });
    open.push(o.stores);
    return o;
  };
  return {
    /** A fresh store URL every open in the test shares. */
    freshUrl: async (): Promise<string> =>
      backend === 'memory'
        ? `memory:${freshNamespace('write_only')}`
        : freshStoreUrl(backend, 'write_only'),
    /** A backend opened as `polystore schema` opens it: without the schema check. */
    async evolvable(url: string, resource: AnyResource = widgetV11): Promise<EvolvableBackend> {
      const { backend: b } = await openOn(url, resource, false);
      if (!isEvolvable(b)) throw new Error(`${backend} has no evolution SPI`);
      return b;
    },
    /** The stores one release's code opens (schema checked). */
    async stores(url: string, resource: AnyResource = widgetV11): Promise<Stores> {
      return (await openOn(url, resource, true)).stores;
    },
  };
}

function writeOnlyCases(backend: StoreBackend): void {
  const { freshUrl, evolvable, stores } = useBackend(backend);

  async function v10Store(url: string, labels: string[]): Promise<Stores> {
    const s = await stores(url, widgetV10);
    for (const label of labels) await s.store(widgetV10).create(ctx, { label });
    return s;
  }

  it('expand over existing records records the new fields write-only, and queries on them are refused', async () => {
    const url = await freshUrl();
    await v10Store(url, ['a', 'b', 'c']);
    const b = await evolvable(url);
    const { added } = await expandResource(b, widgetV11);
    expect(added.fields.map((x) => x.name)).toEqual(['color', 'rank']);
    expect(added.pending).toEqual(['color', 'rank']);
    expect((await schemaStateOf(b, widgetV11)).writeOnly).toEqual(['color', 'rank']);

    const v11 = (await stores(url)).store(widgetV11);
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
    const url = await freshUrl();
    await v10Store(url, ['a', 'b', 'c']);
    const b = await evolvable(url);
    await expandResource(b, widgetV11);
    const before = await stores(url);
    await before.store(widgetV11).create(ctx, { label: 'd', color: 'red', rank: 5 });

    const result = await backfillResource(b, widgetV11, { pageSize: 2 });
    expect(result).toEqual({ rewritten: 3, remaining: {}, published: ['color', 'rank'] });
    expect((await schemaStateOf(b, widgetV11)).writeOnly).toEqual([]);

    const after = (await stores(url)).store(widgetV11);
    expect(await after.count(ctx, { color: 'blue' })).toBe(3);
    expect(await after.count(ctx, { color: 'red' })).toBe(1);
    const ranked = await after.list(ctx, { orderBy: { field: 'rank', direction: 'desc' } });
    // Ties in rank go by id, in the same direction.
    expect(ranked.items.map((r) => r.label)).toEqual(['d', 'c', 'b', 'a']);
    expect(ranked.items.every((r) => r.objectVersion === '1.1')).toBe(true);
    // Every query agrees with get: each record is found under the values get shows.
    for (const r of ranked.items) {
      const { items } = await after.list(ctx, { where: { color: r.color, rank: r.rank } });
      expect(items.map((x) => x.id)).toContain(r.id);
      expect(await after.get(ctx, r.id)).toEqual(r);
    }
    // A store opened before the publish keeps refusing until it is reopened (never wrong).
    await expect(before.store(widgetV11).count(ctx, { color: 'red' })).rejects.toThrow(
      InvalidQueryError,
    );
    // Idempotent: nothing left to do.
    expect(await backfillResource(b, widgetV11)).toEqual({
      rewritten: 0,
      remaining: {},
      published: [],
    });
  });

  it('expand of a resource with no records makes its new fields public at once', async () => {
    const url = await freshUrl();
    await v10Store(url, []);
    const b = await evolvable(url);
    const { added } = await expandResource(b, widgetV11);
    expect(added.pending).toBeUndefined();
    expect((await b.appliedElements(widgetV11)).pending).toBeUndefined();
    const v11 = (await stores(url)).store(widgetV11);
    expect(await v11.count(ctx, { color: 'blue' })).toBe(0);
  });

  it('a dry run adds nothing', async () => {
    const url = await freshUrl();
    await v10Store(url, ['a']);
    const b = await evolvable(url);
    const { added } = await expandResource(b, widgetV11, { dryRun: true });
    expect(added.pending).toEqual(['color', 'rank']);
    const state = await schemaStateOf(b, widgetV11);
    expect(state.missing.fields.map((x) => x.name)).toEqual(['color', 'rank']);
    expect(state.writeOnly).toEqual([]);
  });

  it('publish is idempotent and ignores fields that are public or not applied', async () => {
    const url = await freshUrl();
    await v10Store(url, ['a']);
    const b = await evolvable(url);
    await expandResource(b, widgetV11);
    await b.publish(widgetV11, ['rank', 'label', 'nosuch']);
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['color']);
    await b.publish(widgetV11, ['rank']);
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['color']);
    await b.publish(widgetV11, ['color']);
    await b.publish(widgetV11, ['color']);
    await b.publish(widgetV11, []);
    const applied = await b.appliedElements(widgetV11);
    expect(applied.pending).toBeUndefined();
    // Publishing changes no element.
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color', 'rank']);
    // A resource the store does not have: nothing to publish, no mark. (Whether the call
    // creates the resource differs: memory creates its table as an open would; SQL and
    // ZooKeeper create nothing, which their own write-only tests assert.)
    const other = defineResource({
      ...base,
      name: 'gizmo',
      plural: 'gizmos',
      version: '1.0',
      history: { '1.0': 'initial version' },
      fields: { label: f.string() },
    });
    await b.publish(other, ['label']);
    expect((await b.appliedElements(other)).pending).toBeUndefined();
  });

  it('contract of a write-only field drops its mark with it; expand adds both back', async () => {
    const url = await freshUrl();
    await v10Store(url, ['a']);
    const b = await evolvable(url);
    await expandResource(b, widgetV11);
    // The field with its index, as core derives a contract (SQLite cannot drop a column an
    // index still names).
    const all = elementsOf(widgetV11);
    await b.contract(widgetV11, {
      ...NO_ELEMENTS,
      fields: all.fields.filter((x) => x.name === 'color'),
      indexes: all.indexes.filter((i) => i.field === 'color'),
    });
    const applied = await b.appliedElements(widgetV11);
    expect(applied.fields.map((x) => x.name)).toEqual(['label', 'rank']);
    expect(applied.pending).toEqual(['rank']);
    // An expand that adds it back, over the same records, marks it again.
    await expandResource(b, widgetV11);
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['rank', 'color']);
  });

  it('expand records marks for fields applied before, and ignores marks of fields not applied', async () => {
    const url = await freshUrl();
    await v10Store(url, []);
    const b = await evolvable(url);
    await expandResource(b, widgetV11);
    expect((await b.appliedElements(widgetV11)).pending).toBeUndefined();
    await b.expand(widgetV11, withPending(NO_ELEMENTS, ['rank']));
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['rank']);
    await b.expand(widgetV11, withPending(NO_ELEMENTS, ['rank']));
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['rank']);
    await b.expand(widgetV11, withPending(NO_ELEMENTS, ['nosuch']));
    expect((await b.appliedElements(widgetV11)).pending).toEqual(['rank']);
    const v11 = (await stores(url)).store(widgetV11);
    await expect(v11.list(ctx, { orderBy: { field: 'rank' } })).rejects.toThrow(
      /rank is write-only/,
    );
    expect(await v11.count(ctx, { color: 'blue' })).toBe(0);
  });

  it('a refused unique expand records no mark', async () => {
    const unique = defineResource({
      ...base,
      version: '1.1',
      history: {
        '1.0': 'initial version',
        '1.1': { note: 'added color, label unique', addUnique: [['label']] },
      },
      fields: {
        label: f.string().indexed(),
        color: f.string().indexed().default('blue').addedIn('1.1'),
      },
      unique: [['label']],
    });
    const url = await freshUrl();
    await v10Store(url, ['same', 'same']);
    const b = await evolvable(url, unique);
    await expect(expandResource(b, unique)).rejects.toThrow(/label/);
    const applied = await b.appliedElements(unique);
    expect(applied.fields.map((x) => x.name)).toEqual(['label']);
    expect(applied.pending).toBeUndefined();
  });

  it('a writer with the older definition, opened before expand, keeps writing, and the backfill catches its records', async () => {
    const url = await freshUrl();
    const writer = (await v10Store(url, ['a'])).store(widgetV10);
    const b = await evolvable(url);
    await expandResource(b, widgetV11);
    await writer.create(ctx, { label: 'b' });
    expect(await writer.count(ctx, { label: 'b' })).toBe(1);
    expect(await backfillResource(b, widgetV11)).toEqual({
      rewritten: 2,
      remaining: {},
      published: ['color', 'rank'],
    });
    // The writer's records were rewritten at 1.1 and entered under color: queries agree with get.
    const v11 = (await stores(url)).store(widgetV11);
    expect(await v11.count(ctx, { color: 'blue' })).toBe(2);
    const ranked = await v11.list(ctx, { orderBy: { field: 'rank' } });
    expect(ranked.items.map((r) => [r.label, r.rank, r.objectVersion])).toEqual([
      ['a', 0, '1.1'],
      ['b', 0, '1.1'],
    ]);
  });

  it('two clients see each other`s expand and publish', async () => {
    const url = await freshUrl();
    await v10Store(url, ['a', 'b']);
    const one = await evolvable(url);
    const two = await evolvable(url, widgetV10);
    await expandResource(one, widgetV11);
    // The other client, opened with the older definition, reads the marks the first recorded.
    expect((await two.appliedElements(widgetV11)).pending).toEqual(['color', 'rank']);
    expect((await schemaStateOf(two, widgetV11)).writeOnly).toEqual(['color', 'rank']);
    await two.publish(widgetV11, ['rank']);
    expect((await one.appliedElements(widgetV11)).pending).toEqual(['color']);
    await one.publish(widgetV11, ['color']);
    expect((await two.appliedElements(widgetV11)).pending).toBeUndefined();
  });
}

// The backends run side by side (most of the time is spent waiting on servers), each
// backend's cases one after another, each case on a fresh store.
for (const backend of STORE_BACKENDS) {
  describe.concurrent(`write-only fields on ${backend}`, { timeout: 60_000 }, () => {
    describe.sequential('cases', () => {
      writeOnlyCases(backend);
    });
  });
}
