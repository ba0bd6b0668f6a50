import {
  defineObject,
  defineResource,
  f,
  instanceResource,
  type ObjectOf,
  ObjectRegistry,
  type RecordOf,
} from '@polystore/core';
import { instanceMethods } from './compute-objects.js';

/** The availability zone of an instance written before release 1.1 (and the default). */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';

/**
 * Release 1.1 of the `instance` resource: the built-in 1.0 definition plus one additive
 * change, an indexed `availabilityZone` (default {@link DEFAULT_AVAILABILITY_ZONE}). It
 * has the same name, so it is the same stored resource: a store written by 1.0 code is
 * expanded, migrated and switched to it by `polystore migrate` while both releases serve.
 *
 * @example
 * ```ts
 * const stores = await openStores(url, {
 *   resources: [instanceResourceV11, ...computeResources.slice(1)],
 * });
 * await stores.store(instanceResourceV11).list(ctx, { where: { availabilityZone: 'az-2' } });
 * ```
 */
export const instanceResourceV11 = defineResource({
  name: instanceResource.name,
  plural: instanceResource.plural,
  scope: instanceResource.scope,
  softDelete: instanceResource.softDelete,
  version: '1.1',
  history: {
    ...instanceResource.history,
    '1.1': 'added availabilityZone (default nova, indexed)',
  },
  fields: {
    ...instanceResource.fields,
    availabilityZone: f
      .string({ max: 255, pattern: /^[a-z0-9][a-z0-9-]*$/ })
      .default(DEFAULT_AVAILABILITY_ZONE)
      .indexed()
      .addedIn('1.1')
      .describe('the availability zone the instance runs in'),
  },
});

/** A stored instance at 1.1. */
export type InstanceV11Record = RecordOf<typeof instanceResourceV11>;

/**
 * The instance object of release 1.1: the 1.0 object's fields and methods plus
 * `availabilityZone`.
 *
 * @example
 * ```ts
 * const vm = await InstanceV11.get(ctx, stores, id);
 * vm.availabilityZone; // 'nova' for an instance written by 1.0
 * ```
 */
export const InstanceV11 = defineObject(instanceResourceV11, {
  namespace: 'compute',
  methods: instanceMethods,
});

/** An instance object of release 1.1. */
export type InstanceV11Object = ObjectOf<
  typeof instanceResourceV11,
  { isBusy(): boolean; isPlaced(): boolean }
>;

/**
 * Every object release 1.1 of the compute service speaks (what `polystore schema check
 * --module src/instance-v11.ts` snapshots).
 */
export const computeObjectsV11 = new ObjectRegistry().register(InstanceV11);
