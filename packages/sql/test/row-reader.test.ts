import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ColumnRead, compileRowReader } from '../src/row-reader.js';

/** The reading the compiled reader must match: a NULL kept as null or left out, else decoded. */
function readByLoop(plan: readonly ColumnRead[], row: readonly unknown[], at: readonly number[]) {
  const out: Record<string, unknown> = {};
  plan.forEach(({ field, keepNull, decode }, i) => {
    const raw = at[i]! < 0 ? undefined : row[at[i]!];
    if (raw === null || raw === undefined) {
      if (keepNull) out[field] = null;
    } else out[field] = decode === undefined ? raw : decode(raw);
  });
  return out;
}

const double = (v: unknown) => `${String(v)}!`;

describe('compileRowReader', () => {
  it('reads rows as the loop does: NULLs kept or left out, missing columns, decoders, key order', () => {
    const plan = fc.uniqueArray(
      fc.record({
        field: fc.constantFrom('id', 'projectId', 'revision', 'label', 'n', 'tags', 'deletedAt'),
        keepNull: fc.boolean(),
        decoded: fc.boolean(),
      }),
      { selector: (c) => c.field, minLength: 1 },
    );
    fc.assert(
      fc.property(
        plan.chain((cols) =>
          fc.tuple(
            fc.constant(cols),
            fc.array(fc.oneof(fc.constant(null), fc.string(), fc.integer()), {
              minLength: cols.length,
              maxLength: cols.length,
            }),
            fc.array(fc.boolean(), { minLength: cols.length, maxLength: cols.length }),
          ),
        ),
        ([cols, values, present]) => {
          const read: ColumnRead[] = cols.map((c) => ({
            column: c.field,
            field: c.field,
            keepNull: c.keepNull,
            decode: c.decoded ? double : undefined,
          }));
          // The row holds the present columns in reverse plan order.
          const row: unknown[] = [];
          const at: number[] = cols.map(() => -1);
          for (let i = cols.length - 1; i >= 0; i--) {
            if (!present[i]) continue;
            at[i] = row.length;
            row.push(values[i]);
          }
          const compiled = compileRowReader(read);
          expect(compiled).toBeTypeOf('function');
          const got = compiled!(row, at);
          const want = readByLoop(read, row, at);
          expect(got).toEqual(want);
          expect(Object.keys(got)).toEqual(Object.keys(want));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is not compiled for a field it cannot write bare', () => {
    const col = (field: string): ColumnRead => ({
      column: 'c',
      field,
      keepNull: true,
      decode: undefined,
    });
    expect(compileRowReader([col('a-b')])).toBeUndefined();
    expect(compileRowReader([col('__proto__')])).toBeUndefined();
    expect(compileRowReader([col('ok')])).toBeTypeOf('function');
  });
});
