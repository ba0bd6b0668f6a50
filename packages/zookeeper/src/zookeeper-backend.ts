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
  type ResourceDriver,
  resourcesOf,
} from '@polystore/core/adapter';
import { ResourceLayout } from './layout.js';
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
  features: {},
});

/** The allocator of a backend that did not open fixed IPs: core never calls it, a tool that does is told why. */
const NO_FIXED_IPS: AddressAllocator = Object.freeze({
  async allocate(): Promise<never> {
    throw new ConfigError('zookeeper: resource fixedIp was not opened');
  },
  async releaseAllForInstance(): Promise<never> {
    throw new ConfigError('zookeeper: resource fixedIp was not opened');
  },
});

/**
 * A backend over one ZooKeeper session: a generic driver per opened resource (and znodes
 * for those only) and, when `fixedIp` is opened, the address allocator.
 */
export class ZooKeeperBackend implements Backend {
  readonly name = 'zookeeper';
  readonly capabilities = ZOOKEEPER_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #client: ZooKeeperClient;
  readonly #drivers: ReadonlyMap<AnyResource, ZooKeeperResourceDriver>;
  readonly #layouts: readonly ResourceLayout[];
  readonly #chroot: string;

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
    const networks = drivers.get(networkResource);
    const fixedIps = drivers.get(fixedIpResource);
    // resourcesOf refuses fixedIp without network.
    this.allocator =
      networks && fixedIps
        ? new ZooKeeperAddressAllocator(client, networks.access, fixedIps.access)
        : NO_FIXED_IPS;
  }

  /**
   * Connects and creates the chroot and the fixed znodes of the opened resources (and no
   * others). Fails with `UnavailableError`, or `ConfigError` when node-zookeeper-client is
   * not installed.
   */
  static async open(
    options: ResolvedZooKeeperOptions,
    stores: StoresOptions = {},
  ): Promise<ZooKeeperBackend> {
    const client = await ZooKeeperClient.connect(options);
    try {
      const backend = new ZooKeeperBackend(client, options, stores);
      await client.ensurePath(options.chroot);
      // Roots first, then their children: each level is one round of concurrent creates.
      const paths = backend.#layouts.flatMap((l) => l.staticPaths());
      const levels = new Map<number, Set<string>>();
      for (const p of paths) {
        const parts = p.split('/');
        for (let i = options.chroot.split('/').length + 1; i <= parts.length; i++) {
          const prefix = parts.slice(0, i).join('/');
          const depth = i;
          if (!levels.has(depth)) levels.set(depth, new Set());
          levels.get(depth)!.add(prefix);
        }
      }
      for (const depth of [...levels.keys()].sort((a, b) => a - b)) {
        await Promise.all([...levels.get(depth)!].map((p) => client.create(p)));
      }
      client.markPermanent([...levels.values()].flatMap((l) => [...l]));
      client.markPermanent(
        options.chroot.split('/').map((_, i, all) => all.slice(0, i + 1).join('/')),
      );
      return backend;
    } catch (err) {
      client.close();
      throw err;
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

  async close(): Promise<void> {
    this.#client.close();
  }
}
