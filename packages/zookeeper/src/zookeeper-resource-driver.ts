import { compareVersions } from '@polystore/core';
import {
  type DeleteChange,
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
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import { candidateIds, exactlyIndexed, idOrderedPage } from './candidate-ids.js';
import { sweepEmptyDirectories } from './directory-sweep.js';
import { toCoreError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import { purgeDeleted } from './purge.js';
import { RecordCache, type VersionedRecord } from './record-cache.js';
import { newToken, RecordOps } from './record-ops.js';
import { type WriteTarget, writeWithRetry } from './write-retry.js';
import type { ZooKeeperClient } from './zookeeper-client.js';

/** Records read concurrently at most (pipelined on the one connection). */
const READ_BATCH = 2_000;

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
}

/**
 * The generic ZooKeeper driver of one resource. Every mutation is one multi: the record
 * znode (its data version is the compare-and-swap guard) with all its index and unique
 * znodes. Queries read ids from index directories and the records in one pipelined
 * batch, then filter, order and page in process with core's evaluators.
 */
export class ZooKeeperResourceDriver implements ResourceDriver {
  /** Internal: the allocator's way in (see {@link RecordAccess}). */
  readonly access: RecordAccess;
  readonly #layout: ResourceLayout;
  readonly #client: ZooKeeperClient;
  readonly #ops: RecordOps;
  readonly #cache: RecordCache;
  readonly #target: WriteTarget & RecordAccess;

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
    this.#target = {
      client,
      layout,
      ops: this.#ops,
      cache: this.#cache,
      read: (id) => this.#read(id),
      readMany: (ids) => this.#readMany(ids),
      forget: (id) => this.#cache.delete(id),
    };
    this.access = this.#target;
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
    return this.#bounded('update', () =>
      writeWithRetry(this.#target, {
        what: 'update',
        id,
        scope,
        expectedRevision: change.expectedRevision,
        expected: change.expected,
        build: (cur) => {
          const next: StoredRecord = {
            ...cur.record,
            ...structuredClone(change.set),
            revision: cur.record.revision + 1,
            updatedAt: change.updatedAt,
            objectVersion: change.objectVersion,
          };
          return { next, ops: this.#ops.replace(cur, next) };
        },
      }),
    );
  }

  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    return this.#bounded('delete', () =>
      writeWithRetry(this.#target, {
        what: 'delete',
        id,
        scope,
        expectedRevision: change.expectedRevision,
        expected: undefined,
        build: (cur) => {
          if (!change.soft) return { next: null, ops: this.#ops.hardDelete(cur) };
          const next: StoredRecord = {
            ...cur.record,
            revision: cur.record.revision + 1,
            updatedAt: change.at,
            deletedAt: change.at,
          };
          return { next, ops: this.#ops.replace(cur, next) };
        },
      }),
    );
  }

  purge(before: string): Promise<number> {
    return this.#bounded('purge', async () => {
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
  async countBelowVersion(version: string): Promise<number> {
    const dir = this.#layout.versionsDir();
    const versions = ((await this.#client.getChildren(dir)) ?? []).filter(
      (v) => compareVersions(v, version) < 0,
    );
    const counts = await Promise.all(
      versions.map((v) => this.#client.countChildren(`${dir}/${v}`)),
    );
    return counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
  }

  #bounded<T>(what: string, run: () => Promise<T>): Promise<T> {
    return this.#client.bounded(`${what} ${this.#layout.resource.name}`, run);
  }

  async #insert(record: StoredRecord): Promise<StoredRecord> {
    const token = newToken();
    const ops = this.#ops.insert(record, token);
    try {
      await this.#client.commit(ops);
    } catch (err) {
      throw toCoreError(err, {
        resource: this.#layout.resource.name,
        uniqueAt: this.#ops.uniqueAt(ops),
      });
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
