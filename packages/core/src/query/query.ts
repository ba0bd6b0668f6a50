import { type FieldIssue, InvalidQueryError } from '../errors.js';
import { type DataShape, findPlainDataIssue } from '../plain-data.js';
import { acceptValue, REFUSED, rootKeys } from '../schema/accept.js';
import type { AnyResource } from '../schema/resource.js';
import { checkValue, notNull, shapeOf } from '../schema/validate.js';
import { isPlainObject } from '../schema/values.js';

/** A comparison operator of the query language. */
export type Operator = 'eq' | 'in' | 'gt' | 'gte' | 'lt' | 'lte';

/** A scalar value in a filter (`null` matches missing values with `eq` and `in`). */
export type FilterValue = string | number | boolean | null;

/**
 * One field's condition in `where`: a value (equality; `null` means "is null"), or an
 * object of operators that must all hold. Range operators need a sortable field.
 */
export type Condition<V> =
  | V
  | null
  | {
      eq?: V | null;
      in?: readonly (V | null)[];
      gt?: V;
      gte?: V;
      lt?: V;
      lte?: V;
    };

/** A filter: every named field's condition must hold. Only indexed fields may be named. */
export type Where<R = Record<string, unknown>> = {
  [K in keyof R]?: Condition<R[K] extends FilterValue ? R[K] : never>;
};

/** One normalised predicate, as adapters receive it. `value` is an array for `in`. */
export interface Predicate {
  readonly field: string;
  readonly op: Operator;
  readonly value: FilterValue | readonly FilterValue[];
}

/** A sort direction. */
export type Direction = 'asc' | 'desc';

/** The requested order: one indexed sortable field; `id` in the same direction breaks ties. */
export interface OrderBy<F extends string = string> {
  readonly field: F;
  readonly direction?: Direction;
}

/** A normalised order, as adapters receive it. */
export interface NormalOrder {
  readonly field: string;
  readonly direction: Direction;
}

/** The position after which a page starts: the last row's sort value and id. */
export interface After {
  readonly value: string | number;
  readonly id: string;
}

/** The normalised `list` query an adapter executes. */
export interface ListQuery {
  readonly where: readonly Predicate[];
  readonly orderBy: NormalOrder;
  /** Return at most this many rows (core asks for one more than the page size to know if there is a next page). */
  readonly limit: number;
  readonly after: After | null;
}

/** Page size when `limit` is not given. */
export const DEFAULT_LIMIT = 50;
/** Largest allowed page size. */
export const MAX_LIMIT = 1000;
const MAX_IN = 1000;

const OPS: readonly Operator[] = ['eq', 'in', 'gt', 'gte', 'lt', 'lte'];
const RANGE: readonly Operator[] = ['gt', 'gte', 'lt', 'lte'];

function fail(resource: AnyResource, message: string): never {
  throw new InvalidQueryError(`${resource.name}: ${message}`);
}

/**
 * Refuses a query part (`where`, list options, ...) that is not plain data or breaks a
 * size limit, with an `InvalidQueryError` naming its path, before anything reads inside it.
 */
export function assertPlainQuery(
  resource: AnyResource,
  value: unknown,
  name: string,
  shape: DataShape = queryShape(resource),
): void {
  const found = findPlainDataIssue(value, name, shape);
  if (found) fail(resource, `${found.path}: ${found.message}`);
}

const shapesOfWhere = new WeakMap<AnyResource, DataShape>();

/** The limits of a `where` filter: indexed fields, each a value or an object of operators. */
export function whereShape(resource: AnyResource): DataShape {
  let shape = shapesOfWhere.get(resource);
  if (!shape) {
    const fields = Object.keys(resource.queryable);
    shape = {
      maxEntries: fields.length,
      tooMany: `names more fields than the ${fields.length} indexed ones`,
      child: (name) => {
        if (!Object.hasOwn(resource.queryable, name)) return undefined;
        const one = shapeOf(resource.queryable[name]!.field);
        const list = {
          maxEntries: MAX_IN,
          tooMany: `has more than ${MAX_IN} values`,
          child: () => one,
        };
        return {
          ...one,
          maxEntries: OPS.length,
          tooMany: 'has more than one condition per operator',
          child: (op: string) => (op === 'in' ? list : one),
        };
      },
    };
    shapesOfWhere.set(resource, shape);
  }
  return shape;
}

