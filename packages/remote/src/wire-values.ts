/**
 * Call arguments on the wire: JSON, plus tags for the values JSON cannot carry, so invalid
 * input (`undefined`, `NaN`, `-0`, a `Date`, a `Map`, a function) reaches core's validation
 * on the server exactly as a local caller's would, and is refused the same way. Lone
 * surrogates travel as `\uD800` escapes (JSON.stringify writes them so), never as U+FFFD.
 *
 * A tag is `{ "$ps": kind, ... }`; a caller's own object with a `$ps` key is wrapped as
 * `{ "$ps": "object", "v": { ... } }` so it cannot pose as a tag.
 */

const TAG = '$ps';

/** Stands in on the server for a value that cannot cross the wire (a function, a symbol, a class instance). */
export class OpaqueValue {
  constructor(
    /** What the caller passed, e.g. `function` or `Map`. */
    readonly kind: string,
  ) {}
}

function encodeValue(v: unknown, seen: Set<object>): unknown {
  switch (typeof v) {
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'number':
      if (Number.isNaN(v)) return { [TAG]: 'number', v: 'NaN' };
      if (v === Number.POSITIVE_INFINITY) return { [TAG]: 'number', v: 'Infinity' };
      if (v === Number.NEGATIVE_INFINITY) return { [TAG]: 'number', v: '-Infinity' };
      if (Object.is(v, -0)) return { [TAG]: 'number', v: '-0' };
      return v;
    case 'bigint':
      return { [TAG]: 'bigint', v: v.toString() };
    case 'string':
    case 'boolean':
      return v;
    case 'function':
    case 'symbol':
      return { [TAG]: 'opaque', v: typeof v };
  }
  if (v === null) return null;
  const o = v as object;
  if (seen.has(o)) return { [TAG]: 'opaque', v: 'cycle' };
  seen.add(o);
  try {
    if (Array.isArray(o)) {
      const out: unknown[] = [];
      for (let i = 0; i < o.length; i++) out.push(encodeValue(o[i], seen));
      return out;
    }
    if (o instanceof Date) return { [TAG]: 'date', v: o.getTime() };
    const proto = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      return { [TAG]: 'opaque', v: (proto?.constructor?.name as string | undefined) ?? 'object' };
    }
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      Object.defineProperty(fields, k, {
        value: encodeValue((o as Record<string, unknown>)[k], seen),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (proto === null) return { [TAG]: 'nullproto', v: fields };
    return Object.hasOwn(fields, TAG) ? { [TAG]: 'object', v: fields } : fields;
  } finally {
    seen.delete(o);
  }
}

/** The JSON text of a value, tags included. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(encodeValue(value, new Set()));
}

function decodeObject(o: Record<string, unknown>, proto: object | null): Record<string, unknown> {
  const out = Object.create(proto) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    // defineProperty, so a `__proto__` key stays a key and never sets a prototype.
    Object.defineProperty(out, k, {
      value: decodeValue(o[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function decodeValue(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(decodeValue);
  const o = v as Record<string, unknown>;
  if (!Object.hasOwn(o, TAG)) return decodeObject(o, Object.prototype);
  const inner = o.v;
  switch (o[TAG]) {
    case 'undefined':
      return undefined;
    case 'number':
      return Number(inner);
    case 'bigint':
      return typeof inner === 'string' && /^-?\d{1,400}$/.test(inner)
        ? BigInt(inner)
        : new OpaqueValue('bigint');
    case 'date':
      return new Date(Number(inner));
    case 'nullproto':
    case 'object':
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) break;
      return decodeObject(
        inner as Record<string, unknown>,
        o[TAG] === 'nullproto' ? null : Object.prototype,
      );
    case 'opaque':
      return new OpaqueValue(String(inner));
  }
  throw new SyntaxError(`unknown wire tag ${JSON.stringify(o[TAG])}`);
}

/** The value of a JSON text written by {@link encodeWire}; `SyntaxError` when it is not one. */
export function decodeWire(text: string): unknown {
  return decodeValue(JSON.parse(text));
}
