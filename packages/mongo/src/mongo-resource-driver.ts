import { DuplicateError } from '@polystore/core';
import {
  type DeleteChange,
  type EvolutionDriver,
  inWriteScope,
  KeyedQueue,
  type ListQuery,
  meetsConditions,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  type StoredRecord,
  sameValue,
  type UpdateChange,
  type VersionPage,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import type { Collection, Document, Filter } from 'mongodb';
import pMap from 'p-map';
import { isDuplicateKeyError, mapErrors, serverError, toCoreError } from './errors.js';
import { bounded, command } from './fail-fast.js';
import { DEAD, type MongoLayout, type StoredDocument } from './layout.js';
import {
  afterClause,
  allOf,
  readScopeClauses,
  sortOf,
  whereClauses,
  writeScopeClauses,
} from './mongo-filter.js';
import { MONGO_DEFAULTS } from './mongo-options.js';
import type { RecordClaims } from './record-claims.js';

/** How often a write is tried again when its failure cannot be explained (the record moved under it). */
const MAX_ATTEMPTS = 3;
/**
 * How often a claimed write without an expected revision starts afresh because other
 * writers moved the record on first (each time one of them succeeded).
 */
const MAX_CLAIMED_ATTEMPTS = 100;

/**
 * Records `rewriteMany` claims, reads and writes together under claims. A batch holds its
 * records' steps until its bulk write ends, and writers of those records wait that out: on
 * FerretDB v1 on SQLite every update reads the whole table (its `_id` index is not used),
 * so 25 updates take a second or two at 10k records; far below the claims' staleness.
 */
const REWRITE_BATCH = 25;
/** How often one batch of `rewriteMany` is written again after a record of it was refused. */
const MAX_BATCH_ATTEMPTS = 5;
/** `rewrite`s of `rewriteMany` in flight without claims (each one command on MongoDB). */
const REWRITES_IN_FLIGHT = 16;

/** Expected values of a conditional write, by field. */
type Expected = Readonly<Record<string, readonly unknown[]>>;

/** Whether a conditional write may apply to a record as it is: why not, or `holds`. */
type Verdict =
  | Exclude<WriteOutcome, { status: 'ok' }>
  | { readonly status: 'holds'; readonly current: StoredRecord };

/**
 * The per-record lock table of every store of this process that serialises its writes
 * (`serializeWrites`), keyed by server and database, collection and record id.
 *
 * Why: FerretDB v1.24 runs `findAndModify` as a read followed by an unconditional write by
 * `_id`, so two concurrent conditional updates of one record can both succeed (a lost
 * update). Running the conditional writes of a record one at a time closes that race for
 * all stores of this process (claims, `src/record-claims.ts`, close it across processes;
 * this spares the claims of one process from waiting for each other). Process-wide (on
 * `globalThis`, see `KeyedQueue.shared`), so every copy of this module shares it.
 */
const RECORD_LOCKS = KeyedQueue.shared('mongo-record-locks');

/**
 * Runs `fn` under the lock of record `id` of `collection` in {@link RECORD_LOCKS}, shared by
 * every writer of the record in this process (the drivers' conditional writes, the markers
 * `expand` writes); at once when `lockScope` (the server and database) is `undefined`.
 */
export function underRecordLock<T>(
  lockScope: string | undefined,
  collection: string,
  id: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (lockScope === undefined) return fn();
  return RECORD_LOCKS.run(`${lockScope}\u0000${collection}\u0000${id}`, fn);
}

/**
 * The driver of the `fixedIp` resource as the address allocator sees it. Internal: only
 * `MongoAddressAllocator` uses it, and it is no part of the `ResourceDriver` API.
 */
export interface FixedIpWriter {
  /** Runs one allocator call within the driver's fail-fast bound (see `bounded`). */
  bounded<T>(what: string, run: () => Promise<T>): Promise<T>;
  /** Inserts a record; `false` when a unique index (the `_id` one included) refused it. */
  tryInsert(record: StoredRecord): Promise<boolean>;
  /** The addresses of the live fixed IPs of network `networkId`, and whether `id` is taken. */
  taken(networkId: string, id: string): Promise<{ addresses: Set<string>; idTaken: boolean }>;
  /** Releases every live fixed IP of the write scope held by `instanceId`; returns how many. */
  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number>;
}

/** How the writes of a driver are guarded; every field optional. */
export interface DriverWrites {
  /**
   * The server and database, when the conditional writes of each record run one at a time
   * in this process (`serializeWrites`, see {@link RECORD_LOCKS}).
   */
  readonly lockScope?: string;
  /** Makes conditional writes exclusive across processes (`claimWrites`, see `RecordClaims`). */
  readonly claims?: RecordClaims;
  /** Every call ends within it (see `bounded`). Default `MONGO_DEFAULTS.failFastMs`. */
  readonly failFastMs?: number;
}

/** The revision of a stored record while it is live, else `undefined` (gone or deleted). */
function liveRevision(doc: Document | null): number | undefined {
  return doc === null || (doc.deletedAt ?? null) !== null ? undefined : (doc.revision as number);
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
 * name the broken unique constraint.
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
  readonly #claims: RecordClaims | undefined;
  readonly #failFastMs: number;

  /** `writes` says how conditional writes are guarded and the fail-fast bound. */
  constructor(
    layout: MongoLayout,
    collection: Collection<StoredDocument>,
    writes: DriverWrites = {},
  ) {
    this.#layout = layout;
    this.#collection = collection;
    this.#lockScope = writes.lockScope;
    this.#claims = writes.claims;
    this.#failFastMs = writes.failFastMs ?? MONGO_DEFAULTS.failFastMs;
  }

  /** A driver of the `fixedIp` resource and the {@link FixedIpWriter} over it, for the allocator. */
  static withWriter(
    layout: MongoLayout,
    collection: Collection<StoredDocument>,
    writes: DriverWrites = {},
  ): { readonly driver: MongoResourceDriver; readonly writer: FixedIpWriter } {
    const driver = new MongoResourceDriver(layout, collection, writes);
    const writer: FixedIpWriter = {
      bounded: (what, run) => driver.#bounded(what, run),
      tryInsert: (record) => driver.#tryInsert(record),
      taken: (networkId, id) => driver.#liveValues('address', 'networkId', networkId, id),
      releaseAllForInstance: (scope, instanceId, at) =>
        driver.#bounded('deleteAll', () =>
          driver.#deleteAllWhere(scope, 'instanceId', instanceId, at),
        ),
    };
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
      const fields = await this.#duplicateOfInsert(record);
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
      return await this.#conditional(
        scope,
        id,
        change.expectedRevision,
        change.expected,
        (filter) => this.#collection.findOneAndUpdate(filter, update, { returnDocument: 'after' }),
      );
    } catch (err) {
      if (!isDuplicateKeyError(err))
        throw toCoreError(err, { operation: `update ${this.#layout.collection}` });
      throw new DuplicateError(
        this.#layout.resource.name,
        await this.#duplicateOfUpdate(id, change.set),
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
      return await this.#conditional(
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

  /**
   * Runs a conditional write: `write` gets the filter (id, write scope, revision, expected
   * values) and returns the document written, or `null` when the filter matched nothing.
   * Driver errors of `write` are thrown as they are, for the caller to map.
   */
  #conditional(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: (filter: Filter<StoredDocument>) => Promise<Document | null>,
  ): Promise<WriteOutcome> {
    return this.#claims
      ? this.#claimedWrite(this.#claims, scope, id, expectedRevision, expected, write)
      : this.#plainWrite(scope, id, expectedRevision, expected, write);
  }

  /** The write as one atomic command (MongoDB): a second read only explains a failure. */
  async #plainWrite(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: (filter: Filter<StoredDocument>) => Promise<Document | null>,
  ): Promise<WriteOutcome> {
    const filter = this.#writeFilter(scope, id, expectedRevision, expected);
    for (let attempt = 1; ; attempt++) {
      const doc = await command(() => write(filter));
      if (doc !== null) return { status: 'ok', record: this.#layout.fromDocument(doc) };
      const verdict = await this.#verdict(scope, id, expectedRevision, expected);
      if (verdict.status !== 'holds') return verdict;
      // The conditions hold after all (the record changed between the two commands).
      if (attempt >= MAX_ATTEMPTS) return { status: 'conflict', current: verdict.current };
    }
  }

  /**
   * The write under a claim of its revision step (see {@link RecordClaims}), for FerretDB
   * v1, whose `findAndModify` is not atomic across connections. With an expected revision
   * the step is known and claimed at once; otherwise the record is read first. A claim
   * lost to a writer that moved the record on means deciding afresh from the new state.
   */
  async #claimedWrite(
    claims: RecordClaims,
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: (filter: Filter<StoredDocument>) => Promise<Document | null>,
  ): Promise<WriteOutcome> {
    let from = expectedRevision;
    let failedAt: number | undefined;
    // The record as last read while waiting for a claim, so it need not be read again.
    let state: Document | null | undefined;
    for (let attempt = 1; ; attempt++) {
      if (from === undefined) {
        const verdict = this.#judge(
          state === undefined ? await this.#read(id) : state,
          scope,
          undefined,
          expected,
        );
        if (verdict.status !== 'holds') return verdict;
        // The write failed at this very revision although its conditions hold (they were
        // judged differently), or the record keeps moving: give up as a conflict.
        if (verdict.current.revision === failedAt || attempt > MAX_CLAIMED_ATTEMPTS)
          return { status: 'conflict', current: verdict.current };
        from = verdict.current.revision;
      }
      state = undefined;
      const got = await claims.acquire(
        this.#layout.collection,
        id,
        from,
        () => this.#read(id),
        liveRevision,
      );
      if ('claim' in got) {
        let doc: Document | null;
        try {
          doc = await command(() => write(this.#writeFilter(scope, id, from, expected)));
        } catch (err) {
          // The server refused the write (a broken unique index): nothing was written, so
          // the step is freed at once. Any other failure (a timeout on a frozen server, a
          // lost connection, the call given up) leaves the write's fate unknown: the server
          // may still run it when it wakes. Then the claim stays held, so no other writer
          // meets that late write inside FerretDB's read-then-write window; this process
          // drops it before its next claimed write, others take it over once stale.
          if (serverError(err) !== undefined) await got.claim.release(false);
          else got.claim.abandon();
          throw err;
        }
        await got.claim.release(doc !== null);
        if (doc !== null) return { status: 'ok', record: this.#layout.fromDocument(doc) };
        failedAt = from;
      } else {
        state = got.moved;
      }
      if (expectedRevision !== undefined) {
        // The record is not (or no longer) at the expected revision, or the other
        // conditions fail: the record as it is says which.
        const verdict = this.#judge(
          state === undefined ? await this.#read(id) : state,
          scope,
          expectedRevision,
          expected,
        );
        return verdict.status === 'holds'
          ? { status: 'conflict', current: verdict.current }
          : verdict;
      }
      from = undefined;
    }
  }

  countByVersion(): Promise<Record<string, number>> {
    return this.#bounded('countByVersion', () => this.#countByVersion());
  }

  /** One `$group` over the `objectVersion` index: no record is read by this process. */
  async #countByVersion(): Promise<Record<string, number>> {
    const groups = await mapErrors(`countByVersion ${this.#layout.collection}`, () =>
      this.#collection
        .aggregate<{ _id: unknown; n: number }>([
          { $group: { _id: '$objectVersion', n: { $sum: 1 } } },
        ])
        .toArray(),
    );
    const out: Record<string, number> = {};
    for (const g of groups) if (typeof g._id === 'string' && g.n > 0) out[g._id] = g.n;
    return out;
  }

  scanVersion(version: string, after: string | undefined, limit: number): Promise<VersionPage> {
    return this.#bounded('scanVersion', () => this.#scanVersion(version, after, limit));
  }

  async #scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    const clauses: Document[] = [{ objectVersion: { $eq: version } }];
    if (after !== undefined) clauses.push({ _id: { $gt: after } });
    const docs = await mapErrors(`scanVersion ${this.#layout.collection}`, () =>
      this.#collection
        .find(allOf(clauses))
        .sort({ _id: 1 })
        .limit(limit)
        .batchSize(limit)
        .toArray(),
    );
    const records = docs.map((d) => this.#layout.fromDocument(d));
    return { records, after: records.length === limit ? records.at(-1)?.id : undefined };
  }

  rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    return this.#bounded('rewrite', () =>
      this.#exclusive(record.id, () => this.#rewrite(record, expectedRevision)),
    );
  }

  /**
   * Replaces the whole document (one `findOneAndReplace` by id and revision, claimed on
   * FerretDB like every conditional write), markers included: the server's indexes then
   * hold exactly the new record's entries, whatever the old document carried.
   */
  async #rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    const id = record.id;
    const doc = this.#layout.toReplacement({ ...record, revision: expectedRevision + 1 });
    const filter = allOf([{ _id: { $eq: id } }, { revision: { $eq: expectedRevision } }]);
    const write = () =>
      command(() => this.#collection.findOneAndReplace(filter, doc, { returnDocument: 'after' }));
    let written: Document | null;
    try {
      if (this.#claims) {
        const got = await this.#claims.acquire(
          this.#layout.collection,
          id,
          expectedRevision,
          () => this.#read(id),
          (state) => (state === null ? undefined : (state.revision as number)),
        );
        if (!('claim' in got)) return this.#rewriteRefused(got.moved);
        try {
          written = await write();
        } catch (err) {
          // As in `#claimedWrite`: a refusal frees the step, an unknown fate keeps it held.
          if (serverError(err) !== undefined) await got.claim.release(false);
          else got.claim.abandon();
          throw err;
        }
        await got.claim.release(written !== null);
      } else {
        written = await write();
      }
    } catch (err) {
      if (!isDuplicateKeyError(err))
        throw toCoreError(err, { operation: `rewrite ${this.#layout.collection}` });
      throw new DuplicateError(this.#layout.resource.name, await this.#duplicateOfRewrite(record));
    }
    if (written !== null) return { status: 'ok', record: this.#layout.fromDocument(written) };
    return this.#rewriteRefused(await this.#read(id));
  }

  /**
   * `rewrite` of many records. With claimed writes (FerretDB v1), {@link REWRITE_BATCH} at a
   * time in a few commands: every step claimed in one insert, the records read by id, and
   * those still at their expected revision replaced in one bulk write whose filters are
   * plain ids. The claims make that safe (no other writer can move a record off a revision
   * whose step this process holds) and plain-id filters are the only ones FerretDB v1 hands
   * to its storage (any other filter reads the whole collection into FerretDB per command).
   * Without claims, {@link REWRITES_IN_FLIGHT} `rewrite`s at a time. The ids rewritten are
   * returned; the others (a step another process holds, a unique clash, a record moved on)
   * are the caller's to `rewrite` one by one.
   */
  async rewriteMany(
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<readonly string[]> {
    const claims = this.#claims;
    const done: string[] = [];
    if (claims === undefined) {
      const outcomes = await pMap(
        rewrites,
        ({ record, expectedRevision }) =>
          this.rewrite(record, expectedRevision).catch((err: unknown) => {
            // A unique clash: left for the caller's own rewrite, which reports it.
            if (err instanceof DuplicateError) return undefined;
            throw err;
          }),
        { concurrency: REWRITES_IN_FLIGHT },
      );
      return rewrites.filter((_, i) => outcomes[i]?.status === 'ok').map((r) => r.record.id);
    }
    for (let i = 0; i < rewrites.length; i += REWRITE_BATCH) {
      const batch = rewrites.slice(i, i + REWRITE_BATCH);
      done.push(...(await this.#bounded('rewriteMany', () => this.#rewriteClaimed(claims, batch))));
    }
    return done;
  }

  /** One batch of {@link rewriteMany} under claims. */
  async #rewriteClaimed(
    claims: RecordClaims,
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<string[]> {
    const collection = this.#layout.collection;
    const held = await claims.acquireMany(
      collection,
      rewrites.map((r) => ({ id: r.record.id, from: r.expectedRevision })),
    );
    const claimed = rewrites.filter((r) => held.has(r.record.id));
    const claimOf = (r: { readonly record: StoredRecord }) => held.get(r.record.id)!;
    let ready: typeof claimed;
    try {
      const current = await this.#revisions(claimed.map((r) => r.record.id));
      ready = claimed.filter((r) => current.get(r.record.id) === r.expectedRevision);
    } catch (err) {
      await claims.releaseMany([], [...held.values()]);
      throw err;
    }
    const written = new Set<string>();
    let left = ready;
    for (let attempt = 0; left.length > 0 && attempt < MAX_BATCH_ATTEMPTS; attempt++) {
      // Plain string ids: a string is never read as an operator.
      const ops = left.map((r) => ({
        replaceOne: {
          filter: { _id: r.record.id },
          replacement: this.#layout.toReplacement({
            ...r.record,
            revision: r.expectedRevision + 1,
          }),
        },
      }));
      try {
        await command(() => this.#collection.bulkWrite(ops, { ordered: false }));
        for (const r of left) written.add(r.record.id);
        break;
      } catch (err) {
        if (serverError(err) === undefined) {
          // Timed out or cut off: the server may still run it; keep the claims held.
          claims.abandonMany([...held.values()]);
          throw toCoreError(err, { operation: `rewriteMany ${collection}` });
        }
        // Refused part-way: FerretDB v1 stops a bulk write at the first broken unique index
        // (whatever `ordered` says). The records that moved on are those written (no one
        // else could move them); the first that did not is the one refused: left out, and
        // the rest written again.
        const after = await this.#revisions(left.map((r) => r.record.id)).catch(
          (readErr: unknown) => {
            claims.abandonMany([...held.values()]);
            throw readErr;
          },
        );
        const moved = (r: (typeof left)[number]) =>
          (after.get(r.record.id) ?? r.expectedRevision) > r.expectedRevision;
        for (const r of left) if (moved(r)) written.add(r.record.id);
        const refused = left.findIndex((r) => !moved(r));
        left = left.slice(refused + 1).filter((r) => !moved(r));
      }
    }
    await claims.releaseMany(
      claimed.filter((r) => written.has(r.record.id)).map(claimOf),
      claimed.filter((r) => !written.has(r.record.id)).map(claimOf),
    );
    return [...written];
  }

  /** The revisions of the records among `ids` that exist (one read). */
  async #revisions(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const docs = await mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection
        .find({ _id: { $in: [...ids] } }, { projection: { revision: 1 } })
        .batchSize(ids.length)
        .toArray(),
    );
    return new Map(docs.map((d) => [d._id as string, d.revision as number]));
  }

  /** Why a rewrite did not apply, from the document as it is: gone, or at another revision. */
  #rewriteRefused(doc: Document | null): WriteOutcome {
    return doc === null
      ? { status: 'not-found' }
      : { status: 'conflict', current: this.#layout.fromDocument(doc) };
  }

  /**
   * Which unique constraint a refused rewrite broke: one whose values another live record
   * holds (see {@link #uniqueConstraints}), else `['id']`.
   */
  async #duplicateOfRewrite(record: StoredRecord): Promise<readonly string[]> {
    const live = (await this.#uniqueConstraints()).filter((u) =>
      u.every((f) => (record[f] ?? null) !== null),
    );
    const docs = await this.#findClashes(record, live, false);
    return this.#firstClash(record, live, docs) ?? live[0] ?? ['id'];
  }

  /**
   * The unique constraints that may refuse a write (read only once one was refused): the
   * definition's, then the fields of each other unique index of the collection, one that
   * the `expand` of a newer definition added and this code's definition lacks.
   */
  async #uniqueConstraints(): Promise<(readonly string[])[]> {
    const indexes = await mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection.listIndexes().toArray(),
    );
    const constraints: (readonly string[])[] = [...this.#layout.resource.unique];
    for (const i of indexes) {
      const paths = Object.keys(i.key as Document);
      const dead = paths.indexOf(DEAD);
      if (i.unique !== true || dead <= 0) continue;
      const fields = paths.slice(0, dead);
      if (!constraints.some((u) => u.join(',') === fields.join(','))) constraints.push(fields);
    }
    return constraints;
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

  /**
   * Releases (removes, or soft-deletes) every live record of the write scope whose
   * `field` equals `value`; returns how many. Not atomic as a whole (MongoDB has no
   * multi-document atomicity without transactions), but idempotent.
   */
  async #deleteAllWhere(
    scope: WriteScope,
    field: string,
    value: string,
    at: string,
  ): Promise<number> {
    const filter = allOf([
      { [this.#layout.path(field)]: { $eq: value } },
      ...writeScopeClauses(scope),
    ]);
    const operation = `deleteAll ${this.#layout.collection}`;
    if (!this.#layout.resource.softDelete && this.#lockScope === undefined && !this.#claims) {
      // One deleteMany over live records only: cut short by a crash, it has removed some of
      // them and left the rest live, so calling it again finishes the job.
      const res = await mapErrors(operation, () => this.#collection.deleteMany(filter));
      return res.deletedCount;
    }
    // Record by record: a soft delete marks each record with its own id (the unique-index
    // marker), which one updateMany cannot do, and serialised or claimed writes take each
    // record's lock or claim. Each step touches live records only, so a run cut short (a crash, a timeout)
    // is finished by running it again.
    const ids = await mapErrors(operation, () =>
      this.#collection.find(filter, { projection: { _id: 1 } }).toArray(),
    );
    let n = 0;
    for (const { _id } of ids) {
      const soft = this.#layout.resource.softDelete;
      const outcome = await this.delete(scope, _id, { soft, at, expectedRevision: undefined });
      if (outcome.status === 'ok') n++;
    }
    return n;
  }

  /** The addresses (values of `field`) of live records whose `groupField` is `group`, and whether `id` is taken. */
  async #liveValues(
    field: string,
    groupField: string,
    group: string,
    id: string,
  ): Promise<{ addresses: Set<string>; idTaken: boolean }> {
    const filter = allOf([
      { $or: [{ _id: { $eq: id } }, { [groupField]: { $eq: group }, deletedAt: { $eq: null } }] },
    ]);
    const docs = await mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection
        .find(filter, { projection: { _id: 1, [field]: 1, [groupField]: 1, deletedAt: 1 } })
        .toArray(),
    );
    const values = new Set<string>();
    let idTaken = false;
    for (const d of docs) {
      if (d._id === id) idTaken = true;
      if (d[groupField] === group && d.deletedAt === null) values.add(d[field] as string);
    }
    return { addresses: values, idTaken };
  }

  /** Filter of a conditional write: the id, the write scope and the conditions. */
  #writeFilter(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Filter<StoredDocument> {
    const clauses: Document[] = [{ _id: { $eq: id } }, ...writeScopeClauses(scope)];
    if (expectedRevision !== undefined) clauses.push({ revision: { $eq: expectedRevision } });
    for (const [field, allowed] of Object.entries(expected ?? {})) {
      clauses.push({ [this.#layout.path(field)]: { $in: [...allowed] } });
    }
    return allOf(clauses);
  }

  /**
   * Whether a conditional write may apply to record `id` as it is now (one read): not
   * found (or out of scope, or deleted), a conflict with the record as it is, or `holds`.
   */
  async #verdict(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Promise<Verdict> {
    return this.#judge(await this.#read(id), scope, expectedRevision, expected);
  }

  /** The verdict on a document already read. */
  #judge(
    doc: Document | null,
    scope: WriteScope,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Verdict {
    if (doc === null) return { status: 'not-found' };
    const current = this.#layout.fromDocument(doc);
    if (!inWriteScope(current, scope)) return { status: 'not-found' };
    const holds = meetsConditions(current, expectedRevision, expected);
    return { status: holds ? 'holds' : 'conflict', current };
  }

  /** Which constraint a refused insert broke: `['id']`, a unique constraint, or `undefined` if none clashes now. */
  async #duplicateOfInsert(record: StoredRecord): Promise<readonly string[] | undefined> {
    const constraints = (await this.#uniqueConstraints()).filter((u) =>
      u.every((f) => (record[f] ?? null) !== null),
    );
    const docs = await this.#findClashes(record, constraints, true);
    if (docs.some((d) => d._id === record.id)) return ['id'];
    return this.#firstClash(record, constraints, docs);
  }

  /** Which unique constraint a refused update broke (one read of the record, one of its clashes). */
  async #duplicateOfUpdate(
    id: string,
    set: Readonly<Record<string, unknown>>,
  ): Promise<readonly string[]> {
    const touched = (await this.#uniqueConstraints()).filter((u) =>
      u.some((f) => Object.hasOwn(set, f)),
    );
    const doc = await mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection.findOne(allOf([{ _id: { $eq: id } }])),
    );
    const merged: Record<string, unknown> = {
      ...(doc ? this.#layout.fromDocument(doc) : {}),
      ...set,
      id,
    };
    const constraints = touched.filter((u) =>
      u.every((f) => merged[f] !== null && merged[f] !== undefined),
    );
    const docs = await this.#findClashes(merged, constraints, false);
    return this.#firstClash(merged, constraints, docs) ?? touched[0] ?? ['id'];
  }

  /** Live records other than `values.id` that hold the same values as `values` for some constraint. */
  async #findClashes(
    values: Readonly<Record<string, unknown>>,
    constraints: readonly (readonly string[])[],
    withId: boolean,
  ): Promise<Document[]> {
    const branches: Document[] = constraints.map((u) => {
      const b: Document = { deletedAt: { $eq: null }, _id: { $ne: values.id } };
      for (const f of u) b[f] = { $eq: values[f] };
      return b;
    });
    if (withId) branches.push({ _id: { $eq: values.id } });
    if (branches.length === 0) return [];
    return mapErrors(`read ${this.#layout.collection}`, () =>
      this.#collection
        .find(allOf([{ $or: branches }]))
        .limit(branches.length * 2)
        .toArray(),
    );
  }

  #firstClash(
    values: Readonly<Record<string, unknown>>,
    constraints: readonly (readonly string[])[],
    docs: readonly Document[],
  ): readonly string[] | undefined {
    return constraints.find((u) =>
      docs.some(
        (d) =>
          d._id !== values.id && d.deletedAt === null && u.every((f) => sameValue(d[f], values[f])),
      ),
    );
  }
}
