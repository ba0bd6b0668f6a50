import { type AnyResource, type Field, f, UnavailableError } from '@polystore/core';
import {
  compareCodePoints,
  elementsMinus,
  elementsUnion,
  type FieldElement,
  type IndexElement,
  KeyedQueue,
  knownField,
  NO_ELEMENTS,
  type SchemaElements,
  UniqueViolationError,
  withPending,
} from '@polystore/core/adapter';
import type { Collection, Db, Document } from 'mongodb';
import { underRecordLock } from './conditional-write.js';
import { isDuplicateKeyError, mapErrors, serverError, toCoreError } from './errors.js';
import { command } from './fail-fast.js';
import {
  DEAD,
  type IndexSpec,
  indexSpec,
  nullMarkOf,
  type StoredDocument,
  uniqueSpec,
} from './layout.js';
import type { RecordClaims } from './record-claims.js';

/**
 * The collection of applied elements after the prefix: one document per resource
 * collection. Resource plurals start with a lowercase letter, so it never clashes.
 */
export const ELEMENTS = '_elements';

/** How one applied field is recorded: enough to name it and to rebuild a foreign one. */
interface StoredField {
  readonly name: string;
  readonly kind: string;
  readonly nullable: boolean;
  readonly index: string;
  readonly since: string;
}

/** The document of one resource collection in `<prefix>_elements`. */
export interface ElementsDocument {
  /** The resource's collection name. */
  _id: string;
  fields: StoredField[];
  indexes: IndexElement[];
  /** Each unique constraint as `{ fields }`: FerretDB v1.24 stores no array inside an array. */
  uniques: { fields: string[] }[];
  /** The write-only fields (see `SchemaElements.pending`); absent or empty: none. */
  pending?: string[];
}

function toStored(elements: SchemaElements): Omit<ElementsDocument, '_id'> {
  return {
    fields: elements.fields.map((e) => ({
      name: e.name,
      kind: e.field.kind,
      nullable: e.field.isNullable,
      index: e.field.index,
      since: e.field.since,
    })),
    indexes: elements.indexes.map((i) => ({ field: i.field, kind: i.kind })),
    uniques: elements.uniques.map((u) => ({ fields: [...u] })),
    pending: [...(elements.pending ?? [])],
  };
}

/**
 * The declaration of a recorded field: the resource's own, else the newest one its
 * history knows, else (a field of a newer definition this code has never seen) a plain
 * field of the recorded kind, nullability and index.
 */
function fieldOf(resource: AnyResource, stored: StoredField): Field {
  const known = knownField(resource, stored.name);
  if (known) return known;
  const base = f.string() as Field;
  return Object.freeze({
    ...base,
    kind: stored.kind,
    isNullable: stored.nullable,
    index: stored.index,
    since: stored.since,
  }) as Field;
}

/** The fields of recorded unique constraints, each once. */
function uniqueFieldsOf(uniques: readonly { readonly fields: readonly string[] }[]): string[] {
  return [...new Set(uniques.flatMap((u) => u.fields))];
}

/** Whether two index keys are the same key spec (same paths, same order, same directions). */
function sameKey(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): boolean {
  const ak = Object.entries(a);
  const bk = Object.entries(b);
  return ak.length === bk.length && ak.every(([k, v], i) => bk[i]![0] === k && bk[i]![1] === v);
}

/** Whether an existing index is the unique index of constraint `fields` (whatever its null markers). */
function isUniqueOf(index: Document, fields: readonly string[]): boolean {
  const paths = Object.keys(index.key);
  return (
    index.unique === true &&
    fields.every((name, i) => paths[i] === name) &&
    paths[fields.length] === DEAD &&
    paths.slice(fields.length + 1).every((p) => p.startsWith(nullMarkOf('')))
  );
}

/** Schema steps of one process, one at a time per database and collection. */
const SCHEMA_STEPS = KeyedQueue.shared('mongo schema steps');

/**
 * How often the markers of one document are written again because a client moved the
 * record on first (each time a client's write succeeded) before `expand` gives up.
 */
const MAX_MARKER_ATTEMPTS = 100;

/** How many documents `contract` drops values from under one batch of claims. */
const DROP_BATCH = 25;

