import type { SchemaElements, StoredRecord } from '@polystore/core/adapter';
import { MemorySchema } from './memory-schema.js';

/** One resource's records, by id. Records are frozen and replaced, never changed in place. */
export type MemoryTable = Map<string, StoredRecord>;

/**
 * An in-process database: a table per resource, named by its plural (see `layout.ts`),
 * created when a backend opens that resource. Several backends over one database behave
 * like several clients of one server.
 *
 * @example
 * ```ts
 * const db = new MemoryDatabase();
 * const backend = new MemoryBackend(db, { resources: [gadgetResource] });
 * db.tableNames(); // ['gadgets']
 * ```
 */
export class MemoryDatabase {
  static readonly #named = new Map<string, MemoryDatabase>();
  readonly #tables = new Map<string, MemoryTable>();
  readonly #schemas = new Map<string, MemorySchema>();

  /**
   * The process-wide database called `name`, created empty on first use: what
   * `memory:<name>` opens, so every open of one name sees the same records.
   */
  static named(name: string): MemoryDatabase {
    let db = MemoryDatabase.#named.get(name);
    if (!db) {
      db = new MemoryDatabase();
      MemoryDatabase.#named.set(name, db);
    }
    return db;
  }

  /** The table called `name`, created empty on first use. */
  table(name: string): MemoryTable {
    let t = this.#tables.get(name);
    if (!t) {
      t = new Map();
      this.#tables.set(name, t);
    }
    return t;
  }

  /**
   * The physical schema of table `name`: created with `elements` applied on first use
   * (what a brand-new table needs), and never changed by a later call, whatever elements
   * it passes (that is `expand`'s and `contract`'s job).
   */
  schema(name: string, elements: SchemaElements): MemorySchema {
    let s = this.#schemas.get(name);
    if (!s) {
      s = new MemorySchema(elements);
      this.#schemas.set(name, s);
    }
    return s;
  }

  /** The names of the tables created so far, in creation order. */
  tableNames(): string[] {
    return [...this.#tables.keys()];
  }
}