/** The limits of `list` options as a whole. */
function queryShape(resource: AnyResource): DataShape {
  const where = whereShape(resource);
  return {
    maxEntries: 4,
    tooMany: 'has unknown options',
    child: (key) =>
      key === 'where'
        ? where
        : key === 'after'
          ? { maxLength: MAX_CURSOR, tooLong: 'is not a cursor returned by list' }
          : { maxEntries: 2, tooMany: 'orderBy must be { field, direction? }', maxLength: 255 },
  };
}

const LIST_OPTIONS = new Set(['where', 'orderBy', 'limit', 'after']);

/**
 * The fast path of the checks of `list` options before each is normalised: for options
 * that are plain data, name only known options and filter by plain values (as most do),
 * the normalised `where`; `undefined` for any other (then the exact checks run: the
 * plain-data pass of the whole, the option names, {@link normaliseWhere}).
 */
export function acceptListOptions(
  resource: AnyResource,
  options: unknown,
): Predicate[] | undefined {
  const keys = rootKeys(options, LIST_OPTIONS.size);
  if (!keys) return undefined;
  const given = options as Record<string, unknown>;
  for (const key of keys) if (!LIST_OPTIONS.has(key)) return undefined;
  const { orderBy, limit, after } = given;
  if (limit !== undefined && typeof limit !== 'number') return undefined;
  if (
    after !== undefined &&
    after !== null &&
    !(typeof after === 'string' && after.length <= MAX_CURSOR)
  )
    return undefined;
  if (orderBy !== undefined) {
    const orderKeys = rootKeys(orderBy, 2);
    if (!orderKeys) return undefined;
    for (const key of orderKeys) {
      const v = (orderBy as Record<string, unknown>)[key];
      if (typeof v !== 'string' || v.length > 255) return undefined;
    }
  }
  return given.where === undefined ? [] : acceptWhere(resource, given.where);
}

/** Longest cursor string `list` accepts. */
export const MAX_CURSOR = 4096;

function checkOperand(
  resource: AnyResource,
  field: string,
  value: unknown,
  allowNull: boolean,
): FilterValue {
  const q = resource.queryable[field]!;
  if (value === null) {
    if (!allowNull) fail(resource, `where.${field}: null is only allowed with eq and in`);
    return null;
  }
  const issues: FieldIssue[] = [];
  const out = checkValue(notNull(q.field), value, field, issues);
  if (issues.length > 0)
    fail(resource, `where.${field}: ${issues.map((i) => i.message).join('; ')}`);
  return out as FilterValue;
}

/**
 * Validates and normalises a `where` filter. Only indexed fields may be used; range
 * operators only on sortable ones. Throws `InvalidQueryError` otherwise, on every backend,
 * so no backend ever silently scans.
 */
export function normaliseWhere(resource: AnyResource, where: unknown): Predicate[] {
  if (where === undefined) return [];
  return acceptWhere(resource, where) ?? exactWhere(resource, where);
}

/**
 * The fast path of {@link normaliseWhere}: its answer for a filter of plain values (each
 * field equal to one value or `null`), as most are, read in one walk; `undefined` for any
 * other (operators, anything invalid), which the exact path handles.
 */
function acceptWhere(resource: AnyResource, where: unknown): Predicate[] | undefined {
  const queryable = resource.queryable;
  const keys = rootKeys(where, queryableCount(resource));
  if (!keys) return undefined;
  const given = where as Record<string, unknown>;
  const out: Predicate[] = [];
  for (const field of keys) {
    if (!Object.hasOwn(queryable, field)) return undefined;
    const v = given[field];
    if (v === null) {
      out.push({ field, op: 'eq', value: null });
      continue;
    }
    if (v === undefined || typeof v === 'object') return undefined;
    const x = acceptValue(notNull(queryable[field]!.field), v);
    if (x === REFUSED) return undefined;
    out.push({ field, op: 'eq', value: x as FilterValue });
  }
  return out;
}

