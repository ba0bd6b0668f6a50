import {
  type AnyResource,
  createContext,
  defineResource,
  f,
  InvalidQueryError,
  openStores,
  SchemaBehindError,
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
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlStores, sqlAdapter } from '../src/sql-adapter.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

// Write-only fields on SQLite and PostgreSQL (issue 14 item 6), ported from the memory
// adapter's packages/memory/test/write-only.test.ts: the marks live in the field rows of
// `<prefix>polystore_elements`, so every process reads the same ones.

const backends = useBackends();

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
const adapters = [sqlAdapter];
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

describe.each(DIALECTS)('%s write-only fields', (dialect: Dialect) => {
  const freshUrl = () => backends.url(dialect);

  /** A backend opened as `polystore schema` opens it: without the schema check. */
  async function evolvable(
    url: string,
    resource: AnyResource = widgetV11,
  ): Promise<EvolvableBackend> {
    const { backend } = await openBackend(url, {
      adapters,
      resources: [resource],
      checkSchema: false,
    });
    if (!isEvolvable(backend)) throw new Error('sql has the evolution SPI');
    open.push(backend);
    return backend;
  }

  async function stores(url: string, resource: AnyResource = widgetV11): Promise<Stores> {
    const s = await openStores(url, { adapters, resources: [resource] });
    open.push(s);
    return s;
  }

  async function v10Store(url: string, labels: string[]): Promise<Stores> {
    const s = await stores(url, widgetV10);
    for (const label of labels) await s.store(widgetV10).create(ctx, { label });
    return s;
  }

  describe('queries on a field older records lack wait for the backfill', () => {
    it('expand over existing records records the new fields write-only, and queries on them are refused', async () => {
      const url = freshUrl();
      await v10Store(url, ['a', 'b', 'c']);
      const backend = await evolvable(url);
      const { added } = await expandResource(backend, widgetV11);
      expect(added.fields.map((x) => x.name)).toEqual(['color', 'rank']);
      expect(added.pending).toEqual(['color', 'rank']);
      expect((await schemaStateOf(backend, widgetV11)).writeOnly).toEqual(['color', 'rank']);

      const v11 = (await stores(url)).store(widgetV11);
      // get fills the default (the column is NULL), so a query could not agree with it.
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
      const before = await stores(url);
      await before.store(widgetV11).create(ctx, { label: 'd', color: 'red', rank: 5 });

      const result = await backfillResource(backend, widgetV11, { pageSize: 2 });
      expect(result).toEqual({ rewritten: 3, remaining: {}, published: ['color', 'rank'] });
      expect((await schemaStateOf(backend, widgetV11)).writeOnly).toEqual([]);

      const after = (await stores(url)).store(widgetV11);
      expect(await after.count(ctx, { color: 'blue' })).toBe(3);
      expect(await after.count(ctx, { color: 'red' })).toBe(1);
      const ranked = await after.list(ctx, { orderBy: { field: 'rank', direction: 'desc' } });
      // Ties in rank go by id, in the same direction.
      expect(ranked.items.map((r) => r.label)).toEqual(['d', 'c', 'b', 'a']);
      expect(ranked.items.every((r) => r.objectVersion === '1.1')).toBe(true);
      // Every query agrees with get: each record is found under the value get shows.
      for (const r of (await after.list(ctx)).items) {
        const { items } = await after.list(ctx, { where: { color: r.color, rank: r.rank } });
        expect(items.map((x) => x.id)).toContain(r.id);
        expect(await after.get(ctx, r.id)).toEqual(r);
      }
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
      expect((await backend.appliedElements(widgetV11)).pending).toBeUndefined();
      const v11 = (await stores(url)).store(widgetV11);
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

  describe('the marks in polystore_elements: publish, contract, expand', () => {
    it('publish is idempotent and ignores fields that are public or not applied', async () => {
      const url = freshUrl();
      await v10Store(url, ['a']);
      const backend = await evolvable(url);
      await expandResource(backend, widgetV11);
      await backend.publish(widgetV11, ['rank', 'label', 'nosuch']);
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['color']);
      await backend.publish(widgetV11, ['rank']);
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['color']);
      await backend.publish(widgetV11, ['color']);
      await backend.publish(widgetV11, ['color']);
      await backend.publish(widgetV11, []);
      const applied = await backend.appliedElements(widgetV11);
      expect(applied.pending).toBeUndefined();
      // Publishing changes no element.
      expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color', 'rank']);
      // A resource the store does not have: nothing to publish, and nothing is created.
      const other = defineResource({
        ...base,
        name: 'gizmo',
        plural: 'gizmos',
        version: '1.0',
        history: { '1.0': 'initial version' },
        fields: { label: f.string() },
      });
      await backend.publish(other, ['label']);
      expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
    });

    it('publish on a store with no record table yet does nothing and creates nothing', async () => {
      const url = freshUrl();
      const backend = await evolvable(url, widgetV10);
      const other = defineResource({ ...widgetV10, name: 'gizmo', plural: 'gizmos' });
      await backend.publish(other, ['label']);
      expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
    });

    it('contract of a write-only field drops its mark with it', async () => {
      const url = freshUrl();
      await v10Store(url, ['a']);
      const backend = await evolvable(url);
      await expandResource(backend, widgetV11);
      // The field with its index: SQLite cannot drop a column an index still names.
      const all = elementsOf(widgetV11);
      await backend.contract(widgetV11, {
        ...NO_ELEMENTS,
        fields: all.fields.filter((x) => x.name === 'color'),
        indexes: all.indexes.filter((i) => i.field === 'color'),
      });
      const applied = await backend.appliedElements(widgetV11);
      expect(applied.fields.map((x) => x.name)).toEqual(['label', 'rank']);
      expect(applied.pending).toEqual(['rank']);
      // An expand that adds it back, over the same records, marks it again.
      await expandResource(backend, widgetV11);
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['rank', 'color']);
    });

    it('expand records marks for fields applied before, and ignores marks of fields not applied', async () => {
      const url = freshUrl();
      await v10Store(url, []);
      const backend = await evolvable(url);
      await expandResource(backend, widgetV11);
      expect((await backend.appliedElements(widgetV11)).pending).toBeUndefined();
      await backend.expand(widgetV11, withPending(NO_ELEMENTS, ['rank']));
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['rank']);
      await backend.expand(widgetV11, withPending(NO_ELEMENTS, ['rank']));
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['rank']);
      // A mark for a field that is not applied is not recorded.
      await backend.expand(widgetV11, withPending(NO_ELEMENTS, ['nosuch']));
      expect((await backend.appliedElements(widgetV11)).pending).toEqual(['rank']);
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
      const url = freshUrl();
      await v10Store(url, ['same', 'same']);
      const backend = await evolvable(url, unique);
      await expect(expandResource(backend, unique)).rejects.toThrow(/label/);
      const applied = await backend.appliedElements(unique);
      expect(applied.fields.map((x) => x.name)).toEqual(['label']);
      expect(applied.pending).toBeUndefined();
    });
  });

  describe('two clients of one store', () => {
    it('see each other`s expand and publish in appliedElements, and concurrent publishes both hold', async () => {
      const url = freshUrl();
      await v10Store(url, ['a', 'b']);
      const one = await evolvable(url);
      const two = await evolvable(url, widgetV10);
      await expandResource(one, widgetV11);
      // The other client, opened with the older definition, reads the marks the first recorded.
      expect((await two.appliedElements(widgetV11)).pending).toEqual(['color', 'rank']);
      expect((await schemaStateOf(two, widgetV11)).writeOnly).toEqual(['color', 'rank']);
      // Publishing from both at once: each removes only its own mark, both fields go.
      await Promise.all([one.publish(widgetV11, ['color']), two.publish(widgetV11, ['rank'])]);
      expect((await one.appliedElements(widgetV11)).pending).toBeUndefined();
      expect((await two.appliedElements(widgetV11)).pending).toBeUndefined();
    });

    it('a writer with the older definition, opened before expand, keeps writing, and the backfill catches its records', async () => {
      const url = freshUrl();
      const writer = (await stores(url, widgetV10)).store(widgetV10);
      await writer.create(ctx, { label: 'a' });
      const backend = await evolvable(url);
      await expandResource(backend, widgetV11);
      await writer.create(ctx, { label: 'b' });
      expect(await writer.count(ctx, { label: 'b' })).toBe(1);
      expect(await backfillResource(backend, widgetV11)).toMatchObject({
        rewritten: 2,
        published: ['color', 'rank'],
      });
      // The writer's records were rewritten at 1.1: queries agree with get.
      const v11 = (await stores(url)).store(widgetV11);
      expect(await v11.count(ctx, { color: 'blue' })).toBe(2);
      const ranked = await v11.list(ctx, { orderBy: { field: 'rank' } });
      expect(ranked.items.map((r) => [r.label, r.rank, r.objectVersion])).toEqual([
        ['a', 0, '1.1'],
        ['b', 0, '1.1'],
      ]);
    });
  });

  describe('openSqlStores checks the schema as openStores does', () => {
    it('refuses code newer than the store with SchemaBehindError, and refuses queries on write-only fields', async () => {
      const url = freshUrl();
      await v10Store(url, ['a']);
      await expect(openSqlStores(url, { resources: [widgetV11] })).rejects.toThrow(
        SchemaBehindError,
      );
      await expandResource(await evolvable(url), widgetV11);
      const s = await openSqlStores(url, { resources: [widgetV11] });
      open.push(s);
      await expect(s.store(widgetV11).count(ctx, { color: 'blue' })).rejects.toThrow(
        InvalidQueryError,
      );
      expect(await s.store(widgetV11).count(ctx, { label: 'a' })).toBe(1);
      // checkSchema: false opens a store that is behind (what the schema tools use).
      const behind = defineResource({
        ...base,
        version: '1.2',
        history: {
          '1.0': 'initial version',
          '1.1': 'added color and rank',
          '1.2': 'added size',
        },
        fields: {
          label: f.string().indexed(),
          color: f.string().indexed().default('blue').addedIn('1.1'),
          rank: f.int().sortable().default(0).addedIn('1.1'),
          size: f.int().default(0).addedIn('1.2'),
        },
      });
      const unchecked = await openSqlStores(url, { resources: [behind], checkSchema: false });
      open.push(unchecked);
      expect(await unchecked.store(behind).count(ctx, { label: 'a' })).toBe(1);
    });
  });
});