/** How the markers `expand` writes into records are guarded: as the drivers' writes are. */
export interface SchemaWrites {
  /** The server and database, when each record's writes take turns in this process (`serializeWrites`). */
  readonly lockScope?: string;
  /** The claims of the drivers' writes (`claimWrites`, see `RecordClaims`). */
  readonly claims?: RecordClaims;
}

/**
 * The `$set` that puts right the markers a unique index over the `nullable` fields needs
 * in `doc` (liveness, and each field's null marker), as `MongoLayout` writes them;
 * empty when they are right.
 */
function wrongMarkers(doc: Document, nullable: readonly string[]): Document {
  const set: Document = {};
  const dead = (doc.deletedAt ?? null) === null ? '' : doc._id;
  if (doc[DEAD] !== dead) set[DEAD] = dead;
  for (const name of nullable) {
    const mark = (doc[name] ?? null) === null ? doc._id : '';
    if (doc[nullMarkOf(name)] !== mark) set[nullMarkOf(name)] = mark;
  }
  return set;
}

/**
 * The physical schema of the resources of one database and prefix: which elements are
 * applied (one document per resource in `<prefix>_elements`, read by every process and
 * tool), and adding or dropping them as MongoDB indexes and marker fields.
 *
 * Indexes are compared by key spec, not by name: an index whose name is taken by another
 * key spec (an older definition's) is replaced. A field is no physical element until it
 * is dropped (documents are schemaless): `contract` unsets it in every document.
 *
 * @example
 * ```ts
 * const schema = new MongoSchema(db, 'ps_', { claims });
 * await schema.expand(widgetResource, elementsBetween(widgetResource, '1.0', '1.1').expand);
 * ```
 */
export class MongoSchema {
  readonly #db: Db;
  readonly #prefix: string;
  readonly #elements: Collection<ElementsDocument>;
  readonly #writes: SchemaWrites;

  /** `writes`: how the drivers of the same store guard their writes (the markers `expand` writes are guarded alike). */
  constructor(db: Db, prefix: string, writes: SchemaWrites = {}) {
    this.#db = db;
    this.#prefix = prefix;
    this.#elements = db.collection<ElementsDocument>(`${prefix}${ELEMENTS}`);
    this.#writes = Object.freeze({ ...writes });
  }

  /** The name of the elements collection. */
  get collectionName(): string {
    return this.#elements.collectionName;
  }

