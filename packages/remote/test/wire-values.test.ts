import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, OpaqueValue } from '../src/wire-values.js';

const roundTrip = (v: unknown) => decodeWire(encodeWire(v));

describe('call arguments on the wire', () => {
  it('carries what JSON cannot, so core sees the caller’s exact (invalid) input', () => {
    const v = roundTrip({
      a: undefined,
      n: Number.NaN,
      z: -0,
      i: Number.POSITIVE_INFINITY,
      list: [undefined, 1],
    }) as Record<string, unknown>;
    expect(Object.hasOwn(v, 'a')).toBe(true);
    expect(v.a).toBeUndefined();
    expect(v.n).toBeNaN();
    expect(Object.is(v.z, -0)).toBe(true);
    expect(v.i).toBe(Number.POSITIVE_INFINITY);
    expect(v.list).toEqual([undefined, 1]);
    expect(roundTrip(10n)).toBe(10n);
    expect(roundTrip(new Date(5))).toEqual(new Date(5));
    expect(roundTrip(new Map())).toBeInstanceOf(OpaqueValue);
    expect(roundTrip(() => 1)).toBeInstanceOf(OpaqueValue);
  });

  it('keeps hostile keys as keys: __proto__, $ps, a null prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "$ps": "undefined", "ok": 1}');
    const back = roundTrip(hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', '$ps', 'ok']);
    expect(back.$ps).toBe('undefined');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const bare = Object.assign(Object.create(null) as object, { '': 'x' });
    const b = roundTrip(bare) as object;
    expect(Object.getPrototypeOf(b)).toBeNull();
    expect(b).toEqual(bare);
  });

  it('sends lone surrogates as escapes (never U+FFFD), pairs unchanged', () => {
    const text = encodeWire({ s: 'a\ud800b\udc00c😀' });
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
    expect(roundTrip({ s: 'a\ud800b\udc00c😀' })).toEqual({ s: 'a\ud800b\udc00c😀' });
  });

  it('refuses a text that is not JSON or has an unknown tag', () => {
    expect(() => decodeWire('{')).toThrow(SyntaxError);
    expect(() => decodeWire('{"$ps":"evil"}')).toThrow(SyntaxError);
  });
});
