import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTextsReader, jsonValue } from '../src/record-reader.js';

describe('jsonValue', () => {
  it('is JSON.parse on every JSON text, strings with and without escapes alike', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()), (v) => {
        const text = JSON.stringify(v);
        expect(jsonValue(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('throws where JSON.parse does: raw control characters, unclosed strings', () => {
    for (const text of ['"a\u0001b"', '"a\nb"', '"open', 'open"', '"', 'word']) {
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      expect(() => jsonValue(text)).toThrow(SyntaxError);
    }
  });
});

describe('compileTextsReader', () => {
  it('reads the fields in order, leaving out absent ones', () => {
    const read = compileTextsReader(['id', 'name', 'spec', 'zone'])!;
    expect(read).toBeTypeOf('function');
    const r = read(['"a"', '"n\\u0000"', null, 'null']);
    expect(r).toEqual({ id: 'a', name: 'n\u0000', zone: null });
    expect(Object.keys(r)).toEqual(['id', 'name', 'zone']);
    expect(read(['"a"', '', undefined, '{"k":[1]}'])).toEqual({ id: 'a', zone: { k: [1] } });
    expect(() => read(['"a"', 'nope'])).toThrow(SyntaxError);
  });

  it('is not compiled for a name it cannot write bare', () => {
    expect(compileTextsReader(['a-b'])).toBeUndefined();
    expect(compileTextsReader(['__proto__'])).toBeUndefined();
  });
});
