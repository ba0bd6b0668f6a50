/**
 * The live-upgrade engine's own state, kept as two global resources in the store being
 * upgraded, through the ordinary driver of whatever backend that is: no adapter writes
 * engine code. Both are created like any brand-new resource the first time the engine or
 * a fleet member opens the store.
 */
import { defineResource, f, type RecordOf } from '@polystore/core';

const VERSION = /^\d+\.\d+$/;

/** What an element of a resource's storage is, for the code and the fleet. */
export const ELEMENT_STATES = ['absent', 'write-only', 'public', 'deprecated', 'dropped'] as const;

/** The state of one element (`field color`, `index color (eq)`, `unique (label)`). */
export type ElementState = (typeof ELEMENT_STATES)[number];

/** The steps the engine records as the last one done for a resource. */
export const UPGRADE_STEPS = ['join', 'expand', 'migrate', 'switch', 'contract'] as const;

/**
 * One record per upgraded resource: the pin (the object version every process of the
 * fleet writes), the version the last `expand` prepared the store for, the elements the
 * engine dropped, the migrate runner's lease and its checkpoint.
 */
export const upgradeStateResource = defineResource({
  name: 'upgradeState',
  plural: 'upgradeStates',
  scope: 'global',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    resource: f.string({ max: 128 }).indexed().immutable().describe('the resource name'),
    pin: f.string({ max: 16, pattern: VERSION }).describe('the object version writes use'),
    target: f
      .string({ max: 16, pattern: VERSION })
      .nullable()
      .describe('the version the last expand prepared the store for'),
    lastStep: f.enum(UPGRADE_STEPS),
    dropped: f
      .list(f.string({ max: 300 }), { max: 1000 })
      .default([])
      .describe('elements contract dropped'),
    checkpointVersion: f
      .string({ max: 16 })
      .nullable()
      .describe('migrate: the stored version being converted'),
    checkpointAfter: f
      .string({ max: 1024 })
      .nullable()
      .describe('migrate: the last id converted in that version'),
    converted: f.int({ min: 0 }).default(0).describe('migrate: records converted so far'),
    found: f
      .int({ min: 0 })
      .default(0)
      .describe('migrate: records older than the pin when it moved'),
    runner: f.string({ max: 255 }).nullable().describe('migrate: who holds the runner lease'),
    runnerUntil: f.datetime().nullable().describe('migrate: when that lease lapses'),
  },
  unique: [['resource']],
});

/** A stored upgrade state. */
export type UpgradeState = RecordOf<typeof upgradeStateResource>;

/**
 * One record per live process of the fleet: its release, the object version of each
 * resource its code knows (`reads`), the version it writes now (`writes`, its acknowledged
 * pins) and its last heartbeat. A process is live until `lastSeenAt + leaseMs`.
 */
export const fleetMemberResource = defineResource({
  name: 'fleetMember',
  plural: 'fleetMembers',
  scope: 'global',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    member: f.string({ max: 255 }).indexed().immutable().describe('host:pid:random'),
    service: f.string({ max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/ }).indexed(),
    release: f.string({ max: 64 }).describe('the release the process runs, e.g. 1.4.2'),
    reads: f
      .dict(f.string({ max: 16, pattern: VERSION }), { max: 1000 })
      .describe('resource name → the object version its code has'),
    writes: f
      .dict(f.string({ max: 16, pattern: VERSION }), { max: 1000 })
      .describe('resource name → the object version it writes now'),
    lastSeenAt: f.datetime().sortable(),
    leaseMs: f.int({ min: 100, max: 86_400_000 }),
  },
  unique: [['member']],
});

/** A stored fleet member. */
export type FleetMemberRecord = RecordOf<typeof fleetMemberResource>;

/** The engine's resources, opened beside a service's own. */
export const engineResources = [upgradeStateResource, fleetMemberResource] as const;
