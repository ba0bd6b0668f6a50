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

/** Strings compared often enough to make filters and unique keys hit, with code-point traps. */
const STRING_POOL = ['', 'a', 'b', 'B', 'é', '\ue000', '\uffff', '😀', 'a😀', 'node-1', 'node-2'];
const IP_POOL = ['10.0.0.3', '10.0.0.5', '10.0.0.7', 'fd00::1', 'fd00::2'];
/** The lowest usable addresses of the pool networks: gateways there make allocation interesting. */
const LOW_IPS = ['10.0.0.1', '10.0.0.2'];
const CIDR_POOL = [
  '10.0.0.0/29',
  '10.0.0.0/30',
  '10.0.0.0/29',
  '10.0.0.0/31',
  '10.0.0.0/28',
  '10.0.1.0/30',
  'fd00::/125',
  'fd00::/126',
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

function stringArb(field: Field): fc.Arbitrary<string> {
  const max = field.max!;
  const pattern = field.pattern;
  const fits = (s: string) => [...s].length <= max && (!pattern || pattern.test(s));
  const options: fc.WeightedArbitrary<string>[] = [];
  const pool = STRING_POOL.filter(fits);
  if (pool.length > 0) options.push({ weight: 6, arbitrary: fc.constantFrom(...pool) });
  if (pattern) {
    options.push({ weight: 3, arbitrary: fc.stringMatching(pattern).filter(fits) });
  } else {
    options.push({
      weight: 3,
      arbitrary: fc.string({ unit: 'binary', maxLength: Math.min(max, 8) }).filter(fits),
    });
  }
  const edges = ['z'.repeat(max), '😀'.repeat(max), ''].filter(fits);
  if (edges.length > 0) options.push({ weight: 1, arbitrary: fc.constantFrom(...edges) });
  const hostile = HOSTILE_STRINGS.filter(fits);
  if (hostile.length > 0) options.push({ weight: 2, arbitrary: fc.constantFrom(...hostile) });
  return fc.oneof(...options);
}

function intArb(field: Field): fc.Arbitrary<number> {
  const min = field.min ?? Number.MIN_SAFE_INTEGER;
  const max = field.max ?? Number.MAX_SAFE_INTEGER;
  const small = fc.integer({ min: Math.max(min, -3), max: Math.min(max, Math.max(min, -3) + 8) });
  return fc.oneof(
    { weight: 4, arbitrary: small },
    { weight: 2, arbitrary: fc.integer({ min, max }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
  );
}

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
    { weight: 3, arbitrary: fc.constantFrom('k', 'role', 'a') },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
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
      arb = fc
        .integer({ min: 0, max: 10_000_000 })
        .chain((ms) =>
          fc.constantFrom(
            new Date(EPOCH + ms).toISOString(),
            new Date(EPOCH + ms).toISOString().replace('Z', '+00:00'),
          ),
        );
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
      arb = fc
        .uniqueArray(fc.tuple(dictKeyArb(), of), {
          selector: (t) => t[0],
          maxLength: Math.min(field.max!, 3),
        })
        .map((entries) => Object.fromEntries(entries));
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

/** An update patch: a subset of the mutable fields. */
export function patchArb(
  resource: AnyResource,
  options: FieldArbitraryOptions = {},
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of resource.fieldNames) {
    const field = resource.fields[name]!;
    if (!field.isImmutable) shape[name] = arbitraryFor(field, options);
  }
  return fc.record(shape, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}
