import { compareVersions, UnavailableError } from '@polystore/core';
import {
  compareCodePoints,
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
import { presentEntries, releaseStaleUnique } from './entry-probe.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import { type ResourceLayout, STATE_INDEX, VERSION_INDEX } from './layout.js';
import { purgeDeleted } from './purge.js';
import { RecordCache, type VersionedRecord } from './record-cache.js';
import { newToken, RecordOps } from './record-ops.js';
import { ResourceSchema, type SchemaAccess } from './resource-schema.js';
import { type WriteTarget, writeWithRetry } from './write-retry.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/** Records read concurrently at most (pipelined on the one connection). */
const READ_BATCH = 2_000;

/** How often an insert or rewrite is tried again after the store's schema or the record changed. */
const MAX_ATTEMPTS = 50;

/** Records rewritten in one multi by `rewriteMany` (well within the server's 1 MB request limit). */
const REWRITE_BATCH = 50;

/** Multis of `rewriteMany` planned and committed at once. */
const REWRITES_IN_FLIGHT = 4;

/** How often `rewriteMany` commits one batch again, each time without the records that failed it. */
const MAX_BATCH_ATTEMPTS = 5;

/**
 * Index directories with at most this many values are read whole by `rewrite` (a few
 * requests, and any entry another layout left there is found); a larger one is probed at
 * the record's own values only, so converting a record costs the same in any store.
 */
const SMALL_INDEX = 16;

/** The entry directories of a resource as a rewrite reads them (see `#entryDirs`). */
interface EntryDirs {
  /** Every index field: the directories there and those this client maintains. */
  readonly fields: readonly string[];
  /** The value directories of the small and unmaintained indexes, read whole. */
  readonly valueDirs: readonly string[];
  /** Every unique constraint: the directories there and those this client maintains. */
  readonly uniques: readonly (readonly string[])[];
}

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

  // The evolution SPI (see `EvolutionDriver` in core): every project, live and soft-deleted.

  countByVersion(): Promise<Record<string, number>> {
    return this.#bounded('countByVersion', async () => {
      const dir = this.#layout.versionsDir();
      const versions = (await this.#client.getChildren(dir)) ?? [];
      // Counted from the per-version index: one request per version, no record read.
      const counts = await Promise.all(
        versions.map((v) => this.#client.countChildren(`${dir}/${v}`)),
      );
      const out: Record<string, number> = {};
      versions.forEach((v, i) => {
        const n = counts[i] ?? 0;
        if (n > 0) out[v] = n;
      });
      return out;
    });
  }

  scanVersion(version: string, after: string | undefined, limit: number): Promise<VersionPage> {
    return this.#bounded('scanVersion', async (): Promise<VersionPage> => {
      if (limit <= 0) return { records: [], after: undefined };
      const ids = (
        (await this.#client.getChildren(`${this.#layout.versionsDir()}/${version}`)) ?? []
      )
        .filter((id) => after === undefined || compareCodePoints(id, after) > 0)
        .sort(compareCodePoints);
      const records: StoredRecord[] = [];
      // The index moves with every write; a record that moved meanwhile is skipped.
      for (let i = 0; i < ids.length && records.length < limit; ) {
        const chunk = ids.slice(i, i + (limit - records.length));
        i += chunk.length;
        for (const v of await this.#readMany(chunk)) {
          if (v.record.objectVersion === version) records.push(v.record);
        }
      }
      records.sort((a, b) => compareCodePoints(a.id, b.id));
      return { records, after: records.length === limit ? records.at(-1)!.id : undefined };
    });
  }

  rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    return this.#bounded('rewrite', async (): Promise<WriteOutcome> => {
      await this.#schema.load();
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const cur = await this.#read(record.id);
        if (!cur) return { status: 'not-found' };
        if (cur.record.revision !== expectedRevision)
          return { status: 'conflict', current: cur.record };
        const next: StoredRecord = structuredClone({ ...record, revision: expectedRevision + 1 });
        const found = await this.#entriesOf(await this.#entryDirs(), cur, next);
        const ops = [
          ...this.#ops.rewrite(cur, next, found, this.#ops.fields, this.#ops.uniques),
          ...this.#schema.check(),
        ];
        try {
          await this.#client.commit(ops);
        } catch (err) {
          if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
          if (this.#schema.failedOn(err, ops)) await this.#schema.load();
          else if (await this.#releasedStale(err, ops)) {
            // A unique znode its holder no longer holds: removed, try again.
          } else if (err.code === ZK.NODE_EXISTS && err.index > 0) {
            throw toCoreError(err, {
              resource: this.#layout.resource.name,
              uniqueAt: this.#ops.uniqueAt(ops),
            });
          }
          this.#cache.delete(record.id);
          continue;
        }
        this.#cache.set({ record: next, version: cur.version + 1, token: cur.token });
        return { status: 'ok', record: structuredClone(next) };
      }
      throw new UnavailableError(
        `zookeeper: ${this.#layout.resource.name} ${record.id}: rewrite lost ${MAX_ATTEMPTS} races in a row`,
      );
    });
  }

  /**
   * `rewrite` of many records, {@link REWRITE_BATCH} records to a multi (the records'
   * entry directories read once per multi), {@link REWRITES_IN_FLIGHT} multis at a time. A record not at its expected revision, gone,
   * or whose ops fail the multi (a race, a unique clash, a stale unique znode) is left
   * out and the rest committed again; the ids rewritten are returned, the others are
   * the caller's to `rewrite` one by one.
   */
  async rewriteMany(
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<readonly string[]> {
    const batches: (typeof rewrites)[] = [];
    for (let i = 0; i < rewrites.length; i += REWRITE_BATCH) {
      batches.push(rewrites.slice(i, i + REWRITE_BATCH));
    }
    // A few multis in flight: the reads that plan one overlap the commit of another (the
    // batches hold different records, so they are independent). Each has its own deadline:
    // a large page is not one call that must fit failFastMs.
    const done: string[][] = batches.map(() => []);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const at = next++;
        done[at] = await this.#bounded('rewriteMany', () => this.#rewriteBatch(batches[at]!));
      }
    };
    await Promise.all(Array.from({ length: Math.min(REWRITES_IN_FLIGHT, batches.length) }, worker));
    return done.flat();
  }

  /** One multi of `rewriteMany` (tried again without the records whose ops failed it). */
  async #rewriteBatch(
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<string[]> {
    await this.#schema.load();
    const left = new Map(rewrites.map((r) => [r.record.id, r]));
    for (let attempt = 0; attempt < MAX_BATCH_ATTEMPTS && left.size > 0; attempt++) {
      const [dirs, curs] = await Promise.all([this.#entryDirs(), this.#readMany([...left.keys()])]);
      const planned = await Promise.all(
        curs
          .filter((cur) => cur.record.revision === left.get(cur.record.id)?.expectedRevision)
          .map(async (cur) => {
            const { record, expectedRevision } = left.get(cur.record.id)!;
            const next: StoredRecord = structuredClone({
              ...record,
              revision: expectedRevision + 1,
            });
            const found = await this.#entriesOf(dirs, cur, next);
            return {
              cur,
              next,
              ops: this.#ops.rewrite(cur, next, found, this.#ops.fields, this.#ops.uniques),
            };
          }),
      );
      if (planned.length === 0) return [];
      const ops = [...planned.flatMap((p) => p.ops), ...this.#schema.check()];
      try {
        await this.#client.commit(ops);
      } catch (err) {
        if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
        for (const p of planned) this.#cache.delete(p.cur.record.id);
        if (this.#schema.failedOn(err, ops)) {
          await this.#schema.load();
          continue;
        }
        // Leave out the record whose op failed, and those not at their revision any more.
        const kept = new Set(planned.map((p) => p.cur.record.id));
        let end = 0;
        for (const p of planned) {
          end += p.ops.length;
          if (end <= err.index) continue;
          kept.delete(p.cur.record.id);
          break;
        }
        for (const id of [...left.keys()]) if (!kept.has(id)) left.delete(id);
        continue;
      }
      for (const p of planned) {
        this.#cache.set({ record: p.next, version: p.cur.version + 1, token: p.cur.token });
      }
      return planned.map((p) => p.cur.record.id);
    }
    return [];
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

  /**
   * What `rewrite` needs to know of the resource's entry directories to find a record's
   * entries, read in requests that do not grow with the store (see {@link #entriesOf}):
   * the index fields (the directories there and those this client maintains), the values
   * of the small or unmaintained ones, and the unique constraints.
   */
  async #entryDirs(): Promise<EntryDirs> {
    const layout = this.#layout;
    const maintained = new Set(this.#ops.fields);
    const [indexDirs, uniqueDirs] = await Promise.all([
      this.#client.getChildren(layout.index),
      this.#client.getChildren(layout.unique),
    ]);
    const fields = new Set([...(indexDirs ?? []), ...maintained, VERSION_INDEX]);
    fields.delete(STATE_INDEX);
    const listed = await Promise.all(
      [...fields].map(async (f) => {
        const dir = layout.indexDir(f);
        // The object versions are few: read whole like any small directory.
        if (maintained.has(f)) {
          const size = await this.#client.countChildren(dir);
          if (size === undefined || size > SMALL_INDEX) return [];
        }
        return ((await this.#client.getChildren(dir)) ?? []).map((v) => `${dir}/${v}`);
      }),
    );
    const uniques = new Map<string, readonly string[]>();
    for (const name of uniqueDirs ?? []) uniques.set(name, name.split('+'));
    for (const u of this.#ops.uniques) uniques.set(u.join('+'), u);
    return { fields: [...fields], valueDirs: listed.flat(), uniques: [...uniques.values()] };
  }

  /**
   * The index and unique znodes of a record that exist now, whatever definition made
   * them: its membership and version entries; under every index, its entries at the
   * record's stored and new values (every write that changes a value moves its entry in
   * the same multi, fenced by the schema znode, and `expand` enters records at their
   * stored values, so an entry of an index this client maintains is found there); its
   * entry under every value of a directory that is small ({@link SMALL_INDEX}) or that no
   * definition in force maintains (left by another layout: what it holds is unknown);
   * and, for every unique directory, the znodes of its current and new values that it
   * holds. The probes are as many as the record has entries, whatever the store's size.
   */
  async #entriesOf(dirs: EntryDirs, cur: VersionedRecord, next: StoredRecord): Promise<string[]> {
    const layout = this.#layout;
    const id = cur.record.id;
    const paths = [
      `${layout.stateDir(false)}/${id}.${cur.token}`,
      `${layout.stateDir(true)}/${id}.${cur.token}`,
      ...dirs.valueDirs.map((dir) => `${dir}/${id}`),
    ];
    for (const r of [cur.record, next]) {
      paths.push(`${layout.versionsDir()}/${r.objectVersion}/${id}`);
      for (const f of dirs.fields) {
        if (f !== VERSION_INDEX) paths.push(`${layout.valueDir(f, r[f] ?? null)}/${id}`);
      }
      // Live or not: a soft-deleted record's entry may have been left by another client.
      paths.push(
        ...layout.uniqueEntries({ ...r, deletedAt: null }, dirs.uniques).map((u) => u.path),
      );
    }
    return [...(await presentEntries(this.#client, layout, id, paths))];
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
