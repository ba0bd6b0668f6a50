import {
  ConflictError,
  computeResources,
  DuplicateError,
  defineResource,
  f,
  InvalidInputError,
  ManualClock,
  PolystoreError,
  type Stores,
  sequentialIds,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { freshNamespace, sharedServerUrl } from '@polystore/testing/vitest';
import { openRedisStores } from '../src/index.js';

/** A resource with every indexable kind: sortable string/int/datetime, nullable indexed fields, two unique constraints. */
export const gadgetResource = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: {
    name: f.string({ max: 40 }).sortable().default(''),
    size: f.int().sortable().default(0),
    seenAt: f.datetime().sortable().default('2026-01-01T00:00:00.000Z'),
    color: f.enum(['red', 'green', 'blue']).nullable().indexed(),
    rank: f.int({ min: -5, max: 5 }).nullable().indexed(),
    active: f.bool().indexed().default(true),
    owner: f.uuid().nullable().indexed(),
    code: f.string({ max: 20 }).nullable().indexed(),
    tags: f.list(f.string()).default([]),
    meta: f.dict(f.string()).default({}),
  },
  unique: [['code'], ['color', 'rank']],
});

/** A global resource without soft delete. */
export const widgetResource = defineResource({
  name: 'widget',
  plural: 'widgets',
  scope: 'global',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'test resource' },
  fields: {
    label: f.string().sortable().default(''),
    kind: f.string().nullable().indexed(),
  },
  unique: [['kind']],
});

/** Extra test resources given to every bag. */
export const TEST_RESOURCES = [...computeResources, gadgetResource, widgetResource] as const;

/** The URL of the shared test server. */
export function redisUrl(): string {
  return sharedServerUrl('redis');
}

/** A Redis bag and a memory bag with the same clock and id sequence, for differential runs. */
export async function openPair(): Promise<{
  redis: Stores;
  memory: Stores;
  clock: ManualClock;
  close(): Promise<void>;
}> {
  const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
  const redis = await openRedisStores(redisUrl(), {
    resources: TEST_RESOURCES,
    clock,
    ids: sequentialIds(),
    adapter: { namespace: freshNamespace('redis_diff') },
  });
  const memory = openMemoryStores({ resources: TEST_RESOURCES, clock, ids: sequentialIds() });
  return { redis, memory, clock, close: () => redis.close() };
}

/** A comparable summary of a call's result or typed error; anything untyped is rethrown. */
export async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await call() };
  } catch (err) {
    if (!(err instanceof PolystoreError)) throw err;
    const e: Record<string, unknown> = { error: err.name };
    if (err instanceof DuplicateError) e.fields = err.fields;
    if (err instanceof ConflictError) {
      e.reason = err.reason;
      e.currentRevision = err.currentRevision;
      e.field = err.field;
    }
    if (err instanceof InvalidInputError) e.fields = err.fields;
    return e;
  }
}

/** Hostile strings: Lua and Redis specials, glob characters, quotes, non-BMP, controls. */
export const HOSTILE_STRINGS = [
  '',
  '*',
  '?',
  '[a-z]',
  '"',
  "'",
  '\\',
  '\\"',
  ']]',
  '[[',
  '--[[',
  '%s%d%%',
  '\n\r\t',
  '\u0001',
  '\u007f',
  '{tag}',
  '}{',
  ':',
  '~s:',
  'null',
  '"null"',
  '1e309',
  '😀',
  '𝄞a',
  '\uffff',
  '\ue000',
  'é',
  'e\u0301',
  'a'.repeat(40),
] as const;
