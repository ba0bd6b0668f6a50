import { defineResource, f } from '@polystore/core';
import type { StoredRecord, WriteScope } from '@polystore/core/adapter';

// The `gadget` resource the adapters' schema-evolution tests share (packages/*/test/evolution.test.ts,
// packages/sql/test/open-versions.test.ts). A test that needs another release builds it from
// `gadgetBase` in its own file.

/** What every gadget release has in common: project-scoped, soft-deleted. */
export const gadgetBase = {
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
} as const;

/** The first release: an indexed label, no unique constraint. */
export const gadgetV10 = defineResource({
  ...gadgetBase,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string().indexed() },
});

/** The next release: an indexed color, and label becomes unique. */
export const gadgetV11 = defineResource({
  ...gadgetBase,
  version: '1.1',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added color (indexed), label unique', addUnique: [['label']] },
  },
  fields: {
    label: f.string().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
  },
  unique: [['label']],
});

/** The time every fixture record was created and last updated at. */
export const at = '2026-01-01T00:00:00.000Z';

/** The scope of an administrator's writes: every project. */
export const admin: WriteScope = { projectId: null };

/**
 * A stored record of project p1 as a 1.0 client wrote it (revision 1, created and updated
 * `at`, not deleted), with `fields`; `meta` overrides any of those.
 */
export function rec(
  id: string,
  fields: Record<string, unknown>,
  meta: Partial<StoredRecord> = {},
): StoredRecord {
  return {
    id,
    projectId: 'p1',
    revision: 1,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    objectVersion: '1.0',
    ...fields,
    ...meta,
  } as StoredRecord;
}