const queryableCounts = new WeakMap<AnyResource, number>();

/** How many indexed fields a resource has (the most a filter may name). */
function queryableCount(resource: AnyResource): number {
  let n = queryableCounts.get(resource);
  if (n === undefined) {
    n = Object.keys(resource.queryable).length;
    queryableCounts.set(resource, n);
  }
  return n;
}

/** {@link normaliseWhere} without the fast path. Exported for the tests that hold the fast path to it. */
export function exactWhere(resource: AnyResource, where: unknown): Predicate[] {
  if (where === undefined) return [];
  assertPlainQuery(resource, where, 'where', whereShape(resource));
  if (!isPlainObject(where)) fail(resource, 'where must be a plain object');
  const out: Predicate[] = [];
  for (const [field, cond] of Object.entries(where)) {
    const q = Object.hasOwn(resource.queryable, field) ? resource.queryable[field] : undefined;
    if (!q) {
      fail(
        resource,
        `where.${field}: not an indexed field (indexed: ${Object.keys(resource.queryable).join(', ')})`,
      );
    }
    if (!isPlainObject(cond)) {
      out.push({ field, op: 'eq', value: checkOperand(resource, field, cond, true) });
      continue;
    }
    const ops = Object.keys(cond);
    if (ops.length === 0) fail(resource, `where.${field}: empty condition`);
    for (const op of ops) {
      if (!OPS.includes(op as Operator)) fail(resource, `where.${field}: unknown operator ${op}`);
      if (RANGE.includes(op as Operator) && q.index !== 'sort') {
        fail(resource, `where.${field}: ${op} needs a sortable field`);
      }
      const v = (cond as Record<string, unknown>)[op];
      if (op === 'in') {
        if (!Array.isArray(v)) fail(resource, `where.${field}.in must be an array`);
        if (v.length > MAX_IN) fail(resource, `where.${field}.in has more than ${MAX_IN} values`);
        const seen = new Set<FilterValue>();
        for (const x of v) seen.add(checkOperand(resource, field, x, true));
        out.push({ field, op: 'in', value: [...seen] });
      } else {
        out.push({
          field,
          op: op as Operator,
          value: checkOperand(resource, field, v, op === 'eq'),
        });
      }
    }
  }
  return out;
}

/** Validates and normalises `orderBy` (default: `id` ascending). */
export function normaliseOrder(resource: AnyResource, orderBy: unknown): NormalOrder {
  if (orderBy === undefined) return { field: 'id', direction: 'asc' };
  assertPlainQuery(resource, orderBy, 'orderBy', { maxEntries: 2, maxLength: 255 });
  if (!isPlainObject(orderBy)) fail(resource, 'orderBy must be { field, direction? }');
  const { field, direction = 'asc', ...rest } = orderBy as { field?: unknown; direction?: unknown };
  if (Object.keys(rest).length > 0) fail(resource, `orderBy: unknown key ${Object.keys(rest)[0]}`);
  if (
    typeof field !== 'string' ||
    !Object.hasOwn(resource.queryable, field) ||
    resource.queryable[field]!.index !== 'sort'
  ) {
    const sortable = Object.entries(resource.queryable)
      .filter(([, q]) => q.index === 'sort')
      .map(([n]) => n);
    fail(resource, `orderBy.field must be a sortable field (${sortable.join(', ')})`);
  }
  if (direction !== 'asc' && direction !== 'desc')
    fail(resource, "orderBy.direction must be 'asc' or 'desc'");
  return { field, direction };
}

/** Validates `limit` (default {@link DEFAULT_LIMIT}, at most {@link MAX_LIMIT}). */
export function normaliseLimit(resource: AnyResource, limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT) {
    fail(resource, `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit as number;
}
