import { bareKeys, compileFunction } from '@polystore/core/adapter';

/** How one column of a row becomes a record value. */
export interface ColumnRead {
  readonly column: string;
  readonly field: string;
  /** Whether a `NULL` is kept as `null` (else the field is left out). */
  readonly keepNull: boolean;
  /** The conversion of a non-null value; `undefined`: the value as the driver returned it. */
  readonly decode: ((raw: unknown) => unknown) | undefined;
}

/**
 * Reads a row given as an array into a record: `at[i]` is where the column of `plan[i]` is
 * in the row (-1: the result lacks it).
 */
export type RowReader = (row: readonly unknown[], at: readonly number[]) => Record<string, unknown>;

/**
 * {@link RowReader} for `plan`, as one function with a store site per field (`new
 * Function`): a loop setting `record[field]` for field after field makes one store site see
 * every name, which V8 then looks up on each store. `undefined` where a field is not a
 * plain identifier or the runtime refuses `new Function`; the caller keeps its loop, which
 * reads the same record (a `NULL` kept as `null` or left out, per {@link ColumnRead.keepNull}).
 */
export function compileRowReader(plan: readonly ColumnRead[]): RowReader | undefined {
  if (!bareKeys(plan.map((c) => c.field))) return undefined;
  const steps = plan.map(({ field, keepNull, decode }, i) => {
    const value = decode === undefined ? 'v' : `D[${i}](v)`;
    const nil = keepNull ? `r.${field} = null;` : '';
    return `  v = at[${i}] < 0 ? undefined : row[at[${i}]];
  if (v === null || v === undefined) { ${nil} } else r.${field} = ${value};`;
  });
  const source = `return function readRow(row, at) {
  const r = {};
  let v;
${steps.join('\n')}
  return r;
};`;
  return compileFunction<RowReader>(['D'], source, [plan.map((c) => c.decode)]);
}
