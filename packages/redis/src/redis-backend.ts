import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
} from '@polystore/core';
import { type Backend, defineCapabilities } from '@polystore/core/adapter';
import { keyspace, ResourceLayout } from './layout.js';
import { RedisAddressAllocator } from './redis-address-allocator.js';
import type { RedisConnection } from './redis-connection.js';
import { RedisResourceDriver } from './redis-resource-driver.js';

/** The Redis adapter's capability manifest. */
export const REDIS_CAPABILITIES: Capabilities = defineCapabilities({
  // Far below Redis' 512 MB string limit: a record is rewritten field by field and read
  // whole by list pages, which block the server while they run.
  maxRecordBytes: 512 * 1024,
  // One server (or one primary per slot); every read and write runs on it in order.
  reads: 'linearizable',
  serverSideQueries: true,
  features: {},
});

/**
 * A backend over one Redis connection: a generic driver per opened resource, all in one
 * namespace (`<prefix>{<namespace>}:`), and the address allocator when `fixedIp` is opened.
 * Opening writes nothing: a resource's keys appear with its first record.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly capabilities = REDIS_CAPABILITIES;
  /** The connection shared by every driver. */
  readonly connection: RedisConnection;
  /** The key prefix of the namespace, `<prefix>{<namespace>}:`. */
  readonly keyspace: string;
  readonly #resources: readonly AnyResource[];
  readonly #drivers = new Map<AnyResource, RedisResourceDriver>();
  #allocator: RedisAddressAllocator | undefined;

  constructor(
    connection: RedisConnection,
    prefix: string,
    namespace: string,
    resources: readonly AnyResource[],
  ) {
    this.connection = connection;
    this.keyspace = keyspace(prefix, namespace);
    this.#resources = resources;
  }

  /** The key prefix every record of this store lives under. */
  describe(): Readonly<Record<string, string>> {
    return { keyspace: this.keyspace };
  }

  /** The driver of an opened resource, built on first use from its schema. */
  driver(resource: AnyResource): RedisResourceDriver {
    let d = this.#drivers.get(resource);
    if (!d) {
      d = new RedisResourceDriver(this.connection, this.#layout(resource));
      this.#drivers.set(resource, d);
    }
    return d;
  }

  /** The address allocator over `network` and `fixedIp`; only when `fixedIp` is opened. */
  get allocator(): RedisAddressAllocator {
    this.#allocator ??= new RedisAddressAllocator(
      this.connection,
      this.#layout(networkResource),
      this.#layout(fixedIpResource),
    );
    return this.#allocator;
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  #layout(resource: AnyResource): ResourceLayout {
    if (!this.#resources.includes(resource)) {
      throw new ConfigError(
        `redis: resource ${resource.name} was not opened; open it with openStores(url, { resources: [...] })`,
      );
    }
    return new ResourceLayout(resource, this.keyspace);
  }
}
