import type { Capabilities } from './capabilities.js';
import { type Clock, monotonicClock, systemClock } from './clock.js';
import { type CursorKey, type CursorKeyOption, cursorKeyOf } from './cursor-key.js';
import type { Backend } from './driver.js';
import { ConfigError } from './errors.js';
import { type IdGenerator, uuidv7Generator } from './id-generator.js';
import {
  CoreResourceStore,
  type StoreDeps,
  StoreKernel,
  type WritePolicy,
} from './resource-store.js';
import { type FixedIpStore, fixedIpResource } from './resources/fixed-ip.js';
import { computeResources } from './resources/index.js';
import { type InstanceStore, instanceResource } from './resources/instance.js';
import { type MigrationStore, migrationResource } from './resources/migration.js';
import { type NetworkStore, networkResource } from './resources/network.js';
import { type ServiceStore, serviceResource } from './resources/service.js';
import type { AnyResource } from './schema/resource.js';
import { RESOURCE_STORE_METHODS, type ResourceStore } from './store.js';
import { CoreFixedIpStore } from './stores/core-fixed-ip-store.js';
import { CoreMigrationStore } from './stores/core-migration-store.js';
import { CoreServiceStore } from './stores/core-service-store.js';

/**
 * The Stores bag: one store per resource. Services take it (or one store) in their
 * constructor; which backend stands behind it is decided by one URL.
 */
export interface Stores {
  readonly instances: InstanceStore;
  readonly networks: NetworkStore;
  readonly fixedIps: FixedIpStore;
  readonly migrations: MigrationStore;
  readonly services: ServiceStore;
  /** The backend's name, e.g. `postgres`. */
  readonly backend: string;
  /** The adapter's frozen capability manifest. */
  readonly capabilities: Capabilities;
  /** The store of a resource that was opened (given in `resources`, or the compute pack by default). */
  store<R extends AnyResource>(resource: R): ResourceStore<R>;
  /** Releases the backend's connections. Idempotent. */
  close(): Promise<void>;
}

/** The resource stores of the bag, by property name. */
export const STORE_NAMES = ['instances', 'networks', 'fixedIps', 'migrations', 'services'] as const;

/** The public methods of each store of the bag, with their arities, for shape checks. */
export const STORE_METHODS: Readonly<
  Record<(typeof STORE_NAMES)[number], Readonly<Record<string, number>>>
> = Object.freeze({
  instances: RESOURCE_STORE_METHODS,
  networks: RESOURCE_STORE_METHODS,
  fixedIps: Object.freeze({
    ...RESOURCE_STORE_METHODS,
    allocate: 2,
    release: 2,
    releaseAllForInstance: 2,
  }),
  migrations: Object.freeze({ ...RESOURCE_STORE_METHODS, listInProgressByHost: 2 }),
  services: Object.freeze({ ...RESOURCE_STORE_METHODS, heartbeat: 2, minimumVersion: 2 }),
});

/** Options every backend takes. */
export interface StoresOptions {
  /** Where timestamps come from (default: the system clock, made monotonic). */
  readonly clock?: Clock;
  /** How record ids are made (default: UUIDv7). */
  readonly ids?: IdGenerator;
  /**
   * The resources to open, and only these: the backend creates storage for exactly them.
   * Default: {@link computeResources}. Each is reachable through `stores.store(resource)`,
   * the compute ones also as `stores.instances` and so on.
   *
   * @example
   * ```ts
   * openStores(url, { resources: [volumeResource] }); // one table, nothing else
   * openStores(url, { resources: [...computeResources, volumeResource] });
   * ```
   */
  readonly resources?: readonly AnyResource[];
  /**
   * The secret that signs list cursors (at least 32 bytes), shared by every process that
   * must continue each other's pages. `openStores` derives one from the store URL when it
   * is left out; `createStores` without it uses a public key ({@link CursorKey.unkeyed}):
   * cursors are still bound to their query and checked, but not secret.
   */
  readonly cursorKey?: CursorKeyOption;
  /**
   * What a live-upgrade engine decides per call (the version writes use, fencing, the
   * write-only fields now). `@polystore/migrate`'s `joinFleet` passes its member here;
   * services never need to.
   */
  readonly writePolicy?: WritePolicy;
  /**
   * The lease window of the `service` resource, ms: `services.minimumVersion` ignores a
   * service whose `lastSeenAt` is older than this (a crashed process that never
   * deregistered stops holding the fleet back). Default: every service counts.
   *
   * @example
   * ```ts
   * const stores = await openStores(url, { serviceLeaseMs: 30_000 }); // heartbeat every 10 s
   * ```
   */
  readonly serviceLeaseMs?: number;
}

