/**
 * Strings that break naive adapters: SQL, Lua, Redis key, ZooKeeper path and Mongo
 * operator syntax, Unicode edge cases. All valid values: each must round-trip byte-exact.
 */
export const HOSTILE_STRINGS: readonly string[] = Object.freeze([
  "'; DROP TABLE instances; --",
  '" OR 1=1 --',
  "' OR ''='",
  '/* comment */',
  '-- ',
  '%',
  '_',
  '\\',
  '\\0',
  "]]..redis.call('FLUSHALL')..[[",
  "'..KEYS[1]..'",
  '*',
  '?',
  '[a-z]',
  '..',
  '../../etc/passwd',
  '/',
  '/zookeeper/quota',
  'a/b',
  ':',
  'ns:instances:1',
  '{tag}',
  '{"$gt": ""}',
  '$where',
  '$gt',
  'a.b',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  '\r\n',
  '\t',
  ' ',
  '\u007f',
  '\u202e',
  '\ufeff',
  'ß',
  'İ',
  'é',
  'e\u0301',
  '\ue000',
  '\uffff',
  '😀',
  '𝔘𝔫𝔦',
  '\u{10ffff}',
]);

/** Strings every string field must refuse with `InvalidInputError`. */
export const INVALID_STRINGS: readonly string[] = Object.freeze([
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '\ud83d',
]);

/** Dict keys that break naive document and key-value layouts (all valid). */
export const HOSTILE_KEYS: readonly string[] = Object.freeze([
  '$gt',
  '$',
  'a.b',
  '.',
  '..',
  'constructor',
  'hasOwnProperty',
  ' ',
  '😀',
  "'",
  'k'.repeat(255),
]);

/** Dict keys core refuses. */
export const INVALID_KEYS: readonly string[] = Object.freeze([
  '',
  '__proto__',
  'a\u0000',
  '\ud800',
  'k'.repeat(256),
]);
