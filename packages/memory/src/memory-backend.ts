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
  checkWriteFloor,
  deepFreeze,
  defineCapabilities,
  type EvolutionBackend,
  elementsOf,
  NO_ELEMENTS,
  type ResourceDriver,
  resourcesOf,
  type SchemaElements,
  type StoredRecord,
  UniqueViolationError,
  unopenedAllocator,
} from '@polystore/core/adapter';
import { ClosedGuard } from './closed-guard.js';
import { toCoreError } from './errors.js';
import { tableName } from './layout.js';
import { MemoryAddressAllocator } from './memory-address-allocator.js';
import { MemoryDatabase, type MemoryTable } from './memory-database.js';
import { MemoryResourceDriver } from './memory-resource-driver.js';
import { MemorySchema } from './memory-schema.js';

/** The memory adapter's capability manifest. */
export const MEMORY_CAPABILITIES: Capabilities = defineCapabilities({
  maxRecordBytes: 16 * 1024 * 1024,
  reads: 'linearizable',
  serverSideQueries: true,
  fencing: 'atomic',
  features: {},
});

/** What a {@link MemoryBackend} is opened with: the resources to open, and the database's name for `describe`. */
export interface MemoryBackendOptions extends StoresOptions {
  /** The shared database's name, for `describe` only (the caller picks the database). */
  readonly name?: string;
}

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
export class MemoryBackend implements Backend, EvolutionBackend {
  readonly name = 'memory';
  readonly capabilities = MEMORY_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #drivers = new Map<AnyResource, MemoryResourceDriver>();
  readonly #guard = new ClosedGuard();
  readonly #database: string | undefined;
  readonly #db: MemoryDatabase;

  constructor(database: MemoryDatabase = new MemoryDatabase(), options: MemoryBackendOptions = {}) {
    this.#database = options.name || undefined;
    this.#db = database;
    let allocator = unopenedAllocator('memory');
    for (const resource of resourcesOf(options)) {
      const table = database.table(tableName(resource));
      // A brand-new table gets the elements of the opening definition; an existing one keeps its own.
      const schema = database.schema(tableName(resource), elementsOf(resource));
      if (resource === fixedIpResource) {
        // resourcesOf guarantees the network resource is opened too.
        const { driver, writer } = MemoryResourceDriver.withWriter(
          resource,
          table,
          this.#guard,
          schema,
        );
        this.#drivers.set(resource, driver);
        allocator = new MemoryAddressAllocator(
          database.table(tableName(networkResource)),
          writer,
          this.#guard,
        );
      } else {
        this.#drivers.set(resource, new MemoryResourceDriver(resource, table, this.#guard, schema));
      }
    }
    this.allocator = allocator;
  }

  driver(resource: AnyResource): ResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`memory backend has no resource ${resource.name}`);
    return d;
  }

  /**
   * Applies the elements the table lacks (memory has no columns: a field is recorded;
   * an index or unique constraint gets the entries of every record). A unique constraint
   * that live records violate is refused with `UniqueViolationError` before anything
   * changes. Works for any resource, opened or not (its table is created if need be).
   */
  async expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#evolve('expand', resource, (table, schema) => {
      for (const fields of elements.uniques) {
        if (schema.hasUnique(fields)) continue;
        const ids = MemorySchema.clashes(table.values(), fields);
        if (ids.length > 0) throw new UniqueViolationError(resource.name, fields, ids);
      }
      schema.add(elements, table.values());
    });
  }

  /**
   * Drops the elements the table has: index and unique entries go, and a dropped field's
   * values are removed from every record (as a dropped column loses its data; revisions
   * do not move).
   */
  async contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#evolve('contract', resource, (table, schema) => {
      schema.drop(elements);
      const dropped = elements.fields.map((f) => f.name);
      if (dropped.length === 0) return;
      for (const [id, r] of table) {
        if (!dropped.some((f) => Object.hasOwn(r, f))) continue;
        const next: Record<string, unknown> = { ...r };
        for (const f of dropped) delete next[f];
        table.set(id, deepFreeze(next as StoredRecord));
      }
    });
  }

  /** Makes write-only fields of the table public; idempotent. A table never created stays so. */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    this.#guard.check('publish');
    if (!this.#db.tableNames().includes(tableName(resource))) return;
    this.#evolve('publish', resource, (_table, schema) => schema.publish(fields));
  }

  /** Raises the table's write floor: writes below `floor` are refused with `WriteBelowPinError`. */
  async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    checkWriteFloor(resource, floor);
    this.#evolve('setWriteFloor', resource, (_table, schema) => schema.raiseFloor(floor));
  }

  /** The table's write floor, if one was set (none for a table never created, which stays so). */
  async writeFloor(resource: AnyResource): Promise<string | undefined> {
    this.#guard.check('writeFloor');
    if (!this.#db.tableNames().includes(tableName(resource))) return undefined;
    return this.#evolve('writeFloor', resource, (_table, schema) => schema.floor());
  }

  /**
   * The applied elements of each opened resource's table, read at open (a table created by
   * this open records its definition's elements).
   */
  appliedAtOpen(): Map<AnyResource, SchemaElements> {
    return new Map(
      [...this.#drivers.keys()].map((r) => [
        r,
        this.#evolve('open', r, (_table, schema) => schema.applied()),
      ]),
    );
  }

  /** The elements the table records as applied (none for a table never created). */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    if (!this.#db.tableNames().includes(tableName(resource))) {
      this.#guard.check('appliedElements');
      return NO_ELEMENTS;
    }
    return this.#evolve('appliedElements', resource, (_table, schema) => schema.applied());
  }

  /**
   * One evolution step over a resource's table and schema, refused once closed, errors
   * through `toCoreError`. A table not created yet is created as an open would (with the
   * elements of `resource`'s definition), so a later open finds it consistent.
   */
  #evolve<T>(
    operation: string,
    resource: AnyResource,
    step: (table: MemoryTable, schema: MemorySchema) => T,
  ): T {
    try {
      this.#guard.check(operation);
      const name = tableName(resource);
      return step(this.#db.table(name), this.#db.schema(name, elementsOf(resource)));
    } catch (err) {
      throw toCoreError(err, { operation, resource: resource.name });
    }
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
