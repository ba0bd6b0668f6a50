import {
  type DeleteChange,
  type EvolutionDriver,
  inReadScope,
  isAfter,
  type ListQuery,
  matchesWhere,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  recordComparator,
  type StoredRecord,
  type UpdateChange,
  type VersionPage,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import { candidateIds, exactlyIndexed, idOrderedPage } from './candidate-ids.js';
import { sweepEmptyDirectories } from './directory-sweep.js';
import { releaseStaleUnique } from './entry-probe.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import { purgeDeleted } from './purge.js';
import { RecordCache, type VersionedRecord } from './record-cache.js';
import { newToken, RecordOps } from './record-ops.js';
import { ResourceSchema, type SchemaAccess } from './resource-schema.js';
import { type RecordRewrite, VersionRewrite } from './version-rewrite.js';
import { type WriteTarget, writeWithRetry } from './write-retry.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/** Records read concurrently at most (pipelined on the one connection). */
const READ_BATCH = 2_000;

/** How often an insert or rewrite is tried again after the store's schema or the record changed. */
const MAX_ATTEMPTS = 50;

/**
 * Internal, not part of the `ResourceDriver` SPI: how the address allocator reaches the
 * `network` and `fixedIp` drivers to build its own multis (reads with znode versions that
 * feed the driver's remembered state, the op builders of a record, forgetting a record
 * the allocator removed).
 */
export interface RecordAccess {
  /** The resource's znode layout. */
  readonly layout: ResourceLayout;
  /** The resource's znode data and multi op builders. */
  readonly ops: RecordOps;
  /** One record with its znode version, or `undefined`; remembered for the next write. */
  read(id: string): Promise<VersionedRecord | undefined>;
  /** The records among `ids` that exist, with znode versions, read in pipelined batches. */
  readMany(ids: readonly string[]): Promise<VersionedRecord[]>;
  /** Forgets what the driver remembers of a record (removed by the allocator). */
  forget(id: string): void;
  /**
   * The check of the schema znode a multi of this resource ends with; with `writesAt`
   * (the object version written), first refuses a write below the write floor.
   */
  schemaCheck(writesAt?: string): ZkOp[];
  /** Reads the schema znode again (a multi failed on its check). */
  loadSchema(): Promise<void>;
}

/**
 * The generic ZooKeeper driver of one resource. Every mutation is one multi: the record
 * znode (its data version is the compare-and-swap guard) with all its index and unique
 * znodes. Queries read ids from index directories and the records in one pipelined
 * batch, then filter, order and page in process with core's evaluators.
 */
export class ZooKeeperResourceDriver implements ResourceDriver, EvolutionDriver {
  /** Internal: the allocator's way in (see {@link RecordAccess}). */
  readonly access: RecordAccess;
  /** Internal: the backend's way in for `expand` and `contract` (see {@link SchemaAccess}). */
  readonly evolution: SchemaAccess;
  readonly #layout: ResourceLayout;
  readonly #client: ZooKeeperClient;
  readonly #ops: RecordOps;
  readonly #cache: RecordCache;
  readonly #target: WriteTarget & RecordAccess;
  readonly #schema: ResourceSchema;
  readonly #versions: VersionRewrite;

  constructor(
    layout: ResourceLayout,
    client: ZooKeeperClient,
    maxRecordBytes: number,
    cacheSize: number,
  ) {
    this.#layout = layout;
    this.#client = client;
    this.#ops = new RecordOps(layout, maxRecordBytes);
    this.#cache = new RecordCache(cacheSize);
    this.#schema = new ResourceSchema({
      client,
      layout,
      ops: this.#ops,
      cache: this.#cache,
      read: (id) => this.#read(id),
      readMany: (ids) => this.#readMany(ids),
      releasedStale: (err, ops) => this.#releasedStale(err, ops),
    });
    this.#target = {
      client,
      layout,
      ops: this.#ops,
      cache: this.#cache,
      read: (id) => this.#read(id),
      readMany: (ids) => this.#readMany(ids),
      forget: (id) => this.#cache.delete(id),
      schemaCheck: (writesAt) => this.#schema.check(writesAt),
      loadSchema: async () => {
        await this.#schema.load();
      },
    };
    this.access = this.#target;
    this.#versions = new VersionRewrite({
      client,
      layout,
      ops: this.#ops,
      cache: this.#cache,
      schema: this.#schema,
      read: (id) => this.#read(id),
      readMany: (ids) => this.#readMany(ids),
      releasedStale: (err, ops) => this.#releasedStale(err, ops),
      bounded: (what, run) => this.#bounded(what, run),
    });
    const schema = this.#schema;
    // Plain functions (not the schema's methods): a caller may take one out and call it alone.
    this.evolution = {
      loadSchema: () => schema.load(),
      readAll: () => schema.readAll(),
      enterAll: () => schema.enterAll(),
      removeOrphans: (field) => schema.removeOrphans(field),
      dropFields: (names) => schema.dropFields(names),
    };
  }

  // The store's calls, each bounded by the fail-fast deadline (failFastMs) as a whole:
  // reads, retries after lost races and index-directory rounds included.

  insert(record: StoredRecord): Promise<StoredRecord> {
    return this.#bounded('insert', () => this.#insert(record));
  }

  get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    return this.#bounded('get', async () => {
      const found = await this.#read(id);
      return found && inReadScope(found.record, scope) ? found.record : undefined;
    });
  }

  getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    return this.#bounded('getMany', async () =>
      (await this.#readMany(ids)).map((v) => v.record).filter((r) => inReadScope(r, scope)),
    );
  }

  list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    return this.#bounded('list', () => this.#list(scope, query));
  }

  count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    return this.#bounded('count', async () => {
      const ids = await candidateIds(this.#client, this.#layout, scope, where);
      // When the index directories answer the whole filter exactly (equality and `in` on
      // indexed fields, no hashed value), their intersection is the count: no record read.
      if (exactlyIndexed(this.#layout, where)) return ids.length;
      return (await this.#readMany(ids)).filter(
        (v) => inReadScope(v.record, scope) && matchesWhere(v.record, where),
      ).length;
    });
  }

  update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    return this.#bounded('update', async () => {
      await this.#schema.loadIfUnread();
      return writeWithRetry(this.#target, {
        what: 'update',
        id,
        scope,
        expectedRevision: change.expectedRevision,
        expected: change.expected,
        writesAt: change.objectVersion,
        build: (cur, present) => {
          const next: StoredRecord = {
            ...cur.record,
            ...structuredClone(change.set),
            revision: cur.record.revision + 1,
            updatedAt: change.updatedAt,
            objectVersion: change.objectVersion,
          };
          return { next, ops: this.#ops.replace(cur, next, present) };
        },
      });
    });
  }

  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    return this.#bounded('delete', () =>
      writeWithRetry(this.#target, {
        what: 'delete',
        id,
        scope,
        expectedRevision: change.expectedRevision,
        // Checked in process on the state read, as an update's are; the multi's guard on
        // that state's znode version makes the check and the delete one atomic step.
        expected: change.expected,
        build: (cur, present) => {
          if (!change.soft) return { next: null, ops: this.#ops.hardDelete(cur, present) };
          const next: StoredRecord = {
            ...cur.record,
            revision: cur.record.revision + 1,
            updatedAt: change.at,
            deletedAt: change.at,
          };
          return { next, ops: this.#ops.replace(cur, next, present) };
        },
      }),
    );
  }

  purge(before: string): Promise<number> {
    return this.#bounded('purge', async () => {
      await this.#schema.load();
      const purged = await purgeDeleted(this.#target, before);
      await this.sweepEmptyDirectories();
      return purged;
    });
  }

  /**
   * Removes the index directories that deletes left empty (see `directory-sweep.ts`);
   * `purge` runs it. Returns how many directories were removed.
   */
  sweepEmptyDirectories(): Promise<number> {
    return sweepEmptyDirectories(this.#client, this.#layout);
  }

  /**
   * How many records are stored at an object version below `version` (any project,
   * live or deleted), from the per-version index: one request per stored version.
   */
  countBelowVersion(version: string): Promise<number> {
    return this.#versions.countBelowVersion(version);
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
    return this.#bounded('rewrite', () => this.#versions.rewrite(record, expectedRevision));
  }

  rewriteMany(rewrites: readonly RecordRewrite[]): Promise<readonly string[]> {
    return this.#versions.rewriteMany(rewrites);
  }

  /** Whether a multi failed on creating a unique znode that was stale, now removed (see `releaseStaleUnique`). */
  async #releasedStale(err: unknown, ops: readonly ZkOp[]): Promise<boolean> {
    if (!(err instanceof ZkOpError) || err.code !== ZK.NODE_EXISTS || err.index === undefined) {
      return false;
    }
    const op = ops[err.index];
    if (op?.type !== 'create' || !op.path.startsWith(`${this.#layout.unique}/`)) return false;
    return releaseStaleUnique(
      this.#client,
      this.#layout,
      (data) => this.#ops.decode(data, 0).record,
      op.path,
    );
  }

  #bounded<T>(what: string, run: () => Promise<T>): Promise<T> {
    return this.#client.bounded(`${what} ${this.#layout.resource.name}`, run);
  }

  async #insert(record: StoredRecord): Promise<StoredRecord> {
    await this.#schema.loadIfUnread();
    const token = newToken();
    for (let attempt = 0; ; attempt++) {
      // Refused here when below the write floor; the schema check fences the floor read.
      const ops = [...this.#ops.insert(record, token), ...this.#schema.check(record.objectVersion)];
      try {
        await this.#client.commit(ops);
        break;
      } catch (err) {
        // The store's schema changed since it was read (an expand or contract): read it again.
        if (this.#schema.failedOn(err, ops) && attempt < MAX_ATTEMPTS) {
          await this.#schema.load();
          continue;
        }
        if ((await this.#releasedStale(err, ops)) && attempt < MAX_ATTEMPTS) continue;
        throw toCoreError(err, {
          resource: this.#layout.resource.name,
          uniqueAt: this.#ops.uniqueAt(ops),
        });
      }
    }
    // Core freezes what it gets back: keep the caller's values (and the cache) out of it.
    const stored = structuredClone(record);
    this.#cache.set({ record: stored, version: 0, token });
    return stored;
  }

  async #list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    const { orderBy, after } = query;
    const ids = await candidateIds(this.#client, this.#layout, scope, query.where);
    const keep = (r: StoredRecord) =>
      inReadScope(r, scope) &&
      matchesWhere(r, query.where) &&
      (after === null || isAfter(r, orderBy, after));
    if (orderBy.field === 'id') {
      const read = async (chunk: readonly string[]) =>
        (await this.#readMany(chunk)).map((v) => v.record);
      return idOrderedPage(ids, query, read, keep);
    }
    const rows = (await this.#readMany(ids)).map((v) => v.record).filter(keep);
    return rows.sort(recordComparator(orderBy)).slice(0, query.limit);
  }

  async #read(id: string): Promise<VersionedRecord | undefined> {
    const found = await this.#client.getData(this.#layout.record(id));
    if (!found) return undefined;
    const entry = this.#ops.decode(found.data, found.version);
    this.#cache.set(entry);
    return entry;
  }

  async #readMany(ids: readonly string[]): Promise<VersionedRecord[]> {
    const out: VersionedRecord[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = await Promise.all(ids.slice(i, i + READ_BATCH).map((id) => this.#read(id)));
      for (const v of batch) if (v) out.push(v);
    }
    return out;
  }
}
