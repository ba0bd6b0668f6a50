import {
  type AnyResource,
  ConfigError,
  computeResources,
  type Instance as InstanceV10Record,
  instanceResource,
  type ListOptions,
  type Page,
  type RequestContext,
  type Stores,
} from '@polystore/core';
import { Instance } from './compute-objects.js';
import { InstanceV11, type InstanceV11Record, instanceResourceV11 } from './instance-v11.js';

/** An instance as a release of the service returns it (1.1 adds `availabilityZone`). */
export type ComputeInstance = InstanceV10Record | InstanceV11Record;

/** A task state of an instance, or `null` when no task runs. */
type TaskStateValue = ComputeInstance['taskState'];

/** What the service does with an instance object, whichever release's class made it. */
export interface InstanceHandle {
  readonly id: string;
  taskState: TaskStateValue;
  /** Saves the changes, compare-and-swap on the revision read and `expected`. */
  save(
    ctx: RequestContext,
    stores: Stores,
    options?: { readonly expected?: { readonly taskState?: readonly TaskStateValue[] } },
  ): Promise<unknown>;
  /** Deletes the record if it is still at the revision read. */
  delete(ctx: RequestContext, stores: Stores): Promise<unknown>;
  /** The record as last read or written. */
  toRecord(): ComputeInstance;
}

/** The values a boot creates an instance with. */
export type InstanceValues = Readonly<Record<string, unknown>>;

/** The instance object class of a release, as the service uses it. */
export interface InstanceClass {
  get(ctx: RequestContext, stores: Stores, id: string): Promise<InstanceHandle>;
  create(ctx: RequestContext, stores: Stores, values: InstanceValues): Promise<InstanceHandle>;
  list(
    ctx: RequestContext,
    stores: Stores,
    options?: ListOptions<ComputeInstance>,
  ): Promise<Page<InstanceHandle>>;
}

/** The names of the releases this example can run. */
export const COMPUTE_RELEASE_NAMES = ['1.0', '1.1'] as const;

/** The name of a release of the example service. */
export type ComputeReleaseName = (typeof COMPUTE_RELEASE_NAMES)[number];

/**
 * One release of the compute service: the definition of the `instance` resource its code
 * has, its object class and every resource it opens. A real service has one release per
 * build; this example carries two so one checkout can show a live upgrade from one to
 * the other.
 */
export interface ComputeRelease {
  /** `1.0` or `1.1`: what a fleet member reports as its release. */
  readonly name: ComputeReleaseName;
  /** The `instance` resource as this release defines it. */
  readonly instanceResource: AnyResource;
  /** The instance object class of this release. */
  readonly Instance: InstanceClass;
  /** What the release opens: the compute pack, with its own `instance` definition. */
  readonly resources: readonly AnyResource[];
  /**
   * The instance fields this release adds over 1.0: accepted by `POST /v1/instances` and
   * as filters of `GET /v1/instances`.
   */
  readonly addedInstanceFields: readonly string[];
}

function release(
  name: ComputeReleaseName,
  resource: AnyResource,
  objects: InstanceClass,
  addedInstanceFields: readonly string[],
): ComputeRelease {
  return Object.freeze({
    name,
    instanceResource: resource,
    Instance: objects,
    resources: Object.freeze(computeResources.map((r) => (r === instanceResource ? resource : r))),
    addedInstanceFields: Object.freeze([...addedInstanceFields]),
  });
}

/**
 * The releases of the example service: `1.0` runs the built-in `instance` resource, `1.1`
 * its own definition with `availabilityZone` added ({@link instanceResourceV11}).
 *
 * @example
 * ```ts
 * const { resources } = COMPUTE_RELEASES['1.1'];
 * const upgrade = await openUpgrade(url, { resources }); // expand / migrate / switch to 1.1
 * ```
 */
export const COMPUTE_RELEASES: Readonly<Record<ComputeReleaseName, ComputeRelease>> = Object.freeze(
  {
    '1.0': release('1.0', instanceResource, Instance, []),
    '1.1': release('1.1', instanceResourceV11, InstanceV11, ['availabilityZone']),
  },
);

/** The release named `name` (e.g. from `COMPUTE_RELEASE`); `ConfigError` naming the known ones otherwise. */
export function computeRelease(name: string): ComputeRelease {
  if (!(COMPUTE_RELEASE_NAMES as readonly string[]).includes(name))
    throw new ConfigError(
      `unknown release ${JSON.stringify(name)}; this build runs ${COMPUTE_RELEASE_NAMES.join(' or ')}`,
    );
  return COMPUTE_RELEASES[name as ComputeReleaseName];
}
