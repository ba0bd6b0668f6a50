import type { StoredRecord } from '@polystore/core/adapter';

/** One resource's records, by id. Records are frozen and replaced, never changed in place. */
export type MemoryTable = Map<string, StoredRecord>;

/** An in-process database: a table per resource name. */
export class MemoryDatabase {
  readonly #tables = new Map<string, MemoryTable>();

  /** The table of a resource, created empty on first use. */
  table(resource: string): MemoryTable {
    let t = this.#tables.get(resource);
    if (!t) {
      t = new Map();
      this.#tables.set(resource, t);
    }
    return t;
  }
}
