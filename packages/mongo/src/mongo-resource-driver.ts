import { DuplicateError } from '@polystore/core';
import type {
  DeleteChange,
  EvolutionDriver,
  ListQuery,
  Predicate,
  ReadScope,
  ResourceDriver,
  StoredRecord,
  UpdateChange,
  VersionPage,
  WriteOutcome,
  WriteScope,
} from '@polystore/core/adapter';
import type { Collection, Document } from 'mongodb';
import { ConditionalWrite, MAX_ATTEMPTS, underRecordLock } from './conditional-write.js';
import { isDuplicateKeyError, mapErrors, toCoreError } from './errors.js';
import { bounded, command } from './fail-fast.js';
import { type FixedIpWriter, fixedIpWriter } from './fixed-ip-writer.js';
import type { MongoLayout, StoredDocument } from './layout.js';
import { afterClause, allOf, readScopeClauses, sortOf, whereClauses } from './mongo-filter.js';
import { MONGO_DEFAULTS } from './mongo-options.js';
import type { RecordClaims } from './record-claims.js';
import { UniqueClash } from './unique-clash.js';
import { type RecordRewrite, VersionRewrite } from './version-rewrite.js';

/** How the writes of a driver are guarded; every field optional. */
export interface DriverWrites {
  /**
   * The server and database, when the conditional writes of each record run one at a time
   * in this process (`serializeWrites`, see {@link underRecordLock}).
   */
  readonly lockScope?: string;
  /** Makes conditional writes exclusive across processes (`claimWrites`, see `RecordClaims`). */
  readonly claims?: RecordClaims;
  /** Every call ends within it (see `bounded`). Default `MONGO_DEFAULTS.failFastMs`. */
  readonly failFastMs?: number;
}

/**
 * The `ResourceDriver` of one resource over one MongoDB collection (layout in
 * {@link MongoLayout}). Every single-record operation is one command: `insertOne`,
 * `findOne`, `findOneAndUpdate` (update, soft delete) or `findOneAndDelete` (hard
 * delete) whose filter carries the scope, liveness, revision and expected values, so
 * the check and the write are one atomic step on a MongoDB server. FerretDB v1 runs those
 * commands as a read and an unconditional write, so there each conditional write first
 * claims its revision step ({@link RecordClaims}), which makes it exclusive across
 * processes. Only a failure costs a second read, to tell not-found from conflict or to
 * name the broken unique constraint. This file holds the records' CRUD and queries; the
 * conditional writes are in `conditional-write.ts`, the naming of a broken unique
 * constraint in `unique-clash.ts`, the evolution SPI in `version-rewrite.ts` and the
 * address allocator's access in `fixed-ip-writer.ts`.
 *
 * @example
 * ```ts
 * const driver = new MongoResourceDriver(new MongoLayout(instanceResource, ''), db.collection('instances'));
 * await driver.insert(record);
 * ```
 */
export class MongoResourceDriver implements ResourceDriver, EvolutionDriver {
  readonly #layout: MongoLayout;
  readonly #collection: Collection<StoredDocument>;
  readonly #lockScope: string | undefined;
  readonly #failFastMs: number;
  readonly #clashes: UniqueClash;
  readonly #writes: ConditionalWrite;
  readonly #versions: VersionRewrite;

