import type { AnyResource, Field } from '@polystore/core';
import * as fc from 'fast-check';
import { HOSTILE_KEYS, HOSTILE_STRINGS, INVALID_STRINGS } from './hostile-strings.js';

/** How many ids the generated commands refer to. */
export const ID_POOL_SIZE = 12;

/** The `n`-th id of `sequentialIds()` (1-based): what the n-th generated id will be. */
export function idOf(n: number): string {
  return `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Ids the commands use: mostly ones that will exist, sometimes one that never will. */
export const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }).map(idOf) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: ID_POOL_SIZE }).map(idOf) },
  { weight: 1, arbitrary: fc.constant('ffffffff-ffff-7fff-bfff-ffffffffffff') },
);

/**
 * Strings compared often enough to make filters and unique keys hit, with code-point
 * traps: case pairs, a trailing space, a precomposed and a decomposed accent, U+E000..U+FFFF
 * (after every surrogate in UTF-16, before every non-BMP character by code point), LIKE
 * wildcards and a prefix of another value.
 */
const STRING_POOL = [
  '',
  'a',
  'b',
  'B',
  'A',
  'a ',
  'ab',
  'é',
  'e\u0301',
  '\ue000',
  '\uffff',
  '😀',
  'a😀',
  '%',
  '_',
  'node-1',
  'node-2',
  'node-10',
];
/**
 * The few strings most values and filters are drawn from, so that an equality, `in` or
 * range filter usually meets a stored value or its near twin: a trailing space, the other
 * case, decomposed, a LIKE wildcard, U+E000 against a non-BMP character.
 */
const TRAP_POOL = ['a', 'a ', 'A', 'é', 'e\u0301', '%', '_', '\ue000', '😀', ''];
const IP_POOL = [
  '10.0.0.3',
  '10.0.0.5',
  '10.0.0.6',
  '10.0.0.7',
  '10.0.2.0',
  '10.0.2.1',
  '10.0.2.4',
  '255.255.255.254',
  'fd00::1',
  'fd00::2',
  'fd00::3',
  'fd00::7',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];
/** The lowest usable addresses of the pool networks: gateways there make allocation interesting. */
const LOW_IPS = ['10.0.0.1', '10.0.0.2', 'fd00::1'];
/** Pool networks: small ones fill up; /31, /32, /127, /128 and the top of both spaces are edges. */
const CIDR_POOL = [
  '10.0.0.0/29',
  '10.0.0.0/30',
  '10.0.0.0/29',
  '10.0.0.0/31',
  '10.0.0.0/28',
  '10.0.1.0/30',
  '10.0.2.0/31',
  '10.0.2.4/32',
  '255.255.255.248/29',
  'fd00::/125',
  'fd00::/126',
  'fd00::/127',
  'fd00::/128',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126',
];
const EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

/** Options of {@link arbitraryFor}. */
export interface FieldArbitraryOptions {
  /** Also generate invalid values (rarely), to compare validation errors. Default false. */
  readonly invalid?: boolean;
}

/** Generated values that violate a field's rules. */
export function invalidValuesFor(field: Field): unknown[] {
  const out: unknown[] = [undefined, {}];
  switch (field.kind) {
    case 'string':
      out.push(...INVALID_STRINGS, 'x'.repeat(field.max! + 1), 7);
      break;
    case 'int':
      out.push(1.5, '1', Number.MAX_SAFE_INTEGER + 1);
      if (field.min !== undefined) out.push(field.min - 1);
      if (field.max !== undefined) out.push(field.max + 1);
      break;
    case 'uuid':
      out.push('00000000-0000-7000-8000-00000000000A', 'x', '');
      break;
    case 'enum':
      out.push('nope', field.values![0]!.toUpperCase());
      break;
    case 'datetime':
      out.push('2026-02-30T00:00:00Z', '2026-01-01', 0);
      break;
    case 'ip':
      out.push('10.0.0.256', 'fe80::1%eth0', '');
      break;
    case 'cidr':
      out.push('10.0.0.1/24', '10.0.0.0/33', '10.0.0.0');
      break;
    case 'list':
      out.push('x', new Array(field.max! + 1).fill(null));
      break;
    case 'dict':
      out.push([], { __proto__: null, '': 'x' }, { 'a\u0000': 'x' });
      break;
    case 'object':
      out.push([], { unknown: 1 });
      break;
    case 'bool':
      out.push(0, 'true');
      break;
  }
  if (!field.isNullable) out.push(null);
  return out;
}

/**
 * One code point, weighted towards the boundaries where stores disagree: ASCII case pairs
 * and spaces, combining marks, U+E000..U+FFFF, characters above U+FFFF, the rest of the
 * BMP, and the whole range. Never NUL or a lone surrogate (those are invalid input).
 */
const codePointArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('a', 'b', 'A', 'B', 'z', 'Z', ' ', '-', '0', '_', '%') },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0x300, max: 0x36f }).map((c) => String.fromCodePoint(c)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0xe000, max: 0xffff }).map((c) => String.fromCodePoint(c)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xd7ff }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'ß', 'İ', 'ı', 'Σ', 'ς', 'ǅ', '\u00a0', '\t', "'") },
);

/** A pool string turned into a near twin: a trailing space, the other case, (de)composed. */
const TWINS: readonly ((s: string) => string)[] = [
  (s) => `${s} `,
  (s) => s.toUpperCase(),
  (s) => s.toLowerCase(),
  (s) => s.normalize('NFD'),
  (s) => s.normalize('NFC'),
];

function stringArb(field: Field): fc.Arbitrary<string> {
  const max = field.max!;
  const pattern = field.pattern;
  const fits = (s: string) => [...s].length <= max && (!pattern || pattern.test(s));
  const options: fc.WeightedArbitrary<string>[] = [];
  const traps = TRAP_POOL.filter(fits);
  if (traps.length > 0) options.push({ weight: 6, arbitrary: fc.constantFrom(...traps) });
  const pool = STRING_POOL.filter(fits);
  if (pool.length > 0) {
    options.push({ weight: 3, arbitrary: fc.constantFrom(...pool) });
    options.push({
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...pool), fc.constantFrom(...TWINS))
        .map(([s, twin]) => twin(s))
        .filter(fits),
    });
  }
  if (pattern) {
    options.push({
      weight: 3,
      arbitrary: fc.stringMatching(pattern, { size: 'small' }).filter(fits),
    });
  } else {
    options.push({
      weight: 3,
      arbitrary: fc
        .array(codePointArb, { maxLength: Math.min(max, 8) })
        .map((cps) => cps.join(''))
        .filter(fits),
    });
  }
  const edges = [
    'z'.repeat(max),
    '😀'.repeat(max),
    '\uffff'.repeat(max),
    `${'a'.repeat(max - 1)} `,
    '',
  ].filter(fits);
  if (edges.length > 0) options.push({ weight: 1, arbitrary: fc.constantFrom(...edges) });
  const hostile = HOSTILE_STRINGS.filter(fits);
  if (hostile.length > 0) options.push({ weight: 2, arbitrary: fc.constantFrom(...hostile) });
  return fc.oneof(...options);
}

/** Integers where storage types overflow or lose precision. */
const INT_EDGES = [
  0,
  1,
  -1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53 - 2,
  -(2 ** 53 - 1),
  1e15 + 1,
];

function intArb(field: Field): fc.Arbitrary<number> {
  const min = field.min ?? Number.MIN_SAFE_INTEGER;
  const max = field.max ?? Number.MAX_SAFE_INTEGER;
  const small = fc.integer({ min: Math.max(min, -3), max: Math.min(max, Math.max(min, -3) + 8) });
  const edges = [min, max, min + 1, max - 1, ...INT_EDGES.filter((n) => n >= min && n <= max)];
  return fc.oneof(
    { weight: 4, arbitrary: small },
    { weight: 2, arbitrary: fc.integer({ min, max }) },
    { weight: 2, arbitrary: fc.constantFrom(...edges) },
  );
}

const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** Instants where datetime storage breaks: the ends of the range, 1970, 2038 (32-bit seconds), leap days. */
const DATETIME_EDGES = [
  MIN_MS,
  MAX_MS,
  0,
  -1,
  1,
  2 ** 31 * 1000 - 1,
  2 ** 31 * 1000,
  Date.parse('1900-02-28T23:59:59.999Z'),
  Date.parse('2000-02-29T12:00:00.000Z'),
  Date.parse('1969-12-31T23:59:59.999Z'),
];

/** The same instant written with an offset (`+05:30`, `-12:00`, ...), or in UTC if that leaves the range. */
function withOffset(ms: number, offsetMinutes: number): string {
  const utc = new Date(ms).toISOString();
  if (offsetMinutes === 0) return utc.replace('Z', '+00:00');
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  if (local.length !== 24 || local.startsWith('0000')) return utc;
  const a = Math.abs(offsetMinutes);
  const sign = offsetMinutes < 0 ? '-' : '+';
  return `${local.slice(0, 23)}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Datetimes at millisecond precision over the whole valid range, mostly near the clock so filters hit. */
export const datetimeArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 10_000_000 }).map((ms) => EPOCH + ms) },
      { weight: 2, arbitrary: fc.constantFrom(...DATETIME_EDGES) },
      { weight: 2, arbitrary: fc.integer({ min: MIN_MS, max: MAX_MS }) },
    ),
    fc.constantFrom<number | 'Z'>('Z', 'Z', 0, 330, -720, 840),
  )
  .map(([ms, offset]) => (offset === 'Z' ? new Date(ms).toISOString() : withOffset(ms, offset)));

