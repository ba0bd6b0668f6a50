import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
  type StoresOptions,
} from '@polystore/core';
import {
  type AddressAllocator,
  type Backend,
  defineCapabilities,
  type EvolutionBackend,
  type ResourceDriver,
  resourcesOf,
  type SchemaElements,
  unopenedAllocator,
} from '@polystore/core/adapter';
import { createResource, withParents } from './create-resource.js';
import { toCoreError } from './errors.js';
import { ResourceLayout } from './layout.js';
import { SchemaSteps } from './schema-steps.js';
import { ZooKeeperAddressAllocator } from './zookeeper-address-allocator.js';
import { ZooKeeperClient } from './zookeeper-client.js';
import type { ResolvedZooKeeperOptions } from './zookeeper-options.js';
import { ZooKeeperResourceDriver } from './zookeeper-resource-driver.js';

/**
 * The ZooKeeper adapter's capability manifest. A znode holds at most `jute.maxbuffer`
 * (about 1 MB, including the request around it); records are capped well below, at
 * 256 KiB, so a multi with a record and its index znodes always fits. Reads may be served
 * by a follower that lags the leader: sequentially consistent, not linearizable.
 */
export const ZOOKEEPER_CAPABILITIES: Capabilities = defineCapabilities({
  maxRecordBytes: 256 * 1024,
  reads: 'sequential',
  serverSideQueries: false,
  // The write floor lives in the schema znode whose version every write's multi checks.
  fencing: 'atomic',
  features: {},
});

/**
 * A backend over one ZooKeeper session: a generic driver per opened resource (and znodes
 * for those only) and, when `fixedIp` is opened, the address allocator.
 */
export class ZooKeeperBackend implements Backend, EvolutionBackend {
  readonly name = 'zookeeper';
  readonly capabilities = ZOOKEEPER_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #client: ZooKeeperClient;
  readonly #drivers: ReadonlyMap<AnyResource, ZooKeeperResourceDriver>;
  readonly #layouts: readonly ResourceLayout[];
  readonly #chroot: string;
  readonly #steps: SchemaSteps;

