/**
 * What the tests of expand and contract in steps (expand-steps, contract-steps) share: the
 * gadget at 1.0 and at 1.1 (which adds indexes, a sortable field and a unique constraint),
 * and every record of a store read through the version scans.
 */
import { defineResource, f } from '@polystore/core';
import type { StoredRecord } from '@polystore/core/adapter';
import { gadgetBase } from '@polystore/testing/evolution-fixtures';
import type { RedisBackend } from '../src/redis-backend.js';

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
