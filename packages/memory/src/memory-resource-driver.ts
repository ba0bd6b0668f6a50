import { type AnyResource, DuplicateError, WriteBelowPinError } from '@polystore/core';
import {
  compareCodePoints,
  type DeleteChange,
  deepFreeze,
  type EvolutionDriver,
  elementsOf,
  inReadScope,
  inWriteScope,
  isAfter,
  type ListQuery,
  matchesWhere,
  meetsConditions,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  recordComparator,
  type StoredRecord,
  sameValue,
  type UpdateChange,
  uniqueKey,
  type VersionPage,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import { ClosedGuard } from './closed-guard.js';
import { toCoreError } from './errors.js';
import type { MemoryTable } from './memory-database.js';
import { type ElementKey, indexEntryKey, MemorySchema, uniqueEntryKey } from './memory-schema.js';

/**
 * What the address allocator needs of the fixed-IP driver. Internal: only the code that
 * opens the driver gets it (through {@link MemoryResourceDriver.withWriter}); it is not part
 * of the driver's API. Its steps are synchronous, so an allocation (read the taken
 * addresses, then insert) runs in one turn of the event loop: atomic by construction.
 */
export interface FixedIpWriter {
  /** The live (not deleted) records. */
  liveRecords(): StoredRecord[];
  /** Inserts a record, with the same id and unique checks as the driver's `insert`. */
  insert(record: StoredRecord): StoredRecord;
  /** Deletes a record as the driver's `delete` does. */
  delete(scope: WriteScope, id: string, change: DeleteChange): WriteOutcome;
}

/**
 * The reference `ResourceDriver`: every operation runs synchronously inside one call, so
 * it is atomic by construction; every rule is written as plainly as it is stated.
 *
 * Like a client of a backend with physical indexes, it keeps the entries (see
 * {@link MemorySchema}) of the indexes and unique constraints its own definition declares,
 * where the table has them applied; entries of elements its definition does not know are
 * left as they are (stale after an update), which `rewrite` repairs. Unique constraints
 * are enforced among live records for the definition's and the table's applied ones.
 *
 * @example
 * ```ts
 * const driver = new MemoryResourceDriver(instanceResource, new MemoryDatabase().table('instance'));
 * await driver.insert(record);
 * ```
 */
export class MemoryResourceDriver implements ResourceDriver, EvolutionDriver {
  readonly #resource: AnyResource;
  readonly #table: MemoryTable;
  readonly #guard: ClosedGuard;
  readonly #schema: MemorySchema;
  /** The elements whose entries this definition maintains. */
  readonly #own: readonly ElementKey[];

  constructor(
    resource: AnyResource,
    table: MemoryTable,
    guard: ClosedGuard = new ClosedGuard(),
    schema: MemorySchema = new MemorySchema(elementsOf(resource)),
  ) {
    this.#resource = resource;
    this.#table = table;
    this.#guard = guard;
    this.#schema = schema;
    const mine = elementsOf(resource);
    this.#own = [...mine.indexes.map(indexEntryKey), ...mine.uniques.map(uniqueEntryKey)];
  }

  /** A driver and the {@link FixedIpWriter} over it, for the backend that also opens the allocator. */
  static withWriter(
    resource: AnyResource,
    table: MemoryTable,
    guard: ClosedGuard,
    schema?: MemorySchema,
  ): { readonly driver: MemoryResourceDriver; readonly writer: FixedIpWriter } {
    const driver = new MemoryResourceDriver(resource, table, guard, schema);
    const writer: FixedIpWriter = {
      liveRecords: () => [...driver.#table.values()].filter((r) => r.deletedAt === null),
      insert: (record) => driver.#insert(record),
      delete: (scope, id, change) => driver.#delete(scope, id, change),
    };
    return { driver, writer };
  }

  async insert(record: StoredRecord): Promise<StoredRecord> {
    return this.#run('insert', () => this.#insert(record));
  }

  async get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    return this.#run('get', () => {
      const r = this.#table.get(id);
      return r && inReadScope(r, scope) ? r : undefined;
    });
  }

  async getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    return this.#run('getMany', () => {
      const out: StoredRecord[] = [];
      for (const id of ids) {
        const r = this.#table.get(id);
        if (r && inReadScope(r, scope)) out.push(r);
      }
      return out;
    });
  }

  async list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    return this.#run('list', () => {
      const { after, orderBy } = query;
      return this.#matching(scope, query.where)
        .filter((r) => after === null || isAfter(r, orderBy, after))
        .sort(recordComparator(orderBy))
        .slice(0, query.limit);
    });
  }

  async count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    return this.#run('count', () => this.#matching(scope, where).length);
  }

  async update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    return this.#run('update', (): WriteOutcome => {
      const current = this.#table.get(id);
      if (!current || !inWriteScope(current, scope)) return { status: 'not-found' };
      if (!meetsConditions(current, change.expectedRevision, change.expected)) {
        return { status: 'conflict', current };
      }
      const next = deepFreeze({
        ...current,
        ...structuredClone(change.set),
        revision: current.revision + 1,
        updatedAt: change.updatedAt,
        objectVersion: change.objectVersion,
      });
      this.#checkFloor(next.objectVersion);
      this.#checkUnique(next);
      this.#table.set(id, next);
      this.#schema.enter(next, this.#own);
      return { status: 'ok', record: next };
    });
  }

  async delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    return this.#run('delete', () => this.#delete(scope, id, change));
  }

  async purge(before: string): Promise<number> {
    return this.#run('purge', () => {
      let n = 0;
      for (const [id, r] of this.#table) {
        if (r.deletedAt !== null && r.deletedAt < before) {
          this.#table.delete(id);
          this.#schema.forget(id);
          n++;
        }
      }
      return n;
    });
  }

  async countByVersion(): Promise<Record<string, number>> {
    return this.#run('countByVersion', () => {
      const counts: Record<string, number> = {};
      for (const r of this.#table.values()) {
        counts[r.objectVersion] = (counts[r.objectVersion] ?? 0) + 1;
      }
      return counts;
    });
  }

  async scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    return this.#run('scanVersion', (): VersionPage => {
      const records = [...this.#table.values()]
        .filter(
          (r) =>
            r.objectVersion === version &&
            (after === undefined || compareCodePoints(r.id, after) > 0),
        )
        .sort((a, b) => compareCodePoints(a.id, b.id))
        .slice(0, Math.max(0, limit));
      const full = limit > 0 && records.length === limit;
      return { records, after: full ? records.at(-1)!.id : undefined };
    });
  }

  async rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    return this.#run('rewrite', (): WriteOutcome => {
      const current = this.#table.get(record.id);
      if (!current) return { status: 'not-found' };
      if (!meetsConditions(current, expectedRevision, undefined)) {
        return { status: 'conflict', current };
      }
      const next = deepFreeze(structuredClone({ ...record, revision: expectedRevision + 1 }));
      this.#checkUnique(next);
      this.#table.set(next.id, next);
      // Every entry, not only this definition's: whatever an older or newer client left.
      this.#schema.forget(next.id);
      this.#schema.enter(next);
      return { status: 'ok', record: next };
    });
  }

  /** Runs one operation: refused once the backend is closed, every error through `toCoreError`. */
  #run<T>(operation: string, step: () => T): T {
    try {
      this.#guard.check(operation);
      return step();
    } catch (err) {
      throw toCoreError(err, { operation, resource: this.#resource.name });
    }
  }

  /** Refuses a write that leaves a record below the write floor (`setWriteFloor`). */
  #checkFloor(version: string): void {
    const floor = this.#schema.floor();
    if (floor !== undefined && this.#schema.belowFloor(version))
      throw new WriteBelowPinError(this.#resource.name, floor, version);
  }

  #insert(record: StoredRecord): StoredRecord {
    if (this.#table.has(record.id)) throw new DuplicateError(this.#resource.name, ['id']);
    this.#checkFloor(record.objectVersion);
    const stored = deepFreeze(structuredClone(record));
    this.#checkUnique(stored);
    this.#table.set(stored.id, stored);
    this.#schema.forget(stored.id);
    this.#schema.enter(stored, this.#own);
    return stored;
  }

  #delete(scope: WriteScope, id: string, change: DeleteChange): WriteOutcome {
    const current = this.#table.get(id);
    if (!current || !inWriteScope(current, scope)) return { status: 'not-found' };
    if (!meetsConditions(current, change.expectedRevision, change.expected)) {
      return { status: 'conflict', current };
    }
    if (!change.soft) {
      this.#table.delete(id);
      this.#schema.forget(id);
      return { status: 'ok', record: current };
    }
    const next = deepFreeze({
      ...current,
      revision: current.revision + 1,
      updatedAt: change.at,
      deletedAt: change.at,
    });
    this.#table.set(id, next);
    this.#schema.enter(next, this.#own);
    return { status: 'ok', record: next };
  }

  #matching(scope: ReadScope, where: readonly Predicate[]): StoredRecord[] {
    return [...this.#table.values()].filter((r) => inReadScope(r, scope) && matchesWhere(r, where));
  }

  /**
   * Throws `DuplicateError` if a live record other than `candidate` holds the same values
   * of a unique constraint: the definition's own, and those the table has applied
   * (an older definition still honours a constraint that `expand` added).
   */
  #checkUnique(candidate: StoredRecord): void {
    if (candidate.deletedAt !== null) return;
    const extra = this.#schema
      .uniques()
      .filter((u) => !this.#resource.unique.some((own) => uniqueKey(own) === uniqueKey(u)));
    for (const fields of [...this.#resource.unique, ...extra]) {
      // A field an older definition's record lacks counts as null: it clashes with nothing.
      if (fields.some((f) => (candidate[f] ?? null) === null)) continue;
      for (const other of this.#table.values()) {
        if (other.id === candidate.id || other.deletedAt !== null) continue;
        if (fields.every((f) => sameValue(other[f], candidate[f]))) {
          throw new DuplicateError(this.#resource.name, fields);
        }
      }
    }
  }
}
