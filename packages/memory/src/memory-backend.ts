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
import { ClosedGuard } from './closed-guard.js';
import { tableName } from './layout.js';
import { MemoryAddressAllocator } from './memory-address-allocator.js';
import { MemoryDatabase } from './memory-database.js';
import { MemoryResourceDriver } from './memory-resource-driver.js';

/** The memory adapter's capability manifest. */
export const MEMORY_CAPABILITIES: Capabilities = defineCapabilities({
  maxRecordBytes: 16 * 1024 * 1024,
  reads: 'linearizable',
  serverSideQueries: true,
  features: {},
});

/** What a {@link MemoryBackend} is opened with: the resources to open, and the database's name for `describe`. */
export interface MemoryBackendOptions extends StoresOptions {
  /** The shared database's name, for `describe` only (the caller picks the database). */
  readonly name?: string;
}

/** The allocator of a backend that did not open fixed IPs: core never calls it, a tool that does is told why. */
const NO_FIXED_IPS: AddressAllocator = Object.freeze({
  async allocate(): Promise<never> {
    throw new ConfigError('memory: resource fixedIp was not opened');
  },
  async releaseAllForInstance(): Promise<never> {
    throw new ConfigError('memory: resource fixedIp was not opened');
  },
});

/**
 * An in-memory backend. Records live in a {@link MemoryDatabase}, one table per opened
 * resource and no other; several backends over one database behave like several clients
 * of one server.
 *
 * @example
 * ```ts
 * const backend = new MemoryBackend(MemoryDatabase.named('app'), { name: 'app' });
 * const stores = createStores(backend);
 * ```
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly capabilities = MEMORY_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #drivers = new Map<AnyResource, MemoryResourceDriver>();
  readonly #guard = new ClosedGuard();
  readonly #database: string | undefined;

  constructor(database: MemoryDatabase = new MemoryDatabase(), options: MemoryBackendOptions = {}) {
    this.#database = options.name || undefined;
    let allocator = NO_FIXED_IPS;
    for (const resource of resourcesOf(options)) {
      const table = database.table(tableName(resource));
      if (resource === fixedIpResource) {
        // resourcesOf guarantees the network resource is opened too.
        const { driver, writer } = MemoryResourceDriver.withWriter(resource, table, this.#guard);
        this.#drivers.set(resource, driver);
        allocator = new MemoryAddressAllocator(
          database.table(tableName(networkResource)),
          writer,
          this.#guard,
        );
      } else {
        this.#drivers.set(resource, new MemoryResourceDriver(resource, table, this.#guard));
      }
    }
    this.allocator = allocator;
  }

  driver(resource: AnyResource): ResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`memory backend has no resource ${resource.name}`);
    return d;
  }

  /** The shared database's name, or that it is private to this open. */
  describe(): Readonly<Record<string, string>> {
    return { database: this.#database ?? '(private to this open)' };
  }

  /** Refuses every later call with `UnavailableError`; the records stay in the database. */
  async close(): Promise<void> {
    this.#guard.close();
  }
}
