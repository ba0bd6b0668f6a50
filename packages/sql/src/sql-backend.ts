import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  fixedIpResource,
  networkResource,
} from '@polystore/core';
import type { AddressAllocator, Backend, ResourceDriver } from '@polystore/core/adapter';
import { Migrator } from 'kysely';
import type { AllocateFn } from './dialect/allocation.js';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { isConfigProblem, isUnavailable, toCoreError } from './errors.js';
import { shortName, type TableLayout, tableLayout } from './layout.js';
import { SchemaMigrationProvider } from './schema-migration-provider.js';
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
export class SqlBackend implements Backend {
  readonly name: string;
  readonly capabilities: Capabilities = SQL_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #base: SqlDb;
  readonly #drivers: Map<AnyResource, SqlResourceDriver>;
  readonly #options: ResolvedSqlOptions;
  #closed: Promise<void> | undefined;

  private constructor(spec: SqlBackendSpec, layouts: readonly TableLayout[]) {
    this.name = spec.support.name;
    this.#base = spec.db;
    this.#options = spec.options;
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
    try {
      for (let attempt = 1; ; attempt++) {
        const { error } = await migrator.migrateToLatest();
        if (error === undefined) break;
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
    return new SqlBackend(spec, layouts);
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
