import {
  type AnyResource,
  ConflictError,
  type CreateOf,
  compareVersions,
  type FieldIssue,
  type FixedIp,
  historyOf,
  InvalidInputError,
  type Network,
  type networkResource,
  type Page,
  type RequestContext,
  type Stores,
  type TASK_STATES,
  type VM_STATES,
  type Where,
} from '@polystore/core';
import { COMPUTE_RELEASES, type ComputeInstance, type ComputeRelease } from './compute-release.js';

/** A task state of an instance, or `null` when no task runs. */
export type TaskState = (typeof TASK_STATES)[number] | null;

/** A VM state of an instance. */
export type VmState = (typeof VM_STATES)[number];

/** The flavor of an instance. */
export interface Flavor {
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly rootGb: number;
}

/** What {@link ComputeService.bootInstance} takes. */
export interface BootRequest {
  /** Name shown to users. */
  readonly displayName: string;
  /** The network to take the instance's address from (own or shared). */
  readonly networkId: string;
  /** CPU, memory and disk of the instance. */
  readonly flavor: Flavor;
  /** DNS label of the guest (default `''`). */
  readonly hostname?: string;
  /** The compute host to place it on (default: none yet). */
  readonly host?: string | null;
  /** Free-form string metadata (default `{}`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Release 1.1: the availability zone (default `nova`). Refused while the fleet still
   * writes instances at 1.0, where the value would be lost.
   */
  readonly availabilityZone?: string;
}

/** What {@link ComputeService.bootInstance} returns. */
export interface BootResult {
  readonly instance: ComputeInstance;
  readonly address: FixedIp;
}

/** What {@link ComputeService.deleteInstance} returns. */
export interface DeleteResult {
  /** The instance as deleted (its `deletedAt` set). */
  readonly instance: ComputeInstance;
  /** How many fixed IPs were given back. */
  readonly released: number;
}

/** Paging options of the list methods. */
export interface PageRequest {
  /** Page size, 1 to 1000 (default 50). */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string | null;
}

/** Filters of {@link ComputeService.listInstances}. */
export interface InstanceFilter extends PageRequest {
  readonly host?: string | null;
  readonly vmState?: VmState;
  readonly taskState?: TaskState;
  /** Release 1.1: only instances of this availability zone (once `switch` made it queryable). */
  readonly availabilityZone?: string;
}

/** Filters of {@link ComputeService.listFixedIps}. */
export interface FixedIpFilter extends PageRequest {
  readonly networkId?: string;
  readonly instanceId?: string | null;
}

/** What {@link ComputeService.createNetwork} takes. */
export type NetworkRequest = Pick<
  CreateOf<typeof networkResource>,
  'label' | 'cidr' | 'gateway' | 'dnsServers' | 'vlan'
>;

/** Options of {@link ComputeService}. */
export interface ComputeServiceOptions {
  /**
   * The release the service runs (default `1.0`, the built-in `instance` resource, which
   * is what `openStores` opens by default). The Stores bag must have been opened with the
   * release's `resources`.
   */
  readonly release?: ComputeRelease;
  /**
   * The object version the store writes a resource at now: a fleet member's `pin` (see
   * `joinFleet`). Default: the release's own version. A boot that sets a field the pinned
   * version lacks is refused instead of losing the value.
   */
  readonly pin?: (resource: AnyResource) => string;
}

/**
 * The compute service: boots, lists and deletes instances, manages networks and their
 * fixed IPs. It is written against the store interfaces only; which backend stands
 * behind the `Stores` bag is the caller's choice.
 *
 * @example
 * ```ts
 * const service = new ComputeService(await openStores('memory:'));
 * const ctx = createContext({ projectId: 'p1' });
 * const net = await service.createNetwork(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
 * const { instance, address } = await service.bootInstance(ctx, {
 *   displayName: 'web-1',
 *   networkId: net.id,
 *   flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
 * });
 * ```
 */
export class ComputeService {
  readonly #stores: Stores;
  readonly #pin: ((resource: AnyResource) => string) | undefined;
  /** The release this service runs. */
  readonly release: ComputeRelease;

  constructor(stores: Stores, options: ComputeServiceOptions = {}) {
    this.#stores = stores;
    this.release = options.release ?? COMPUTE_RELEASES['1.0'];
    this.#pin = options.pin;
  }

  /** The name of the backend behind the stores, e.g. `sqlite`. */
  get backend(): string {
    return this.#stores.backend;
  }

  /** Creates a network of the caller's project. */
  createNetwork(ctx: RequestContext, request: NetworkRequest): Promise<Network> {
    return this.#stores.networks.create(ctx, request);
  }

  /** One page of the networks the caller sees (own and shared), oldest first. */
  listNetworks(ctx: RequestContext, page: PageRequest = {}): Promise<Page<Network>> {
    return this.#stores.networks.list(ctx, page);
  }

