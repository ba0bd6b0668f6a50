import { type AnyResource, DuplicateError } from '@polystore/core';
import {
  type DeleteChange,
  deepFreeze,
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
import { ClosedGuard } from './closed-guard.js';
import type { MemoryTable } from './memory-table.js';

/**
 * The reference `ResourceDriver`: every operation runs synchronously inside one call, so
 * it is atomic by construction; every rule is written as plainly as it is stated.
 */
export class MemoryResourceDriver implements ResourceDriver {
  readonly #resource: AnyResource;
  readonly #table: MemoryTable;
  readonly #guard: ClosedGuard;

  constructor(resource: AnyResource, table: MemoryTable, guard: ClosedGuard = new ClosedGuard()) {
    this.#resource = resource;
    this.#table = table;
    this.#guard = guard;
  }

  async insert(record: StoredRecord): Promise<StoredRecord> {
    this.#guard.check('insert');
    return this.insertNow(record);
  }

  /** Synchronous insert, for the allocator's atomic step. */
  insertNow(record: StoredRecord): StoredRecord {
    if (this.#table.has(record.id)) throw new DuplicateError(this.#resource.name, ['id']);
    const stored = deepFreeze(structuredClone(record));
    this.#checkUnique(stored);
    this.#table.set(stored.id, stored);
    return stored;
  }

  async get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    this.#guard.check('get');
    const r = this.#table.get(id);
    return r && inReadScope(r, scope) ? r : undefined;
  }

  async getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    this.#guard.check('getMany');
    const out: StoredRecord[] = [];
    for (const id of ids) {
      const r = this.#table.get(id);
      if (r && inReadScope(r, scope)) out.push(r);
    }
    return out;
  }

  async list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    this.#guard.check('list');
    const { after, orderBy } = query;
    return this.#matching(scope, query.where)
      .filter((r) => after === null || isAfter(r, orderBy, after))
      .sort(recordComparator(orderBy))
      .slice(0, query.limit);
  }

  async count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    this.#guard.check('count');
    return this.#matching(scope, where).length;
  }

  async update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    this.#guard.check('update');
    const current = this.#table.get(id);
    if (!current || !inWriteScope(current, scope)) return { status: 'not-found' };
    if (!conditionsHold(current, change.expectedRevision, change.expected)) {
      return { status: 'conflict', current };
    }
    const next = deepFreeze({
      ...current,
      ...structuredClone(change.set),
      revision: current.revision + 1,
      updatedAt: change.updatedAt,
      objectVersion: change.objectVersion,
    });
    this.#checkUnique(next);
    this.#table.set(id, next);
    return { status: 'ok', record: next };
  }

  async delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    this.#guard.check('delete');
    return this.deleteNow(scope, id, change);
  }

  /** Synchronous delete, for the allocator's atomic step. */
  deleteNow(scope: WriteScope, id: string, change: DeleteChange): WriteOutcome {
    const current = this.#table.get(id);
    if (!current || !inWriteScope(current, scope)) return { status: 'not-found' };
    if (!conditionsHold(current, change.expectedRevision, undefined))
      return { status: 'conflict', current };
    if (!change.soft) {
      this.#table.delete(id);
      return { status: 'ok', record: current };
    }
    const next = deepFreeze({
      ...current,
      revision: current.revision + 1,
      updatedAt: change.at,
      deletedAt: change.at,
    });
    this.#table.set(id, next);
    return { status: 'ok', record: next };
  }

  async purge(before: string): Promise<number> {
    this.#guard.check('purge');
    let n = 0;
    for (const [id, r] of this.#table) {
      if (r.deletedAt !== null && r.deletedAt < before) {
        this.#table.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Every live record (for the allocator). */
  liveRecords(): StoredRecord[] {
    return [...this.#table.values()].filter((r) => r.deletedAt === null);
  }

  #matching(scope: ReadScope, where: readonly Predicate[]): StoredRecord[] {
    return [...this.#table.values()].filter((r) => inReadScope(r, scope) && matchesWhere(r, where));
  }

  /** Throws `DuplicateError` if a live record other than `candidate` holds the same unique values. */
  #checkUnique(candidate: StoredRecord): void {
    if (candidate.deletedAt !== null) return;
    for (const fields of this.#resource.unique) {
      if (fields.some((f) => candidate[f] === null)) continue;
      for (const other of this.#table.values()) {
        if (other.id === candidate.id || other.deletedAt !== null) continue;
        if (fields.every((f) => sameValue(other[f], candidate[f]))) {
          throw new DuplicateError(this.#resource.name, fields);
        }
      }
    }
  }
}

/** Whether a record meets an update's or delete's conditions. */
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
