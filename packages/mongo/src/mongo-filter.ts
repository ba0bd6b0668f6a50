import type { After, NormalOrder, Predicate, ReadScope, WriteScope } from '@polystore/core/adapter';
import type { Document, Filter, Sort } from 'mongodb';
import type { MongoLayout, StoredDocument } from './layout.js';

/*
 * Every value goes into a filter behind an explicit operator (`$eq`, `$in`, `$gt`, ...),
 * so a value can never be read as an operator: `{ host: { $eq: '{"$gt": ""}' } }` matches
 * that string and nothing else. Values reaching here are scalars validated by core.
 */

/** Joins clauses with `$and` (clauses may name the same field, e.g. `gt` and `lt`). */
export function allOf(clauses: readonly Document[]): Filter<StoredDocument> {
  if (clauses.length === 0) return {};
  if (clauses.length === 1) return clauses[0] as Filter<StoredDocument>;
  return { $and: [...clauses] } as Filter<StoredDocument>;
}

/** The clauses selecting what a read scope may see (as `inReadScope` defines it). */
export function readScopeClauses(scope: ReadScope): Document[] {
  const out: Document[] = [];
  if (scope.projectId !== null) {
    out.push(
      scope.includeShared
        ? { projectId: { $in: [scope.projectId, null] } }
        : { projectId: { $eq: scope.projectId } },
    );
  }
  if (scope.deleted === 'no') out.push({ deletedAt: { $eq: null } });
  else if (scope.deleted === 'only') out.push({ deletedAt: { $ne: null } });
  return out;
}

/** The clauses selecting what a write scope may touch: live records of the project (as `inWriteScope` defines it). */
export function writeScopeClauses(scope: WriteScope): Document[] {
  const out: Document[] = [{ deletedAt: { $eq: null } }];
  if (scope.projectId !== null) out.push({ projectId: { $eq: scope.projectId } });
  return out;
}

const OPS = { eq: '$eq', in: '$in', gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte' } as const;

/** The clauses of normalised `where` predicates. */
export function whereClauses(layout: MongoLayout, where: readonly Predicate[]): Document[] {
  return where.map((p) => ({ [layout.path(p.field)]: { [OPS[p.op]]: p.value } }));
}

/**
 * The keyset clause of a page after `after`: `(field, _id)` strictly beyond the cursor in
 * the order's direction, i.e. `field > v OR (field = v AND _id > id)`.
 */
export function afterClause(layout: MongoLayout, order: NormalOrder, after: After): Document {
  const op = order.direction === 'asc' ? '$gt' : '$lt';
  if (order.field === 'id') return { _id: { [op]: after.id } };
  const path = layout.path(order.field);
  return {
    $or: [
      { [path]: { [op]: after.value } },
      { [path]: { $eq: after.value }, _id: { [op]: after.id } },
    ],
  };
}

/** The sort of a list: the order's field, then `_id`, both in its direction. */
export function sortOf(layout: MongoLayout, order: NormalOrder): Sort {
  const dir = order.direction === 'asc' ? 1 : -1;
  if (order.field === 'id') return { _id: dir };
  return { [layout.path(order.field)]: dir, _id: dir };
}
