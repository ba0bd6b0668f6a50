import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
  UnavailableError,
} from '@polystore/core';
import type {
  AddressAllocator,
  Backend,
  EvolutionBackend,
  ResourceDriver,
  SchemaElements,
} from '@polystore/core/adapter';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Pool } from 'pg';
import type { AllocateFn } from './dialect/allocation.js';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { PostgresRunner } from './dialect/postgres-runner.js';
import { SqliteRunner } from './dialect/sqlite-runner.js';
import type { StatementRunner } from './dialect/statement-runner.js';
import { toCoreError } from './errors.js';
import { type TableLayout, tableLayout } from './layout.js';
import { type DdlConnection, SchemaElementsStore } from './schema-elements.js';
import { SqlAddressAllocator } from './sql-address-allocator.js';
import { SQL_CAPABILITIES } from './sql-capabilities.js';
import type { ResolvedSqlOptions } from './sql-options.js';
import { RowCodec, type SqlDriverContext, SqlResourceDriver } from './sql-resource-driver.js';
import { SqlWriteFloor } from './sql-write-floor.js';

/** What {@link SqlBackend.open} needs from a dialect. */
export interface SqlBackendSpec {
  /** The kysely instance over the opened connection or pool (owned by the backend from now on). */
  readonly db: SqlDb;
  readonly support: DialectSupport;
  readonly allocate: AllocateFn;
  readonly options: ResolvedSqlOptions;
  /** The resources opened: a table each, and nothing for any other resource. */
  readonly resources: readonly AnyResource[];
  /**
   * PostgreSQL: opens a one-connection kysely instance with the generous `openTimeoutMs`
   * bounds, for DDL (creating a brand-new store on a loaded server; `CREATE INDEX
   * CONCURRENTLY` may take long). Absent: DDL runs on `db` (SQLite's one connection).
   */
  readonly connectDdl?: () => Promise<SqlDb>;
  /** SQLite: the better-sqlite3 handle under `db` (a brand-new store is created synchronously on it). */
  readonly sqlite?: SqliteDatabase;
  /** PostgreSQL: the `pg` pool under `db`, on which the hot statements run as named statements. */
  readonly pool?: Pool;
  /** Called once when the backend closes, after `db` is destroyed (the opener cleans up a failed open). */
  readonly onClose?: () => void;
}

const notOpened = (): never => {
  throw new ConfigError('sql: fixed IPs were not opened (open the network and fixedIp resources)');
};

/** The allocator of a backend opened without the network and fixedIp resources: never called by core. */
const NO_ALLOCATOR: AddressAllocator = Object.freeze({
  allocate: notOpened,
  releaseAllForInstance: notOpened,
});

/**
 * An opened SQL backend: a table per resource, derived from its schema. Opening creates the
 * tables of a brand-new store and records their elements; an existing table changes only
 * through `expand` and `contract`.
 */
