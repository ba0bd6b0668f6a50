import type {
  CreateOf,
  FixedIp,
  Instance,
  Network,
  networkResource,
  Page,
  RequestContext,
  Stores,
  TASK_STATES,
  VM_STATES,
  Where,
} from '@polystore/core';

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
}

/** What {@link ComputeService.bootInstance} returns. */
export interface BootResult {
  readonly instance: Instance;
  readonly address: FixedIp;
}

/** What {@link ComputeService.deleteInstance} returns. */
export interface DeleteResult {
  /** The instance as deleted (its `deletedAt` set). */
  readonly instance: Instance;
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

  constructor(stores: Stores) {
    this.#stores = stores;
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
    // Fail on a missing network before writing anything.
    await this.#stores.networks.get(ctx, networkId);
    const instance = await this.#stores.instances.create(ctx, {
      ...values,
      taskState: 'scheduling',
    });
    try {
      const address = await this.#stores.fixedIps.allocate(ctx, {
        networkId,
        instanceId: instance.id,
      });
      return { instance, address };
    } catch (err) {
      await this.#stores.instances.delete(ctx, instance.id).catch(() => {
        // The allocation error is the one the caller needs; a failed compensation leaves
        // an instance in `scheduling` that a later delete cleans up.
      });
      throw err;
    }
  }

  /** One page of the caller's instances, oldest first, filtered by host and states. */
  listInstances(ctx: RequestContext, filter: InstanceFilter = {}): Promise<Page<Instance>> {
    const where: Where<Instance> = {
      ...(filter.host === undefined ? {} : { host: filter.host }),
      ...(filter.vmState === undefined ? {} : { vmState: filter.vmState }),
      ...(filter.taskState === undefined ? {} : { taskState: filter.taskState }),
    };
    return this.#stores.instances.list(ctx, {
      where,
      limit: filter.limit,
      after: filter.after,
    });
  }

  /** One instance. `NotFoundError` when the caller cannot see it. */
  getInstance(ctx: RequestContext, id: string): Promise<Instance> {
    return this.#stores.instances.get(ctx, id);
  }

  /**
   * Moves an instance's task state, only if it currently holds one of `expected`: one
   * atomic compare-and-set, `ConflictError` when another request moved it first.
   */
  setTaskState(
    ctx: RequestContext,
    id: string,
    taskState: TaskState,
    expected: readonly TaskState[],
  ): Promise<Instance> {
    return this.#stores.instances.update(
      ctx,
      id,
      { taskState },
      { expected: { taskState: expected } },
    );
  }

  /** Gives back the instance's addresses, then deletes it. */
  async deleteInstance(ctx: RequestContext, id: string): Promise<DeleteResult> {
    // Check visibility first: releasing by instance id must not hint at other projects' ids.
    await this.#stores.instances.get(ctx, id);
    const released = await this.#stores.fixedIps.releaseAllForInstance(ctx, id);
    const instance = await this.#stores.instances.delete(ctx, id);
    return { instance, released };
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
