import { computeResources, defineResource, f } from '@polystore/core';

/**
 * A project resource with soft delete and every kind of field the built-ins leave out:
 * sortable string, int and datetime; nullable indexed enum, int, bool, uuid and string;
 * nested lists, dicts and an object; a single and two paired unique constraints.
 */
export const gadgetResource = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'contract test resource' },
  fields: {
    name: f.string({ max: 300 }).sortable().default(''),
    size: f.int().sortable().default(0),
    seenAt: f.datetime().sortable().default('2026-01-01T00:00:00.000Z'),
    color: f.enum(['red', 'green', 'blue']).nullable().indexed(),
    rank: f.int({ min: -5, max: 5 }).nullable().indexed(),
    active: f.bool().indexed().default(true),
    owner: f.uuid().nullable().indexed(),
    code: f.string({ max: 20 }).nullable().indexed(),
    zone: f.string().nullable().indexed(),
    slot: f.int().nullable().indexed(),
    labels: f.list(f.string()).default([]),
    meta: f.dict(f.string()).default({}),
    grid: f.list(f.list(f.int())).default([]),
    tags: f.dict(f.dict(f.string())).default({}),
    spec: f.object({ path: f.list(f.string()), extra: f.dict(f.int()) }).nullable(),
  },
  unique: [['code'], ['color', 'rank'], ['zone', 'slot']],
});

/** A global resource without soft delete, with one unique field. */
export const widgetResource = defineResource({
  name: 'widget',
  plural: 'widgets',
  scope: 'global',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'contract test resource' },
  fields: {
    label: f.string().sortable().default(''),
    kind: f.string().nullable().indexed(),
  },
  unique: [['kind']],
});

/** Every resource the contract opens: opt-in, so the compute ones are named too. */
export const CONTRACT_RESOURCES = [...computeResources, gadgetResource, widgetResource] as const;
