import { defineObject, instanceResource, type ObjectOf, ObjectRegistry } from '@polystore/core';

/**
 * The compute service's instance object: the `instance` resource's fields, typed and
 * change-tracked, with the domain rules of the instance workflow as methods.
 *
 * @example
 * ```ts
 * const vm = await Instance.get(ctx, stores, id);
 * vm.taskState = 'spawning';
 * await vm.save(ctx, stores, { expected: { taskState: [null, 'scheduling'] } });
 * ```
 */
export const Instance = defineObject(instanceResource, {
  namespace: 'compute',
  methods: {
    /** Whether a task is running on the instance. */
    isBusy(): boolean {
      return this.taskState !== null;
    },
    /** Whether the instance is placed on a compute host. */
    isPlaced(): boolean {
      return this.host !== null;
    },
  },
});

/** An instance object. */
export type InstanceObject = ObjectOf<
  typeof instanceResource,
  { isBusy(): boolean; isPlaced(): boolean }
>;

/**
 * Every object this release of the compute service speaks: what `polystore schema
 * check` snapshots and what a peer's `fromPrimitive` hydrates.
 */
export const computeObjects = new ObjectRegistry().register(Instance);
