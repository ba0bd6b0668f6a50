import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
  UnavailableError,
} from '@polystore/core';
import {
  type Backend,
  checkWriteFloor,
  compareCodePoints,
  defineCapabilities,
  type EvolutionBackend,
  elementsOf,
  NO_ELEMENTS,
  type SchemaElements,
  UniqueViolationError,
} from '@polystore/core/adapter';
import { decodeElements, encodeElements } from './applied-elements.js';
import { isReplyError } from './errors.js';
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
  // Every write script reads the resource's write floor itself (see setWriteFloor).
  fencing: 'atomic',
  features: {},
});

/**
 * Records one expand or contract step enters or strips (a quarter of the keys it looks at
 * while unlinking an element's keys): a few milliseconds of the server's time per script,
 * like a purge batch.
 */
const EVOLVE_BATCH = 500;

/** Whether an error says the connection may not write (`READONLY`, `NOPERM`). */
function mayNotWrite(err: unknown): boolean {
  const reply = err instanceof Error ? err.cause : undefined;
  return isReplyError(reply) && /^(READONLY|NOPERM)\b/.test((reply as Error).message);
}

/**
 * A backend over one Redis connection: a generic driver per opened resource, all in one
 * namespace (`<prefix>{<namespace>}:`), and the address allocator when `fixedIp` is opened.
 * Opening writes only the applied elements of an opened resource that has none recorded
 * (a brand-new store: those of the opener's definition); its other keys appear with its
 * first record.
 *
 * Schema evolution: the applied elements of a resource are one string key
 * (`<plural>:schema`); `expand` and `contract` are each a series of bounded scripts whose
 * state is in that key, so a refused call ends with nothing applied and one cut short goes
 * on at the next call.
 */
export class RedisBackend implements Backend, EvolutionBackend {
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

  /**
   * Records the elements of each opened resource's definition where none are recorded yet
   * (`SET NX`): what a brand-new store has. A resource with elements recorded is only read
   * (one `GET`), so an open by other code writes nothing to it. A connection that may not
   * write (a read-only replica, an ACL user without `SET`) opens as before and records
   * nothing. Refuses with `ConfigError` a resource whose keys an older polystore named by
   * the singular (`instance:` rather than `instances:`), rather than open it as empty.
   */
  async recordNewSchemas(): Promise<void> {
    await Promise.all(this.#resources.map((resource) => this.#recordNewSchema(resource)));
  }

  async #recordNewSchema(resource: AnyResource): Promise<void> {
    const l = new ResourceLayout(resource, this.keyspace);
    if ((await this.connection.text(l.schemaKey, 'open')) !== undefined) return;
    if (resource.name !== resource.plural) {
      const legacy = `${this.keyspace}${resource.name}:`;
      const found = await this.connection.countExisting(
        [`${legacy}schema`, `${legacy}versions`],
        'open',
      );
      if (found > 0) {
        throw new ConfigError(
          `redis: ${resource.name} is stored under ${legacy}, the key base of an older polystore; this one names keys by the plural (${l.base}). Rename every key under ${legacy} to the same key under ${l.base} (no value holds a key name), then open again`,
        );
      }
    }
    await this.connection
      .setIfAbsent(l.schemaKey, encodeElements(elementsOf(resource)), 'open')
      .catch((err: unknown) => {
        if (!mayNotWrite(err)) throw err;
      });
  }

