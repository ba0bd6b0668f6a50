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
  defineCapabilities,
  elementsOf,
  parseStoreUrl,
  type ResourceDriver,
  resourcesOf,
  type SchemaElements,
  unopenedAllocator,
} from '@polystore/core/adapter';
import type { Db, MongoClient, MongoClientOptions } from 'mongodb';
import { loadDriver } from './driver-loader.js';
import { mapErrors, serverError, toCoreError } from './errors.js';
import { type IndexSpec, MongoLayout, type StoredDocument } from './layout.js';
import type { OpenMongoStoresOptions } from './mongo-adapter.js';
import { MongoAddressAllocator } from './mongo-address-allocator.js';
import { checkNamespace, parseMongoUrl, resolveMongoOptions } from './mongo-options.js';
import { MongoResourceDriver } from './mongo-resource-driver.js';
import { ELEMENTS, MongoSchema } from './mongo-schema.js';
import { CLAIM_INDEXES, type ClaimDocument, RecordClaims } from './record-claims.js';

/**
 * The claims collection's name after the prefix. Resource plurals start with a lowercase
 * letter, so it never clashes with a resource's collection.
 */
const CLAIMS = '_claims';

/**
 * The MongoDB adapter's capability manifest, on MongoDB or on FerretDB with claimed writes
 * (the defaults): conditional writes are atomic across processes.
 */
export const MONGO_CAPABILITIES: Capabilities = defineCapabilities({
  // BSON documents are limited to 16 MiB; core measures records as JSON, and BSON can
  // take several times more bytes for small numbers and lists, so a quarter of it is safe.
  maxRecordBytes: 4 * 1024 * 1024,
  // With the default read concern a replica-set read may miss a write acknowledged by
  // another client a moment ago only across a failover; nothing stronger is promised.
  reads: 'sequential',
  serverSideQueries: true,
  atomicWrites: 'processes',
  // A live upgrade's write floor is not enforced by the server here (a claimed write is
  // several commands, and FerretDB v1 has no multi-document transaction to hold a floor
  // check and the write together): a process left behind is fenced by its own lease only.
  fencing: 'process',
  features: {},
});

/**
 * The manifest on FerretDB v1 with `claimWrites: false`: its `findAndModify` is a read and
 * an unconditional write, so conditional writes are atomic within one process at best.
 */
export const MONGO_UNCLAIMED_CAPABILITIES: Capabilities = defineCapabilities({
  ...MONGO_CAPABILITIES,
  atomicWrites: 'process',
});

/**
 * A backend over one MongoDB database (or FerretDB, which speaks its wire protocol):
 * a collection per resource with the indexes its schema implies, created by the open that
 * finds the resource brand-new and changed only by `expand` and `contract` after that.
 *
 * @example
 * ```ts
 * const backend = await MongoBackend.open('mongodb://127.0.0.1:27017/app?prefix=ps_');
 * const stores = createStores(backend);
 * ```
 */
export class MongoBackend implements Backend {
  readonly name = 'mongo';
  readonly capabilities: Capabilities;
  readonly allocator: AddressAllocator;
  readonly #client: MongoClient;
  readonly #drivers: ReadonlyMap<AnyResource, MongoResourceDriver>;
  readonly #schema: MongoSchema;
  readonly #description: Readonly<Record<string, string | number | boolean>>;
  #closed: Promise<void> | undefined;

