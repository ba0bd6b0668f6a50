import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalFieldValue,
  codePointLength,
  compareCodePoints,
  normaliseCidr,
  normaliseDatetime,
  normaliseIp,
  sortKeysByCodePoint,
  zodFor,
} from '../src/adapter.js';
import { f } from '../src/index.js';

describe('compareCodePoints', () => {
  it('orders like UTF-8 bytes, for any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(Math.sign(compareCodePoints(a, b))).toBe(bytes);
      }),
    );
  });

  it('puts a non-BMP character after U+FFFD, unlike JS <', () => {
    expect('😀' < '\uFFFD').toBe(true);
    expect(compareCodePoints('😀', '\uFFFD')).toBeGreaterThan(0);
  });
});

describe('codePointLength', () => {
  it('counts a surrogate pair once', () => {
    expect(codePointLength('a😀b')).toBe(3);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(codePointLength(s)).toBe([...s].length);
      }),
    );
  });
});

describe('normaliseDatetime', () => {
  it('converts offsets to UTC with milliseconds', () => {
    expect(normaliseDatetime('2026-01-02T03:04:05+02:00')).toBe('2026-01-02T01:04:05.000Z');
    expect(normaliseDatetime('2026-01-02T03:04:05.7Z')).toBe('2026-01-02T03:04:05.700Z');
  });

  it.each([
    '2026-01-02T03:04:05',
    '2026-02-30T00:00:00Z',
    '2026-01-02 03:04:05Z',
    '2026-01-02T03:04:05.1234Z',
    'yesterday',
    '0000-01-01T00:00:00Z',
  ])('refuses %s', (s) => {
    expect(normaliseDatetime(s)).toBeUndefined();
  });

  it('round-trips every instant of years 1..9999', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (d) => {
          expect(normaliseDatetime(d.toISOString())).toBe(d.toISOString());
        },
      ),
    );
  });
});

describe('normaliseIp and normaliseCidr', () => {
  it('canonicalises addresses', () => {
    expect(normaliseIp('10.0.0.1')).toBe('10.0.0.1');
    expect(normaliseIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normaliseIp('10.0.0.256')).toBeUndefined();
    expect(normaliseIp('fe80::1%eth0')).toBeUndefined();
  });

  it('reads a dotted IPv4 tail as the last 32 bits of the IPv6 address it ends', () => {
    // PostgreSQL prints inet '::1:0' as '::0.1.0.0'; ipaddr.js alone reads that as ::ffff:1:0.
    expect(normaliseIp('::0.1.0.0')).toBe('::1:0');
    expect(normaliseIp('::1.2.3.4')).toBe('::102:304');
    expect(normaliseIp('::ffff:1.2.3.4')).toBe('::ffff:102:304');
    expect(normaliseIp('64:ff9b::10.0.0.1')).toBe('64:ff9b::a00:1');
    expect(normaliseIp('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3:4:5:6:102:304');
    expect(normaliseCidr('::0.1.0.0/112')).toBe('::1:0/112');
    // The tail must be four decimal octets.
    expect(normaliseIp('::0x1.2.3.4')).toBeUndefined();
    expect(normaliseIp('::01.2.3.4')).toBeUndefined();
    expect(normaliseIp('::1.2.3')).toBeUndefined();
  });

  it('gives every IPv6 address a canonical text that it keeps', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const canonical = normaliseIp(ip);
        expect(canonical).toBeDefined();
        expect(normaliseIp(canonical!)).toBe(canonical);
      }),
    );
  });

  it('wants host bits zero', () => {
    expect(normaliseCidr('10.0.0.0/24')).toBe('10.0.0.0/24');
    expect(normaliseCidr('10.0.0.1/24')).toBeUndefined();
    expect(normaliseCidr('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(normaliseCidr('10.0.0.0/33')).toBeUndefined();
    expect(normaliseCidr('10.0.0.0')).toBeUndefined();
  });

  it('accepts every IPv4 address in canonical form', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(normaliseIp(ip)).toBe(ip);
      }),
    );
  });
});

describe('dict key order', () => {
  const dict = f.dict(f.string({ max: 10 }), { max: 10 });

  it('is code point order, whatever order the keys were written in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), {
          maxLength: 8,
        }),
        (keys) => {
          const written = Object.fromEntries(keys.map((k) => [k, 'v']));
          const sorted = [...keys].sort(compareCodePoints);
          expect(Object.keys(sortKeysByCodePoint(written))).toEqual(sorted);
          expect(Object.keys(canonicalFieldValue(dict, written) as object)).toEqual(sorted);
        },
      ),
    );
  });

  it('is the order validation writes and canonicalFieldValue returns, at every depth', () => {
    const field = f.list(f.dict(f.int(), { max: 5 }), { max: 3 });
    const written = [{ b: 1, a: 2, '😀': 3, '\uFFFD': 4 }];
    expect(Object.keys((zodFor(field).parse(written) as Record<string, number>[])[0]!)).toEqual([
      'a',
      'b',
      '\uFFFD',
      '😀',
    ]);
    // As PostgreSQL's jsonb hands it back: shorter keys first.
    const stored = [{ a: 2, b: 1, '\uFFFD': 4, '😀': 3 }];
    expect(JSON.stringify(canonicalFieldValue(field, stored))).toBe(
      JSON.stringify([{ a: 2, b: 1, '\uFFFD': 4, '😀': 3 }]),
    );
  });

  it('keeps object fields in declaration order and a __proto__ key as data', () => {
    const obj = f.object({ z: f.int(), a: f.int() });
    expect(Object.keys(canonicalFieldValue(obj, { a: 1, z: 2 }) as object)).toEqual(['z', 'a']);
    const withProto = JSON.parse('{"__proto__": "x", "a": "y"}');
    const out = canonicalFieldValue(dict, withProto) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
  });
});
