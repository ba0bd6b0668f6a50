/**
 * The stored form of list, dict and object values.
 *
 * Core allows dict keys that start with `$` or contain `.`; MongoDB refuses or
 * misreads them (`$set: { 'a.b': 1 }` is a path) and FerretDB v1.24 rejects both
 * on insert. FerretDB also moves a key `_id` to the front of every nested document and
 * rejects an array directly inside an array. So keys are escaped reversibly (`%` -> `%25`,
 * `.` -> `%2E`, `$` -> `%24`, the key `_id` -> `%5Fid`) and an array inside an array is
 * wrapped as `{ "%a": [...] }`; a raw `%` never survives escaping, so the wrapper key
 * cannot come from data.
 */

import { createHash } from 'node:crypto';

const WRAP = '%a';
/** Key of the key-shape digest a stored field value carries (see {@link encodeField}). */
const SHAPE = '%k';
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '.': '%2E', $: '%24' };
const UNESCAPES: Readonly<Record<string, string>> = {
  '%25': '%',
  '%2E': '.',
  '%24': '$',
  '%5F': '_',
};

/** Escapes a key so that MongoDB and FerretDB store it as plain data, in place. */
export function escapeKey(key: string): string {
  return key === '_id' ? '%5Fid' : key.replace(/[%.$]/g, (c) => ESCAPES[c]!);
}

/** Reverses {@link escapeKey}. */
export function unescapeKey(key: string): string {
  return key.replace(/%(?:25|2E|24|5F)/g, (s) => UNESCAPES[s]!);
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so that no key (not even a hostile one) can reach a prototype setter.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** The stored form of a JSON value (list, dict or object field). */
export function encodeValue(value: unknown, inArray = false): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => encodeValue(v, true));
    return inArray ? { [WRAP]: items } : items;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, escapeKey(k), encodeValue(v));
    return out;
  }
  return value;
}

/** The JSON value of a stored form made by {@link encodeValue} or {@link encodeField}. */
export function decodeValue(stored: unknown): unknown {
  if (Array.isArray(stored)) return stored.map(decodeValue);
  if (typeof stored === 'object' && stored !== null) {
    const keys = Object.keys(stored).filter((k) => k !== SHAPE);
    const wrapped = (stored as Record<string, unknown>)[WRAP];
    if (keys.length === 1 && keys[0] === WRAP && Array.isArray(wrapped))
      return wrapped.map(decodeValue);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(stored)) {
      if (k !== SHAPE) setOwn(out, unescapeKey(k), decodeValue(v));
    }
    return out;
  }
  return stored;
}

/**
 * The keys of every dict in `value`, in order and with their nesting (values left out), or
 * `undefined` when `value` holds no dict at all.
 */
function keyShape(value: unknown): string | undefined {
  let dicts = false;
  const shape = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null) {
      if (!Array.isArray(v)) dicts = true;
      return v;
    }
    return 0;
  });
  return dicts ? shape : undefined;
}

/**
 * The stored form of a whole list, dict or object field: {@link encodeValue}'s, plus, when
 * the value holds a dict, a digest of its key shape under the key `%k` (first), with a list
 * wrapped as `{ "%k": ..., "%a": [...] }` to carry it.
 *
 * Why: FerretDB v1.24 skips a `$set` whose value it finds equal to the stored one, and it
 * compares documents by their values alone, position by position, ignoring keys
 * (`{a: '1'}` equals `{c: '1'}`, also nested and inside lists). So a dict replaced by one
 * with the same values under other keys was silently kept while the rest of the update
 * applied. The digest differs whenever any key differs, so the values compare unequal and
 * the field is written. `%k` cannot come from data (a raw `%` is always escaped).
 */
export function encodeField(value: unknown): unknown {
  const encoded = encodeValue(value);
  const shape = keyShape(value);
  if (shape === undefined) return encoded;
  // 128 bits: a collision (a lost update) is out of reach; the digest keeps the stored
  // size independent of how many keys the value has.
  const digest = createHash('sha256').update(shape).digest('base64url').slice(0, 22);
  return Array.isArray(encoded)
    ? { [SHAPE]: digest, [WRAP]: encoded }
    : // Spread defines own properties, so a `__proto__` key stays plain data.
      { [SHAPE]: digest, ...(encoded as Record<string, unknown>) };
}
