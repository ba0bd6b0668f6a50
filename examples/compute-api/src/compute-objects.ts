import { defineObject, instanceResource, type ObjectOf, ObjectRegistry } from '@polystore/core';

/**
 * The instance object's domain methods, the same in every release of the service (the
 * 1.1 object in `instance-v11.ts` has them too).
 */
export const instanceMethods = {
  /** Whether a task is running on the instance. */
  isBusy(this: { readonly taskState: string | null }): boolean {
    return this.taskState !== null;
  },
  /** Whether the instance is placed on a compute host. */
  isPlaced(this: { readonly host: string | null }): boolean {
    return this.host !== null;
  },
};

/**
 * The compute service's instance object (release 1.0): the built-in `instance` resource's
 * fields, typed and change-tracked, with the domain rules of the instance workflow as
 * methods.
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
  methods: instanceMethods,
});

/** An instance object. */
export type InstanceObject = ObjectOf<
  typeof instanceResource,
  { isBusy(): boolean; isPlaced(): boolean }
>;

/**
 * Every object release 1.0 of the compute service speaks: what `polystore schema check`
 * snapshots and what a peer's `fromPrimitive` hydrates. (Release 1.1's are in
 * `instance-v11.ts`.)
 */
export const computeObjects = new ObjectRegistry().register(Instance);
