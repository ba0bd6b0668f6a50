/**
 * The write scripts' replies: an update, a delete and a conflict bring back the record as
 * the reads do (one string of the record's fields, record_text in prelude.lua), never the
 * hidden `~` fields nor a field no version of the resource has; a rewrite replies only
 * 'ok' and the driver returns the record it sent.
 */
import { createContext, sequentialIds } from '@polystore/core';
import { createStores, type ReadScope, type WriteScope } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import { CONTRACT_RESOURCES, gadgetResource } from '../../../test/contract/resources.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { redisUrl, useRawRedis } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const readP1: ReadScope = { projectId: 'p1', includeShared: false, deleted: 'no' };
const writeP1: WriteScope = { projectId: 'p1' };

const opened: RedisBackend[] = [];
const raw = useRawRedis(opened);

async function fresh() {
  const namespace = freshNamespace('write_replies');
  const backend = await openRedisBackend(redisUrl(), {
    adapter: { namespace },
    resources: CONTRACT_RESOURCES,
  });
  opened.push(backend);
  const stores = createStores(backend, { resources: CONTRACT_RESOURCES, ids: sequentialIds() });
  const gadgets = stores.store(gadgetResource);
  // A record whose values hold escapes, that lacks a field (as one a definition without it
  // wrote) and holds one no version of the resource has.
  const made = await gadgets.create(p1, {
    name: 'c\u0001tl',
    color: 'red',
    labels: ['', '\\u0000'],
  });
  const key = `polystore:{${namespace}}:gadgets:r:${made.id}`;
  await raw().hdel(key, 'spec');
  await raw().hset(key, 'foreign', '"x"');
  // Such a record has no stored row (a hand edit must drop it, see the README).
  await raw().del(key.replace(':r:', ':w:'));
  return { driver: backend.driver(gadgetResource), id: made.id, key };
}

/** The keys of a record a reply must not carry. */
const hidden = (r: object | undefined) =>
  Object.keys(r ?? {}).filter((k) => k.startsWith('~') || k === 'foreign');

describe('write replies', () => {
  it('an update returns the record as get reads it, a conflict the current one', async () => {
    const { driver, id } = await fresh();
    const at = new Date().toISOString();
    const change = { updatedAt: at, objectVersion: '1.0', expected: undefined };
    const out = await driver.update(writeP1, id, {
      ...change,
      set: { name: 'renamed', color: 'blue' },
      expectedRevision: 1,
    });
    expect(out.status).toBe('ok');
    const written = out.status === 'ok' ? out.record : undefined;
    expect(hidden(written)).toEqual([]);
    expect(written).not.toHaveProperty('spec');
    expect(written).toMatchObject({
      id,
      name: 'renamed',
      color: 'blue',
      revision: 2,
      updatedAt: at,
    });
    expect(written).toMatchObject({ labels: ['', '\\u0000'] });
    expect(written).toEqual(await driver.get(readP1, id));

    const stale = await driver.update(writeP1, id, {
      ...change,
      set: { name: 'late' },
      expectedRevision: 1,
    });
    expect(stale.status).toBe('conflict');
    const current = stale.status === 'conflict' ? stale.current : undefined;
    expect(hidden(current)).toEqual([]);
    expect(current).toEqual(written);
  });

  it('a soft delete returns the last state, and a conditional one that fails the current record', async () => {
    const { driver, id } = await fresh();
    const at = new Date().toISOString();
    const refused = await driver.delete(writeP1, id, {
      soft: true,
      at,
      expectedRevision: 7,
    });
    expect(refused.status).toBe('conflict');
    const current = refused.status === 'conflict' ? refused.current : undefined;
    expect(hidden(current)).toEqual([]);
    expect(current).toEqual(await driver.get(readP1, id));

    const out = await driver.delete(writeP1, id, { soft: true, at, expectedRevision: 1 });
    expect(out.status).toBe('ok');
    const last = out.status === 'ok' ? out.record : undefined;
    expect(hidden(last)).toEqual([]);
    expect(last).toMatchObject({
      id,
      deletedAt: at,
      updatedAt: at,
      revision: 2,
      name: 'c\u0001tl',
    });
    expect(last).toEqual(await driver.get({ ...readP1, deleted: 'only' }, id));
  });

  it('a rewrite returns the record it sent; its conflict the current record without hidden fields', async () => {
    const { driver, id, key } = await fresh();
    const before = (await driver.get(readP1, id))!;
    const conflict = await driver.rewrite({ ...before, name: 'x' }, 5);
    expect(conflict.status).toBe('conflict');
    expect(conflict.status === 'conflict' ? conflict.current : undefined).toEqual(before);

    const out = await driver.rewrite({ ...before, name: 'rewritten' }, 1);
    expect(out.status).toBe('ok');
    const written = out.status === 'ok' ? out.record : undefined;
    expect(written).toEqual({ ...before, name: 'rewritten', revision: 2 });
    expect(await driver.get(readP1, id)).toEqual(written);
    // The tokens and entry fields are still stored (the layout is unchanged).
    expect(await raw().hget(key, '~s:name')).toBe('rewritten');
  });
});