function cidrArb(): fc.Arbitrary<string> {
  const random = fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 32 }))
    .map(([n, p]) => {
      const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      const base = (n & mask) >>> 0;
      return `${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.')}/${p}`;
    });
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...CIDR_POOL) },
    { weight: 1, arbitrary: random },
  );
}

function dictKeyArb(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('k', 'role', 'a', 'K', 'k ', 'b') },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
    {
      weight: 1,
      arbitrary: fc
        .array(codePointArb, { minLength: 1, maxLength: 6 })
        .map((cps) => cps.join(''))
        .filter((k) => k !== '__proto__'),
    },
  );
}

/**
 * A dict of many long entries (non-BMP keys and values at their longest), so records come
 * near a backend's size limit.
 */
function bigDictArb(field: Field): fc.Arbitrary<Record<string, unknown>> {
  const max = field.max!;
  const value = field.of!.kind === 'string' ? '😀'.repeat(field.of!.max!) : null;
  return fc
    .integer({ min: Math.ceil(max / 2), max })
    .map((n) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`${'😀'.repeat(240)}${i}`, value ?? i]),
      ),
    );
}

/** The arbitrary of one field's valid values, derived from its descriptor. */
export function arbitraryFor(
  field: Field,
  options: FieldArbitraryOptions = {},
): fc.Arbitrary<unknown> {
  let arb: fc.Arbitrary<unknown>;
  switch (field.kind) {
    case 'uuid':
      arb = idArb;
      break;
    case 'string':
      arb = stringArb(field);
      break;
    case 'int':
      arb = intArb(field);
      break;
    case 'bool':
      arb = fc.boolean();
      break;
    case 'enum':
      arb = fc.constantFrom(...field.values!);
      break;
    case 'datetime':
      arb = datetimeArb;
      break;
    case 'ip':
      arb = fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...LOW_IPS) },
        { weight: 3, arbitrary: fc.constantFrom(...IP_POOL) },
        { weight: 1, arbitrary: fc.ipV4() },
        { weight: 1, arbitrary: fc.ipV6() },
      );
      break;
    case 'cidr':
      arb = cidrArb();
      break;
    case 'list': {
      const of = arbitraryFor(field.of!, options);
      const max = field.max!;
      arb = fc.oneof(
        { weight: 6, arbitrary: fc.array(of, { maxLength: Math.min(max, 3) }) },
        {
          weight: 1,
          arbitrary: fc.array(of, { minLength: Math.min(max, 16), maxLength: Math.min(max, 16) }),
        },
      );
      break;
    }
    case 'dict': {
      const of = arbitraryFor(field.of!, options);
      const small = fc
        .uniqueArray(fc.tuple(dictKeyArb(), of), {
          selector: (t) => t[0],
          maxLength: Math.min(field.max!, 4),
        })
        .map((entries) => Object.fromEntries(entries));
      arb = fc.oneof({ weight: 20, arbitrary: small }, { weight: 1, arbitrary: bigDictArb(field) });
      break;
    }
    case 'object': {
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [name, sub] of Object.entries(field.shape!)) {
        shape[name] = arbitraryFor(sub, options);
        if (sub.defaultValue === undefined) required.push(name);
      }
      arb = fc.record(shape, { requiredKeys: required });
      break;
    }
  }
  if (field.isNullable) arb = fc.option(arb, { nil: null, freq: 3 });
  if (options.invalid) {
    arb = fc.oneof(
      { weight: 6, arbitrary: arb },
      { weight: 1, arbitrary: fc.constantFrom(...invalidValuesFor(field)) },
    );
  }
  return arb;
}

/** Values of a create: every required field, optional ones sometimes left out. */
export function createValuesArb(
  resource: AnyResource,
  options: FieldArbitraryOptions = {},
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const name of resource.fieldNames) {
    const field = resource.fields[name]!;
    shape[name] = arbitraryFor(field, options);
    if (field.defaultValue === undefined) required.push(name);
  }
  return fc.record(shape, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
}

/** An update patch: a subset of the mutable fields, now and then none (a no-op update is a write too). */
export function patchArb(
  resource: AnyResource,
  options: FieldArbitraryOptions = {},
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of resource.fieldNames) {
    const field = resource.fields[name]!;
    if (!field.isImmutable) shape[name] = arbitraryFor(field, options);
  }
  return fc.oneof(
    { weight: 8, arbitrary: fc.record(shape, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.constant({}) },
  ) as fc.Arbitrary<Record<string, unknown>>;
}
