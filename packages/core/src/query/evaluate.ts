import { compareCodePoints } from '../schema/values.js';
import type { After, FilterValue, NormalOrder, Predicate } from './query.js';

/**
 * Compares two scalar values as every backend must: `null` first, numbers numerically,
 * strings by code point, `false` before `true`.
 */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  throw new TypeError(`cannot compare ${typeof a} with ${typeof b}`);
}

/** Whether a record satisfies every predicate (for adapters that filter in process). */
export function matchesWhere(
  record: Readonly<Record<string, unknown>>,
  where: readonly Predicate[],
): boolean {
  for (const p of where) {
    const v = record[p.field] as FilterValue | undefined;
    switch (p.op) {
      case 'eq':
        if (p.value === null ? v !== null : v === null || compareValues(v, p.value) !== 0)
          return false;
        break;
      case 'in':
        if (
          !(p.value as readonly FilterValue[]).some((x) =>
            x === null ? v === null : v !== null && compareValues(v, x) === 0,
          )
        ) {
          return false;
        }
        break;
      default: {
        if (v === null || v === undefined) return false;
        const c = compareValues(v, p.value);
        if (p.op === 'gt' ? c <= 0 : p.op === 'gte' ? c < 0 : p.op === 'lt' ? c >= 0 : c > 0)
          return false;
      }
    }
  }
  return true;
}

/** A comparator for the total order `(order.field, id)` in the order's direction. */
export function recordComparator(
  order: NormalOrder,
): (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>) => number {
  const sign = order.direction === 'asc' ? 1 : -1;
  return (a, b) =>
    sign * (compareValues(a[order.field], b[order.field]) || compareValues(a.id, b.id));
}

/** Whether a record comes strictly after the cursor position under `order`. */
export function isAfter(
  record: Readonly<Record<string, unknown>>,
  order: NormalOrder,
  after: After,
): boolean {
  const sign = order.direction === 'asc' ? 1 : -1;
  const c = compareValues(record[order.field], after.value) || compareValues(record.id, after.id);
  return sign * c > 0;
}
