import type { StoredRecord } from './driver.js';
import { sameValue } from './resource-store.js';

/**
 * Whether a stored record meets a conditional write's conditions: its revision equals
 * `expectedRevision` (when given) and each field of `expected` holds one of the listed
 * values (compared with {@link sameValue}). Adapters that check conditions in process
 * (memory, ZooKeeper, Mongo claims) call this; those that check them in the backend
 * must agree with it, which the conformance suite verifies.
 *
 * @example
 * ```ts
 * if (!meetsConditions(current, change.expectedRevision, change.expected)) {
 *   return { status: 'conflict', current };
 * }
 * ```
 */
export function meetsConditions(
  record: StoredRecord,
  expectedRevision: number | undefined,
  expected: Readonly<Record<string, readonly unknown[]>> | undefined,
): boolean {
  return failedCondition(record, expectedRevision, expected) === undefined;
}

/**
 * Which of a conditional write's conditions a stored record fails: `'revision'`, the first
 * field of `expected` whose value is none of the listed ones, or `undefined` when it meets
 * them all ({@link meetsConditions}). Core words a `ConflictError` with it.
 */
export function failedCondition(
  record: StoredRecord,
  expectedRevision: number | undefined,
  expected: Readonly<Record<string, readonly unknown[]>> | undefined,
):
  | { readonly kind: 'revision' }
  | { readonly kind: 'expected'; readonly field: string }
  | undefined {
  if (expectedRevision !== undefined && record.revision !== expectedRevision)
    return { kind: 'revision' };
  for (const [field, allowed] of Object.entries(expected ?? {})) {
    if (!allowed.some((v) => sameValue(record[field], v))) return { kind: 'expected', field };
  }
  return undefined;
}
