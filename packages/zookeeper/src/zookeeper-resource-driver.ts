import { randomBytes } from 'node:crypto';
import {
  compareVersions,
  DuplicateError,
  InvalidInputError,
  UnavailableError,
} from '@polystore/core';
import {
  type DeleteChange,
  inReadScope,
  inWriteScope,
  isAfter,
  type ListQuery,
  matchesWhere,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  recordComparator,
  type StoredRecord,
  sameValue,
  type UpdateChange,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import { unhandled, ZK, ZkOpError } from './errors.js';
import { encodeValue, idOfStateEntry, type ResourceLayout, VERSION_INDEX } from './layout.js';
import { RecordCache, type VersionedRecord } from './record-cache.js';
import type { ZkClient, ZkOp } from './zk-client.js';

/** How often a write is tried again after losing a race while its conditions still hold. */
const MAX_ATTEMPTS = 50;
/** Records read concurrently at most (pipelined on the one connection). */
const READ_BATCH = 2_000;
/** Records purged per multi. */
const PURGE_BATCH = 50;

/**
 * The generic ZooKeeper driver of one resource. Every mutation is one multi: the record
 * znode (its data version is the compare-and-swap guard) with all its index and unique
 * znodes. Queries read ids from index directories and the records in one pipelined
 * batch, then filter, order and page in process with core's evaluators.
 */
export class ZooKeeperResourceDriver implements ResourceDriver {
  readonly #layout: ResourceLayout;
  readonly #client: ZkClient;
  readonly #maxRecordBytes: number;
  readonly #cache: RecordCache;

  constructor(layout: ResourceLayout, client: ZkClient, maxRecordBytes: number, cacheSize: number) {
    this.#layout = layout;
    this.#client = client;
    this.#maxRecordBytes = maxRecordBytes;
    this.#cache = new RecordCache(cacheSize);
  }

  /** The layout of the resource. */
  get layout(): ResourceLayout {
    return this.#layout;
  }

  // The store's calls, each bounded by the fail-fast deadline (failFastMs) as a whole:
  // reads, retries after lost races and index-directory rounds included.

  insert(record: StoredRecord): Promise<StoredRecord> {
    return this.#client.bounded(`insert ${this.#layout.resource.name}`, () => this.#insert(record));
  }

  get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    return this.#client.bounded(`get ${this.#layout.resource.name}`, () => this.#get(scope, id));
  }

  getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    return this.#client.bounded(`getMany ${this.#layout.resource.name}`, () =>
      this.#getMany(scope, ids),
    );
  }

  list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    return this.#client.bounded(`list ${this.#layout.resource.name}`, () =>
      this.#list(scope, query),
    );
  }

  count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    return this.#client.bounded(`count ${this.#layout.resource.name}`, () =>
      this.#count(scope, where),
    );
  }

  update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    return this.#client.bounded(`update ${this.#layout.resource.name}`, () =>
      this.#update(scope, id, change),
    );
  }

  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    return this.#client.bounded(`delete ${this.#layout.resource.name}`, () =>
      this.#delete(scope, id, change),
    );
  }

  purge(before: string): Promise<number> {
    return this.#client.bounded(`purge ${this.#layout.resource.name}`, () => this.#purge(before));
  }

  async #insert(record: StoredRecord): Promise<StoredRecord> {
    const token = newToken();
    const ops = this.insertOps(record, token);
    try {
      await this.#client.commit(ops);
    } catch (err) {
      throw this.insertError(err, ops, 0);
    }
    // Core freezes what it gets back: keep the caller's values (and the cache) out of it.
    const stored = structuredClone(record);
    this.#cache.set({ record: stored, version: 0, token });
    return stored;
  }

  async #get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    const found = await this.read(id);
    return found && inReadScope(found.record, scope) ? found.record : undefined;
  }

  async #getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    const found = await this.readMany(ids);
    return found.filter((r) => inReadScope(r, scope));
  }

  async #list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    const { orderBy, after } = query;
    const ids = await this.#candidates(scope, query.where);
    const keep = (r: StoredRecord) =>
      inReadScope(r, scope) &&
      matchesWhere(r, query.where) &&
      (after === null || isAfter(r, orderBy, after));
    if (orderBy.field === 'id') {
      // Ids are the znode names: order them first and read only as many as the page needs.
      const asc = orderBy.direction === 'asc';
      const sorted = ids
        .filter((id) => after === null || (asc ? id > after.id : id < after.id))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0) * (asc ? 1 : -1));
      const out: StoredRecord[] = [];
      const step = Math.max(query.limit * 2, 64);
      for (let i = 0; i < sorted.length && out.length < query.limit; i += step) {
        const chunk = sorted.slice(i, i + step);
        const byId = new Map((await this.readMany(chunk)).map((r) => [r.id, r]));
        for (const id of chunk) {
          const r = byId.get(id);
          if (r && keep(r)) out.push(r);
        }
      }
      return out.slice(0, query.limit);
    }
    const rows = (await this.readMany(ids)).filter(keep);
    return rows.sort(recordComparator(orderBy)).slice(0, query.limit);
  }

  async #count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    const ids = await this.#candidates(scope, where);
    // When the index directories answer the whole filter exactly (equality and `in` on
    // indexed fields, no hashed value), their intersection is the count: no record read.
    if (this.#exactlyIndexed(where)) return ids.length;
    return (await this.readMany(ids)).filter((r) => inReadScope(r, scope) && matchesWhere(r, where))
      .length;
  }

  async #update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cached = fresh ? undefined : this.#cache.get(id);
      const cur = cached ?? (await this.read(id));
      fresh = true;
      if (!cur) return { status: 'not-found' };
      // A cached state only starts the attempt; outcomes other than `ok` are decided on a fresh read.
      if (!inWriteScope(cur.record, scope)) {
        if (cached) continue;
        return { status: 'not-found' };
      }
      if (!conditionsHold(cur.record, change.expectedRevision, change.expected)) {
        if (cached) continue;
        return { status: 'conflict', current: cur.record };
      }
      const next: StoredRecord = {
        ...cur.record,
        ...structuredClone(change.set),
        revision: cur.record.revision + 1,
        updatedAt: change.updatedAt,
        objectVersion: change.objectVersion,
      };
      const ops: ZkOp[] = [
        {
          type: 'set',
          path: this.#layout.record(id),
          data: this.#encode(next, cur.token),
          version: cur.version,
        },
        { type: 'check', path: this.#layout.stateEntry(cur.record, cur.token), version: -1 },
        ...this.#indexChanges(cur.record, next, cur.token),
      ];
      if (await this.#tryWrite(id, ops)) {
        this.#cache.set({ record: next, version: cur.version + 1, token: cur.token });
        return { status: 'ok', record: next };
      }
    }
    throw new UnavailableError(
      `zookeeper: ${this.#layout.resource.name} ${id}: update lost ${MAX_ATTEMPTS} races in a row`,
    );
  }

  async #delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cached = fresh ? undefined : this.#cache.get(id);
      const cur = cached ?? (await this.read(id));
      fresh = true;
      if (!cur) return { status: 'not-found' };
      if (!inWriteScope(cur.record, scope)) {
        if (cached) continue;
        return { status: 'not-found' };
      }
      if (!conditionsHold(cur.record, change.expectedRevision, undefined)) {
        if (cached) continue;
        return { status: 'conflict', current: cur.record };
      }
      if (!change.soft) {
        if (await this.#tryWrite(id, this.hardDeleteOps(cur))) {
          this.#cache.delete(id);
          return { status: 'ok', record: cur.record };
        }
        continue;
      }
      const next: StoredRecord = {
        ...cur.record,
        revision: cur.record.revision + 1,
        updatedAt: change.at,
        deletedAt: change.at,
      };
      const ops: ZkOp[] = [
        {
          type: 'set',
          path: this.#layout.record(id),
          data: this.#encode(next, cur.token),
          version: cur.version,
        },
        ...this.#indexChanges(cur.record, next, cur.token),
      ];
      if (await this.#tryWrite(id, ops)) {
        this.#cache.set({ record: next, version: cur.version + 1, token: cur.token });
        return { status: 'ok', record: next };
      }
    }
    throw new UnavailableError(
      `zookeeper: ${this.#layout.resource.name} ${id}: delete lost ${MAX_ATTEMPTS} races in a row`,
    );
  }

  async #purge(before: string): Promise<number> {
    const ids = ((await this.#client.getChildren(this.#layout.stateDir(true))) ?? []).map(
      idOfStateEntry,
    );
    const found = await this.readManyVersioned(ids);
    const old = found.filter((v) => v.record.deletedAt !== null && v.record.deletedAt < before);
    let purged = 0;
    for (let i = 0; i < old.length; i += PURGE_BATCH) {
      const batch = old.slice(i, i + PURGE_BATCH);
      try {
        await this.#client.commit(batch.flatMap((v) => this.hardDeleteOps(v)));
        purged += batch.length;
      } catch (err) {
        if (!(err instanceof ZkOpError)) throw err;
        // Another client purged some of them first: go one by one, counting what this call removed.
        for (const v of batch) {
          try {
            await this.#client.commit(this.hardDeleteOps(v));
            purged++;
          } catch (e) {
            if (!(e instanceof ZkOpError)) throw e;
          }
        }
      }
      for (const v of batch) this.#cache.delete(v.record.id);
    }
    await this.sweepEmptyDirectories();
    return purged;
  }

  /**
   * Removes the index value directories (and multi-field unique prefix directories) that
   * deletes left empty, so values no longer used (old hosts, released instances) do not
   * pile up in the server's memory. Best effort: a directory that gains a child meanwhile
   * stays (`NOT_EMPTY`), and a writer that finds its directory gone makes it again. `purge`
   * runs it; returns how many directories were removed.
   */
  async sweepEmptyDirectories(): Promise<number> {
    const layout = this.#layout;
    const roots: [string, number][] = [
      ...[...layout.indexedFields, VERSION_INDEX].map((f): [string, number] => [
        `${layout.index}/${f}`,
        1,
      ]),
      ...layout.resource.unique
        .filter((u) => u.length > 1)
        .map((u): [string, number] => [`${layout.unique}/${u.join('+')}`, u.length - 1]),
    ];
    let removed = 0;
    for (const [root, depth] of roots) {
      let level = [root];
      const candidates: string[][] = [];
      for (let d = 0; d < depth; d++) {
        const children = await Promise.all(level.map((dir) => this.#client.getChildren(dir)));
        level = level.flatMap((dir, i) => (children[i] ?? []).map((c) => `${dir}/${c}`));
        candidates.push(level);
      }
      // Deepest first, so a prefix directory emptied by this sweep goes too.
      for (const dirs of candidates.reverse()) {
        const counts = await Promise.all(dirs.map((dir) => this.#client.countChildren(dir)));
        const empty = dirs.filter((_, i) => counts[i] === 0);
        const done = await Promise.all(empty.map((dir) => this.#client.removeIfEmpty(dir)));
        removed += done.filter(Boolean).length;
      }
    }
    return removed;
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

  /** One record and its znode version, or `undefined`. Remembered for the next write. */
  async read(id: string): Promise<VersionedRecord | undefined> {
    const found = await this.#client.getData(this.#layout.record(id));
    if (!found) return undefined;
    const { [TOKEN_KEY]: token, ...record } = JSON.parse(
      found.data.toString('utf8'),
    ) as StoredRecord & {
      [TOKEN_KEY]: string;
    };
    const entry = { record: record as StoredRecord, version: found.version, token };
    this.#cache.set(entry);
    return entry;
  }

  /** The records among `ids` that exist, read in pipelined batches. */
  async readMany(ids: readonly string[]): Promise<StoredRecord[]> {
    return (await this.readManyVersioned(ids)).map((v) => v.record);
  }

  /** Like {@link readMany}, with znode versions. */
  async readManyVersioned(ids: readonly string[]): Promise<VersionedRecord[]> {
    const out: VersionedRecord[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = await Promise.all(ids.slice(i, i + READ_BATCH).map((id) => this.read(id)));
      for (const v of batch) if (v) out.push(v);
    }
    return out;
  }

  /** The ops that create a record with all its index and unique znodes; the record's create comes first. */
  insertOps(record: StoredRecord, token: string = newToken()): ZkOp[] {
    const data = this.#encode(record, token);
    return [
      { type: 'create', path: this.#layout.record(record.id), data },
      ...this.#layout.indexEntries(record, token).map((path): ZkOp => ({ type: 'create', path })),
      ...this.#layout
        .uniqueEntries(record)
        .map((u): ZkOp => ({ type: 'create', path: u.path, data: Buffer.from(record.id) })),
    ];
  }

  /** The ops that remove a record (at its version) with all its index and unique znodes. */
  hardDeleteOps(cur: VersionedRecord): ZkOp[] {
    return [
      { type: 'remove', path: this.#layout.record(cur.record.id), version: cur.version },
      ...this.#layout
        .indexEntries(cur.record, cur.token)
        .map((path): ZkOp => ({ type: 'remove', path, version: -1 })),
      ...this.#layout
        .uniqueEntries(cur.record)
        .map((u): ZkOp => ({ type: 'remove', path: u.path, version: -1 })),
    ];
  }

  /**
   * The core error of a failed insert multi whose record create is at `recordIndex`: a
   * taken id or unique value is a `DuplicateError`, other refusals `UnavailableError`.
   */
  insertError(err: unknown, ops: readonly ZkOp[], recordIndex: number): unknown {
    if (!(err instanceof ZkOpError) || err.code !== ZK.NODE_EXISTS || err.index === undefined) {
      return unhandled(err);
    }
    if (err.index === recordIndex) return new DuplicateError(this.#layout.resource.name, ['id']);
    const unique = this.#uniqueOf(ops[err.index]!.path);
    if (unique) return new DuplicateError(this.#layout.resource.name, unique);
    return new UnavailableError(
      `zookeeper: ${ops[err.index]!.path} exists already: the index is out of step`,
    );
  }

  /** Forgets what the driver remembers of a record. */
  forget(id: string): void {
    this.#cache.delete(id);
  }

  /**
   * Commits a write built on a read state: `true` when applied, `false` when the record
   * changed meanwhile (read again and retry). A taken unique value is a `DuplicateError`.
   */
  async #tryWrite(id: string, ops: readonly ZkOp[]): Promise<boolean> {
    try {
      await this.#client.commit(ops);
      return true;
    } catch (err) {
      if (!(err instanceof ZkOpError) || err.index === undefined) throw unhandled(err);
      if (err.code === ZK.NODE_EXISTS && err.index > 0) {
        const unique = this.#uniqueOf(ops[err.index]!.path);
        if (unique) throw new DuplicateError(this.#layout.resource.name, unique);
      }
      // The version check failed, or an index entry of the state read is gone: it was stale.
      this.#cache.delete(id);
      return false;
    }
  }

  /** Whether the candidate ids of `where` are exactly the matching records. */
  #exactlyIndexed(where: readonly Predicate[]): boolean {
    return where.every((p) => {
      if (p.field === 'id' || !this.#layout.indexedFields.includes(p.field)) return false;
      if (p.op !== 'eq' && p.op !== 'in') return false;
      const values = p.op === 'eq' ? [p.value] : (p.value as readonly unknown[]);
      return values.every((v) => !encodeValue(v).startsWith('h'));
    });
  }

  /** The fields of the unique constraint a znode path belongs to, if it is a unique znode. */
  #uniqueOf(path: string): readonly string[] | undefined {
    if (!path.startsWith(`${this.#layout.unique}/`)) return undefined;
    const name = path.slice(this.#layout.unique.length + 1).split('/')[0];
    return this.#layout.resource.unique.find((u) => u.join('+') === name);
  }

  /** The index and unique znode ops that take a record from `before` to `after`. */
  #indexChanges(before: StoredRecord, after: StoredRecord, token: string): ZkOp[] {
    const ops: ZkOp[] = [];
    const diff = (old: readonly string[], now: readonly string[], data: Buffer | undefined) => {
      const keep = new Set(now);
      const had = new Set(old);
      for (const p of old) if (!keep.has(p)) ops.push({ type: 'remove', path: p, version: -1 });
      for (const p of now)
        if (!had.has(p))
          ops.push(data ? { type: 'create', path: p, data } : { type: 'create', path: p });
    };
    diff(
      this.#layout.indexEntries(before, token),
      this.#layout.indexEntries(after, token),
      undefined,
    );
    diff(
      this.#layout.uniqueEntries(before).map((u) => u.path),
      this.#layout.uniqueEntries(after).map((u) => u.path),
      Buffer.from(after.id),
    );
    return ops;
  }

  /** A record's znode data; refuses records over the declared size before anything is written. */
  #encode(record: StoredRecord, token: string): Buffer {
    const data = Buffer.from(JSON.stringify({ ...record, [TOKEN_KEY]: token }), 'utf8');
    // The limit is on the record as core measures it (its JSON), not on the token added here.
    const bytes =
      data.length - Buffer.byteLength(`,${JSON.stringify(TOKEN_KEY)}:${JSON.stringify(token)}`);
    if (bytes > this.#maxRecordBytes) {
      throw new InvalidInputError(this.#layout.resource.name, [
        {
          field: 'values',
          message: `record is ${bytes} bytes, more than the backend's limit of ${this.#maxRecordBytes}`,
        },
      ]);
    }
    return data;
  }

  /**
   * The ids that may match: the intersection of the index directories the filter and
   * scope name (equality and `in` on indexed fields, the project, deletion state), all
   * read concurrently in one round trip; every record read is still checked in full.
   */
  async #candidates(scope: ReadScope, where: readonly Predicate[]): Promise<string[]> {
    const layout = this.#layout;
    const sets: Promise<Set<string>>[] = [];
    const union = async (dirs: readonly string[], idOf: (name: string) => string = (n) => n) => {
      const lists = await Promise.all(dirs.map((d) => this.#client.getChildren(d)));
      return new Set(lists.flatMap((l) => (l ?? []).map(idOf)));
    };
    for (const p of where) {
      const values =
        p.op === 'eq' ? [p.value] : p.op === 'in' ? (p.value as readonly unknown[]) : undefined;
      if (!values) continue;
      if (p.field === 'id')
        sets.push(
          Promise.resolve(new Set(values.filter((v): v is string => typeof v === 'string'))),
        );
      else if (layout.indexedFields.includes(p.field))
        sets.push(union(values.map((v) => layout.valueDir(p.field, v))));
    }
    if (layout.resource.scope !== 'global' && scope.projectId !== null) {
      const dirs = [layout.valueDir('projectId', scope.projectId)];
      if (scope.includeShared) dirs.push(layout.valueDir('projectId', null));
      sets.push(union(dirs));
    }
    // The live set is as large as the resource, so it is never read here; the deleted set
    // is usually small: it is subtracted (live-only reads) or intersected (`only`).
    const deleted =
      layout.resource.softDelete && scope.deleted !== 'yes'
        ? union([layout.stateDir(true)], idOfStateEntry)
        : undefined;
    // Awaited below; keep a failure from being reported as unhandled before that.
    deleted?.catch(() => {});
    if (scope.deleted === 'only') sets.push(deleted ?? Promise.resolve(new Set<string>()));
    let ids: string[];
    if (sets.length === 0) {
      ids = (await this.#client.getChildren(layout.records)) ?? [];
    } else {
      const resolved = (await Promise.all(sets)).sort((a, b) => a.size - b.size);
      const [smallest, ...rest] = resolved;
      ids = [...smallest!].filter((id) => rest.every((s) => s.has(id)));
    }
    if (scope.deleted === 'no' && deleted) {
      const gone = await deleted;
      ids = ids.filter((id) => !gone.has(id));
    }
    return ids;
  }
}

/** The key of the incarnation token in a record znode's JSON (not a legal field name). */
const TOKEN_KEY = '$token';

/** A new incarnation token. */
function newToken(): string {
  return randomBytes(6).toString('base64url');
}

/** Whether a record meets a write's conditions. */
function conditionsHold(
  record: StoredRecord,
  expectedRevision: number | undefined,
  expected: Readonly<Record<string, readonly unknown[]>> | undefined,
): boolean {
  if (expectedRevision !== undefined && record.revision !== expectedRevision) return false;
  for (const [field, allowed] of Object.entries(expected ?? {})) {
    if (!allowed.some((v) => sameValue(record[field], v))) return false;
  }
  return true;
}
