import { types } from 'node:util';
import ipaddr from 'ipaddr.js';
import type { Field } from './field.js';
import { compileShapeBuilder } from './literal-builders.js';

/** Length of a string in Unicode code points. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Compares two strings by Unicode code point (the same order as UTF-8 bytes, PostgreSQL
 * `COLLATE "C"`, SQLite BINARY, Redis lex order and Mongo's simple collation). JS `<`
 * compares UTF-16 code units, which misorders characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800..DFFF) encode code points above FFFF, so they sort after E000..FFFF.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Normalises an ISO 8601 timestamp with an explicit offset to UTC with millisecond
 * precision (`2026-01-02T03:04:05.678Z`); `undefined` if it is not one.
 */
export function normaliseDatetime(s: string): string | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || h! > 23 || mi! > 59 || se! > 59) return undefined;
  const days = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (d! > days) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  const out = new Date(t).toISOString();
  // Only four-digit years: the extended forms (+275760-…) do not sort as strings.
  if (out.length !== 24 || out.startsWith('0000')) return undefined;
  return out;
}

/**
 * Canonical text of an IP address (dotted IPv4, RFC 5952 IPv6); `undefined` if invalid.
 * An IPv6 address may end in a dotted IPv4 part (RFC 4291 2.2: `::ffff:10.0.0.1`,
 * `64:ff9b::10.0.0.1`, and `::0.1.0.0`, which is how PostgreSQL prints `::1:0`): that
 * part must be four decimal octets, and it is read as the last 32 bits, whatever comes
 * before it (ipaddr.js reads `::a.b.c.d` as `::ffff:a.b.c.d`, another address).
 */
export function normaliseIp(s: string): string | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) {
    const a = ipaddr.IPv4.parse(s);
    return a.toString();
  }
  if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
  const colon = s.lastIndexOf(':');
  const tail = s.slice(colon + 1);
  if (!tail.includes('.')) return ipaddr.IPv6.parse(s).toRFC5952String();
  if (!ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined;
  const [a, b, c, d] = ipaddr.IPv4.parse(tail).octets as [number, number, number, number];
  const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  return ipaddr.IPv6.parse(`${s.slice(0, colon + 1)}${hex}`).toRFC5952String();
}

/** Canonical `address/prefix` of a network with host bits zero; `undefined` if invalid. */
export function normaliseCidr(s: string): string | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = normaliseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (addr === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const parsed = ipaddr.parse(addr);
  if (prefix > (parsed.kind() === 'ipv4' ? 32 : 128)) return undefined;
  const net =
    parsed.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`).toString()
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`).toRFC5952String();
  if (net !== addr) return undefined;
  return `${addr}/${prefix}`;
}

/** Whether a value is a plain object (`{}` literal or `Object.create(null)`), not a class instance or array. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  // A Proxy is never plain, and asking for its prototype would run its trap.
  if (typeof v !== 'object' || v === null || types.isProxy(v) || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deeply freezes a plain JSON value and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * A copy of a dict with its keys in code point order. This is the one key order of dicts
 * on every backend: PostgreSQL's jsonb keeps its own order (shorter keys first), so the
 * order a caller wrote cannot survive there, and one fixed rule is the only one that can.
 */
export function sortKeysByCodePoint<V>(dict: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(dict).sort(compareCodePoints)) setOwn(out, key, dict[key]!);
  return out;
}

/** Sets an own data property, also for the key `__proto__` (which `=` would turn into a prototype change). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else obj[key] = value;
}

/** Whether values of a field can hold objects whose key order a backend may change. */
function hasKeyOrder(field: Field): boolean {
  return (
    field.kind === 'dict' ||
    field.kind === 'object' ||
    (field.kind === 'list' && hasKeyOrder(field.of!))
  );
}

/**
 * A stored value of a field in canonical key order: dict keys by code point, object
 * fields in declaration order, at every depth. Scalars come back as they are. Core builds
 * every returned record with this, so equal records serialise byte-equal on every backend.
 */
export function canonicalFieldValue(field: Field, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !hasKeyOrder(field)) return value;
  switch (field.kind) {
    case 'list':
      return Array.isArray(value) ? value.map((v) => canonicalFieldValue(field.of!, v)) : value;
    case 'dict': {
      const out: Record<string, unknown> = {};
      const dict = value as Record<string, unknown>;
      for (const key of Object.keys(dict).sort(compareCodePoints))
        setOwn(out, key, canonicalFieldValue(field.of!, dict[key]));
      return out;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      const obj = value as Record<string, unknown>;
      for (const [name, sub] of Object.entries(field.shape!)) {
        if (Object.hasOwn(obj, name)) setOwn(out, name, canonicalFieldValue(sub, obj[name]));
      }
      // Keys the schema does not declare (written by another version) keep their place after.
      for (const key of Object.keys(obj)) if (!Object.hasOwn(out, key)) setOwn(out, key, obj[key]);
      return out;
    }
    default:
      return value;
  }
}

/** Copies a field's stored value into its frozen public form (see {@link fieldFreezer}). */
export type FieldFreezer = (value: unknown) => unknown;

const freezers = new WeakMap<Field, FieldFreezer>();