  private constructor(
    client: ZooKeeperClient,
    options: ResolvedZooKeeperOptions,
    stores: StoresOptions,
  ) {
    this.#client = client;
    this.#chroot = options.chroot;
    const drivers = new Map<AnyResource, ZooKeeperResourceDriver>();
    const layouts: ResourceLayout[] = [];
    for (const resource of resourcesOf(stores)) {
      const layout = new ResourceLayout(options.chroot, resource);
      layouts.push(layout);
      drivers.set(
        resource,
        new ZooKeeperResourceDriver(
          layout,
          client,
          ZOOKEEPER_CAPABILITIES.maxRecordBytes,
          options.cacheSize,
        ),
      );
    }
    this.#drivers = drivers;
    this.#layouts = layouts;
    this.#steps = new SchemaSteps(
      client,
      options.chroot,
      drivers,
      ZOOKEEPER_CAPABILITIES.maxRecordBytes,
    );
    const networks = drivers.get(networkResource);
    const fixedIps = drivers.get(fixedIpResource);
    // resourcesOf refuses fixedIp without network.
    this.allocator =
      networks && fixedIps
        ? new ZooKeeperAddressAllocator(client, networks.access, fixedIps.access)
        : unopenedAllocator('zookeeper');
  }

  /**
   * Connects and creates the chroot and, for each opened resource the store does not have
   * yet (no schema znode), its fixed znodes and its schema znode recording the elements of
   * the opening definition. A resource the store has gets no znode at all: its index and
   * unique directories are `expand`'s to add, and core's open refuses code that needs
   * elements the store lacks. Fails with `UnavailableError`, or `ConfigError` when
   * node-zookeeper-client is not installed or a resource is stored under its singular name
   * (an older polystore's layout).
   */
  static async open(
    options: ResolvedZooKeeperOptions,
    stores: StoresOptions = {},
  ): Promise<ZooKeeperBackend> {
    const client = await ZooKeeperClient.connect(options);
    try {
      const backend = new ZooKeeperBackend(client, options, stores);
      await client.ensurePath(options.chroot);
      client.markPermanent(
        options.chroot.split('/').map((_, i, all) => all.slice(0, i + 1).join('/')),
      );
      const drivers = backend.#layouts.map((l) => backend.#drivers.get(l.resource)!);
      const applied = await Promise.all(drivers.map((d) => d.evolution.loadSchema()));
      await Promise.all(
        backend.#layouts.map(async (layout, i) => {
          if (applied[i] === undefined && (await createResource(client, options.chroot, layout))) {
            await drivers[i]!.evolution.loadSchema();
          }
        }),
      );
      // Writes never create the fixed directories that exist (an older store may lack some
      // this definition has: a write makes those in its own multi).
      const fixed = [...new Set(backend.#layouts.flatMap((l) => withParents(l)))];
      const exists = await Promise.all(fixed.map((p) => client.countChildren(p)));
      client.markPermanent(fixed.filter((_, i) => exists[i] !== undefined));
      return backend;
    } catch (err) {
      client.close();
      throw toCoreError(err, { what: 'open' });
    }
  }

  driver(resource: AnyResource): ResourceDriver {
    return this.zooKeeperDriver(resource);
  }

  /** The driver of a resource with its ZooKeeper-specific methods (e.g. `countBelowVersion`). */
  zooKeeperDriver(resource: AnyResource): ZooKeeperResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`zookeeper backend has no resource ${resource.name}`);
    return d;
  }

  /** Requests sent over the session so far (to measure round trips). */
  get requests(): number {
    return this.#client.requests;
  }

  /** ZooKeeper clients started so far, each with a new session (replacing an expired or lost one). */
  get sessions(): number {
    return this.#client.sessions;
  }

  /** The chroot every path lives under, and the session's request and session counts. */
  describe(): Readonly<Record<string, string | number>> {
    return { chroot: this.#chroot, requests: this.requests, sessions: this.sessions };
  }

  /**
   * Adds the elements a resource lacks: the directories of new indexes and unique
   * constraints, the applied elements recorded in the schema znode (under a version check),
   * then every record entered in the new entries. A unique constraint that live records
   * violate is refused with `UniqueViolationError` before anything changes (and undone if
   * a write made a clash meanwhile). Idempotent; works for any resource, opened or not.
   */
  expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#steps.expand(resource, elements);
  }

  /**
   * Drops the elements a resource has: recorded first (so writers stop maintaining them),
   * then the directories of dropped indexes and unique constraints, and a dropped field's
   * values leave every record (revisions do not move). Idempotent.
   */
  contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#steps.contract(resource, elements);
  }

  /**
   * Makes write-only fields public: removes them from the `pending` the schema znode
   * records, under the znode's version check (read again when another client changed it).
   * Fields not write-only are ignored; a resource the store does not have has none.
   * Idempotent: nothing is written when no field changes.
   */
  publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    return this.#steps.publish(resource, fields);
  }

  /**
   * Raises the write floor of a live upgrade: from now on every insert, update and
   * allocation of `resource` that would leave a record at an object version older than
   * `floor` is refused with `WriteBelowPinError`, and nothing is written. Deletes and
   * rewrites pass. A floor lower than the recorded one changes nothing; idempotent. The
   * floor is kept in the schema znode that every write's multi checks (see
   * `SchemaSteps.setWriteFloor`): it costs writes nothing, and a client opened earlier
   * learns it at its next write without reopening.
   *
   * @example
   * ```ts
   * await backend.setWriteFloor(widget, '1.1');
   * await backend.writeFloor(widget); // '1.1'
   * ```
   */
  setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    return this.#steps.setWriteFloor(resource, floor);
  }

  /** The write floor {@link setWriteFloor} recorded for `resource`, or `undefined`. */
  writeFloor(resource: AnyResource): Promise<string | undefined> {
    return this.#steps.writeFloor(resource);
  }

  /** The elements the resource's schema znode records as applied (none when it has none). */
  appliedElements(resource: AnyResource): Promise<SchemaElements> {
    return this.#steps.appliedElements(resource);
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}
