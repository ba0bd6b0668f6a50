import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
  UnavailableError,
} from '@polystore/core';
import {
  type AddressAllocator,
  type Backend,
  type EvolutionBackend,
  elementsOf,
  type ResourceDriver,
  type SchemaElements,
} from '@polystore/core/adapter';
import { Migrator } from 'kysely';
import type { AllocateFn } from './dialect/allocation.js';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { isConfigProblem, isUnavailable, toCoreError } from './errors.js';
import { shortName, type TableLayout, tableLayout } from './layout.js';
import { type DdlConnection, SchemaElementsStore } from './schema-elements.js';
import { migrationName, SchemaMigrationProvider } from './schema-migration-provider.js';
import { SqlAddressAllocator } from './sql-address-allocator.js';
import { SQL_CAPABILITIES } from './sql-capabilities.js';
import type { ResolvedSqlOptions } from './sql-options.js';
import { RowCodec, type SqlDriverContext, SqlResourceDriver } from './sql-resource-driver.js';

/** What {@link SqlBackend.open} needs from a dialect. */
export interface SqlBackendSpec {
  /** The kysely instance over the opened connection or pool (owned by the backend from now on). */
  readonly db: SqlDb;
  /**
   * The kysely instance that runs the migrations at open, when it is not `db` (PostgreSQL:
   * one connection with the generous `openTimeoutMs`, so that creating a brand-new store on
   * a loaded server is not cut short by the fail-fast timeouts). Destroyed after open.
   */
  readonly migrationDb?: SqlDb;
  readonly support: DialectSupport;
  readonly allocate: AllocateFn;
  readonly options: ResolvedSqlOptions;
  /** The resources opened: a table each, and nothing for any other resource. */
  readonly resources: readonly AnyResource[];
  /**
   * PostgreSQL: opens a one-connection kysely instance with the generous `openTimeoutMs`
   * bounds, for evolution DDL (`CREATE INDEX CONCURRENTLY` may take long). Absent: DDL runs
   * on `db` (SQLite's one connection).
   */
  readonly connectDdl?: () => Promise<SqlDb>;
}

const MIGRATION_ATTEMPTS = 5;

const notOpened = (): never => {
  throw new ConfigError('sql: fixed IPs were not opened (open the network and fixedIp resources)');
};

/** The allocator of a backend opened without the network and fixedIp resources: never called by core. */
const NO_ALLOCATOR: AddressAllocator = Object.freeze({
  allocate: notOpened,
  releaseAllForInstance: notOpened,
});

/**
 * An opened SQL backend: a table per resource, created or expanded at open by kysely's
 * `Migrator` from migrations generated out of the schemas.
 */
export class SqlBackend implements Backend, EvolutionBackend {
  readonly name: string;
  readonly capabilities: Capabilities = SQL_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #base: SqlDb;
  readonly #drivers: Map<AnyResource, SqlResourceDriver>;
  readonly #options: ResolvedSqlOptions;
  readonly #elements: SchemaElementsStore;
  #closed: Promise<void> | undefined;

  private constructor(
    spec: SqlBackendSpec,
    layouts: readonly TableLayout[],
    elements: SchemaElementsStore,
  ) {
    this.name = spec.support.name;
    this.#base = spec.db;
    this.#options = spec.options;
    this.#elements = elements;
    const schema = spec.support.name === 'postgres' ? spec.options.schema : undefined;
    const ctx: SqlDriverContext = {
      db: schema === undefined ? spec.db : spec.db.withSchema(schema),
      support: spec.support,
      schema,
      maxRetries: spec.options.maxRetries,
      failFastMs: spec.support.name === 'postgres' ? spec.options.failFastMs : undefined,
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

  /** Derives the layouts, runs the pending expand migrations and returns the backend. Closes `db` on failure. */
  static async open(spec: SqlBackendSpec): Promise<SqlBackend> {
    const { prefix } = spec.options;
    const layouts = spec.resources.map((r) => tableLayout(r, prefix));
    const schema = spec.support.name === 'postgres' ? spec.options.schema : undefined;
    const migrator = new Migrator({
      db: spec.migrationDb ?? spec.db,
      provider: new SchemaMigrationProvider(layouts, spec.support, schema),
      migrationTableName: shortName(`${prefix}polystore_migration`),
      migrationLockTableName: shortName(`${prefix}polystore_migration_lock`),
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
      // Resources declared later by the application get their migrations between older ones.
      allowUnorderedMigrations: true,
    });
    const elements = SqlBackend.#elementsStore(spec);
    try {
      for (let attempt = 1; ; attempt++) {
        const { error, results } = await migrator.migrateToLatest();
        if (error === undefined) {
          await SqlBackend.#recordMigrated(spec, layouts, elements, results ?? []);
          break;
        }
        // Another process opening at the same time can win a race the migrator does not
        // lock against (creating the migration tables, SQLite's snapshot upgrade): retry.
        const fatal =
          isConfigProblem(error) ||
          (isUnavailable(error) && !/BUSY|LOCKED/.test(String((error as { code?: unknown }).code)));
        if (fatal || attempt >= MIGRATION_ATTEMPTS) throw toCoreError(error);
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt * Math.random()));
      }
    } catch (err) {
      await spec.db.destroy().catch(() => {});
      throw toCoreError(err);
    } finally {
      await spec.migrationDb?.destroy().catch(() => {});
    }
    return new SqlBackend(spec, layouts, elements);
  }

  static #elementsStore(spec: SqlBackendSpec): SchemaElementsStore {
    const { connectDdl, db } = spec;
    return new SchemaElementsStore({
      support: spec.support,
      schema: spec.support.name === 'postgres' ? spec.options.schema : undefined,
      prefix: spec.options.prefix,
      db,
      connect: async (): Promise<DdlConnection> => {
        if (!connectDdl) return { db, release: async () => {} };
        const own = await connectDdl();
        return { db: own, release: () => own.destroy().catch(() => {}) };
      },
    });
  }

  /**
   * Records the elements of the versions whose migrations this open ran (a brand-new
   * table: every element of each of its versions), so `appliedElements` answers for stores
   * created or upgraded by `open`. Nothing is written when no migration ran.
   */
  static async #recordMigrated(
    spec: SqlBackendSpec,
    layouts: readonly TableLayout[],
    elements: SchemaElementsStore,
    results: readonly { migrationName: string; status: string }[],
  ): Promise<void> {
    const ran = new Set(results.filter((r) => r.status === 'Success').map((r) => r.migrationName));
    if (ran.size === 0) return;
    const db = spec.migrationDb ?? spec.db;
    for (const layout of layouts) {
      for (const version of layout.versions) {
        if (ran.has(migrationName(layout, version)))
          await elements.record(db, layout, elementsOf(layout.resource, version));
      }
    }
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
   * transaction), then records them. A unique constraint that live rows violate is
   * `UniqueViolationError` and nothing of the call is applied.
   */
  async expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#check('expand');
    await this.#elements.expand(this.#layout(resource), elements);
  }

  /** Drops the indexes, unique indexes and columns (with their data) of `elements`, and their record; idempotent. */
  async contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    this.#check('contract');
    await this.#elements.contract(this.#layout(resource), elements);
  }

  /** The elements recorded in `<prefix>polystore_elements` for the resource's table (none if nothing is recorded). */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    this.#check('appliedElements');
    return this.#elements.applied(this.#layout(resource));
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
    this.#closed ??= this.#base.destroy().catch(() => {});
    return this.#closed;
  }
}
