/**
 * What the tests of expand and contract in steps (expand-steps, contract-steps) and of
 * rewriteMany share: the gadget at 1.0 and at 1.1 (which adds indexes, a sortable field
 * and a unique constraint), a seeded store, and every record of a store read through the
 * version scans.
 */
import { type AnyResource, defineResource, f } from '@polystore/core';
import type { ResourceDriver, StoredRecord } from '@polystore/core/adapter';
import { admin, at, gadgetBase, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace } from '@polystore/testing/vitest';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { redisUrl } from './helpers.js';

/** Records one step of backend.expand or backend.contract takes (EVOLVE_BATCH in redis-backend.ts). */
export const STEP = 500;

/** The gadget at 1.0. */
export const gadgetV10 = defineResource({
  ...gadgetBase,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string().indexed(), shelf: f.string().nullable() },
});

/** The gadget at 1.1: color (indexed), shelf indexed, weight sortable, label unique. */
export const gadgetV11 = defineResource({
  ...gadgetBase,
  version: '1.1',
  history: {
    '1.0': 'initial version',
    '1.1': {
      note: 'added color (indexed), shelf indexed, weight sortable, label unique',
      addIndexes: ['shelf'],
      addUnique: [['label']],
    },
  },
  fields: {
    label: f.string().indexed(),
    shelf: f.string().nullable().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
    weight: f.int().sortable().default(0).addedIn('1.1'),
  },
  unique: [['label']],
});

/** Every record of `backend`'s store (opened with gadgetV10), from the version scans, by id. */
export async function records(backend: RedisBackend): Promise<StoredRecord[]> {
  const driver = backend.driver(gadgetV10);
  const out: StoredRecord[] = [];
  for (const v of Object.keys(await driver.countByVersion())) {
    let after: string | undefined;
    do {
      const page = await driver.scanVersion(v, after, 1000);
      out.push(...page.records);
      after = page.after;
    } while (after !== undefined);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The id of the `i`th seeded gadget (zero-padded, so id order is number order). */
export const gadgetId = (i: number) => `g${String(i).padStart(5, '0')}`;

/**
 * A fresh namespace holding `n` gadgets written by a client of `resource` (the fields of
 * gadget `j` from `fields(j)`; every 7th soft-deleted, three projects), inserted 200 at a
 * time. The backend is pushed on `opened` (closed after the test).
 */
export async function seedGadgets(
  opened: RedisBackend[],
  prefix: string,
  resource: AnyResource,
  n: number,
  fields: (j: number) => Record<string, unknown>,
): Promise<{ namespace: string; backend: RedisBackend }> {
  const namespace = freshNamespace(prefix);
  const backend = await openRedisBackend(redisUrl(), {
    resources: [resource],
    adapter: { namespace },
  });
  opened.push(backend);
  const driver = backend.driver(resource);
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, (_, k) => {
        const j = i + k;
        return driver.insert(
          rec(gadgetId(j), fields(j), {
            projectId: `p${j % 3}`,
            objectVersion: resource.version,
            ...(j % 7 === 6 ? { deletedAt: at, revision: 2 } : {}),
          }),
        );
      }),
    );
  }
  return { namespace, backend };
}

/**
 * Unconditional writes of one client at `objectVersion`, by gadget number: what another
 * process does to the store between the steps of an expand or a contract.
 */
export function plainWrites(driver: ResourceDriver, objectVersion: string) {
  return {
    update: (i: number, set: Record<string, unknown>) =>
      driver.update(admin, gadgetId(i), {
        set,
        updatedAt: at,
        objectVersion,
        expectedRevision: undefined,
        expected: undefined,
      }),
    remove: (i: number, soft: boolean) =>
      driver.delete(admin, gadgetId(i), {
        soft,
        at,
        expectedRevision: undefined,
        expected: undefined,
      }),
  };
}