  #collectionOf(resource: AnyResource): string {
    return `${this.#prefix}${resource.plural}`;
  }

  /**
   * The fields of the unique constraints recorded for each of `resources` that has a
   * record, in one read (for the layout's null markers). A resource left out of the map
   * has nothing recorded: it is brand-new in this store.
   */
  async recordedUniqueFields(
    resources: readonly AnyResource[],
  ): Promise<Map<AnyResource, readonly string[]>> {
    const ids = resources.map((r) => this.#collectionOf(r));
    const docs = await mapErrors(`open: read the elements of ${ids.join(', ')}`, () =>
      this.#elements.find({ _id: { $in: ids } }, { projection: { uniques: 1 } }).toArray(),
    );
    const byId = new Map(docs.map((d) => [d._id, uniqueFieldsOf(d.uniques ?? [])]));
    const out = new Map<AnyResource, readonly string[]>();
    for (const r of resources) {
      const fields = byId.get(this.#collectionOf(r));
      if (fields) out.set(r, fields);
    }
    return out;
  }

  /**
   * Records `elements` as applied to a brand-new resource's collection unless another
   * opener recorded it first (its record then stands). Returns the fields of the unique
   * constraints of the record that stands, for the layout's null markers.
   */
  async recordNew(resource: AnyResource, elements: SchemaElements): Promise<readonly string[]> {
    const _id = this.#collectionOf(resource);
    const operation = `open: record elements of ${_id}`;
    const stored = toStored(elements);
    const won = await mapErrors(operation, async () => {
      try {
        await this.#elements.insertOne({ _id, ...stored });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        return false;
      }
    });
    if (won) return uniqueFieldsOf(stored.uniques);
    const found = await mapErrors(operation, () =>
      this.#elements.findOne({ _id: { $eq: _id } }, { projection: { uniques: 1 } }),
    );
    return uniqueFieldsOf(found?.uniques ?? stored.uniques);
  }

  /** The elements recorded as applied to the resource's collection; none if never created. */
  async applied(resource: AnyResource): Promise<SchemaElements> {
    const _id = this.#collectionOf(resource);
    const doc = await mapErrors(`appliedElements ${_id}`, () =>
      this.#elements.findOne({ _id: { $eq: _id } }),
    );
    if (doc === null) return NO_ELEMENTS;
    const elements: SchemaElements = Object.freeze({
      fields: Object.freeze(
        doc.fields.map(
          (s): FieldElement => Object.freeze({ name: s.name, field: fieldOf(resource, s) }),
        ),
      ),
      indexes: Object.freeze(
        doc.indexes.map((i) => Object.freeze({ field: i.field, kind: i.kind })),
      ),
      uniques: Object.freeze(doc.uniques.map((u) => Object.freeze([...u.fields]))),
    });
    return withPending(elements, doc.pending);
  }

  /**
   * Makes write-only fields public: removes them from the recorded `pending`, in one
   * update of the record (so a concurrent `expand` of other fields is not undone).
   */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    return this.#serial(resource, () => this.#publish(resource, fields));
  }

  /**
   * The schema steps on one resource's record take turns within this process: each reads
   * the record and writes it back, and FerretDB v1 runs an update as a read and a write, so
   * two at once could undo each other. (Across processes: run one schema tool at a time.)
   */
  #serial<T>(resource: AnyResource, step: () => Promise<T>): Promise<T> {
    const key = `${this.#db.databaseName}\u0000${this.#collectionOf(resource)}`;
    return SCHEMA_STEPS.run(key, step);
  }

  async #publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    const _id = this.#collectionOf(resource);
    if (fields.length === 0) return;
    await mapErrors(`publish ${_id}`, () =>
      this.#elements.updateOne({ _id: { $eq: _id } }, { $pullAll: { pending: [...fields] } }),
    );
  }

  async #record(resource: AnyResource, elements: SchemaElements): Promise<void> {
    const _id = this.#collectionOf(resource);
    await mapErrors(`record elements of ${_id}`, () =>
      this.#elements.replaceOne({ _id }, toStored(elements), { upsert: true }),
    );
  }

  /**
   * Adds the elements of `elements`: first every unique constraint is checked against the
   * live records (a clash throws `UniqueViolationError` before anything changes), then the
   * markers of the new unique indexes are put right in every document that lacks them
   * (each such document written as the drivers write: see {@link #setMarkers}), the indexes
   * created (replacing one of the same name and another key spec), and the elements
   * recorded. An index created by this call is dropped again if a later step of it fails.
   */
  async expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#serial(resource, () => this.#expand(resource, elements));
  }

  async #expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    const name = this.#collectionOf(resource);
    const collection = this.#db.collection<StoredDocument>(name);
    const applied = await this.applied(resource);
    const nullable = (field: string): boolean =>
      (
        elements.fields.find((e) => e.name === field)?.field ??
        resource.fields[field] ??
        applied.fields.find((e) => e.name === field)?.field
      )?.isNullable === true;
    const existing = await this.#indexes(collection);
    const wanted: IndexSpec[] = [
      ...elements.indexes.map(indexSpec),
      ...elements.uniques.map((u) => uniqueSpec(u, nullable)),
    ].filter((spec) => !existing.some((i) => i.unique === spec.unique && sameKey(i.key, spec.key)));
    const uniques = elements.uniques.filter((u) =>
      wanted.some((spec) => spec.unique && spec.name === uniqueSpec(u, nullable).name),
    );
    for (const u of uniques) await this.#refuseClashes(resource, collection, u);
    for (const u of uniques) await this.#setMarkers(collection, u.filter(nullable));
    const created: IndexSpec[] = [];
    try {
      for (const spec of wanted) {
        const taken = existing.find((i) => i.name === spec.name);
        if (taken) await this.#dropIndex(collection, taken.name as string);
        await this.#createIndex(resource, collection, spec);
        created.push(spec);
      }
    } catch (err) {
      for (const spec of created) await this.#dropIndex(collection, spec.name).catch(() => {});
      throw err;
    }
    await this.#record(resource, elementsUnion(applied, elements));
  }

  /**
   * Drops the elements of `elements`: their indexes (found by key spec, whatever their
   * name; a unique one whatever its null markers), the values of dropped fields in every
   * document, and their record.
   */
  async contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#serial(resource, () => this.#contract(resource, elements));
  }

  async #contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    const name = this.#collectionOf(resource);
    const collection = this.#db.collection<StoredDocument>(name);
    const existing = await this.#indexes(collection);
    for (const index of elements.indexes) {
      const key = indexSpec(index).key;
      for (const i of existing.filter((x) => x.unique !== true && sameKey(x.key, key)))
        await this.#dropIndex(collection, i.name as string);
    }
    for (const u of elements.uniques) {
      for (const i of existing.filter((x) => isUniqueOf(x, u)))
        await this.#dropIndex(collection, i.name as string);
    }
    if (elements.fields.length > 0) {
      const held: string[] = [];
      for (const e of elements.fields) held.push(e.name, nullMarkOf(e.name));
      await this.#dropValues(collection, held);
    }
    const applied = await this.applied(resource);
    if (applied !== NO_ELEMENTS) await this.#record(resource, elementsMinus(applied, elements));
  }

  async #indexes(collection: Collection<StoredDocument>): Promise<Document[]> {
    return mapErrors(`list indexes of ${collection.collectionName}`, async () => {
      try {
        return (await collection.listIndexes().toArray()) as Document[];
      } catch (err) {
        if (serverError(err)?.code === NAMESPACE_NOT_FOUND) return [];
        throw err;
      }
    });
  }

  async #dropIndex(collection: Collection<StoredDocument>, name: string): Promise<void> {
    await mapErrors(`drop index ${name} of ${collection.collectionName}`, async () => {
      try {
        await collection.dropIndex(name);
      } catch (err) {
        // Already gone (dropped by another process meanwhile).
        if (serverError(err)?.code === INDEX_NOT_FOUND) return;
        throw err;
      }
    });
  }

  async #createIndex(
    resource: AnyResource,
    collection: Collection<StoredDocument>,
    spec: IndexSpec,
  ): Promise<void> {
    try {
      await collection.createIndex(
        { ...spec.key },
        { name: spec.name, ...(spec.unique ? { unique: true } : {}) },
      );
    } catch (err) {
      if (spec.unique && isDuplicateKeyError(err)) {
        // A clashing record was written after the check: name it now.
        const fields = Object.keys(spec.key).slice(0, Object.keys(spec.key).indexOf(DEAD));
        await this.#refuseClashes(resource, collection, fields);
        throw new UniqueViolationError(resource.name, fields, []);
      }
      throw toCoreError(err, {
        operation: `create index ${spec.name} of ${collection.collectionName}`,
      });
    }
  }

  /**
   * Throws `UniqueViolationError` naming the live records that share their values of
   * `fields` with another (a record with a null among them clashes with nothing).
   */
  async #refuseClashes(
    resource: AnyResource,
    collection: Collection<StoredDocument>,
    fields: readonly string[],
  ): Promise<void> {
    const filter: Document = { deletedAt: { $eq: null } };
    for (const name of fields) filter[name] = { $ne: null };
    const projection: Document = { _id: 1 };
    for (const name of fields) projection[name] = 1;
    const docs = await mapErrors(`expand ${collection.collectionName}: check unique`, () =>
      collection.find(filter, { projection }).toArray(),
    );
    const byValue = new Map<string, string[]>();
    for (const d of docs) {
      const value = JSON.stringify(fields.map((name) => d[name]));
      const ids = byValue.get(value);
      if (ids) ids.push(d._id);
      else byValue.set(value, [d._id]);
    }
    const clashing = [...byValue.values()]
      .filter((ids) => ids.length > 1)
      .flat()
      .sort(compareCodePoints);
    if (clashing.length > 0) throw new UniqueViolationError(resource.name, fields, clashing);
  }

  /**
   * Puts right, in every document, the markers a new unique index needs: liveness (`''`
   * while live, the id once deleted) and the null marker of each of its `nullable` fields
   * (the index has none of the others). Documents written by this adapter carry the
   * liveness marker already; a field's null marker is missing where an older definition
   * lacked the field or had it non-null.
   *
   * Never one `updateMany`, nor a write by id alone: on FerretDB v1 an update is a read and
   * then a write of the whole document, so it would put back a document as it was before a
   * client's acknowledged update or delete. Each document is written at the revision it
   * was judged at, under the record's lock and claim like the drivers' conditional writes
   * (see {@link #writeAt}), and judged again when a client moved it on first. The markers
   * change no revision: they are no change of the record.
   */
  async #setMarkers(
    collection: Collection<StoredDocument>,
    nullable: readonly string[],
  ): Promise<void> {
    const operation = `expand ${collection.collectionName}: set markers`;
    // Every document whose markers may be wrong; the ones written are judged in
    // `wrongMarkers`. (A deleted document's marker must be its own id, which no filter can
    // compare a field with: every deleted document is read.)
    const candidates: Document[] = [
      { deletedAt: { $eq: null }, [DEAD]: { $ne: '' } },
      { deletedAt: { $ne: null } },
    ];
    for (const name of nullable) {
      candidates.push({ [name]: { $ne: null }, [nullMarkOf(name)]: { $ne: '' } });
      candidates.push({ [name]: { $eq: null } });
    }
    const projection: Document = { _id: 1, revision: 1, deletedAt: 1, [DEAD]: 1 };
    for (const name of nullable) {
      projection[name] = 1;
      projection[nullMarkOf(name)] = 1;
    }
    const docs = await mapErrors(operation, () =>
      collection.find({ $or: candidates }, { projection }).toArray(),
    );
    await this.#writeEach(
      collection,
      docs,
      projection,
      operation,
      'mark it; run expand again',
      (doc) => {
        const set = wrongMarkers(doc, nullable);
        return Object.keys(set).length === 0 ? undefined : { $set: set };
      },
    );
  }

  /**
   * Removes the values held under `held` (dropped fields and their null markers) from every
   * document. On MongoDB one `updateMany`. Where the drivers' writes are claimed or take
   * turns (FerretDB), under claims a batch at a time ({@link #dropClaimed}), and a
   * document claimed elsewhere or moved on as {@link #setMarkers} writes, at the revision
   * it was read at: FerretDB v1 runs an update as a read and then a write of the
   * whole document, so one `updateMany` puts back a document as it was before a client's
   * acknowledged write (the live-upgrade load test lost an update made while contract
   * ran). Revisions stay: dropping what no definition reads is no change of the record.
   */
  async #dropValues(
    collection: Collection<StoredDocument>,
    held: readonly string[],
  ): Promise<void> {
    const operation = `contract ${collection.collectionName}: drop fields`;
    const unset: Document = {};
    for (const name of held) unset[name] = '';
    if (this.#writes.claims === undefined && this.#writes.lockScope === undefined) {
      await mapErrors(operation, () => collection.updateMany({}, { $unset: unset }));
      return;
    }
    const projection: Document = { _id: 1, revision: 1 };
    for (const name of held) projection[name] = 1;
    const docs = await mapErrors(operation, () =>
      collection
        .find({ $or: held.map((name) => ({ [name]: { $exists: true } })) }, { projection })
        .toArray(),
    );
    const claims = this.#writes.claims;
    // With claims, a batch at a time first (one claim insert, one read, one bulk write);
    // a document another client holds or moved meanwhile is then written on its own.
    const alone: Document[] = [];
    for (let i = 0; i < docs.length; i += DROP_BATCH) {
      const batch = docs.slice(i, i + DROP_BATCH);
      alone.push(...(claims ? await this.#dropClaimed(collection, claims, batch, unset) : batch));
    }
    const drop = 'drop its values; run contract again';
    await this.#writeEach(collection, alone, projection, operation, drop, (doc) =>
      held.some((name) => Object.hasOwn(doc, name)) ? { $unset: unset } : undefined,
    );
  }

  /**
   * Writes each of `docs` the update `judge` finds it needs (`undefined`: none), at the
   * revision it was read at, under its record lock and claim ({@link #writeAt}); a
   * document a client moved on first is read and judged again, at most
   * {@link MAX_MARKER_ATTEMPTS} times (then `UnavailableError`: "… attempts to `what`").
   */
  async #writeEach(
    collection: Collection<StoredDocument>,
    docs: readonly Document[],
    projection: Document,
    operation: string,
    what: string,
    judge: (doc: Document) => Document | undefined,
  ): Promise<void> {
    for (const first of docs) {
      let doc: Document | undefined = first;
      for (let attempt = 1; doc !== undefined; attempt++) {
        const judged: Document = doc;
        const update = judge(judged);
        if (update === undefined) break;
        if (attempt > MAX_MARKER_ATTEMPTS) {
          throw new UnavailableError(
            `mongo ${operation}: record ${judged._id} kept changing under ${MAX_MARKER_ATTEMPTS} ` +
              `attempts to ${what}`,
          );
        }
        doc = await mapErrors(operation, () =>
          underRecordLock(this.#writes.lockScope, collection.collectionName, judged._id, () =>
            this.#writeAt(collection, judged, update, projection),
          ),
        );
      }
    }
  }

  /**
   * Unsets `unset` in the documents of `batch` under claims taken together: one insert of
   * the claims of each document's next revision, one read that checks each is still at
   * the revision it was found at, one bulk write by plain id (FerretDB v1 hands its
   * storage no other filter; the claims keep every other writer out meanwhile), then the
   * claims dropped as steps not taken (dropping values moves no revision). Returns the
   * documents left to write one by one: claimed by another client, or moved on.
   */
  async #dropClaimed(
    collection: Collection<StoredDocument>,
    claims: RecordClaims,
    batch: readonly Document[],
    unset: Document,
  ): Promise<Document[]> {
    const name = collection.collectionName;
    const operation = `contract ${name}: drop fields`;
    const got = await claims.acquireMany(
      name,
      batch.map((d) => ({ id: d._id as string, from: d.revision as number })),
    );
    const all = [...got.values()];
    const written = new Set<string>();
    try {
      const claimed = batch.filter((d) => got.has(d._id as string));
      const now = claimed.length
        ? await command(() =>
            collection
              .find(
                { _id: { $in: claimed.map((d) => d._id as string) } },
                { projection: { revision: 1 } },
              )
              .toArray(),
          )
        : [];
      const revisions = new Map(now.map((d) => [d._id, d.revision]));
      const ready = claimed.filter((d) => revisions.get(d._id) === d.revision);
      if (ready.length > 0) {
        // Plain string ids: a string is never read as an operator.
        const ops = ready.map((d) => ({
          updateOne: { filter: { _id: d._id as string }, update: { $unset: unset } },
        }));
        await command(() => collection.bulkWrite(ops, { ordered: false }));
        for (const d of ready) written.add(d._id as string);
      }
    } catch (err) {
      if (serverError(err) === undefined) {
        // Timed out or cut off: the server may still run it; keep the claims held.
        claims.abandonMany(all);
        throw toCoreError(err, { operation });
      }
      await claims.releaseMany([], all);
      throw toCoreError(err, { operation });
    }
    await claims.releaseMany([], all);
    return batch.filter((d) => !written.has(d._id as string));
  }

  /**
   * Applies `update` (markers set, or dropped values unset) to document `doc` if it is
   * still at the revision it was judged at; returns `undefined` once written (or the
   * record is gone), else the document as it is now, to be judged again. With claims, the
   * write holds the claim of the record's next revision, so no client's write can run
   * between its read and its write on FerretDB; the claim is then released as a step not
   * taken (the revision stays), and a client waiting for it takes it at its next look at
   * the claims.
   */
  async #writeAt(
    collection: Collection<StoredDocument>,
    doc: Document,
    update: Document,
    projection: Document,
  ): Promise<Document | undefined> {
    const id = doc._id as string;
    const revision = doc.revision as number;
    const look = async (): Promise<Document | null> =>
      command(() => collection.findOne({ _id: { $eq: id } }, { projection }));
    const write = () =>
      command(() =>
        collection.updateOne({ _id: { $eq: id }, revision: { $eq: revision } }, update),
      );
    const claims = this.#writes.claims;
    let matched: number;
    if (claims === undefined) {
      matched = (await write()).matchedCount;
    } else {
      const got = await claims.acquire(collection.collectionName, id, revision, look, (d) =>
        d === null ? undefined : (d.revision as number),
      );
      if (!('claim' in got)) return got.moved ?? undefined;
      try {
        matched = (await write()).matchedCount;
      } catch (err) {
        // As in the drivers' claimed writes: a refusal frees the step, an unknown fate keeps it.
        if (serverError(err) !== undefined) await got.claim.release(false);
        else got.claim.abandon();
        throw err;
      }
      await got.claim.release(false);
    }
    return matched === 1 ? undefined : ((await look()) ?? undefined);
  }
}

/** The server's error code for a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;
/** The server's error code for dropping an index that does not exist. */
const INDEX_NOT_FOUND = 27;