  /**
   * Adds the elements a resource lacks (a field is recorded; an index or unique constraint
   * gets the entries of every record) in steps of one script each, none entering more than
   * {@link EVOLVE_BATCH} records, so the server is never blocked for long (see expand.lua).
   * From its first step every write keeps the new elements too; they become applied at
   * once when the last record is entered. A unique constraint that live records violate is
   * refused with `UniqueViolationError` naming every one of them, after its keys are
   * removed again, so nothing of the call is applied. The state is in the server: an expand
   * cut short (a crash, a timeout) goes on from its last step at the next call, and calls
   * running at once share the work. Works for any resource, opened or not.
   */
  async expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    const l = new ResourceLayout(resource, this.keyspace);
    const args = [
      l.base,
      l.global ? '1' : '0',
      encodeElements(elementsOf(resource)),
      encodeElements(elements),
      EVOLVE_BATCH,
    ];
    for (;;) {
      const reply = (await this.connection.script('expand', l.schemaKey, args)) as [
        string,
        ...string[],
      ];
      if (reply[0] === 'ok') return;
      if (reply[0] === 'more') continue;
      if (reply[0] === 'contracting') {
        // A contract cut short is finished first (its steps would unlink what this adds).
        await this.#contractSteps(l, NO_ELEMENTS, resource);
        continue;
      }
      if (reply[0] === 'violation') {
        const fields = String(reply[1]).split(',');
        const ids = reply.slice(2).map(String).sort(compareCodePoints);
        throw new UniqueViolationError(resource.name, fields, ids);
      }
      throw new UnavailableError(
        `redis expand: unexpected script reply ${JSON.stringify(reply[0])}`,
      );
    }
  }

  /**
   * Drops the elements a resource has, in steps of one script each, none walking more than
   * {@link EVOLVE_BATCH} records or looking at more than four times as many keys (see
   * contract.lua): a dropped field's values leave every record (revisions do not move),
   * then every key of a dropped index or unique constraint is unlinked. Writes stop keeping
   * the dropped elements from the first step; {@link appliedElements} reports them until the
   * last. The state is in the server: a contract cut short (a crash, a timeout) goes on from
   * its last step at the next call, by this client or another, and calls running at once
   * share the work. Works for any resource, opened or not.
   */
  async contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    await this.#contractSteps(new ResourceLayout(resource, this.keyspace), elements, resource);
  }

  async #contractSteps(
    l: ResourceLayout,
    elements: SchemaElements,
    resource: AnyResource,
  ): Promise<void> {
    const args = [
      l.base,
      encodeElements(elementsOf(resource)),
      encodeElements(elements),
      EVOLVE_BATCH,
    ];
    for (;;) {
      const reply = (await this.connection.script('contract', l.schemaKey, args)) as [string];
      if (reply[0] === 'ok') return;
      if (reply[0] !== 'more') {
        throw new UnavailableError(
          `redis contract: unexpected script reply ${JSON.stringify(reply[0])}`,
        );
      }
    }
  }

  /**
   * Makes write-only fields public (drops them from the schema key's pending fields), in
   * one script; fields that are public already or not applied are ignored. Idempotent.
   */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    const l = new ResourceLayout(resource, this.keyspace);
    await this.connection.script('publish', l.schemaKey, [...fields]);
  }

  /**
   * Raises the write floor of a live upgrade: from now on every insert, update and
   * allocation of `resource` that would leave a record at an object version older than
   * `floor` is refused with `WriteBelowPinError` by the write's own script, which reads
   * the floor key (`<plural>:floor`) in the same atomic step; so a process left behind
   * cannot land a write below it however long it was paused, and nothing caches the floor.
   * Deletes and rewrites pass. One script: a floor lower than the recorded one changes
   * nothing; idempotent. Works for every resource, opened or not.
   *
   * @example
   * ```ts
   * await backend.setWriteFloor(widget, '1.1');
   * await backend.writeFloor(widget); // '1.1'
   * ```
   */
  async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    checkWriteFloor(resource, floor);
    const l = new ResourceLayout(resource, this.keyspace);
    await this.connection.script('setFloor', l.floorKey, [floor]);
  }

  /** The write floor {@link setWriteFloor} recorded for `resource`, or `undefined`. */
  async writeFloor(resource: AnyResource): Promise<string | undefined> {
    const l = new ResourceLayout(resource, this.keyspace);
    return this.connection.text(l.floorKey, 'writeFloor');
  }

  /** The elements the resource's schema key records as applied (none when it has no key). */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    const l = new ResourceLayout(resource, this.keyspace);
    const text = await this.connection.text(l.schemaKey, 'appliedElements');
    if (text === undefined) return NO_ELEMENTS;
    try {
      return decodeElements(text, resource);
    } catch (err) {
      throw new ConfigError(
        `redis: the applied elements of ${resource.name} under ${l.base} are not JSON: the namespace holds foreign data`,
        { cause: err },
      );
    }
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