  /** `writes` says how conditional writes are guarded and the fail-fast bound. */
  constructor(
    layout: MongoLayout,
    collection: Collection<StoredDocument>,
    writes: DriverWrites = {},
  ) {
    this.#layout = layout;
    this.#collection = collection;
    this.#lockScope = writes.lockScope;
    this.#failFastMs = writes.failFastMs ?? MONGO_DEFAULTS.failFastMs;
    const claims = writes.claims;
    const read = (id: string) => this.#read(id);
    this.#clashes = new UniqueClash(layout, collection);
    this.#writes = new ConditionalWrite({ layout, claims, read });
    this.#versions = new VersionRewrite({
      layout,
      collection,
      claims,
      clashes: this.#clashes,
      bounded: (what, run) => this.#bounded(what, run),
      rewrite: (record, expectedRevision) => this.rewrite(record, expectedRevision),
      read,
    });
  }

  /** A driver of the `fixedIp` resource and the {@link FixedIpWriter} over it, for the allocator. */
  static withWriter(
    layout: MongoLayout,
    collection: Collection<StoredDocument>,
    writes: DriverWrites = {},
  ): { readonly driver: MongoResourceDriver; readonly writer: FixedIpWriter } {
    const driver = new MongoResourceDriver(layout, collection, writes);
    const writer = fixedIpWriter({
      layout,
      collection,
      guarded: writes.lockScope !== undefined || writes.claims !== undefined,
      bounded: (what, run) => driver.#bounded(what, run),
      tryInsert: (record) => driver.#tryInsert(record),
      delete: (scope, id, change) => driver.delete(scope, id, change),
    });
    return { driver, writer };
  }

  /** Runs one call of this driver within `failFastMs` (see {@link bounded}). */
  #bounded<T>(what: string, run: () => Promise<T>): Promise<T> {
    return bounded(`${what} ${this.#layout.collection}`, this.#failFastMs, run);
  }

  /** Runs a conditional write of record `id`, under its lock when writes are serialised. */
  #exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return underRecordLock(this.#lockScope, this.#layout.collection, id, fn);
  }

  /** The layout this driver stores records in. */
  get layout(): MongoLayout {
    return this.#layout;
  }

  insert(record: StoredRecord): Promise<StoredRecord> {
    return this.#bounded('insert', () => this.#insert(record));
  }

  async #insert(record: StoredRecord): Promise<StoredRecord> {
    for (let attempt = 1; ; attempt++) {
      if (await this.#tryInsert(record)) return record;
      const fields = await this.#clashes.ofInsert(record);
      // Nothing clashes any more (the other record went away meanwhile): try again.
      if (fields !== undefined || attempt >= MAX_ATTEMPTS) {
        throw new DuplicateError(this.#layout.resource.name, fields ?? ['id']);
      }
    }
  }

  /** Inserts a record; `false` when a unique index (the `_id` one included) refused it. */
  async #tryInsert(record: StoredRecord): Promise<boolean> {
    try {
      await command(() => this.#collection.insertOne(this.#layout.toDocument(record)));
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw toCoreError(err, { operation: `insert ${this.#layout.collection}` });
    }
  }

  get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    return this.#bounded('get', () => this.#get(scope, id));
  }

  async #get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    const filter = allOf([{ _id: { $eq: id } }, ...readScopeClauses(scope)]);
    const doc = await mapErrors(`get ${this.#layout.collection}`, () =>
      this.#collection.findOne(filter),
    );
    return doc === null ? undefined : this.#layout.fromDocument(doc);
  }

  getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    return this.#bounded('getMany', () => this.#getMany(scope, ids));
  }

  async #getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    const filter = allOf([{ _id: { $in: [...ids] } }, ...readScopeClauses(scope)]);
    const docs = await mapErrors(`getMany ${this.#layout.collection}`, () =>
      // The limit lets the server close the cursor with the first batch: one round trip.
      this.#collection.find(filter).limit(ids.length).batchSize(ids.length).toArray(),
    );
    return docs.map((d) => this.#layout.fromDocument(d));
  }

  list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    return this.#bounded('list', () => this.#list(scope, query));
  }

  async #list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    const clauses = [...readScopeClauses(scope), ...whereClauses(this.#layout, query.where)];
    if (query.after !== null) clauses.push(afterClause(this.#layout, query.orderBy, query.after));
    const docs = await mapErrors(`list ${this.#layout.collection}`, () =>
      this.#collection
        .find(allOf(clauses))
        .sort(sortOf(this.#layout, query.orderBy))
        .limit(query.limit)
        // One batch: a page is one round trip unless it exceeds the reply size limit.
        .batchSize(query.limit)
        .toArray(),
    );
    return docs.map((d) => this.#layout.fromDocument(d));
  }

  count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    return this.#bounded('count', () => this.#count(scope, where));
  }

  async #count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    const filter = allOf([...readScopeClauses(scope), ...whereClauses(this.#layout, where)]);
    return mapErrors(`count ${this.#layout.collection}`, () =>
      this.#collection.countDocuments(filter),
    );
  }

  update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    // The bound covers the wait for the record's lock too.
    return this.#bounded('update', () =>
      this.#exclusive(id, () => this.#update(scope, id, change)),
    );
  }

  async #update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    const update = {
      $set: {
        ...this.#layout.toSet(id, change.set),
        updatedAt: change.updatedAt,
        objectVersion: change.objectVersion,
      },
      $inc: { revision: 1 },
    };
    try {
      return await this.#writes.run(scope, id, change.expectedRevision, change.expected, (filter) =>
        this.#collection.findOneAndUpdate(filter, update, { returnDocument: 'after' }),
      );
    } catch (err) {
      if (!isDuplicateKeyError(err))
        throw toCoreError(err, { operation: `update ${this.#layout.collection}` });
      throw new DuplicateError(
        this.#layout.resource.name,
        await this.#clashes.ofUpdate(id, change.set),
      );
    }
  }

  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    return this.#bounded('delete', () =>
      this.#exclusive(id, () => this.#delete(scope, id, change)),
    );
  }

  async #delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    try {
      // A hard delete returns the record as it was; a soft delete the record as it is now.
      return await this.#writes.run(
        scope,
        id,
        change.expectedRevision,
        change.expected,
        (filter) =>
          change.soft
            ? this.#collection.findOneAndUpdate(
                filter,
                {
                  $set: {
                    deletedAt: change.at,
                    updatedAt: change.at,
                    ...this.#layout.deadMarks(id),
                  },
                  $inc: { revision: 1 },
                },
                { returnDocument: 'after' },
              )
            : this.#collection.findOneAndDelete(filter),
      );
    } catch (err) {
      throw toCoreError(err, { operation: `delete ${this.#layout.collection}` });
    }
  }

  /** Record `id` as stored, whatever its scope and state (one read). */
  #read(id: string): Promise<Document | null> {
    return mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection.findOne({ _id: { $eq: id } }),
    );
  }

  purge(before: string): Promise<number> {
    return this.#bounded('purge', () => this.#purge(before));
  }

  async #purge(before: string): Promise<number> {
    // One deleteMany. Deleted records never change again, so a purge cut short (a crash,
    // a timeout) leaves only records the next purge removes: it is idempotent.
    const filter = allOf([{ deletedAt: { $ne: null } }, { deletedAt: { $lt: before } }]);
    const res = await mapErrors(`purge ${this.#layout.collection}`, () =>
      this.#collection.deleteMany(filter),
    );
    return res.deletedCount;
  }

  // The evolution SPI (see `EvolutionDriver` in core), in `version-rewrite.ts`: every
  // project, live and soft-deleted.

  countByVersion(): Promise<Record<string, number>> {
    return this.#bounded('countByVersion', () => this.#versions.countByVersion());
  }

  scanVersion(version: string, after: string | undefined, limit: number): Promise<VersionPage> {
    return this.#bounded('scanVersion', () => this.#versions.scanVersion(version, after, limit));
  }

  rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    return this.#bounded('rewrite', () =>
      this.#exclusive(record.id, () => this.#versions.rewrite(record, expectedRevision)),
    );
  }

  /** See {@link VersionRewrite.rewriteMany}. */
  rewriteMany(rewrites: readonly RecordRewrite[]): Promise<readonly string[]> {
    return this.#versions.rewriteMany(rewrites);
  }
}