export class SqlBackend implements Backend, EvolutionBackend {
  readonly name: string;
  readonly capabilities: Capabilities = SQL_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #base: SqlDb;
  readonly #drivers: Map<AnyResource, SqlResourceDriver>;
  readonly #options: ResolvedSqlOptions;
  readonly #elements: SchemaElementsStore;
  readonly #floor: SqlWriteFloor;
  readonly #onClose: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  private constructor(
    spec: SqlBackendSpec,
    layouts: readonly TableLayout[],
    elements: SchemaElementsStore,
  ) {
    this.name = spec.support.name;
    this.#base = spec.db;
    this.#onClose = spec.onClose;
    this.#options = spec.options;
    this.#elements = elements;
    const schema = spec.support.name === 'postgres' ? spec.options.schema : undefined;
    this.#floor = new SqlWriteFloor({
      support: spec.support,
      schema,
      prefix: spec.options.prefix,
      db: spec.db,
      ...(spec.sqlite ? { sqlite: spec.sqlite } : {}),
      connect: SqlBackend.#connector(spec),
    });
    const ctx: SqlDriverContext = {
      db: schema === undefined ? spec.db : spec.db.withSchema(schema),
      support: spec.support,
      schema,
      maxRetries: spec.options.maxRetries,
      failFastMs: spec.support.name === 'postgres' ? spec.options.failFastMs : undefined,
      runner: SqlBackend.#runners(spec),
    };
    this.#drivers = new Map(layouts.map((l) => [l.resource, new SqlResourceDriver(ctx, l)]));
    const codec = (r: AnyResource) => {
      const layout = layouts.find((l) => l.resource === r);
      return layout && new RowCodec(layout, spec.support);
    };
    const networks = codec(networkResource);
    const fixedIps = codec(fixedIpResource);
    this.allocator =
      networks && fixedIps
        ? new SqlAddressAllocator({ ctx, networks, fixedIps }, spec.allocate)
        : NO_ALLOCATOR;
  }

  /**
   * Derives the layouts, creates what a brand-new store needs (an existing table is never
   * changed: `expand` does that) and returns the backend. Closes `db` on failure.
   */
  static async open(spec: SqlBackendSpec): Promise<SqlBackend> {
    const layouts = spec.resources.map((r) => tableLayout(r, spec.options.prefix));
    const elements = SqlBackend.#elementsStore(spec);
    try {
      await elements.open(layouts);
    } catch (err) {
      await spec.db.destroy().catch(() => {});
      throw toCoreError(err);
    }
    return new SqlBackend(spec, layouts, elements);
  }

  static #elementsStore(spec: SqlBackendSpec): SchemaElementsStore {
    return new SchemaElementsStore({
      support: spec.support,
      schema: spec.support.name === 'postgres' ? spec.options.schema : undefined,
      prefix: spec.options.prefix,
      db: spec.db,
      openTimeoutMs: spec.options.openTimeoutMs,
      ...(spec.sqlite ? { sqlite: spec.sqlite } : {}),
      connect: SqlBackend.#connector(spec),
    });
  }

  /** How each driver gets its runner of prepared hot statements, on the handle or pool under `db`. */
  static #runners(spec: SqlBackendSpec): () => StatementRunner {
    const { sqlite, pool, db } = spec;
    if (sqlite) return () => new SqliteRunner(sqlite, db);
    if (pool) return () => new PostgresRunner(pool, spec.options.failFastMs);
    throw new ConfigError(`sql: ${spec.support.name} was opened without its driver's handle`);
  }

  /** How evolution DDL gets its connection: PostgreSQL's own with the open bounds, SQLite's one. */
  static #connector(spec: SqlBackendSpec): () => Promise<DdlConnection> {
    const { connectDdl, db } = spec;
    return async () => {
      if (!connectDdl) return { db, release: async () => {} };
      const own = await connectDdl();
      return { db: own, release: () => own.destroy().catch(() => {}) };
    };
  }

  #layout(resource: AnyResource): TableLayout {
    return tableLayout(resource, this.#options.prefix);
  }

  #check(operation: string): void {
    if (this.#closed) throw new UnavailableError(`sql backend is closed (${operation})`);
  }

  /**
   * Adds the columns, indexes and partial unique indexes of `elements` not recorded yet
   * (PostgreSQL: `CREATE INDEX CONCURRENTLY`, lock timeout, bounded retry; SQLite: one
   * transaction), then records them, with the fields `elements.pending` names marked
   * write-only in the same step. A unique constraint that live rows violate is
   * `UniqueViolationError` and nothing of the call is applied.
   */
  async expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#check('expand');
    await this.#elements.expand(this.#layout(resource), elements);
  }

  /**
   * Drops the indexes, unique indexes and columns (with their data) of `elements`, and their
   * record (a dropped field's write-only mark goes with its row); idempotent.
   */
  async contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#check('contract');
    await this.#elements.contract(this.#layout(resource), elements);
  }

  /**
   * Makes write-only fields public: removes their marks from `<prefix>polystore_elements` in
   * one `UPDATE`; fields not recorded or public already are ignored. Idempotent.
   */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    this.#check('publish');
    await this.#elements.publish(this.#layout(resource), fields);
  }

  /**
   * The elements recorded in `<prefix>polystore_elements` for the resource's table (none if
   * nothing is recorded), with `pending`: the fields marked write-only.
   */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    this.#check('appliedElements');
    return this.#elements.applied(this.#layout(resource));
  }

  /**
   * Raises the write floor of the resource's table (the atomic fence of a live upgrade):
   * from now on the database itself refuses, inside the writing statement, an insert at an
   * object version below `floor` and an update that leaves a record below it while not
   * changing its soft-delete mark, with `WriteBelowPinError`; deletes, soft deletes and
   * rewrites to `floor` or newer pass. Two `BEFORE` row triggers carry the floor (see
   * `SqlWriteFloor`), replaced in one transaction under the DDL lock timeout; a floor
   * not above the one in force changes nothing. Every client of the store is fenced at
   * once, without reopening.
   *
   * @example
   * ```ts
   * await backend.setWriteFloor(widget, '1.1');
   * await stores.store(widgetL).create(ctx, values); // WriteBelowPinError (written at 1.0)
   * ```
   */
  async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    this.#check('setWriteFloor');
    await this.#floor.raise(this.#layout(resource), floor);
  }

  /** The write floor in force on the resource's table, read from its trigger (`undefined`: none). */
  async writeFloor(resource: AnyResource): Promise<string | undefined> {
    this.#check('writeFloor');
    return this.#floor.read(this.#layout(resource));
  }

  driver(resource: AnyResource): ResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`sql: resource ${resource.name} was not given at open`);
    return d;
  }

  /** The driver of a resource as its concrete class (for plans and tests). */
  sqlDriver(resource: AnyResource): SqlResourceDriver {
    return this.driver(resource) as SqlResourceDriver;
  }

  /** The table prefix and, per dialect, the schema, pool and timeouts in force. */
  describe(): Readonly<Record<string, string | number>> {
    const o = this.#options;
    const common = { prefix: o.prefix, maxRetries: o.maxRetries };
    if (this.name !== 'postgres') return { ...common, busyTimeoutMs: o.busyTimeoutMs };
    return {
      ...common,
      schema: o.schema,
      poolSize: o.poolSize,
      failFastMs: o.failFastMs,
      statementTimeoutMs: o.statementTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
    };
  }

  close(): Promise<void> {
    this.#closed ??= this.#base
      .destroy()
      .catch(() => {})
      .then(() => this.#onClose?.());
    return this.#closed;
  }
}
