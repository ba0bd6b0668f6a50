import {
  type AnyResource,
  type Capabilities,
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
 * A backend over one Redis connection: a generic driver per resource, all in one
 * namespace (`<prefix>{<namespace>}:`), and the address allocator.
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly capabilities = REDIS_CAPABILITIES;
  readonly allocator: RedisAddressAllocator;
  /** The connection shared by every driver. */
  readonly connection: RedisConnection;
  /** The key prefix of the namespace, `<prefix>{<namespace>}:`. */
  readonly keyspace: string;
  readonly #drivers = new Map<AnyResource, RedisResourceDriver>();

  constructor(connection: RedisConnection, prefix: string, namespace: string) {
    this.connection = connection;
    this.keyspace = keyspace(prefix, namespace);
    this.allocator = new RedisAddressAllocator(
      connection,
      this.driver(networkResource).layout,
      this.driver(fixedIpResource).layout,
    );
  }

  /** The key prefix every record of this store lives under. */
  describe(): Readonly<Record<string, string>> {
    return { keyspace: this.keyspace };
  }

  /** The driver of a resource, built on first use from its schema (any resource works). */
  driver(resource: AnyResource): RedisResourceDriver {
    let d = this.#drivers.get(resource);
    if (!d) {
      d = new RedisResourceDriver(this.connection, new ResourceLayout(resource, this.keyspace));
      this.#drivers.set(resource, d);
    }
    return d;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