/** What a field with no key order does with a value: an object is deeply frozen in place. */
const freezeInPlace: FieldFreezer = (value) =>
  value === null || typeof value !== 'object' ? value : deepFreeze(value);

/**
 * {@link canonicalFieldValue}, deeply frozen, as a function worked out once per field: the
 * copies it makes are frozen as they are built, and only what it passes through as it is
 * (lists of scalars, keys an object's schema does not declare) is walked by
 * {@link deepFreeze}, so a record is frozen without a second walk over it. The field's
 * shape is read when the function is built, not per value: core calls it for every field of
 * every record it returns.
 */
export function fieldFreezer(field: Field): FieldFreezer {
  let freezer = freezers.get(field);
  if (freezer === undefined) {
    freezer = buildFreezer(field);
    freezers.set(field, freezer);
  }
  return freezer;
}

function buildFreezer(field: Field): FieldFreezer {
  if (!hasKeyOrder(field)) return freezeInPlace;
  switch (field.kind) {
    case 'list': {
      const item = fieldFreezer(field.of!);
      return (value) => {
        if (value === null || typeof value !== 'object') return value;
        if (!Array.isArray(value)) return deepFreeze(value);
        const out: unknown[] = [];
        for (const v of value) out.push(item(v));
        return Object.freeze(out);
      };
    }
    case 'dict': {
      const item = fieldFreezer(field.of!);
      return (value) => {
        if (value === null || typeof value !== 'object') return value;
        const out: Record<string, unknown> = {};
        const dict = value as Record<string, unknown>;
        const keys = Object.keys(dict);
        if (keys.length > 1) keys.sort(compareCodePoints);
        for (const key of keys) setOwn(out, key, item(dict[key]));
        return Object.freeze(out);
      };
    }
    case 'object': {
      const shape = field.shape!;
      const names = Object.keys(shape);
      const items = names.map((name) => fieldFreezer(shape[name]!));
      const copy = (obj: Record<string, unknown>): unknown => {
        const out: Record<string, unknown> = {};
        let declared = 0;
        for (let i = 0; i < names.length; i++) {
          const name = names[i]!;
          if (Object.hasOwn(obj, name)) {
            setOwn(out, name, items[i]!(obj[name]));
            declared++;
          }
        }
        // Keys the schema does not declare (written by another version) keep their place after.
        const keys = Object.keys(obj);
        if (keys.length > declared) {
          for (const key of keys)
            if (!Object.hasOwn(out, key)) setOwn(out, key, deepFreeze(obj[key]));
        }
        return Object.freeze(out);
      };
      // The usual value, with exactly the declared keys, as one literal; the loop above for the rest.
      const build = compileShapeBuilder(names, items, copy) ?? copy;
      return (value) =>
        value === null || typeof value !== 'object'
          ? value
          : build(value as Record<string, unknown>);
    }
    default:
      return freezeInPlace;
  }
}

/**
 * The most bytes a number takes in JSON: 17 significant digits just above 1e-6 in
 * magnitude, still written without an exponent (`-0.0000012345678901234567`, 25); the
 * exponent forms take 24 at most (`-1.7976931348623157e+308`).
 */
const MAX_NUMBER_JSON = 25;

/**
 * An upper bound on the UTF-8 length of `JSON.stringify(value)` for plain data, or
 * `Infinity` once it passes `limit` or meets anything else (whose JSON only encoding can
 * tell). A UTF-16 unit takes at most 6 bytes in JSON (`\u001f`, a lone surrogate), so a
 * record far below a backend's limit is known to fit without being encoded.
 */
export function jsonBytesBound(value: unknown, limit: number): number {
  return boundFrom(value, 0, limit, 0);
}

/** {@link jsonBytesBound} of `v` added to `total`. */
function boundFrom(v: unknown, total: number, limit: number, depth: number): number {
  switch (typeof v) {
    case 'string':
      total += 2 + 6 * v.length;
      break;
    case 'number':
      total += MAX_NUMBER_JSON;
      break;
    case 'boolean':
    case 'undefined':
      total += 5;
      break;
    case 'object': {
      if (v === null) {
        total += 4;
        break;
      }
      // Validated data nests far less: anything deeper (a cycle, say) is left to the
      // encoder, and so is a Proxy, whose prototype is its trap's to say.
      if (depth > 64 || types.isProxy(v)) return Number.POSITIVE_INFINITY;
      const proto = Object.getPrototypeOf(v);
      if (Array.isArray(v)) {
        if (proto !== Array.prototype) return Number.POSITIVE_INFINITY;
        total += 2 + v.length;
        for (let i = 0; i < v.length && total <= limit; i++)
          total = boundFrom(v[i], total, limit, depth + 1);
      } else {
        if (proto !== Object.prototype && proto !== null) return Number.POSITIVE_INFINITY;
        total += 2;
        const obj = v as Record<string, unknown>;
        for (const key in obj) {
          if (total > limit) break;
          // The key, its quotes, the colon and the comma.
          total = boundFrom(obj[key], total + 4 + 6 * key.length, limit, depth + 1);
        }
      }
      break;
    }
    default:
      return Number.POSITIVE_INFINITY;
  }
  return total > limit ? Number.POSITIVE_INFINITY : total;
}
