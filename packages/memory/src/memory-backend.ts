import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
} from '@polystore/core';
import {
  type Backend,
  defineCapabilities,
  type ResourceDriver,
  resourcesOf,
} from '@polystore/core/adapter';
import { ClosedGuard } from './closed-guard.js';
import { MemoryAddressAllocator } from './memory-address-allocator.js';
import type { MemoryOptions } from './memory-options.js';
import { MemoryResourceDriver } from './memory-resource-driver.js';
import { MemoryDatabase } from './memory-table.js';

/** The memory adapter's capability manifest. */
export const MEMORY_CAPABILITIES: Capabilities = defineCapabilities({
  maxRecordBytes: 16 * 1024 * 1024,
  reads: 'linearizable',
  serverSideQueries: true,
  features: {},
});

/**
 * An in-memory backend. Records live in a {@link MemoryDatabase}; several backends over
 * one database behave like several clients of one server.
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly capabilities = MEMORY_CAPABILITIES;
  readonly allocator: MemoryAddressAllocator;
  readonly #drivers = new Map<AnyResource, MemoryResourceDriver>();
  readonly #guard = new ClosedGuard();
  readonly #database: string | undefined;

  constructor(database: MemoryDatabase = new MemoryDatabase(), options: MemoryOptions = {}) {
    this.#database = options.name;
    for (const resource of resourcesOf(options)) {
      this.#drivers.set(
        resource,
        new MemoryResourceDriver(resource, database.table(resource.name), this.#guard),
      );
    }
    this.allocator = new MemoryAddressAllocator(
      database.table(networkResource.name),
      this.#drivers.get(fixedIpResource)!,
      this.#guard,
    );
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
