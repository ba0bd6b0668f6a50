/**
 * The custom resource of issue 14 at each of its releases: a user's `gizmo` (soft delete)
 * and `sprocket` (hard delete), as each release's code declares them. Every release is its
 * own definition, as in two deployed versions of a service: v1.0 code knows nothing of 1.1.
 *
 * - 1.0: a sortable name, a size (not indexed), an indexed tag and code, a state enum;
 * - 1.1: adds `color` (indexed enum, default `red`) and `rank` (sortable int, default 0),
 *   makes `code` unique, and adds the state `broken`, which 1.0 readers cannot hold;
 * - 1.2: makes the existing `size` sortable and `tag` sortable instead of equality-only.
 */
import { defineResource, f } from '@polystore/core';

/** Which of the two resources: `gizmo` soft-deletes, `sprocket` hard-deletes. */
export type Kind = 'gizmo' | 'sprocket';

const NAMES = {
  gizmo: { name: 'gizmo', plural: 'gizmos', softDelete: true },
  sprocket: { name: 'sprocket', plural: 'sprockets', softDelete: false },
} as const;

const STATES_10 = ['new', 'used'] as const;
const STATES_11 = ['new', 'used', 'broken'] as const;

const HISTORY = {
  '1.0': 'initial version',
  '1.1': {
    note: 'added color (indexed) and rank (sortable), code unique, state broken (1.0 cannot hold it)',
    addUnique: [['code']],
    enumValues: { state: { added: ['broken'] } },
  },
  '1.2': { note: 'size and tag sortable', addIndexes: ['size', 'tag'], dropIndexes: { tag: 'eq' } },
} as const;

/** The fields every release has, as 1.0 declares them. */
function fields10() {
  return {
    name: f.string({ max: 100 }).sortable().default(''),
    size: f.int().default(0),
    tag: f.string({ max: 50 }).indexed().default(''),
    code: f.string({ max: 20 }).nullable().indexed(),
    state: f.enum(STATES_10).indexed().default('new'),
  };
}

/** The 1.0 release. */
function v10(kind: Kind) {
  return defineResource({
    ...NAMES[kind],
    scope: 'project',
    version: '1.0',
    history: { '1.0': HISTORY['1.0'] },
    fields: fields10(),
  });
}

/**
 * The 1.0 release with `color` added and no version bump: the mistake issue 14 made
 * first. Its definition needs an element the store lacks.
 */
function drift(kind: Kind) {
  return defineResource({
    ...NAMES[kind],
    scope: 'project',
    version: '1.0',
    history: { '1.0': HISTORY['1.0'] },
    fields: { ...fields10(), color: f.enum(['red', 'green', 'blue']).indexed().default('red') },
  });
}

function fields11() {
  return {
    ...fields10(),
    state: f.enum(STATES_11).indexed().default('new'),
    color: f.enum(['red', 'green', 'blue']).indexed().default('red').addedIn('1.1'),
    rank: f.int({ min: -1000, max: 1000 }).sortable().default(0).addedIn('1.1'),
  };
}

/** The 1.1 release. */
function v11(kind: Kind) {
  return defineResource({
    ...NAMES[kind],
    scope: 'project',
    version: '1.1',
    history: { '1.0': HISTORY['1.0'], '1.1': HISTORY['1.1'] },
    fields: fields11(),
    unique: [['code']],
  });
}

/** The 1.2 release. */
function v12(kind: Kind) {
  return defineResource({
    ...NAMES[kind],
    scope: 'project',
    version: '1.2',
    history: HISTORY,
    fields: {
      ...fields11(),
      size: f.int().sortable().default(0),
      tag: f.string({ max: 50 }).sortable().default(''),
    },
    unique: [['code']],
  });
}

/** The releases of one resource, each defined once (stores find a resource by identity). */
export interface Releases {
  readonly v10: ReturnType<typeof v10>;
  readonly drift: ReturnType<typeof drift>;
  readonly v11: ReturnType<typeof v11>;
  readonly v12: ReturnType<typeof v12>;
}

function releases(kind: Kind): Releases {
  return Object.freeze({ v10: v10(kind), drift: drift(kind), v11: v11(kind), v12: v12(kind) });
}

/** The soft-deleting resource at each release. */
export const GIZMO = releases('gizmo');
/** The hard-deleting resource at each release. */
export const SPROCKET = releases('sprocket');

/** Any release of either resource. */
export type Release = Releases[keyof Releases];