  private constructor(
    client: MongoClient,
    db: Db,
    prefix: string,
    schema: MongoSchema,
    resources: ReadonlyMap<AnyResource, readonly string[]>,
    writes: {
      readonly lockScope: string | undefined;
      readonly claims: RecordClaims | undefined;
      readonly failFastMs: number;
    },
    capabilities: Capabilities,
  ) {
    this.#client = client;
    this.#schema = schema;
    this.capabilities = capabilities;
    this.#description = Object.freeze({
      database: db.databaseName,
      prefix,
      failFastMs: writes.failFastMs,
      serializeWrites: writes.lockScope !== undefined,
      claimWrites: writes.claims !== undefined,
    });
    const drivers = new Map<AnyResource, MongoResourceDriver>();
    let allocator: AddressAllocator = unopenedAllocator('mongo');
    for (const [resource, marked] of resources) {
      const layout = new MongoLayout(resource, prefix, marked);
      const collection = db.collection<StoredDocument>(layout.collection);
      if (resource === fixedIpResource) {
        const { driver, writer } = MongoResourceDriver.withWriter(layout, collection, writes);
        drivers.set(resource, driver);
        // `resourcesOf` opens fixed IPs only together with networks.
        const networks = new MongoLayout(networkResource, prefix).collection;
        allocator = new MongoAddressAllocator(db.collection<StoredDocument>(networks), writer);
      } else {
        drivers.set(resource, new MongoResourceDriver(layout, collection, writes));
      }
    }
    this.#drivers = drivers;
    this.allocator = allocator;
  }

  /**
   * Connects and returns the backend. Of the resources of `resourcesOf(options)`, only one
   * with no elements recorded in `<prefix>_elements` (see `MongoSchema`), a brand-new one,
   * gets anything: the indexes of its definition, then its record. An existing one is left
   * as it is, whatever its definition here says (`expand` adds elements; core's open
   * refuses a store that lacks some this code needs). `url` may be a replica-set seed list.
   * Fails with `UnavailableError` when the server cannot be reached within
   * `serverSelectionTimeoutMS`, `ConfigError` on a bad URL or option.
   */
  static async open(
    url: string | URL,
    options: OpenMongoStoresOptions = {},
  ): Promise<MongoBackend> {
    const raw = typeof url === 'string' ? url : url.href;
    const parsed = parseMongoUrl(raw);
    const resolved = resolveMongoOptions(
      typeof url === 'string' ? parseStoreUrl(url) : url,
      options.adapter,
    );
    const { database, prefix, failFastMs } = resolved;
    const resources = resourcesOf(options);
    checkNamespace(database, prefix, [
      ...resources.map((r) => `${prefix}${r.plural}`),
      `${prefix}${CLAIMS}`,
      `${prefix}${ELEMENTS}`,
    ]);
    const clientOptions: MongoClientOptions = {
      ...resolved.clientOptions,
      serverSelectionTimeoutMS: resolved.serverSelectionTimeoutMS,
      connectTimeoutMS: resolved.connectTimeoutMS,
      // A command given up with its call (see `bounded`) still holds its connection until
      // this; no longer than the bound, so the pool is free again soon after.
      socketTimeoutMS: resolved.socketTimeoutMS,
      maxPoolSize: resolved.maxPoolSize,
    };
    // The driver waits for a free pooled connection forever by default; bound it too, so
    // that no command can hang whatever the server does.
    clientOptions.waitQueueTimeoutMS ??= failFastMs;
    // Imported on first open: `mongodb` is an optional peer dependency.
    const driver = await loadDriver();
    let client: MongoClient;
    try {
      client = new driver.MongoClient(parsed.clientUrl, clientOptions);
    } catch (err) {
      throw toCoreError(err, { operation: 'open: URL or client options', configuring: true });
    }
    try {
      const db = client.db(database);
      await mapErrors('open: connect', () => client.connect());
      const ferret = await isFerretDb(db);
      const serialize = resolved.serializeWrites ?? ferret;
      const lockScope = serialize ? `${parsed.hosts}/${database}` : undefined;
      const claimed = resolved.claimWrites ?? ferret;
      const claims = claimed
        ? new RecordClaims(db.collection<ClaimDocument>(`${prefix}${CLAIMS}`), {
            staleMs: resolved.claimTimeoutMS,
            // The call's bound cuts the wait off anyway; this ends it with a clearer message.
            waitMs: failFastMs,
          })
        : undefined;
      const capabilities = claimed || !ferret ? MONGO_CAPABILITIES : MONGO_UNCLAIMED_CAPABILITIES;
      // Its `expand` writes markers into records: guarded as the drivers' writes are.
      const schema = new MongoSchema(db, prefix, { lockScope, claims });
      // A resource with elements recorded keeps its physical schema as it is (`expand` and
      // `contract` change it): its open only reads which fields its unique constraints use
      // (see `MongoLayout`). The claims collection is no resource schema: its one index is
      // created when a list of its indexes (a read) lacks it.
      const [recorded] = await Promise.all([
        schema.recordedUniqueFields(resources),
        ...(claims ? [createIndexes(db, claims.collection.collectionName, CLAIM_INDEXES)] : []),
      ]);
      const marked = new Map<AnyResource, readonly string[]>();
      await Promise.all(
        resources
          .filter((resource) => !recorded.has(resource))
          .map(async (resource) => {
            // A brand-new resource: its indexes first, then its record, so that an opener
            // that finds the record finds the indexes too. Concurrent openers of a new store
            // all create them (idempotent) and the first record stands.
            const layout = new MongoLayout(resource, prefix);
            await createIndexes(db, layout.collection, layout.indexes);
            marked.set(resource, await schema.recordNew(resource, elementsOf(resource)));
          }),
      );
      return new MongoBackend(
        client,
        db,
        prefix,
        schema,
        new Map(resources.map((r) => [r, recorded.get(r) ?? marked.get(r) ?? []])),
        { lockScope, claims, failFastMs },
        capabilities,
      );
    } catch (err) {
      await client.close().catch(() => {});
      // Every step maps its own errors; this catches what a driver call throws synchronously.
      throw toCoreError(err, { operation: 'open' });
    }
  }

  /** The underlying client, e.g. for command monitoring or admin commands. */
  get client(): MongoClient {
    return this.#client;
  }

  /** The database and collection prefix, the fail-fast bound and how writes are guarded. */
  describe(): Readonly<Record<string, string | number | boolean>> {
    return this.#description;
  }

  driver(resource: AnyResource): ResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`mongo backend has no resource ${resource.name}`);
    return d;
  }

  /**
   * Adds the indexes and unique constraints of `elements` that are missing (compared by
   * key spec) and records them as applied; idempotent. A unique constraint that live
   * records violate throws `UniqueViolationError` naming them, before anything changes.
   */
  expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('expand', () => this.#schema.expand(resource, elements));
  }

  /** Drops the indexes, unique constraints and field values of `elements`; idempotent. */
  contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('contract', () => this.#schema.contract(resource, elements));
  }

  /**
   * Makes write-only fields public (drops them from the recorded `pending`); fields that
   * are public already or not applied are ignored. Idempotent.
   */
  publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    return this.#evolve('publish', () => this.#schema.publish(resource, fields));
  }

  /** The elements recorded as applied, from the `<prefix>_elements` collection. */
  appliedElements(resource: AnyResource): Promise<SchemaElements> {
    return this.#evolve('appliedElements', () => this.#schema.applied(resource));
  }

  async #evolve<T>(operation: string, step: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new UnavailableError(`mongo ${operation}: the backend is closed`);
    try {
      return await step();
    } catch (err) {
      throw toCoreError(err, { operation });
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#client.close().catch(() => {});
    return this.#closed;
  }
}

