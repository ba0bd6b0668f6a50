import {
  canonicalJson,
  compareCodePoints,
  type FieldElement,
  type IndexElement,
  indexKey,
  isOlder,
  pendingAfter,
  type SchemaElements,
  type StoredRecord,
  uniqueKey,
  withPending,
} from '@polystore/core/adapter';

/** The key of one element's entries: `index:<field>:<kind>` or `unique:<f1,f2>`. */
export type ElementKey = `index:${string}` | `unique:${string}`;

/** The entry key of an index element. */
export function indexEntryKey(index: IndexElement): ElementKey {
  return `index:${indexKey(index)}`;
}

/** The entry key of a unique constraint. */
export function uniqueEntryKey(fields: readonly string[]): ElementKey {
  return `unique:${uniqueKey(fields)}`;
}

/** The fields an element's entries are made of. */
function fieldsOf(key: ElementKey): readonly string[] {
  const rest = key.slice(key.indexOf(':') + 1);
  return key.startsWith('index:') ? [rest.slice(0, rest.lastIndexOf(':'))] : rest.split(',');
}

/** The value a record is entered under for an element: its fields' values, as canonical JSON. */
export function entryValue(record: StoredRecord, key: ElementKey): string {
  return canonicalJson(fieldsOf(key).map((f) => record[f] ?? null));
}

/**
 * The physical schema of one memory table: the elements recorded as applied (what
 * `appliedElements` reports, shared by every backend over the database) and the entries
 * of each applied index and unique constraint (record id → the values it is entered
 * under), the memory counterpart of SQL indexes or Redis index sets.
 *
 * Queries and unique checks scan the records, so entries never change an answer; they
 * model what a backend with physical indexes keeps, so the evolution operations (and the
 * conformance mutants built on memory) can be checked: an older client maintains only the
 * entries its own definition knows, which leaves stale ones that `rewrite` repairs.
 */
export class MemorySchema {
  readonly #fields = new Map<string, FieldElement>();
  readonly #indexes = new Map<string, IndexElement>();
  readonly #uniques = new Map<string, readonly string[]>();
  readonly #entries = new Map<ElementKey, Map<string, string>>();
  #pending: readonly string[] = [];
  #floor: string | undefined;

  /** A schema with `elements` applied and no entries (a brand-new, empty table). */
  constructor(elements: SchemaElements) {
    this.add(elements, []);
  }

  /** The applied elements, in the order they were added. */
  applied(): SchemaElements {
    return withPending(
      Object.freeze({
        fields: Object.freeze([...this.#fields.values()]),
        indexes: Object.freeze([...this.#indexes.values()]),
        uniques: Object.freeze([...this.#uniques.values()]),
      }),
      this.#pending,
    );
  }

  /** The write floor (`setWriteFloor`): writes below it are refused. */
  floor(): string | undefined {
    return this.#floor;
  }

  /** Raises the write floor to `version` (a lower one changes nothing). */
  raiseFloor(version: string): void {
    if (this.#floor === undefined || isOlder(this.#floor, version)) this.#floor = version;
  }

  /** Whether a record at `version` is below the write floor. */
  belowFloor(version: string): boolean {
    return this.#floor !== undefined && isOlder(version, this.#floor);
  }

  /** Makes write-only fields public. */
  publish(fields: readonly string[]): void {
    this.#pending = pendingAfter([...this.#fields.keys()], [this.#pending], fields);
  }

  /** The applied unique constraints. */
  uniques(): readonly (readonly string[])[] {
    return [...this.#uniques.values()];
  }

  /** Whether a unique constraint is applied. */
  hasUnique(fields: readonly string[]): boolean {
    return this.#uniques.has(uniqueKey(fields));
  }

  /** The entries of one element (id → entry value), or `undefined` if it is not applied. */
  entries(key: ElementKey): ReadonlyMap<string, string> | undefined {
    return this.#entries.get(key);
  }

  /** Applies the elements not applied yet, entering every record of `records` in the new ones. */
  add(elements: SchemaElements, records: Iterable<StoredRecord>): void {
    const fresh: ElementKey[] = [];
    for (const f of elements.fields) if (!this.#fields.has(f.name)) this.#fields.set(f.name, f);
    for (const i of elements.indexes) {
      if (this.#indexes.has(indexKey(i))) continue;
      this.#indexes.set(indexKey(i), i);
      fresh.push(indexEntryKey(i));
    }
    for (const u of elements.uniques) {
      if (this.#uniques.has(uniqueKey(u))) continue;
      this.#uniques.set(uniqueKey(u), Object.freeze([...u]));
      fresh.push(uniqueEntryKey(u));
    }
    for (const key of fresh) this.#entries.set(key, new Map());
    for (const r of records) this.enter(r, fresh);
    this.#pending = pendingAfter([...this.#fields.keys()], [this.#pending, elements.pending]);
  }

  /** Drops the elements that are applied, with their entries. */
  drop(elements: SchemaElements): void {
    for (const f of elements.fields) this.#fields.delete(f.name);
    this.#pending = pendingAfter([...this.#fields.keys()], [this.#pending]);
    for (const i of elements.indexes) {
      this.#indexes.delete(indexKey(i));
      this.#entries.delete(indexEntryKey(i));
    }
    for (const u of elements.uniques) {
      this.#uniques.delete(uniqueKey(u));
      this.#entries.delete(uniqueEntryKey(u));
    }
  }

  /** Enters `record` in the applied elements among `keys` (default: all), replacing its old entries there. */
  enter(record: StoredRecord, keys: Iterable<ElementKey> = this.#entries.keys()): void {
    for (const key of keys) this.#entries.get(key)?.set(record.id, entryValue(record, key));
  }

  /** Removes every entry of `id`, in every applied element. */
  forget(id: string): void {
    for (const entries of this.#entries.values()) entries.delete(id);
  }

  /**
   * The ids of live records among `records` that share their values of `fields` with
   * another (a record with a `null` in them clashes with nothing), sorted.
   */
  static clashes(records: Iterable<StoredRecord>, fields: readonly string[]): string[] {
    const byValue = new Map<string, string[]>();
    for (const r of records) {
      if (r.deletedAt !== null || fields.some((f) => (r[f] ?? null) === null)) continue;
      const value = canonicalJson(fields.map((f) => r[f]));
      const ids = byValue.get(value);
      if (ids) ids.push(r.id);
      else byValue.set(value, [r.id]);
    }
    return [...byValue.values()]
      .filter((ids) => ids.length > 1)
      .flat()
      .sort(compareCodePoints);
  }
}
