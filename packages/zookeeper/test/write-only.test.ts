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
import { freshNamespace, startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openZooKeeperStores, zookeeperAdapter } from '../src/zookeeper-adapter.js';

// Write-only fields on a real server: what only the ZooKeeper adapter does. The generic
// cases (expand, backfill, publish, contract, two clients) run on every backend in the root
// spec test/write-only.test.ts. Here the marks live in the schema znode, written under its
// version check.

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

let zk: ZooKeeperServer;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});
afterAll(async () => {
  await zk?.stop();
});

/** A backend opened as `polystore schema` opens it: without the schema check. */
async function evolvable(
  url: string,
  resource: AnyResource = widgetV11,
): Promise<EvolvableBackend> {
  const { backend } = await openBackend(url, {
    adapters: [zookeeperAdapter],
    resources: [resource],
    checkSchema: false,
  });
  if (!isEvolvable(backend)) throw new Error('zookeeper has the evolution SPI');
  open.push(backend);
  return backend;
}

/** A fresh namespace holding `labels` as 1.0 records, written through openZooKeeperStores. */
async function v10Url(labels: string[]): Promise<string> {
  const url = `${zk.url}/${freshNamespace('zk_write_only')}`;
  const s = await openZooKeeperStores(url, { resources: [widgetV10] });
  open.push(s);
  for (const label of labels) await s.store(widgetV10).create(ctx, { label });
  return url;
}

describe('the marks in the schema znode', () => {
  it('concurrent publishes from two clients both hold: each retries on the other`s znode version', async () => {
    const url = await v10Url(['a', 'b']);
    const one = await evolvable(url);
    const two = await evolvable(url, widgetV10);
    await expandResource(one, widgetV11);
    await Promise.all([one.publish(widgetV11, ['color']), two.publish(widgetV11, ['rank'])]);
    expect((await one.appliedElements(widgetV11)).pending).toBeUndefined();
    expect((await two.appliedElements(widgetV11)).pending).toBeUndefined();
  });

  it('publish of a resource the namespace does not have creates no znode for it', async () => {
    const backend = await evolvable(await v10Url(['a']));
    const other = defineResource({ ...widgetV10, name: 'gizmo', plural: 'gizmos' });
    await backend.publish(other, ['label']);
    expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
  });
});

describe('openZooKeeperStores checks the schema as openStores does', () => {
  it('refuses code newer than the store with SchemaBehindError, and refuses queries on write-only fields', async () => {
    const url = await v10Url(['a']);
    await expect(openZooKeeperStores(url, { resources: [widgetV11] })).rejects.toThrow(
      SchemaBehindError,
    );
    await expandResource(await evolvable(url), widgetV11);
    const s = await openZooKeeperStores(url, { resources: [widgetV11] });
    open.push(s);
    await expect(s.store(widgetV11).count(ctx, { color: 'blue' })).rejects.toThrow(
      InvalidQueryError,
    );
    expect(await s.store(widgetV11).count(ctx, { label: 'a' })).toBe(1);
  });
});
