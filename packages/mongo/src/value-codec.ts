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

const WRAP = '%a';
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

/** The JSON value of a stored form made by {@link encodeValue}. */
export function decodeValue(stored: unknown): unknown {
  if (Array.isArray(stored)) return stored.map(decodeValue);
  if (typeof stored === 'object' && stored !== null) {
    const keys = Object.keys(stored);
    const wrapped = (stored as Record<string, unknown>)[WRAP];
    if (keys.length === 1 && keys[0] === WRAP && Array.isArray(wrapped))
      return wrapped.map(decodeValue);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(stored)) setOwn(out, unescapeKey(k), decodeValue(v));
    return out;
  }
  return stored;
}
