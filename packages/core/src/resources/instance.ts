import { f } from '../schema/field.js';
import { defineResource, type RecordOf } from '../schema/resource.js';
import type { ResourceStore } from '../store.js';

/** VM states of an instance. */
export const VM_STATES = [
  'building',
  'active',
  'stopped',
  'paused',
  'suspended',
  'rescued',
  'error',
  'deleted',
] as const;
/** Task states of an instance (`null`: no task running). */
export const TASK_STATES = [
  'scheduling',
  'spawning',
  'networking',
  'block-device-mapping',
  'rebooting',
  'resize-prep',
  'migrating',
  'powering-off',
  'powering-on',
  'deleting',
] as const;

/** A virtual machine of a project. */
export const instanceResource = defineResource({
  name: 'instance',
  plural: 'instances',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    displayName: f.string({ max: 255 }).sortable().default('').describe('name shown to users'),
    hostname: f
      .string({ max: 63, pattern: /^[a-z0-9-]*$/ })
      .sortable()
      .default('')
      .describe('DNS label of the guest'),
    host: f.string({ max: 255 }).nullable().indexed().describe('compute host running it'),
    vmState: f.enum(VM_STATES).indexed().default('building'),
    taskState: f.enum(TASK_STATES).nullable().indexed(),
    flavor: f.object({
      vcpus: f.int({ min: 1, max: 1024 }),
      memoryMb: f.int({ min: 1, max: 16_777_216 }),
      rootGb: f.int({ min: 0, max: 65_536 }),
    }),
    metadata: f.dict(f.string({ max: 255 }), { max: 128 }).default({}),
  },
});

/** A stored instance. */
export type Instance = RecordOf<typeof instanceResource>;

/** The store of instances. Conditional task-state changes use `update(…, { expected: { taskState: [...] } })`. */
export interface InstanceStore extends ResourceStore<typeof instanceResource> {}