/**
 * The resources a backend opens and provides drivers for: `options.resources`, or the
 * compute pack when it is left out. Refuses a name or plural given twice, and fixed IPs
 * without networks (an allocation reads the network).
 */
export function resourcesOf(options: StoresOptions = {}): readonly AnyResource[] {
  const all: AnyResource[] = [];
  for (const r of options.resources ?? computeResources) {
    if (all.some((x) => x.name === r.name || x.plural === r.plural)) {
      throw new ConfigError(`resource ${r.name} (${r.plural}) is declared twice`);
    }
    all.push(r);
  }
  if (all.includes(fixedIpResource) && !all.includes(networkResource)) {
    throw new ConfigError('resource fixedIp needs the network resource: open both');
  }
  return all;
}

/**
 * Builds the public Stores bag over an opened backend. Adapters call this from their
 * `open`; services never need to.
 */
export function createStores(
  backend: Backend,
  options: StoresOptions = {},
  /** The write-only fields of each resource, read from the store (see `createCheckedStores`). */
  writeOnly?: ReadonlyMap<AnyResource, readonly string[]>,
): Stores {
  const deps: StoreDeps = {
    clock: options.clock ?? monotonicClock(systemClock),
    ids: options.ids ?? uuidv7Generator,
    capabilities: backend.capabilities,
    cursorKey: cursorKeyOf(options.cursorKey),
    ...(writeOnly ? { writeOnly } : {}),
    ...(options.writePolicy ? { writePolicy: options.writePolicy } : {}),
    ...(options.serviceLeaseMs !== undefined
      ? { serviceLeaseMs: checkLease(options.serviceLeaseMs) }
      : {}),
  };
  const byResource = new Map<AnyResource, ResourceStore<AnyResource>>();
  for (const resource of resourcesOf(options)) {
    const kernel = new StoreKernel(resource, backend.driver(resource), deps);
    let store: ResourceStore<AnyResource>;
    if (resource === fixedIpResource) {
      store = new CoreFixedIpStore(kernel as never, backend.allocator) as never;
    } else if (resource === migrationResource) {
      store = new CoreMigrationStore(kernel as never) as never;
    } else if (resource === serviceResource) {
      store = new CoreServiceStore(kernel as never) as never;
    } else {
      store = new CoreResourceStore(kernel);
    }
    byResource.set(resource, store);
  }
  return assembleStores(byResource, {
    backend: backend.name,
    capabilities: backend.capabilities,
    close: () => backend.close(),
  });
}

function checkLease(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new ConfigError(`serviceLeaseMs must be a positive integer of milliseconds, got ${ms}`);
  return ms;
}

/**
 * The Stores bag over stores already built, one per opened resource: the compute stores
 * as properties (a property of a resource that was not opened throws `ConfigError`),
 * `store(resource)` for every one, and an idempotent `close`. `createStores` uses it; so
 * does an adapter that builds its own stores (the remote client).
 */
export function assembleStores(
  byResource: ReadonlyMap<AnyResource, ResourceStore<AnyResource>>,
  info: {
    readonly backend: string;
    readonly capabilities: Capabilities;
    readonly close: () => Promise<void>;
  },
): Stores {
  let closed: Promise<void> | undefined;
  const get = <R extends AnyResource>(r: R, property: string) => {
    const store = byResource.get(r);
    if (!store)
      throw new ConfigError(
        `stores.${property}: resource ${r.name} was not opened; open it with openStores(url, { resources: [...computeResources, ...] })`,
      );
    return store as unknown as ResourceStore<R>;
  };
  return Object.freeze({
    get instances() {
      return get(instanceResource, 'instances') as InstanceStore;
    },
    get networks() {
      return get(networkResource, 'networks') as NetworkStore;
    },
    get fixedIps() {
      return get(fixedIpResource, 'fixedIps') as unknown as FixedIpStore;
    },
    get migrations() {
      return get(migrationResource, 'migrations') as unknown as MigrationStore;
    },
    get services() {
      return get(serviceResource, 'services') as unknown as ServiceStore;
    },
    backend: info.backend,
    capabilities: info.capabilities,
    store<R extends AnyResource>(resource: R): ResourceStore<R> {
      const s = byResource.get(resource);
      if (!s)
        throw new ConfigError(
          `resource ${resource.name} was not opened: give it to openStores(url, { resources })`,
        );
      return s as unknown as ResourceStore<R>;
    },
    close() {
      closed ??= info.close();
      return closed;
    },
  });
}
