import type { AnyResource } from '@polystore/core';
import { isScalarKind, type StoredRecord } from '@polystore/core/adapter';
import type { Document } from 'mongodb';
import { decodeValue, encodeField } from './value-codec.js';

/** A stored document: `_id` is the record id. */
export interface StoredDocument extends Document {
  _id: string;
}

/** One index of a collection, as created at open. */
export interface IndexSpec {
  /** The index name (stable, so creating it again is a no-op). */
  readonly name: string;
  /** The indexed paths, all ascending. */
  readonly key: Readonly<Record<string, 1>>;
  /** Whether the index is unique. */
  readonly unique: boolean;
}

/**
 * `''` while the record is live, its id once soft-deleted. Unique indexes end with it, so
 * a deleted record never collides: this stands in for a partial index
 * `{ deletedAt: null }`, which FerretDB v1.24 does not implement.
 */
export const DEAD = '_dead';
/** Prefix of the per-field marker: `''` while the field is non-null, the record id while it is null. */
const NULL_MARK = '_null_';

/**
 * How a resource maps to MongoDB: one collection `<prefix><plural>`, `_id` = record id,
 * the system and resource fields under their own names (list, dict and object values in
 * the escaped form of {@link encodeField}), plus hidden markers (names starting with `_`,
 * which resource field names never do) that let plain unique indexes hold among live
 * records only. Every index is derived from the schema:
 *
 * - `eq` field: `{ field }`; `sort` field: `{ field, _id }` (the keyset order);
 * - `projectId`: `{ projectId, _id }`; `objectVersion` and `deletedAt` (for `pending` and `purge`);
 * - each unique constraint: `{ ...fields, _dead, _null_<f> for each nullable f }`, unique.
 */
export class MongoLayout {
  /** The resource laid out. */
  readonly resource: AnyResource;
  /** The collection name. */
  readonly collection: string;
  /** The indexes created at open. */
  readonly indexes: readonly IndexSpec[];
  readonly #json: ReadonlySet<string>;
  readonly #nullMarked: readonly string[];
  readonly #hasUnique: boolean;

  constructor(resource: AnyResource, prefix: string) {
    this.resource = resource;
    this.collection = `${prefix}${resource.plural}`;
    this.#json = new Set(
      resource.fieldNames.filter((n) => !isScalarKind(resource.fields[n]!.kind)),
    );
    this.#hasUnique = resource.unique.length > 0;
    const nullMarked = new Set<string>();
    for (const u of resource.unique) {
      for (const name of u) if (resource.fields[name]!.isNullable) nullMarked.add(name);
    }
    this.#nullMarked = [...nullMarked];

    const indexes: IndexSpec[] = [];
    for (const [name, q] of Object.entries(resource.queryable)) {
      if (name === 'id') continue;
      const key: Record<string, 1> = { [name]: 1 };
      if (q.index === 'sort' || name === 'projectId') key._id = 1;
      indexes.push({ name: `by_${name}`, key, unique: false });
    }
    indexes.push({ name: 'by_objectVersion', key: { objectVersion: 1 }, unique: false });
    if (resource.softDelete)
      indexes.push({ name: 'by_deletedAt', key: { deletedAt: 1 }, unique: false });
    for (const u of resource.unique) {
      const key: Record<string, 1> = {};
      for (const name of u) key[name] = 1;
      key[DEAD] = 1;
      for (const name of u) if (nullMarked.has(name)) key[NULL_MARK + name] = 1;
      indexes.push({ name: `unique_${u.join('_')}`, key, unique: true });
    }
    this.indexes = Object.freeze(indexes);
  }

  /** The document path of a queryable field. */
  path(field: string): string {
    return field === 'id' ? '_id' : field;
  }

  /** The document stored for a new record. */
  toDocument(record: StoredRecord): StoredDocument {
    const doc: StoredDocument = { _id: record.id, projectId: record.projectId };
    for (const name of this.resource.fieldNames) {
      const v = record[name] ?? null;
      doc[name] = this.#json.has(name) ? encodeField(v) : v;
    }
    doc.revision = record.revision;
    doc.createdAt = record.createdAt;
    doc.updatedAt = record.updatedAt;
    doc.deletedAt = record.deletedAt;
    doc.objectVersion = record.objectVersion;
    if (this.#hasUnique) doc[DEAD] = record.deletedAt === null ? '' : record.id;
    for (const name of this.#nullMarked)
      doc[NULL_MARK + name] = record[name] === null ? record.id : '';
    return doc;
  }

  /** The record of a stored document (hidden markers left out). */
  fromDocument(doc: Document): StoredRecord {
    const out: Record<string, unknown> = {
      id: doc._id,
      projectId: doc.projectId ?? null,
    };
    for (const name of this.resource.fieldNames) {
      const v = doc[name];
      // A field missing from an older document stays undefined, so core applies its default.
      if (v !== undefined) out[name] = this.#json.has(name) ? decodeValue(v) : v;
    }
    out.revision = doc.revision;
    out.createdAt = doc.createdAt;
    out.updatedAt = doc.updatedAt;
    out.deletedAt = doc.deletedAt ?? null;
    out.objectVersion = doc.objectVersion;
    return out as StoredRecord;
  }

  /** The `$set` of an update of record `id`: the changed fields in stored form and their markers. */
  toSet(id: string, set: Readonly<Record<string, unknown>>): Document {
    const out: Document = {};
    for (const [name, v] of Object.entries(set)) {
      out[name] = this.#json.has(name) ? encodeField(v) : v;
      if (this.#nullMarked.includes(name)) out[NULL_MARK + name] = v === null ? id : '';
    }
    return out;
  }

  /** The `$set` of a soft delete of record `id`, besides `deletedAt` and `updatedAt`. */
  deadMarks(id: string): Document {
    return this.#hasUnique ? { [DEAD]: id } : {};
  }
}
