import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, InvalidQueryError, type NormalOrder } from '../src/index.js';

const order = fc.record({
  field: fc.constantFrom('id', 'createdAt', 'displayName', 'vlan'),
  direction: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
});

describe('cursors', () => {
  it('decode what they encode, for any position', () => {
    fc.assert(
      fc.property(
        order,
        fc.oneof(fc.string({ unit: 'grapheme' }), fc.maxSafeInteger(), fc.integer()),
        fc.uuid(),
        (o, value, id) => {
          expect(decodeCursor(encodeCursor(o, { value, id }), o)).toEqual({ value, id });
        },
      ),
    );
  });

  it('are refused under another order', () => {
    const c = encodeCursor({ field: 'id', direction: 'asc' }, { value: 'a', id: 'a' });
    expect(() => decodeCursor(c, { field: 'id', direction: 'desc' })).toThrow(InvalidQueryError);
  });

  it('refuse anything that is not a cursor with InvalidQueryError', () => {
    const o: NormalOrder = { field: 'id', direction: 'asc' };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.constant('c1.!!!'),
          fc.constant(`c1.${Buffer.from('[1,2]').toString('base64url')}`),
        ),
        (junk) => {
          expect(() => decodeCursor(junk, o)).toThrow(InvalidQueryError);
        },
      ),
    );
    expect(() => decodeCursor(42, o)).toThrow(InvalidQueryError);
  });
});
