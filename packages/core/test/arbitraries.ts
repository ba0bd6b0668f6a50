import fc from 'fast-check';
import type { AnyResource, Field } from '../src/index.js';

/** Valid values of a field (test-only; the conformance suite has the full generator). */
export function validValue(field: Field): fc.Arbitrary<unknown> {
  const base = ((): fc.Arbitrary<unknown> => {
    switch (field.kind) {
      case 'uuid':
        return fc.uuid();
      case 'string':
        return field.pattern
          ? fc.stringMatching(field.pattern).filter((s) => [...s].length <= field.max!)
          : fc
              .string({
                unit: fc.oneof(
                  fc.constantFrom('a', 'é', '😀', "'", '$', '.'),
                  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
                ),
                maxLength: field.max!,
              })
              .filter((s) => !s.includes('\u0000') && [...s].length <= field.max!);
      case 'int':
        return fc.integer({
          min: field.min ?? Number.MIN_SAFE_INTEGER,
          max: field.max ?? Number.MAX_SAFE_INTEGER,
        });
      case 'bool':
        return fc.boolean();
      case 'enum':
        return fc.constantFrom(...field.values!);
      case 'datetime':
        return fc
          .date({
            min: new Date('1970-01-01T00:00:00Z'),
            max: new Date('2999-12-31T00:00:00Z'),
            noInvalidDate: true,
          })
          .map((d) => d.toISOString());
      case 'ip':
        return fc.ipV4();
      case 'cidr':
        return fc.constantFrom('10.0.0.0/24', '192.168.0.0/16', '2001:db8::/64');
      case 'list':
        return fc.array(validValue(field.of!), { maxLength: Math.min(field.max!, 4) });
      case 'dict':
        return fc.dictionary(
          fc
            .string({ minLength: 1, maxLength: 8 })
            .filter((k) => k !== '__proto__' && !k.includes('\u0000')),
          validValue(field.of!),
          { maxKeys: 4 },
        );
      case 'object':
        return fc.record(
          Object.fromEntries(Object.entries(field.shape!).map(([k, f]) => [k, validValue(f)])),
        );
    }
  })();
  return field.isNullable ? fc.option(base, { nil: null }) : base;
}

/** A valid create input of a resource, with every field given. */
export function validCreate(resource: AnyResource): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    Object.fromEntries(resource.fieldNames.map((n) => [n, validValue(resource.fields[n]!)])),
  );
}

/** A value of the wrong JS type (or out of range) for a field. */
export function invalidValue(field: Field): fc.Arbitrary<unknown> {
  const wrongType = fc.oneof(
    fc.constant('False'),
    fc.constant(1.5),
    fc.constant(true),
    fc.constant({ $gt: '' }),
    fc.constant([1]),
    fc.constant(undefined),
  );
  const specific: fc.Arbitrary<unknown>[] = [];
  switch (field.kind) {
    case 'string':
      specific.push(
        fc.constant('a\u0000b'),
        fc.constant('\uD800'),
        fc.constant('x'.repeat(field.max! + 1)),
        fc.constant(5),
      );
      break;
    case 'int':
      specific.push(
        fc.constant(1.9),
        fc.constant(Number.MAX_SAFE_INTEGER + 2),
        fc.constant('5'),
        fc.constant(Number.NaN),
      );
      if (field.min !== undefined) specific.push(fc.constant(field.min - 1));
      if (field.max !== undefined) specific.push(fc.constant(field.max + 1));
      break;
    case 'uuid':
      specific.push(fc.constant('abc'), fc.constant('01A20881-ABF6-71ED-966A-6C417145054E'));
      break;
    case 'datetime':
      specific.push(fc.constant('2026-01-01T00:00:00'), fc.constant(new Date()));
      break;
    case 'bool':
      specific.push(fc.constant('true'), fc.constant(0));
      break;
    default:
      specific.push(fc.constant(42));
  }
  return fc.oneof(wrongType, ...specific).filter((v) => {
    if (field.isNullable && v === null) return false;
    if (field.kind === 'bool' && typeof v === 'boolean') return false;
    if (field.kind === 'list' && Array.isArray(v)) return false;
    if (field.kind === 'string' && v === 'False') return false;
    if (field.kind === 'dict' && typeof v === 'object' && v !== null && !Array.isArray(v))
      return false;
    return true;
  });
}
