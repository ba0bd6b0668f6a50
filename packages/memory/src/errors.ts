import {
  ExhaustedError,
  InvalidInputError,
  PolystoreError,
  UnavailableError,
} from '@polystore/core';

/**
 * Maps anything a memory operation throws onto a core error, in one place. The memory
 * "driver" is a `Map`, so little can go wrong below core's checks:
 *
 * - a core error (`DuplicateError`, the closed store's `UnavailableError`, ...) passes
 *   through unchanged;
 * - a value `structuredClone` cannot copy (a `DataCloneError`; core's validation normally
 *   stops it first) is an `InvalidInputError` of the resource;
 * - a table past the engine's `Map` size limit (`RangeError`) is an `ExhaustedError`;
 * - anything else is an `UnavailableError` naming the operation, as every adapter reports
 *   an unexpected driver failure.
 *
 * The original error is kept as `cause` where the error class takes one.
 */
export function toCoreError(
  err: unknown,
  context: { readonly operation: string; readonly resource?: string },
): PolystoreError {
  if (err instanceof PolystoreError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  const where = `memory ${context.resource ? `${context.resource} ` : ''}${context.operation}`;
  if (error.name === 'DataCloneError') {
    return new InvalidInputError(context.resource ?? 'record', [
      { field: '(record)', message: `not storable: ${error.message}` },
    ]);
  }
  if (error instanceof RangeError) {
    return new ExhaustedError(`${where}: the table is full: ${error.message}`, { cause: error });
  }
  return new UnavailableError(`${where}: ${error.message}`, { cause: error });
}
