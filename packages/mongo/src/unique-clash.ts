import { type StoredRecord, sameValue } from '@polystore/core/adapter';
import type { Collection, Document } from 'mongodb';
import { mapErrors } from './errors.js';
import { DEAD, type MongoLayout, type StoredDocument } from './layout.js';
import { allOf } from './mongo-filter.js';

/**
 * Which unique constraint a write the server refused with a duplicate key broke, for the
 * `DuplicateError` of a Mongo resource driver: read only once a write was refused (a
 * unique index of the collection says which values clash, the error does not say which).
 */
export class UniqueClash {
  readonly #layout: MongoLayout;
  readonly #collection: Collection<StoredDocument>;

  constructor(layout: MongoLayout, collection: Collection<StoredDocument>) {
    this.#layout = layout;
    this.#collection = collection;
  }

  /** Which constraint a refused insert broke: `['id']`, a unique constraint, or `undefined` if none clashes now. */
  async ofInsert(record: StoredRecord): Promise<readonly string[] | undefined> {
    const constraints = (await this.#constraints()).filter((u) =>
      u.every((f) => (record[f] ?? null) !== null),
    );
    const docs = await this.#find(record, constraints, true);
    if (docs.some((d) => d._id === record.id)) return ['id'];
    return this.#first(record, constraints, docs);
  }

  /** Which unique constraint a refused update broke (one read of the record, one of its clashes). */
  async ofUpdate(id: string, set: Readonly<Record<string, unknown>>): Promise<readonly string[]> {
    const touched = (await this.#constraints()).filter((u) => u.some((f) => Object.hasOwn(set, f)));
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
    const docs = await this.#find(merged, constraints, false);
    return this.#first(merged, constraints, docs) ?? touched[0] ?? ['id'];
  }

  /**
   * Which unique constraint a refused rewrite broke: one whose values another live record
   * holds (see {@link #constraints}), else `['id']`.
   */
  async ofRewrite(record: StoredRecord): Promise<readonly string[]> {
    const live = (await this.#constraints()).filter((u) =>
      u.every((f) => (record[f] ?? null) !== null),
    );
    const docs = await this.#find(record, live, false);
    return this.#first(record, live, docs) ?? live[0] ?? ['id'];
  }

  /**
   * The unique constraints that may refuse a write (read only once one was refused): the
   * definition's, then the fields of each other unique index of the collection, one that
   * the `expand` of a newer definition added and this code's definition lacks.
   */
  async #constraints(): Promise<(readonly string[])[]> {
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

  /** Live records other than `values.id` that hold the same values as `values` for some constraint. */
  async #find(
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

  /** The first of `constraints` whose values one of `docs`, another live record, holds too. */
  #first(
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