/** Whether the server is FerretDB (its `buildInfo` carries `ferretdbVersion`). */
async function isFerretDb(db: Db): Promise<boolean> {
  const info = await mapErrors('open: buildInfo', () => db.admin().command({ buildInfo: 1 }));
  return typeof info.ferretdbVersion === 'string';
}

/**
 * Creates the indexes of a collection that are missing, one command each: FerretDB v1.24
 * drops the connection (a server panic) when one `createIndexes` names several indexes
 * that already exist, while a single existing index is a no-op there as in MongoDB.
 */
async function createIndexes(
  db: Db,
  collection: string,
  indexes: readonly IndexSpec[],
): Promise<void> {
  const operation = `open: create indexes of ${collection}`;
  const existing = await mapErrors(operation, async () => {
    try {
      return await db.collection(collection).listIndexes().toArray();
    } catch (err) {
      if (serverError(err)?.code === NAMESPACE_NOT_FOUND) return [];
      throw err;
    }
  });
  const names = new Set(existing.map((i) => i.name as string));
  for (const i of indexes) {
    if (names.has(i.name)) continue;
    await mapErrors(operation, () =>
      db
        .collection(collection)
        .createIndex({ ...i.key }, { name: i.name, ...(i.unique ? { unique: true } : {}) }),
    );
  }
}

/** The server's error code for a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;
