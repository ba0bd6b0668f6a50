import type { AnyResource } from '@polystore/core';
import {
  bareKeys,
  compileFunction,
  type IndexElement,
  isScalarKind,
  type StoredRecord,
} from '@polystore/core/adapter';
import type { Document } from 'mongodb';
import { decodeValue, encodeField } from './value-codec.js';

/** A stored document: `_id` is the record id. */
export interface StoredDocument extends Document {
  _id: string;
}

/** One index of a collection, as the schema derives it. */
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
 * records only. Every document carries them (`_dead`, and `_null_<f>` for each nullable
 * field), whether or not its definition has a unique constraint, so that a constraint
 * added later by `expand` holds for the writes of older clients too. Every index is
 * derived from the schema:
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
  /** The indexes of the definition: what the open that finds the collection brand-new creates. */
  readonly indexes: readonly IndexSpec[];
  readonly #json: ReadonlySet<string>;
  readonly #nullable: readonly string[];

  /**
   * `uniqueFields`: the fields of the unique constraints the store has applied (its
   * `<prefix>_elements` record), whose null markers every document carries too, so that
   * records of a definition without such a field (an older client's) hold no `null` key
   * in the constraint's index and never clash.
   */
  constructor(resource: AnyResource, prefix: string, uniqueFields: readonly string[] = []) {
    this.resource = resource;
    this.collection = `${prefix}${resource.plural}`;
    this.#json = new Set(
      resource.fieldNames.filter((n) => !isScalarKind(resource.fields[n]!.kind)),
    );
    this.#readDocument = this.#compileReader();
    this.#nullable = [
      ...new Set([
        ...resource.fieldNames.filter((n) => resource.fields[n]!.isNullable),
        ...uniqueFields,
      ]),
    ];

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
      indexes.push(uniqueSpec(u, (name) => resource.fields[name]?.isNullable === true));
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
    doc[DEAD] = record.deletedAt === null ? '' : record.id;
    for (const name of this.#nullable) doc[NULL_MARK + name] = nullMark(record.id, record[name]);
    return doc;
  }

  /**
   * The whole document of a rewrite: every field `record` carries (those of other
   * definitions included, so a driver of an older definition keeps a newer one's fields),
   * and the markers of every field and of liveness, so that every unique index of any
   * definition sees the record as it is, whatever markers the stored document had.
   */
  toReplacement(record: StoredRecord): StoredDocument {
    const doc = this.toDocument(record);
    for (const [name, v] of Object.entries(record)) {
      if (SYSTEM_FIELDS.has(name)) continue;
      if (!(name in doc)) {
        doc[name] = v !== null && typeof v === 'object' ? encodeField(v) : (v ?? null);
      }
      doc[NULL_MARK + name] = nullMark(record.id, v);
    }
    return doc;
  }

  /**
   * {@link fromDocument} as one function with a store site per field (`compileFunction`):
   * the loop's one store site sees every name, which V8 then looks up on each store.
   * `undefined` where the names or the runtime do not allow it: the loop reads.
   */
  readonly #readDocument: ((doc: Document) => StoredRecord) | undefined;

  #compileReader(): ((doc: Document) => StoredRecord) | undefined {
    const names = this.resource.fieldNames;
    if (!bareKeys(names)) return undefined;
    const steps = names.map(
      (n) =>
        `  v = doc.${n};\n  if (v !== undefined) out.${n} = ${this.#json.has(n) ? 'decode(v)' : 'v'};`,
    );
    const source = `return function fromDocument(doc) {
  const out = { id: doc._id, projectId: doc.projectId ?? null };
  let v;
${steps.join('\n')}
  out.revision = doc.revision;
  out.createdAt = doc.createdAt;
  out.updatedAt = doc.updatedAt;
  out.deletedAt = doc.deletedAt ?? null;
  out.objectVersion = doc.objectVersion;
  return out;
};`;
    return compileFunction<(doc: Document) => StoredRecord>(['decode'], source, [decodeValue]);
  }

  /** The record of a stored document (hidden markers left out). */
  fromDocument(doc: Document): StoredRecord {
    if (this.#readDocument !== undefined) return this.#readDocument(doc);
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
      if (this.#nullable.includes(name)) out[NULL_MARK + name] = nullMark(id, v);
    }
    return out;
  }

  /** The `$set` of a soft delete of record `id`, besides `deletedAt` and `updatedAt`. */
  deadMarks(id: string): Document {
    return { [DEAD]: id };
  }
}

/** The system fields of a record, stored under their own names (`id` as `_id`). */
const SYSTEM_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'projectId',
  'revision',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'objectVersion',
]);

/** The null marker of a field of record `id`: its id while the value is null (or missing), else `''`. */
function nullMark(id: string, value: unknown): string {
  return value === null || value === undefined ? id : '';
}

/** The name of the null marker of field `name`. */
export function nullMarkOf(name: string): string {
  return NULL_MARK + name;
}

/** The index of an index element: `{ field }` for `eq`, `{ field, _id }` (the keyset order) for `sort`. */
export function indexSpec(index: IndexElement): IndexSpec {
  const key: Record<string, 1> = { [index.field]: 1 };
  if (index.kind === 'sort') key._id = 1;
  return { name: `by_${index.field}`, key, unique: false };
}

/**
 * The unique index of a constraint: its fields, the liveness marker, and the null marker
 * of each field `nullable` says may be null, so that only live records with no null among
 * the fields can clash.
 */
export function uniqueSpec(
  fields: readonly string[],
  nullable: (name: string) => boolean,
): IndexSpec {
  const key: Record<string, 1> = {};
  for (const name of fields) key[name] = 1;
  key[DEAD] = 1;
  for (const name of fields) if (nullable(name)) key[NULL_MARK + name] = 1;
  return { name: `unique_${fields.join('_')}`, key, unique: true };
}
