import type { StoredRecord } from '@polystore/core/adapter';

/** A record as read or written, with the znode version that holds exactly this content. */
export interface VersionedRecord {
  readonly record: StoredRecord;
  /** The record znode's data version (the compare-and-swap guard of the next write). */
  readonly version: number;
  /** The record's incarnation token (see `ResourceLayout.stateEntry`). */
  readonly token: string;
}

/**
 * A bounded least-recently-used map of records by id. Writes use an entry as their
 * starting point: if it is stale, the znode version check of the multi refuses the
 * write and the driver reads the record again, so an entry never decides an outcome.
 */
export class RecordCache {
  readonly #max: number;
  readonly #entries = new Map<string, VersionedRecord>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The remembered state of `id`, if any. */
  get(id: string): VersionedRecord | undefined {
    const hit = this.#entries.get(id);
    if (hit) {
      this.#entries.delete(id);
      this.#entries.set(id, hit);
    }
    return hit;
  }

  /** Remembers the state of a record, unless an entry of a later version is already there. */
  set(entry: VersionedRecord): void {
    if (this.#max === 0) return;
    const id = entry.record.id;
    const had = this.#entries.get(id);
    if (had && had.version > entry.version) return;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Forgets a record (deleted, or found stale). */
  delete(id: string): void {
    this.#entries.delete(id);
  }
}
