import { defineResource, f } from '@polystore/core';

// The `widget` resource the live-upgrade tests, the conformance group `upgrade` and the
// migrate benchmark share: three releases L → M → N whose history has every kind of
// change a live upgrade must carry out on every backend.

/** What every widget release has in common: project-scoped, soft-deleted. */
const widgetBase = {
  name: 'widget',
  plural: 'widgets',
  scope: 'project',
  softDelete: true,
} as const;

const l10 = '1.0';

/** Release L (1.0): a serial (unique by convention only), a name, a size, a note. */
export const widgetL = defineResource({
  ...widgetBase,
  version: '1.0',
  history: { [l10]: 'initial version' },
  fields: {
    serial: f.string({ max: 64 }).indexed(),
    name: f.string({ max: 100 }).default(''),
    size: f.int({ min: 0 }).default(0),
    note: f.string({ max: 200 }).nullable(),
  },
});

/** What 1.1 changes: every additive kind at once. */
const m11 = {
  note: 'added color (from size, indexed), size indexed, serial unique, title (the rename of name)',
  up: {
    color: (r: Readonly<Record<string, unknown>>) =>
      typeof r.size === 'number' && r.size >= 50 ? 'large' : 'small',
    title: (r: Readonly<Record<string, unknown>>) => (typeof r.name === 'string' ? r.name : ''),
  },
  addIndexes: ['size'],
  addUnique: [['serial']],
} as const;

/**
 * Release M (1.1): a field added with a transform (`color`, from `size`) and indexed, an
 * index on an existing field (`size`), a unique constraint (`serial`), and the first half
 * of a rename: `title` added, filled from `name`.
 */
export const widgetM = defineResource({
  ...widgetBase,
  version: '1.1',
  history: { [l10]: 'initial version', '1.1': m11 },
  fields: {
    serial: f.string({ max: 64 }).indexed(),
    name: f.string({ max: 100 }).default(''),
    size: f.int({ min: 0 }).default(0).sortable(),
    note: f.string({ max: 200 }).nullable(),
    color: f.enum(['small', 'large']).nullable().indexed().addedIn('1.1'),
    title: f.string({ max: 100 }).default('').addedIn('1.1'),
  },
  unique: [['serial']],
});

/**
 * Release N (2.0): the rename finished (`name` removed) and a field removed (`note`).
 * Fields are removed only at a major version.
 */
export const widgetN = defineResource({
  ...widgetBase,
  version: '2.0',
  history: {
    [l10]: 'initial version',
    '1.1': m11,
    '2.0': {
      note: 'removed name (renamed to title) and note',
      removed: {
        name: f.string({ max: 100 }).default(''),
        note: f.string({ max: 200 }).nullable(),
      },
    },
  },
  fields: {
    serial: f.string({ max: 64 }).indexed(),
    size: f.int({ min: 0 }).default(0).sortable(),
    color: f.enum(['small', 'large']).nullable().indexed().addedIn('1.1'),
    title: f.string({ max: 100 }).default('').addedIn('1.1'),
  },
  unique: [['serial']],
});

/** The three releases, oldest first. */
export const widgetReleases = [widgetL, widgetM, widgetN] as const;
