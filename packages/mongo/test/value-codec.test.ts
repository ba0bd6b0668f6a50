import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeValue,
  encodeField,
  encodeValue,
  escapeKey,
  unescapeKey,
} from '../src/value-codec.js';

const key = fc.oneof(
  fc.string({
    unit: fc.constantFrom('$', '.', '%', '2', '4', 'E', '5', 'F', 'a', '_', 'i', 'd'),
    minLength: 1,
  }),
  fc.string({ unit: 'grapheme', minLength: 1 }),
);

/** What FerretDB accepts in place: no key with `$` or `.`, no `_id` key, no array directly in an array. */
function expectStorable(v: unknown, inArray: boolean): void {
  if (Array.isArray(v)) {
    expect(inArray).toBe(false);
    for (const x of v) expectStorable(x, true);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      expect(k).not.toMatch(/[$.]/);
      expect(k).not.toBe('_id');
      expectStorable(x, false);
    }
  }
}

describe('value codec', () => {
  it('escapes keys reversibly, leaving no $ or . in them', () => {
    fc.assert(
      fc.property(key, (k) => {
        const e = escapeKey(k);
        expect(e).not.toMatch(/[$.]/);
        expect(e).not.toBe('_id');
        expect(unescapeKey(e)).toBe(k);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips JSON values with nested arrays and hostile keys', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value')),
        fc.dictionary(key, tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        const stored = encodeValue(v);
        expectStorable(stored, false);
        expect(JSON.stringify(decodeValue(stored))).toBe(JSON.stringify(v));
        const field = encodeField(v);
        expectStorable(field, false);
        expect(JSON.stringify(decodeValue(field))).toBe(JSON.stringify(v));
      }),
      { numRuns: 500 },
    );
  });

  it('stores a field with other keys but the same values differently, where FerretDB compares values only', () => {
    /** The values of a stored form in order, keys left out: what FerretDB v1.24 compares. */
    const valuesOnly = (v: unknown): unknown =>
      typeof v === 'object' && v !== null ? Object.values(v).map(valuesOnly) : v;
    const pairs: readonly (readonly [unknown, unknown])[] = [
      [{ a: '1' }, { c: '1' }],
      [{ a: { x: 1 } }, { a: { y: 1 } }],
      [[{ a: '1' }], [{ c: '1' }]],
      [[[{ a: 1 }]], [[{ b: 1 }]]],
      [{ 'a.b': 1 }, { a$b: 1 }],
      [
        { a: 1, b: 2 },
        { b: 1, c: 2 },
      ],
    ];
    for (const [before, after] of pairs) {
      expect(valuesOnly(encodeValue(before))).toEqual(valuesOnly(encodeValue(after)));
      expect(valuesOnly(encodeField(before))).not.toEqual(valuesOnly(encodeField(after)));
    }
    // A list of scalars holds no keys: its stored form stays a plain array.
    expect(encodeField(['a', 1])).toEqual(['a', 1]);
  });
});
