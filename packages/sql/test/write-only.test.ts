import {
  type AnyResource,
  createContext,
  defineResource,
  f,
  InvalidQueryError,
  SchemaBehindError,
} from '@polystore/core';
import {
  type EvolvableBackend,
  expandResource,
  isEvolvable,
  NO_ELEMENTS,
  openBackend,
} from '@polystore/core/adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlStores, sqlAdapter } from '../src/sql-adapter.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

// Write-only fields on SQLite and PostgreSQL: what only the SQL adapter does. The generic
// cases (expand, backfill, publish, contract, two clients) run on every backend in the root
// spec test/write-only.test.ts. Here the marks live in the field rows of
// `<prefix>polystore_elements`.

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
      adapters: [sqlAdapter],
      resources: [resource],
      checkSchema: false,
    });
    if (!isEvolvable(backend)) throw new Error('sql has the evolution SPI');
    open.push(backend);
    return backend;
  }

  async function v10Url(labels: string[]): Promise<string> {
    const url = freshUrl();
    const s = await openSqlStores(url, { resources: [widgetV10] });
    open.push(s);
    for (const label of labels) await s.store(widgetV10).create(ctx, { label });
    return url;
  }

  it('publish on a store with no record table yet does nothing and creates nothing', async () => {
    const backend = await evolvable(freshUrl(), widgetV10);
    const other = defineResource({ ...widgetV10, name: 'gizmo', plural: 'gizmos' });
    await backend.publish(other, ['label']);
    expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
  });

  it('concurrent publishes from two clients each remove only their own mark row', async () => {
    const url = await v10Url(['a', 'b']);
    const one = await evolvable(url);
    const two = await evolvable(url, widgetV10);
    await expandResource(one, widgetV11);
    await Promise.all([one.publish(widgetV11, ['color']), two.publish(widgetV11, ['rank'])]);
    expect((await one.appliedElements(widgetV11)).pending).toBeUndefined();
    expect((await two.appliedElements(widgetV11)).pending).toBeUndefined();
  });

  it('openSqlStores refuses code newer than the store with SchemaBehindError, and refuses queries on write-only fields', async () => {
    const url = await v10Url(['a']);
    await expect(openSqlStores(url, { resources: [widgetV11] })).rejects.toThrow(SchemaBehindError);
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