  /** One network. `NotFoundError` when the caller cannot see it. */
  getNetwork(ctx: RequestContext, id: string): Promise<Network> {
    return this.#stores.networks.get(ctx, id);
  }

  /**
   * Creates an instance and allocates it the lowest free address of the network.
   *
   * The stores give no transaction across resources, so the instance is created first
   * and deleted again if the allocation fails: a failed boot leaves no live instance.
   */
  async bootInstance(ctx: RequestContext, request: BootRequest): Promise<BootResult> {
    const { networkId, ...values } = request;
    this.#checkStorable(values);
    // Fail on a missing network before writing anything.
    await this.#stores.networks.get(ctx, networkId);
    const vm = await this.release.Instance.create(ctx, this.#stores, {
      ...values,
      taskState: 'scheduling',
    });
    try {
      const address = await this.#stores.fixedIps.allocate(ctx, {
        networkId,
        instanceId: vm.id,
      });
      return { instance: vm.toRecord(), address };
    } catch (err) {
      await vm.delete(ctx, this.#stores).catch(() => {
        // The allocation error is the one the caller needs; a failed compensation leaves
        // an instance in `scheduling` that a later delete cleans up.
      });
      throw err;
    }
  }

  /**
   * Refuses a boot that sets a field the version the store writes now lacks: during a live
   * upgrade the fleet writes the older version until `migrate` moves the pin, and a create
   * is stored in that version's shape, so the value would be dropped without a word.
   */
  #checkStorable(values: Readonly<Record<string, unknown>>): void {
    const resource = this.release.instanceResource;
    const pin = this.#pin?.(resource) ?? resource.version;
    if (compareVersions(pin, resource.version) >= 0) return;
    const known = historyOf(resource).at(pin)?.fields ?? {};
    const issues: FieldIssue[] = Object.keys(values)
      .filter((name) => values[name] !== undefined && !Object.hasOwn(known, name))
      .map((field) => ({
        field,
        message: `is stored from ${resource.name} ${resource.version} on; the fleet still writes ${pin} (a live upgrade is under way): retry once it has migrated`,
      }));
    if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  }

  /** One page of the caller's instances, oldest first, filtered by host, states and zone. */
  async listInstances(
    ctx: RequestContext,
    filter: InstanceFilter = {},
  ): Promise<Page<ComputeInstance>> {
    const where: Where<ComputeInstance> = {
      ...(filter.host === undefined ? {} : { host: filter.host }),
      ...(filter.vmState === undefined ? {} : { vmState: filter.vmState }),
      ...(filter.taskState === undefined ? {} : { taskState: filter.taskState }),
      ...(filter.availabilityZone === undefined
        ? {}
        : { availabilityZone: filter.availabilityZone }),
    };
    const page = await this.release.Instance.list(ctx, this.#stores, {
      where,
      limit: filter.limit,
      after: filter.after,
    });
    return { items: page.items.map((vm) => vm.toRecord()), next: page.next };
  }

  /** One instance. `NotFoundError` when the caller cannot see it. */
  async getInstance(ctx: RequestContext, id: string): Promise<ComputeInstance> {
    return (await this.release.Instance.get(ctx, this.#stores, id)).toRecord();
  }

  /**
   * Moves an instance's task state, only if it currently holds one of `expected`: the
   * object's save is one atomic compare-and-set on the revision read and the task state,
   * `ConflictError` when another request moved it first.
   */
  async setTaskState(
    ctx: RequestContext,
    id: string,
    taskState: TaskState,
    expected: readonly TaskState[],
  ): Promise<ComputeInstance> {
    for (let attempt = 1; ; attempt++) {
      const vm = await this.release.Instance.get(ctx, this.#stores, id);
      vm.taskState = taskState;
      try {
        await vm.save(ctx, this.#stores, { expected: { taskState: expected } });
        return vm.toRecord();
      } catch (err) {
        // Another field changed since the read: read again, so the task state alone decides.
        if (err instanceof ConflictError && err.reason === 'revision' && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Gives back the instance's addresses, then deletes it. */
  async deleteInstance(ctx: RequestContext, id: string): Promise<DeleteResult> {
    // Check visibility first: releasing by instance id must not hint at other projects' ids.
    const vm = await this.release.Instance.get(ctx, this.#stores, id);
    const released = await this.#stores.fixedIps.releaseAllForInstance(ctx, id);
    await vm.delete(ctx, this.#stores);
    return { instance: vm.toRecord(), released };
  }

  /** One page of the caller's fixed IPs, oldest first, by network and instance. */
  listFixedIps(ctx: RequestContext, filter: FixedIpFilter = {}): Promise<Page<FixedIp>> {
    const where: Where<FixedIp> = {
      ...(filter.networkId === undefined ? {} : { networkId: filter.networkId }),
      ...(filter.instanceId === undefined ? {} : { instanceId: filter.instanceId }),
    };
    return this.#stores.fixedIps.list(ctx, { where, limit: filter.limit, after: filter.after });
  }
}
